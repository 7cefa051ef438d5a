import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/react.ts'],
  format: ['esm', 'cjs'],
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // Contracts are bundled in (code and types) so the SDK installs alone; tRPC and zod are peers.
  noExternal: [/^@verifieddit\//],
  external: ['@trpc/client', '@trpc/server', 'zod', '@trpc/tanstack-react-query', '@tanstack/react-query', 'react'],
  dts: { resolve: [/^@verifieddit\//, /^\.{1,2}\//] },
});
