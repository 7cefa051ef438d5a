import type { Config } from '../config.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** One operator command: `pnpm billing <words…> [--flags]`. */
export interface CliCommand {
  /** The words that select it, e.g. ['webhooks', 'replay']. */
  words: string[];
  usage: string;
  summary: string;
  run(args: { argv: string[]; config: Config; io: CliIo }): Promise<number>;
}
