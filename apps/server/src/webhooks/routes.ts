import express, { type Request, type Response, type Router } from 'express';
import { WebhookRejection, type WebhookEventSource, type WebhookVerifier } from '../billing/ports.js';
import { AppError } from '../errors.js';
import { sendError } from '../http/errors.js';
import { addToRequestLine } from '../http/request-context.js';
import { isDataError } from '../store/store.js';
import type { WebhookInbox } from './inbox.js';
import type { Receipt, WebhookProcessor } from './processor.js';

export const WEBHOOK_PATHS = ['/webhook', '/api/internal/stripe/webhook'];
const WEBHOOK_BODY_LIMIT = 1024 * 1024;

export interface WebhookRouteDeps {
  verifier: WebhookVerifier;
  source: Pick<WebhookEventSource, 'handles'>;
  inbox: WebhookInbox;
  processor: WebhookProcessor;
  /** The pinned API version; events rendered with another one are logged. */
  expectedApiVersion: string;
  /** How long a delivery waits for inline processing before answering anyway (default 8 s). */
  inlineDeadlineMs?: number;
}

const DEFAULT_INLINE_DEADLINE_MS = 8_000;

/**
 * The Stripe webhook endpoint. Raw body (mounted before any JSON parser) so the signature is checked
 * over the exact bytes; the event is durable in the inbox before the 2xx (a subscription event is
 * stored and applied by one statement); other processing happens right after, and a processing
 * failure never fails the delivery (the inbox retries it).
 */
export function webhookRoutes(deps: WebhookRouteDeps): Router {
  const router = express.Router();
  router.post(WEBHOOK_PATHS, express.raw({ type: () => true, limit: WEBHOOK_BODY_LIMIT }), async (req, res, next) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let event;
    try {
      event = deps.verifier.verify(raw, req.get('stripe-signature'));
    } catch (error) {
      if (!(error instanceof WebhookRejection)) return next(error);
      if (error.reason === 'invalid_event') return refuseInvalid(req, res, deps.inbox, raw, error);
      req.log.warn({ webhookRejected: error.reason }, 'webhook delivery rejected');
      const code =
        error.reason === 'not_configured' ? 'NOT_READY' : error.reason === 'not_json' || error.reason === 'not_an_event' ? 'WEBHOOK_PAYLOAD_INVALID' : 'WEBHOOK_SIGNATURE_INVALID';
      return sendError(res, req.id, new AppError(code, error.message, { details: { reason: error.reason } }));
    }

    if (event.apiVersion && event.apiVersion !== deps.expectedApiVersion) {
      req.log.warn({ eventId: event.id, apiVersion: event.apiVersion, pinned: deps.expectedApiVersion }, 'webhook event rendered with another API version');
    }
    const handled = deps.source.handles(event.type);
    let receipt: Receipt;
    try {
      receipt = handled ? await deps.processor.receive(event) : { stored: (await deps.inbox.record(event, 'ignored')) !== undefined };
    } catch (error) {
      // The store refused this event's data: no retry can help, so no 503 (Stripe would retry for days).
      if (isDataError(error)) {
        return refuseInvalid(req, res, deps.inbox, raw, new WebhookRejection('invalid_event', `The event can never be stored: ${(error as Error).message}`, event));
      }
      // Not durable, so not acknowledged: Stripe will deliver it again.
      req.log.error({ err: error, eventId: event.id }, 'could not store webhook event');
      return sendError(res, req.id, new AppError('NOT_READY', 'Could not store the event; retry later'));
    }
    if (receipt.pending) {
      // Durable from here on, so the answer is 2xx whatever processing does: a failure is retried from
      // the inbox, and a slow one (e.g. a Stripe read) finishes under its lease after we answer.
      const processing = receipt.pending.catch((error: unknown) => {
        req.log.error({ err: error, eventId: event.id }, 'webhook processing failed after the event was stored; the retry worker takes it over');
      });
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), deps.inlineDeadlineMs ?? DEFAULT_INLINE_DEADLINE_MS);
      });
      const late = (await Promise.race([processing, deadline])) === 'late';
      clearTimeout(timer);
      if (late) req.log.warn({ eventId: event.id }, 'webhook processing still running at the deadline; acknowledged, it continues in the background');
    }
    if (receipt.processed) addToRequestLine(res, receipt.processed);
    // Not res.json: it hashes every body for an ETag, and nobody revalidates a POST's answer.
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify({ received: true, ...(receipt.stored ? {} : { duplicate: true }), ...(handled ? {} : { ignored: true }) }));
  });
  router.all(WEBHOOK_PATHS, (req, res) => {
    res.setHeader('allow', 'POST');
    sendError(res, req.id, new AppError('METHOD_NOT_ALLOWED', `Use POST for ${req.path}`));
  });
  return router;
}

/**
 * A correctly signed event that can never be stored or applied: 400 with the reason, a warning for the
 * operator, and a record of it (status `invalid`, raw body kept) when its id can be stored. Keeping the
 * record is best effort: the answer is 400 whether or not the store is up, since retrying cannot help.
 */
async function refuseInvalid(req: Request, res: Response, inbox: WebhookInbox, raw: Buffer, rejection: WebhookRejection): Promise<void> {
  let kept = false;
  if (rejection.keep) {
    try {
      await inbox.recordInvalid(rejection.keep, raw.toString('utf8'), rejection.message);
      kept = true;
    } catch (error) {
      req.log.error({ err: error, eventId: rejection.keep.id }, 'could not keep a record of an invalid webhook event');
    }
  }
  req.log.warn(
    { webhookRejected: rejection.reason, eventId: rejection.keep?.id, eventType: rejection.keep?.type, problem: rejection.message, kept },
    'signed webhook event refused: it can never be stored or applied',
  );
  sendError(res, req.id, new AppError('WEBHOOK_PAYLOAD_INVALID', rejection.message, { details: { reason: rejection.reason, ...(kept ? { storedAs: 'invalid' } : {}) } }));
}
