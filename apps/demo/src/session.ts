/**
 * Who is signed in. The real frontend gets a Clerk session token; without Clerk keys the server accepts
 * development identities, `Bearer dev_<userId>`, so the demo signs in with a name.
 */
const KEY = 'verifieddit-demo:user';

export const USER_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function currentUser(): string | null {
  const stored = localStorage.getItem(KEY);
  return stored && USER_ID.test(stored) ? stored : null;
}

export function signIn(userId: string): void {
  localStorage.setItem(KEY, userId);
}

export function signOut(): void {
  localStorage.removeItem(KEY);
}

/** What `createClient({ getToken })` sends as the bearer token. */
export function tokenFor(userId: string | null): string | null {
  return userId ? `dev_${userId}` : null;
}
