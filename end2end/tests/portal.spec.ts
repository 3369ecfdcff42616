// The referrer portal at /p/<campaign>, with JavaScript (project chromium-js): a referrer joins,
// gets the link-and-code email (read from the test SMTP server of global-setup.ts), follows its
// single-use sign-in link, copies the link and the code (the clipboard is read back) and decodes
// the QR codes; axe on the portal and the friend page; nothing scrolls sideways at 320 px.
// The same flow without JavaScript is portal.nojs.spec.ts.
import { expect, test } from '@playwright/test';
import { BASE_URL, createApiKey, expectNoSeriousA11yViolations, formWith, recordPurchase, settle, unique, visit } from './helpers';
import { signInLink, waitForMail, type StoredMail } from './mail';
import {
  CHECK_YOUR_EMAIL,
  campaignFor,
  checkPortalAt320,
  checkQrDownloads,
  copyControl,
  decodeQrPng,
  expectNoSidewaysScroll,
  join,
  newJoiner,
  shownLinkAndCode,
  signInWith,
  visitorContext,
} from './portal-helpers';

test('a referrer joins, signs in from the email, copies the link and code, and decodes the downloaded QR', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(120_000);
  const campaign = await campaignFor(page, browser, 'Portal');
  const who = newJoiner('Petra');

  const context = await visitorContext(browser, testInfo);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE_URL });
  const referrer = await context.newPage();

  let mail!: StoredMail;
  await test.step('joins on the entrance and gets the link-and-code email', async () => {
    await visit(referrer, `/p/${campaign.slug}`);
    await expect(referrer.getByRole('heading', { name: 'Join and get your link' })).toBeVisible();
    await join(referrer, who);
    mail = await waitForMail(who.email);
    expect(mail.envelopeTo).toEqual([who.email.toLowerCase()]);
    expect(mail.html, 'the email has an HTML part too').not.toBe('');
  });

  await test.step('follows the sign-in link and lands on their page', async () => {
    await signInWith(referrer, signInLink(mail, campaign.slug), campaign, who);
  });

  const { region, link, code } = await shownLinkAndCode(referrer);
  expect(mail.text, 'the email has the same link').toContain(link);
  expect(mail.text, 'the email has the same code').toContain(code);

  await test.step('copies the link and the code to the clipboard', async () => {
    for (const value of [link, code]) {
      const control = copyControl(region, value);
      await expect(control).toHaveCount(1);
      const button = control.getByRole('button', { name: 'Copy', exact: true });
      await button.click();
      await expect(control.getByRole('button', { name: 'Copied', exact: true })).toBeVisible();
      // writeText is asynchronous: read until it has landed.
      await expect
        .poll(() => referrer.evaluate(() => navigator.clipboard.readText()), { message: 'the clipboard holds it' })
        .toBe(value);
      // The button reads "Copy" again after a moment, ready for the next time.
      await expect(control.getByRole('button', { name: 'Copy', exact: true })).toBeVisible({ timeout: 5000 });
    }
  });

  await test.step('the QR on the page and the downloaded QR decode to the link', async () => {
    const qr = region.getByRole('img', { name: 'QR code of your referral link' });
    // An image of /qr/{slug}.svg, loaded (the browser keeps it: ETag and a long cache life).
    await expect(qr).toHaveAttribute('src', /^\/qr\/[^/]+\.svg$/);
    await expect.poll(() => qr.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    // The QR as the browser draws it (a screenshot of its box), through the same decoder.
    const box = await qr.boundingBox();
    expect(box, 'the QR on the page is laid out').not.toBeNull();
    const shot = await referrer.screenshot({ clip: box! });
    expect(decodeQrPng(shot), 'the QR on the page decodes to the link').toBe(link);
    await checkQrDownloads(referrer, link);
  });

  await test.step('signs out, asks for a sign-in link by email and signs in again', async () => {
    await referrer.getByRole('button', { name: 'Sign out', exact: true }).click();
    const signIn = formWith(referrer, 'Email me a sign-in link');
    await expect(signIn).toBeVisible();
    await settle(referrer);
    await signIn.getByLabel('Your email', { exact: true }).fill(who.email);
    await signIn.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await expect(referrer.getByRole('status').filter({ hasText: CHECK_YOUR_EMAIL })).toBeVisible();
    const second = await waitForMail(who.email, { count: 2 });
    const again = signInLink(second, campaign.slug);
    expect(again, 'a new single-use link').not.toBe(signInLink(mail, campaign.slug));
    await signInWith(referrer, again, campaign, who);
    expect((await shownLinkAndCode(referrer)).link, 'the same referrer').toBe(link);
  });
  await context.close();
});

test('the portal entrance, the referrer page and the friend page have no serious accessibility violations', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(120_000);
  const campaign = await campaignFor(page, browser, 'Portal a11y');
  const who = newJoiner('Alma');
  const context = await visitorContext(browser, testInfo);
  const referrer = await context.newPage();

  await visit(referrer, `/p/${campaign.slug}`);
  await expectNoSeriousA11yViolations(referrer, 'portal entrance');
  await join(referrer, who);
  await expectNoSeriousA11yViolations(referrer, 'portal entrance after joining');
  const mail = await waitForMail(who.email);
  await referrer.goto(signInLink(mail, campaign.slug));
  await expectNoSeriousA11yViolations(referrer, 'portal sign-in page');
  await signInWith(referrer, signInLink(mail, campaign.slug), campaign, who);
  await expectNoSeriousA11yViolations(referrer, 'referrer page');
  const { link, code } = await shownLinkAndCode(referrer);
  await context.close();

  // A friend follows the new referrer's link to the hosted friend page.
  const friendContext = await visitorContext(browser, testInfo);
  const friend = await friendContext.newPage();
  await visit(friend, link);
  await expect(friend).toHaveURL(new RegExp(`/f/${campaign.slug}(?:[?#]|$)`));
  await expect(friend.getByLabel('Referral code', { exact: true })).toHaveValue(code);
  await expectNoSeriousA11yViolations(friend, 'friend page');
  await friendContext.close();
});

test('the portal entrance and the referrer page do not scroll sideways at 320 px', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(120_000);
  await checkPortalAt320(page, browser, testInfo);
});

test('a referrer whose name is one long word does not make the portal scroll sideways at 320 px', async ({
  page,
  browser,
}, testInfo) => {
  // A real surname that is one long word: headings and text wrap anywhere (style/main.css), so
  // neither the sign-in page nor the referrer page is wider than the screen.
  test.setTimeout(120_000);
  const campaign = await campaignFor(page, browser, 'Portal long name');
  const who = { name: 'Wolfeschlegelsteinhausenbergerdorff', email: `wolfe-${unique()}@example.com` };
  const context = await visitorContext(browser, testInfo, 320);
  const referrer = await context.newPage();

  await visit(referrer, `/p/${campaign.slug}`);
  await join(referrer, who);
  const mail = await waitForMail(who.email);
  await referrer.goto(signInLink(mail, campaign.slug));
  // Soft, so that both pages are checked and both overflows reported.
  await expectNoSidewaysScroll(referrer, 'the sign-in page', { soft: true });
  await signInWith(referrer, signInLink(mail, campaign.slug), campaign, who);
  await expectNoSidewaysScroll(referrer, 'the referrer page', { soft: true });
  await context.close();
});

test("a referrer pages through their rewards and friends, and the numbers count them all", async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(120_000);
  const campaign = await campaignFor(page, browser, 'Portal pages');
  const key = await createApiKey(page);
  const who = newJoiner('Paula');
  const context = await visitorContext(browser, testInfo);
  const referrer = await context.newPage();
  await visit(referrer, `/p/${campaign.slug}`);
  await join(referrer, who);
  const mail = await waitForMail(who.email);
  await signInWith(referrer, signInLink(mail, campaign.slug), campaign, who);
  const { code } = await shownLinkAndCode(referrer);
  // Eleven friends buy with the code: eleven qualified referrals, a reward each.
  for (let i = 0; i < 11; i++) {
    const result = await recordPurchase(page, key, {
      campaign: campaign.slug,
      referral_code: code,
      email: `buyer${i}-${unique()}@example.org`,
    });
    expect(result.outcome).toBe('qualified');
  }
  await referrer.reload();
  await settle(referrer);
  const stats = referrer.getByRole('region', { name: 'Your referrals' });
  await expect(stats.locator('dd')).toHaveText(['0', '11', '11']);
  const rewards = referrer.getByRole('region', { name: 'Your rewards' });
  await expect(rewards.locator('tbody tr')).toHaveCount(10);
  await rewards.getByRole('navigation', { name: 'Rewards pages' }).getByRole('link', { name: 'Older' }).click();
  await expect(referrer).toHaveURL(/[?&]rewards=2(&|#|$)/);
  await expect(rewards.locator('tbody tr')).toHaveCount(1);
  await expect(stats.locator('tbody tr'), 'the friends list stays on its first page').toHaveCount(11);
  await rewards.getByRole('navigation', { name: 'Rewards pages' }).getByRole('link', { name: 'Newer' }).click();
  await expect(rewards.locator('tbody tr')).toHaveCount(10);
  await context.close();
});
