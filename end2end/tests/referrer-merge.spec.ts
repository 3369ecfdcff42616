// An owner merges a duplicate record into a referrer, then deletes the referrer after seeing
// what goes with them; the audit log says who did both.
import { expect, test } from '@playwright/test';
import { addReferrer, createCampaign, loginAsOwner, newCampaign, unique, visit } from './helpers';

test('an owner merges a duplicate, deletes the referrer, and the audit log tells it', async ({ page, browser }) => {
  const owner = await loginAsOwner(page, browser);
  const campaign = newCampaign('Merge');
  await createCampaign(page, campaign);
  const id = unique();
  const rita = await addReferrer(page, campaign, { name: `Rita ${id}`, email: `rita-${id}@example.com` });
  const copy = await addReferrer(page, campaign, { name: `Rita M ${id}`, email: `rita.m-${id}@example.com` });

  await page.getByRole('table').getByRole('link', { name: rita.name, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText(rita.name);

  // Merge the duplicate by its code, typed in lower case.
  const merge = page.locator('section', { has: page.getByRole('heading', { name: 'Merge a duplicate' }) });
  await merge.getByLabel("The other record's email, code or number").fill(copy.code.toLowerCase());
  await merge.getByLabel(`Merge it into ${rita.name} and remove it`).check();
  await merge.getByRole('button', { name: 'Merge into this referrer' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Merged ${copy.name} (${copy.code})` })).toBeVisible();

  // Delete: the section counts what goes, and the email must be typed.
  const remove = page.locator('section', { has: page.getByRole('heading', { name: 'Delete', exact: true }) });
  await expect(remove).toContainText('Deleting cannot be undone:');
  await expect(remove.getByRole('link', { name: 'Download everything about them (CSV)' })).toBeVisible();
  await remove.getByLabel('Type their email to confirm').fill(copy.email);
  await remove.getByRole('button', { name: 'Delete referrer' }).click();
  await expect(remove.getByRole('alert')).toContainText('Type');
  await remove.getByLabel('Type their email to confirm').fill(rita.email);
  await remove.getByRole('button', { name: 'Delete referrer' }).click();
  await expect(page).toHaveURL(/\/admin\/referrers\?deleted=/);
  await expect(page.getByRole('status').filter({ hasText: `Deleted ${rita.name}.` })).toBeVisible();

  // The audit log, newest first.
  await visit(page, '/admin/audit');
  const rows = page.locator('main table tbody tr');
  await expect(rows.nth(0)).toContainText(`Deleted ${rita.name}`);
  await expect(rows.nth(0)).toContainText(owner.email);
  await expect(rows.nth(1)).toContainText(`Merged ${copy.name}`);
});
