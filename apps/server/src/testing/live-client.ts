import { createTRPCClient, httpSubscriptionLink, type TRPCClient } from '@trpc/client';
import { EventSource } from 'eventsource';
import type { AppRouter } from '../routers/index.js';

/**
 * A tRPC client that streams `billing.onStatusChange` over SSE exactly as the SDK does: tRPC's
 * httpSubscriptionLink with the token in connectionParams (or, `via: 'header'`, an Authorization
 * header, which a browser's EventSource cannot send but Node's can).
 */
export function liveClient(url: string, token: () => string | Promise<string>, via: 'params' | 'header' = 'params'): TRPCClient<AppRouter> {
  return createTRPCClient<AppRouter>({
    links: [
      httpSubscriptionLink({
        url: `${url}/trpc`,
        EventSource,
        ...(via === 'params'
          ? { connectionParams: async () => ({ token: await token() }) }
          : {
              eventSourceOptions: async () => {
                const bearer = `Bearer ${await token()}`;
                return { fetch: (input: string | URL | Request, init?: RequestInit) => fetch(input, { ...init, headers: { ...init?.headers, authorization: bearer } }) };
              },
            }),
      }),
    ],
  });
}

interface StatusEventRecord {
  id: string;
  status: string;
  features: string[];
}

/** Subscribes and records every event (and the terminal error, if any). */
export function recordStatusStream(client: TRPCClient<AppRouter>, input?: { lastEventId?: string }) {
  const events: StatusEventRecord[] = [];
  let error: unknown;
  let started = 0;
  const sub = client.billing.onStatusChange.subscribe(input, {
    onStarted: () => void started++,
    onData: (event) => void events.push({ id: event.id, status: event.data.status, features: event.data.features }),
    onError: (e) => void (error = e),
  });
  return {
    events,
    error: () => error,
    started: () => started,
    stop: () => sub.unsubscribe(),
  };
}

export async function until(predicate: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
