// The repository's lint: typescript-eslint with type information, and the dependency rules that keep
// the server's domains one-way. `pnpm lint` runs it (with knip for dead code); CI runs `pnpm lint`.
import tseslint from 'typescript-eslint';

const server = 'apps/server/src';
const restrict = (...patterns) => ['error', { patterns }];

/** Composition roots and operator tooling: they pick implementations, so they may name adapters. */
const compositionRoots = [`${server}/bootstrap.ts`, `${server}/**/wiring.ts`, `${server}/cli/**`, `${server}/testing/**`, `${server}/**/*.test.ts`];

const stripeOnlyInAdapter = {
  regex: '^stripe(/.*)?$',
  message: 'Only src/billing/stripe/ may import `stripe`; depend on the ports in billing/ports.ts.',
};
const noForeignAdapter = {
  regex: String.raw`/(billing/(stripe|local)|ai-detect/sightengine)(/|\.js$)`,
  message: 'Depend on the domain’s ports.ts; only wiring.ts, bootstrap.ts, the CLI and tests pick adapters.',
};
/** One data-access style (issue 10): raw SQL with rows typed from the schema; drizzle only describes the tables. */
const drizzleOnlyInSchema = {
  regex: '^drizzle-orm(/.*)?$',
  message: 'Query with store.query<Pick<Rows[…], …>>(sql) (store/rows.ts); drizzle-orm belongs to store/schema.ts and rows.ts only.',
};
const schemaFiles = [`${server}/store/schema.ts`, `${server}/store/rows.ts`, `${server}/store/schema.test.ts`];
/**
 * What the server compiles before it listens (main.ts and its static imports; tsup splits the rest into
 * chunks loaded after): a cold start waits on all of it (issue 11), so none of it loads classic zod,
 * tRPC or the contracts' schemas. A file main.ts comes to import belongs on this list.
 */
const beforeListen = ['main.ts', 'startup.ts', 'config.ts', 'config/*.ts', 'logger.ts', 'http/starting.ts', 'server.ts', 'errors.ts', 'http/errors.ts', 'http/request-context.ts', 'store/embedded-lock.ts', 'version.ts', 'roles.ts'].map((file) => `${server}/${file}`);
const lightBeforeListen = {
  regex: String.raw`^(zod(/v4(/classic)?)?|@trpc/.*|@verifieddit/contracts)$`,
  allowTypeImports: true,
  message: 'Compiled before the server listens or answers its first webhook: use zod/mini, @verifieddit/contracts/error-codes or /statuses, no tRPC (types only), and import() what is needed later.',
};
/**
 * What the first Stripe delivery waits for (webhooks-first.ts and its static imports, served before the
 * rest loads): the same rule. A dynamic import() is allowed, e.g. the catalog schema, parsed when a catalog is read.
 */
const webhookPath = ['webhooks-first.ts', 'billing/**/*.ts', 'webhooks/**/*.ts', 'store/**/*.ts', 'jobs/*.ts', 'http/body.ts', 'http/error-mapping.ts', 'http/limits.ts', 'http/methods.ts'].map((file) => `${server}/${file}`);
/** `files` of a config object narrowed to the webhook path (an inner array matches files matching all its globs). */
const onWebhookPath = (files) => files.flatMap((file) => webhookPath.map((path) => [file, path]));
const noAiDetectInBilling = {
  regex: String.raw`(^|/)ai-detect/`,
  message: 'Billing must not depend on AI detection; money flows through billing/ports.ts (UsageLedger).',
};

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '**/*.js', '**/*.mjs', '**/*.cjs', 'packages/client/scripts/consumer/**', 'apps/demo/**', '**/vitest.config.ts', '**/tsup.config.ts', 'vitest.shared.ts'],
  },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts', '**/*.cts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-restricted-imports': restrict(stripeOnlyInAdapter, drizzleOnlyInSchema),
    },
  },
  {
    files: [`${server}/billing/stripe/**`, `${server}/testing/**`, 'apps/server/bench/**'],
    rules: { '@typescript-eslint/no-restricted-imports': restrict(drizzleOnlyInSchema) },
  },
  {
    files: [`${server}/**/*.ts`],
    ignores: [`${server}/billing/**`, ...compositionRoots],
    rules: { '@typescript-eslint/no-restricted-imports': restrict(stripeOnlyInAdapter, noForeignAdapter, drizzleOnlyInSchema) },
  },
  {
    files: [`${server}/billing/**/*.ts`],
    ignores: [`${server}/billing/stripe/**`, ...compositionRoots],
    rules: { '@typescript-eslint/no-restricted-imports': restrict(stripeOnlyInAdapter, noAiDetectInBilling, drizzleOnlyInSchema) },
  },
  {
    files: [`${server}/billing/stripe/**/*.ts`],
    ignores: compositionRoots,
    rules: { '@typescript-eslint/no-restricted-imports': restrict(noAiDetectInBilling, drizzleOnlyInSchema) },
  },
  // The domain rules above again, with the light rule, for their files on the webhook path.
  {
    files: onWebhookPath([`${server}/**/*.ts`]),
    ignores: [`${server}/billing/**`, ...compositionRoots],
    rules: { '@typescript-eslint/no-restricted-imports': restrict(stripeOnlyInAdapter, noForeignAdapter, drizzleOnlyInSchema, lightBeforeListen) },
  },
  {
    files: onWebhookPath([`${server}/billing/**/*.ts`]),
    ignores: [`${server}/billing/stripe/**`, ...compositionRoots],
    rules: { '@typescript-eslint/no-restricted-imports': restrict(stripeOnlyInAdapter, noAiDetectInBilling, drizzleOnlyInSchema, lightBeforeListen) },
  },
  {
    files: onWebhookPath([`${server}/billing/stripe/**/*.ts`]),
    ignores: compositionRoots,
    rules: { '@typescript-eslint/no-restricted-imports': restrict(noAiDetectInBilling, drizzleOnlyInSchema, lightBeforeListen) },
  },
  {
    // The wiring of billing and the webhooks (composition roots: they may name adapters).
    files: onWebhookPath([`${server}/**/wiring.ts`]),
    rules: { '@typescript-eslint/no-restricted-imports': restrict(stripeOnlyInAdapter, drizzleOnlyInSchema, lightBeforeListen) },
  },
  {
    files: beforeListen,
    rules: { '@typescript-eslint/no-restricted-imports': restrict(stripeOnlyInAdapter, noForeignAdapter, drizzleOnlyInSchema, lightBeforeListen) },
  },
  {
    files: schemaFiles,
    rules: { '@typescript-eslint/no-restricted-imports': restrict(stripeOnlyInAdapter, noForeignAdapter) },
  },
  {
    files: ['packages/contracts/src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': restrict({
        regex: String.raw`^(@verifieddit/|\.\./\.\.)`,
        message: 'Contracts import nothing of ours: both sides depend on them, never the other way.',
      }),
    },
  },
  {
    files: ['packages/client/src/**/*.ts', 'packages/client/src/**/*.tsx'],
    ignores: ['packages/client/src/**/*.test.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: '@verifieddit/server', message: 'The SDK may take only types from the server.', allowTypeImports: true },
            { name: '@verifieddit/testing', message: 'Only the SDK’s *.test.ts may use the server’s test harness.' },
          ],
          patterns: [{ regex: String.raw`(^\.\./\.\./|apps/server)`, message: 'The SDK imports no server code.' }],
        },
      ],
    },
  },
);
