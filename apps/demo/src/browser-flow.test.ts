import { describe, expect, test } from 'vitest';
import { checkImageByUploadThenUrl } from './browser-flow/detect.js';
import { openFlow } from './browser-flow/flow-page.js';
import { cancelInPortalWhileSecondTabWatches } from './browser-flow/portal-cancel.js';
import { signIn } from './browser-flow/sign-in.js';
import { VIEWPORTS, useDemoStack } from './browser-flow/stack.js';
import { subscribeAndPay } from './browser-flow/subscribe.js';

/**
 * The whole newcomer flow in a real browser, once per viewport: the built demo and the real server
 * (browser-flow/stack.ts), the server's real local Checkout and Portal pages, Debian's Chromium. Each
 * step lives in browser-flow/ under the name of what it does; they run in order on one user.
 */

const stack = useDemoStack();

describe.each(VIEWPORTS)('the demo in Chromium at $name width', (viewport) => {
  const { name } = viewport;
  test(`${name}: sign in, subscribe and pay, check an image by upload and by URL, cancel in the portal, come back`, async () => {
    const flow = await openFlow(stack, viewport);
    try {
      await signIn(flow);
      await subscribeAndPay(flow);
      await checkImageByUploadThenUrl(flow);
      await cancelInPortalWhileSecondTabWatches(flow);
      expect(flow.problems, flow.problems.join('\n')).toEqual([]);
    } catch (error) {
      await flow.shot('failure').catch(() => undefined);
      throw new Error(`${(error as Error).message}\n--- server output ---\n${stack.serverOutput().slice(-4000)}`, { cause: error });
    } finally {
      await flow.context.close();
    }
  }, 120_000);
});
