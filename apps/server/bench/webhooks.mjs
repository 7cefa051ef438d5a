// Runs bench/webhooks.ts under tsx (it imports the server's TypeScript sources directly).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const result = spawnSync(fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url)), [`${here}webhooks.ts`], { stdio: 'inherit', cwd: fileURLToPath(new URL('..', import.meta.url)) });
if (result.status !== 0) throw new Error(`webhooks bench failed (exit ${result.status})`);
