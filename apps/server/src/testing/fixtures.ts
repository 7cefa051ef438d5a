import { afterAll, beforeAll } from 'vitest';
import type { WiringOverrides } from '../bootstrap.js';
import { startWiredApp } from './harness.js';
import { storeTargets, type StoreTarget, type TestStore } from './stores.js';

type WiredApp = Awaited<ReturnType<typeof startWiredApp>>;

/**
 * One fresh store and the real app wired over it for the enclosing test file or describe block
 * (opened in beforeAll, closed in afterAll). Read `fixture.app` / `fixture.store` inside tests.
 */
export function useWiredApp(options: { target?: StoreTarget; env?: Record<string, string>; overrides?: WiringOverrides } = {}) {
  const fixture = {} as { app: WiredApp; store: TestStore };
  beforeAll(async () => {
    fixture.store = await (options.target ?? storeTargets[0]!).open();
    fixture.app = await startWiredApp({
      store: fixture.store.store,
      ...(options.env ? { env: options.env } : {}),
      ...(options.overrides ? { overrides: options.overrides } : {}),
    });
  });
  afterAll(async () => {
    await fixture.app?.shutdown();
    await fixture.store?.dispose();
  });
  return fixture;
}
