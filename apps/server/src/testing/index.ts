/** What other workspace packages' tests take from the server's harness, through @verifieddit/testing. */
export { AppError } from '../errors.js';
export { useWiredApp } from './fixtures.js';
export { fakeServices, startApp } from './harness.js';
export { PNG_1X1 } from './images.js';
export { pngVariant } from './images.js';
export { startSightengineDouble, type SightengineDouble } from './sightengine-double.js';
