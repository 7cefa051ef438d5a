import * as z from 'zod/mini';

/** Field types shared by the environment schema (schema.ts). An empty or blank variable counts as unset. */

const emptyToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

/** `schema`, with a blank value first made undefined (classic zod's z.preprocess(emptyToUndefined, schema)). */
export const blankAsUnset = <S extends z.core.$ZodType>(schema: S): z.ZodMiniPipe<z.ZodMiniTransform, S> => z.pipe(z.transform(emptyToUndefined), schema);

export const optionalString = blankAsUnset(z.optional(z.string()));

/** A secret key of a given form; a publishable key (pk_…) is refused with the reason. */
export function keyOfForm(name: string, forms: { prefixes: string[]; describe: string }) {
  return blankAsUnset(
    z.optional(z.string()).check(
      z.superRefine((value, ctx) => {
        if (value === undefined) return;
        if (/\s/.test(value)) {
          ctx.addIssue({ code: 'custom', message: 'contains white space' });
          return;
        }
        if (value.startsWith('pk_')) {
          ctx.addIssue({
            code: 'custom',
            message: `holds a publishable key (pk_…); ${name} must be the secret key (${forms.describe}) — publishable keys are for browsers and cannot call the API`,
          });
          return;
        }
        if (!forms.prefixes.some((prefix) => value.startsWith(prefix))) {
          ctx.addIssue({ code: 'custom', message: `must start with ${forms.describe}` });
        }
      }),
    ),
  );
}

export const commaList = z.pipe(
  z.transform((value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean)
      : value,
  ),
  z.array(z.string()),
);

export const originList = z.pipe(
  commaList,
  z.array(
    z.string().check(
      z.refine((value) => {
        try {
          const url = new URL(value);
          return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value.replace(/\/$/, '');
        } catch {
          return false;
        }
      }, 'must be a comma-separated list of origins like https://verifieddit.com (scheme, host and optional port, no path)'),
    ),
  ),
);

export const httpUrl = blankAsUnset(
  z.optional(
    z.string().check(
      z.url(),
      z.refine((value) => /^https?:\/\//.test(value), 'must be an http(s) URL'),
    ),
  ),
);

/** An integer variable, coerced from its text by z.coerce.number() (so a blank one is 0), with more checks. */
export const integer = (...checks: z.core.$ZodCheck<number>[]) => z.coerce.number().check(z.int(), ...checks);
