import type { ReactNode } from 'react';

export function Shell({ user, onSignOut, children }: { user?: string; onSignOut?: () => void; children: ReactNode }) {
  return (
    <>
      <header>
        <a className="brand" href="/">
          verifieddit <span className="muted">demo</span>
        </a>
        {user && (
          <span className="who">
            Signed in as <strong>{user}</strong>{' '}
            <button className="link" onClick={onSignOut}>
              Sign out
            </button>
          </span>
        )}
      </header>
      <main>{children}</main>
    </>
  );
}
