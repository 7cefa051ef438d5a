import { readFileSync } from 'node:fs';
import { ERROR_CODES, ERROR_HTTP_STATUS } from '@verifieddit/contracts';
import { describe, expect, it } from 'vitest';
import { ERRORS_DOC, renderErrorTable, withCurrentTable } from './error-table.js';

describe('the error table in docs/errors.md', () => {
  it('is the one the contracts generate (run `pnpm docs:errors` after adding or changing a code)', () => {
    const doc = readFileSync(ERRORS_DOC, 'utf8');
    expect(withCurrentTable(doc), 'docs/errors.md is stale: run `pnpm docs:errors`').toBe(doc);
  });

  it('lists every code with its HTTP status', () => {
    const table = renderErrorTable();
    for (const code of ERROR_CODES) expect(table).toContain(`| \`${code}\` | ${ERROR_HTTP_STATUS[code]} |`);
    expect(table.split('\n')).toHaveLength(ERROR_CODES.length + 2);
  });

  it('is linked from the README', () => {
    expect(readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8')).toContain('docs/errors.md');
  });
});
