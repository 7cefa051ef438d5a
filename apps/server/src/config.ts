import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { z } from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { configSchema, envSchema } from './config/schema.js';
import { FILE_SECRET_NAMES, withFileSecrets } from './config/secrets.js';

/**
 * The one place that reads process.env. Everything else receives a typed `Config`, the output of the
 * zod schema in config/schema.ts. A bad environment fails at boot with every bad variable named, never
 * later at the first request.
 */
export type Config = z.output<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Every variable the server reads; `turbo.json` and `.env.example` must list each (a test checks). */
export const CONFIG_VARIABLES: readonly string[] = [...Object.keys(envSchema.shape), ...FILE_SECRET_NAMES.map((name) => `${name}_FILE`)];

/**
 * zod/mini sets no language (classic zod makes English the default on first use): zod's own messages
 * (`Too big: expected number to be <=65535`) in English, for this parse.
 */
const english = en().localeError;

export function loadConfig(rawEnv: Record<string, string | undefined> = process.env): Config {
  const { env, problems } = withFileSecrets(rawEnv);
  if (problems.length) throw new ConfigError(problems);
  const parsed = configSchema.safeParse(env, { error: english });
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      const [variable, ...rest] = issue.path;
      // Rules across variables carry no path; their message names the variables.
      if (variable === undefined) return issue.message;
      const where = rest.length ? ` (entry ${rest.map((part) => (typeof part === 'number' ? part + 1 : String(part))).join('.')})` : '';
      return `${String(variable)}: ${issue.message}${where}`;
    }),
  );
}

/**
 * The folder the user typed a command in. pnpm runs a package's scripts in the package folder and
 * passes the user's folder as INIT_CWD; run directly (node, the bundle), it is the working directory.
 */
export function invocationDir(env: Record<string, string | undefined> = process.env): string {
  return env.INIT_CWD || process.cwd();
}

/**
 * Development convenience: read `.env` files, never in production. The package's own `.env` (the folder
 * the server runs in) first, then the workspace root's, where a newcomer puts it; the real environment
 * wins over both, and the nearer file over the root one (Node's loader never overwrites a set variable).
 * Returns the files read, for the start banner.
 */
export function loadDotEnvIfDevelopment(cwd = process.cwd()): string[] {
  if (process.env.NODE_ENV === 'production') return [];
  const files = [join(cwd, '.env')];
  const root = workspaceRoot(cwd);
  if (root && resolve(root) !== resolve(cwd)) files.push(join(root, '.env'));
  const loaded = files.filter((file) => existsSync(file));
  for (const file of loaded) process.loadEnvFile(file);
  return loaded.map((file) => relative(root ?? cwd, file) || file);
}

/** The nearest folder at or above `from` holding `pnpm-workspace.yaml`. */
function workspaceRoot(from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}
