import { migrate, openStore } from '../store/store.js';

/**
 * A process that writes to an embedded data folder as fast as it can, for crash tests: it opens the
 * folder as the server does, then inserts rows one statement at a time and prints each 50th.
 * Usage: node --import tsx src/testing/embedded-writer.ts <dataDir>
 */
const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: embedded-writer <dataDir>');
const store = await openStore({ dataDir, embedded: { join: false } });
await migrate(store);
await store.query('CREATE TABLE IF NOT EXISTS burst (n integer PRIMARY KEY, pad text NOT NULL)');
const [last] = await store.query<{ n: number | null }>('SELECT max(n) AS n FROM burst');
const pad = 'x'.repeat(500);
process.stdout.write('ready\n');
for (let n = (last?.n ?? 0) + 1; ; n++) {
  await store.query('INSERT INTO burst (n, pad) VALUES ($1, $2)', [n, pad]);
  // A webhook-like write too: jsonb, an index, an update.
  await store.query(
    `INSERT INTO webhook_events (id, provider, type, created, payload, status) VALUES ($1, 'stripe', 'burst', $2, $3::jsonb, 'processed')
     ON CONFLICT (id) DO UPDATE SET attempts = webhook_events.attempts + 1`,
    [`evt_burst_${n % 100}`, n, JSON.stringify({ n, pad })],
  );
  if (n % 50 === 0) process.stdout.write(`${n}\n`);
}
