// A declared dependency (workspace:*) instead of relative paths into apps/server, so pnpm and turbo see
// that the SDK's tests run the server.
export * from '@verifieddit/server/testing';
