import { expect } from 'vitest';
import { expectStatus, expectText, type Flow } from './flow-page.js';

/**
 * A second tab stays on the demo: the status stream (billing.onStatusChange) updates it live. The
 * Portal: cancel now, then return to the demo, which shows the ended subscription.
 */
export async function cancelInPortalWhileSecondTabWatches({ stack, context, page, shot, status }: Flow): Promise<void> {
  const watcher = await context.newPage();
  await watcher.goto(stack.demoOrigin);
  await expect.poll(() => watcher.getByTestId('live-state').textContent(), { timeout: 10_000 }).toBe('● live');
  await expectStatus(() => watcher.getByTestId('subscription-status'), 'active');

  await page.bringToFront();
  await page.getByRole('button', { name: 'Manage billing' }).click();
  await page.waitForURL(/\/local-billing\/portal\//);
  await expectText(page, 'Status: active');
  await shot('portal');
  await page.getByRole('button', { name: 'Cancel now' }).click();
  await expectText(page, 'Status: canceled');
  await shot('portal-canceled');
  await expectStatus(() => watcher.getByTestId('subscription-status'), 'canceled');
  await expect.poll(() => watcher.getByTestId('usage').textContent(), { timeout: 10_000 }).toContain('of 10 detections used');
  await shot('other-tab-live-canceled', watcher);
  await page.getByRole('link', { name: 'Return to verifieddit' }).click();
  await page.waitForURL(`${stack.demoOrigin}/`);
  await expectStatus(status, 'canceled');
  await expectText(page, 'of 10 detections used');
  await shot('back-canceled');
}
