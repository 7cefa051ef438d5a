import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PNG_1X1, pngVariant, sha256Hex } from '../testing/images.js';
import { recordingLog } from '../testing/log-recorder.js';
import { sightengineFixture, startSightengineDouble, type SightengineDouble } from '../testing/sightengine-double.js';
import { LocalDetector, SightengineDetector, detectorFor } from './sightengine.js';

let double: SightengineDouble;
beforeAll(async () => {
  double = await startSightengineDouble();
});
afterAll(() => double.close());
beforeEach(() => {
  double.calls.length = 0;
  double.setDelay(0);
  double.setDefault({ fixture: 'check-genai-success' });
});

const detectorWith = (overrides: Partial<ConstructorParameters<typeof SightengineDetector>[0]> = {}) => {
  const log = recordingLog();
  const detector = new SightengineDetector({
    apiUser: double.apiUser,
    apiSecret: double.apiSecret,
    baseUrl: double.baseUrl,
    log,
    retryDelayMs: 1,
    now: () => new Date('2026-11-22T18:00:00Z'),
    ...overrides,
  });
  return { detector, log };
};


describe('SightengineDetector', () => {
  it('uploads the bytes as multipart media with models=genai and the credentials, and returns the verdict', async () => {
    const { detector } = detectorWith();
    const verdict = await detector.detect(PNG_1X1, 'image/png');
    expect(verdict).toEqual({
      aiGenerated: 0.97,
      generators: { dalle: 0.01, firefly: 0, flux: 0.02, gan: 0, gpt: 0.01, midjourney: 0.91, stable_diffusion: 0.02 },
      provider: 'sightengine',
      checkedAt: '2026-11-22T18:00:00.000Z',
      operations: 1,
    });
    expect(double.calls).toEqual([
      { apiUser: double.apiUser, models: 'genai', mediaSha256: sha256Hex(PNG_1X1), mediaType: 'image/png', mediaSize: PNG_1X1.length, hasUrlField: false },
    ]);
  });

  it('treats ai_generators as optional', async () => {
    double.script({ fixture: 'check-genai-success-minimal' });
    const verdict = await detectorWith().detector.detect(pngVariant(1), 'image/png');
    expect(verdict.aiGenerated).toBe(0.02);
    expect(verdict).not.toHaveProperty('generators');
  });

  it.each([
    ['usage_limit', { fixture: 'error-usage-limit' as const }, 'DETECTION_QUOTA_EXHAUSTED', 429],
    ['usage_limit with HTTP 429', { fixture: 'error-usage-limit' as const, httpStatus: 429 }, 'DETECTION_QUOTA_EXHAUSTED', 429],
    ['plan_error', { httpStatus: 200, body: JSON.stringify({ status: 'failure', error: { type: 'plan_error', code: 40, message: 'model not in plan' } }) }, 'DETECTION_QUOTA_EXHAUSTED', 429],
    ['media_error', { fixture: 'error-media' as const }, 'UNSUPPORTED_MEDIA', 422],
    ['media_error with HTTP 400', { fixture: 'error-media' as const, httpStatus: 400 }, 'UNSUPPORTED_MEDIA', 422],
    ['argument_error', { httpStatus: 400, body: JSON.stringify({ status: 'failure', error: { type: 'argument_error', code: 12 } }) }, 'UNSUPPORTED_MEDIA', 422],
    ['unknown_error', { httpStatus: 200, body: JSON.stringify({ status: 'failure', error: { type: 'unknown_error' } }) }, 'DETECTION_UNAVAILABLE', 502],
    ['api_error', { httpStatus: 200, body: JSON.stringify({ status: 'failure', error: { type: 'api_error' } }) }, 'DETECTION_UNAVAILABLE', 502],
    ['success without a verdict', { httpStatus: 200, body: JSON.stringify({ status: 'success', request: { operations: 1 } }) }, 'DETECTION_UNAVAILABLE', 502],
    ['success with an out-of-range score', { httpStatus: 200, body: JSON.stringify({ status: 'success', type: { ai_generated: 7 } }) }, 'DETECTION_UNAVAILABLE', 502],
    ['an empty 200', { httpStatus: 200, body: '' }, 'DETECTION_UNAVAILABLE', 502],
    ['HTML 200', { httpStatus: 200, body: '<html>maintenance</html>' }, 'DETECTION_UNAVAILABLE', 502],
  ])('%s → %s (%i), one call, no retry', async (_name, answer, code, status) => {
    double.script(answer);
    const retryLater = code === 'DETECTION_QUOTA_EXHAUSTED' ? { retryAfterSeconds: expect.toSatisfy((s: number) => s > 0) } : {};
    await expect(detectorWith().detector.detect(pngVariant(2), 'image/png')).rejects.toMatchObject({ code, httpStatus: status, ...retryLater });
    expect(double.calls).toHaveLength(1);
  });

  it('usage_limit asks to retry at the next UTC day; plan_error at the next month', async () => {
    double.script({ fixture: 'error-usage-limit' });
    await expect(detectorWith().detector.detect(PNG_1X1, 'image/png')).rejects.toMatchObject({ retryAfterSeconds: 6 * 3600 });
    double.script({ httpStatus: 200, body: JSON.stringify({ status: 'failure', error: { type: 'plan_error' } }) });
    await expect(detectorWith().detector.detect(PNG_1X1, 'image/png')).rejects.toMatchObject({ retryAfterSeconds: 8 * 86400 + 6 * 3600 });
  });

  it('rejected credentials → DETECTION_UNAVAILABLE, logged loudly at error level, never retried', async () => {
    const { detector, log } = detectorWith({ apiSecret: 'wrong-secret' });
    await expect(detector.detect(PNG_1X1, 'image/png')).rejects.toMatchObject({ code: 'DETECTION_UNAVAILABLE' });
    expect(double.calls).toHaveLength(1);
    const line = log.lines.find((entry) => entry.level === 'error');
    expect(line?.msg).toMatch(/CREDENTIALS REJECTED/);
    expect(JSON.stringify(log.lines)).not.toContain('wrong-secret');
  });

  it('retries 5xx and network errors, then answers', async () => {
    double.script({ httpStatus: 503, body: 'busy' }, { drop: true }, { fixture: 'check-genai-success' });
    const verdict = await detectorWith().detector.detect(PNG_1X1, 'image/png');
    expect(verdict.aiGenerated).toBe(0.97);
    expect(double.calls).toHaveLength(3);
  });

  it('gives up after the bounded retries with DETECTION_UNAVAILABLE', async () => {
    double.setDefault({ httpStatus: 502, body: JSON.stringify(sightengineFixture('check-genai-success')) });
    await expect(detectorWith({ retries: 2 }).detector.detect(PNG_1X1, 'image/png')).rejects.toMatchObject({ code: 'DETECTION_UNAVAILABLE' });
    expect(double.calls).toHaveLength(3);
  });

  it('times out each attempt: the client abandons every call the double holds, and the cause is the timeout', async () => {
    // The double would answer after a minute: only the detector's own per-attempt timeout ends this test.
    double.setDelay(60_000);
    const abandonedBefore = double.abandoned();
    const error: unknown = await detectorWith({ timeoutMs: 100, retries: 1 }).detector.detect(PNG_1X1, 'image/png').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DETECTION_UNAVAILABLE', cause: { cause: { name: 'TimeoutError' } } });
    expect(double.calls).toHaveLength(2);
    await expect.poll(() => double.abandoned() - abandonedBefore).toBe(2);
  });

  it('reads account.json loosely', async () => {
    const account = await detectorWith().detector.account();
    expect(account.numbers).toEqual({ 'usage.operations.used': 12, 'usage.operations.limit': 500 });
  });
});

describe('LocalDetector', () => {
  it('answers deterministically from the hash, costing nothing', async () => {
    const detector = new LocalDetector();
    const a = await detector.detect(pngVariant('a'));
    const again = await detector.detect(pngVariant('a'));
    const b = await detector.detect(pngVariant('b'));
    expect(a.provider).toBe('local');
    expect(a.operations).toBe(0);
    expect(again.aiGenerated).toBe(a.aiGenerated);
    expect(a.aiGenerated).toBeGreaterThanOrEqual(0);
    expect(a.aiGenerated).toBeLessThanOrEqual(1);
    // different bytes, different (fixed) verdicts for these two inputs
    expect(b.aiGenerated).not.toBe(a.aiGenerated);
  });

  it('is chosen without credentials outside production, never in production', () => {
    const log = recordingLog();
    const base = { apiUser: undefined, apiSecret: undefined, baseUrl: 'https://api.sightengine.com' };
    expect(detectorFor({ isProduction: false, sightengine: base }, log).provider).toBe('local');
    expect(() => detectorFor({ isProduction: true, sightengine: base }, log)).toThrow(/required in production/);
    expect(detectorFor({ isProduction: true, sightengine: { ...base, apiUser: 'u', apiSecret: 's' } }, log).provider).toBe('sightengine');
  });
});
