// The share widget on "the business's own site": a page served from another origin
// (a small HTTP server on another loopback port) under a strict Content-Security-Policy, with one
// script tag. The owner sets the widget up (with its live preview), the business's backend asks
// for a token with an API key, and the customer sees the popup after the configured delay,
// copies their link (the clipboard is read back), closes it, and it stays closed across reloads.
// A forged token, and a page the rules leave out, show nothing.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, test, type Page } from '@playwright/test';
import {
  BASE_URL,
  createApiKey,
  createCampaign,
  expectNoSeriousA11yViolations,
  loginAsOwner,
  newCampaign,
  unique,
  visit,
} from './helpers';

const DELAY_SECONDS = 2;

/**
 * Starts "the business's site": a real HTTP server on another loopback port (another origin
 * than Handoff's), whose every page is its own text plus the widget's tag with the token given
 * in `?token=`, under a strict Content-Security-Policy. (A page Playwright answers itself would
 * count as public to Chromium, which then refuses loopback requests to Handoff.)
 */
async function startBusinessSite(slug: string): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const token = (url.searchParams.get('token') ?? '').replace(/[^\w.-]/g, '');
    response.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      // What a careful business sets: no inline scripts or styles, Handoff's origin allowed as
      // the admin's widget page says.
      'Content-Security-Policy': `default-src 'self'; script-src 'self' ${BASE_URL}; connect-src 'self' ${BASE_URL}; style-src 'self'`,
    });
    response.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop account</title></head>
<body><main><h1>Your account</h1><p>Orders, addresses and settings.</p></main>
<script src="${BASE_URL}/embed.js" data-campaign="${slug}" data-token="${token}" async></script>
</body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Records the page's console errors (a CSP refusal shows up there). */
function consoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  return errors;
}

test('the share widget shows on the business site after its delay, copies, and stays closed', async ({
  page,
  browser,
}) => {
  test.setTimeout(120_000);
  await loginAsOwner(page, browser);
  const campaign = newCampaign('Widget');
  await createCampaign(page, campaign);

  await test.step('the owner chooses a popup and sees it in the live preview', async () => {
    await visit(page, `/admin/campaigns/${campaign.slug}`);
    await page.getByRole('link', { name: 'Share widget' }).click();
    await expect(page.getByRole('heading', { name: 'Share widget', level: 1 })).toBeVisible();
    const preview = page.frameLocator('iframe[title="Preview of the share widget"]');
    await expect(preview.getByText('The widget is off.')).toBeVisible();
    // Choosing updates the preview before saving (the real widget, with a sample customer).
    await page.getByLabel('Show it as').selectOption('bar');
    await expect(preview.getByRole('region', { name: /Refer a friend/ })).toBeVisible();
    await page.getByLabel('Show it as').selectOption('popup');
    const sample = preview.getByRole('dialog', { name: /Refer a friend/ });
    await expect(sample).toBeVisible();
    await expect(sample.getByRole('textbox', { name: 'Your referral link' })).toHaveValue(/\/r\/sample-preview$/);

    await page.getByLabel('On these pages').fill('/account/*');
    await page.getByLabel('After (seconds)').fill(String(DELAY_SECONDS));
    await page.getByLabel('How often').selectOption('until_dismissed');
    await page.getByRole('button', { name: 'Save widget' }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Widget saved.' })).toBeVisible();
    await expectNoSeriousA11yViolations(page, 'widget settings');
  });

  const key = await createApiKey(page);
  const email = `widget-${unique()}@example.com`;
  const tokenFor = async (): Promise<{ token: string; link: string; code: string }> => {
    const response = await page.request.post(`${BASE_URL}/api/v1/referrers/widget-token`, {
      headers: { Authorization: `Bearer ${key}` },
      data: { campaign: campaign.slug, email, name: 'Wendy Widget' },
    });
    expect(response.ok(), await response.text()).toBeTruthy();
    const body = await response.json();
    return { token: body.token, link: body.referrer.link, code: body.referrer.code };
  };
  const issued = await tokenFor();
  const site = await startBusinessSite(campaign.slug);

  const context = await browser.newContext({ reducedMotion: 'reduce' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: site.origin });
  const customer = await context.newPage();
  const errors = consoleErrors(customer);
  const widget = customer.getByRole('dialog', { name: /Refer a friend/ });

  await test.step(`the popup appears after ${DELAY_SECONDS} s, styled under the strict CSP`, async () => {
    const started = Date.now();
    await customer.goto(`${site.origin}/account/home?token=${issued.token}`);
    await expect(customer.getByRole('heading', { name: 'Your account' })).toBeVisible();
    await expect(widget, 'not before its delay').toHaveCount(0);
    await expect(widget).toBeVisible({ timeout: 10_000 });
    expect(Date.now() - started, 'shown after the delay').toBeGreaterThanOrEqual(DELAY_SECONDS * 1000 - 100);
    // The constructable style sheet applied (a <style> element would have been refused).
    expect(await widget.evaluate((el) => getComputedStyle(el).position)).toBe('fixed');
    expect(await widget.evaluate((el) => getComputedStyle(el).animationName), 'reduced motion').toBe('none');
    expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    await expect(widget.getByRole('textbox', { name: 'Your referral link' })).toHaveValue(issued.link);
    await expect(widget.getByRole('textbox', { name: 'Your referral code' })).toHaveValue(issued.code);
    await expect(widget.getByRole('img', { name: 'QR code of your referral link' })).toBeVisible();
    const whatsapp = await widget.getByRole('link', { name: 'WhatsApp' }).getAttribute('href');
    expect(whatsapp).toContain(encodeURIComponent(issued.link));
  });

  await test.step('the link is copied to the clipboard', async () => {
    await widget.getByRole('button', { name: 'Copy your referral link' }).click();
    await expect(widget.getByRole('status').filter({ hasText: 'Copied' })).toBeVisible();
    await expect
      .poll(() => customer.evaluate(() => navigator.clipboard.readText()), { message: 'the clipboard holds it' })
      .toBe(issued.link);
    await expectNoSeriousA11yViolations(customer, 'business page with the widget');
  });

  await test.step('closed with the keyboard, it stays closed across reloads', async () => {
    await widget.getByRole('button', { name: 'Close' }).focus();
    await customer.keyboard.press('Enter');
    await expect(widget).toHaveCount(0);
    await customer.reload();
    await expect(customer.getByRole('heading', { name: 'Your account' })).toBeVisible();
    await customer.waitForTimeout((DELAY_SECONDS + 1) * 1000);
    await expect(widget).toHaveCount(0);
  });
  await context.close();

  await test.step('a forged token, and a page outside the paths, show nothing', async () => {
    const forged = issued.token.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    for (const [what, token, path] of [
      ['forged token', forged, '/account/home'],
      ['page outside /account/*', (await tokenFor()).token, '/pricing'],
    ] as const) {
      const other = await browser.newContext();
      const visitor = await other.newPage();
      const answered = visitor.waitForResponse((r) => r.url().includes('/widget.json'));
      await visitor.goto(`${site.origin}${path}?token=${token}`);
      const response = await answered;
      expect(response.status(), what).toBe(what === 'forged token' ? 401 : 200);
      await visitor.waitForTimeout((DELAY_SECONDS + 1) * 1000);
      await expect(visitor.locator('[data-handoff-widget-root]'), what).toHaveCount(0);
      await other.close();
    }
  });
  await site.close();
});
