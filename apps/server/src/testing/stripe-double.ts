import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createStripeClient, type Stripe } from '../billing/stripe/client.js';
import { readFixture } from './fixture-files.js';

/**
 * A stateful double of the Stripe API: a real HTTP server on 127.0.0.1 that stripe-node talks to
 * (`host`/`port`/`protocol`). It speaks Stripe's wire format — form-encoded bodies with bracketed
 * keys, `{ error: { type, code, message, param } }` errors, list and search-result objects — and
 * builds its objects from Stripe's own example fixtures (openapi fixtures3), overriding ids and fields.
 *
 * Every request is recorded (method, path, query, parsed body, headers) so tests can assert exact
 * requests. Only what this project calls is implemented; anything else answers 404 in Stripe's shape.
 */

type StripeObject = Record<string, unknown> & { id: string; object: string };
type Nested = { [key: string]: NestedValue };
type NestedValue = string | NestedValue[] | Nested;

interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/customers`. */
  path: string;
  /** Parsed query string (GET) — nested like the body. */
  query: Nested;
  /** Parsed form body (POST). */
  body: Nested;
  rawBody: string;
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  idempotencyKey: string | undefined;
  stripeVersion: string | undefined;
  authorization: string | undefined;
  status: number;
}

interface StripeErrorBody {
  type: 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error' | 'rate_limit_error' | 'authentication_error';
  message: string;
  code?: string;
  param?: string;
}

interface Failure {
  match: (method: string, path: string) => boolean;
  status: number;
  remaining: number;
  error: StripeErrorBody;
}

/** The account's default API version: what Stripe answers when a request pins none. */
const DOUBLE_DEFAULT_API_VERSION = '2026-10-28.endive';

/** Stripe's example objects (stripe/openapi fixtures3.json, in fixtures/stripe/): read at import, so a missing file fails at start. */
const fixtures = readFixture<{ resources: Record<string, Record<string, unknown>> }>('stripe/openapi-fixtures3.json');
function template(resource: string): Record<string, unknown> {
  const found = fixtures.resources[resource];
  if (!found) throw new Error(`no Stripe fixture for ${resource}`);
  return structuredClone(found);
}

/**
 * Parses a Stripe form body or query string into a nested object:
 * `metadata[a]=1&line_items[0][price]=p` → `{ metadata: { a: '1' }, line_items: [{ price: 'p' }] }`.
 * `x[]=a&x[]=b` becomes an array too.
 */
export function parseStripeForm(text: string): Nested {
  const root: Nested = {};
  for (const [fullKey, value] of new URLSearchParams(text)) {
    const first = fullKey.indexOf('[');
    const head = first === -1 ? fullKey : fullKey.slice(0, first);
    const rest = first === -1 ? [] : [...fullKey.slice(first).matchAll(/\[([^\]]*)\]/g)].map((m) => m[1] ?? '');
    const keys = [head, ...rest];
    let cursor: Nested | NestedValue[] = root;
    keys.forEach((key, i) => {
      const last = i === keys.length - 1;
      const nextIsIndex = !last && /^\d*$/.test(keys[i + 1] ?? '');
      const container = cursor as Record<string, NestedValue> & NestedValue[];
      const slot: string | number = Array.isArray(cursor) ? (key === '' ? cursor.length : Number(key)) : key;
      if (last) {
        container[slot as never] = value as never;
        return;
      }
      let next = container[slot as never] as NestedValue | undefined;
      if (next === undefined || typeof next === 'string') {
        next = nextIsIndex ? [] : {};
        container[slot as never] = next as never;
      }
      cursor = next as Nested | NestedValue[];
    });
  }
  return compactArrays(root) as Nested;
}

/** `a[1]=x` without `a[0]` must not leave holes. */
function compactArrays(value: NestedValue): NestedValue {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(compactArrays);
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, compactArrays(v)]));
  return value;
}

class StripeHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: StripeErrorBody,
  ) {
    super(body.message);
  }
}

const missing = (noun: string, id: string, param = 'id') =>
  new StripeHttpError(404, { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${noun}: '${id}'`, param });
const invalid = (message: string, param?: string, code = 'parameter_invalid') =>
  new StripeHttpError(400, { type: 'invalid_request_error', code, message, ...(param ? { param } : {}) });
const required = (param: string) =>
  new StripeHttpError(400, { type: 'invalid_request_error', code: 'parameter_missing', message: `Missing required param: ${param}.`, param });

const str = (value: NestedValue | undefined): string | undefined => (typeof value === 'string' ? value : undefined);
const obj = (value: NestedValue | undefined): Nested | undefined =>
  value !== undefined && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
const bool = (value: NestedValue | undefined): boolean | undefined => (value === 'true' ? true : value === 'false' ? false : undefined);
const int = (value: NestedValue | undefined, param: string): number | undefined => {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw invalid(`Invalid integer: ${String(value)}`, param, 'parameter_invalid_integer');
  return Number(value);
};

/** Stripe metadata semantics: setting a key to '' deletes it. */
function mergeMetadata(current: unknown, update: NestedValue | undefined): Record<string, string> {
  const next: Record<string, string> = { ...((current as Record<string, string> | null) ?? {}) };
  if (update === '') return {};
  for (const [key, value] of Object.entries(obj(update) ?? {})) {
    if (value === '') delete next[key];
    else if (typeof value === 'string') next[key] = value;
  }
  return next;
}

const now = () => Math.floor(Date.now() / 1000);

export interface StripeDouble {
  /** `http://127.0.0.1:<port>` — set it as STRIPE_API_BASE_URL. */
  url: string;
  host: '127.0.0.1';
  port: number;
  /** Every request received, oldest first. */
  requests: RecordedRequest[];
  /** Requests to one path (and method, when given). */
  requestsTo(path: string, method?: string): RecordedRequest[];
  /** A stripe-node client pointed at the double; no retries unless asked. */
  stripe(options?: { secretKey?: string; apiVersion?: string; maxNetworkRetries?: number }): Stripe;
  /**
   * The next `times` requests whose path matches answer `status` with a Stripe error (an outage,
   * a rate limit…). A string matches the path exactly; `'POST /v1/prices'` also matches the method.
   */
  failNext(path: string | RegExp, status?: number, times?: number, error?: Partial<StripeErrorBody>): void;
  /** Stores or replaces a subscription (merged over the fixture); returns it. */
  putSubscription(fields: Partial<StripeObject> & { id?: string }): StripeObject;
  /** Shallow-merges fields into a stored subscription; returns it. */
  updateSubscription(id: string, fields: Record<string, unknown>): StripeObject;
  /** The stored objects, by kind, for assertions. */
  customers: Map<string, StripeObject>;
  checkoutSessions: Map<string, StripeObject>;
  portalSessions: Map<string, StripeObject>;
  subscriptions: Map<string, StripeObject>;
  products: Map<string, StripeObject>;
  prices: Map<string, StripeObject>;
  meters: Map<string, StripeObject>;
  meterEvents: StripeObject[];
  /** Events `GET /v1/events` lists (Stripe's record of what it sent, or tried to). */
  events: StripeObject[];
  /** Records an event as Stripe would have created it (e.g. one whose delivery was lost). */
  putEvent(event: Record<string, unknown>): StripeObject;
  /** Forgets recorded requests (not state). */
  clearRequests(): void;
  close(): Promise<void>;
}

export interface StripeDoubleOptions {
  /** Keys it accepts; by default any sk_/rk_ test or live key. A refused key answers 401. */
  acceptKey?: (key: string) => boolean;
}

export async function startStripeDouble(options: StripeDoubleOptions = {}): Promise<StripeDouble> {
  const requests: RecordedRequest[] = [];
  const failures: Failure[] = [];
  const customers = new Map<string, StripeObject>();
  const checkoutSessions = new Map<string, StripeObject>();
  const portalSessions = new Map<string, StripeObject>();
  const subscriptions = new Map<string, StripeObject>();
  const products = new Map<string, StripeObject>();
  const prices = new Map<string, StripeObject>();
  const meters = new Map<string, StripeObject>();
  const meterEvents: StripeObject[] = [];
  const events: StripeObject[] = [];
  let insertion = 0;
  const inserted = new WeakMap<object, number>();
  const newestFirst = (a: StripeObject, b: StripeObject) =>
    Number(b.created) - Number(a.created) || (inserted.get(b) ?? 0) - (inserted.get(a) ?? 0);
  /** identifier → when it was accepted (epoch ms). */
  const meterEventIdentifiers = new Map<string, number>();
  /** `<api key> <idempotency key>` → the first request's signature and response. */
  const idempotent = new Map<string, { signature: string; status: number; body: unknown }>();
  const acceptKey = options.acceptKey ?? ((key: string) => /^(sk|rk)_(test|live)_\w+$/.test(key));

  const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;

  function build(resource: string, fields: Record<string, unknown>, livemode: boolean): StripeObject {
    return { ...template(resource), created: now(), livemode, ...fields } as unknown as StripeObject;
  }

  function list(path: string, items: StripeObject[], query: Nested) {
    const limit = Math.min(Math.max(int(query.limit, 'limit') ?? 10, 1), 100);
    const after = str(query.starting_after);
    let start = 0;
    if (after) {
      const index = items.findIndex((item) => item.id === after);
      if (index === -1) throw invalid(`No such object: '${after}'`, 'starting_after', 'resource_missing');
      start = index + 1;
    }
    const page = items.slice(start, start + limit);
    return { object: 'list', data: page, has_more: start + limit < items.length, url: path };
  }

  /**
   * Stripe's search query language, the subset we use: clauses joined by AND (or space), each
   * `field:'value'`, `metadata['key']:'value'`, `field:"value"`, `active:'true'`.
   */
  function search(path: string, items: StripeObject[], query: Nested) {
    const q = str(query.query);
    if (!q) throw required('query');
    const clauses = q.split(/\s+AND\s+/i).map((clause) => {
      const m = /^\s*(metadata\[['"]([^'"]+)['"]\]|[a-z_]+)\s*:\s*['"]([^'"]*)['"]\s*$/.exec(clause);
      if (!m) throw invalid(`Invalid search query: ${q}`, 'query');
      return { field: m[1]!, metadataKey: m[2], value: m[3]! };
    });
    const found = items.filter((item) =>
      clauses.every(({ field, metadataKey, value }) => {
        const actual = metadataKey ? (item.metadata as Record<string, string> | undefined)?.[metadataKey] : item[field];
        return String(actual) === value;
      }),
    );
    const limit = Math.min(Math.max(int(query.limit, 'limit') ?? 10, 1), 100);
    return { object: 'search_result', data: found.slice(0, limit), has_more: found.length > limit, next_page: null, url: path };
  }

  function getOr404(map: Map<string, StripeObject>, noun: string, id: string): StripeObject {
    const found = map.get(id);
    if (!found) throw missing(noun, id);
    return found;
  }

  function priceWithLookupKey(key: string): StripeObject | undefined {
    return [...prices.values()].find((price) => price.lookup_key === key);
  }

  /** Moves or claims a lookup key the way Stripe does: taken keys need transfer_lookup_key=true. */
  function claimLookupKey(price: StripeObject, key: string | undefined, transfer: boolean | undefined) {
    if (key === undefined) return;
    if (key === '') {
      price.lookup_key = null;
      return;
    }
    const holder = priceWithLookupKey(key);
    if (holder && holder.id !== price.id) {
      if (!transfer)
        throw invalid(`A price (\`${holder.id}\`) already uses that lookup key.`, 'lookup_key', 'lookup_key_in_use' as string);
      holder.lookup_key = null;
    }
    price.lookup_key = key;
  }

  type Handler = (ctx: { params: string[]; body: Nested; query: Nested; path: string; livemode: boolean }) => { status?: number; body: unknown };
  const routes: Array<{ method: string; pattern: RegExp; handler: Handler }> = [];
  const route = (method: string, pattern: string, handler: Handler) =>
    routes.push({ method, pattern: new RegExp(`^${pattern.replace(/:[a-z_]+/g, '([^/]+)')}$`), handler });

  // --- customers
  route('POST', '/v1/customers', ({ body, livemode }) => {
    const customer = build(
      'customer',
      {
        id: newId('cus'),
        email: str(body.email) ?? null,
        name: str(body.name) ?? null,
        description: str(body.description) ?? null,
        metadata: mergeMetadata({}, body.metadata),
        discount: null,
      },
      livemode,
    );
    customers.set(customer.id, customer);
    return { body: customer };
  });
  route('GET', '/v1/customers/:id', ({ params }) => ({ body: getOr404(customers, 'customer', params[0]!) }));
  route('POST', '/v1/customers/:id', ({ params, body }) => {
    const customer = getOr404(customers, 'customer', params[0]!);
    if (body.email !== undefined) customer.email = str(body.email) || null;
    if (body.name !== undefined) customer.name = str(body.name) || null;
    if (body.metadata !== undefined) customer.metadata = mergeMetadata(customer.metadata, body.metadata);
    return { body: customer };
  });

  // --- checkout sessions
  route('POST', '/v1/checkout/sessions', ({ body, livemode }) => {
    const mode = str(body.mode) ?? 'payment';
    const lineItems = Array.isArray(body.line_items) ? body.line_items : [];
    const customer = str(body.customer);
    if (customer && !customers.has(customer)) throw missing('customer', customer, 'customer');
    for (const [index, item] of lineItems.entries()) {
      const priceId = str(obj(item)?.price);
      if (priceId && !prices.has(priceId) && prices.size > 0) throw missing('price', priceId, `line_items[${index}][price]`);
    }
    if (mode !== 'setup' && lineItems.length === 0) throw required('line_items');
    if (!str(body.success_url) && str(body.ui_mode) !== 'embedded') throw required('success_url');
    const id = `cs_${livemode ? 'live' : 'test'}_${randomBytes(24).toString('base64url').replace(/[-_]/g, 'x')}`;
    const session = build(
      'checkout.session',
      {
        id,
        mode,
        customer: customer ?? null,
        customer_email: str(body.customer_email) ?? null,
        client_reference_id: str(body.client_reference_id) ?? null,
        success_url: str(body.success_url) ?? null,
        cancel_url: str(body.cancel_url) ?? null,
        metadata: mergeMetadata({}, body.metadata),
        payment_intent: null,
        subscription: null,
        status: 'open',
        payment_status: 'unpaid',
        expires_at: now() + 24 * 3600,
        url: `https://checkout.stripe.com/c/pay/${id}`,
      },
      livemode,
    );
    checkoutSessions.set(id, session);
    return { body: session };
  });
  route('GET', '/v1/checkout/sessions/:id', ({ params }) => ({ body: getOr404(checkoutSessions, 'checkout.session', params[0]!) }));

  // --- billing portal sessions
  route('POST', '/v1/billing_portal/sessions', ({ body, livemode }) => {
    const customer = str(body.customer);
    if (!customer) throw required('customer');
    if (!customers.has(customer)) throw missing('customer', customer, 'customer');
    const id = newId('bps');
    const session = build(
      'billing_portal.session',
      {
        id,
        customer,
        return_url: str(body.return_url) ?? null,
        flow: null,
        configuration: str(body.configuration) ?? 'bpc_double_default',
        url: `https://billing.stripe.com/p/session/${livemode ? 'live' : 'test'}_${randomBytes(16).toString('base64url')}`,
      },
      livemode,
    );
    portalSessions.set(id, session);
    return { body: session };
  });

  // --- subscriptions
  // Stripe lists newest first; without `status` it leaves out canceled (and incomplete_expired) ones.
  route('GET', '/v1/subscriptions', ({ query, path }) => {
    const status = str(query.status);
    const customer = str(query.customer);
    const items = [...subscriptions.values()]
      .filter((sub) => (status === 'all' ? true : status ? sub.status === status : !['canceled', 'incomplete_expired'].includes(String(sub.status))))
      .filter((sub) => !customer || sub.customer === customer)
      .sort(newestFirst);
    return { body: list(path, items, query) };
  });
  route('GET', '/v1/subscriptions/:id', ({ params }) => ({ body: getOr404(subscriptions, 'subscription', params[0]!) }));
  route('POST', '/v1/subscriptions/:id', ({ params, body }) => {
    const subscription = getOr404(subscriptions, 'subscription', params[0]!);
    const cancel = bool(body.cancel_at_period_end);
    if (cancel !== undefined) subscription.cancel_at_period_end = cancel;
    if (body.metadata !== undefined) subscription.metadata = mergeMetadata(subscription.metadata, body.metadata);
    return { body: subscription };
  });

  // --- products
  const productFields = (product: StripeObject, body: Nested) => {
    if (body.name !== undefined) product.name = str(body.name);
    if (body.description !== undefined) product.description = str(body.description) || null;
    if (body.active !== undefined) product.active = bool(body.active) ?? product.active;
    if (body.metadata !== undefined) product.metadata = mergeMetadata(product.metadata, body.metadata);
    if (body.default_price !== undefined) product.default_price = str(body.default_price) || null;
    product.updated = now();
  };
  route('POST', '/v1/products', ({ body, livemode }) => {
    if (!str(body.name)) throw required('name');
    const id = str(body.id) ?? newId('prod');
    if (products.has(id)) throw invalid(`Product already exists.`, 'id', 'resource_already_exists');
    const product = build(
      'product',
      { id, name: '', description: null, default_price: null, metadata: {}, package_dimensions: null, type: 'service', updated: now() },
      livemode,
    );
    productFields(product, body);
    products.set(id, product);
    return { body: product };
  });
  route('GET', '/v1/products', ({ query, path }) => {
    const active = bool(query.active);
    return { body: list(path, [...products.values()].filter((p) => active === undefined || p.active === active), query) };
  });
  route('GET', '/v1/products/search', ({ query, path }) => ({ body: search(path, [...products.values()], query) }));
  route('GET', '/v1/products/:id', ({ params }) => ({ body: getOr404(products, 'product', params[0]!) }));
  route('POST', '/v1/products/:id', ({ params, body }) => {
    const product = getOr404(products, 'product', params[0]!);
    productFields(product, body);
    return { body: product };
  });

  // --- prices (immutable amounts: only active, lookup_key, metadata, nickname change)
  route('POST', '/v1/prices', ({ body, livemode }) => {
    const currency = str(body.currency);
    if (!currency) throw required('currency');
    const productId = str(body.product);
    if (!productId && !obj(body.product_data)) throw required('product');
    if (productId && !products.has(productId)) throw missing('product', productId, 'product');
    const unitAmount = int(body.unit_amount, 'unit_amount');
    const recurring = obj(body.recurring);
    const usageType = str(recurring?.usage_type) ?? 'licensed';
    const meter = str(recurring?.meter) ?? null;
    if (meter && !meters.has(meter)) throw missing('billing.meter', meter, 'recurring[meter]');
    if (usageType === 'metered' && !meter) throw invalid('Metered prices must have a meter.', 'recurring[meter]');
    const price = build(
      'price',
      {
        id: newId('price'),
        currency: currency.toLowerCase(),
        product: productId,
        unit_amount: unitAmount ?? null,
        unit_amount_decimal: unitAmount === undefined ? null : String(unitAmount),
        nickname: str(body.nickname) ?? null,
        metadata: mergeMetadata({}, body.metadata),
        lookup_key: null,
        active: bool(body.active) ?? true,
        tax_behavior: str(body.tax_behavior) ?? 'unspecified',
        transform_quantity: null,
        type: recurring ? 'recurring' : 'one_time',
        recurring: recurring
          ? {
              interval: str(recurring.interval) ?? 'month',
              interval_count: int(recurring.interval_count, 'recurring[interval_count]') ?? 1,
              meter,
              usage_type: usageType,
              trial_period_days: null,
            }
          : null,
      },
      livemode,
    );
    claimLookupKey(price, str(body.lookup_key), bool(body.transfer_lookup_key));
    prices.set(price.id, price);
    return { body: price };
  });
  route('GET', '/v1/prices', ({ query, path }) => {
    const active = bool(query.active);
    const product = str(query.product);
    const lookupKeys = Array.isArray(query.lookup_keys) ? query.lookup_keys.map(String) : str(query.lookup_keys) ? [str(query.lookup_keys)!] : undefined;
    const items = [...prices.values()].filter(
      (p) =>
        (active === undefined || p.active === active) &&
        (product === undefined || p.product === product) &&
        (lookupKeys === undefined || lookupKeys.includes(String(p.lookup_key))),
    );
    return { body: list(path, items, query) };
  });
  route('GET', '/v1/prices/search', ({ query, path }) => ({ body: search(path, [...prices.values()], query) }));
  route('GET', '/v1/prices/:id', ({ params }) => ({ body: getOr404(prices, 'price', params[0]!) }));
  route('POST', '/v1/prices/:id', ({ params, body }) => {
    const price = getOr404(prices, 'price', params[0]!);
    for (const immutable of ['unit_amount', 'currency', 'recurring', 'product']) {
      if (body[immutable] !== undefined) throw invalid(`Received unknown parameter: ${immutable}`, immutable, 'parameter_unknown');
    }
    if (body.active !== undefined) price.active = bool(body.active) ?? price.active;
    if (body.nickname !== undefined) price.nickname = str(body.nickname) || null;
    if (body.metadata !== undefined) price.metadata = mergeMetadata(price.metadata, body.metadata);
    claimLookupKey(price, str(body.lookup_key), bool(body.transfer_lookup_key));
    return { body: price };
  });

  // --- billing meters
  route('POST', '/v1/billing/meters', ({ body, livemode }) => {
    const displayName = str(body.display_name);
    const eventName = str(body.event_name);
    if (!displayName) throw required('display_name');
    if (!eventName) throw required('event_name');
    const formula = str(obj(body.default_aggregation)?.formula);
    if (!formula) throw required('default_aggregation[formula]');
    if (!['sum', 'count', 'last'].includes(formula)) throw invalid(`Invalid default_aggregation[formula]: must be one of sum, count, or last`, 'default_aggregation[formula]');
    if ([...meters.values()].some((m) => m.event_name === eventName && m.status === 'active'))
      throw invalid(`An active meter with event_name \`${eventName}\` already exists.`, 'event_name', 'resource_already_exists');
    const mapping = obj(body.customer_mapping);
    const meter = build(
      'billing.meter',
      {
        id: newId('mtr'),
        display_name: displayName,
        event_name: eventName,
        default_aggregation: { formula },
        customer_mapping: { event_payload_key: str(mapping?.event_payload_key) ?? 'stripe_customer_id', type: str(mapping?.type) ?? 'by_id' },
        value_settings: { event_payload_key: str(obj(body.value_settings)?.event_payload_key) ?? 'value' },
        event_time_window: str(body.event_time_window) ?? null,
        status: 'active',
        status_transitions: { deactivated_at: null },
        updated: now(),
      },
      livemode,
    );
    meters.set(meter.id, meter);
    return { body: meter };
  });
  route('GET', '/v1/billing/meters', ({ query, path }) => {
    const status = str(query.status);
    return { body: list(path, [...meters.values()].filter((m) => !status || m.status === status), query) };
  });
  route('GET', '/v1/billing/meters/:id', ({ params }) => ({ body: getOr404(meters, 'billing.meter', params[0]!) }));
  route('POST', '/v1/billing/meters/:id', ({ params, body }) => {
    const meter = getOr404(meters, 'billing.meter', params[0]!);
    for (const key of Object.keys(body)) {
      if (key !== 'display_name' && key !== 'expand') throw invalid(`Received unknown parameter: ${key}`, key, 'parameter_unknown');
    }
    if (body.display_name !== undefined) meter.display_name = str(body.display_name);
    meter.updated = now();
    return { body: meter };
  });
  route('POST', '/v1/billing/meters/:id/deactivate', ({ params }) => {
    const meter = getOr404(meters, 'billing.meter', params[0]!);
    meter.status = 'inactive';
    meter.status_transitions = { deactivated_at: now() };
    meter.updated = now();
    return { body: meter };
  });
  route('POST', '/v1/billing/meters/:id/reactivate', ({ params }) => {
    const meter = getOr404(meters, 'billing.meter', params[0]!);
    meter.status = 'active';
    meter.updated = now();
    return { body: meter };
  });

  // --- meter events: `identifier` is unique for a rolling 24 h; a repeat is a 400, not a replay.
  route('POST', '/v1/billing/meter_events', ({ body, livemode }) => {
    const eventName = str(body.event_name);
    if (!eventName) throw required('event_name');
    const payload = obj(body.payload);
    if (!payload) throw required('payload');
    const timestamp = int(body.timestamp, 'timestamp') ?? now();
    if (timestamp < now() - 35 * 86_400 || timestamp > now() + 300)
      throw invalid('Timestamp must be within the past 35 calendar days or up to 5 minutes in the future.', 'timestamp', 'timestamp_outside_window' as string);
    const identifier = str(body.identifier) ?? newId('mev');
    const seen = meterEventIdentifiers.get(identifier);
    if (seen !== undefined && Date.now() - seen < 24 * 3600 * 1000)
      throw new StripeHttpError(400, { type: 'invalid_request_error', message: `An event already exists with identifier ${identifier}.`, param: 'identifier' });
    meterEventIdentifiers.set(identifier, Date.now());
    const event = { ...template('billing.meter_event'), created: now(), livemode, event_name: eventName, identifier, payload, timestamp } as unknown as StripeObject;
    meterEvents.push(event);
    return { body: event };
  });

  // --- events (the last 30 days, newest first), filtered by type(s) and created range
  route('GET', '/v1/events', ({ query, path }) => {
    const type = str(query.type);
    const types = Array.isArray(query.types) ? query.types.map(String) : undefined;
    const created = obj(query.created);
    const gte = created ? int(created.gte, 'created[gte]') : int(query.created, 'created');
    const gt = created ? int(created.gt, 'created[gt]') : undefined;
    const items = events
      .filter((e) => (!type || e.type === type) && (!types || types.includes(String(e.type))))
      .filter((e) => (gte === undefined || Number(e.created) >= gte) && (gt === undefined || Number(e.created) > gt))
      .filter((e) => Number(e.created) >= now() - 30 * 86_400)
      .sort(newestFirst);
    return { body: list(path, items, query) };
  });

  // --- balance: the cheapest authenticated read (used to check a key and its mode)
  route('GET', '/v1/balance', ({ livemode }) => ({
    body: { object: 'balance', available: [{ amount: 0, currency: 'usd', source_types: { card: 0 } }], pending: [], livemode },
  }));

  function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const path = url.pathname;
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v]));
    const recorded: RecordedRequest = {
      method,
      path,
      query: parseStripeForm(url.search.slice(1)),
      body: parseStripeForm(rawBody),
      rawBody,
      headers,
      idempotencyKey: headers['idempotency-key'],
      stripeVersion: headers['stripe-version'],
      authorization: headers.authorization,
      status: 0,
    };
    requests.push(recorded);
    const requestId = `req_${randomBytes(7).toString('hex')}`;
    const version = recorded.stripeVersion ?? DOUBLE_DEFAULT_API_VERSION;
    const common = { 'request-id': requestId, 'stripe-version': version };
    const reply = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      recorded.status = status;
      sendJson(res, status, body, { ...common, ...extra });
    };
    const replyError = (status: number, error: StripeErrorBody, extra: Record<string, string> = {}) =>
      reply(status, { error: { ...error, request_log_url: `https://dashboard.stripe.com/test/logs/${requestId}` } }, extra);

    const key = /^Bearer (.+)$/.exec(recorded.authorization ?? '')?.[1] ?? basicUser(recorded.authorization);
    if (!key)
      return replyError(401, {
        type: 'invalid_request_error',
        message: 'You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth.',
      });
    if (!acceptKey(key))
      return replyError(401, { type: 'invalid_request_error', code: 'api_key_invalid' as string, message: `Invalid API Key provided: ${key.slice(0, 8)}${'*'.repeat(Math.max(0, key.length - 12))}${key.slice(-4)}` });
    const livemode = /^(sk|rk)_live_/.test(key);

    const failure = failures.find((f) => f.remaining > 0 && f.match(method, path));
    if (failure) {
      failure.remaining -= 1;
      return replyError(failure.status, failure.error, failure.status >= 500 || failure.status === 429 ? { 'stripe-should-retry': 'true' } : {});
    }

    const idempotencyKey = recorded.idempotencyKey;
    const slot = method === 'POST' && idempotencyKey ? `${key} ${idempotencyKey}` : undefined;
    const signature = `${method} ${path} ${canonical(recorded.body)}`;
    if (slot) {
      const previous = idempotent.get(slot);
      if (previous) {
        if (previous.signature !== signature)
          return replyError(400, {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${idempotencyKey}' if you meant to execute a different request.`,
          });
        return reply(previous.status, previous.body, { 'idempotency-key': idempotencyKey!, 'idempotent-replayed': 'true' });
      }
    }

    const candidates = routes.filter((r) => r.pattern.test(path));
    const match = candidates.find((r) => r.method === method);
    if (!match)
      return replyError(404, {
        type: 'invalid_request_error',
        message: `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      });
    try {
      const params = match.pattern.exec(path)!.slice(1).map(decodeURIComponent);
      const result = match.handler({ params, body: recorded.body, query: recorded.query, path, livemode });
      const status = result.status ?? 200;
      // Stripe saves a result once the endpoint started executing; validation failures are not saved.
      if (slot) idempotent.set(slot, { signature, status, body: structuredClone(result.body) });
      return reply(status, result.body, idempotencyKey ? { 'idempotency-key': idempotencyKey } : {});
    } catch (error) {
      if (error instanceof StripeHttpError) return replyError(error.status, error.body);
      return replyError(500, { type: 'api_error', message: `double crashed: ${(error as Error).message}` });
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { type: 'api_error', message: String(error) } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  function findSubscription(id: string) {
    return getOr404(subscriptions, 'subscription', id);
  }

  return {
    url,
    host: '127.0.0.1',
    port,
    requests,
    requestsTo: (path, method) => requests.filter((r) => r.path === path && (!method || r.method === method.toUpperCase())),
    stripe: (clientOptions = {}) =>
      createStripeClient({
        secretKey: clientOptions.secretKey ?? 'sk_test_double_0000000000000000',
        apiVersion: clientOptions.apiVersion ?? DOUBLE_DEFAULT_API_VERSION,
        apiBaseUrl: url,
        maxNetworkRetries: clientOptions.maxNetworkRetries ?? 0,
        timeoutMs: 5_000,
      }),
    failNext(path, status = 500, times = 1, error = {}) {
      const match =
        path instanceof RegExp
          ? (_method: string, p: string) => path.test(p)
          : (() => {
              const [first, second] = path.split(' ');
              return second ? (m: string, p: string) => m === first!.toUpperCase() && p === second : (_m: string, p: string) => p === first;
            })();
      const type: StripeErrorBody['type'] = status === 429 ? 'rate_limit_error' : status === 401 ? 'authentication_error' : status >= 500 ? 'api_error' : 'invalid_request_error';
      failures.push({
        match,
        status,
        remaining: times,
        error: { type, message: status >= 500 ? 'An unknown error occurred (injected by the double).' : 'Injected failure.', ...error },
      });
    },
    putSubscription(fields) {
      const id = fields.id ?? newId('sub');
      const subscription = { ...template('subscription'), created: now(), metadata: {}, ...fields, id, object: 'subscription' } as StripeObject;
      inserted.set(subscription, ++insertion);
      subscriptions.set(id, subscription);
      return subscription;
    },
    updateSubscription(id, fields) {
      const subscription = findSubscription(id);
      Object.assign(subscription, fields);
      return subscription;
    },
    putEvent(event) {
      const stored = structuredClone(event) as StripeObject;
      inserted.set(stored, ++insertion);
      events.push(stored);
      return stored;
    },
    events,
    customers,
    checkoutSessions,
    portalSessions,
    subscriptions,
    products,
    prices,
    meters,
    meterEvents,
    clearRequests() {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function basicUser(authorization: string | undefined): string | undefined {
  const encoded = /^Basic (.+)$/.exec(authorization ?? '')?.[1];
  if (!encoded) return undefined;
  return Buffer.from(encoded, 'base64').toString('utf8').split(':')[0] || undefined;
}

/** Order-insensitive form of a parsed body, to compare idempotent requests. */
function canonical(value: NestedValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(value[k]!)}`)
    .join(',')}}`;
}
