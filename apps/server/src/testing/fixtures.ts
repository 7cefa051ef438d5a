import { afterAll, beforeAll } from 'vitest';
import type { WiringOverrides } from '../bootstrap.js';
import { startWiredApp } from './harness.js';
import { storeTargets, type StoreTarget, type TestStore } from './stores.js';

type WiredApp = Awaited<ReturnType<typeof startWiredApp>>;

/**
 * A fresh store on `target` for the enclosing test file or describe block: opened in beforeAll,
 * disposed in afterAll. Hooks registered after this call run after the open and (vitest runs
 * afterAll hooks in reverse) before the dispose. Read `t.store` / `t.databaseUrl` inside hooks and tests.
 */
export function useTestStore(target: StoreTarget, options: { migrated?: boolean } = {}): TestStore {
  const t = {} as TestStore;
  beforeAll(async () => {
    Object.assign(t, await target.open(options));
  });
  afterAll(async () => {
    await t.dispose?.();
  });
  return t;
}

/**
 * One fresh store and the real app wired over it for the enclosing test file or describe block
 * (opened in beforeAll, closed in afterAll). Read `fixture.app` / `fixture.store` inside tests.
 * `env` may be a function: it is read when the app starts, after the beforeAll hooks registered
 * before this call (e.g. doubles whose URLs the env names).
 */
export function useWiredApp(options: { target?: StoreTarget; env?: Record<string, string> | (() => Record<string, string>); overrides?: WiringOverrides } = {}) {
  const store = useTestStore(options.target ?? storeTargets[0]!);
  const fixture = { store } as { app: WiredApp; store: TestStore };
  beforeAll(async () => {
    fixture.app = await startWiredApp({
      store: store.store,
      ...(options.env ? { env: typeof options.env === 'function' ? options.env() : options.env } : {}),
      ...(options.overrides ? { overrides: options.overrides } : {}),
    });
  });
  afterAll(async () => {
    await fixture.app?.shutdown();
  });
  return fixture;
}
