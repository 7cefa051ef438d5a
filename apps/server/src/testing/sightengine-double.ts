import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFixture } from './fixture-files.js';

/**
 * A double of Sightengine's API on 127.0.0.1, answering with the payloads in
 * `fixtures/sightengine/` (in the repository; loaded when the double starts, so a missing file fails
 * the start with a message instead of a request). It parses the multipart body,
 * checks the fields like the real API would, and counts every call so tests can prove how many
 * operations were spent.
 */

export type FixtureName = 'check-genai-success' | 'check-genai-success-minimal' | 'error-credentials' | 'error-media' | 'error-usage-limit';

const FIXTURE_NAMES: readonly FixtureName[] = ['check-genai-success', 'check-genai-success-minimal', 'error-credentials', 'error-media', 'error-usage-limit'];
const fixtureCache = new Map<FixtureName, Record<string, unknown>>();
export function sightengineFixture(name: FixtureName): Record<string, unknown> {
  let fixture = fixtureCache.get(name);
  if (!fixture) {
    fixture = readFixture<Record<string, unknown>>(`sightengine/${name}.json`);
    fixtureCache.set(name, fixture);
  }
  return structuredClone(fixture);
}

/** What the next call answers. */
type Script =
  | { fixture: FixtureName; httpStatus?: number }
  | { httpStatus: number; body: string }
  /** Closes the connection without an answer (a network error for the client). */
  | { drop: true };

interface RecordedCall {
  apiUser: string | null;
  models: string | null;
  mediaSha256: string | null;
  mediaType: string | null;
  mediaSize: number;
  hasUrlField: boolean;
}

export interface SightengineDouble {
  baseUrl: string;
  apiUser: string;
  apiSecret: string;
  /** Every call to /1.0/check.json, in order (including failed ones). */
  calls: RecordedCall[];
  /** Operations the double has charged (successful genai answers). */
  operations(): number;
  /** Answers to give, in order, before falling back to the default (success). */
  script(...answers: Script[]): void;
  /** Answer every call after this delay (to hold concurrent requests in flight). */
  setDelay(ms: number): void;
  /** Calls the client gave up on (closed the connection) while the double was still holding its answer. */
  abandoned(): number;
  /** Default answer once the script is used up. */
  setDefault(answer: Script): void;
  accountBody: unknown;
  close(): Promise<void>;
}

export async function startSightengineDouble(options: { apiUser?: string; apiSecret?: string } = {}): Promise<SightengineDouble> {
  const apiUser = options.apiUser ?? '1234567';
  const apiSecret = options.apiSecret ?? 'se-double-secret';
  const calls: RecordedCall[] = [];
  const queue: Script[] = [];
  let fallback: Script = { fixture: 'check-genai-success' };
  let delayMs = 0;
  let charged = 0;
  let abandoned = 0;

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.statusCode = status;
    res.setHeader('content-type', 'application/json');
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  // Every answer comes from a fixture: read them all now, so a missing one throws here (at start).
  for (const name of FIXTURE_NAMES) sightengineFixture(name);

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://double');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);

    if (req.method === 'GET' && url.pathname === '/1.0/account.json') {
      if (url.searchParams.get('api_user') !== apiUser || url.searchParams.get('api_secret') !== apiSecret) {
        return send(res, 401, sightengineFixture('error-credentials'));
      }
      return send(res, 200, double.accountBody);
    }
    if (req.method !== 'POST' || url.pathname !== '/1.0/check.json') return send(res, 404, { status: 'failure', error: { type: 'request_error', message: 'not found' } });

    let form: FormData;
    try {
      form = await new Response(raw, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    } catch {
      calls.push({ apiUser: null, models: null, mediaSha256: null, mediaType: null, mediaSize: 0, hasUrlField: false });
      return send(res, 400, { status: 'failure', error: { type: 'argument_error', code: 10, message: 'body is not multipart' } });
    }
    const media = form.get('media');
    const file = media instanceof Blob ? Buffer.from(await media.arrayBuffer()) : null;
    const call: RecordedCall = {
      apiUser: form.get('api_user') as string | null,
      models: form.get('models') as string | null,
      mediaSha256: file ? createHash('sha256').update(file).digest('hex') : null,
      mediaType: media instanceof Blob ? media.type : null,
      mediaSize: file?.length ?? 0,
      hasUrlField: form.has('url'),
    };
    calls.push(call);
    if (delayMs && (await clientLeftWithin(res, delayMs))) {
      abandoned++;
      return;
    }

    if (call.apiUser !== apiUser || form.get('api_secret') !== apiSecret) return send(res, 200, sightengineFixture('error-credentials'));
    if (call.models !== 'genai') return send(res, 200, { status: 'failure', error: { type: 'argument_error', code: 11, message: 'models must be genai' } });
    if (!file || file.length === 0) return send(res, 200, sightengineFixture('error-media'));

    const answer = queue.shift() ?? fallback;
    if ('drop' in answer) {
      res.socket?.destroy();
      return;
    }
    if ('body' in answer) return send(res, answer.httpStatus, answer.body);
    const body = sightengineFixture(answer.fixture);
    if (body.status === 'success') charged += Number((body.request as { operations?: number } | undefined)?.operations ?? 1);
    return send(res, answer.httpStatus ?? 200, body);
  };
  // A bug in the double must fail the call that hit it, never leave it hanging until the client's timeout.
  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('sightengine double: handler failed', error);
      if (res.headersSent) res.destroy();
      else send(res, 500, { status: 'failure', error: { type: 'unknown_error', message: `sightengine double: ${(error as Error).message}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const double: SightengineDouble = {
    baseUrl: `http://127.0.0.1:${port}`,
    apiUser,
    apiSecret,
    calls,
    operations: () => charged,
    script: (...answers) => void queue.push(...answers),
    setDelay: (ms) => void (delayMs = ms),
    abandoned: () => abandoned,
    setDefault: (answer) => void (fallback = answer),
    accountBody: { status: 'success', plan: 'free', usage: { operations: { used: 12, limit: 500 } } },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return double;
}

/** Waits `ms`; true if the client closed the connection first (then the wait ends at once). */
function clientLeftWithin(res: http.ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(false);
    }, ms);
    res.once('close', onClose);
  });
}
