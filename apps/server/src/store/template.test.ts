import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, openStore, seedFromTemplate } from './store.js';

describe('a first start from the pre-initialised PGlite folder', () => {
  const root = mkdtempSync(join(tmpdir(), 'vd-template-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('copies the template into an empty data folder, migrated, and never over an existing one', { timeout: 300_000 }, async () => {
    // The template as the build makes it: a data folder initialised and migrated, then closed.
    const template = join(root, 'template');
    const built = await openStore({ dataDir: template });
    await migrate(built);
    await built.close();

    const dataDir = join(root, 'data');
    expect(seedFromTemplate(join(dataDir, 'pglite'), join(template, 'pglite'))).toBe(true);
    expect(readdirSync(dataDir)).toEqual(['pglite']); // no partial copy left behind
    const store = await openStore({ dataDir });
    const result = await migrate(store);
    expect(result.applied).toEqual([]);
    await store.query("INSERT INTO customers (account_id, provider, provider_customer_id) VALUES ('user_t', 'stripe', 'cus_t')");
    await store.close();

    // Existing data is never replaced.
    expect(seedFromTemplate(join(dataDir, 'pglite'), join(template, 'pglite'))).toBe(false);
    const reopened = await openStore({ dataDir });
    expect(await reopened.query('SELECT account_id FROM customers')).toEqual([{ account_id: 'user_t' }]);
    await reopened.close();
  });

  it('does nothing without a template (running from source)', () => {
    expect(seedFromTemplate(join(root, 'other', 'pglite'), join(root, 'missing'))).toBe(false);
  });
});
