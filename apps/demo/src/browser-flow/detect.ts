import { join } from 'node:path';
import { expect } from 'vitest';
import { expectText, type Flow } from './flow-page.js';

/**
 * Upload an image: a fresh verdict from the local detector, counted in the meter. Each viewport has
 * its own bytes, because verdicts are cached across users by the image's hash. Then the same bytes
 * by URL: the server fetches them and answers from its verdict cache.
 */
export async function checkImageByUploadThenUrl({ stack, name, page, shot }: Flow): Promise<void> {
  await page.locator('input[type=file]').setInputFiles(join(stack.imagesDir, `sample-${name}.png`));
  await expect.poll(() => page.getByTestId('verdict').textContent()).toMatch(/\d+% likely AI-generated/);
  await expectText(page, 'fresh verdict');
  await expectText(page, '1 of 1000 detections used');
  await shot('verdict-upload');

  await page.getByPlaceholder('https://…/image.jpg').fill(`${stack.demoOrigin}/sample-${name}.png`);
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await expectText(page, 'cached verdict');
  await expectText(page, '2 of 1000 detections used');
  await shot('verdict-url-cached');
}
