import { describe, expect, it } from 'vitest';
import { useTestStore } from '../testing/fixtures.js';
import { storeTargets } from '../testing/stores.js';

describe.each(storeTargets)('prepared statements on $name', (target) => {
  const t = useTestStore(target, { migrated: false });

  it('answers a prepared statement like any other, with each call its own parameters', async () => {
    const text = 'SELECT $1::int * 2 AS doubled';
    for (const n of [1, 2, 3]) expect(await t.store.query(text, [n], { prepared: true })).toEqual([{ doubled: n * 2 }]);
  });

  it('prepares it by name once per connection on PostgreSQL; PGlite (one in-process connection) runs it unnamed', async () => {
    // On PostgreSQL the statement finds itself among its connection's prepared statements.
    const text = 'SELECT name FROM pg_prepared_statements WHERE statement = $1';
    const expected = target.name === 'postgres' ? [{ name: expect.stringMatching(/^hot_\d+$/) as unknown }] : [];
    for (let i = 0; i < 3; i++) expect(await t.store.query<{ name: string }>(text, [text], { prepared: true })).toEqual(expected);
  });
});
