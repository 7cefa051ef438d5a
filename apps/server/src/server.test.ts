import { describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { listen } from './server.js';
import { captureLogger, fakeServices } from './testing/harness.js';

describe('graceful shutdown', () => {
  it('finishes an in-flight request, then stops accepting connections', async () => {
    let releasePing!: () => void;
    let pingStarted!: () => void;
    const started = new Promise<void>((r) => (pingStarted = r));
    const services = fakeServices({
      readiness: {
        ping: () =>
          new Promise<void>((resolve) => {
            releasePing = resolve;
            pingStarted();
          }),
      },
    });
    const running = await listen(createApp({ logger: captureLogger().logger, services }), 0, '127.0.0.1');

    const inFlight = fetch(`${running.url}/ready`);
    await started;
    let stopped = false;
    const shutdown = running.shutdown().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(stopped).toBe(false);

    releasePing();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready', store: 'up' });
    await shutdown;
    expect(stopped).toBe(true);
    await expect(fetch(`${running.url}/health`)).rejects.toThrow();
  });
});
