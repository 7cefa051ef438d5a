import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';

export type Logger = PinoLogger;

/** The minimum every port may log through; kept free of pino's types so it can sit in the tRPC context. */
export interface LogPort {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const REDACTED = '[REDACTED]';

/** Header paths are redacted by name; configured secret values are scrubbed wherever they occur. */
const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["stripe-signature"]',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["stripe-signature"]',
  'authorization',
  'cookie',
  'stripeSignature',
  'apiKey',
  'secret',
  'password',
  'token',
  '*.authorization',
  '*.cookie',
  '*.secret',
  '*.password',
  '*.token',
];

export interface LoggerOptions {
  level: string;
  pretty: boolean;
  secrets: readonly string[];
  /** Where lines go; defaults to stdout. Tests pass a capturing stream. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const secrets = [...new Set(options.secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  const scrub = (line: string) => {
    let out = line;
    for (const secret of secrets) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
      // Secrets also appear JSON-escaped (e.g. PEM newlines) inside serialized lines.
      const escaped = JSON.stringify(secret).slice(1, -1);
      if (escaped !== secret && out.includes(escaped)) out = out.split(escaped).join(REDACTED);
    }
    return out;
  };
  const destination =
    options.destination ?? (options.pretty ? pretty({ sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l' }) : pino.destination({ sync: false }));
  return pino(
    {
      level: options.level,
      base: undefined,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
      hooks: secrets.length ? { streamWrite: scrub } : {},
    },
    destination,
  );
}
