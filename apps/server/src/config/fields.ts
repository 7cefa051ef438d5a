import { z } from 'zod';

/** Field types shared by the environment schema (schema.ts). An empty or blank variable counts as unset. */

export const emptyToUndefined = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

export const optionalString = z.preprocess(emptyToUndefined, z.string().optional());

/** A secret key of a given form; a publishable key (pk_…) is refused with the reason. */
export function keyOfForm(name: string, forms: { prefixes: string[]; describe: string }) {
  return z.preprocess(
    emptyToUndefined,
    z
      .string()
      .optional()
      .superRefine((value, ctx) => {
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
  );
}

export const commaList = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean)
      : value,
  z.array(z.string()),
);

export const originList = commaList.pipe(
  z.array(
    z.string().refine((value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value.replace(/\/$/, '');
      } catch {
        return false;
      }
    }, 'must be a comma-separated list of origins like https://verifieddit.com (scheme, host and optional port, no path)'),
  ),
);

export const httpUrl = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .url()
    .refine((value) => /^https?:\/\//.test(value), 'must be an http(s) URL')
    .optional(),
);
