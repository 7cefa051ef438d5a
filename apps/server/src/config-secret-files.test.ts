import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';
import { FILE_SECRET_NAMES, type FileSecret } from './config/secrets.js';

/** Per secret: the variables it needs beside it, a valid value and an invalid one (never echoed back). */
const SAMPLES: Record<FileSecret, { beside?: Record<string, string>; valid: string; invalid: string }> = {
  DATABASE_URL: { valid: 'postgres://app:pw-from-file@db:5432/verifieddit', invalid: 'mysql://root:pw-in-a-bad-url@db' },
  STRIPE_SECRET_KEY: { valid: 'sk_test_fromAFile', invalid: 'pk_test_publishableInAFile' },
  STRIPE_WEBHOOK_SECRET: { valid: 'whsec_new,whsec_old', invalid: 'whsec_ok,sk_test_notASigningSecret' },
  CLERK_SECRET_KEY: { valid: 'sk_test_clerkFromAFile', invalid: 'pk_live_clerkPublishable' },
  CLERK_JWT_KEY: { valid: '-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----', invalid: 'not-a-pem-key' },
  // Any text is a Sightengine secret: a blank one (unset) is what can be wrong.
  SIGHTENGINE_API_SECRET: { beside: { SIGHTENGINE_API_USER: '12345' }, valid: 'se-secret-from-a-file', invalid: ' ' },
  METRICS_TOKEN: { valid: 'metrics-token-from-a-file-0123', invalid: 'short-token' },
  SUBSCRIPTION_EVENTS_SECRET: { beside: { SUBSCRIPTION_EVENTS_URL: 'https://hooks.example/events' }, valid: 'events-secret-from-a-file', invalid: 'too-short' },
};

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('secrets from files (<NAME>_FILE)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vd-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: 0o600 });
    return path;
  };

  it('reads each key from its file, dropping the trailing newline, and hands it to the log scrubber', () => {
    const config = loadConfig({
      NODE_ENV: 'production',
      DATABASE_URL_FILE: file('db', 'postgres://app:filed-db-password@db:5432/verifieddit\n'),
      STRIPE_SECRET_KEY_FILE: file('stripe', 'sk_live_51FromAFile\n'),
      STRIPE_WEBHOOK_SECRET_FILE: file('whsec', 'whsec_fileNew,whsec_fileOld\n'),
      CLERK_SECRET_KEY_FILE: file('clerk', 'sk_live_clerkFromFile'),
      CLERK_PUBLISHABLE_KEY: 'pk_live_Y2xlcms',
      SIGHTENGINE_API_USER: '12345',
      SIGHTENGINE_API_SECRET_FILE: file('se', 'se-secret-from-file\r\n'),
      METRICS_TOKEN_FILE: file('metrics', 'metrics-token-from-a-file-0123\n'),
    });
    expect(config.stripe.secretKey).toBe('sk_live_51FromAFile');
    expect(config.stripe.webhookSecrets).toEqual(['whsec_fileNew', 'whsec_fileOld']);
    expect(config.clerk.secretKey).toBe('sk_live_clerkFromFile');
    expect(config.sightengine.apiSecret).toBe('se-secret-from-file');
    expect(config.metricsToken).toBe('metrics-token-from-a-file-0123');
    expect(config.databaseUrl).toBe('postgres://app:filed-db-password@db:5432/verifieddit');
    expect(config.secrets).toEqual(
      expect.arrayContaining(['sk_live_51FromAFile', 'whsec_fileNew', 'sk_live_clerkFromFile', 'se-secret-from-file', 'metrics-token-from-a-file-0123', 'filed-db-password']),
    );
  });

  it.each(FILE_SECRET_NAMES)('%s: from a file it is the same config, and the same refusal, as from the environment', (name) => {
    const { beside = {}, valid, invalid } = SAMPLES[name];
    expect(loadConfig({ ...beside, [`${name}_FILE`]: file(`${name}-valid`, `${valid}\n`) })).toEqual(loadConfig({ ...beside, [name]: valid }));
    const refused = problemsOf({ ...beside, [`${name}_FILE`]: file(`${name}-invalid`, `${invalid}\n`) });
    expect(refused).not.toEqual([]);
    expect(refused).toEqual(problemsOf({ ...beside, [name]: invalid }));
    if (invalid.trim()) expect(refused.join('\n')).not.toContain(invalid.trim());
  });

  it('validates a key read from a file like one from the environment', () => {
    expect(() => loadConfig({ STRIPE_SECRET_KEY_FILE: file('pk', 'pk_test_wrongKind\n') })).toThrow(/STRIPE_SECRET_KEY: holds a publishable key/);
  });

  it('refuses a missing file and a variable set both ways, naming the path but never a value', () => {
    const both = file('both', 'sk_test_fromFile');
    try {
      loadConfig({ STRIPE_SECRET_KEY: 'sk_test_fromEnv', STRIPE_SECRET_KEY_FILE: both, METRICS_TOKEN_FILE: join(dir, 'absent') });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as ConfigError).message;
      expect((error as ConfigError).problems).toEqual([
        'STRIPE_SECRET_KEY_FILE: STRIPE_SECRET_KEY is set too; set one of them',
        `METRICS_TOKEN_FILE: cannot read ${join(dir, 'absent')} (ENOENT)`,
      ]);
      expect(message).not.toContain('sk_test_fromEnv');
      expect(message).not.toContain('sk_test_fromFile');
    }
  });
});
