import type { LogPort } from '../logger.js';

export interface RecordedLog {
  level: 'debug' | 'info' | 'warn' | 'error';
  obj: object;
  msg: string | undefined;
}

/** A LogPort that keeps every line, for asserting what was logged. */
export function recordingLog(): LogPort & { lines: RecordedLog[] } {
  const lines: RecordedLog[] = [];
  const at = (level: RecordedLog['level']) => (obj: object, msg?: string) => void lines.push({ level, obj, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
