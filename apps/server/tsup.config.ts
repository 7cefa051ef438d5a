import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig([{
  entry: { index: 'src/main.ts', cli: 'src/cli.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  bundle: true,
  // Split: main.ts loads the server behind the store with import() after listening, so a cold start
  // compiles Express and the startup code first and the rest from chunks beside index.js
  // (kept in dist/ itself: code finds files such as pglite-template/ relative to its own module).
  splitting: true,
  clean: false,
  sourcemap: true,
  // Less to compile at a cold start; identifiers stay, so stack traces and profiles keep their names.
  minifyWhitespace: true,
  minifySyntax: true,
  // One file to ship: every dependency is bundled except PGlite, which loads its WebAssembly and
  // data files from beside its own module, and pg's optional native binding. (PGlite's own add-ons,
  // such as pglite-socket, are plain JavaScript and bundled: only the exact package stays outside.)
  noExternal: [/^(?!@electric-sql\/pglite(\/|$)|pg-native)/],
  external: ['@electric-sql/pglite', 'pg-native'],
  define: { __APP_VERSION__: JSON.stringify(version) },
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
},
  {
    // The SDK's view of the server: AppRouter's declarations in one file, so the client's own
    // declaration bundling has no relative imports left to resolve (it silently keeps them otherwise).
    entry: { index: 'src/index.ts' },
    outDir: 'dist/types',
    format: ['esm'],
    dts: { only: true, resolve: [/^@verifieddit\//] },
  },
]);
