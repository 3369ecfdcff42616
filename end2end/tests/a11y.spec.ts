// Accessibility (project chromium-js): no critical or serious axe violations on the pages that
// strangers and admins see most: the login page, the hosted friend page, the leads page, and
// the rewards page, a lead's page and the rules editor.
import { expect, test } from '@playwright/test';
import {
  addReferrer,
  createApiKey,
  createCampaign,
  expectNoSeriousA11yViolations,
  expectThanks,
  freshContext,
  loginAsOwner,
  newCampaign,
  recordPurchase,
  submitFriendForm,
  tableRow,
  unique,
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
