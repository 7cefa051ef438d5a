import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { appRouter } from '../routers/index.js';
import { restAliases } from '../http/rest-aliases.js';
import { WEBHOOK_PATHS } from '../webhooks/routes.js';
import { fakeServices } from './harness.js';
import { REST_ALIASES } from '../http/aliases.js';
import { PNG_1X1 } from './images.js';

/** The generated requests of src/http/fuzz.test.ts: every procedure, REST alias, webhook path and some unknown routes. */

export const WEBHOOK_SECRET = 'whsec_fuzzSigningSecret';

// ---- what there is to call -------------------------------------------------------------------

export const procedures = Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { type: string } }>).map(([path, p]) => ({ path, type: p._def.type }));
export const aliases = (restAliases(fakeServices()).stack as { route?: { path: string; methods: Record<string, boolean> } }[])
  .filter((layer) => layer.route)
  .map((layer) => ({ path: layer.route!.path, method: Object.keys(layer.route!.methods)[0]!.toUpperCase() }));

const origin = 'https://app.verifieddit.test';
export const validInputs: Record<string, unknown[]> = {
  'billing.createCheckoutSession': [
    { plan: 'pro', successUrl: `${origin}/ok`, cancelUrl: `${origin}/cancel` },
    { plan: 'pro', feature: 'ai-detect', successUrl: `${origin}/ok?s={CHECKOUT_SESSION_ID}`, cancelUrl: `${origin}/c` },
    { priceId: 'pro_monthly', successUrl: `${origin}/ok`, cancelUrl: `${origin}/c` },
  ],
  'billing.createPortalSession': [{ returnUrl: `${origin}/account` }],
  'aiDetect.check': [{ image: PNG_1X1.toString('base64'), mimeType: 'image/png' }, { url: 'https://images.example/cat.png' }, { url: 'http://127.0.0.1/x.png' }],
};
const aliasProcedure: Record<string, string> = Object.fromEntries(REST_ALIASES.map((alias) => [alias.path, alias.procedure]));

// ---- generators ------------------------------------------------------------------------------

const printable = fc.string({ unit: fc.constantFrom(...'abcXYZ019 -_./:;=?&%+[]{}"\'\\<>~!@#$^*()|,'.split('')), maxLength: 40 });
const BIG = 'x'.repeat(1024 * 1024 + 10);

/** Inputs near the contract: valid ones, with fields dropped, swapped for junk, or extra. */
const inputFor = (procedure: string): fc.Arbitrary<unknown> => {
  const valid = validInputs[procedure] ?? [{}];
  const junk = fc.oneof(fc.jsonValue({ maxDepth: 3 }), printable, fc.constantFrom(null, '', 0, -1, 1e308, true, [], {}, 'javascript:alert(1)', 'http://', 'ftp://x/y'));
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...valid) },
    {
      weight: 4,
      arbitrary: fc.tuple(fc.constantFrom(...valid), fc.string({ maxLength: 12 }), junk, fc.boolean()).map(([base, key, value, drop]) => {
        const copy: Record<string, unknown> = { ...(base as Record<string, unknown>) };
        const keys = Object.keys(copy);
        const target = keys.length && key.length % 2 === 0 ? keys[key.length % keys.length]! : key;
        if (drop) delete copy[target];
        else copy[target] = value;
        return copy;
      }),
    },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
};

type Body = { kind: 'json'; value: unknown } | { kind: 'text'; text: string };
const deepJson = fc.constantFrom(10, 31, 33, 1_000, 20_000).map((depth): Body => ({ kind: 'text', text: '['.repeat(depth) + ']'.repeat(depth) }));
const hostileText = fc.oneof(
  printable.map((text): Body => ({ kind: 'text', text })),
  fc.constantFrom('{', '{"a":', 'null', '[]', '""', '\u0000', '{"a":1}{', '\ufeff{}', BIG).map((text): Body => ({ kind: 'text', text })),
  deepJson,
);

const contentTypes = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'APPLICATION/JSON',
      'text/plain',
      'multipart/form-data; boundary=x',
      'application/octet-stream',
      'application/x-www-form-urlencoded',
      'application/vnd.api+json',
      'image/png',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
);
const encodings = fc.oneof(
  { weight: 14, arbitrary: fc.constant(undefined) },
  { weight: 3, arbitrary: fc.constantFrom('gzip', 'br', 'deflate', 'identity') },
  { weight: 2, arbitrary: fc.constantFrom('gzip-garbage', 'compress', 'gzip, gzip', 'zstd', 'x-unknown') },
);
const users = fc.constantFrom('alice', 'bob', 'carol', 'dave', 'erin');
const auth = fc.oneof(
  { weight: 6, arbitrary: users.map((u) => `Bearer dev_${u}`) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('Bearer ', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x', 'Basic YTpi', 'dev_alice', 'Bearer dev_') },
  { weight: 1, arbitrary: printable.map((s) => `Bearer ${s}`) },
);
const requestIds = fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: printable });
const methods = (usual: string[]) =>
  fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...usual) }, { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'PATCH', 'TRACE', 'PROPFIND', 'M-SEARCH') });

export interface FuzzRequest {
  target: 'trpc' | 'rest' | 'webhook' | 'other';
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Body;
  encoding?: string;
}

const withCommon = (r: Omit<FuzzRequest, 'headers'> & { headers?: Record<string, string> }) =>
  fc.record({ contentType: contentTypes, encoding: encodings, authorization: auth, requestId: requestIds }).map(({ contentType, encoding, authorization, requestId }): FuzzRequest => {
    const headers: Record<string, string> = { ...r.headers };
    if (r.body && contentType !== undefined && !headers['content-type']) headers['content-type'] = contentType;
    if (authorization !== undefined) headers.authorization = authorization;
    if (requestId !== undefined) headers['x-request-id'] = requestId;
    return { ...r, headers, ...(r.body && encoding ? { encoding } : {}) };
  });

const procedureArb = fc.constantFrom(...procedures);
const trpcSingle = fc
  .tuple(procedureArb, fc.boolean(), fc.nat(4))
  .chain(([proc, asQuery, twist]) => {
    const usual = proc.type === 'mutation' ? 'POST' : 'GET';
    return fc.tuple(fc.constant(proc), methods([asQuery && twist === 0 ? (usual === 'GET' ? 'POST' : 'GET') : usual]), inputFor(proc.path), fc.oneof(fc.constant(undefined), hostileText));
  })
  .chain(([proc, method, input, hostile]) => {
    if (method === 'GET') {
      const query = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
      return withCommon({ target: 'trpc', method, path: `/trpc/${proc.path}${query}` });
    }
    const body: Body | undefined = hostile ?? (input === undefined ? undefined : { kind: 'json', value: input });
    return withCommon({ target: 'trpc', method, path: `/trpc/${proc.path}`, ...(body ? { body } : {}) });
  });

const trpcBatch = fc
  .tuple(fc.array(procedureArb, { minLength: 1, maxLength: 4 }), fc.constantFrom('GET', 'POST'))
  .chain(([procs, method]) =>
    fc.tuple(
      fc.constant(procs),
      fc.constant(method),
      fc.tuple(...procs.map((p) => inputFor(p.path))),
      fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hostileText }),
    ),
  )
  .chain(([procs, method, inputs, hostile]) => {
    const object = Object.fromEntries(inputs.map((input, i) => [String(i), input]));
    const path = `/trpc/${procs.map((p) => p.path).join(',')}?batch=1`;
    if (method === 'GET') return withCommon({ target: 'trpc', method, path: `${path}&input=${encodeURIComponent(JSON.stringify(object))}` });
    return withCommon({ target: 'trpc', method, path, body: hostile ?? { kind: 'json', value: object } });
  });

const trpcOdd = fc
  .oneof(
    printable.map((s) => `/trpc/${encodeURIComponent(s)}`),
    fc.constantFrom('/trpc', '/trpc/', '/trpc/%', '/trpc/%E0%A4%A', '/trpc/health,', '/trpc/,,', '/trpc/health?batch=1&input=%5B', '/trpc/health?connectionParams=%7B', '/trpc/health?batch=2', '/trpc/a.b.c.d'),
  )
  .chain((path) => fc.tuple(fc.constant(path), methods(['GET', 'POST']), fc.option(hostileText, { nil: undefined })))
  .chain(([path, method, body]) => withCommon({ target: 'trpc', method, path, ...(body ? { body } : {}) }));

const restArb = fc
  .constantFrom(...aliases)
  .chain((alias) =>
    fc.tuple(fc.constant(alias), methods([alias.method]), inputFor(aliasProcedure[alias.path] ?? ''), fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: hostileText })),
  )
  .chain(([alias, method, input, hostile]) => {
    const body: Body | undefined = method === 'GET' || method === 'HEAD' ? undefined : (hostile ?? (input === undefined ? undefined : { kind: 'json', value: input }));
    return withCommon({ target: 'rest', method, path: alias.path, ...(body ? { body } : {}) });
  });

const sign = (payload: string, timestamp: number, secret = WEBHOOK_SECRET) =>
  `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex')}`;

const eventArb = fc.record({
  id: fc.oneof(fc.string({ maxLength: 30 }).map((s) => `evt_${s}`), fc.constant(42)),
  object: fc.constantFrom('event', 'nope'),
  type: fc.constantFrom('customer.subscription.created', 'customer.subscription.updated', 'customer.subscription.deleted', 'checkout.session.completed', 'invoice.paid', 'x.y'),
  created: fc.oneof(fc.integer({ min: 0, max: 2_000_000_000 }), fc.double(), fc.string({ maxLength: 5 })),
  api_version: fc.constantFrom('2026-10-28.endive', '2020-08-27', null),
  livemode: fc.boolean(),
  data: fc.oneof(
    fc.record({
      object: fc.oneof(
        fc.record({ id: fc.string({ maxLength: 20 }), object: fc.constantFrom('subscription', 'checkout.session'), customer: fc.string({ maxLength: 20 }), status: fc.string({ maxLength: 12 }), metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })) }),
        fc.jsonValue({ maxDepth: 3 }),
      ),
    }),
    fc.jsonValue({ maxDepth: 2 }),
  ),
});

const webhookArb = fc
  .tuple(
    fc.constantFrom(...WEBHOOK_PATHS),
    methods(['POST']),
    fc.oneof(eventArb.map((e) => JSON.stringify(e)), printable, fc.constantFrom('{"id":"evt_nul\\u0000","object":"event"}', '', '{}')),
    fc.constantFrom('signed', 'signed', 'signed', 'stale', 'wrong-secret', 'garbage', 'missing'),
  )
  .chain(([path, method, payload, signature]) => {
    const now = Math.floor(Date.now() / 1000);
    const header =
      signature === 'signed' ? sign(payload, now) : signature === 'stale' ? sign(payload, now - 3600) : signature === 'wrong-secret' ? sign(payload, now, 'whsec_other') : signature === 'garbage' ? 't=1,v1=zz' : undefined;
    return withCommon({
      target: 'webhook',
      method,
      path,
      headers: { 'content-type': 'application/json', ...(header ? { 'stripe-signature': header } : {}) },
      body: { kind: 'text', text: payload },
    });
  });

const otherArb = fc
  .tuple(
    fc.oneof(
      fc.constantFrom('/health', '/ready', '/openapi.json', '/', '/nope', '/%', '/%E0%A4%A', '/..%2f..%2fetc/passwd', '/local-billing/checkout/abc', '/local-billing/portal/abc/cancel-now', '/local-billing/checkout/%E0%A4%A/pay'),
      printable.map((s) => `/${encodeURIComponent(s)}`),
    ),
    methods(['GET']),
    fc.option(hostileText, { nil: undefined }),
  )
  .chain(([path, method, body]) => withCommon({ target: 'other', method, path, ...(body ? { body } : {}) }));

export const requestArb: fc.Arbitrary<FuzzRequest> = fc.oneof(
  { weight: 5, arbitrary: trpcSingle },
  { weight: 3, arbitrary: trpcBatch },
  { weight: 1, arbitrary: trpcOdd },
  { weight: 4, arbitrary: restArb },
  { weight: 3, arbitrary: webhookArb },
  { weight: 1, arbitrary: otherArb },
);

// ---- sending and judging ---------------------------------------------------------------------
