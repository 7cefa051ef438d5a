import { readFileSync } from 'node:fs';

/**
 * Variables that may instead be read from a file named by `<NAME>_FILE` (Docker/Kubernetes secrets,
 * Scaleway secret mounts), so a key never has to sit in the process environment of a shell, and what
 * of each value the log scrubber hides: all of it, the password of a URL, or nothing (a public key).
 */
const FILE_SECRETS = {
  DATABASE_URL: 'password',
  STRIPE_SECRET_KEY: 'value',
  STRIPE_WEBHOOK_SECRET: 'value',
  CLERK_SECRET_KEY: 'value',
  CLERK_JWT_KEY: 'none',
  SIGHTENGINE_API_SECRET: 'value',
  METRICS_TOKEN: 'value',
  SUBSCRIPTION_EVENTS_SECRET: 'value',
} as const;
export type FileSecret = keyof typeof FILE_SECRETS;

export const FILE_SECRET_NAMES = Object.keys(FILE_SECRETS) as FileSecret[];

/**
 * The environment with every `<NAME>_FILE` replaced by the file's content (one trailing newline
 * dropped), before validation, so a filed value is checked exactly like one set directly. Problems
 * name the variable and the path, never a value.
 */
export function withFileSecrets(env: Record<string, string | undefined>): { env: Record<string, string | undefined>; problems: string[] } {
  const resolved = { ...env };
  const problems: string[] = [];
  for (const name of FILE_SECRET_NAMES) {
    const path = env[`${name}_FILE`]?.trim();
    if (!path) continue;
    if (env[name]?.trim()) {
      problems.push(`${name}_FILE: ${name} is set too; set one of them`);
      continue;
    }
    try {
      resolved[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.push(`${name}_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return { env: resolved, problems };
}

/** Every secret value in a parsed environment, for the log scrubber (values under 4 characters would scrub noise). */
export function secretValues(env: { [K in FileSecret]?: string | string[] | undefined }): string[] {
  return FILE_SECRET_NAMES.flatMap((name) => {
    const value = env[name];
    if (value === undefined || FILE_SECRETS[name] === 'none') return [];
    if (FILE_SECRETS[name] === 'password') return typeof value === 'string' ? [passwordOf(value)] : [];
    return Array.isArray(value) ? value : [value];
  }).filter((value): value is string => typeof value === 'string' && value.length >= 4);
}

function passwordOf(url: string): string | undefined {
  try {
    const password = new URL(url).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}
