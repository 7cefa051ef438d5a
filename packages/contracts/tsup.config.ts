import { defineConfig } from 'tsup';

export default defineConfig({
  // error-codes, statuses: without zod, for importers that must not load it (the server's start and webhook path).
  entry: ['src/index.ts', 'src/error-codes.ts', 'src/statuses.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
