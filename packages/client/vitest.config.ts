import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // CI sets VITEST_JSON_REPORT so `.ci/check-reports.mjs` can prove nothing was skipped by accident.
    reporters: process.env.VITEST_JSON_REPORT ? ['default', ['json', { outputFile: '.vitest-report.json' }]] : ['default'],
  },
});
