// Every page runs under its Content-Security-Policy without a violation: the admin and portal
// hydrate (their inline scripts carry the response's nonce), the widget's live preview frame
// and the email previews load, and the plain friend page needs no script at all.
import { expect, test, type Page } from '@playwright/test';
import { createCampaign, loginAsOwner, newCampaign, visit } from './helpers';

/** Collects the browser's CSP refusals on `page`. */
function violations(page: Page): string[] {
  const seen: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) seen.push(`${page.url()}: ${message.text()}`);
  });
  return seen;
}

test('admin, portal and friend pages run under their content policy without a violation', async ({ page, browser }) => {
  const refused = violations(page);
  await loginAsOwner(page, browser);
  const campaign = newCampaign('Policy');
  await createCampaign(page, campaign);
  for (const path of [
    '/admin',
    '/admin/campaigns',
    `/admin/campaigns/${campaign.slug}`,
    `/admin/campaigns/${campaign.slug}/widget`,
    '/admin/integrations',
    '/admin/emails',
    `/p/${campaign.slug}`,
    `/f/${campaign.slug}`,
  ]) {
    const response = await visit(page, path);
    expect(response?.headers()['content-security-policy'], path).toContain("frame-ancestors 'none'");
  }
  // The hydrated admin still works: a client-side navigation.
  await visit(page, '/admin/campaigns');
  await page.getByRole('link', { name: campaign.name }).first().click();
  await expect(page.getByRole('heading', { name: campaign.name }).first()).toBeVisible();
  expect(refused).toEqual([]);
});
