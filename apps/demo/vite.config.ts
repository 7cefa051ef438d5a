import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseEnv } from 'node:util';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The demo talks to the API through its own origin (`/trpc` is proxied), so the browser needs no CORS
 * and the API is found from the same `PORT` the server listens on. The same `.env` files the server
 * reads count here too (the real environment first, then apps/server/.env, then the root .env), so
 * `PORT=9000` in a root .env moves both. `VERIFIEDDIT_API_URL` points the proxy anywhere else.
 */
const envFiles = ['../server/.env', '../../.env'].map((path) => fileURLToPath(new URL(path, import.meta.url)));
const fromFiles = envFiles.filter((file) => existsSync(file)).map((file) => parseEnv(readFileSync(file, 'utf8')));
const setting = (name: string): string | undefined =>
  [process.env[name], ...fromFiles.map((env) => env[name])].find((value) => value !== undefined && value !== '');

const apiUrl = setting('VERIFIEDDIT_API_URL') ?? `http://127.0.0.1:${setting('PORT') ?? 8787}`;
const port = Number(setting('DEMO_PORT') ?? 5173);
const proxy = { '/trpc': { target: apiUrl } };

export default defineConfig({
  plugins: [react()],
  server: { port, strictPort: true, proxy },
  preview: { port, strictPort: true, proxy },
  // One small app in one chunk (React, TanStack Query, tRPC, the contracts' zod schemas): no splitting wanted.
  build: { chunkSizeWarningLimit: 1024 },
});
