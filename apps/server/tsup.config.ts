import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { defineConfig, type Options } from 'tsup';

type Plugin = NonNullable<Options['esbuildPlugins']>[number];

/**
 * pg asks "am I in a Cloudflare Worker?" by building a fetch `Response` when `navigator` is missing (Node
 * 20), which loads Node's whole fetch implementation at startup. This bundle runs on Node and Bun only.
 */
const pgNotOnWorkers: Plugin = {
  name: 'pg-not-on-workers',
  setup(build) {
    build.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const patched = source.replace('function isCloudflareRuntime() {', 'function isCloudflareRuntime() {\n  return false;');
      if (patched === source) throw new Error('pg/lib/stream.js changed: review the pg-not-on-workers build plugin');
      return { contents: patched, loader: 'js' };
    });
  },
};

/**
 * zod's `locales` namespace re-exports every language (about 300 KB that a cold start would compile);
 * the server only ever uses English, the locale zod configures by default.
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    let replaced = false;
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => {
      replaced = true;
      return { contents: 'export { default as en } from "./en.js";', loader: 'js' };
    });
    build.onEnd(() => {
      if (!replaced) throw new Error('zod/v4/locales/index.js was not bundled: review the zod-english-only build plugin');
    });
  },
};

/**
 * esbuild splits by file: a module that both the code before listening and the app import goes, whole,
 * into a chunk index.js loads. The config's zod/mini shares zod's core files with the app's classic zod,
 * so all of core (~220 KB, mostly for classic) would be compiled before the server listens. zod/mini
 * (and the English messages the config imports) get a copy of zod's files of their own instead: the
 * ~35 KB they use are compiled first, the app's classic zod later. No schema passes between the copies
 * (zod keeps its global settings on globalThis, so both read the same).
 */
const zodMiniApart: Plugin = {
  name: 'zod-mini-apart',
  setup(build) {
    const namespace = 'zod-mini-apart';
    let used = false;
    build.onResolve({ filter: /^zod\/(mini|v4\/locales\/en\.js)$/ }, async (args) => {
      if (args.pluginData === namespace) return undefined; // the lookup below, resolved as usual
      const found = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, pluginData: namespace });
      if (found.errors.length) return { errors: found.errors };
      used = true;
      return { path: found.path, namespace, sideEffects: false };
    });
    build.onResolve({ filter: /^\./, namespace }, (args) => ({ path: resolve(dirname(args.importer), args.path), namespace, sideEffects: false }));
    build.onLoad({ filter: /\.js$/, namespace }, async (args) => ({ contents: await readFile(args.path, 'utf8'), loader: 'js', resolveDir: dirname(args.path) }));
    build.onEnd(() => {
      if (!used) throw new Error('zod/mini was not bundled: review the zod-mini-apart build plugin');
    });
  },
};

/**
 * prom-client's default process-CPU metric requires the whole OpenTelemetry API (about 90 KB a cold start
 * would compile) only to attach exemplars, which this server never enables (collectDefaultMetrics
 * without enableExemplars); reaching it anyway throws instead of recording without a trace id.
 */
const promClientWithoutOtel: Plugin = {
  name: 'prom-client-without-otel',
  setup(build) {
    build.onLoad({ filter: /[\\/]prom-client[\\/]lib[\\/]metrics[\\/]processCpuTotal\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const stub = "const OtelApi = { get trace() { throw new Error('prom-client exemplars need @opentelemetry/api, left out of this bundle (tsup.config.ts)'); } };";
      const patched = source.replace("const OtelApi = require('@opentelemetry/api');", stub);
      if (patched === source) throw new Error('prom-client/lib/metrics/processCpuTotal.js changed: review the prom-client-without-otel build plugin');
      return { contents: patched, loader: 'js' };
    });
  },
};

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
  // index.js and the chunks beside it: every dependency is bundled except PGlite, which loads its WebAssembly and
  // data files from beside its own module, and pg's optional native binding. (PGlite's own add-ons,
  // such as pglite-socket, are plain JavaScript and bundled: only the exact package stays outside.)
  noExternal: [/^(?!@electric-sql\/pglite(\/|$)|pg-native)/],
  external: ['@electric-sql/pglite', 'pg-native'],
  define: { __APP_VERSION__: JSON.stringify(version) },
  esbuildPlugins: [zodEnglishOnly, zodMiniApart, pgNotOnWorkers, promClientWithoutOtel],
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
