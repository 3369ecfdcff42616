// Accessibility (project chromium-js): no critical or serious axe violations on the pages that
// strangers and admins see most: the login page, the hosted friend page, the leads page, the
// rewards page, a lead's page and the rules editor, the uploads pages and the integrations page
// (with a promotion-code import's result and a search).
import { expect, test } from '@playwright/test';
import {
  addReferrer,
  createApiKey,
  createCampaign,
  expectNoSeriousA11yViolations,
  expectThanks,
  formWith,
  freshContext,
  loginAsOwner,
  newCampaign,
  recordPurchase,
  selectOptionByText,
  settle,
  submitFriendForm,
  tableRow,
  unique,
  uploadCsv,
  visit,
} from './helpers';

test('the login page has no serious accessibility violations', async ({ browser }, testInfo) => {
  const context = await freshContext(browser, testInfo);
  const page = await context.newPage();
  await visit(page, '/admin/login');
  await expectNoSeriousA11yViolations(page, 'login page');
  await context.close();
});

test('the friend page and the leads page have no serious accessibility violations', async ({
  page,
  browser,
}, testInfo) => {
  await loginAsOwner(page, browser);
  const campaign = newCampaign('A11y');
  await createCampaign(page, campaign);
  const id = unique();
  const referrer = await addReferrer(page, campaign, { name: `Ally ${id}`, email: `ally-${id}@example.com` });

  const context = await freshContext(browser, testInfo);
  const friend = await context.newPage();
  await visit(friend, `/f/${campaign.slug}`);
  await expectNoSeriousA11yViolations(friend, 'friend page');
  // A lead, so that the leads table has a row to check.
  await submitFriendForm(friend, { name: `Finn ${id}`, email: `finn-${id}@example.com`, code: referrer.code });
  await expectThanks(friend);
  await context.close();

  await visit(page, '/admin/leads');
  await expectNoSeriousA11yViolations(page, 'leads page');
});

test('the rewards page, a lead page and the rules editor have no serious accessibility violations', async ({
  page,
  browser,
}) => {
  await loginAsOwner(page, browser);
  const campaign = newCampaign('A11y rewards');
  await createCampaign(page, campaign);
  const id = unique();
  const referrer = await addReferrer(page, campaign, { name: `Ava ${id}`, email: `ava-${id}@example.com` });
  const key = await createApiKey(page);
  // A qualified lead, so that the rewards table has a row to check.
  const result = await recordPurchase(page, key, {
    campaign: campaign.slug,
    referral_code: referrer.code,
    email: `otto-${id}@example.com`,
  });

  await visit(page, `/admin/rewards?campaign=${campaign.slug}`);
  await expect(tableRow(page, referrer.email).row).toHaveCount(1);
  await expectNoSeriousA11yViolations(page, 'rewards page');

  await visit(page, `/admin/leads/${result.lead.id}`);
  await expectNoSeriousA11yViolations(page, 'lead page');

  await visit(page, `/admin/campaigns/${campaign.slug}`);
  await expectNoSeriousA11yViolations(page, 'campaign page with the rules editor');
});

test('the uploads pages and the integrations page have no serious accessibility violations', async ({
  page,
  browser,
}) => {
  test.setTimeout(120_000);
  await loginAsOwner(page, browser);
  const campaign = newCampaign('A11y uploads');
  await createCampaign(page, campaign);
  const id = unique();
  const referrer = await addReferrer(page, campaign, { name: `Ada ${id}`, email: `ada-${id}@example.com` });

  // A preview with a refused row, so that every table of the upload's page is there.
  const csv = `email,referral code,amount,order id\nalma-${id}@example.com,${referrer.code},10,a11y-${id}-1\nbad-${id}@example.com,${referrer.code},ten,a11y-${id}-2\n`;
  await uploadCsv(page, campaign, `a11y-${id}.csv`, csv);
  await expectNoSeriousA11yViolations(page, 'upload preview page');

  await visit(page, '/admin/imports');
  await expect(tableRow(page, `a11y-${id}.csv`).row).toHaveCount(1);
  await expectNoSeriousA11yViolations(page, 'uploads page');

  await visit(page, '/admin/integrations');
  const form = formWith(page, 'Create source');
  await form.getByLabel('Source name', { exact: true }).fill(`A11y ${id}`);
  await form.getByRole('button', { name: 'Create source' }).click();
  await expect(page.getByRole('status').filter({ hasText: `A11y ${id}` })).toBeVisible();
  await expectNoSeriousA11yViolations(page, 'integrations page');

  // A promotion-code file with a refused row, so that the import's result, its refused rows and
  // the mapping list with its Delete buttons are there; then a search, for the search box.
  const codes = `promotion code id,referral code\npromo_a11y${id},${referrer.code}\npromo_bad${id},ZZZZ-ZZZZ\n`;
  const importForm = formWith(page, 'Import mappings');
  await selectOptionByText(importForm.getByLabel('Campaign of the referrers', { exact: true }), campaign.name);
  await importForm.getByLabel('Mapping file', { exact: true }).setInputFiles({
    name: `a11y-codes-${id}.csv`,
    mimeType: 'text/csv',
    buffer: Buffer.from(codes, 'utf8'),
  });
  await importForm.getByRole('button', { name: 'Import mappings' }).click();
  await expect(page.getByRole('status').filter({ hasText: `a11y-codes-${id}.csv` })).toBeVisible();
  await settle(page);
  await expectNoSeriousA11yViolations(page, 'integrations page after a promotion-code import');
  await visit(page, `/admin/integrations?promo=promo_a11y${id}`);
  await expect(tableRow(page, `promo_a11y${id}`).row).toHaveCount(1);
  await expectNoSeriousA11yViolations(page, 'integrations page with a promotion-code search');

  await page.getByRole('link', { name: `A11y ${id}`, exact: true }).click();
  await expect(page.getByRole('heading', { name: `A11y ${id}` })).toBeVisible();
  await expectNoSeriousA11yViolations(page, 'inbound source page');
});
