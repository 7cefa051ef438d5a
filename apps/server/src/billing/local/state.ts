import { randomBytes } from 'node:crypto';
import type { Store } from '../../store/ports.js';
import type { Rows } from '../../store/rows.js';
import { settingOnce } from '../../store/settings.js';

const LINK_KEY = 'local_billing_link_key';

/**
 * What the local billing provider keeps in the store: the key its links are signed with, and which
 * Checkout sessions were paid.
 */
export class LocalBillingState {
  private key: Promise<string> | undefined;

  constructor(private readonly store: Store) {}

  /**
   * The link signing key: 32 random bytes, generated on first use and kept in `settings`, so links
   * survive restarts, every replica on the store agrees, and nobody can derive it from a path.
   */
  linkKey(): Promise<string> {
    this.key ??= settingOnce(this.store, LINK_KEY, () => randomBytes(32).toString('base64url')).catch((error: unknown) => {
      this.key = undefined; // a store blip must not poison every later link
      throw error;
    });
    return this.key;
  }

  /** Records a payment; false when this session was already paid (a replayed Pay link). */
  async markPaid(sessionId: string, accountId: string): Promise<boolean> {
    const inserted = await this.store.query<Pick<Rows['local_checkout_payments'], 'session_id'>>(
      'INSERT INTO local_checkout_payments (session_id, account_id) VALUES ($1, $2) ON CONFLICT (session_id) DO NOTHING RETURNING session_id',
      [sessionId, accountId],
    );
    return inserted.length === 1;
  }

  async isPaid(sessionId: string): Promise<boolean> {
    const rows = await this.store.query<Pick<Rows['local_checkout_payments'], 'session_id'>>(
      'SELECT session_id FROM local_checkout_payments WHERE session_id = $1',
      [sessionId],
    );
    return rows.length > 0;
  }

  /** Undoes markPaid when applying the payment failed, so the link can be used again. */
  async unmarkPaid(sessionId: string, accountId: string): Promise<void> {
    await this.store.query('DELETE FROM local_checkout_payments WHERE session_id = $1 AND account_id = $2', [sessionId, accountId]);
  }

  /** How many checkouts this account has paid: part of a new session's identity (see the provider). */
  async paidCount(accountId: string): Promise<number> {
    const [row] = await this.store.query<{ n: number }>('SELECT count(*)::int AS n FROM local_checkout_payments WHERE account_id = $1', [accountId]);
    return row?.n ?? 0;
  }
}
