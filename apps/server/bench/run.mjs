// `pnpm bench`                  every row of the speed table (bench/main.ts), PGlite and, with
//                               BENCH_DATABASE_URL, PostgreSQL; ratios against bench/baseline.ts
// `pnpm bench --profile <item>` top functions by self time, source-mapped (bench/profile.ts);
//                               items: status, webhook, detect, cold-start
// `pnpm bench single-flight`    upstream calls for N concurrent duplicates of M images
// The scripts import the server's TypeScript helpers (test doubles, store), so they run under tsx;
// the server itself runs from its built bundle (dist/index.js), as it is shipped.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const profile = args.indexOf('--profile');
const script = profile >= 0 ? 'profile.ts' : args[0] === 'single-flight' ? 'single-flight.ts' : 'main.ts';
const rest = profile >= 0 ? args.slice(profile + 1) : [];
const tsx = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));
const result = spawnSync(tsx, [fileURLToPath(new URL(script, import.meta.url)), ...rest], { stdio: 'inherit', cwd: fileURLToPath(new URL('..', import.meta.url)) });
process.exit(result.status ?? 1);
