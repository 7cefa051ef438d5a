import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

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
  secrets: readonly string[];
  /** Where lines go; defaults to JSON on stdout. Development passes `prettyDestination()`; tests a capturing stream. */
  destination?: DestinationStream;
}

/**
 * Human-readable lines on stdout (development). pino-pretty is loaded only here: a production cold
 * start (JSON logs) does not compile it before it can listen.
 */
export async function prettyDestination(): Promise<DestinationStream> {
  const { default: pretty } = await import('pino-pretty');
  return pretty({ sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l' });
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
  const destination = options.destination ?? pino.destination({ sync: false });
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
