// The print studio as a marketer uses it: sign in, open the studio, pick a campaign and a
// template, watch the preview follow the choices and the typed headline, download the PDF; and
// the print page (HTML with @page CSS) printed by Chromium itself. Both PDFs are read back the
// way a print shop's would be: pdfinfo for the page size, each card's box rasterised by
// pdftoppm and its QR code decoded, pdftotext for the codes.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import {
  DATA_DIR,
  createApiKey,
  createCampaign,
  createMarketer,
  login,
  loginAsOwner,
  newCampaign,
  selectOptionByText,
  unique,
  visit,
  type Campaign,
} from './helpers';
import { decodeQrPng, downloadedBytes } from './portal-helpers';

/** Business cards on A4 without marks: 2 columns of 85 mm from 20 mm, 5 rows of 55 mm from 11 mm. */
const CARD = { w: 85, h: 55, left: 20, top: 11, columns: 2 };

interface Made {
  id: number;
  link: string;
  code: string;
}

/** The campaign with `count` referrers added through the API. */
async function campaignWithReferrers(page: Page, count: number): Promise<{ campaign: Campaign; made: Made[] }> {
  const campaign = newCampaign('Print');
  await createCampaign(page, campaign);
  const key = await createApiKey(page);
  const made: Made[] = [];
  for (let i = 0; i < count; i += 1) {
    const response = await page.request.post('/api/v1/referrers', {
      headers: { Authorization: `Bearer ${key}` },
      data: { campaign: campaign.slug, name: `Printed ${i}`, email: `print-${i}-${unique()}@example.com` },
    });
    expect(response.status(), await response.text()).toBe(201);
    made.push((await response.json()) as Made);
  }
  return { campaign, made };
}

function tool(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8' });
  } catch (error) {
    throw new Error(`${command} is needed to read the PDF back (apt-get install -y poppler-utils): ${error}`);
  }
}

/** Page count and the first page's size in points, from pdfinfo. */
function pdfInfo(file: string): { pages: number; width: number; height: number } {
  const info = tool('pdfinfo', [file]);
  const pages = Number(info.match(/^Pages:\s+(\d+)/m)?.[1]);
  const size = info.match(/^Page size:\s+([\d.]+) x ([\d.]+)/m);
  return { pages, width: Number(size?.[1]), height: Number(size?.[2]) };
}

/** The QR code of each of the first `count` business cards on page 1, decoded. */
function cardCodes(file: string, count: number): (string | null)[] {
  const dpi = 150;
  const px = (mm: number) => String(Math.round((mm / 25.4) * dpi));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-e2e-print-'));
  const codes: (string | null)[] = [];
  for (let i = 0; i < count; i += 1) {
    const x = CARD.left + (i % CARD.columns) * CARD.w;
    const y = CARD.top + Math.floor(i / CARD.columns) * CARD.h;
    const prefix = path.join(dir, `card-${i}`);
    tool('pdftoppm', [
      '-png', '-singlefile', '-r', String(dpi), '-f', '1', '-l', '1',
      '-x', px(x - 1), '-y', px(y - 1), '-W', px(CARD.w + 2), '-H', px(CARD.h + 2),
      file, prefix,
    ]);
    codes.push(decodeQrPng(fs.readFileSync(`${prefix}.png`)));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return codes;
}

function saved(bytes: Buffer, name: string): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-e2e-pdf-')), name);
  fs.writeFileSync(file, bytes);
  return file;
}

test('a marketer picks a campaign and a template, previews it live and downloads the PDF', async ({ page, browser }) => {
  test.setTimeout(120_000);
  await loginAsOwner(page, browser);
  const { campaign, made } = await campaignWithReferrers(page, 3);
  const marketer = createMarketer();

  const context = await browser.newContext();
  const studio = await context.newPage();
  await login(studio, marketer);
  await expect(studio.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Print' })).toBeVisible();
  await studio.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Print' }).click();
  await expect(studio.getByRole('heading', { name: 'Print studio', level: 1 })).toBeVisible();

  await selectOptionByText(studio.getByLabel('Campaign', { exact: true }), campaign.name);
  await expect(studio.getByRole('status').filter({ hasText: 'referrers to print' })).toHaveText('3 referrers to print.');
  const preview = studio.getByRole('img', { name: 'Preview of the first sheet, as it will print' });
  await selectOptionByText(studio.getByLabel('Template', { exact: true }), 'Flyer (A6)');
  await expect(preview).toHaveAttribute('src', new RegExp(`/admin/print/${campaign.slug}/preview\\.svg\\?template=flyer`));
  // The preview is drawn: the image loaded with the sheet's proportions (A4 portrait).
  await expect
    .poll(async () => preview.evaluate((img: HTMLImageElement) => (img.complete ? img.naturalHeight / img.naturalWidth : 0)))
    .toBeCloseTo(297 / 210, 2);

  // The headline typed shows in the preview's address at once (unsaved), then is saved.
  const headline = `Coffee on us ${unique()}`;
  await studio.getByLabel('Headline', { exact: true }).fill(headline);
  await expect(preview).toHaveAttribute('src', new RegExp(`headline=${encodeURIComponent(headline).replace(/%20/g, '\\+')}`));
  await studio.getByRole('button', { name: 'Save text', exact: true }).click();
  await expect(studio.getByRole('status').filter({ hasText: 'Text saved.' })).toBeVisible();

  // Back to business cards, and download the PDF.
  await selectOptionByText(studio.getByLabel('Template', { exact: true }), 'Business card (85 x 55 mm)');
  await expect(preview).toHaveAttribute('src', /template=business-card/);
  const [download] = await Promise.all([
    studio.waitForEvent('download'),
    studio.getByRole('link', { name: 'PDF for printing', exact: true }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(`${campaign.slug}-business-card-a4.pdf`);
  const file = saved(await downloadedBytes(download), 'cards.pdf');
  const info = pdfInfo(file);
  expect(info.pages).toBe(1);
  expect(info.width).toBeCloseTo(595.28, 1);
  expect(info.height).toBeCloseTo(841.89, 1);
  expect(cardCodes(file, 3)).toEqual(made.map((r) => `${r.link}?ch=card`));
  const text = tool('pdftotext', [file, '-']);
  for (const referrer of made) expect(text).toContain(referrer.code);
  await context.close();
});

test("Chromium's print of the print page matches the PDF: A4 sheets, every card's code readable", async ({ page, browser }) => {
  test.setTimeout(120_000);
  await loginAsOwner(page, browser);
  // 12 cards: a full sheet of 10 and a partly filled second one.
  const { campaign, made } = await campaignWithReferrers(page, 12);
  await visit(page, `/admin/print/${campaign.slug}/print.html?template=business-card&paper=a4`);
  await expect(page.getByRole('region', { name: 'Sheet 1 of 2' })).toBeVisible();
  await page.evaluate(async () => {
    await document.fonts.ready;
  });
  expect(await page.evaluate(() => document.fonts.check('700 12px HandoffMono')), 'the code font loaded').toBe(true);
  const file = saved(await page.pdf({ preferCSSPageSize: true, printBackground: true }), 'printed.pdf');
  const info = pdfInfo(file);
  expect(info.pages).toBe(2);
  expect(info.width).toBeCloseTo(595.28, 0);
  expect(info.height).toBeCloseTo(841.89, 0);
  expect(cardCodes(file, 10)).toEqual(made.slice(0, 10).map((r) => `${r.link}?ch=card`));
  const text = tool('pdftotext', [file, '-']);
  for (const referrer of made) expect(text, 'each code is real text in the printed PDF').toContain(referrer.code);
});
