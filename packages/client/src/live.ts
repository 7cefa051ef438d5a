import type { TRPCClient } from '@trpc/client';
import type { SubscriptionStatusOutput } from '@verifieddit/contracts';
import type { AppRouter } from '@verifieddit/server';
import { getErrorCode } from './errors.js';

export interface SubscribeStatusOptions {
  /** Called once the stream cannot continue: signed out (UNAUTHENTICATED at open) or TOO_MANY_STREAMS. */
  onError?: (error: unknown) => void;
}

export interface StatusSubscription {
  unsubscribe(): void;
}

/**
 * Keeps `onChange` up to date with the caller's subscription status (`billing.onStatusChange` over
 * SSE): the current status first, then every change. It resumes after the last event it saw when
 * the connection drops, the token expires (a fresh token is fetched), or the server restarts, so no
 * change is missed or repeated. Stops only on `unsubscribe()` or an error retrying cannot fix.
 */
export function subscribeStatus(
  client: TRPCClient<AppRouter>,
  onChange: (status: SubscriptionStatusOutput) => void,
  options: SubscribeStatusOptions = {},
): StatusSubscription {
  let lastEventId: string | undefined;
  let stopped = false;
  let current: { unsubscribe(): void } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;

  const again = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(open, delayMs);
  };
  function open() {
    if (stopped) return;
    let sawData = false;
    current = client.billing.onStatusChange.subscribe(lastEventId ? { lastEventId } : undefined, {
      onData(event) {
        sawData = true;
        failures = 0;
        lastEventId = event.id;
        onChange(event.data);
      },
      onError(error) {
        const code = getErrorCode(error);
        // A token that expired mid-stream: reconnect now, with a fresh one. Refused at open: signed out.
        if (code === 'UNAUTHENTICATED' && sawData) return again(0);
        if (code === 'UNAUTHENTICATED' || code === 'TOO_MANY_STREAMS' || code === 'FORBIDDEN') {
          stopped = true;
          options.onError?.(error);
          return;
        }
        failures++;
        again(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
      },
      // The server ended the stream (it is going away): come back, after what we saw.
      onComplete: () => again(500),
    });
  }
  open();
  return {
    unsubscribe() {
      stopped = true;
      if (timer) clearTimeout(timer);
      current?.unsubscribe();
    },
  };
}
