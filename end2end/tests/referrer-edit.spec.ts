// An admin edits a referrer, deactivates them and sees their code refused on the hosted friend
// page, then reactivates them and the same code signs a friend up.
import { expect, test } from '@playwright/test';
import {
  addReferrer,
  createCampaign,
  expectThanks,
  loginAsOwner,
  newCampaign,
  submitFriendForm,
  unique,
  visit,
} from './helpers';

test('a deactivated referrer’s code is refused on the friend form until reactivated', async ({ page, browser }) => {
  await loginAsOwner(page, browser);
  const campaign = newCampaign('Deactivate');
  await createCampaign(page, campaign);
  const id = unique();
  const referrer = await addReferrer(page, campaign, { name: `Rita ${id}`, email: `rita-${id}@example.com` });

  // The page says who was added, with a link to them.
  await page.getByRole('status').getByRole('link', { name: referrer.name, exact: true }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText(referrer.name);

  // Edit the details and note.
  const details = page.locator('section', { has: page.getByRole('heading', { name: 'Details' }) });
  await details.getByLabel('Name', { exact: true }).fill(`Rita Moreno ${id}`);
  await details.getByLabel('Note', { exact: true }).fill('Prefers calls in the morning.');
  await details.getByRole('button', { name: 'Save details' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  await expect(page.getByRole('heading', { level: 1 })).toContainText(`Rita Moreno ${id}`);

  // Deactivate.
  await page.getByRole('button', { name: 'Deactivate referrer' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Deactivated:' })).toBeVisible();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('inactive');
  await expect(page.getByRole('button', { name: 'Reactivate referrer' })).toBeVisible();

  // A friend types the code on the hosted page: refused, saying why; nothing recorded.
  const friendContext = await browser.newContext();
  const friend = await friendContext.newPage();
  await visit(friend, `/f/${campaign.slug}`);
  const email = `friend-${id}@example.com`;
  await submitFriendForm(friend, { name: 'Sam', email, code: referrer.code.toLowerCase() });
  await expect(friend.getByText('This referral code is no longer active.')).toBeVisible();

  // Reactivated, the same code works.
  await page.getByRole('button', { name: 'Reactivate referrer' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Reactivated' })).toBeVisible();
  await visit(friend, `/f/${campaign.slug}`);
  await submitFriendForm(friend, { name: 'Sam', email, code: referrer.code });
  await expectThanks(friend);
  await friendContext.close();
});
