import * as http from 'node:http';
import * as https from 'node:https';
import { isIP } from 'node:net';
import { MAX_IMAGE_BYTES, SUPPORTED_IMAGE_TYPES } from '@verifieddit/contracts';
import { AppError } from '../errors.js';
import { checkTarget, pinnedLookup, type CheckedTarget, type TargetPolicy } from './address-policy.js';

/**
 * SSRF-safe image fetching. Every hop (the URL and each redirect) passes the address policy
 * (address-policy.ts) and connects to the address it checked, through the request's `lookup` option.
 * The body is streamed under a byte cap and sniffed by its magic bytes.
 */

export type SupportedImageType = (typeof SUPPORTED_IMAGE_TYPES)[number];

/** Opens the HTTP(S) request; injectable so tests can prove no connection is attempted. */
export type RequestFn = (options: https.RequestOptions, onResponse: (response: http.IncomingMessage) => void) => http.ClientRequest;

export interface FetchImageOptions extends TargetPolicy {
  /** Defaults to node:http / node:https `request` chosen by the URL's scheme. */
  request?: RequestFn;
  maxBytes?: number;
  maxRedirects?: number;
  connectTimeoutMs?: number;
  totalTimeoutMs?: number;
  /** Extra trust anchors for HTTPS (tests: a self-signed certificate). */
  ca?: string | Buffer;
}

export interface FetchedImage {
  bytes: Buffer;
  mimeType: SupportedImageType;
  /** The URL the bytes finally came from (after redirects). */
  finalUrl: string;
}

const defaultRequest: RequestFn = (options, onResponse) =>
  (options.protocol === 'https:' ? https.request : http.request)(options, onResponse);

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export async function fetchImage(rawUrl: string, options: FetchImageOptions = {}): Promise<FetchedImage> {
  const maxBytes = options.maxBytes ?? MAX_IMAGE_BYTES;
  const maxRedirects = options.maxRedirects ?? 3;
  const deadline = Date.now() + (options.totalTimeoutMs ?? 15_000);
  let current: string | URL = rawUrl;
  for (let hop = 0; ; hop++) {
    const target = await checkTarget(current, options);
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new AppError('FETCH_TIMEOUT', 'fetching the image took too long');
    const outcome = await fetchOnce(target, { ...options, maxBytes, totalTimeoutMs: remaining });
    if (outcome.kind === 'redirect') {
      if (hop >= maxRedirects) throw new AppError('FETCH_FAILED', `more than ${maxRedirects} redirects`);
      try {
        current = new URL(outcome.location, target.url);
      } catch {
        throw new AppError('FETCH_FAILED', 'redirect to an invalid URL');
      }
      continue;
    }
    const mimeType = await sniffImageType(outcome.bytes);
    if (!mimeType) throw new AppError('UNSUPPORTED_MEDIA', 'the URL does not point at a supported image');
    return { bytes: outcome.bytes, mimeType, finalUrl: target.url.toString() };
  }
}

/** The image type from the magic bytes, or undefined if it is not one Sightengine accepts. */
let fileType: Promise<typeof import('file-type')> | undefined;
export async function sniffImageType(bytes: Uint8Array): Promise<SupportedImageType | undefined> {
  const { fileTypeFromBuffer } = await (fileType ??= import('file-type'));
  const type = await fileTypeFromBuffer(bytes);
  return type && (SUPPORTED_IMAGE_TYPES as readonly string[]).includes(type.mime) ? (type.mime as SupportedImageType) : undefined;
}

type HopOutcome = { kind: 'redirect'; location: string } | { kind: 'body'; bytes: Buffer };

function fetchOnce(target: CheckedTarget, options: FetchImageOptions & { maxBytes: number; totalTimeoutMs: number }): Promise<HopOutcome> {
  const request = options.request ?? defaultRequest;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  return new Promise<HopOutcome>((resolve, reject) => {
    let settled = false;
    let req: http.ClientRequest | undefined;
    const timers: NodeJS.Timeout[] = [];
    const finish = (error: AppError | undefined, value?: HopOutcome) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      if (error) {
        req?.destroy();
        reject(error);
      } else resolve(value!);
    };
    timers.push(setTimeout(() => finish(new AppError('FETCH_TIMEOUT', 'fetching the image took too long')), options.totalTimeoutMs));
    const connectTimer = setTimeout(() => finish(new AppError('FETCH_TIMEOUT', 'connecting to the image host took too long')), connectTimeoutMs);
    timers.push(connectTimer);

    const { url, hostname, port, pinned } = target;
    try {
      req = request(
        {
          protocol: url.protocol,
          host: hostname,
          hostname,
          port,
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          // The name stays the URL's host (Host header, TLS SNI and certificate check); only the
          // address comes from the pinned lookup.
          servername: isIP(hostname) ? undefined : hostname,
          lookup: pinnedLookup(pinned),
          family: pinned.family,
          agent: false,
          ...(options.ca ? { ca: options.ca } : {}),
          headers: { host: url.host, accept: 'image/*', 'user-agent': 'verifieddit-image-fetch/1' },
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (REDIRECT_STATUSES.has(status)) {
            const location = response.headers.location;
            response.resume();
            if (!location) return finish(new AppError('FETCH_FAILED', `redirect (${status}) without a Location`));
            return finish(undefined, { kind: 'redirect', location });
          }
          if (status < 200 || status >= 300) {
            response.resume();
            return finish(new AppError('FETCH_FAILED', `the image host answered ${status}`, { details: { status } }));
          }
          const declared = Number(response.headers['content-length']);
          if (Number.isFinite(declared) && declared > options.maxBytes) {
            return finish(new AppError('IMAGE_TOO_LARGE', `the image is larger than ${options.maxBytes} bytes`));
          }
          const chunks: Buffer[] = [];
          let total = 0;
          response.on('data', (chunk: Buffer) => {
            total += chunk.length;
            if (total > options.maxBytes) {
              finish(new AppError('IMAGE_TOO_LARGE', `the image is larger than ${options.maxBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          response.on('end', () => finish(undefined, { kind: 'body', bytes: Buffer.concat(chunks, total) }));
          response.on('error', (error) => finish(new AppError('FETCH_FAILED', 'the image download failed', { cause: error })));
          response.on('aborted', () => finish(new AppError('FETCH_FAILED', 'the image download was cut off')));
        },
      );
    } catch (error) {
      return finish(new AppError('FETCH_FAILED', 'could not start the image request', { cause: error }));
    }
    req.on('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    req.on('error', (error) => finish(new AppError('FETCH_FAILED', 'could not fetch the image', { cause: error })));
    req.end();
  });
}
