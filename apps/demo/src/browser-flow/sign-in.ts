import { expect } from 'vitest';
import { expectStatus, expectText, type Flow } from './flow-page.js';

/** Sign in with a name: the demo sends `Bearer dev_<name>`. A new user has no subscription and the free quota. */
export async function signIn({ stack, page, user, shot, status }: Flow): Promise<void> {
  await page.goto(stack.demoOrigin);
  await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
  await shot('sign-in');
  await page.getByLabel('Your name').fill(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expectText(page, `Signed in as ${user}`);
  await expectStatus(status, 'none');
  await expectText(page, '0 of 10 detections used');
  await shot('signed-in');
}
