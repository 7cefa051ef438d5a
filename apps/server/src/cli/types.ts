import type { Config } from '../config.js';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /**
   * The folder the user ran the command in, where relative paths given on the command line resolve
   * (pnpm runs scripts in the package folder and passes the user's folder as INIT_CWD). Defaults to
   * the process's working directory.
   */
  cwd?: string;
}

/** One operator command: `pnpm billing <words…> [--flags]`. */
export interface CliCommand {
  /** The words that select it, e.g. ['webhooks', 'replay']. */
  words: string[];
  usage: string;
  summary: string;
  run(args: { argv: string[]; config: Config; io: CliIo }): Promise<number>;
}
