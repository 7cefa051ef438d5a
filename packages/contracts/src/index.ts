export * from './ai-detect.js';
export * from './billing.js';
export * from './catalog.js';
export * from './errors.js';
export * from './health.js';
