import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import type { KeptEvent } from '../ports.js';

/**
 * What a signed Stripe event must look like before we store it. A valid signature proves who sent
 * the bytes, not that they can be stored (PostgreSQL refuses NUL and lone surrogates in jsonb, and a
 * fractional `created` in a bigint) or applied (the mapping reads these fields). An event failing
 * here can never succeed, so it is refused with 400 instead of a 503 that Stripe would retry for days.
 *
 * zod/mini, not classic zod: this runs before the first webhook is answered (issue 11), and the
 * config's zod/mini is compiled by then anyway. The checks are classic's (`.int()` is `z.int()`,
 * `.min()` `z.minimum`/`z.minLength`), so the messages are the same.
 */

/** Far deeper than any Stripe event; also keeps the recursive JSON.stringify of the payload safe. */
const MAX_DEPTH = 64;

/** zod/mini sets no language (classic zod makes English the default on first use): the reasons are read by people. */
const english = { error: en().localeError };

const storableText = z.string().check(z.minLength(1), z.maxLength(255));
const unixSeconds = z.number().check(z.int(), z.minimum(0), z.maximum(Number.MAX_SAFE_INTEGER));
const metadata = z.nullish(z.record(z.string(), z.string()));
const expandable = z.nullish(z.union([z.string(), z.looseObject({ id: z.string() })]));

const envelope = z.looseObject({
  id: storableText,
  object: z.optional(z.literal('event')),
  type: storableText,
  created: unixSeconds,
  api_version: z.nullish(z.string()),
  livemode: z.optional(z.boolean()),
  data: z.looseObject({ object: z.looseObject({}) }),
});

const subscription = z.looseObject({
  id: z.string().check(z.minLength(1)),
  status: z.string(),
  customer: expandable,
  metadata,
  cancel_at_period_end: z.nullish(z.boolean()),
  items: z.nullish(
    z.looseObject({
      data: z.array(
        z.looseObject({
          current_period_end: z.nullish(unixSeconds),
          price: z.nullish(z.looseObject({ id: z.optional(z.string()), lookup_key: z.nullish(z.string()) })),
        }),
      ),
    }),
  ),
});

const checkoutSession = z.looseObject({
  mode: z.string(),
  customer: expandable,
  subscription: expandable,
  metadata,
  client_reference_id: z.nullish(z.string()),
});

/** The object schema for each event type whose object we read; other types are only stored. */
const objectSchemas: Record<string, z.ZodMiniType> = {
  'customer.subscription.created': subscription,
  'customer.subscription.updated': subscription,
  'customer.subscription.deleted': subscription,
  'checkout.session.completed': checkoutSession,
};

export interface EventProblem {
  /** A sentence for the sender and the operator, naming the field. */
  reason: string;
  /** Enough to keep a record of the event, when its id can itself be stored. */
  keep?: KeptEvent;
}

/** Lone surrogates: with the u flag a well-formed pair is one code point, so only unpaired halves match. */
const LONE_SURROGATE = /\p{Cs}/u;
const isStorableString = (value: string) => !value.includes('\u0000') && !LONE_SURROGATE.test(value);

/** The first string (key or value) PostgreSQL would refuse, or nesting past MAX_DEPTH; iterative so depth cannot overflow the stack. */
function unstorable(root: unknown): string | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value: root, path: '', depth: 0 }];
  while (stack.length) {
    const { value, path, depth } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return `${path || 'the payload'} contains a NUL character (\\u0000)`;
      if (LONE_SURROGATE.test(value)) return `${path || 'the payload'} contains an unpaired UTF-16 surrogate`;
      continue;
    }
    if (!value || typeof value !== 'object') continue;
    if (depth >= MAX_DEPTH) return `${path} is nested deeper than ${MAX_DEPTH} levels`;
    for (const [key, child] of Object.entries(value)) {
      const childPath = Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (!isStorableString(key)) return `${path || 'the payload'} has a key that contains a NUL character or an unpaired surrogate`;
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return undefined;
}

const describe = (issue: z.core.$ZodIssue, prefix: string) => {
  const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
  return `${path || 'the payload'}: ${issue.message}`;
};

/**
 * In JSON text decoded from UTF-8 a string can hold a NUL or a lone surrogate only through a \\u
 * escape (raw control characters are not JSON, and the decoder replaces ill-formed bytes), so text
 * without such an escape needs no look at its strings. A match (say an escaped emoji) only means look.
 */
const MAY_ESCAPE_UNSTORABLE = /\\u(?:0000|[dD][89a-fA-F])/;

/** Whether anything nests MAX_DEPTH levels deep; the recursion stops there. */
function tooDeep(value: unknown, depth: number): boolean {
  if (!value || typeof value !== 'object') return false;
  if (depth >= MAX_DEPTH) return true;
  for (const child of Array.isArray(value) ? value : Object.values(value)) if (tooDeep(child, depth + 1)) return true;
  return false;
}

/**
 * Why this parsed, signed payload can never be stored or applied; undefined when it can. `jsonText`,
 * the text it was parsed from, lets a payload without suspicious escapes skip the walk over its strings.
 */
export function stripeEventProblem(payload: unknown, jsonText?: string): EventProblem | undefined {
  if (jsonText !== undefined && !MAY_ESCAPE_UNSTORABLE.test(jsonText) && !tooDeep(payload, 0) && plainlyValid(payload)) return undefined;
  const keep = keepable(payload);
  const withKeep = (reason: string): EventProblem => (keep ? { reason, keep } : { reason });
  const bad = unstorable(payload);
  if (bad) return withKeep(bad);
  const parsed = envelope.safeParse(payload, english);
  if (!parsed.success) return withKeep(describe(parsed.error.issues[0]!, ''));
  const schema = Object.hasOwn(objectSchemas, parsed.data.type) ? objectSchemas[parsed.data.type] : undefined;
  if (schema) {
    const object = schema.safeParse(parsed.data.data.object, english);
    if (!object.success) return withKeep(describe(object.error.issues[0]!, 'data.object'));
  }
  return undefined;
}

/** The id, type and time of an invalid event, when the id at least is a string we can store. */
function keepable(payload: unknown): EventProblem['keep'] {
  if (!payload || typeof payload !== 'object') return undefined;
  const { id, type, created } = payload as Record<string, unknown>;
  if (typeof id !== 'string' || !storableText.safeParse(id).success || !isStorableString(id)) return undefined;
  return {
    id,
    type: typeof type === 'string' && storableText.safeParse(type).success && isStorableString(type) ? type : '(invalid)',
    created: unixSeconds.safeParse(created).success ? (created as number) : 0,
  };
}

/*
 * The schemas above as plain checks, for the common case of an event that passes them: zod builds a
 * copy of every object it checks, which cost more than everything else the ack does in JavaScript.
 * Each check is at least as strict as its schema (event-shape.test.ts holds them to that), so a false
 * only means "ask zod", which then also names the problem.
 */
type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const absent = (v: unknown) => v === undefined || v === null;
const isText = (v: unknown) => typeof v === 'string' && v.length >= 1 && v.length <= 255;
const isUnixSeconds = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isExpandable = (v: unknown) => absent(v) || typeof v === 'string' || (isObject(v) && typeof v.id === 'string');
const isMetadata = (v: unknown) => absent(v) || (isObject(v) && Object.values(v).every((value) => typeof value === 'string'));
const isPrice = (v: unknown) => absent(v) || (isObject(v) && (v.id === undefined || typeof v.id === 'string') && (absent(v.lookup_key) || typeof v.lookup_key === 'string'));
const isItem = (v: unknown) => isObject(v) && (absent(v.current_period_end) || isUnixSeconds(v.current_period_end)) && isPrice(v.price);

const plainObjectChecks: Record<string, (object: Json) => boolean> = {
  'customer.subscription.created': isSubscription,
  'customer.subscription.updated': isSubscription,
  'customer.subscription.deleted': isSubscription,
  'checkout.session.completed': (o) =>
    typeof o.mode === 'string' && isExpandable(o.customer) && isExpandable(o.subscription) && isMetadata(o.metadata) && (absent(o.client_reference_id) || typeof o.client_reference_id === 'string'),
};

function isSubscription(o: Json): boolean {
  const items = o.items;
  return (
    typeof o.id === 'string' && o.id.length >= 1 && typeof o.status === 'string' && isExpandable(o.customer) && isMetadata(o.metadata) &&
    (absent(o.cancel_at_period_end) || typeof o.cancel_at_period_end === 'boolean') &&
    (absent(items) || (isObject(items) && Array.isArray(items.data) && items.data.every(isItem)))
  );
}

/** True only when the envelope and its object's schema both accept the payload. */
export function plainlyValid(payload: unknown): boolean {
  if (!isObject(payload) || !isText(payload.id) || !isText(payload.type) || !isUnixSeconds(payload.created)) return false;
  if (!(payload.object === undefined || payload.object === 'event') || !(absent(payload.api_version) || typeof payload.api_version === 'string')) return false;
  if (!(payload.livemode === undefined || typeof payload.livemode === 'boolean')) return false;
  const data = payload.data;
  if (!isObject(data) || !isObject(data.object)) return false;
  const check = Object.hasOwn(plainObjectChecks, payload.type as string) ? plainObjectChecks[payload.type as string] : undefined;
  return check ? check(data.object) : !Object.hasOwn(objectSchemas, payload.type as string);
}
