// vitest globalSetup: migrated store templates made once per run, which useWiredApp clones its stores from.
export { default } from '@verifieddit/server/testing/global-setup';
