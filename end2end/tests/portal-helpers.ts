// Steps and checks shared by portal.spec.ts (with JavaScript) and portal.nojs.spec.ts (without):
// joining on the portal entrance, signing in with the emailed link, reading the referrer's link
// and code, decoding QR codes, and the 320 px check.
import fs from 'node:fs';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import {
  expect,
  type Browser,
  type BrowserContext,
  type Download,
  type Locator,
  type Page,
  type TestInfo,
} from '@playwright/test';
import {
  BASE_URL,
  CODE_ALPHABET,
  createCampaign,
  formWith,
  loginAsOwner,
  newCampaign,
  settle,
  visit,
  unique,
  type Campaign,
} from './helpers';
import { signInLink, waitForMail } from './mail';

export const CHECK_YOUR_EMAIL = /Check your email/;
export const LINK_PATTERN = /^http:\/\/127\.0\.0\.1:3100\/r\/[a-z0-9-]+$/;
export const CODE_PATTERN = new RegExp(`^[${CODE_ALPHABET}][${CODE_ALPHABET}-]*[${CODE_ALPHABET}]$`);

export const isJs = (testInfo: TestInfo) => testInfo.project.use.javaScriptEnabled !== false;

export interface Joiner {
  name: string;
  email: string;
}

export function newJoiner(label: string): Joiner {
  const id = unique();
  return { name: `${label} ${id}`, email: `${label.toLowerCase()}-${id}@example.com` };
}

/** The owner (this test's `page`) makes a campaign with codes and the hosted friend page. */
export async function campaignFor(page: Page, browser: Browser, label: string): Promise<Campaign> {
  await loginAsOwner(page, browser);
  const campaign = newCampaign(label);
  await createCampaign(page, campaign);
  return campaign;
}

/** A context with no cookies, honouring the project's JavaScript setting, at `width` px if given. */
export async function visitorContext(browser: Browser, testInfo: TestInfo, width?: number): Promise<BrowserContext> {
  return browser.newContext({
    baseURL: BASE_URL,
    javaScriptEnabled: isJs(testInfo),
    ...(width ? { viewport: { width, height: 800 } } : {}),
  });
}

/** Fills and sends the entrance's join form, and waits for the "Check your email" answer. */
export async function join(page: Page, who: Joiner): Promise<void> {
  const form = formWith(page, 'Join and get my link');
  await form.getByLabel('Your name', { exact: true }).fill(who.name);
  await form.getByLabel('Your email', { exact: true }).fill(who.email);
  await form.getByRole('checkbox', { name: /accept the programme's terms/ }).check();
  await form.getByRole('button', { name: 'Join and get my link' }).click();
  await expect(page.getByRole('status').filter({ hasText: CHECK_YOUR_EMAIL })).toBeVisible();
}

/**
 * Opens an emailed sign-in link (a page that only names who signs in: mail scanners open links
 * too), presses "Continue to my portal", and waits for the referrer's page.
 */
export async function signInWith(page: Page, link: string, campaign: Campaign, who: Joiner): Promise<void> {
  const response = await page.goto(link);
  expect(response?.status(), 'the sign-in link answers 200').toBe(200);
  await expect(page.getByRole('heading', { name: `Sign in to ${campaign.name}` })).toBeVisible();
  await expect(page.getByText(`Signing in as ${who.name}`)).toBeVisible();
  await page.getByRole('button', { name: 'Continue to my portal', exact: true }).click();
  await expect(page).toHaveURL(`${BASE_URL}/p/${campaign.slug}`);
  await settle(page);
  await expect(page.getByRole('heading', { level: 1, name: `Hi ${who.name}` })).toBeVisible();
  const cookies = await page.context().cookies(`${BASE_URL}/p/${campaign.slug}`);
  expect(cookies.map((c) => c.name), 'the portal session cookie').toContain('handoff_portal');
}

/** The link and the code as the referrer's page shows them (each in its own <code>). */
export async function shownLinkAndCode(page: Page): Promise<{ region: Locator; link: string; code: string }> {
  const region = page.getByRole('region', { name: 'Your referral link' });
  const values = region.locator('code');
  await expect(values).toHaveCount(2);
  const link = (await values.nth(0).textContent())?.trim() ?? '';
  const code = (await values.nth(1).textContent())?.trim() ?? '';
  expect(link, 'the referral link').toMatch(LINK_PATTERN);
  expect(code, 'the referral code').toMatch(CODE_PATTERN);
  return { region, link, code };
}

/** The CopyText control around the shown `value`. */
export function copyControl(region: Locator, value: string): Locator {
  // `has` looks inside each span: a locator from the page, not one that starts at the region.
  return region.locator('span').filter({ has: region.page().locator('code').filter({ hasText: value }) });
}

/** Decodes the one QR code in a PNG image; null when none is found. */
export function decodeQrPng(png: Buffer): string | null {
  const image = PNG.sync.read(png);
  const pixels = new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length);
  return jsQR(pixels, image.width, image.height)?.data ?? null;
}

export async function downloadedBytes(download: Download): Promise<Buffer> {
  const file = await download.path();
  return fs.readFileSync(file);
}

/** Clicks the link named `name` and returns the file it downloads. */
export async function downloadFrom(page: Page, name: string): Promise<Download> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name, exact: true }).click(),
  ]);
  expect(await download.failure(), `the download from "${name}" completes`).toBeNull();
  return download;
}

/** Both QR downloads: the PNG decodes to exactly `link`; the SVG is an SVG image. */
export async function checkQrDownloads(page: Page, link: string): Promise<void> {
  const png = await downloadFrom(page, 'Download QR (PNG)');
  expect(png.suggestedFilename()).toMatch(/\.png$/);
  const pngBytes = await downloadedBytes(png);
  expect(pngBytes.subarray(0, 8).toString('hex'), 'a PNG signature').toBe('89504e470d0a1a0a');
  expect(decodeQrPng(pngBytes), 'the downloaded PNG QR code decodes to the link on the page').toBe(link);

  const svg = await downloadFrom(page, 'Download QR (SVG)');
  expect(svg.suggestedFilename()).toMatch(/\.svg$/);
  expect((await downloadedBytes(svg)).toString('utf8')).toMatch(/<svg[\s>]/);
}

/**
 * Fails when the page is wider than its viewport (320 px in these tests), naming what sticks out:
 * elements whose box passes the right edge, and elements whose content overflows their box (a
 * long word in a heading, say), which the boxes alone would not show.
 */
export async function expectNoSidewaysScroll(page: Page, what: string, options: { soft?: boolean } = {}): Promise<void> {
  const { scrollWidth, viewport, culprits } = await page.evaluate(() => {
    const viewport = document.documentElement.clientWidth;
    const name = (el: Element) => {
      const classes =
        typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
      return `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${classes}`;
    };
    const culprits: string[] = [];
    for (const el of document.querySelectorAll('body *')) {
      const right = el.getBoundingClientRect().right;
      const style = getComputedStyle(el);
      if (right > viewport + 0.5) {
        culprits.push(`${name(el)} (box ends at ${Math.round(right)} px)`);
      } else if (style.overflowX === 'visible' && el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0) {
        const text = (el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40);
        culprits.push(`${name(el)} (content ${el.scrollWidth} px wide in a ${el.clientWidth} px box: "${text}")`);
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, viewport, culprits: culprits.slice(0, 8) };
  });
  (options.soft ? expect.soft : expect)(
    scrollWidth,
    `${what} is no wider than its ${viewport} px viewport; sticking out: ${culprits.join(', ') || 'nothing found'}`,
  ).toBeLessThanOrEqual(viewport);
}

/**
 * At 320 px, nothing on the way from the entrance to the referrer's page scrolls sideways: the
 * entrance, its "Check your email" answer, the sign-in page and the referrer's page.
 */
export async function checkPortalAt320(page: Page, browser: Browser, testInfo: TestInfo): Promise<void> {
  const campaign = await campaignFor(page, browser, 'Portal narrow');
  const who = newJoiner('Nell');
  const context = await visitorContext(browser, testInfo, 320);
  const referrer = await context.newPage();
  expect(referrer.viewportSize()?.width).toBe(320);

  await visit(referrer, `/p/${campaign.slug}`);
  await expectNoSidewaysScroll(referrer, 'the portal entrance');
  await join(referrer, who);
  await expectNoSidewaysScroll(referrer, 'the portal entrance after joining');
  const mail = await waitForMail(who.email);
  await referrer.goto(signInLink(mail, campaign.slug));
  await expectNoSidewaysScroll(referrer, 'the sign-in page');
  await signInWith(referrer, signInLink(mail, campaign.slug), campaign, who);
  await shownLinkAndCode(referrer);
  await expectNoSidewaysScroll(referrer, 'the referrer page');
  await context.close();
}
