import type { Plan } from '@verifieddit/contracts';
import express, { type Request, type Response, type Router } from 'express';
import { AppError } from '../../errors.js';
import { sendError } from '../../http/errors.js';
import { normalizeStatus, TERMINAL_STATUSES, type CatalogPort, type SubscriptionUpdate } from '../ports.js';
import type { CustomerRepository } from '../customers.js';
import type { SubscriptionRepository } from '../subscriptions.js';
import { localId, localSessionId, type LocalLinkKind, type LocalTokenCodec } from './provider.js';
import type { LocalBillingState } from './state.js';

const escapeHtml = (value: string) =>
  value.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)} · verifieddit (local billing)</title>
<style>body{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#111}
.card{border:1px solid #ddd;border-radius:12px;padding:1.5rem}.muted{color:#666;font-size:.9rem}
button{font:inherit;padding:.6rem 1.2rem;border-radius:8px;border:1px solid #999;cursor:pointer;margin-right:.5rem}
button.primary{background:#111;color:#fff;border-color:#111}</style></head>
<body><p class="muted">Local billing provider — no money moves. Set STRIPE_SECRET_KEY to use Stripe.</p>
<div class="card">${body}</div></body></html>`;

const formatPrice = (plan: Plan | undefined) => {
  const price = plan?.prices[0];
  return price ? `${(price.amount / 100).toFixed(2)} ${price.currency.toUpperCase()} / ${price.interval}` : 'custom price';
};

const PERIOD_DAYS: Record<string, number> = { day: 1, week: 7, month: 30, year: 365 };

export interface LocalPagesDeps {
  codec: LocalTokenCodec;
  state: LocalBillingState;
  catalog: CatalogPort;
  subscriptions: SubscriptionRepository;
  customers: CustomerRepository;
  now?: () => number;
}

/**
 * The local Checkout and Portal pages. Paying or cancelling builds the same provider-neutral
 * SubscriptionUpdate a Stripe webhook produces and applies it through SubscriptionRepository.apply.
 */
/**
 * A refusal in the documented error shape (code, message, request id): as a small page for a browser,
 * as JSON for a client that asks for it.
 */
function refuse(req: Request, res: Response, error: AppError): void {
  if (req.accepts(['html', 'json']) === 'json') return sendError(res, req.id, error);
  res
    .status(error.httpStatus)
    .type('html')
    .send(page(error.message, `<h1>${escapeHtml(error.message)}</h1>\n<p class="muted">${escapeHtml(error.code)} · request ${escapeHtml(req.id)}</p>`));
}

const OTHER_KIND: Record<LocalLinkKind, LocalLinkKind> = { checkout: 'portal', portal: 'checkout' };

/**
 * The local Checkout and Portal pages. Paying or cancelling builds the same provider-neutral
 * SubscriptionUpdate a Stripe webhook produces and applies it through SubscriptionRepository.apply.
 * They refuse what Stripe refuses: a link of the other kind, a second payment through one Checkout
 * link, and changes to a canceled subscription.
 */
export function localBillingPages(deps: LocalPagesDeps): Router {
  const router = express.Router();
  const now = deps.now ?? Date.now;
  const form = express.urlencoded({ extended: false, limit: '4kb' });

  const updateAt = (base: Omit<SubscriptionUpdate, 'sourceCreated' | 'sourceRank' | 'eventId'>, event: string): SubscriptionUpdate => {
    const ms = now();
    return { ...base, eventId: localId('evt', event, String(ms)), sourceCreated: Math.floor(ms / 1000), sourceRank: ms % 1000 };
  };

  /** The link's session, or undefined after answering the refusal. */
  const open = async <K extends LocalLinkKind>(kind: K, req: Request<{ token: string }>, res: Response) => {
    const decoded = await deps.codec.decode(kind, req.params.token);
    if (decoded.ok) return decoded.value;
    if (decoded.reason === 'wrong_kind' && decoded.kind === OTHER_KIND[kind]) {
      refuse(req, res, new AppError('LINK_WRONG_KIND', `This is a ${decoded.kind} link, not a ${kind} link: open it at /local-billing/${decoded.kind}/`, { details: { expected: kind, got: decoded.kind } }));
    } else {
      refuse(req, res, new AppError('NOT_FOUND', `This ${kind} link is not valid`));
    }
    return undefined;
  };

  const alreadyPaid = () => new AppError('LINK_ALREADY_USED', 'This checkout link was already used to pay: start a new checkout from the app');

  router.get('/checkout/:token', async (req, res) => {
    const session = await open('checkout', req, res);
    if (!session) return;
    if (await deps.state.isPaid(localSessionId(req.params.token))) return refuse(req, res, alreadyPaid());
    const plan = (await deps.catalog.plans()).find((p) => p.id === session.planId);
    res.type('html').send(
      page(
        'Checkout',
        `<h1>${escapeHtml(plan?.name ?? session.planId ?? 'Subscription')}</h1>
<p><strong>${escapeHtml(formatPrice(plan))}</strong></p>
<p>Features: ${escapeHtml(session.features.join(', ') || 'none')}</p>
<p class="muted">Account ${escapeHtml(session.accountId)}</p>
<form method="post" action="${escapeHtml(req.params.token)}/pay" style="display:inline"><button class="primary" type="submit">Pay</button></form>
<form method="post" action="${escapeHtml(req.params.token)}/cancel" style="display:inline"><button type="submit">Cancel</button></form>`,
      ),
    );
  });

  router.post('/checkout/:token/pay', form, async (req, res) => {
    const session = await open('checkout', req, res);
    if (!session) return;
    const sessionId = localSessionId(req.params.token);
    // Claimed before applying, so two concurrent Pay clicks pay once; the loser is told it was used.
    if (!(await deps.state.markPaid(sessionId, session.accountId))) return refuse(req, res, alreadyPaid());
    try {
      const plan = (await deps.catalog.plans()).find((p) => p.id === session.planId);
      const days = PERIOD_DAYS[plan?.prices[0]?.interval ?? 'month'] ?? 30;
      await deps.customers.claim(session.accountId, 'local', session.customerId);
      await deps.subscriptions.apply(
        updateAt(
          {
            accountId: session.accountId,
            provider: 'local',
            providerCustomerId: session.customerId,
            // A new id per payment: an ended subscription is never revived, a new one replaces it.
            providerSubscriptionId: localId('sub', session.accountId, req.params.token, String(now())),
            planId: session.planId,
            status: 'active',
            features: session.features,
            currentPeriodEnd: new Date(now() + days * 86_400_000),
            cancelAtPeriodEnd: false,
          },
          `${req.params.token}:paid`,
        ),
      );
    } catch (error) {
      // Nothing was paid: the link must work again.
      await deps.state.unmarkPaid(sessionId, session.accountId).catch(() => undefined);
      throw error;
    }
    res.redirect(303, session.successUrl.replace('{CHECKOUT_SESSION_ID}', sessionId));
  });

  router.post('/checkout/:token/cancel', form, async (req, res) => {
    const session = await open('checkout', req, res);
    if (!session) return;
    res.redirect(303, session.cancelUrl);
  });

  router.get('/portal/:token', async (req, res) => {
    const session = await open('portal', req, res);
    if (!session) return;
    const accountId = await deps.customers.findAccountByCustomer(session.customerId);
    if (!accountId) return refuse(req, res, new AppError('NOT_FOUND', 'This portal link is not valid'));
    const status = await deps.subscriptions.statusOf(accountId);
    const actions =
      status.status === 'active' || status.status === 'trialing'
        ? `<form method="post" action="${escapeHtml(req.params.token)}/${status.cancelAtPeriodEnd ? 'resume' : 'cancel-at-period-end'}" style="display:inline"><button type="submit">${status.cancelAtPeriodEnd ? 'Resume subscription' : 'Cancel at period end'}</button></form>
<form method="post" action="${escapeHtml(req.params.token)}/cancel-now" style="display:inline"><button type="submit">Cancel now</button></form>`
        : '';
    res.type('html').send(
      page(
        'Billing portal',
        `<h1>Your subscription</h1>
<p>Status: <strong>${escapeHtml(status.status)}</strong>${status.plan ? ` · plan ${escapeHtml(status.plan)}` : ''}</p>
<p>${status.currentPeriodEnd ? `Current period ends ${escapeHtml(status.currentPeriodEnd.slice(0, 10))}` : ''}${status.cancelAtPeriodEnd ? ' (cancels then)' : ''}</p>
${actions}<p><a href="${escapeHtml(session.returnUrl)}">Return to verifieddit</a></p>`,
      ),
    );
  });

  router.post('/portal/:token/:action', form, async (req, res) => {
    const action = req.params.action;
    if (action !== 'cancel-now' && action !== 'cancel-at-period-end' && action !== 'resume') {
      return refuse(req, res, new AppError('NOT_FOUND', `There is no portal action "${action}": use resume, cancel-at-period-end or cancel-now`));
    }
    const session = await open('portal', req, res);
    if (!session) return;
    const accountId = await deps.customers.findAccountByCustomer(session.customerId);
    const current = accountId ? await deps.subscriptions.get(accountId) : undefined;
    if (!accountId || !current) return refuse(req, res, new AppError('NOT_FOUND', 'This portal link is not valid: the account has no subscription'));
    // Stripe refuses to update a canceled subscription; resuming one would silently do nothing.
    if ((TERMINAL_STATUSES as readonly string[]).includes(current.status)) {
      return refuse(
        req,
        res,
        new AppError('SUBSCRIPTION_CANCELED', `This subscription is ${current.status.replace('_', ' ')} and cannot be ${action === 'resume' ? 'resumed' : 'changed'}: start a new checkout to subscribe again`, {
          details: { status: current.status, action },
        }),
      );
    }
    await deps.subscriptions.apply(
      updateAt(
        {
          accountId,
          provider: 'local',
          providerCustomerId: current.providerCustomerId,
          providerSubscriptionId: current.providerSubscriptionId,
          planId: current.planId,
          status: action === 'cancel-now' ? 'canceled' : normalizeStatus(current.status),
          features: current.features,
          currentPeriodEnd: current.currentPeriodEnd,
          cancelAtPeriodEnd: action === 'cancel-at-period-end',
        },
        `${current.providerSubscriptionId}:${action}`,
      ),
    );
    res.redirect(303, `../${req.params.token}`);
  });

  return router;
}
