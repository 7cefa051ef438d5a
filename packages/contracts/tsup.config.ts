import { defineConfig } from 'tsup';

export default defineConfig({
  // error-codes: the codes without zod, for importers that must not load it (the server's start).
  entry: ['src/index.ts', 'src/error-codes.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
});
