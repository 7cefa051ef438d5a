import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The payload fixtures, inside the repository (see fixtures/README.md for where they come from). */
const FIXTURES = new URL('./fixtures/', import.meta.url);

/**
 * Reads and parses one fixture file (path relative to `fixtures/`). A missing or broken file throws
 * an error naming the file and the folder, so a double that needs it fails at start with a message
 * instead of failing later inside a request handler.
 */
export function readFixture<T = Record<string, unknown>>(relativePath: string): T {
  const url = new URL(relativePath, FIXTURES);
  let text: string;
  try {
    text = readFileSync(url, 'utf8');
  } catch (error) {
    throw new Error(
      `test fixture ${relativePath} cannot be read at ${fileURLToPath(url)} (${(error as Error).message}); ` +
        'the fixtures live in apps/server/src/testing/fixtures/ (see its README)',
      { cause: error },
    );
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`test fixture ${fileURLToPath(url)} is not valid JSON (${(error as Error).message})`, { cause: error });
  }
}
