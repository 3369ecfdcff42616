// Conversions uploaded as a CSV file in the admin: the preview (counts and refused rows), the
// import, and what it did in the Leads and Rewards tabs; the event for rows without one. Runs in
// both projects: chromium-js and chromium-nojs (the upload is a plain form post, and without
// JavaScript the upload's page reloads itself while a run goes on).
import fs from 'node:fs';
import { expect, test } from '@playwright/test';
import {
  addReferrer,
  column,
  createCampaign,
  formWith,
  loginAsOwner,
  newCampaign,
  reportCount,
  rowValues,
  selectOptionByText,
  settle,
  tableRow,
  unique,
  uploadCsv,
  visit,
} from './helpers';

test('an uploaded CSV is previewed, then imported: its leads qualify and their rewards are due', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(180_000);
  const js = testInfo.project.use.javaScriptEnabled !== false ? 'js' : 'nojs';
  await loginAsOwner(page, browser);
  const campaign = newCampaign(`Upload ${js}`);
  await createCampaign(page, campaign);
  const id = unique();
  const referrer = await addReferrer(page, campaign, { name: `Uma ${id}`, email: `uma-${id}@example.com` });

  const ann = `ann-${id}@example.com`;
  const bob = `bob-${id}@example.com`;
  const cat = `cat-${id}@example.com`;
  const filename = `orders-${id}.csv`;
  const csv = [
    'email,referral code,amount,currency,order id',
    `${ann},${referrer.code},49.00,USD,ord-${id}-1`,
    `${bob},${referrer.code},25.50,USD,ord-${id}-2`,
    // Line 4: an amount that is not a number.
    `${cat},${referrer.code},lots,USD,ord-${id}-3`,
  ].join('\n');

  await test.step('a file that is not a conversions CSV is refused on the uploads page', async () => {
    await visit(page, '/admin/imports');
    const form = formWith(page, 'Upload and preview');
    await selectOptionByText(form.getByLabel('Campaign', { exact: true }), campaign.name);
    await form.getByLabel('CSV file', { exact: true }).setInputFiles({
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('just some notes\nnothing else\n'),
    });
    await form.getByRole('button', { name: 'Upload and preview' }).click();
    await expect(page).toHaveURL(/\/admin\/imports(?:\?|$)/);
    await expect(page.getByRole('alert')).toBeVisible();
  });

  let uploadId = 0;
  await test.step('the preview counts the rows and lists the bad one', async () => {
    uploadId = await uploadCsv(page, campaign, filename, csv);
    await expect(page.getByRole('heading', { name: filename })).toBeVisible();
    await expect(page.getByText('Nothing has been written yet.')).toBeVisible();
    await expect(reportCount(page, 'Rows')).toHaveText('3');
    await expect(reportCount(page, 'Will import')).toHaveText('2');
    await expect(reportCount(page, 'Will qualify')).toHaveText('2');
    await expect(reportCount(page, 'Invalid')).toHaveText('1');
    await expect(reportCount(page, 'Unmatched')).toHaveText('0');

    const refused = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'Reason' }) });
    const row = refused.getByRole('row').filter({ has: page.getByRole('cell', { name: '4', exact: true }) });
    await expect(row).toHaveCount(1);
    const values = await rowValues(refused, row);
    expect(column(values, 'Column')).toBe('amount');
    expect(column(values, 'Reason').length).toBeGreaterThan(5);

    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'Download all refused rows (CSV)' }).click();
    const file = await download;
    const text = fs.readFileSync((await file.path())!, 'utf8');
    expect(text.split('\n')[0]).toBe('line,column,reason');
    expect(text).toContain('4,"amount"');
  });

  await test.step('nothing was written by the preview', async () => {
    await visit(page, `/admin/leads?campaign=${campaign.slug}`);
    await expect(page.getByText('No leads match.')).toBeVisible();
    await visit(page, `/admin/imports/${uploadId}`);
  });

  await test.step('importing writes the rows and says what it did', async () => {
    await page.getByRole('button', { name: 'Import 2 rows' }).click();
    await expect(page.getByRole('heading', { name: 'Result', exact: true })).toBeVisible({ timeout: 30_000 });
    await expect(reportCount(page, 'Imported')).toHaveText('2');
    await expect(reportCount(page, 'Qualified')).toHaveText('2');
    await expect(reportCount(page, 'Invalid')).toHaveText('1');
    await expect(page.getByRole('button', { name: /^Import \d+ rows?$/ })).toHaveCount(0);
  });

  await test.step('the leads are qualified in the Leads tab', async () => {
    await page.getByRole('main').getByRole('link', { name: 'Leads', exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`/admin/leads\\?campaign=${campaign.slug}`));
    for (const email of [ann, bob]) {
      await expect(tableRow(page, email).row.getByRole('cell', { name: /^qualified$/ })).toHaveCount(1);
    }
    await expect(page.getByRole('row').filter({ hasText: cat })).toHaveCount(0);
  });

  await test.step('their rewards are due in the Rewards tab', async () => {
    await visit(page, `/admin/rewards?campaign=${campaign.slug}`);
    const { table, row } = tableRow(page, referrer.email);
    await expect(row).toHaveCount(2);
    expect(column(await rowValues(table, row.first()), 'Status')).toBe('due');
  });

  await test.step('the history lists the upload as done', async () => {
    await visit(page, '/admin/imports');
    const { table, row } = tableRow(page, filename);
    await expect(row).toHaveCount(1);
    const values = await rowValues(table, row);
    expect(column(values, 'Status')).toBe('done');
    expect(column(values, 'Imported')).toBe('2');
    expect(column(values, 'Refused')).toBe('1');
  });
});

test('rows without an event count as the event named on the upload form, from preview to import', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(180_000);
  const js = testInfo.project.use.javaScriptEnabled !== false ? 'js' : 'nojs';
  await loginAsOwner(page, browser);
  const campaign = newCampaign(`Upload event ${js}`);
  await createCampaign(page, campaign);
  const id = unique();
  const referrer = await addReferrer(page, campaign, { name: `Eve ${id}`, email: `eve-${id}@example.com` });
  const filename = `signups-${id}.csv`;
  // No event column: each row counts as the event named on the form.
  const csv = ['email,referral code', `sia-${id}@example.com,${referrer.code}`].join('\n');

  const upload = async (event: string) => {
    await visit(page, '/admin/imports');
    const form = formWith(page, 'Upload and preview');
    await selectOptionByText(form.getByLabel('Campaign', { exact: true }), campaign.name);
    await form.getByLabel('Event name for rows without one', { exact: true }).fill(event);
    await form.getByLabel('CSV file', { exact: true }).setInputFiles({
      name: filename,
      mimeType: 'text/csv',
      buffer: Buffer.from(csv, 'utf8'),
    });
    await form.getByRole('button', { name: 'Upload and preview' }).click();
  };

  await test.step('a name that is no event name is refused on the form, which keeps what was typed', async () => {
    await upload('buy now!');
    await expect(page).toHaveURL(/\/admin\/imports\?/);
    await expect(page.getByRole('alert')).toContainText('event name');
    await expect(
      formWith(page, 'Upload and preview').getByLabel('Event name for rows without one', { exact: true }),
    ).toHaveValue('buy now!');
    await visit(page, '/admin/imports');
    await expect(page.getByRole('row').filter({ hasText: filename })).toHaveCount(0);
  });

  await test.step('the event named is kept from the preview to the import', async () => {
    await upload('Sign Up');
    await expect(page).toHaveURL(/\/admin\/imports\/\d+(?:[?#]|$)/);
    await expect(page.getByRole('heading', { name: 'Preview', exact: true })).toBeVisible({ timeout: 30_000 });
    await settle(page);
    const fact = page.locator('dt', { hasText: 'Event for rows without one' }).locator('xpath=following-sibling::dd[1]');
    await expect(fact).toHaveText('sign_up');
    await expect(reportCount(page, 'Will import')).toHaveText('1');
    // sign_up is not the campaign's qualifying event (purchase).
    await expect(reportCount(page, 'Will qualify')).toHaveText('0');

    await page.getByRole('button', { name: 'Import 1 row' }).click();
    await expect(page.getByRole('heading', { name: 'Result', exact: true })).toBeVisible({ timeout: 30_000 });
    await expect(reportCount(page, 'Imported')).toHaveText('1');
    await expect(reportCount(page, 'Qualified')).toHaveText('0');
    await expect(fact).toHaveText('sign_up');
  });
});
