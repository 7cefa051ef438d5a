// Fails CI when a suite was skipped by accident: any skipped/todo test, a package that reported
// nothing, or PostgreSQL-backed tests that did not run although TEST_DATABASE_URL was set.
import { existsSync, readFileSync } from 'node:fs';

const packages = ['packages/contracts', 'apps/server', 'packages/client', 'apps/demo'];
let passed = 0, failed = 0, skipped = 0, postgres = 0, browser = 0;
const problems = [];
for (const pkg of packages) {
  const path = `${pkg}/.vitest-report.json`;
  if (!existsSync(path)) { problems.push(`${pkg}: no test report (did its tests run?)`); continue; }
  const report = JSON.parse(readFileSync(path, 'utf8'));
  passed += report.numPassedTests; failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  if (report.numTotalTests === 0) problems.push(`${pkg}: ran no test`);
  for (const file of report.testResults) {
    for (const test of file.assertionResults) {
      if (test.status !== 'passed' && test.status !== 'failed') problems.push(`${pkg}: ${test.status}: ${test.fullName}`);
      if (/postgres/i.test(test.fullName) && test.status === 'passed') postgres++;
      if (pkg === 'apps/demo' && /in Chromium/.test(test.fullName) && test.status === 'passed') browser++;
    }
  }
}
// The demo's browser test walks the whole flow in Chromium at two widths; it must have run, not skipped.
if (browser < 2) problems.push(`apps/demo: ${browser} browser flow test(s) passed, expected 2 (is chromium installed?)`);
if (process.env.TEST_DATABASE_URL && postgres === 0) problems.push('TEST_DATABASE_URL is set but no PostgreSQL test passed');
console.log(`PostgreSQL-backed tests passed: ${postgres}`);
for (const problem of problems) console.error(`check-reports: ${problem}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(problems.length || failed ? 1 : 0);
