// The admin's own forms with JavaScript off (project chromium-nojs only): the login form, the
// campaign and referrer forms and the log-out button post and redirect without the wasm bundle.
import { expect, test } from '@playwright/test';
import {
  addReferrer,
  createCampaign,
  ensureOwner,
  formWith,
  newCampaign,
  unique,
  visit,
} from './helpers';

test('without JavaScript an admin logs in, adds a referrer and logs out', async ({ page, browser }, testInfo) => {
  expect(testInfo.project.use.javaScriptEnabled).toBe(false);
  const owner = await ensureOwner(browser);

  await visit(page, '/admin/login');
  const form = formWith(page, 'Log in');
  await form.getByLabel('Email', { exact: true }).fill(owner.email);
  await form.getByLabel('Password', { exact: true }).fill(owner.password);
  await form.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(/\/admin(?:[?#]|$)/);
  await expect(page.getByRole('heading', { name: 'Overview', exact: true })).toBeVisible();
  // The chart is drawn on the server: it is there without JavaScript.
  await expect(page.locator('svg.tally-chart')).toBeVisible();

  const campaign = newCampaign('NoJS');
  await createCampaign(page, campaign);
  const id = unique();
  const referrer = await addReferrer(page, campaign, { name: `Noah ${id}`, email: `noah-${id}@example.com` });
  expect(referrer.link).toMatch(/^http:\/\/127\.0\.0\.1:3100\/r\/\S+$/);

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/admin\/login/);
  await visit(page, '/admin/referrers');
  await expect(page).toHaveURL(/\/admin\/login/);
});
