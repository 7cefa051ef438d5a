import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/** The test settings every package shares; each package's vitest.config.ts re-exports this. */
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most test time waits on sockets, spawned processes and timers rather than the CPU; vitest's
    // default (cores - 1) runs the files one at a time on a 2-core machine.
    maxWorkers: Math.max(4, availableParallelism()),
    // CI sets VITEST_JSON_REPORT so `.ci/check-reports.mjs` can prove nothing was skipped by accident.
    reporters: process.env.VITEST_JSON_REPORT ? ['default', ['json', { outputFile: '.vitest-report.json' }]] : ['default'],
  },
});
