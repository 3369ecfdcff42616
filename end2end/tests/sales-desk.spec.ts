// The sales desk as a sales rep uses it on a phone: signs in (and lands on the desk, the only
// page the role has), types the code the customer said in lower case, with the look-alike
// letters of the referrer's name and one symbol misheard, confirms the "did you mean" that names
// the referrer, and sees the referral recorded, the form cleared and the entry in their list.
import { expect, test } from '@playwright/test';
import { createAccount, createApiKey, login, loginAsOwner, selectOptionByText, unique, withTypo } from './helpers';

test.use({ viewport: { width: 375, height: 740 } });

test('a sales rep records a misheard code after confirming whose it is', async ({ page, browser }) => {
  await loginAsOwner(page, browser);
  const key = await createApiKey(page);
  const id = unique();
  const campaign = { name: `Desk ${id}`, slug: `e2e-desk-${id}` };
  const created = await page.request.post('/api/v1/campaigns', {
    headers: { Authorization: `Bearer ${key}` },
    data: { name: campaign.name, slug: campaign.slug, code_style: 'name_based' },
  });
  expect(created.status(), await created.text()).toBe(201);
  const added = await page.request.post('/api/v1/referrers', {
    headers: { Authorization: `Bearer ${key}` },
    data: { campaign: campaign.slug, name: 'Olivia Lund', email: `olivia-${id}@example.com` },
  });
  expect(added.status(), await added.text()).toBe(201);
  const { code } = (await added.json()) as { code: string };
  expect(code).toMatch(/^OLIVIA-/);

  const rep = createAccount('sales');
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const desk = await context.newPage();
  await login(desk, rep, /\/admin\/sales(?:[?#]|$)/);
  const nav = desk.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Sales desk' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Leads' })).toHaveCount(0);

  // "olivia-…" in lower case: o, l and i stand for 0, 1 and 1; one symbol is misheard.
  const said = withTypo(code).toLowerCase();
  const friend = `friend-${id}@example.com`;
  const form = desk.locator('form.desk');
  await selectOptionByText(form.getByLabel('Campaign', { exact: true }), campaign.name);
  await form.getByLabel('Referral code', { exact: true }).fill(said);
  await form.getByLabel("Friend's name", { exact: true }).fill('Fatima Khan');
  await form.getByLabel("Friend's email", { exact: true }).fill(friend);
  await form.getByRole('button', { name: 'Record referral' }).click();

  const confirm = form.getByRole('alert');
  await expect(confirm).toContainText('Did you mean');
  await expect(confirm).toContainText(code);
  await expect(confirm).toContainText('Olivia Lund');
  await confirm.getByRole('button', { name: 'Yes, record it for this code' }).click();

  const status = desk.getByRole('status').filter({ hasText: 'Recorded' });
  await expect(status).toContainText(`Recorded Fatima Khan (${friend}) for Olivia Lund.`);
  await expect(form.getByLabel("Friend's email", { exact: true })).toHaveValue('');
  await expect(form.getByLabel('Referral code', { exact: true })).toHaveValue('');
  await expect(desk.locator('ul.entries')).toContainText(`Fatima Khan (${friend}) for Olivia Lund`);

  // The owner sees who entered it on the lead's timeline.
  const leads = await page.request.get(`/api/v1/leads?campaign=${campaign.slug}`, {
    headers: { Authorization: `Bearer ${key}` },
  });
  const { items } = (await leads.json()) as { items: { id: number; email: string; source: string }[] };
  expect(items.map((l) => [l.email, l.source])).toEqual([[friend, 'sales']]);
  await page.goto(`/admin/leads/${items[0].id}`);
  await expect(page.locator('ol.timeline')).toContainText(`Entered by ${rep.email} at the sales desk.`);
  await context.close();
});
