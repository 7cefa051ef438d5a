import type { Config } from '../config.js';
import { catalogGetCommand, catalogPutCommand, catalogTemplateCommand, catalogValidateCommand } from './catalog.js';
import { migrateCommand } from './migrate.js';
import { sightengineUsageCommand } from './sightengine.js';
import { stripeCatalogSyncCommand, stripeTestCommand } from './stripe.js';
import type { CliCommand, CliIo } from './types.js';
import { webhooksListCommand, webhooksReplayCommand } from './webhooks.js';

/** Every operator command. Add a module and list it here. */
export const commands: CliCommand[] = [
  migrateCommand,
  catalogTemplateCommand,
  catalogValidateCommand,
  catalogPutCommand,
  catalogGetCommand,
  stripeCatalogSyncCommand,
  stripeTestCommand,
  sightengineUsageCommand,
  webhooksListCommand,
  webhooksReplayCommand,
];

export function usage(): string {
  const width = Math.max(...commands.map((c) => c.usage.length));
  return ['usage: pnpm billing <command>', '', ...commands.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`)].join('\n');
}

/** Picks the command whose words match the longest prefix of argv. */
export async function runCli(argv: string[], config: Config, io: CliIo): Promise<number> {
  const match = commands
    .filter((c) => c.words.every((word, i) => argv[i] === word))
    .sort((a, b) => b.words.length - a.words.length)[0];
  if (!match) {
    (argv.length ? io.err : io.out)(usage());
    return argv.length && argv[0] !== 'help' && argv[0] !== '--help' ? 2 : 0;
  }
  return match.run({ argv: argv.slice(match.words.length), config, io });
}
