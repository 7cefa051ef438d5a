import { Writable } from 'node:stream';
import type { Services } from '../context.js';
import { createApp, type AppDeps } from '../app.js';
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
  const logger = createLogger({ level: options.level ?? 'debug', pretty: false, secrets: options.secrets ?? [], destination });
  const lines = () => chunks.join('').split('\n').filter(Boolean);
  return { logger, lines, records: () => lines().map((line) => JSON.parse(line) as Record<string, unknown>) };
}

export function fakeServices(overrides: Partial<Services> = {}): Services {
  return {
    version: '0.0.0-test',
    startedAt: Date.now(),
    readiness: { ping: async () => {} },
    ...overrides,
  };
}

export async function startApp(deps: Partial<AppDeps> = {}): Promise<RunningServer & { logs: ReturnType<typeof captureLogger> }> {
  const logs = captureLogger();
  const app = createApp({ logger: deps.logger ?? logs.logger, services: deps.services ?? fakeServices(), ...deps });
  const running = await listen(app, 0, '127.0.0.1');
  return Object.assign(running, { logs });
}
