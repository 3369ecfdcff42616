// The referrer portal at /p/<campaign> without JavaScript (project chromium-js ignores this file):
// every step is a plain form post or link, the link and the code are text to select, and there
// are no Copy buttons. With JavaScript: portal.spec.ts.
import { expect, test } from '@playwright/test';
import { signInLink, waitForMail } from './mail';
import {
  campaignFor,
  checkPortalAt320,
  checkQrDownloads,
  join,
  newJoiner,
  shownLinkAndCode,
  signInWith,
  visitorContext,
} from './portal-helpers';
import { visit } from './helpers';

test('without JavaScript a referrer joins, signs in from the email and sees the link and code as text', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(120_000);
  const campaign = await campaignFor(page, browser, 'Portal nojs');
  const who = newJoiner('Nora');
  const context = await visitorContext(browser, testInfo);
  const referrer = await context.newPage();

  await visit(referrer, `/p/${campaign.slug}`);
  await join(referrer, who);
  // The plain form post came back to the entrance with its notice.
  await expect(referrer).toHaveURL(new RegExp(`/p/${campaign.slug}\\?notice=sent$`));
  const mail = await waitForMail(who.email);
  const link = signInLink(mail, campaign.slug);
  await signInWith(referrer, link, campaign, who);

  const shown = await shownLinkAndCode(referrer);
  expect(mail.text).toContain(shown.link);
  expect(mail.text).toContain(shown.code);
  for (const value of [shown.link, shown.code]) {
    const text = shown.region.locator('code').filter({ hasText: value });
    await expect(text).toBeVisible();
    expect(await text.evaluate((el) => getComputedStyle(el).userSelect), `"${value}" can be selected`).not.toBe('none');
  }
  await expect(referrer.getByRole('button', { name: /^Cop(y|ied)$/ }), 'no Copy buttons without JavaScript').toHaveCount(0);
  const qr = referrer.getByRole('img', { name: 'QR code of your referral link' });
  await expect(qr).toBeVisible();
  await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0), 'the QR image loads').toBe(true);
  await checkQrDownloads(referrer, shown.link);

  // The link worked once; opened again it says so and points to the entrance.
  const reused = await referrer.goto(link);
  expect(reused?.status(), 'a used sign-in link answers 410').toBe(410);
  await expect(referrer.getByRole('heading', { name: 'This link does not work any more' })).toBeVisible();
  await expect(referrer.getByRole('link', { name: 'Ask for a new sign-in link' })).toHaveAttribute(
    'href',
    new RegExp(`/p/${campaign.slug}$`),
  );
  await context.close();
});

test('without JavaScript the portal entrance and the referrer page do not scroll sideways at 320 px', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(120_000);
  await checkPortalAt320(page, browser, testInfo);
});
