import { Writable } from 'node:stream';
import type { Services } from '../context.js';
import { createApp, type AppDeps } from '../app.js';
import { createAuthenticator } from '../auth/authenticator.js';
import { wire, type WiringOverrides } from '../bootstrap.js';
import { loadConfig } from '../config.js';
import type { Store } from '../store/ports.js';
import { createLogger, type Logger } from '../logger.js';
import { listen, type RunningServer } from '../server.js';

/** A logger whose JSON lines are kept in memory, so tests can assert what was (and was not) logged. */
export function captureLogger(options: { secrets?: string[]; level?: string } = {}): { logger: Logger; lines: () => string[]; records: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ level: options.level ?? 'debug', secrets: options.secrets ?? [], destination });
  const lines = () => chunks.join('').split('\n').filter(Boolean);
  return { logger, lines, records: () => lines().map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** Services for tests of the HTTP shell itself; billing is not reachable through them. */
export function fakeServices(overrides: Partial<Services> = {}): Services {
  const unavailable = () => {
    throw new Error('billing is not wired in this test');
  };
  return {
    version: '0.0.0-test',
    startedAt: Date.now(),
    readiness: { ping: async () => {} },
    auth: createAuthenticator({ authorizedParties: [], allowDevIdentities: true, production: false }),
    billing: { plans: unavailable, createCheckoutSession: unavailable, createPortalSession: unavailable, subscriptionStatus: unavailable, watchStatus: unavailable },
    aiDetect: { check: unavailable, usage: unavailable },
    ...overrides,
  };
}

/**
 * The real app over a real store, wired exactly as `main.ts` wires it, with only the named seams
 * swapped for doubles. `env` is parsed by the real config loader.
 */
export async function startWiredApp(options: { store: Store; env?: Record<string, string>; overrides?: WiringOverrides }) {
  const placeholder = await listen(createApp({ logger: captureLogger().logger, services: fakeServices() }), 0, '127.0.0.1');
  // Local Checkout links must point at this very server, so learn the port first.
  const port = placeholder.port;
  await placeholder.shutdown();
  const config = loadConfig({ NODE_ENV: 'test', PUBLIC_URL: `http://127.0.0.1:${port}`, APP_ORIGINS: 'https://app.verifieddit.test', ...options.env });
  // As main.ts does: every configured secret is scrubbed from the log.
  const logs = captureLogger({ secrets: config.secrets });
  const wiring = wire(config, options.store, logs.logger, options.overrides);
  const app = createApp({ logger: logs.logger, services: wiring.services, mounts: wiring.mounts, metrics: { metrics: wiring.metrics, token: config.metricsToken } });
  const running = await listen(app, port, '127.0.0.1');
  return Object.assign(running, { logs, config, wiring });
}

export async function startApp(deps: Partial<AppDeps> = {}): Promise<RunningServer & { logs: ReturnType<typeof captureLogger> }> {
  const logs = captureLogger();
  const app = createApp({ logger: deps.logger ?? logs.logger, services: deps.services ?? fakeServices(), ...deps });
  const running = await listen(app, 0, '127.0.0.1');
  return Object.assign(running, { logs });
}
