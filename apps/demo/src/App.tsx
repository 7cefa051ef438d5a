import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { DetectCard } from './components/DetectCard.js';
import { PlansCard } from './components/PlansCard.js';
import { ReturnNotice } from './components/ReturnNotice.js';
import { Shell } from './components/Shell.js';
import { SignIn } from './components/SignIn.js';
import { SubscriptionCard } from './components/SubscriptionCard.js';
import { currentUser, signIn, signOut } from './session.js';

/** The sign-in form, or the signed-in page; /billing/success and /billing/cancel add a notice on top. */
export function App() {
  const [user, setUser] = useState(currentUser);
  const queryClient = useQueryClient();
  const path = window.location.pathname;

  if (!user) {
    return (
      <Shell>
        <SignIn
          onSignIn={(id) => {
            signIn(id);
            queryClient.clear();
            setUser(id);
          }}
        />
      </Shell>
    );
  }
  return (
    <Shell
      user={user}
      onSignOut={() => {
        signOut();
        queryClient.clear();
        setUser(null);
      }}
    >
      {path === '/billing/success' && <ReturnNotice kind="success" />}
      {path === '/billing/cancel' && <ReturnNotice kind="cancel" />}
      <SubscriptionCard userId={user} waitForActive={path === '/billing/success'} />
      <PlansCard />
      <DetectCard />
    </Shell>
  );
}
