// The bare bundle every ratio is measured against: Express 5 + tRPC v11 with nothing of ours, bundled
// and started the same way as the server. It answers the same JSON our procedures answer (passed in
// by the bench), parses the same upload body, and verifies webhooks with stripe-node's
// `constructEvent` before a 200. Stripe is loaded at the first delivery, so the cold start of /health
// is that of Express + tRPC alone.
import { initTRPC } from '@trpc/server';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express from 'express';

const status: unknown = JSON.parse(process.env.BENCH_STATUS_JSON ?? '{"status":"none"}');
const check: unknown = JSON.parse(process.env.BENCH_CHECK_JSON ?? '{"cached":true}');
const secret = process.env.STRIPE_WEBHOOK_SECRET ?? 'whsec_bench';

const t = initTRPC.create();
const appRouter = t.router({
  billing: t.router({ subscriptionStatus: t.procedure.query(() => status) }),
  // The input parser forces tRPC to read and parse the body, as our procedure does.
  aiDetect: t.router({ check: t.procedure.input((value) => value as { image: string }).mutation(() => check) }),
});

const app = express();
app.disable('x-powered-by');
app.get('/health', (_req, res) => void res.json({ status: 'ok' }));
let verifier: { webhooks: { constructEvent(body: Buffer, header: string, secret: string): unknown } } | undefined;
app.post('/webhook', express.raw({ type: () => true, limit: '1mb' }), async (req, res) => {
  verifier ??= new (await import('stripe')).default('sk_test_baseline', { telemetry: false });
  try {
    verifier.webhooks.constructEvent(req.body as Buffer, req.get('stripe-signature') ?? '', secret);
    res.json({ received: true });
  } catch {
    res.status(400).json({ error: { code: 'WEBHOOK_SIGNATURE_INVALID' } });
  }
});
app.use(express.json({ limit: 14 * 1024 * 1024 }));
app.use('/trpc', createExpressMiddleware({ router: appRouter }));
app.listen(Number(process.env.PORT ?? 8787), '127.0.0.1');
