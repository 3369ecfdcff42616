// The admin screens with JavaScript on (project chromium-js).
import { expect, test } from '@playwright/test';
import {
  addReferrer,
  column,
  createCampaign,
  formWith,
  loginAsOwner,
  newCampaign,
  rowValues,
  tableRow,
  unique,
  visit,
} from './helpers';

test('the admin navigation links every screen and logs out', async ({ page, browser }) => {
  await loginAsOwner(page, browser);
  const nav = page.getByRole('navigation', { name: 'Main' });
  for (const name of ['Campaigns', 'Referrers', 'Leads', 'Rewards', 'Uploads', 'Integrations', 'API reference']) {
    await expect(nav.getByRole('link', { name, exact: true })).toBeVisible();
  }
  await nav.getByRole('link', { name: 'Referrers', exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/referrers/);
  await nav.getByRole('link', { name: 'Leads', exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/leads/);
  await nav.getByRole('link', { name: 'Rewards', exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/rewards/);
  await nav.getByRole('link', { name: 'Uploads', exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/imports/);
  await expect(page.getByRole('heading', { name: 'Uploads', exact: true })).toBeVisible();
  await nav.getByRole('link', { name: 'Integrations', exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/integrations/);
  await expect(page.getByRole('heading', { name: 'Integrations', exact: true })).toBeVisible();
  await nav.getByRole('link', { name: 'Campaigns', exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/campaigns/);

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/admin\/login/);
  // The session is gone: the admin pages send us back to the login form.
  await visit(page, '/admin/leads');
  await expect(page).toHaveURL(/\/admin\/login/);
});

test('the campaign form offers both code styles and lists the new campaign', async ({ page, browser }) => {
  await loginAsOwner(page, browser);
  await visit(page, '/admin/campaigns');
  const form = formWith(page, 'Create campaign');
  const options = (await form.getByLabel('Code style', { exact: true }).locator('option').allTextContents()).map((t) =>
    t.trim(),
  );
  expect(options).toEqual(expect.arrayContaining(['Random', 'Name-based']));
  for (const label of ['Name', 'Slug', 'Landing URL', 'Referral codes', 'Code prefix', 'Brand colour', 'Logo URL']) {
    await expect(form.getByLabel(label, { exact: true })).toBeVisible();
  }
  await createCampaign(page, newCampaign('Spring'));
});

test('a new referrer gets a code and a full referral link', async ({ page, browser }) => {
  await loginAsOwner(page, browser);
  const campaign = newCampaign('Referrers');
  await createCampaign(page, campaign);
  const id = unique();
  const referrer = await addReferrer(page, campaign, { name: `Ada ${id}`, email: `ada-${id}@example.com` });
  expect(referrer.link).toMatch(/^http:\/\/127\.0\.0\.1:3100\/r\/\S+$/);
  expect(referrer.code).toMatch(/^[0-9A-HJKMNP-TV-Z]+(-[0-9A-HJKMNP-TV-Z]+)+$/);

  const { table, row } = tableRow(page, referrer.email);
  const values = await rowValues(table, row);
  for (const name of ['Name', 'Email', 'Code', 'Link', 'Clicks', 'Leads', 'Qualified', 'Joined']) {
    expect(() => column(values, name), `column ${name}`).not.toThrow();
  }
  expect(column(values, 'Name')).toContain(referrer.name);
  expect(column(values, 'Email')).toContain(referrer.email);
  expect(column(values, 'Clicks')).toBe('0');
  expect(column(values, 'Leads')).toBe('0');
  expect(column(values, 'Qualified')).toBe('0');
});

test('at phone width every tab of the navigation is in sight, none cut off', async ({ page, browser }) => {
  await page.setViewportSize({ width: 375, height: 740 });
  await loginAsOwner(page, browser);
  const links = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
  const count = await links.count();
  expect(count).toBeGreaterThanOrEqual(8);
  for (let i = 0; i < count; i += 1) {
    const link = links.nth(i);
    await expect(link).toBeVisible();
    const box = await link.boundingBox();
    expect(box, await link.textContent()).not.toBeNull();
    expect(box!.x, `${await link.textContent()} starts on screen`).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width, `${await link.textContent()} ends on screen`).toBeLessThanOrEqual(375);
    // Its whole label shows: the box is as wide as the text needs.
    const clipped = await link.evaluate((a) => a.scrollWidth > a.clientWidth + 1);
    expect(clipped, `${await link.textContent()} is not cut`).toBe(false);
  }
});
