import { defineConfig } from 'vitest/config';

// CI sets VITEST_JSON_REPORT so `.ci/check-reports.mjs` can prove nothing was skipped by accident.
const reporters = process.env.VITEST_JSON_REPORT
  ? ['default', ['json', { outputFile: '.vitest-report.json' }] as [string, object]]
  : ['default'];

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters,
  },
});
