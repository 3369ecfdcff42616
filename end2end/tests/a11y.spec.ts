// Accessibility (project chromium-js): no critical or serious axe violations on the pages that
// strangers and admins see most: the login page, the hosted friend page and the leads page.
import { test } from '@playwright/test';
import {
  addReferrer,
  createCampaign,
  expectNoSeriousA11yViolations,
  expectThanks,
  freshContext,
  loginAsOwner,
  newCampaign,
  submitFriendForm,
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
