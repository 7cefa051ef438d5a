/** The storage domain's ports: one PostgreSQL (PGlite or a pg pool) behind one interface. */

/** One connection held for a sequence of statements (needed for session-level advisory locks). */
export interface Session {
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  exec(text: string): Promise<void>;
}

export interface QueryOptions {
  /** A hot statement: parsed and planned once per connection (a named prepared statement), on PostgreSQL and PGlite alike. */
  prepared?: boolean;
}

export interface Store {
  readonly kind: 'pglite' | 'postgres';
  query<Row = Record<string, unknown>>(text: string, params?: unknown[], options?: QueryOptions): Promise<Row[]>;
  withSession<T>(fn: (session: Session) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  /** Connections of the pool (PostgreSQL only; PGlite is one in-process connection). */
  poolStats?(): PoolStats;
  close(): Promise<void>;
}

interface PoolStats {
  /** Most connections the pool opens. */
  max: number;
  /** Connections open now. */
  total: number;
  /** Connections checked out by a query or a session. */
  inUse: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

export interface ReadinessPort {
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
}
