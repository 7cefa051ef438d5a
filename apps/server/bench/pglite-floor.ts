// The floor under the PGlite cold-start rows: a process that does nothing but open the same data
// folder with PGlite (the server's settings) and commit one write. No server, no HTTP, no Stripe.
// Measured from spawn to the commit, interleaved with the rows it sits under; it is what PGlite
// itself costs, so no ratio of ours can be below it.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PGLITE_SETTINGS } from '../src/store/store.js';

/** Writes the script beside the bench's scratch files; returns a function that times one run (ms). */
export function pgliteFloor(scratch: string, pgliteDir: string): (runtime: string) => Promise<number> {
  // The same ESM build the server loads (its "import" entry), by absolute URL: the script lives outside the repo.
  const entry = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite').replace(/index\.cjs$/, 'index.js'));
  const script = join(scratch, 'pglite-floor.mjs');
  writeFileSync(
    script,
    `import { PGlite } from ${JSON.stringify(entry.href)};
const db = new PGlite(process.env.PGLITE_DIR, { startParams: [...PGlite.defaultStartParams, ...${JSON.stringify(PGLITE_SETTINGS)}] });
await db.query('CREATE TABLE IF NOT EXISTS bench_floor (at timestamptz NOT NULL DEFAULT now())');
await db.query('INSERT INTO bench_floor DEFAULT VALUES');
process.stdout.write('committed\\n');
await db.close();
`,
  );
  return (runtime) =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      let at: number | undefined;
      let err = '';
      const child = spawn(runtime, [script], { cwd: scratch, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PGLITE_DIR: pgliteDir }, stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.on('data', (d: Buffer) => void (at ??= d.includes('committed') ? performance.now() - started : undefined));
      child.stderr.on('data', (d: Buffer) => void (err += d));
      // Waits for the clean close too, so the next start finds a folder shut down as the server leaves it.
      child.once('exit', (code) => (code === 0 && at !== undefined ? resolve(at) : reject(new Error(`PGlite floor run failed (${code}): ${err}`))));
    });
}
