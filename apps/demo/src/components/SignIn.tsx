import { useState, type FormEvent } from 'react';
import { USER_ID } from '../session.js';

export function SignIn({ onSignIn }: { onSignIn: (userId: string) => void }) {
  const [name, setName] = useState('');
  const valid = USER_ID.test(name);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (valid) onSignIn(name);
  };
  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      <p className="muted">
        A development identity: the server accepts <code>Bearer dev_&lt;name&gt;</code> when no Clerk keys are set.
      </p>
      <form onSubmit={submit}>
        <label>
          Your name
          <input value={name} onChange={(e) => setName(e.target.value.trim())} placeholder="alice" autoFocus autoComplete="username" />
        </label>
        {name && !valid && <p className="error">Letters, digits, - and _ only (at most 64).</p>}
        <button className="primary" type="submit" disabled={!valid}>
          Sign in
        </button>
      </form>
    </section>
  );
}
