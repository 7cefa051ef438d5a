// The CommonJS entry resolves to its own declarations.
import sdk = require('@verifieddit/client');

export const client: sdk.VerifiedditClient = sdk.createClient({ url: 'https://api.verifieddit.com' });
// @ts-expect-error createClient needs options
sdk.createClient();
