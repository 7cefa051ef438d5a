import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG } from '../billing/catalog.js';
import { loadConfig } from '../config.js';
import { runCliCaptured } from '../testing/cli.js';

const repoRoot = fileURLToPath(new URL('../../../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vd-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * `pnpm --silent billing …` exactly as a user types it, from a folder of their own (here a temp
 * folder, so `--dir` names the checkout). Clean environment: PATH, HOME and a data folder only.
 */
function billing(args: string[], cwd = dir): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('pnpm', ['--dir', repoRoot, '--silent', 'billing', ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, NODE_ENV: 'development', DATA_DIR: join(dir, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('pnpm --silent billing, as a user runs it', () => {
  // Each run starts a real process through pnpm and tsx (seconds each), so three runs cover the three behaviours.
  it('resolves relative paths from the folder the command was typed in', async () => {
    const here = join(dir, 'work');
    mkdirSync(here);
    writeFileSync(join(here, 'catalog.json'), JSON.stringify(DEFAULT_CATALOG));
    const ok = await billing(['catalog', 'validate', '--file', 'catalog.json'], here);
    expect(ok).toMatchObject({ code: 0, err: '' });
    expect(ok.out).toContain('catalog.json: valid');
  }, 90_000);

  it('prints help on stdout with exit 0', async () => {
    const help = await billing(['--help']);
    expect(help).toMatchObject({ code: 0, err: '' });
    expect(help.out).toContain('usage: pnpm --silent billing <command>');
    expect(help.out).toContain('catalog validate --file F');
  }, 90_000);

  it('answers a usage error with exit 2 and one line on stderr, with no pnpm noise', async () => {
    const missing = await billing(['catalog', 'validate', '--file', 'nope.json']);
    expect(missing).toMatchObject({ code: 2, out: '' });
    expect(missing.err).toBe(`cannot read ${join(dir, 'nope.json')}: ENOENT\n`);
  }, 90_000);
});

describe('billing CLI help and usage errors', () => {
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: join(dir, 'data') });
  const run = (...argv: string[]) => runCliCaptured(argv, config, { cwd: dir });

  it.each([[], ['--help'], ['-h'], ['help']])('prints the command list on stdout for %j', async (...argv) => {
    const result = await run(...argv);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toContain('webhooks replay <eventId> | --failed');
  });

  it('prints one command\'s usage on stdout for <command> --help, without running it', async () => {
    const result = await run('catalog', 'put', '--help');
    expect(result).toEqual({ code: 0, err: '', out: expect.stringContaining('usage: pnpm --silent billing catalog put --file F') });
  });

  it.each([
    [['bogus'], 'unknown command: bogus'],
    [['catalog'], 'did you mean `catalog template`'],
    [['catalog', 'validate', '--nope'], "Unknown option '--nope'"],
    [['webhooks', 'list'], 'give exactly one of --failed, --unmapped or --invalid'],
    [['webhooks', 'replay'], 'give one event id, or --failed'],
  ])('answers the usage error %j with exit 2 and one line on stderr', async (argv, message) => {
    const result = await run(...argv);
    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    expect(result.err.split('\n')).toHaveLength(1);
    expect(result.err).toContain(message);
  });
});
