import { request, type Agent } from 'node:http';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { ERROR_HTTP_STATUS, errorBodySchema, trpcErrorEnvelopeSchema, type ErrorCode } from '@verifieddit/contracts';
import { expect } from 'vitest';
import type { FuzzRequest } from './fuzz-requests.js';

/** Sending src/http/fuzz.test.ts's generated requests over real HTTP, and judging each answer against the documented shapes. */

/** 5xx a client may get by design: an upstream failed (502/504) or the store is down (503). */
const DOCUMENTED_5XX = new Set((Object.keys(ERROR_HTTP_STATUS) as ErrorCode[]).filter((c) => ERROR_HTTP_STATUS[c] >= 500 && c !== 'INTERNAL'));

const encode = (raw: Buffer, encoding: string | undefined): { bytes: Buffer; header?: string } => {
  switch (encoding) {
    case undefined:
      return { bytes: raw };
    case 'gzip':
      return { bytes: gzipSync(raw), header: 'gzip' };
    case 'br':
      return { bytes: brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } }), header: 'br' };
    case 'gzip-garbage':
      return { bytes: raw, header: 'gzip' };
    default:
      return { bytes: raw, header: encoding };
  }
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The server closed the connection on a body it refused before we finished sending it. */
  reset?: boolean;
}

export function send(agent: Agent, base: URL, r: FuzzRequest): Promise<Answer> {
  const raw = r.body ? Buffer.from(r.body.kind === 'json' ? (JSON.stringify(r.body.value) ?? '') : r.body.text) : undefined;
  const encoded = raw ? encode(raw, r.encoding) : undefined;
  const headers: Record<string, string> = { ...r.headers };
  if (encoded?.header) headers['content-encoding'] = encoded.header;
  if (encoded) headers['content-length'] = String(encoded.bytes.length);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request({ host: base.hostname, port: base.port, method: r.method, path: r.path, headers, agent }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      const done = () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        // A subscription streams until the client leaves: read up to its first real event, then leave.
        const leave = () => {
          clearTimeout(timer);
          res.removeAllListeners('data');
          req.destroy();
          done();
        };
        const timer = setTimeout(leave, 2_000);
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          const events = Buffer.concat(chunks).toString('utf8').split('\n\n').slice(0, -1);
          if (events.some((e) => !e.includes('event: connected') && !e.includes('event: ping'))) leave();
        });
        res.on('error', () => {});
        return;
      }
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', done);
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (answered) return;
      // Closing on a large body it refused is how the server stops a sender; nothing else may reset.
      if ((error.code === 'ECONNRESET' || error.code === 'EPIPE') && (encoded?.bytes.length ?? 0) > 256 * 1024) resolve({ status: 0, headers: {}, text: '', reset: true });
      else reject(new Error(`${r.method} ${r.path}: ${error.message}`));
    });
    req.end(encoded?.bytes);
  });
}

export const counts = { seconds: 0, cpuSeconds: 0, requests: 0, byClass: {} as Record<string, number>, byStatus: {} as Record<number, number>, byTarget: {} as Record<string, number> };

export function judge(r: FuzzRequest, a: Answer): void {
  counts.requests++;
  counts.byTarget[r.target] = (counts.byTarget[r.target] ?? 0) + 1;
  if (a.reset) {
    counts.byClass.reset = (counts.byClass.reset ?? 0) + 1;
    return;
  }
  const cls = `${Math.floor(a.status / 100)}xx`;
  counts.byClass[cls] = (counts.byClass[cls] ?? 0) + 1;
  counts.byStatus[a.status] = (counts.byStatus[a.status] ?? 0) + 1;
  const what = `${r.method} ${r.path} → ${a.status} ${a.text.slice(0, 300)}`;
  const requestId = a.headers['x-request-id'];
  expect(typeof requestId, what).toBe('string');
  if (a.status === 429) expect(Number(a.headers['retry-after']), `Retry-After on ${what}`).toBeGreaterThan(0);
  if (String(a.headers['content-type']).startsWith('text/event-stream')) {
    // tRPC answers a subscription 200 and sends its error as an event, in the same envelope.
    expect(a.status, what).toBe(200);
    for (const event of a.text.split('\n\n').filter((e) => e.includes('event: serialized-error'))) {
      const data = trpcErrorEnvelopeSchema.shape.error.parse(JSON.parse(event.slice(event.indexOf('data: ') + 6))).data;
      expect(data.requestId, what).toBe(requestId);
      expect(ERROR_HTTP_STATUS[data.code] < 500 || DOCUMENTED_5XX.has(data.code), `undocumented 5xx: ${what}`).toBe(true);
    }
    return;
  }
  if (r.method === 'HEAD' || a.status < 400) {
    if (a.status >= 500) throw new Error(`5xx without a body on ${what}`);
    return;
  }
  // Local Checkout/Portal pages are browser pages: a bad link is an HTML page, as documented.
  if (r.path.startsWith('/local-billing/') && a.status === 404 && String(a.headers['content-type']).startsWith('text/html')) return;
  const body = JSON.parse(a.text) as unknown;
  const errors = r.path.startsWith('/trpc')
    ? (Array.isArray(body) ? body : [body])
        .filter((item) => !(item && typeof item === 'object' && 'result' in item))
        .map((item) => {
          const data = trpcErrorEnvelopeSchema.parse(item).error.data;
          return { code: data.code, requestId: data.requestId };
        })
    : [errorBodySchema.parse(body).error];
  expect(errors.length, what).toBeGreaterThan(0);
  for (const error of errors) {
    expect(error.requestId, what).toBe(requestId);
    if (ERROR_HTTP_STATUS[error.code] >= 500) expect(DOCUMENTED_5XX.has(error.code), `undocumented 5xx: ${what}`).toBe(true);
  }
  if (a.status >= 500) expect(errors.some((e) => DOCUMENTED_5XX.has(e.code)), `undocumented 5xx: ${what}`).toBe(true);
}
