// An admin previews a CSV file of referrers (nothing is written, bad rows are listed), then adds
// it; the new referrers are on the Referrers tab with the codes the file kept.
import { expect, test } from '@playwright/test';
import { createCampaign, loginAsOwner, newCampaign, selectOptionByText, unique, visit } from './helpers';

test('a file of referrers is previewed, then added with its printed codes', async ({ page, browser }) => {
  await loginAsOwner(page, browser);
  const campaign = newCampaign('Bulk');
  await createCampaign(page, campaign);
  const id = unique();
  const code = `CARD-${id.slice(-6).toUpperCase().replace(/[ILOU]/g, 'X')}`;
  const file = {
    name: 'people.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(
      `name,email,code\nIda ${id},ida-${id}@example.com,${code}\nJon ${id},jon-${id}@example.com,\nBad ${id},not-an-email,\n`,
    ),
  };
  const form = page.locator('form', { has: page.getByRole('button', { name: 'Add referrers' }) });
  const choose = async () => {
    await visit(page, '/admin/referrers');
    await selectOptionByText(form.getByLabel('Campaign', { exact: true }), campaign.name);
    await form.getByLabel('File', { exact: true }).setInputFiles(file);
  };

  await choose();
  await form.getByRole('button', { name: 'Preview' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Preview of “people.csv”: 2 referrers would be added, 0 already there, 1 refused.' })).toBeVisible();
  const refused = page.getByRole('region', { name: 'Refused rows' });
  await expect(refused.getByRole('row').filter({ hasText: 'email' })).toHaveCount(1);
  await expect(page.getByRole('table').getByText(`ida-${id}@example.com`)).toHaveCount(0);

  await choose();
  await form.getByRole('button', { name: 'Add referrers' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Done with “people.csv”: 2 referrers added, 0 already there, 1 refused.' })).toBeVisible();
  const ida = page.getByRole('row').filter({ hasText: `ida-${id}@example.com` });
  await expect(ida).toContainText(code);
  await expect(page.getByRole('row').filter({ hasText: `jon-${id}@example.com` })).toHaveCount(1);
});
