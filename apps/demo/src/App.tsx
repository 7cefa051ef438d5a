import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { getErrorCode, getRequestId, type AppRouter } from '@verifieddit/client';
import { useVerifieddit } from '@verifieddit/client/react';
import { useState, type FormEvent, type ReactNode } from 'react';
import { useLiveStatus } from './live.js';
import { USER_ID, currentUser, signIn, signOut } from './session.js';

type Outputs = inferRouterOutputs<AppRouter>;
type Status = Outputs['billing']['subscriptionStatus'];
type Verdict = Outputs['aiDetect']['check'];
type ImageType = Extract<inferRouterInputs<AppRouter>['aiDetect']['check'], { mimeType: unknown }>['mimeType'];

const IMAGE_TYPES: readonly string[] = ['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/bmp', 'image/tiff', 'image/avif', 'image/heic'];
const isEntitled = (status: Status | undefined) => status?.status === 'active' || status?.status === 'trialing';
const here = (path: string) => new URL(path, window.location.origin).toString();
// The image fetcher refuses single-label names such as localhost, so the sample is named by address.
const sampleUrl = () => `${window.location.protocol}//127.0.0.1${window.location.port ? `:${window.location.port}` : ''}/sample.png`;

export function App() {
  const [user, setUser] = useState(currentUser);
  const queryClient = useQueryClient();
  const path = window.location.pathname;

  if (!user) {
    return (
      <Shell>
        <SignIn
          onSignIn={(id) => {
            signIn(id);
            queryClient.clear();
            setUser(id);
          }}
        />
      </Shell>
    );
  }
  return (
    <Shell
      user={user}
      onSignOut={() => {
        signOut();
        queryClient.clear();
        setUser(null);
      }}
    >
      {path === '/billing/success' && <ReturnNotice kind="success" />}
      {path === '/billing/cancel' && <ReturnNotice kind="cancel" />}
      <SubscriptionCard userId={user} waitForActive={path === '/billing/success'} />
      <PlansCard />
      <DetectCard />
    </Shell>
  );
}

function Shell({ user, onSignOut, children }: { user?: string; onSignOut?: () => void; children: ReactNode }) {
  return (
    <>
      <header>
        <a className="brand" href="/">
          verifieddit <span className="muted">demo</span>
        </a>
        {user && (
          <span className="who">
            Signed in as <strong>{user}</strong>{' '}
            <button className="link" onClick={onSignOut}>
              Sign out
            </button>
          </span>
        )}
      </header>
      <main>{children}</main>
    </>
  );
}

function SignIn({ onSignIn }: { onSignIn: (userId: string) => void }) {
  const [name, setName] = useState('');
  const valid = USER_ID.test(name);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (valid) onSignIn(name);
  };
  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      <p className="muted">
        A development identity: the server accepts <code>Bearer dev_&lt;name&gt;</code> when no Clerk keys are set.
      </p>
      <form onSubmit={submit}>
        <label>
          Your name
          <input value={name} onChange={(e) => setName(e.target.value.trim())} placeholder="alice" autoFocus autoComplete="username" />
        </label>
        {name && !valid && <p className="error">Letters, digits, - and _ only (at most 64).</p>}
        <button className="primary" type="submit" disabled={!valid}>
          Sign in
        </button>
      </form>
    </section>
  );
}

function ReturnNotice({ kind }: { kind: 'success' | 'cancel' }) {
  const api = useVerifieddit();
  const status = useQuery(api.billing.subscriptionStatus.queryOptions());
  return (
    <section className={`notice ${kind}`} role="status">
      {kind === 'success' ? (
        <>
          <h1>Thanks — payment received</h1>
          <p>
            {isEntitled(status.data)
              ? `Your ${status.data?.plan ?? ''} subscription is active.`
              : 'Waiting for the billing provider to confirm it; this page updates by itself.'}
          </p>
        </>
      ) : (
        <>
          <h1>Checkout canceled</h1>
          <p>Nothing was charged. You can subscribe whenever you like.</p>
        </>
      )}
      <a href="/">Back to the demo</a>
    </section>
  );
}

function SubscriptionCard({ userId, waitForActive }: { userId: string; waitForActive: boolean }) {
  const api = useVerifieddit();
  const live = useLiveStatus(userId);
  const status = useQuery({
    ...api.billing.subscriptionStatus.queryOptions(),
    // With Stripe the webhook can land a moment after the redirect: poll briefly on the success page.
    refetchInterval: (query) => (waitForActive && live !== 'live' && !isEntitled(query.state.data) ? 1_000 : false),
  });
  const portal = useMutation(api.billing.createPortalSession.mutationOptions({ onSuccess: ({ url }) => window.location.assign(url) }));

  return (
    <section className="card" aria-labelledby="subscription-title">
      <h2 id="subscription-title">
        Subscription{' '}
        <span className={`live ${live}`} data-testid="live-state" title="billing.onStatusChange">
          {live === 'live' ? '● live' : live === 'connecting' ? '○ connecting…' : '○ refreshes on focus'}
        </span>
      </h2>
      {status.isPending && <p className="muted">Loading…</p>}
      {status.isError && <ErrorLine error={status.error} />}
      {status.data && (
        <>
          <p>
            <span className={`badge ${isEntitled(status.data) ? 'on' : 'off'}`} data-testid="subscription-status">
              {status.data.status}
            </span>{' '}
            {status.data.plan ? <>plan <strong>{status.data.plan}</strong></> : <span className="muted">free plan</span>}
          </p>
          <p className="muted">
            Features: {status.data.features.join(', ') || 'none'}
            {status.data.currentPeriodEnd &&
              ` · ${periodWord(status.data)} ${new Date(status.data.currentPeriodEnd).toLocaleDateString()}`}
          </p>
          {status.data.provider && (
            <button onClick={() => portal.mutate({ returnUrl: here('/') })} disabled={portal.isPending}>
              Manage billing
            </button>
          )}
          {portal.isError && <ErrorLine error={portal.error} />}
        </>
      )}
    </section>
  );
}

function PlansCard() {
  const api = useVerifieddit();
  const plans = useQuery(api.billing.plans.queryOptions());
  const status = useQuery(api.billing.subscriptionStatus.queryOptions());
  const portal = useMutation(api.billing.createPortalSession.mutationOptions({ onSuccess: ({ url }) => window.location.assign(url) }));
  const checkout = useMutation(
    api.billing.createCheckoutSession.mutationOptions({
      // Same tab: Checkout sends the browser back to /billing/success or /billing/cancel.
      onSuccess: ({ url }) => window.location.assign(url),
      onError: (error) => {
        if (getErrorCode(error) === 'ALREADY_SUBSCRIBED') portal.mutate({ returnUrl: here('/') });
      },
    }),
  );

  return (
    <section className="card" aria-labelledby="plans-title">
      <h2 id="plans-title">Plans</h2>
      {plans.isPending && <p className="muted">Loading…</p>}
      {plans.isError && <ErrorLine error={plans.error} />}
      <ul className="plans">
        {plans.data?.plans.map((plan) => {
          const price = plan.prices[0];
          const current = isEntitled(status.data) && status.data?.plan === plan.id;
          return (
            <li key={plan.id}>
              <div>
                <strong>{plan.name}</strong>{' '}
                <span className="muted">
                  {price ? `${formatMoney(price.amount, price.currency)} / ${price.interval}` : 'free'} ·{' '}
                  {plan.quotas.aiDetectionsPerMonth} detections a month
                </span>
              </div>
              {current ? (
                <span className="badge on">current</span>
              ) : price ? (
                <button
                  className="primary"
                  disabled={checkout.isPending}
                  onClick={() => checkout.mutate({ plan: plan.id, successUrl: here('/billing/success?session={CHECKOUT_SESSION_ID}'), cancelUrl: here('/billing/cancel') })}
                >
                  Subscribe to {plan.name}
                </button>
              ) : null}
            </li>
          );
        })}
      </ul>
      {checkout.isError && getErrorCode(checkout.error) !== 'ALREADY_SUBSCRIBED' && <ErrorLine error={checkout.error} />}
    </section>
  );
}

function DetectCard() {
  const api = useVerifieddit();
  const queryClient = useQueryClient();
  const usage = useQuery(api.aiDetect.usage.queryOptions());
  const [url, setUrl] = useState('');
  const [fileProblem, setFileProblem] = useState<string | null>(null);
  const check = useMutation(
    api.aiDetect.check.mutationOptions({
      onSettled: () => queryClient.invalidateQueries({ queryKey: api.aiDetect.usage.queryKey() }),
    }),
  );

  const upload = async (file: File | undefined) => {
    setFileProblem(null);
    if (!file) return;
    if (!IMAGE_TYPES.includes(file.type)) return setFileProblem(`${file.type || 'This file'} is not a supported image type.`);
    check.mutate({ image: await base64Of(file), mimeType: file.type as ImageType });
  };

  return (
    <section className="card" aria-labelledby="detect-title">
      <h2 id="detect-title">AI detection</h2>
      <div className="detect-inputs">
        <label className="file">
          Upload an image
          <input type="file" accept={IMAGE_TYPES.join(',')} onChange={(e) => void upload(e.target.files?.[0])} disabled={check.isPending} />
        </label>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (url) check.mutate({ url });
          }}
        >
          <label>
            or check an image URL
            <span className="row">
              <input type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://…/image.jpg" />
              <button type="submit" disabled={!url || check.isPending}>
                Check
              </button>
            </span>
          </label>
        </form>
      </div>
      <p className="muted">
        Local URLs such as{' '}
        <button className="link" type="button" onClick={() => setUrl(sampleUrl())}>
          this demo's sample image
        </button>{' '}
        are refused unless the server runs with <code>AI_DETECT_FETCH_ALLOW_LOOPBACK=true</code>.
      </p>
      {fileProblem && <p className="error">{fileProblem}</p>}
      {check.isPending && <p className="muted">Checking…</p>}
      {check.isError && <ErrorLine error={check.error} />}
      {check.data && <VerdictView verdict={check.data} />}
      <h3>Usage this month</h3>
      {usage.isError && <ErrorLine error={usage.error} />}
      {usage.data && (
        <div className="meter" data-testid="usage">
          <progress max={Math.max(usage.data.limit, 1)} value={Math.min(usage.data.used, usage.data.limit)} aria-label="detections used" />
          <p className="muted">
            {usage.data.used} of {usage.data.limit} detections used · resets {new Date(usage.data.resetsAt).toLocaleDateString()} ·{' '}
            {usage.data.rateLimit.remaining} of {usage.data.rateLimit.limit} requests left right now
          </p>
        </div>
      )}
    </section>
  );
}

function VerdictView({ verdict }: { verdict: Verdict }) {
  const percent = Math.round(verdict.aiGenerated * 100);
  const likely = verdict.aiGenerated >= 0.5;
  return (
    <div className={`verdict ${likely ? 'ai' : 'human'}`} data-testid="verdict">
      <p className="score">
        <strong>{percent}%</strong> likely AI-generated — {likely ? 'probably made by AI' : 'probably not AI'}
      </p>
      <p className="muted">
        {verdict.cached ? 'cached verdict (no new upstream call)' : 'fresh verdict'} · {verdict.provider} · checked{' '}
        {new Date(verdict.checkedAt).toLocaleString()} · sha256 {verdict.imageSha256.slice(0, 12)}…
      </p>
    </div>
  );
}

function ErrorLine({ error }: { error: unknown }) {
  const code = getErrorCode(error);
  const requestId = getRequestId(error);
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p className="error" role="alert">
      {code && <code>{code}</code>} {message}
      {requestId && <span className="muted"> (request {requestId})</span>}
    </p>
  );
}

function periodWord(status: Status): string {
  if (!isEntitled(status)) return 'paid until';
  return status.cancelAtPeriodEnd ? 'ends' : 'renews';
}

function formatMoney(amount: number, currency: string): string {
  return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency.toUpperCase() }).format(amount / 100);
}

function base64Of(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error ?? new Error('could not read the file'));
    reader.readAsDataURL(file);
  });
}
