import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createClient } from '@verifieddit/client';
import { VerifiedditProvider } from '@verifieddit/client/react';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { currentUser, tokenFor } from './session.js';
import './styles.css';

// Same origin: Vite proxies /trpc to the API (see vite.config.ts), so no CORS and no API URL to configure.
const trpcClient = createClient({ url: window.location.origin, getToken: () => tokenFor(currentUser()) });
const queryClient = new QueryClient({
  // Coming back from Checkout or the Portal (or another tab) refetches the subscription status.
  defaultOptions: { queries: { refetchOnWindowFocus: true, retry: false } },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <VerifiedditProvider trpcClient={trpcClient} queryClient={queryClient}>
        <App />
      </VerifiedditProvider>
    </QueryClientProvider>
  </StrictMode>,
);
