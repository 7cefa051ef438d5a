import { describe, expect, it } from 'vitest';
import { useTestStore } from '../testing/fixtures.js';
import { storeTargets } from '../testing/stores.js';

describe.each(storeTargets)('prepared statements on $name', (target) => {
  // The migrated template is cloned, not initdb'd: an unmigrated PGlite ran initdb in WebAssembly,
  // 30–60 s under load, past the hook timeout.
  const t = useTestStore(target);

  it('answers a prepared statement like any other, with each call its own parameters', async () => {
    const text = 'SELECT $1::int * 2 AS doubled';
    for (const n of [1, 2, 3]) expect(await t.store.query(text, [n], { prepared: true })).toEqual([{ doubled: n * 2 }]);
  });

  it('prepares it by name, one name for the text however often it runs', async () => {
    // The statement finds itself among its connection's prepared statements.
    const text = 'SELECT name FROM pg_prepared_statements WHERE statement = $1';
    // PGlite's own differ from the pg pool's, which a CLI on its shared socket uses on the same backend.
    const named = target.name === 'pglite' ? /^embedded_hot_\d+$/ : /^hot_\d+$/;
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const rows = await t.store.query<{ name: string }>(text, [text], { prepared: true });
      expect(rows).toEqual([{ name: expect.stringMatching(named) as unknown }]);
      seen.add(rows[0]!.name);
    }
    expect(seen.size).toBe(1);
  });

  it('returns the rows an unprepared query returns: bigint, timestamps, json, arrays, nulls, no rows', async () => {
    const text = `SELECT $1::bigint AS big, $2::timestamptz AS at, $3::jsonb AS doc, $4::json AS raw, $5::text[] AS tags,
                          $6::text AS missing, $7::numeric AS amount, $8::bool AS flag, $9::int AS n
                   FROM generate_series(1, $10::int)`;
    for (const count of [2, 0]) {
      const params = ['9007199254740993', new Date('2026-01-02T03:04:05.678Z'), { a: [1, null] }, '{"b": 2}', ['x', 'y'], null, '12.50', true, 7, count];
      const unprepared = await t.store.query(text, params);
      expect(await t.store.query(text, params, { prepared: true })).toEqual(unprepared);
      expect(unprepared).toHaveLength(count);
    }
  });

  it('fails a prepared call with the statement error code, and the next call still runs', async () => {
    const text = 'SELECT 10 / $1::int AS quotient';
    await expect(t.store.query(text, [0], { prepared: true })).rejects.toMatchObject({ code: '22012' });
    expect(await t.store.query(text, [5], { prepared: true })).toEqual([{ quotient: 2 }]);
  });
});

describe.each(storeTargets)('prepared statements on $name after DDL', (target) => {
  const t = useTestStore(target);

  // A migration (on PostgreSQL, maybe another replica's during a rolling deploy) may change what a
  // statement prepared before it returns; PostgreSQL then refuses the old plan ("cached plan must not
  // change result type"), and the store prepares the statement again.
  it('answers with the new shape after DDL changed a statement prepared before it', async () => {
    await t.store.withSession((session) => session.exec('CREATE TABLE prepared_shape (id int); INSERT INTO prepared_shape VALUES (1)'));
    const text = 'SELECT * FROM prepared_shape';
    // On PostgreSQL, prepared on several pooled connections, so a stale plan is left on more than one.
    const calls = () => Promise.all([0, 1, 2].map(() => t.store.query(text, [], { prepared: true })));
    expect(await calls()).toEqual([[{ id: 1 }], [{ id: 1 }], [{ id: 1 }]]);
    await t.store.withSession((session) => session.exec("ALTER TABLE prepared_shape ADD COLUMN label text DEFAULT 'one'"));
    for (let round = 0; round < 2; round++) expect(await calls()).toEqual([0, 1, 2].map(() => [{ id: 1, label: 'one' }]));
  });
});

// PGlite is one backend that a CLI on the shared socket also uses, and it may deallocate everything.
describe.each(storeTargets.filter((target) => target.name === 'pglite'))('prepared statements on $name, deallocated', (target) => {
  const t = useTestStore(target);

  it('prepares a statement again after it was deallocated behind the store', async () => {
    const text = 'SELECT 41 + $1::int AS answer';
    expect(await t.store.query(text, [1], { prepared: true })).toEqual([{ answer: 42 }]);
    await t.store.withSession((session) => session.exec('DEALLOCATE ALL'));
    expect(await t.store.query(text, [1], { prepared: true })).toEqual([{ answer: 42 }]);
  });
});
