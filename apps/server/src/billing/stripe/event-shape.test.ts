import { describe, expect, it } from 'vitest';
import { stripeEvent, type EventFixture } from '../../testing/stripe-events.js';
import { plainlyValid, stripeEventProblem } from './event-shape.js';

const FIXTURES: EventFixture[] = [
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.created.unmapped',
  'customer.subscription.updated',
  'customer.subscription.updated.cancel-at-period-end',
  'customer.subscription.updated.past-due',
  'customer.subscription.deleted',
  'invoice.paid.ignored',
];

type Spoil = (e: Record<string, any>) => void;
const nested = (depth: number): unknown => (depth === 0 ? 'bottom' : { deeper: nested(depth - 1) });

/** Changes to a subscription event, valid or not: the plain checks must agree with the schemas on each. */
const SUBSCRIPTION_VARIANTS: [string, Spoil][] = [
  ['as sent', () => {}],
  ['no object field', (e) => delete e.object],
  ['another object', (e) => (e.object = 'charge')],
  ['an empty id', (e) => (e.id = '')],
  ['an id of 256 characters', (e) => (e.id = `evt_${'x'.repeat(252)}`)],
  ['an id of 255 characters', (e) => (e.id = `evt_${'x'.repeat(251)}`)],
  ['a numeric id', (e) => (e.id = 42)],
  ['a type of 256 characters', (e) => (e.type = 't'.repeat(256))],
  ['a negative created', (e) => (e.created = -1)],
  ['a created past the safe integers', (e) => (e.created = 2 ** 53)],
  ['a fractional created', (e) => (e.created = 1.5)],
  ['a created as a string', (e) => (e.created = '1763650000')],
  ['a null api_version', (e) => (e.api_version = null)],
  ['a numeric api_version', (e) => (e.api_version = 20_251_117)],
  ['a livemode that is a string', (e) => (e.livemode = 'false')],
  ['a null livemode', (e) => (e.livemode = null)],
  ['no data', (e) => delete e.data],
  ['data that is an array', (e) => (e.data = [e.data])],
  ['an object that is an array', (e) => (e.data.object = [1])],
  ['an object that is null', (e) => (e.data.object = null)],
  ['an empty subscription id', (e) => (e.data.object.id = '')],
  ['a numeric status', (e) => (e.data.object.status = 7)],
  ['an expanded customer', (e) => (e.data.object.customer = { id: 'cus_1', email: 'a@b.test' })],
  ['an expanded customer without an id', (e) => (e.data.object.customer = { email: 'a@b.test' })],
  ['a null customer', (e) => (e.data.object.customer = null)],
  ['a numeric customer', (e) => (e.data.object.customer = 1)],
  ['null metadata', (e) => (e.data.object.metadata = null)],
  ['metadata that is an array', (e) => (e.data.object.metadata = ['a'])],
  ['a metadata value that is a list', (e) => (e.data.object.metadata.features = ['ai-detect'])],
  ['a metadata value that is null', (e) => (e.data.object.metadata.features = null)],
  ['a null cancel_at_period_end', (e) => (e.data.object.cancel_at_period_end = null)],
  ['a cancel_at_period_end that is a string', (e) => (e.data.object.cancel_at_period_end = 'yes')],
  ['null items', (e) => (e.data.object.items = null)],
  ['items without data', (e) => delete e.data.object.items.data],
  ['an item that is a string', (e) => (e.data.object.items.data = ['si_1'])],
  ['a fractional item period end', (e) => (e.data.object.items.data[0].current_period_end = 1766242000.5)],
  ['a null item period end', (e) => (e.data.object.items.data[0].current_period_end = null)],
  ['a null price', (e) => (e.data.object.items.data[0].price = null)],
  ['a price with a null id', (e) => (e.data.object.items.data[0].price.id = null)],
  ['a price without an id', (e) => delete e.data.object.items.data[0].price.id],
  ['a numeric lookup key', (e) => (e.data.object.items.data[0].price.lookup_key = 5)],
  ['a type the schemas do not know', (e) => (e.type = 'invoice.created')],
  ['a type named like an Object method', (e) => (e.type = 'constructor')],
];

const CHECKOUT_VARIANTS: [string, Spoil][] = [
  ['as sent', () => {}],
  ['no mode', (e) => delete e.data.object.mode],
  ['an expanded subscription', (e) => (e.data.object.subscription = { id: 'sub_1' })],
  ['a numeric subscription', (e) => (e.data.object.subscription = 9)],
  ['a null client_reference_id', (e) => (e.data.object.client_reference_id = null)],
  ['a numeric client_reference_id', (e) => (e.data.object.client_reference_id = 3)],
  ['a metadata value that is a number', (e) => (e.data.object.metadata = { account_id: 1 })],
];

/** Strings and nesting PostgreSQL would refuse: what the text check must not let through. */
const UNSTORABLE_VARIANTS: [string, Spoil][] = [
  ['a NUL in a value', (e) => (e.data.object.metadata.features = 'ai-detect\u0000')],
  ['a NUL in a key', (e) => (e.data.object.metadata['bad\u0000key'] = 'x')],
  ['an unpaired high surrogate', (e) => (e.data.object.metadata.note = 'x\ud800y')],
  ['an unpaired low surrogate', (e) => (e.data.object.metadata.note = 'x\udfffy')],
  ['a well-formed pair, escaped', (e) => (e.data.object.metadata.note = 'smile \u{1F600}')],
  ['nesting 64 levels deep', (e) => (e.data.object.metadata = nested(61))],
  ['nesting 200 levels deep', (e) => (e.data.object.metadata = nested(200))],
];

const variant = (fixture: EventFixture, spoil: Spoil) => {
  const event = stripeEvent(fixture);
  spoil(event);
  return event;
};

describe('the event shape check', () => {
  it.each(FIXTURES)('takes the plain path for the %s fixture', (fixture) => {
    const event = stripeEvent(fixture);
    expect(plainlyValid(event)).toBe(true);
    expect(stripeEventProblem(event, JSON.stringify(event))).toBeUndefined();
  });

  it.each([
    ...SUBSCRIPTION_VARIANTS.map(([name, spoil]) => [`subscription event with ${name}`, variant('customer.subscription.updated', spoil)] as const),
    ...CHECKOUT_VARIANTS.map(([name, spoil]) => [`checkout completion with ${name}`, variant('checkout.session.completed', spoil)] as const),
  ])('agrees with the schemas on a %s', (_name, event) => {
    // The schemas are the rule: the plain checks may only say yes where they do.
    expect(plainlyValid(event)).toBe(stripeEventProblem(event) === undefined);
    expect(stripeEventProblem(event, JSON.stringify(event))).toEqual(stripeEventProblem(event));
  });

  it.each(UNSTORABLE_VARIANTS)('finds the same problem with and without the JSON text for %s', (_name, spoil) => {
    const event = variant('customer.subscription.updated', spoil);
    const text = JSON.stringify(event);
    expect(stripeEventProblem(event, text)).toEqual(stripeEventProblem(event));
  });

  it('refuses what PostgreSQL would refuse even when the JSON text is given', () => {
    const withNul = variant('customer.subscription.updated', (e) => (e.data.object.metadata.features = 'ai-detect\u0000'));
    expect(stripeEventProblem(withNul, JSON.stringify(withNul))?.reason).toContain('contains a NUL character');
    const deep = variant('customer.subscription.updated', (e) => (e.data.object.metadata = nested(200)));
    expect(stripeEventProblem(deep, JSON.stringify(deep))?.reason).toContain('nested deeper than 64 levels');
  });
});
