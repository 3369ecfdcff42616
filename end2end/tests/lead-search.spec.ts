// Finding a lead: the header's search box and the Leads tab's search by an order id and by the
// start of a name, every filter kept in the address, and the CSV export of what is shown.
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import {
  addReferrer,
  createApiKey,
  createCampaign,
  expectThanks,
  loginAsOwner,
  newCampaign,
  recordPurchase,
  submitFriendForm,
  unique,
  visit,
} from './helpers';

test('an admin finds a lead by email, order id and name, and exports the view', async ({ page, browser }) => {
  await loginAsOwner(page, browser);
  const campaign = newCampaign('Search');
  await createCampaign(page, campaign);
  const id = unique();
  const referrer = await addReferrer(page, campaign, { name: `Rosa ${id}`, email: `rosa-${id}@example.com` });

  const zoe = { name: `Zoë Quinn ${id}`, email: `zq-${id}@example.com` };
  const max = { name: `Max ${id}`, email: `max-${id}@example.com` };
  const friendContext = await browser.newContext();
  const friend = await friendContext.newPage();
  for (const person of [zoe, max]) {
    await visit(friend, `/f/${campaign.slug}`);
    await submitFriendForm(friend, { ...person, code: referrer.code });
    await expectThanks(friend);
  }
  await friendContext.close();
  const key = await createApiKey(page);
  const order = `ORD-${id}`;
  await recordPurchase(page, key, {
    campaign: campaign.slug,
    referral_code: referrer.code,
    email: zoe.email,
    event_id: order,
  });

  // The header's box, from any page: the lead by its email, in other letter case.
  await visit(page, '/admin/campaigns');
  const header = page.getByRole('search', { name: 'Search everything' });
  await header.getByLabel('Search campaigns, referrers and leads').fill(zoe.email.toUpperCase());
  await header.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/\/admin\/search\?q=/);
  const leads = page.getByRole('region', { name: 'Leads' });
  await leads.getByRole('link', { name: zoe.name }).click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(zoe.name);

  // The Leads tab, by the order id: only Zoë, and the page says how it read the text.
  await visit(page, '/admin/leads');
  const filters = page.getByRole('search', { name: 'Find leads' });
  await filters.getByLabel('Search', { exact: true }).fill(order);
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Leads with the order id ${order}` })).toBeVisible();
  await expect(page).toHaveURL(new RegExp(`q=${order}`));
  const rows = page.locator('main table tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(zoe.email);

  // The start of a name, any case, oldest first; the view survives a reload (it is the URL).
  await filters.getByLabel('Search', { exact: true }).fill(`zoë q`);
  await filters.getByLabel('Order').selectOption('oldest');
  await filters.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/sort=oldest/);
  await page.reload();
  await expect(page.getByRole('search', { name: 'Find leads' }).getByLabel('Search', { exact: true })).toHaveValue('zoë q');
  await expect(rows.filter({ hasText: zoe.email })).toHaveCount(1);
  await expect(rows.filter({ hasText: max.email })).toHaveCount(0);

  // The export holds exactly the view.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export these leads (CSV)' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^leads-all-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = readFileSync(await download.path(), 'utf8').trim().split('\n');
  expect(csv[0]).toBe('lead_id,campaign,name,email,phone,referrer_id,referrer,source,status,flags,amount,currency,created_at');
  expect(csv).toHaveLength(2);
  expect(csv[1]).toContain(`"${zoe.email}"`);
  expect(csv[1]).toContain('"qualified"');

  // Clearing the search shows both friends again.
  await page.getByRole('link', { name: 'Clear the search' }).click();
  await expect(rows.filter({ hasText: max.email })).toHaveCount(1);
});
