/**
 * A failure after which a prepared statement is made again: its result type changed (DDL, e.g. another
 * replica's migration), or it was deallocated. PostgreSQL raises both at Bind, before anything ran, so
 * running the statement again cannot apply anything twice.
 */
export function isStale(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '26000' || (code === '0A000' && /cached plan must not change result type/.test(String(message)));
}
