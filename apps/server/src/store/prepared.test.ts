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

  it.runIf(target.name === 'postgres')('prepares it by name on PostgreSQL, one name for the text however often it runs', async () => {
    // The statement finds itself among its connection's prepared statements.
    const text = 'SELECT name FROM pg_prepared_statements WHERE statement = $1';
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const rows = await t.store.query<{ name: string }>(text, [text], { prepared: true });
      expect(rows).toEqual([{ name: expect.stringMatching(/^hot_\d+$/) as unknown }]);
      seen.add(rows[0]!.name);
    }
    expect(seen.size).toBe(1);
  });

  it.runIf(target.name === 'pglite')('runs it unnamed on PGlite (one in-process connection): the view that would list it lists a PREPARE, never it', async () => {
    // The control: a named statement does show in PGlite's pg_prepared_statements, so an answer without
    // ours means ours was not named, not that the view is empty on PGlite.
    await t.store.withSession((session) => session.exec('PREPARE control_statement AS SELECT 1'));
    try {
      const text = 'SELECT name, statement FROM pg_prepared_statements ORDER BY name';
      for (let i = 0; i < 3; i++) {
        expect(await t.store.query(text, [], { prepared: true })).toEqual([{ name: 'control_statement', statement: 'PREPARE control_statement AS SELECT 1' }]);
      }
    } finally {
      await t.store.withSession((session) => session.exec('DEALLOCATE control_statement'));
    }
  });
});
