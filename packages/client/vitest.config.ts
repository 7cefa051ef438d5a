import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

export default mergeConfig(
  shared,
  defineConfig({
    // The server's stores cloned from templates migrated once per run, as in the server's own tests.
    test: { globalSetup: [fileURLToPath(import.meta.resolve('@verifieddit/testing/global-setup'))] },
  }),
);
