import type { Config } from '../config.js';
import { catalogGetCommand, catalogPutCommand, catalogTemplateCommand, catalogValidateCommand } from './catalog.js';
import { migrateCommand } from './migrate.js';
import { sightengineUsageCommand } from './sightengine.js';
import { stripeCatalogSyncCommand, stripeTestCommand } from './stripe.js';
import { CliUsageError } from './flags.js';
import type { CliCommand, CliIo } from './types.js';
import { webhooksListCommand, webhooksReplayCommand, webhooksTriggerCommand } from './webhooks.js';
import { stripeReconcileCommand, webhooksCatchUpCommand } from './recovery.js';

/** Every operator command. Add a module and list it here. */
const commands: CliCommand[] = [
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
  webhooksTriggerCommand,
  stripeReconcileCommand,
  webhooksCatchUpCommand,
];

function usage(): string {
  const width = Math.max(...commands.map((c) => c.usage.length));
  return ['usage: pnpm --silent billing <command> [--help]', '', ...commands.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`)].join('\n');
}

const isHelp = (arg: string | undefined) => arg === '--help' || arg === '-h' || arg === 'help';

/**
 * Picks the command whose words match the longest prefix of argv. Help goes to stdout with exit 0;
 * a usage error is one line on stderr with exit 2; other failures are the command's own (exit 1).
 */
export async function runCli(argv: string[], config: Config, io: CliIo): Promise<number> {
  if (!argv.length || (argv.length === 1 && isHelp(argv[0]))) {
    io.out(usage());
    return 0;
  }
  const match = commands
    .filter((c) => c.words.every((word, i) => argv[i] === word))
    .sort((a, b) => b.words.length - a.words.length)[0];
  if (!match) {
    const known = commands.filter((c) => c.words[0] === argv[0]).map((c) => c.words.join(' '));
    const hint = known.length ? `; did you mean ${known.map((k) => `\`${k}\``).join(' or ')}?` : '';
    io.err(`unknown command: ${argv.filter((a) => !a.startsWith('-')).join(' ')}${hint} (\`pnpm --silent billing --help\` lists them)`);
    return 2;
  }
  const rest = argv.slice(match.words.length);
  if (rest.some((arg) => arg === '--help' || arg === '-h')) {
    io.out(`usage: pnpm --silent billing ${match.usage}\n\n  ${match.summary}`);
    return 0;
  }
  try {
    return await match.run({ argv: rest, config, io });
  } catch (error) {
    if (!(error instanceof CliUsageError)) throw error;
    io.err(`${error.message} (usage: pnpm billing ${match.usage})`);
    return 2;
  }
}
