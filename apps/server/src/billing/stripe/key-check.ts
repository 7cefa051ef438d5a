import type Stripe from 'stripe';

export interface KeyCheck {
  ok: boolean;
  /** From the key's prefix, confirmed by Stripe's `livemode` when the key works. */
  mode: 'test' | 'live';
  kind: 'secret' | 'restricted';
  /** The API version Stripe answered with (the pinned one we send). */
  apiVersion: string | null;
  /** Why it failed, without the key. */
  problem?: string;
}

/** Asks Stripe for the balance (any working secret key may read it) and reports what it learnt. */
export async function checkStripeKey(stripe: Stripe, key: string): Promise<KeyCheck> {
  const mode = /^(sk|rk)_live_/.test(key) ? 'live' : 'test';
  const kind = key.startsWith('rk_') ? 'restricted' : 'secret';
  try {
    const balance = await stripe.balance.retrieve();
    return { ok: true, mode: balance.livemode ? 'live' : 'test', kind, apiVersion: balance.lastResponse.apiVersion ?? null };
  } catch (error) {
    const e = error as { statusCode?: number; type?: string; message?: string; code?: string };
    const problem =
      e.statusCode === 401
        ? 'Stripe refused the key (401): it is wrong, revoked or rolled'
        : e.statusCode === 403
          ? 'the key works but may not read the balance (403): a restricted key without that permission'
          : `Stripe could not be reached or failed: ${e.statusCode ? `${e.statusCode} ` : ''}${e.type ?? ''} ${e.message ?? String(error)}`.trim();
    return { ok: e.statusCode === 403, mode, kind, apiVersion: null, problem: problem.replaceAll(key, '[key]') };
  }
}
