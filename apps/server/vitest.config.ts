import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

export default mergeConfig(
  shared,
  defineConfig({
    // Contracts from their TypeScript source: unit tests need no build of the workspace packages.
    resolve: { conditions: ['@verifieddit/source'] },
    ssr: { resolve: { conditions: ['@verifieddit/source'] } },
    test: { globalSetup: ['src/testing/global-setup.ts'] },
  }),
);
