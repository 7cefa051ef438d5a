import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('closes a keep-alive connection once its in-flight answer is out, without waiting for the client or the keep-alive timeout', async () => {
    let releasePing!: () => void;
    let pingStarted!: () => void;
    const started = new Promise<void>((r) => (pingStarted = r));
    const services = fakeServices({ readiness: { ping: () => new Promise<void>((resolve) => ((releasePing = resolve), pingStarted())) } });
    // A keep-alive timeout far beyond the test's: only the shutdown can close the connection in time.
    const running = await listen(createApp({ logger: captureLogger().logger, services }), 0, '127.0.0.1', { keepAliveTimeoutMs: 120_000 });
    const socket = connect(running.port, '127.0.0.1');
    const answered = new Promise<string>((resolve) => socket.once('data', (chunk) => resolve(chunk.toString('utf8'))));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write('GET /ready HTTP/1.1\r\nhost: localhost\r\nconnection: keep-alive\r\n\r\n');
    await started;
    const shutdown = running.shutdown(60_000);
    releasePing();
    expect(await answered).toMatch(/^HTTP\/1\.1 200/);
    await closed; // the server hung up; the client never did
    await shutdown;
  });
});

describe('slow and malformed clients', () => {
  /** Sends `send` and reads until the connection closes; `closedByServer` is false if we had to hang up after `waitMs`. */
  const rawExchange = (port: number, send: string | Buffer, waitMs = 20_000) =>
    new Promise<{ text: string; closedByServer: boolean }>((resolve, reject) => {
      let closedByServer = true;
      const socket = connect(port, '127.0.0.1', () => socket.write(send));
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('error', reject);
      const giveUp = setTimeout(() => {
        closedByServer = false;
        socket.destroy();
      }, waitMs);
      socket.on('close', () => {
        clearTimeout(giveUp);
        resolve({ text: Buffer.concat(chunks).toString('utf8'), closedByServer });
      });
    });
  const parse = (text: string) => {
    const [head, body] = text.split('\r\n\r\n');
    return { statusLine: head!.split('\r\n')[0], head: head!, body: JSON.parse(body!) as { error: { code: string; requestId: string } } };
  };

  let running: Awaited<ReturnType<typeof listen>>;
  beforeAll(async () => {
    running = await listen(createApp({ logger: captureLogger().logger, services: fakeServices() }), 0, '127.0.0.1', { headersTimeoutMs: 300, requestTimeoutMs: 600 });
  });
  afterAll(() => running.shutdown(100));

  it('a client that never finishes its headers gets 408 REQUEST_TIMEOUT in the error shape, and the server hangs up', async () => {
    const { text, closedByServer } = await rawExchange(running.port, 'GET /health HTTP/1.1\r\nHost: x\r\n');
    // The server's headers timeout answered and hung up; we never had to.
    expect(closedByServer).toBe(true);
    const answer = parse(text);
    expect(answer.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    expect(answer.body.error.code).toBe('REQUEST_TIMEOUT');
    expect(answer.head).toContain(`x-request-id: ${answer.body.error.requestId}`);
  });

  it('a client that trickles its body past the request timeout is cut off with 408', async () => {
    const { text, closedByServer } = await rawExchange(running.port, 'POST /create-checkout-session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":');
    expect(closedByServer).toBe(true);
    expect(parse(text).body.error.code).toBe('REQUEST_TIMEOUT');
  });

  it('oversized headers get 431 HEADERS_TOO_LARGE in the error shape', async () => {
    const { text } = await rawExchange(running.port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(parse(text).statusLine).toMatch(/^HTTP\/1.1 431 /);
    expect(parse(text).body.error.code).toBe('HEADERS_TOO_LARGE');
  });

  it('a request line that is not HTTP gets 400 BAD_REQUEST in the error shape', async () => {
    const { text } = await rawExchange(running.port, 'HELLO THERE\r\n\r\n');
    expect(parse(text).statusLine).toMatch(/^HTTP\/1.1 400 /);
    expect(parse(text).body.error.code).toBe('BAD_REQUEST');
  });

  it('a prompt client on the same server is unaffected', async () => {
    expect((await fetch(`${running.url}/health`)).status).toBe(200);
  });
});
