import type { Store } from '../store/ports.js';
import type { Rows } from '../store/rows.js';

type CustomerRow = Rows['customers'];

/** One provider customer per account; concurrent callers converge on the first one stored. */
export class CustomerRepository {
  constructor(private readonly store: Store) {}

  async get(accountId: string): Promise<{ provider: string; customerId: string } | undefined> {
    const [row] = await this.store.query<Pick<CustomerRow, 'provider' | 'provider_customer_id'>>(
      'SELECT provider, provider_customer_id FROM customers WHERE account_id = $1',
      [accountId],
    );
    return row ? { provider: row.provider, customerId: row.provider_customer_id } : undefined;
  }

  /**
   * The customer usage is billed to: the checkout mapping, else the customer on the account's
   * subscription (subscriptions made in the Dashboard, migrated, or whose checkout completion is
   * late or lost reach us only through subscription events).
   */
  async billingCustomerOf(accountId: string): Promise<string | undefined> {
    const [row] = await this.store.query<{ customer_id: string | null }>(
      `SELECT coalesce((SELECT provider_customer_id FROM customers WHERE account_id = $1),
                       (SELECT provider_customer_id FROM subscriptions WHERE account_id = $1)) AS customer_id`,
      [accountId],
    );
    return row?.customer_id ?? undefined;
  }

  async findAccountByCustomer(customerId: string): Promise<string | undefined> {
    const [row] = await this.store.query<Pick<CustomerRow, 'account_id'>>('SELECT account_id FROM customers WHERE provider_customer_id = $1', [customerId]);
    return row?.account_id;
  }

  /** Stores the mapping unless one exists; returns the mapping that won. */
  async claim(accountId: string, provider: string, customerId: string): Promise<string> {
    await this.store.query('INSERT INTO customers (account_id, provider, provider_customer_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      accountId,
      provider,
      customerId,
    ]);
    const stored = await this.get(accountId);
    if (!stored) throw new Error(`customer mapping for ${accountId} vanished`);
    return stored.customerId;
  }
}
