// Qualification and rewards as an admin sees them: the rules editor, conversions arriving through
// the REST API, the review queue, approving and rejecting leads, and issuing rewards. Runs in both
// projects: chromium-js and chromium-nojs (every form must post and redirect without the wasm bundle).
import fs from 'node:fs';
import { expect, request, test, type Page } from '@playwright/test';
import {
  addReferrer,
  BASE_URL,
  column,
  createApiKey,
  createCampaign,
  formWith,
  loginAsOwner,
  newCampaign,
  recordPurchase,
  rowValues,
  tableRow,
  unique,
  visit,
  type Campaign,
  type Referrer,
} from './helpers';

/** A campaign with one referrer and an API key, ready for conversions. */
async function setUp(page: Page, label: string): Promise<{ campaign: Campaign; referrer: Referrer; key: string }> {
  const campaign = newCampaign(label);
  await createCampaign(page, campaign);
  const id = unique();
  const referrer = await addReferrer(page, campaign, { name: `Rhea ${id}`, email: `rhea-${id}@example.com` });
  const key = await createApiKey(page);
  return { campaign, referrer, key };
}

/** The rules editor's form on the campaign page. */
async function openRules(page: Page, campaign: Campaign) {
  await visit(page, `/admin/campaigns/${campaign.slug}`);
  return formWith(page, 'Save rules');
}

async function expectStatus(page: Page, text: string | RegExp): Promise<void> {
  await expect(page.getByRole('status').filter({ hasText: text })).toBeVisible();
}

test('a qualified purchase earns a due reward, which is downloaded for payout and issued', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(180_000);
  const js = testInfo.project.use.javaScriptEnabled !== false ? 'js' : 'nojs';
  await loginAsOwner(page, browser);
  const { campaign, referrer, key } = await setUp(page, `Rewards ${js}`);

  await test.step('the rules editor refuses a bad amount beside its field, then saves a fixed reward', async () => {
    let rules = await openRules(page, campaign);
    await expect(page.getByText('Qualifies on: purchase.')).toBeVisible();
    const first = rules.getByRole('group', { name: 'Reward 1' });
    await first.getByLabel('Kind', { exact: true }).selectOption('fixed');
    await first.getByLabel('Amount', { exact: true }).fill('ten');
    await first.getByLabel('Currency', { exact: true }).fill('USD');
    await rules.getByRole('button', { name: 'Save rules' }).click();
    const amount = page.getByRole('group', { name: 'Reward 1' }).getByLabel('Amount', { exact: true });
    await expect(amount).toHaveAttribute('aria-invalid', 'true');
    await expect(amount).toHaveAccessibleDescription(/Write the amount as a number/);

    rules = formWith(page, 'Save rules');
    const again = rules.getByRole('group', { name: 'Reward 1' });
    // Without JavaScript the page came back with the saved rules: the kind is chosen again.
    await again.getByLabel('Kind', { exact: true }).selectOption('fixed');
    await again.getByLabel('Amount', { exact: true }).fill('10');
    await again.getByLabel('Currency', { exact: true }).fill('usd');
    await again.getByLabel('Description', { exact: true }).fill('');
    await rules.getByRole('button', { name: 'Save rules' }).click();
    await expectStatus(page, 'Rules saved.');
    await expect(page.getByRole('listitem').filter({ hasText: 'Referrer gets 10.00 USD per qualified lead, due at once.' })).toBeVisible();
    // The reward reads as the same sentence above its fields.
    await expect(page.getByRole('group', { name: 'Reward 1' }).getByText('Referrer gets 10.00 USD per qualified lead, due at once.')).toBeVisible();
  });

  const friend = `fay-${unique()}@example.com`;
  await test.step('a purchase with the referral code qualifies the lead', async () => {
    const result = await recordPurchase(page, key, {
      campaign: campaign.slug,
      referral_code: referrer.code,
      email: friend,
    });
    expect(result.outcome).toBe('qualified');
    expect(result.rewards).toHaveLength(1);

    await visit(page, `/admin/leads?campaign=${campaign.slug}`);
    const { row } = tableRow(page, friend);
    await expect(row.getByRole('cell', { name: /^qualified$/ })).toHaveCount(1);
  });

  await test.step('the reward is due in the Rewards tab and the payout CSV holds it', async () => {
    await visit(page, `/admin/rewards?campaign=${campaign.slug}`);
    await expect(page.getByLabel('Status', { exact: true })).toHaveValue('due');
    const { table, row } = tableRow(page, referrer.email);
    await expect(row).toHaveCount(1);
    const values = await rowValues(table, row);
    expect(column(values, 'Reward')).toBe('USD 10.00');
    expect(column(values, 'Status')).toBe('due');
    // The reward names its friend (no name was given, so their email), linked to the lead.
    await expect(row.getByRole('link', { name: friend, exact: true })).toHaveAttribute('href', /^\/admin\/leads\/\d+$/);

    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download CSV for payout' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(new RegExp(`^rewards-due-${campaign.slug}-\\d{4}-\\d{2}-\\d{2}\\.csv$`));
    const csv = fs.readFileSync((await file.path())!, 'utf8');
    expect(csv.split('\n')[0]).toContain('recipient_email');
    expect(csv).toContain(`"${referrer.email}"`);
    expect(csv).toContain('"10.00","USD"');
  });

  await test.step('the CSV needs a session', async () => {
    const stranger = await request.newContext({ baseURL: BASE_URL });
    const response = await stranger.get(`/admin/rewards/export.csv?campaign=${campaign.slug}`, { maxRedirects: 0 });
    expect([302, 303]).toContain(response.status());
    expect(response.headers()['location']).toBe('/admin/login');
    await stranger.dispose();
  });

  await test.step('issuing the reward moves it from due to issued', async () => {
    const { row } = tableRow(page, referrer.email);
    await row.getByRole('button', { name: /^Issue USD 10\.00 to / }).click();
    await expectStatus(page, /issued/i);
    await expect(page.getByRole('row').filter({ hasText: referrer.email })).toHaveCount(0);

    await visit(page, `/admin/rewards?campaign=${campaign.slug}&status=issued`);
    const issued = tableRow(page, referrer.email);
    expect(column(await rowValues(issued.table, issued.row), 'Status')).toBe('issued');
  });
});

test('with approval required, purchases wait in the review queue to be approved or rejected', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(180_000);
  const js = testInfo.project.use.javaScriptEnabled !== false ? 'js' : 'nojs';
  await loginAsOwner(page, browser);
  const { campaign, referrer, key } = await setUp(page, `Review ${js}`);

  await test.step('the admin asks to approve each qualification', async () => {
    const rules = await openRules(page, campaign);
    await rules.getByLabel(/An admin approves each qualification/).check();
    await rules.getByRole('button', { name: 'Save rules' }).click();
    await expectStatus(page, 'Rules saved.');
    await expect(page.getByText('An admin approves each qualification.', { exact: true })).toBeVisible();
    await expect(formWith(page, 'Save rules').getByLabel(/An admin approves each qualification/)).toBeChecked();
  });

  const approved = `abe-${unique()}@example.com`;
  const rejected = `rex-${unique()}@example.com`;
  const first = await recordPurchase(page, key, { campaign: campaign.slug, referral_code: referrer.code, email: approved });
  const second = await recordPurchase(page, key, { campaign: campaign.slug, referral_code: referrer.code, email: rejected });
  expect([first.outcome, second.outcome]).toEqual(['review', 'review']);
  expect(first.rewards).toHaveLength(0);

  await test.step('both leads are in the review queue', async () => {
    await visit(page, `/admin/leads?campaign=${campaign.slug}`);
    await page.getByRole('link', { name: 'Review queue', exact: true }).click();
    await expect(page).toHaveURL(/status=review/);
    await expect(page.getByLabel('Status', { exact: true })).toHaveValue('review');
    for (const email of [approved, rejected]) {
      await expect(tableRow(page, email).row.getByRole('cell', { name: /^review$/ })).toHaveCount(1);
    }
  });

  await test.step('approving a lead qualifies it and creates its reward', async () => {
    await visit(page, `/admin/leads/${first.lead.id}`);
    const form = formWith(page, 'Approve');
    await form.getByLabel('Note (optional)', { exact: true }).fill('Checked the order by phone');
    await form.getByRole('button', { name: 'Approve' }).click();
    await expectStatus(page, 'The lead is qualified');
    await expect(page.getByRole('button', { name: 'Approve' })).toHaveCount(0);
    const entry = page.getByRole('listitem').filter({ hasText: 'Approved by' });
    await expect(entry).toContainText('Checked the order by phone');
  });

  await test.step('rejecting a lead needs a reason, which goes on the timeline', async () => {
    await visit(page, `/admin/leads/${second.lead.id}`);
    const form = formWith(page, 'Reject');
    const reason = form.getByLabel('Reason for rejecting', { exact: true });
    await expect(reason).toHaveAttribute('required', '');
    await reason.fill('Test order placed by our own staff');
    await form.getByRole('button', { name: 'Reject' }).click();
    await expectStatus(page, 'The lead is rejected.');
    const entry = page.getByRole('listitem').filter({ hasText: 'Rejected by' });
    await expect(entry).toContainText('Test order placed by our own staff');
    await expect(page.getByRole('button', { name: 'Reject' })).toHaveCount(0);
    await expect(page.getByRole('button', { name: 'Qualify' })).toBeVisible();
  });

  await test.step('the approved lead\'s reward is issued with "Issue all due"', async () => {
    await visit(page, `/admin/rewards?campaign=${campaign.slug}`);
    await expect(tableRow(page, referrer.email).row).toHaveCount(1);
    const form = formWith(page, 'Issue all due rewards');
    await form.getByLabel(/Every due reward of .* has been paid/).check();
    await form.getByRole('button', { name: 'Issue all due rewards' }).click();
    await expectStatus(page, '1 reward issued.');
    await expect(page.getByText('No rewards match.')).toBeVisible();
  });
});
