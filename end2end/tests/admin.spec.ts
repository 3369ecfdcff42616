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

test('at phone width a table stacks its rows, each cell named, nothing off screen', async ({ page, browser }) => {
  await page.setViewportSize({ width: 375, height: 740 });
  await loginAsOwner(page, browser);
  const campaign = newCampaign('Stack');
  await createCampaign(page, campaign);
  const id = unique();
  await addReferrer(page, campaign, { name: `Stacy ${id}`, email: `stacy-${id}@example.com` });
  await visit(page, `/admin/referrers?campaign=${campaign.slug}`);
  const row = page.getByRole('row').filter({ hasText: `stacy-${id}@example.com` });
  await expect(row).toHaveCount(1);
  // Every cell of the row is on screen, under the one before it, with its column's name.
  const cells = row.locator('td');
  const count = await cells.count();
  expect(count).toBe(8);
  let previousBottom = 0;
  for (let i = 0; i < count; i += 1) {
    const box = (await cells.nth(i).boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(375);
    expect(box.y).toBeGreaterThanOrEqual(previousBottom - 1);
    previousBottom = box.y + box.height;
    const label = await cells.nth(i).evaluate((td) => getComputedStyle(td, '::before').content);
    expect(label).not.toBe('none');
  }
  // Nothing on the page reaches past the screen's right edge (named, when something does).
  const wide = await page.evaluate(() =>
    [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
      .map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className}`)
      .slice(0, 5),
  );
  expect(wide, 'the page does not scroll sideways').toEqual([]);
});

test('the rules editor shows each reward as a sentence and adds one from a folded row', async ({ page, browser }) => {
  await loginAsOwner(page, browser);
  const campaign = newCampaign('Rules');
  await createCampaign(page, campaign);
  await visit(page, `/admin/campaigns/${campaign.slug}`);
  const rules = formWith(page, 'Save rules');
  // A new campaign has one reward; no blank reward forms are laid out.
  await expect(rules.getByRole('group', { name: 'Reward 1' }).getByText('Referrer gets Thank-you reward per qualified lead, due at once.')).toBeVisible();
  await expect(rules.getByRole('group', { name: 'Reward 2' })).toHaveCount(0);
  const added = rules.getByRole('group', { name: 'New reward' });
  await expect(added).toBeHidden();
  await rules.getByText('Add a reward', { exact: true }).click();
  await added.getByLabel('Kind', { exact: true }).selectOption('fixed');
  await added.getByLabel('Recipient', { exact: true }).selectOption('friend');
  await added.getByLabel('Amount', { exact: true }).fill('5');
  await added.getByLabel('Currency', { exact: true }).fill('EUR');
  await added.getByLabel('Hold (days)', { exact: true }).fill('14');
  await rules.getByRole('button', { name: 'Save rules' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Rules saved.' })).toBeVisible();
  const saved = formWith(page, 'Save rules');
  await expect(saved.getByRole('group', { name: 'Reward 2' }).getByText('Friend gets 5.00 EUR per qualified lead, due 14 days after qualifying.')).toBeVisible();
  await expect(saved.getByRole('group', { name: 'New reward' })).toBeHidden();
});
