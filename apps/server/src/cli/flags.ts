import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../config.js';

export class CliUsageError extends Error {}

/** A usage error's exit: the message and the command's usage on stderr, exit code 2. Anything else is rethrown. */
export function usageError(io: { err(line: string): void }, error: unknown, usage: string): number {
  if (!(error instanceof CliUsageError)) throw error;
  io.err(`${error.message} (usage: pnpm billing ${usage})`);
  return 2;
}

/** A path from the command line, resolved from the folder the user ran the command in. */
export function userPath(io: { cwd?: string | undefined }, path: string): string {
  return resolve(io.cwd ?? process.cwd(), path);
}

/** Parses `--name value` / `--flag` options; unknown options and stray words are usage errors. */
export function parseFlags<S extends string, B extends string>(argv: string[], spec: { strings?: readonly S[]; booleans?: readonly B[] }) {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const name of spec.strings ?? []) options[name] = { type: 'string' };
  for (const name of spec.booleans ?? []) options[name] = { type: 'boolean' };
  refuseSecretsInArguments(argv);
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    if (positionals.length) throw new CliUsageError(`unexpected argument: ${positionals[0]}`);
    return values as { [K in S]?: string } & { [K in B]?: boolean };
  } catch (error) {
    if (error instanceof CliUsageError) throw error;
    throw new CliUsageError((error as Error).message);
  }
}

/** Keys on a command line end up in shell history and `ps`: refuse them outright. */
function refuseSecretsInArguments(argv: string[]) {
  if (argv.some((arg) => /(^|=)(sk|rk)_(test|live)_|(^|=)whsec_/.test(arg)))
    throw new CliUsageError('secrets are never accepted as arguments: set STRIPE_SECRET_KEY in the environment or use --secret-file PATH');
}

/**
 * The Stripe secret for an operator command: `--secret-file PATH` (first line) or STRIPE_SECRET_KEY.
 * A live key is refused outside NODE_ENV=production unless `--live` is given.
 */
export function stripeSecret(config: Config, flags: { 'secret-file'?: string | undefined; live?: boolean | undefined }, io: { cwd?: string | undefined } = {}): string {
  let key: string | undefined;
  if (flags['secret-file']) {
    try {
      key = readFileSync(userPath(io, flags['secret-file']), 'utf8').split(/\r?\n/)[0]?.trim();
    } catch (error) {
      throw new CliUsageError(`cannot read --secret-file ${flags['secret-file']}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (!key) throw new CliUsageError(`--secret-file ${flags['secret-file']} is empty`);
  } else {
    key = config.stripe.secretKey;
    if (!key) throw new CliUsageError('no Stripe key: set STRIPE_SECRET_KEY or pass --secret-file PATH');
  }
  if (key.startsWith('pk_')) throw new CliUsageError('that is a publishable key (pk_…); operator commands need a secret (sk_…) or restricted (rk_…) key');
  if (!/^(sk|rk)_(test|live)_\S+$/.test(key)) throw new CliUsageError('the Stripe key must start with sk_test_, sk_live_, rk_test_ or rk_live_');
  if (/^(sk|rk)_live_/.test(key) && !config.isProduction && !flags.live)
    throw new CliUsageError('a live key is refused outside NODE_ENV=production; pass --live if you really mean to change live mode');
  return key;
}
