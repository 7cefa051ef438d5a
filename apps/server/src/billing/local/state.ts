import { randomBytes } from 'node:crypto';
import { and, count, eq } from 'drizzle-orm';
import { localCheckoutPayments, settings } from '../../store/schema.js';
import type { Store } from '../../store/ports.js';

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
    this.key ??= (async () => {
      // The first writer wins; everyone (including a concurrent first writer) reads the winner.
      await this.store.db
        .insert(settings)
        .values({ key: LINK_KEY, value: randomBytes(32).toString('base64url') })
        .onConflictDoNothing({ target: settings.key });
      const [row] = await this.store.db.select({ value: settings.value }).from(settings).where(eq(settings.key, LINK_KEY));
      if (!row) throw new Error('local billing link key missing after insert');
      return row.value;
    })().catch((error: unknown) => {
      this.key = undefined; // a store blip must not poison every later link
      throw error;
    });
    return this.key;
  }

  /** Records a payment; false when this session was already paid (a replayed Pay link). */
  async markPaid(sessionId: string, accountId: string): Promise<boolean> {
    const inserted = await this.store.db
      .insert(localCheckoutPayments)
      .values({ sessionId, accountId })
      .onConflictDoNothing({ target: localCheckoutPayments.sessionId })
      .returning({ sessionId: localCheckoutPayments.sessionId });
    return inserted.length === 1;
  }

  async isPaid(sessionId: string): Promise<boolean> {
    const rows = await this.store.db.select({ sessionId: localCheckoutPayments.sessionId }).from(localCheckoutPayments).where(eq(localCheckoutPayments.sessionId, sessionId));
    return rows.length > 0;
  }

  /** Undoes markPaid when applying the payment failed, so the link can be used again. */
  async unmarkPaid(sessionId: string, accountId: string): Promise<void> {
    await this.store.db
      .delete(localCheckoutPayments)
      .where(and(eq(localCheckoutPayments.sessionId, sessionId), eq(localCheckoutPayments.accountId, accountId)));
  }

  /** How many checkouts this account has paid: part of a new session's identity (see the provider). */
  async paidCount(accountId: string): Promise<number> {
    const [row] = await this.store.db.select({ n: count() }).from(localCheckoutPayments).where(eq(localCheckoutPayments.accountId, accountId));
    return row?.n ?? 0;
  }
}
