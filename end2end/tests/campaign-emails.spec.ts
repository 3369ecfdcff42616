// The campaign's branded pieces with JavaScript (project chromium-js): the campaign page hydrates
// and its portal settings preview follows the typing; a logo is uploaded (an SVG is refused); the
// email template editor previews what is typed (with sample data, from the server), saves one card
// at a time, and sends a test to the admin; the referrer's page shares through the browser's share
// sheet and prints only the card. Without JavaScript, the template editor and the logo upload are
// covered by the Rust tests in server/tests/api/referrer_admin.rs and logos.rs.
import { expect, test } from '@playwright/test';
import { PNG } from 'pngjs';
import { BASE_URL, createApiKey, expectNoSeriousA11yViolations, savedOwner, settle, unique, visit } from './helpers';
import { signInLink, waitForMail } from './mail';
import { campaignFor, decodeQrPng, join, newJoiner, shownLinkAndCode, signInWith, visitorContext } from './portal-helpers';

test('the campaign page hydrates, and its portal preview follows the typing and reaches the portal', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(120_000);
  const campaign = await campaignFor(page, browser, 'Branded');
  // settle() fails when the page never hydrates (a panic during hydration, say).
  await visit(page, `/admin/campaigns/${campaign.slug}`);
  const preview = page.getByLabel('Preview of the portal entrance');
  await expect(preview).toContainText(`Refer a friend to ${campaign.name}`);

  await page.getByLabel('Headline', { exact: true }).fill('Bring a friend, both get a coffee');
  await expect(preview.locator('.preview-headline')).toHaveText('Bring a friend, both get a coffee');
  await page.getByLabel('Intro', { exact: true }).fill('Your friends get their first cup free.');
  await expect(preview).toContainText('Your friends get their first cup free.');
  await page.getByRole('button', { name: 'Save portal', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Portal saved.' })).toBeVisible();

  await page.reload();
  await settle(page);
  await expect(page.getByLabel('Headline', { exact: true })).toHaveValue('Bring a friend, both get a coffee');
  await expectNoSeriousA11yViolations(page, 'campaign page');

  await test.step('uploads a logo; an SVG is refused with the reason', async () => {
    await page.getByLabel('Upload a logo', { exact: true }).setInputFiles({
      name: 'logo.svg',
      mimeType: 'image/svg+xml',
      buffer: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
    });
    await page.getByRole('button', { name: 'Upload logo', exact: true }).click();
    await expect(page.getByRole('alert')).toContainText('SVG logos are not accepted');
    await settle(page);
    const logo = new PNG({ width: 90, height: 30 });
    logo.data.fill(0x55);
    await page.getByLabel('Upload a logo', { exact: true }).setInputFiles({
      name: 'logo.png',
      mimeType: 'image/png',
      buffer: PNG.sync.write(logo),
    });
    await page.getByRole('button', { name: 'Upload logo', exact: true }).click();
    await expect(page.getByRole('status').filter({ hasText: 'Logo saved.' })).toBeVisible();
    await expect(page.getByRole('img', { name: 'The current logo' })).toHaveJSProperty('naturalWidth', 90);
    await expect(preview.getByRole('img', { name: campaign.name })).toBeVisible();
  });

  const context = await visitorContext(browser, testInfo);
  const visitor = await context.newPage();
  await visit(visitor, `/p/${campaign.slug}`);
  await expect(visitor.getByRole('heading', { level: 1 })).toHaveText('Bring a friend, both get a coffee');
  await expect(visitor.getByText('Your friends get their first cup free.')).toBeVisible();
  await expect(visitor.getByRole('img', { name: campaign.name })).toHaveJSProperty('naturalWidth', 90);
  await context.close();
});

test('the email editor previews what is typed, saves one card, and sends a test to the admin', async ({
  page,
  browser,
}) => {
  test.setTimeout(120_000);
  const campaign = await campaignFor(page, browser, 'Wording');
  const owner = savedOwner();
  expect(owner, 'the owner of this run').not.toBeNull();
  await visit(page, `/admin/campaigns/${campaign.slug}`);
  await page.getByRole('link', { name: 'Email templates', exact: true }).click();
  await expect(page).toHaveURL(`${BASE_URL}/admin/campaigns/${campaign.slug}/emails`);
  // A client-side navigation of a hydrated page (no settle(): Playwright's "network idle" never
  // comes for the preview frames this navigation inserts).
  await expect(page.getByRole('heading', { level: 1, name: 'Emails of this campaign' })).toBeVisible();
  await expectNoSeriousA11yViolations(page, 'email editor', { exclude: ['iframe.email-frame'] });

  const card = page.getByRole('region', { name: /^New referral/ });
  await expect(card.getByText('built-in text', { exact: true })).toBeVisible();
  const frame = card.frameLocator('iframe.email-frame');
  await expect(frame.locator('body')).toContainText('Hi Jane,');

  await test.step('the preview follows the typing, with sample data', async () => {
    await card.getByLabel('Subject', { exact: true }).fill('{friend_name} is in, {first_name}');
    await expect(card.getByText('Subject: Sam is in, Jane')).toBeVisible();
    await card.getByLabel('Body', { exact: true }).fill('Hello {first_name}, <b>{friend_name}</b> joined {campaign}.');
    await expect(frame.locator('body')).toContainText(`Hello Jane, <b>Sam</b> joined ${campaign.name}.`);
    await card.getByLabel('Body', { exact: true }).fill('Hello {frist_name}');
    await expect(card.getByRole('alert')).toContainText('{frist_name} is not a placeholder');
    await card.getByLabel('Body', { exact: true }).fill('Hello {first_name}, {friend_name} joined {campaign}.');
    await expect(card.getByRole('alert')).toHaveCount(0);
  });

  await test.step('saving answers in that card only', async () => {
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    const saved = page.getByRole('region', { name: /^New referral/ }).getByRole('status');
    await expect(saved).toHaveText('Saved.');
    await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toHaveCount(1);
    await expect(page.getByRole('region', { name: /^New referral/ }).getByText('built-in text', { exact: true })).toHaveCount(0);
  });

  await test.step('a test goes to the admin, marked as a test', async () => {
    const edited = page.getByRole('region', { name: /^New referral/ });
    await edited.getByRole('button', { name: 'Send a test to me', exact: true }).click();
    await expect(edited.getByRole('status').filter({ hasText: `Test sent to ${owner!.email}.` })).toBeVisible();
    const mail = await waitForMail(owner!.email, { subject: /^\[Test\] Sam is in, Jane$/ });
    expect(mail.text).toContain(`Hello Jane, Sam joined ${campaign.name}.`);
  });

  await test.step('back to the built-in text', async () => {
    const edited = page.getByRole('region', { name: /^New referral/ });
    await edited.getByRole('button', { name: 'Back to the built-in text', exact: true }).click();
    await expect(page.getByRole('region', { name: /^New referral/ }).getByText('built-in text', { exact: true })).toBeVisible();
    await expect(page.getByRole('region', { name: /^New referral/ }).getByLabel('Subject', { exact: true })).toHaveValue(
      'Somebody you referred just arrived',
    );
  });
});

test("the referrer's page shares through the share sheet and prints only the card", async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(120_000);
  const campaign = await campaignFor(page, browser, 'Cards');
  const who = newJoiner('Rosa');
  const context = await visitorContext(browser, testInfo);
  // Headless Chromium on Linux has no share sheet: stand one in that records what it is given.
  await context.addInitScript(() => {
    (window as unknown as { shared: unknown[] }).shared = [];
    Object.defineProperty(navigator, 'share', {
      value: (data: unknown) => {
        (window as unknown as { shared: unknown[] }).shared.push(data);
        return Promise.resolve();
      },
    });
  });
  const referrer = await context.newPage();
  await visit(referrer, `/p/${campaign.slug}`);
  await join(referrer, who);
  const mail = await waitForMail(who.email);
  await signInWith(referrer, signInLink(mail, campaign.slug), campaign, who);
  const { link, code } = await shownLinkAndCode(referrer);

  await referrer.getByRole('button', { name: 'Share…', exact: true }).click();
  const shared = (await referrer.evaluate(() => (window as unknown as { shared: unknown[] }).shared)) as {
    title: string;
    text: string;
    url: string;
  }[];
  expect(shared).toHaveLength(1);
  expect(shared[0].url).toBe(link);
  expect(shared[0].title).toBe(campaign.name);
  expect(shared[0].text).toContain(code);

  const card = referrer.getByLabel('Your referral card');
  await expect(card).toContainText(code);
  await expect(card).toContainText(link);
  await expect(referrer.getByRole('button', { name: 'Print my card', exact: true })).toBeVisible();

  await referrer.emulateMedia({ media: 'print' });
  await expect(card).toBeVisible();
  await expect(referrer.getByRole('region', { name: 'Your referral link' })).toBeHidden();
  await expect(referrer.getByRole('button', { name: 'Print my card', exact: true })).toBeHidden();
  // The card is the print studio's business-card template, drawn on the server.
  const image = card.locator('img');
  await expect.poll(async () => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
  const box = await image.boundingBox();
  expect(box, 'the card is laid out').not.toBeNull();
  expect(box!.width / box!.height).toBeCloseTo(85 / 55, 1);
  const shot = await referrer.screenshot({ clip: box! });
  expect(decodeQrPng(shot), "the card's QR decodes to the link, marked as from a card").toBe(`${link}?ch=card`);
  await context.close();
});

test('the bulk send shows its progress until every email went out; the Sender form saves and clears', async ({
  page,
  browser,
}) => {
  test.setTimeout(120_000);
  const campaign = await campaignFor(page, browser, 'Bulk');
  const key = await createApiKey(page);
  // Added quietly through the API: nobody has had the link-and-code email yet.
  const emails = ['ann', 'bob', 'cat'].map((name) => `${name}-${unique()}@example.com`);
  for (const email of emails) {
    const response = await page.request.post('/api/v1/referrers', {
      headers: { Authorization: `Bearer ${key}` },
      data: { campaign: campaign.slug, name: email.split('-')[0], email },
    });
    expect(response.status(), await response.text()).toBe(201);
  }
  await visit(page, `/admin/referrers?campaign=${campaign.slug}`);
  await page.getByRole('button', { name: 'Send to everyone not yet emailed', exact: true }).click();
  const status = page.getByRole('status').filter({ hasText: 'Link-and-code emails written: 3.' });
  await expect(status).toBeVisible();
  // The note reads again by itself while emails wait, until all three went out.
  await expect(status).toContainText('Sent 3, waiting 0, failed 0.', { timeout: 20_000 });
  await expect(status.getByRole('progressbar', { name: 'Emails sent' })).toHaveAttribute('value', '3');
  for (const email of emails) await waitForMail(email, { subject: new RegExp(campaign.name) });

  await visit(page, '/admin/emails');
  const form = page.getByRole('region', { name: 'Sender' });
  await form.getByLabel('Emails come from', { exact: true }).fill('not an address');
  await form.getByRole('button', { name: 'Save sender', exact: true }).click();
  await expect(form.getByRole('alert')).toContainText('Write an email address');
  await form.getByLabel('Emails come from', { exact: true }).fill('Shop Referrals <refer@shop.example>');
  await form.getByLabel('Replies go to', { exact: true }).fill('help@shop.example');
  await form.getByRole('button', { name: 'Save sender', exact: true }).click();
  await expect(form.getByRole('status').filter({ hasText: 'Sender saved.' })).toBeVisible();
  await page.reload();
  await settle(page);
  await expect(form.getByLabel('Emails come from', { exact: true })).toHaveValue('Shop Referrals <refer@shop.example>');
  await expect(form.getByLabel('Replies go to', { exact: true })).toHaveValue('help@shop.example');
  // Back to the server's setting, so later tests' emails come from it.
  await form.getByLabel('Emails come from', { exact: true }).fill('');
  await form.getByLabel('Replies go to', { exact: true }).fill('');
  await form.getByRole('button', { name: 'Save sender', exact: true }).click();
  await expect(form.getByRole('status').filter({ hasText: 'Sender saved.' })).toBeVisible();
  await page.reload();
  await settle(page);
  await expect(form.getByLabel('Emails come from', { exact: true })).toHaveValue('');
});
