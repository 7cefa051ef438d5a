import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { outputDir, type DemoStack, type Viewport } from './stack.js';

/** One viewport's walk through the demo: its browser context, first tab, user and numbered screenshots. */
export interface Flow {
  stack: DemoStack;
  /** The viewport's name: part of the user's name, the sample image's and the screenshot folder's. */
  name: string;
  user: string;
  context: BrowserContext;
  page: Page;
  /** Page errors and console errors seen so far; the flow must end with none. */
  problems: string[];
  /** A full-page screenshot of `of` (the first tab by default), numbered in the order taken. */
  shot(label: string, of?: Page): Promise<void>;
  /** The subscription status badge of the first tab. */
  status(): ReturnType<Page['getByTestId']>;
}

export async function openFlow(stack: DemoStack, { name, viewport, isMobile, deviceScaleFactor }: Viewport): Promise<Flow> {
  const context = await stack.browser.newContext({ viewport, isMobile, hasTouch: isMobile, deviceScaleFactor });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    // The API has no favicon; the browser asks for one on the Checkout and Portal pages.
    if (message.type() === 'error' && !message.location().url.endsWith(`:${stack.apiPort}/favicon.ico`)) problems.push(`console error: ${message.text()} (${message.location().url})`);
  });
  let step = 0;
  const shot = async (label: string, of: Page = page) => {
    const dir = join(outputDir, name);
    mkdirSync(dir, { recursive: true });
    await of.screenshot({ path: join(dir, `${String(++step).padStart(2, '0')}-${label}.png`), fullPage: true });
  };
  return { stack, name, user: `${name}-user`, context, page, problems, shot, status: () => page.getByTestId('subscription-status') };
}

export async function expectText(page: Page, text: string): Promise<void> {
  await expect.poll(() => page.getByText(text, { exact: false }).first().isVisible(), { message: `"${text}" visible`, timeout: 10_000 }).toBe(true);
}

export async function expectStatus(status: () => ReturnType<Page['getByTestId']>, value: string): Promise<void> {
  await expect.poll(() => status().textContent(), { message: `subscription status ${value}`, timeout: 10_000 }).toBe(value);
}
