import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { AppError } from '../errors.js';
import { sendError } from './errors.js';
import { describeLimit } from './limits.js';

/** Deeper JSON is refused before it is parsed: no contract nests past a handful of levels, and tRPC re-serialises the body recursively. */
const MAX_JSON_DEPTH = 32;

/** The body limit of a request in bytes, counted after decompression (http/aliases.ts bodyLimitOf). */
type LimitOf = (req: Request) => number;

/** `Transfer-Encoding` or a non-zero `Content-Length`: a request without either has nothing to read. */
function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const DECODERS: Record<string, (() => NodeJS.ReadWriteStream) | null> = {
  identity: null,
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

function encodingOf(req: Request): string {
  return (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase() || 'identity';
}

const refuse = (req: Request, res: Response, error: AppError) => sendError(res, req.id, error);

/**
 * First thing after the request id, for every route (the webhook and the local pages included, which
 * read their own bodies): refuses what can be refused without reading a byte, so a declared 30 MB
 * body is answered at once and the connection closed instead of being drained.
 */
export function bodyGate(limitOf: LimitOf): RequestHandler {
  return (req, res, next) => {
    if (!hasBody(req)) return next();
    const encoding = encodingOf(req);
    if (!(encoding in DECODERS))
      return refuse(req, res, new AppError('UNSUPPORTED_CONTENT_TYPE', `Content-Encoding "${encoding.slice(0, 40)}" is not supported: use gzip, deflate, br or none`));
    const limit = limitOf(req);
    const declared = Number(req.headers['content-length']);
    // A compressed body can only grow, so a declared length over the limit is over it in any encoding.
    if (Number.isFinite(declared) && declared > limit) return refuse(req, res, tooLarge(limit));
    next();
  };
}

const tooLarge = (limit: number) =>
  new AppError('PAYLOAD_TOO_LARGE', `Request body is larger than the ${describeLimit(limit)} limit`, {
    details: { limitBytes: limit },
  });

/**
 * Reads a body up to `limit` bytes after decompression, and stops reading the moment it is over: the
 * bytes already read are dropped and the caller answers 413 (with `Connection: close`, see sendError).
 */
function readBody(req: Request, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const decoder = DECODERS[encodingOf(req)];
    const source: Readable = decoder ? (req.pipe(decoder()) as unknown as Readable) : req;
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error: AppError | null) => {
      if (settled) return;
      settled = true;
      source.off('data', onData);
      source.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', onAborted);
      if (source !== req) {
        req.unpipe(source as unknown as NodeJS.WritableStream);
        source.on('error', () => {});
        source.destroy();
      }
      if (error) {
        req.pause();
        reject(error);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish(tooLarge(limit));
      chunks.push(chunk);
    };
    const onEnd = () => finish(null);
    const onAborted = () => finish(new AppError('BAD_REQUEST', 'The request body was cut off'));
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', (error: Error & { code?: string }) =>
      finish(
        source === req
          ? new AppError('BAD_REQUEST', 'The request body could not be read')
          : new AppError('BAD_REQUEST', `The request body does not decode as Content-Encoding "${encodingOf(req)}"`, { details: { reason: error.code ?? 'decode_failed' } }),
      ),
    );
    req.once('aborted', onAborted);
    req.once('error', onAborted);
  });
}

/**
 * How deep `[`/`{` nest in JSON text, stopping as soon as `max` is passed. Runs before `JSON.parse`,
 * so a 10,000-level body never becomes a 10,000-level object.
 */
function jsonDepthExceeds(text: Buffer, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function isJson(req: Request): { ok: true } | { ok: false; reason: string } {
  const header = req.headers['content-type'];
  if (!header) return { ok: false, reason: 'Missing Content-Type: send the body as application/json' };
  const [type, ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return { ok: false, reason: `Content-Type "${header.slice(0, 80)}" is not accepted: send the body as application/json` };
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (charset && charset !== 'utf-8' && charset !== 'utf8') return { ok: false, reason: `charset "${charset.slice(0, 40)}" is not accepted: send UTF-8 JSON` };
  return { ok: true };
}

/**
 * The API's one body reader (tRPC and the REST aliases): JSON only, UTF-8, within the route's limit
 * while it is read (decompressed bytes count), nested at most MAX_JSON_DEPTH deep. Any other type is
 * refused before a byte is read: tRPC would otherwise buffer multipart and octet-stream bodies whole.
 */
export function jsonBody(limitOf: LimitOf): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    if (req.body !== undefined || !hasBody(req)) return next();
    const json = isJson(req);
    if (!json.ok) return refuse(req, res, new AppError('UNSUPPORTED_CONTENT_TYPE', json.reason));
    let raw: Buffer;
    try {
      raw = await readBody(req, limitOf(req));
    } catch (error) {
      return next(error);
    }
    // An empty body (chunked, or compressed nothing) is no input; `req.body` must still be set, or tRPC
    // finds the stream consumed and fails with a 500 instead of validating the missing input.
    if (raw.length === 0) {
      req.body = undefined;
      return next();
    }
    if (jsonDepthExceeds(raw, MAX_JSON_DEPTH)) return next(new AppError('BAD_REQUEST', `JSON nested deeper than ${MAX_JSON_DEPTH} levels`));
    try {
      req.body = JSON.parse(raw.toString('utf8'));
    } catch {
      return next(new AppError('BAD_REQUEST', 'Request body is not valid JSON'));
    }
    next();
  };
}
