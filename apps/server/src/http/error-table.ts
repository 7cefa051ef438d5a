import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, ERROR_DESCRIPTIONS, ERROR_HTTP_STATUS } from '@verifieddit/contracts';

/** The generated table lives between these markers in docs/errors.md; the text around it is written by hand. */
export const TABLE_START = '<!-- error-table:start (generated from packages/contracts/src/error-codes.ts by `pnpm docs:errors`; do not edit) -->';
export const TABLE_END = '<!-- error-table:end -->';
export const ERRORS_DOC = fileURLToPath(new URL('../../../../docs/errors.md', import.meta.url));

/** Every code a client can get, by HTTP status, with what it means: straight from the contracts. */
export function renderErrorTable(): string {
  const rows = [...ERROR_CODES]
    .sort((a, b) => ERROR_HTTP_STATUS[a] - ERROR_HTTP_STATUS[b] || a.localeCompare(b))
    .map((code) => `| \`${code}\` | ${ERROR_HTTP_STATUS[code]} | ${ERROR_DESCRIPTIONS[code].replace(/\|/g, '\\|')} |`);
  return ['| code | HTTP | when |', '|---|---|---|', ...rows].join('\n');
}

/** The document with its table replaced by the current one. */
export function withCurrentTable(doc: string): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`docs/errors.md has no ${TABLE_START} … ${TABLE_END} markers`);
  return `${doc.slice(0, start + TABLE_START.length)}\n${renderErrorTable()}\n${doc.slice(end)}`;
}

// `pnpm docs:errors` rewrites the table in place.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = readFileSync(ERRORS_DOC, 'utf8');
  const next = withCurrentTable(current);
  if (next !== current) writeFileSync(ERRORS_DOC, next);
  process.stdout.write(next === current ? 'docs/errors.md is up to date\n' : 'docs/errors.md: error table rewritten\n');
}
