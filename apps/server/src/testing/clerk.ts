import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';

/**
 * A Clerk-like token issuer for tests: a real 2048-bit RSA key pair (Clerk's networkless jwtKey
 * path accepts only 2048-bit keys) and RS256 session tokens shaped like Clerk's.
 */
export interface TestIssuer {
  /** PEM public key, as CLERK_JWT_KEY holds it. */
  publicKeyPem: string;
  token(claims?: Partial<{ sub: string; azp: string | undefined; iat: number; exp: number; nbf: number }>, key?: KeyObject): Promise<string>;
  /** A key pair that Clerk has never seen, for wrong-signature tokens. */
  strangerKey: KeyObject;
}

export function createTestIssuer(): TestIssuer {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    strangerKey: stranger.privateKey,
    async token(claims = {}, key = privateKey) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        sub: claims.sub ?? 'user_2pQf8kXz7WmN3aLb',
        iss: 'https://clerk.verifieddit.test',
        sid: 'sess_2pQf8kXz7WmN3aLbSess',
        iat: claims.iat ?? now - 5,
        nbf: claims.nbf ?? now - 10,
        exp: claims.exp ?? now + 60,
      };
      if (!('azp' in claims)) payload.azp = 'https://app.verifieddit.test';
      else if (claims.azp !== undefined) payload.azp = claims.azp;
      return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'ins_test' }).sign(key);
    },
  };
}
