import Stripe from 'stripe';
import { WebhookRejection, type WebhookVerifier } from '../ports.js';
import { stripeEventProblem } from './event-shape.js';

const UTF8 = new TextDecoder('utf-8');

/**
 * Stripe signature verification over the exact bytes received, with Stripe's 300 s tolerance.
 * Several secrets may be configured at once (rotation): the delivery is accepted if any one matches.
 * Verification needs no API client: it uses stripe-node's static `Stripe.webhooks`.
 */
export function createStripeWebhookVerifier(secrets: string[], toleranceSeconds = 300): WebhookVerifier {
  return {
    verify(rawBody, signatureHeader) {
      if (!secrets.length) throw new WebhookRejection('not_configured', 'STRIPE_WEBHOOK_SECRET is not configured');
      if (!signatureHeader) throw new WebhookRejection('missing_signature', 'Missing Stripe-Signature header');
      // Decoded once as stripe-node decodes bytes (it signs and parses this text); given bytes, it decodes them twice per secret.
      const text = UTF8.decode(rawBody);
      let lastError: unknown;
      for (const secret of secrets) {
        try {
          const event = Stripe.webhooks.constructEvent(text, signatureHeader, secret, toleranceSeconds);
          if (!event || typeof event !== 'object' || Array.isArray(event)) throw new WebhookRejection('not_an_event', 'The payload is not a Stripe event');
          const problem = stripeEventProblem(event, text);
          if (problem) throw new WebhookRejection('invalid_event', `The event can never be stored or applied: ${problem.reason}`, problem.keep);
          return {
            id: event.id,
            type: event.type,
            created: event.created,
            apiVersion: event.api_version ?? null,
            livemode: Boolean(event.livemode),
            payload: event,
            payloadText: text,
          };
        } catch (error) {
          if (error instanceof WebhookRejection) throw error;
          // A valid signature over bytes that are not JSON: constructEvent's JSON.parse fails.
          if (error instanceof SyntaxError) throw new WebhookRejection('not_json', 'The payload is not valid JSON');
          lastError = error;
        }
      }
      const message = lastError instanceof Error ? lastError.message : String(lastError);
      if (/tolerance/i.test(message)) throw new WebhookRejection('stale_timestamp', 'The signature timestamp is outside the 300 s tolerance');
      throw new WebhookRejection('bad_signature', 'No configured signing secret matches the Stripe-Signature header');
    },
  };
}
