// The Integrations tab: an inbound webhook source (its URL shown once, a delivery in its log,
// replay), an outbound endpoint (its secret shown once, disable, delete), Stripe (the signing
// secret, the campaign, promotion codes mapped by hand and from a CSV file, deleted), HubSpot
// (the access token saved, refused when malformed, disconnected) and Salesforce (the connection
// refused with a wrong field, saved with its secret hidden, disconnected). Runs in both
// projects: chromium-js and chromium-nojs (the file import is a plain form post in both).
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import {
  addReferrer,
  column,
  createCampaign,
  exclusively,
  formWith,
  loginAsOwner,
  newCampaign,
  rowValues,
  selectOptionByText,
  settle,
  tableRow,
  unique,
  visit,
} from './helpers';

async function expectStatus(page: Page, text: string | RegExp): Promise<void> {
  await expect(page.getByRole('status').filter({ hasText: text })).toBeVisible();
}

test('inbound sources, outbound endpoints and Stripe are set up on the integrations page', async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(180_000);
  const js = testInfo.project.use.javaScriptEnabled !== false ? 'js' : 'nojs';
  await loginAsOwner(page, browser);
  const campaign = newCampaign(`Integrations ${js}`);
  await createCampaign(page, campaign);
  const id = unique();
  const referrer = await addReferrer(page, campaign, { name: `Ivo ${id}`, email: `ivo-${id}@example.com` });

  const signed = `Zapier ${js} ${id}`;
  await test.step('a signed source shows its URL and secret once', async () => {
    await visit(page, '/admin/integrations');
    const form = formWith(page, 'Create source');
    await form.getByLabel('Source name', { exact: true }).fill(signed);
    await selectOptionByText(form.getByLabel('Campaign', { exact: true }), campaign.name);
    await form.getByLabel('Preset', { exact: true }).selectOption({ label: 'Zapier' });
    await form.getByLabel(/Require a signature/).check();
    await form.getByRole('button', { name: 'Create source' }).click();
    const shown = page.getByRole('status').filter({ hasText: signed });
    await expect(shown).toBeVisible();
    await expect(shown.locator('code').first()).toHaveText(/^http:\/\/127\.0\.0\.1:3100\/webhooks\/in\/in_[\w-]+$/);
    await expect(shown.locator('code').nth(1)).toHaveText(/^whsec_/);
    await expect(tableRow(page, signed).row).toHaveCount(1);
    expect(column(await rowValues(tableRow(page, signed).table, tableRow(page, signed).row), 'Signature')).toBe(
      'required',
    );

    // Shown once: a fresh look at the page no longer has it.
    await visit(page, '/admin/integrations');
    await expect(page.getByRole('status').filter({ hasText: signed })).toHaveCount(0);
  });

  const custom = `Custom ${js} ${id}`;
  let url = '';
  await test.step('an unsigned source takes a POST, which its log shows and replays', async () => {
    const form = formWith(page, 'Create source');
    await form.getByLabel('Source name', { exact: true }).fill(custom);
    await selectOptionByText(form.getByLabel('Campaign', { exact: true }), campaign.name);
    await form.getByLabel('Preset', { exact: true }).selectOption({ label: 'Custom JSON' });
    await form.getByRole('button', { name: 'Create source' }).click();
    const shown = page.getByRole('status').filter({ hasText: custom });
    url = ((await shown.locator('code').first().textContent()) ?? '').trim();
    expect(url).toMatch(/\/webhooks\/in\/in_[\w-]+$/);

    const friend = `fern-${id}@example.com`;
    const response = await page.request.post(url, {
      data: { event_id: `evt-${id}`, email: friend, referral_code: referrer.code, amount: 30, currency: 'USD' },
    });
    expect(response.status(), await response.text()).toBeLessThan(300);

    await visit(page, '/admin/integrations');
    await page.getByRole('link', { name: custom, exact: true }).click();
    await expect(page.getByRole('heading', { name: custom })).toBeVisible();
    await expect(page.getByLabel('Email', { exact: true })).toHaveValue('/email');
    const log = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'Payload' }) });
    await expect(log.getByRole('row').filter({ hasText: `evt-${id}` })).toHaveCount(1);
    // The payload, in a <details> that starts closed.
    await expect(log.locator('details pre').filter({ hasText: friend })).toHaveCount(1);

    await log.getByRole('button', { name: /^Replay delivery \d+$/ }).first().click();
    await expectStatus(page, /^Replayed/);
  });

  await test.step('the mapping editor saves a changed pointer', async () => {
    const form = formWith(page, 'Save mapping');
    await form.getByLabel('Email', { exact: true }).fill('/customer/email');
    await form.getByRole('button', { name: 'Save mapping' }).click();
    await expectStatus(page, 'Mapping saved.');
    await expect(page.getByLabel('Email', { exact: true })).toHaveValue('/customer/email');
  });

  const endpoint = `https://example.com/hooks/e2e-${id}`;
  await test.step('an outbound endpoint shows its secret once, and is disabled and deleted', async () => {
    await visit(page, '/admin/integrations');
    const form = formWith(page, 'Add endpoint');
    await form.getByLabel('Endpoint URL', { exact: true }).fill(endpoint);
    await form.getByLabel('Description', { exact: true }).fill(`e2e ${js}`);
    await form.getByLabel(/lead\.qualified/).check();
    await form.getByRole('button', { name: 'Add endpoint' }).click();
    const shown = page.getByRole('status').filter({ hasText: endpoint });
    await expect(shown.locator('code')).toHaveText(/^whsec_/);
    const { table, row } = tableRow(page, endpoint);
    await expect(row).toHaveCount(1);
    let values = await rowValues(table, row);
    expect(column(values, 'Events')).toBe('lead.qualified');
    expect(column(values, 'State')).toBe('enabled');

    await row.getByRole('button', { name: `Disable ${endpoint}` }).click();
    await expect(tableRow(page, endpoint).row.getByText('disabled', { exact: true })).toBeVisible();
    values = await rowValues(tableRow(page, endpoint).table, tableRow(page, endpoint).row);
    expect(column(values, 'State')).toBe('disabled');

    await page.getByRole('link', { name: endpoint, exact: true }).click();
    await expect(page.getByRole('heading', { name: endpoint })).toBeVisible();
    await expect(page.getByText('Nothing sent yet.')).toBeVisible();

    await visit(page, '/admin/integrations');
    await tableRow(page, endpoint).row.getByRole('button', { name: `Delete ${endpoint}` }).click();
    await expectStatus(page, 'Endpoint deleted.');
    await expect(page.getByRole('row').filter({ hasText: endpoint })).toHaveCount(0);
  });

  await test.step('Stripe: the endpoint URL, the signing secret, the campaign, a promotion code', async () => {
    await visit(page, '/admin/integrations');
    const stripe = page.getByRole('region', { name: 'Stripe' });
    await expect(stripe.getByText('http://127.0.0.1:3100/webhooks/stripe', { exact: true })).toBeVisible();

    const tail = unique().slice(-4);
    const secretForm = formWith(page, 'Save secret');
    const secret = secretForm.getByLabel('Signing secret', { exact: true });
    await expect(secret).toHaveAttribute('type', 'password');
    await secret.fill(`whsec_e2e${unique()}${tail}`);
    await secretForm.getByRole('button', { name: 'Save secret' }).click();
    await expectStatus(page, 'Signing secret saved.');
    await expect(page.getByText(`Saved secret: Set, ending in …${tail}.`)).toBeVisible();

    const campaignForm = formWith(page, 'Save campaign');
    await selectOptionByText(campaignForm.getByLabel('Campaign for Stripe events', { exact: true }), campaign.name);
    await campaignForm.getByRole('button', { name: 'Save campaign' }).click();
    await expectStatus(page, 'Campaign saved.');
    await expect(
      formWith(page, 'Save campaign').getByLabel('Campaign for Stripe events', { exact: true }),
    ).toHaveValue(campaign.slug);

    const promo = formWith(page, 'Map promotion code');
    await selectOptionByText(promo.getByLabel('Referrer', { exact: true }), referrer.email);
    await promo.getByLabel('Promotion code id', { exact: true }).fill(`promo_e2e${id}`);
    await promo.getByLabel('Code customers type', { exact: true }).fill(`IVO${id}`.toUpperCase());
    await promo.getByRole('button', { name: 'Map promotion code' }).click();
    await expectStatus(page, 'Promotion code mapped.');
    const { table, row } = tableRow(page, `promo_e2e${id}`);
    await expect(row).toHaveCount(1);
    expect(column(await rowValues(table, row), 'Referrer')).toContain(referrer.email);

    await row.getByRole('button', { name: `Delete promotion code promo_e2e${id}` }).click();
    await expectStatus(page, 'Promotion code mapping deleted.');
    await expect(page.getByRole('row').filter({ hasText: `promo_e2e${id}` })).toHaveCount(0);

    await page.getByRole('link', { name: 'Stripe delivery log' }).click();
    await expect(page.getByRole('heading', { name: 'Stripe delivery log' })).toBeVisible();
  });

  await test.step('HubSpot: the access token is saved, shown by its end only, and disconnected', () => exclusively('crm', async () => {
    await visit(page, '/admin/integrations');
    const hubspot = page.getByRole('region', { name: 'HubSpot' });
    await expect(hubspot.getByText('Not connected: nothing is sent to HubSpot.')).toBeVisible();
    const tail = unique().slice(-4);
    const form = formWith(page, 'Save token');
    const token = form.getByLabel('Private app access token', { exact: true });
    await expect(token).toHaveAttribute('type', 'password');
    await token.fill('not a token');
    await form.getByRole('button', { name: 'Save token' }).click();
    await expect(page.getByText(/Paste the private app's access token/).first()).toBeVisible();
    await expect(hubspot.getByText('Not connected: nothing is sent to HubSpot.')).toBeVisible();

    await formWith(page, 'Save token').getByLabel('Private app access token', { exact: true }).fill(`pat-na1-e2e-${unique()}${tail}`);
    await formWith(page, 'Save token').getByRole('button', { name: 'Save token' }).click();
    await expectStatus(page, 'Access token saved.');
    await expect(hubspot.getByText(`Connected: access token ending in …${tail}.`)).toBeVisible();
    await expect(formWith(page, 'Save token').getByLabel('Private app access token', { exact: true })).toHaveValue('');
    await expect(hubspot.getByText('0 synced, 0 waiting, 0 failed.')).toBeVisible();

    await hubspot.getByRole('button', { name: 'Disconnect HubSpot' }).click();
    await expect(hubspot.getByText('Not connected: nothing is sent to HubSpot.')).toBeVisible();
  }));

  await test.step('Salesforce: a wrong field is named, the connection saved with its secret hidden, and disconnected', () => exclusively('crm', async () => {
    await visit(page, '/admin/integrations');
    const salesforce = page.getByRole('region', { name: 'Salesforce' });
    await expect(salesforce.getByText('Not connected: nothing is sent to Salesforce.')).toBeVisible();
    await expect(salesforce.getByRole('cell', { name: 'Handoff_Referral_Code__c' })).toBeVisible();
    const form = () => formWith(page, 'Save connection');
    const tail = unique().slice(-4);
    await form().getByLabel('My Domain URL').fill('http://acme.my.salesforce.com');
    await form().getByLabel('Consumer key').fill(`3MVG9e2e${unique()}`);
    await form().getByLabel('Consumer secret').fill(`secret-e2e-${unique()}${tail}`);
    await form().getByLabel('Write referrers and leads as').selectOption('Lead');
    await form().getByRole('button', { name: 'Save connection' }).click();
    await expect(salesforce.getByText(/Enter your org's My Domain URL/).first()).toBeVisible();
    await expect(salesforce.getByText('Not connected: nothing is sent to Salesforce.')).toBeVisible();

    // Without JavaScript the refused form came back from the server: the secret is typed again.
    await form().getByLabel('My Domain URL').fill(`https://e2e-${id}.my.salesforce.com`);
    await form().getByLabel('Consumer key').fill(`3MVG9e2e${unique()}`);
    await form().getByLabel('Consumer secret').fill(`secret-e2e-${unique()}${tail}`);
    await form().getByLabel('Write referrers and leads as').selectOption('Lead');
    await form().getByRole('button', { name: 'Save connection' }).click();
    await expectStatus(page, 'Salesforce connection saved.');
    await expect(salesforce.getByText(`Connected to https://e2e-${id}.my.salesforce.com: Lead records by Handoff_Email__c, consumer secret ending in …${tail}.`)).toBeVisible();
    await expect(form().getByLabel('Consumer secret')).toHaveValue('');
    await expect(salesforce.getByText('0 synced, 0 waiting, 0 failed.')).toBeVisible();

    await salesforce.getByRole('button', { name: 'Disconnect Salesforce' }).click();
    await expect(salesforce.getByText('Not connected: nothing is sent to Salesforce.')).toBeVisible();
  }));

  await test.step('promotion codes are imported from a CSV file; bad rows are listed, a second import changes nothing', async () => {
    const filename = `codes-${id}.csv`;
    const good = `promo_file${id}`;
    const csv = [
      'Promotion code ID,Code,Referral code',
      `${good},${`FILE${id}`.toUpperCase()},${referrer.code}`,
      // Line 3: nobody has this referral code.
      `promo_bad${id},,ZZZZ-ZZZZ`,
    ].join('\n');
    const importFile = async (button = 'Import mappings') => {
      await visit(page, '/admin/integrations');
      const form = formWith(page, 'Import mappings');
      await selectOptionByText(form.getByLabel('Campaign of the referrers', { exact: true }), campaign.name);
      await form.getByLabel('Mapping file', { exact: true }).setInputFiles({
        name: filename,
        mimeType: 'text/csv',
        buffer: Buffer.from(csv, 'utf8'),
      });
      await form.getByRole('button', { name: button, exact: true }).click();
      await expect(page).toHaveURL(/\/admin\/integrations(?:[?#]|$)/);
      await settle(page);
    };

    // A preview says what the import would do and writes nothing; the refused rows download.
    await importFile('Preview');
    await expectStatus(
      page,
      `Preview of ${filename} (2 rows): 1 new, 0 already mapped, 1 refused. Nothing was written; import the file to map them.`,
    );
    await expect(tableRow(page, good).row).toHaveCount(0);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download the refused rows (CSV)' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('refused-promotion-codes.csv');
    const report = readFileSync(await download.path(), 'utf8').split('\n');
    expect(report[0]).toBe('line,column,reason');
    expect(report[1]).toMatch(/^3,"Referral code","/);

    await importFile();
    await expectStatus(page, `Imported ${filename} (2 rows): 1 new, 0 already mapped, 1 refused.`);
    const refused = page.getByRole('region', { name: 'Refused rows' }).getByRole('table');
    const line = refused.getByRole('row').filter({ has: page.getByRole('cell', { name: '3', exact: true }) });
    await expect(line).toHaveCount(1);
    const values = await rowValues(refused, line);
    expect(column(values, 'Column')).toBe('Referral code');
    expect(column(values, 'Reason').length).toBeGreaterThan(5);
    const { table, row } = tableRow(page, good);
    await expect(row).toHaveCount(1);
    expect(column(await rowValues(table, row), 'Referrer')).toContain(referrer.email);
    expect(column(await rowValues(table, row), 'Campaign')).toBe(campaign.slug);

    await importFile();
    await expectStatus(page, `Imported ${filename} (2 rows): 0 new, 1 already mapped, 1 refused.`);
    await expect(tableRow(page, good).row).toHaveCount(1);

    // Shown once: a fresh look at the page no longer has it.
    await visit(page, '/admin/integrations');
    await expect(page.getByRole('status').filter({ hasText: filename })).toHaveCount(0);

    // A search finds the mapping by the start of its id.
    await visit(page, `/admin/integrations?promo=${good}`);
    await expect(page.getByText('1 mapping matches', { exact: false })).toBeVisible();
    await expect(tableRow(page, good).row).toHaveCount(1);
  });

  await test.step('a file that is not a mapping file is refused whole, with the reason', async () => {
    await visit(page, '/admin/integrations');
    const form = formWith(page, 'Import mappings');
    await selectOptionByText(form.getByLabel('Campaign of the referrers', { exact: true }), campaign.name);
    await form.getByLabel('Mapping file', { exact: true }).setInputFiles({
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('just some notes\nnothing else\n'),
    });
    await form.getByRole('button', { name: 'Import mappings' }).click();
    await expect(page.getByRole('alert').filter({ hasText: 'was not imported' })).toBeVisible();
  });
});
