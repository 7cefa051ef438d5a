import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.js';
import type { LogPort } from '../logger.js';
import type { DetectionVerdict, Detector } from './ports.js';

const score = z.number().min(0).max(1);

/** The success body we rely on; anything less is an error, never an empty answer. */
const successSchema = z.object({
  status: z.literal('success'),
  request: z.object({ id: z.string().optional(), timestamp: z.number().optional(), operations: z.number().nonnegative().optional() }).passthrough().optional(),
  type: z.object({ ai_generated: score, ai_generators: z.record(z.string(), score).optional() }).passthrough(),
});

const failureSchema = z.object({
  status: z.literal('failure'),
  error: z.object({ type: z.string(), code: z.union([z.number(), z.string()]).optional(), message: z.string().optional() }).passthrough(),
});

export interface SightengineOptions {
  apiUser: string;
  apiSecret: string;
  baseUrl: string;
  log: LogPort;
  /** Per attempt. */
  timeoutMs?: number;
  /** Extra attempts after a network error or a 5xx (not after a Sightengine error answer). */
  retries?: number;
  retryDelayMs?: number;
  fetch?: typeof globalThis.fetch;
  now?: () => Date;
}

const EXTENSION: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
  'image/tiff': 'tiff',
  'image/avif': 'avif',
  'image/heic': 'heic',
};

function secondsUntilNextUtcDay(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

export function secondsUntilNextUtcMonth(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

class Retryable extends Error {}

/** Sightengine's `genai` model over multipart upload. Branches on `status` and `error.type`, never on the HTTP status. */
export class SightengineDetector implements Detector {
  readonly provider = 'sightengine' as const;
  private readonly endpoint: string;

  constructor(private readonly options: SightengineOptions) {
    this.endpoint = `${options.baseUrl.replace(/\/+$/, '')}/1.0/check.json`;
  }

  async detect(bytes: Uint8Array, mimeType: string): Promise<DetectionVerdict> {
    const attempts = 1 + (this.options.retries ?? 2);
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await this.attempt(bytes, mimeType);
      } catch (error) {
        if (!(error instanceof Retryable)) throw error;
        lastError = error;
        if (attempt < attempts) await new Promise((resolve) => setTimeout(resolve, (this.options.retryDelayMs ?? 250) * attempt));
      }
    }
    this.options.log.warn({ err: lastError, attempts }, 'sightengine unavailable');
    throw new AppError('DETECTION_UNAVAILABLE', 'the detection service is unavailable, try again later', { cause: lastError });
  }

  private async attempt(bytes: Uint8Array, mimeType: string): Promise<DetectionVerdict> {
    const form = new FormData();
    form.set('media', new Blob([bytes], { type: mimeType }), `image.${EXTENSION[mimeType] ?? 'bin'}`);
    form.set('models', 'genai');
    form.set('api_user', this.options.apiUser);
    form.set('api_secret', this.options.apiSecret);
    let response: Response;
    let text: string;
    try {
      response = await (this.options.fetch ?? fetch)(this.endpoint, {
        method: 'POST',
        body: form,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 20_000),
      });
      text = await response.text();
    } catch (error) {
      throw new Retryable(`network error: ${(error as Error).message}`, { cause: error });
    }
    if (response.status >= 500) throw new Retryable(`sightengine answered ${response.status}`);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new AppError('DETECTION_UNAVAILABLE', 'the detection service gave an unreadable answer', { details: { status: response.status } });
    }
    const failure = failureSchema.safeParse(body);
    if (failure.success) throw this.mapFailure(failure.data.error);
    const success = successSchema.safeParse(body);
    if (!success.success) {
      this.options.log.error({ status: response.status, issues: success.error.issues }, 'sightengine answer without a verdict');
      throw new AppError('DETECTION_UNAVAILABLE', 'the detection service gave no verdict');
    }
    const { type, request } = success.data;
    return {
      aiGenerated: type.ai_generated,
      ...(type.ai_generators ? { generators: type.ai_generators } : {}),
      provider: 'sightengine',
      checkedAt: (this.options.now?.() ?? new Date()).toISOString(),
      operations: request?.operations ?? 1,
    };
  }

  private mapFailure(error: { type: string; code?: number | string | undefined; message?: string | undefined }): AppError {
    const details = { upstreamType: error.type, upstreamCode: error.code };
    const now = this.options.now?.() ?? new Date();
    switch (error.type) {
      case 'usage_limit':
        this.options.log.warn(details, 'sightengine usage limit reached');
        return new AppError('DETECTION_QUOTA_EXHAUSTED', 'the detection service has used up its allowance, try again later', {
          details,
          retryAfterSeconds: secondsUntilNextUtcDay(now),
        });
      case 'plan_error':
        this.options.log.warn(details, 'sightengine plan does not allow this request');
        return new AppError('DETECTION_QUOTA_EXHAUSTED', 'the detection service plan does not allow more detections now', {
          details,
          retryAfterSeconds: secondsUntilNextUtcMonth(now),
        });
      case 'media_error':
      case 'argument_error':
        return new AppError('UNSUPPORTED_MEDIA', 'the detection service could not read this image', { details });
      case 'credentials_error':
        this.options.log.error({ ...details, alert: true }, 'SIGHTENGINE CREDENTIALS REJECTED: check SIGHTENGINE_API_USER / SIGHTENGINE_API_SECRET');
        return new AppError('DETECTION_UNAVAILABLE', 'the detection service is unavailable', { details });
      default:
        this.options.log.warn({ ...details, message: error.message }, 'sightengine error');
        return new AppError('DETECTION_UNAVAILABLE', 'the detection service is unavailable', { details });
    }
  }

  /** The account's usage as Sightengine reports it (`account.json`, parsed loosely: its shape is not reliably documented). */
  async account(): Promise<{ raw: unknown; numbers: Record<string, number> }> {
    const url = new URL(`${this.options.baseUrl.replace(/\/+$/, '')}/1.0/account.json`);
    url.searchParams.set('api_user', this.options.apiUser);
    url.searchParams.set('api_secret', this.options.apiSecret);
    const response = await (this.options.fetch ?? fetch)(url, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 20_000) });
    const raw: unknown = JSON.parse(await response.text());
    const failure = failureSchema.safeParse(raw);
    if (failure.success) throw new Error(`Sightengine refused: ${failure.data.error.type}${failure.data.error.message ? ` (${failure.data.error.message})` : ''}`);
    return { raw, numbers: numericLeaves(raw) };
  }
}

/** Every numeric leaf as `a.b.c → n`: what we can show of an undocumented shape without guessing. */
function numericLeaves(value: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) out[prefix || '(value)'] = value;
  else if (typeof value === 'string' && prefix && /^\d+(\.\d+)?$/.test(value)) out[prefix] = Number(value);
  else if (value && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) numericLeaves(child, prefix ? `${prefix}.${key}` : key, out);
  }
  return out;
}

/** No credentials, outside production: a deterministic verdict from the SHA-256, costing nothing. */
export class LocalDetector implements Detector {
  readonly provider = 'local' as const;
  constructor(private readonly now: () => Date = () => new Date()) {}

  async detect(bytes: Uint8Array): Promise<DetectionVerdict> {
    const digest = createHash('sha256').update(bytes).digest();
    const aiGenerated = Math.round((digest.readUInt32BE(0) / 0xffffffff) * 100) / 100;
    return { aiGenerated, provider: 'local', checkedAt: this.now().toISOString(), operations: 0 };
  }
}

/** Sightengine when credentials are configured, else the local detector (the config refuses that in production). */
export function detectorFor(
  config: { isProduction: boolean; sightengine: { apiUser: string | undefined; apiSecret: string | undefined; baseUrl: string } },
  log: LogPort,
): Detector {
  const { apiUser, apiSecret, baseUrl } = config.sightengine;
  if (apiUser && apiSecret) return new SightengineDetector({ apiUser, apiSecret, baseUrl, log });
  if (config.isProduction) throw new Error('Sightengine credentials are required in production');
  return new LocalDetector();
}
