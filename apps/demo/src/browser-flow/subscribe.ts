import { expectStatus, expectText, type Flow } from './flow-page.js';

/** Subscribe: the local Checkout page in the same tab, Pay, back to the demo's own success page. */
export async function subscribeAndPay({ stack, page, shot, status }: Flow): Promise<void> {
  await page.getByRole('button', { name: 'Subscribe to Pro' }).click();
  await page.waitForURL(/\/local-billing\/checkout\//);
  await expectText(page, 'Pro');
  await shot('checkout');
  await page.getByRole('button', { name: 'Pay' }).click();
  await page.waitForURL(`${stack.demoOrigin}/billing/success?**`);
  await expectText(page, 'Thanks — payment received');
  await expectStatus(status, 'active');
  await expectText(page, 'of 1000 detections used');
  await shot('paid-active');
}
