import type { Catalog } from '@verifieddit/contracts';

/*
 * The contracts' catalogSchema as plain checks, for a stored catalog as put() wrote it (the
 * schema's output): true only when the schema would accept it and return it unchanged, so the first
 * webhook need not compile classic zod. False only means "parse it with the schema".
 */
type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasExactly = (v: Json, required: string[], optional: string[] = []) =>
  required.every((k) => Object.hasOwn(v, k)) && Object.keys(v).every((k) => required.includes(k) || optional.includes(k));
const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const isSlug = (v: unknown) => typeof v === 'string' && SLUG.test(v);
const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isPrice = (v: unknown) =>
  isObject(v) && hasExactly(v, ['lookupKey', 'currency', 'amount', 'interval']) && isSlug(v.lookupKey) &&
  typeof v.currency === 'string' && /^[a-z]{3}$/.test(v.currency) && isCount(v.amount) && ['day', 'week', 'month', 'year'].includes(v.interval as string);
const isPlan = (v: unknown) =>
  isObject(v) && hasExactly(v, ['id', 'name', 'features', 'prices', 'quotas']) && isSlug(v.id) && typeof v.name === 'string' && v.name.length >= 1 &&
  Array.isArray(v.features) && v.features.every(isSlug) && Array.isArray(v.prices) && v.prices.every(isPrice) &&
  isObject(v.quotas) && hasExactly(v.quotas, ['aiDetectionsPerMonth']) && isCount(v.quotas.aiDetectionsPerMonth);
const isMeter = (v: unknown) =>
  isObject(v) && hasExactly(v, ['eventName', 'displayName', 'aggregation']) && typeof v.eventName === 'string' && /^[a-z0-9][a-z0-9_.-]{0,99}$/.test(v.eventName) &&
  typeof v.displayName === 'string' && v.displayName.length >= 1 && v.displayName.length <= 250 && ['sum', 'count', 'last'].includes(v.aggregation as string);
const distinct = (keys: unknown[]) => new Set(keys).size === keys.length;

export function isParsedCatalog(v: unknown): v is Catalog {
  if (!isObject(v) || !hasExactly(v, ['plans', 'meters'], ['$schema']) || (v.$schema !== undefined && typeof v.$schema !== 'string')) return false;
  const { plans, meters } = v;
  if (!Array.isArray(plans) || plans.length < 1 || !plans.every(isPlan) || !Array.isArray(meters) || !meters.every(isMeter)) return false;
  const typedPlans = plans as Catalog['plans'];
  return distinct(typedPlans.map((p) => p.id)) && distinct(typedPlans.flatMap((p) => p.prices.map((price) => price.lookupKey))) && distinct((meters as Catalog['meters']).map((m) => m.eventName));
}
