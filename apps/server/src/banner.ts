import type { Config } from './config.js';
import { usesLocalWebhookSecret } from './webhooks/local-secret.js';

export interface StartBanner {
  /** Multi-line text for people (development's pretty logs). */
  text: string;
  /** The same facts as fields (JSON logs). */
  fields: { urls: Record<string, string>; modes: string[] };
}

/**
 * What a newcomer needs to know once the server listens: where to open things, and every mode that
 * differs from production (each names the variable that turns it off), so none of them surprises later.
 */
export function startBanner(config: Config, port: number, envFiles: readonly string[] = []): StartBanner {
  const api = config.publicUrl === `http://localhost:${config.port}` ? `http://localhost:${port}` : config.publicUrl;
  const localBilling = !config.stripe.secretKey;
  const urls: Record<string, string> = { api };
  if (!config.isProduction) urls.demo = `http://localhost:${config.demoPort}`;
  if (localBilling) urls.localCheckout = `${api}/local-billing/checkout/<token>`;

  const modes: string[] = [];
  if (localBilling) modes.push('billing: local provider, no money moves (set STRIPE_SECRET_KEY for Stripe test mode)');
  if (!config.clerk.jwtKey && !config.clerk.secretKey && !config.isProduction)
    modes.push('sign-in: development identities, Authorization: Bearer dev_<name> (set CLERK_JWT_KEY or CLERK_SECRET_KEY for Clerk)');
  if (!config.sightengine.apiUser) modes.push('AI detection: local detector, made-up verdicts (set SIGHTENGINE_API_USER and SIGHTENGINE_API_SECRET)');
  modes.push(
    config.stripe.webhookSecrets.length
      ? `webhooks: POST /webhook verifies with ${config.stripe.webhookSecrets.length} secret(s)`
      : usesLocalWebhookSecret(config)
        ? 'webhooks: no STRIPE_WEBHOOK_SECRET, so POST /webhook verifies with a local secret kept in the store (`pnpm --silent billing webhooks trigger <type> --account <id>` signs with it)'
        : 'webhooks: no STRIPE_WEBHOOK_SECRET, so POST /webhook answers 503',
  );
  if (config.aiDetect.fetchAllowLoopback) modes.push('image URLs: AI_DETECT_FETCH_ALLOW_LOOPBACK=true lets them reach 127.0.0.1 (testing only)');
  if (config.role !== 'all') modes.push(`role: ${config.role} (ROLE; all does everything in one process)`);
  modes.push(config.databaseUrl ? 'store: PostgreSQL (DATABASE_URL)' : `store: embedded PGlite in ${config.dataDir} (one process at a time)`);
  if (envFiles.length) modes.push(`env files read: ${envFiles.join(', ')} (the real environment wins)`);

  const label = (name: string) => `${name}:`.padEnd(16);
  const lines = [
    `verifieddit server ready (${config.nodeEnv})`,
    `  ${label('API')}${api}  (GET /health, /trpc)`,
    ...(urls.demo ? [`  ${label('Demo')}${urls.demo}  (pnpm dev starts it; open this one)`] : []),
    ...(urls.localCheckout ? [`  ${label('Local Checkout')}${api}/local-billing/checkout/…  (links come from billing.createCheckoutSession)`] : []),
    ...modes.map((mode) => `  - ${mode}`),
  ];
  return { text: lines.join('\n'), fields: { urls, modes } };
}
