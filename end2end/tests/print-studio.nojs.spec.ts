// The print studio with JavaScript off (project chromium-nojs only): the choices are a plain GET
// form whose Preview button reloads the page, the preview is an image the server draws, the
// texts form posts and redirects back, and every download is a plain link.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import {
  addReferrer,
  createCampaign,
  createMarketer,
  formWith,
  login,
  loginAsOwner,
  newCampaign,
  selectOptionByText,
  unique,
  visit,
} from './helpers';

test('without JavaScript a marketer filters, previews, saves the text and downloads the PDF', async ({ page, browser }, testInfo) => {
  expect(testInfo.project.use.javaScriptEnabled).toBe(false);
  test.setTimeout(120_000);
  await loginAsOwner(page, browser);
  const campaign = newCampaign('PrintNoJS');
  await createCampaign(page, campaign);
  const id = unique();
  const ada = await addReferrer(page, campaign, { name: `Ada ${id}`, email: `ada-${id}@example.com` });
  await addReferrer(page, campaign, { name: `Bob ${id}`, email: `bob-${id}@example.com` });

  const context = await browser.newContext({ javaScriptEnabled: false });
  const studio = await context.newPage();
  await login(studio, createMarketer());
  await visit(studio, '/admin/print');
  await expect(studio.getByRole('heading', { name: 'Print studio', level: 1 })).toBeVisible();

  const choices = formWith(studio, 'Preview');
  await selectOptionByText(choices.getByLabel('Campaign', { exact: true }), campaign.name);
  await selectOptionByText(choices.getByLabel('Template', { exact: true }), 'Flyer (A6)');
  await choices.getByLabel('Search', { exact: true }).fill(`Ada ${id}`);
  await choices.getByRole('button', { name: 'Preview', exact: true }).click();
  await expect(studio).toHaveURL(new RegExp(`campaign=${campaign.slug}.*template=flyer.*search=Ada`));
  await expect(studio.getByRole('status').filter({ hasText: 'to print' })).toHaveText('1 referrer to print.');
  // The choices survive the reload.
  await expect(studio.getByLabel('Template', { exact: true })).toHaveValue('flyer');
  await expect(studio.getByLabel('Search', { exact: true })).toHaveValue(`Ada ${id}`);

  // The preview is the server's drawing of the first sheet, for exactly these choices.
  const preview = studio.getByRole('img', { name: 'Preview of the first sheet, as it will print' });
  const previewSrc = await preview.getAttribute('src');
  expect(previewSrc).toMatch(new RegExp(`^/admin/print/${campaign.slug}/preview\\.svg\\?template=flyer&paper=a4.*search=Ada`));
  const drawn = await studio.request.get(previewSrc!);
  expect(drawn.status()).toBe(200);
  expect(drawn.headers()['content-type']).toContain('image/svg+xml');
  const svg = await drawn.text();
  expect(svg).toContain(ada.code);

  // The text form posts and comes back to the studio, saved.
  const headline = `Paper works ${id}`;
  const texts = formWith(studio, 'Save text');
  await texts.getByLabel('Headline', { exact: true }).fill(headline);
  await texts.getByRole('button', { name: 'Save text', exact: true }).click();
  await expect(studio).toHaveURL(/\/admin\/print\?.*saved=texts/);
  await expect(studio.getByRole('status').filter({ hasText: 'Text saved.' })).toBeVisible();
  await expect(studio.getByLabel('Template', { exact: true })).toHaveValue('flyer');
  await expect(studio.getByLabel('Headline', { exact: true })).toHaveValue(headline);

  // The PDF link prints only Ada, with the saved headline, as real text.
  const pdfHref = await studio.getByRole('link', { name: 'PDF for printing', exact: true }).getAttribute('href');
  expect(pdfHref).toMatch(/print\.pdf\?template=flyer/);
  const pdf = await studio.request.get(pdfHref!);
  expect(pdf.status()).toBe(200);
  expect(pdf.headers()['content-type']).toBe('application/pdf');
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-e2e-nojs-pdf-')), 'flyers.pdf');
  fs.writeFileSync(file, await pdf.body());
  const text = execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
  expect(text).toContain(ada.code);
  // The headline may wrap onto two lines (its width depends on the random id): compare words.
  expect(text.replace(/\s+/g, ' ')).toContain(headline);
  expect(text).not.toContain(`Bob ${id}`);
  await context.close();
});
