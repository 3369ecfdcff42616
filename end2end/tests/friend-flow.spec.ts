// What a referred friend does, and what the admin then sees. Runs in both projects:
// chromium-js and chromium-nojs (every form must post and redirect without the wasm bundle).
import { expect, test } from '@playwright/test';
import {
  addReferrer,
  column,
  createCampaign,
  expectThanks,
  freshContext,
  loginAsOwner,
  newCampaign,
  rowValues,
  settle,
  submitFriendForm,
  tableRow,
  unique,
  visit,
  withTypo,
} from './helpers';

test('friends credited by link and by a mistyped code both show up as pending leads', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(120_000);
  const js = testInfo.project.use.javaScriptEnabled !== false ? 'js' : 'nojs';

  // The admin (this test's own page) sets up a campaign and a referrer.
  await loginAsOwner(page, browser);
  const campaign = newCampaign(`Friends ${js}`);
  await createCampaign(page, campaign);
  const id = unique();
  const referrer = await addReferrer(page, campaign, {
    name: `Rita ${js} ${id}`,
    email: `rita-${id}@example.com`,
  });
  const byLink = { name: `Lina ${id}`, email: `lina-${id}@example.com` };
  const byCode = { name: `Cody ${id}`, email: `cody-${id}@example.com` };

  await test.step('a friend follows the referral link in a fresh browser', async () => {
    const context = await freshContext(browser, testInfo);
    const friend = await context.newPage();
    const response = await visit(friend, referrer.link);
    expect(response, 'the friend page answers').not.toBeNull();
    // Walk back the redirect chain to the request for the referral link itself.
    let first = response!.request();
    while (first.redirectedFrom()) first = first.redirectedFrom()!;
    expect(first.url()).toBe(referrer.link);
    expect((await first.response())?.status(), 'the referral link redirects with 302').toBe(302);
    await expect(friend).toHaveURL(new RegExp(`/f/${campaign.slug}(?:[?#]|$)`));

    await expect(friend.getByLabel('Referral code', { exact: true })).toHaveValue(referrer.code);
    await submitFriendForm(friend, { ...byLink, code: referrer.code });
    await expectThanks(friend);
    await context.close();
  });

  await test.step('another friend types the code with one character wrong, takes the suggestion', async () => {
    const context = await freshContext(browser, testInfo);
    const friend = await context.newPage();
    await visit(friend, `/f/${campaign.slug}`);
    const typo = withTypo(referrer.code);
    expect(typo).not.toBe(referrer.code);
    await submitFriendForm(friend, { ...byCode, code: typo });
    const suggestion = friend.getByText(/Did you mean/).first();
    await expect(suggestion).toBeVisible();
    await expect(suggestion).toContainText(referrer.code);
    await expect(friend.getByRole('heading', { name: /Thanks/ })).toHaveCount(0);
    // The answer may be a freshly loaded page: let it hydrate before typing into it again.
    await settle(friend);

    await submitFriendForm(friend, { ...byCode, code: referrer.code });
    await expectThanks(friend);
    await context.close();
  });

  await test.step('the admin sees both leads, attributed to the referrer', async () => {
    await visit(page, '/admin/leads');
    const linkLead = tableRow(page, byLink.email).row;
    await expect(linkLead).toHaveCount(1);
    await expect(linkLead).toContainText(referrer.name);
    await expect(linkLead.getByRole('cell', { name: /^link$/i })).toHaveCount(1);
    await expect(linkLead.getByRole('cell', { name: /^pending$/i })).toHaveCount(1);

    const codeLead = tableRow(page, byCode.email).row;
    await expect(codeLead).toHaveCount(1);
    await expect(codeLead).toContainText(referrer.name);
    await expect(codeLead.getByRole('cell', { name: /^code$/i })).toHaveCount(1);
    await expect(codeLead.getByRole('cell', { name: /^pending$/i })).toHaveCount(1);

    // The mistyped attempt did not create a lead of its own.
    await expect(page.getByRole('row').filter({ hasText: byCode.email })).toHaveCount(1);
  });

  await test.step('the referrers table counts both leads', async () => {
    await visit(page, '/admin/referrers');
    const { table, row } = tableRow(page, referrer.email);
    await expect(row).toHaveCount(1);
    const values = await rowValues(table, row);
    expect(column(values, 'Leads')).toBe('2');
    expect(column(values, 'Qualified')).toBe('0');
  });
});
