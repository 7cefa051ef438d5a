import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import type { AiDetectionSettings } from '../ai-detect/ports.js';
import type { AiDetectionDeps } from '../ai-detect/service.js';
import { SightengineDetector } from '../ai-detect/sightengine.js';
import type { UsageMeter } from '../billing/ports.js';
import { createUsageOutbox, ledgerOnlyMeter } from '../billing/usage/outbox.js';
import type { Store } from '../store/ports.js';
import { detectionServiceOver } from './detection-service.js';
import { pngVariant } from './images.js';
import { recordingLog } from './log-recorder.js';
import { startSightengineDouble, type SightengineDouble } from './sightengine-double.js';

/** The AI detection service's tests: the service over a store, a Sightengine double, an image server. */

export const b64 = (bytes: Buffer) => bytes.toString('base64');
let seq = 0;
/** A fresh month per test keeps the global budget and quotas of tests apart on one store. */
export const monthClock = (startIso?: string) => {
  const month = seq++;
  let current = startIso ? new Date(startIso).getTime() : Date.UTC(2030 + Math.floor(month / 12), month % 12, 10, 12);
  return { now: () => new Date(current), advance: (ms: number) => void (current += ms) };
};

const settings = (overrides: Partial<AiDetectionSettings> = {}): AiDetectionSettings => ({
  monthlyBudget: 500,
  cacheTtlSeconds: undefined,
  ratePerMinute: 10,
  rateBurst: 5,
  fetchAllowLoopback: true,
  ...overrides,
});

/**
 * A Sightengine double (reset before each test) and an image server on 127.0.0.1 (/img/… is a PNG,
 * anything else HTML) for the enclosing file; `s.double` and `s.imageBase` are set in beforeAll.
 */
export function useDetectionDoubles() {
  const s = {} as { double: SightengineDouble; imageBase: string };
  let imageServer: http.Server;
  beforeAll(async () => {
    s.double = await startSightengineDouble();
    imageServer = http.createServer((req, res) => {
      if (req.url?.startsWith('/img/')) res.end(pngVariant(`url:${req.url}`));
      else res.end('<html>not an image</html>');
    });
    await new Promise<void>((resolve) => imageServer.listen(0, '127.0.0.1', resolve));
    s.imageBase = `http://127.0.0.1:${(imageServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await s.double.close();
    imageServer.closeAllConnections();
    await new Promise((resolve) => imageServer.close(resolve));
  });
  beforeEach(() => {
    s.double.calls.length = 0;
    s.double.setDelay(0);
    s.double.setDefault({ fixture: 'check-genai-success' });
  });

  function serviceOn(
    store: Store,
    options: { config?: Partial<AiDetectionSettings>; now?: () => Date; meter?: UsageMeter; customers?: { billingCustomerOf(id: string): Promise<string | undefined> } } & Omit<
      Partial<AiDetectionDeps>,
      'config'
    > = {},
  ) {
    const log = recordingLog();
    const detector =
      options.detector ??
      new SightengineDetector({ apiUser: s.double.apiUser, apiSecret: s.double.apiSecret, baseUrl: s.double.baseUrl, log, retries: 1, retryDelayMs: 1 });
    const { config, meter, customers, ...rest } = options;
    const service = detectionServiceOver(store, { detector, log, ...rest, config: settings(config) });
    const outbox = createUsageOutbox({ store, meter: meter ?? ledgerOnlyMeter, log, customerOf: async (id) => customers?.billingCustomerOf(id) });
    return Object.assign(service, { outbox });
  }

  const check = (service: ReturnType<typeof serviceOn>, userId: string, image: Buffer, requestId = 'req_test') =>
    service.check({ userId, requestId, input: { image: b64(image), mimeType: 'image/png' } });

  return Object.assign(s, { serviceOn, check });
}
