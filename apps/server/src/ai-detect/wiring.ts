import type { Config } from '../config.js';
import type { LogPort } from '../logger.js';
import type { Store } from '../store/ports.js';
import type { AiDetection } from './ports.js';
import { createAiDetection, type AiDetectionDeps } from './service.js';
import { detectorFor } from './sightengine.js';

/**
 * Builds the AI detection service from the config: Sightengine with credentials (the local detector
 * otherwise, never in production); usage is recorded in billing's ledger.
 */
export function wireAiDetection(
  config: Config,
  store: Store,
  billing: Pick<AiDetectionDeps, 'catalog' | 'subscriptions' | 'usage'>,
  log: LogPort,
  overrides: Partial<Pick<AiDetectionDeps, 'detector' | 'fetch' | 'now' | 'keyLeaseMs' | 'admissionDeadlineMs'>> = {},
): AiDetection {
  return createAiDetection({
    store,
    detector: overrides.detector ?? detectorFor(config, log),
    catalog: billing.catalog,
    subscriptions: billing.subscriptions,
    usage: billing.usage,
    config: config.aiDetect,
    log,
    ...(overrides.fetch ? { fetch: overrides.fetch } : {}),
    ...(overrides.now ? { now: overrides.now } : {}),
    ...(overrides.keyLeaseMs === undefined ? {} : { keyLeaseMs: overrides.keyLeaseMs }),
    ...(overrides.admissionDeadlineMs === undefined ? {} : { admissionDeadlineMs: overrides.admissionDeadlineMs }),
  });
}
