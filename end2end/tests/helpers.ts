// Shared steps for the browser tests. Locators follow the UI contract: roles and labels, never
// CSS classes. Tests may run in any order against one server, so every test makes its own
// campaign, referrer and friends with unique names (Date.now() plus a random suffix).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import {
  expect,
  test,
  type Browser,
  type BrowserContext,
  type Locator,
  type Page,
  type Response,
  type TestInfo,
} from '@playwright/test';

export const BASE_URL = 'http://127.0.0.1:3100';
/** Created afresh by the webServer command of playwright.config.ts for every run. */
export const DATA_DIR = path.resolve(__dirname, '..', '.e2e-data');
export const SERVER_LOG = path.join(DATA_DIR, 'server.log');
const OWNER_FILE = path.join(DATA_DIR, 'owner.json');

/** Referral code alphabet: 0-9 and A-Z without the look-alikes I, L, O and U. */
export const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export interface Owner {
  email: string;
  password: string;
}

let counter = 0;
/** A short id that is unique across runs and within one: for names, slugs and emails. */
export function unique(): string {
  counter += 1;
  const rand = Math.floor(Math.random() * 36 ** 3).toString(36).padStart(3, '0');
  return `${Date.now().toString(36)}${rand}${counter}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Where the server writes the one-time setup link while no admin exists (never into its log). */
export const SETUP_LINK_FILE = path.join(DATA_DIR, 'setup-link');

/**
 * Reads the one-time setup link the server writes on first start (no admin yet) to the data
 * directory's `setup-link` file, polling for up to `timeoutMs`. Returns the path and query, e.g.
 * `/admin/setup?token=...`. Also checks that the server's log does not carry the token.
 */
export async function readSetupLink(timeoutMs = 10_000): Promise<string> {
  const pattern = /^http:\/\/127\.0\.0\.1:3100(\/admin\/setup\?token=([A-Za-z0-9._~%+\-]+))$/m;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = fs.readFileSync(SETUP_LINK_FILE, 'utf8');
    } catch {
      // Not written yet.
    }
    const match = pattern.exec(text);
    if (match) {
      const log = fs.readFileSync(SERVER_LOG, 'utf8');
      expect(log, 'the setup token stays out of the server log').not.toContain(match[2]);
      return match[1];
    }
    if (Date.now() > deadline) {
      let tail = '';
      try {
        tail = fs.readFileSync(SERVER_LOG, 'utf8').split('\n').slice(-30).join('\n');
      } catch {
        // No log either.
      }
      throw new Error(
        `no ${BASE_URL}/admin/setup?token=... in ${SETUP_LINK_FILE} after ${timeoutMs} ms.\n` +
          `Last lines of the server log:\n${tail}`,
      );
    }
    await sleep(250);
  }
}

// Whether pages mark the end of hydration with <html data-hydrated>: unknown until first seen.
let hydrationMarker: boolean | undefined;

/**
 * Waits until a freshly loaded page is ready for input. With JavaScript on, that is after the wasm
 * bundle has hydrated it: typing into a page that is still hydrating can be undone by hydration.
 * Pages that set `data-hydrated` on <html> at the end of hydrate() are waited for exactly (and a
 * page that then never hydrates fails the test); otherwise the network going idle has to do.
 */
export async function settle(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => undefined);
  if (test.info().project.use.javaScriptEnabled === false || hydrationMarker === false) return;
  // Only pages that load the front-end bundle hydrate.
  if ((await page.locator('script[type="module"], link[rel="modulepreload"]').count()) === 0) return;
  try {
    await page.waitForFunction(() => document.documentElement.hasAttribute('data-hydrated'), undefined, {
      timeout: hydrationMarker ? 20_000 : 5_000,
    });
    hydrationMarker = true;
  } catch (err) {
    if (hydrationMarker) {
      throw new Error(`${page.url()} did not hydrate (no data-hydrated on <html> after 20 s): ${err}`);
    }
    hydrationMarker = false;
    console.warn('[e2e] pages do not set <html data-hydrated>; waiting for network idle only');
  }
}

/** page.goto, then settle(). */
export async function visit(page: Page, url: string): Promise<Response | null> {
  const response = await page.goto(url);
  await settle(page);
  return response;
}

/** A new browser context with no cookies, honouring the project's JavaScript setting. */
export async function freshContext(browser: Browser, testInfo: TestInfo): Promise<BrowserContext> {
  return browser.newContext({
    baseURL: BASE_URL,
    javaScriptEnabled: testInfo.project.use.javaScriptEnabled !== false,
  });
}

/** The form that holds the button named `button`: keeps label look-ups away from other forms. */
export function formWith(page: Page, button: string): Locator {
  return page.locator('form').filter({ has: page.getByRole('button', { name: button, exact: true }) });
}

/** Owner credentials saved by an earlier test of this run, if any. */
export function savedOwner(): Owner | null {
  try {
    return JSON.parse(fs.readFileSync(OWNER_FILE, 'utf8')) as Owner;
  } catch {
    return null;
  }
}

/**
 * Fills and submits the setup form at the logged setup link, and checks that it lands on the
 * campaigns page. Saves the credentials for the other tests.
 */
export async function createOwnerThroughSetupLink(page: Page): Promise<Owner> {
  const link = await readSetupLink();
  const id = unique();
  const owner: Owner = {
    email: `owner-${id}@example.com`,
    password: `Handoff-e2e-${id}-Pw!`,
  };
  await visit(page, link);
  const form = formWith(page, 'Create owner account');
  await form.getByLabel('Email', { exact: true }).fill(owner.email);
  await form.getByLabel('Password', { exact: true }).fill(owner.password);
  await form.getByRole('button', { name: 'Create owner account' }).click();
  await expect(page).toHaveURL(/\/admin(?:[?#]|$)/);
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(OWNER_FILE, JSON.stringify(owner, null, 2));
  return owner;
}

/**
 * The owner of this run's server: the saved one, or a new one created through the setup link
 * (in a context of its own, so the caller's cookies stay untouched).
 */
export async function ensureOwner(browser: Browser): Promise<Owner> {
  const saved = savedOwner();
  if (saved) return saved;
  const context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: true });
  try {
    return await createOwnerThroughSetupLink(await context.newPage());
  } finally {
    await context.close();
  }
}

/**
 * Logs `page` in through /admin/login and waits for the account's first page: the overview, or
 * the sales desk for a sales rep (pass `landing`).
 */
export async function login(
  page: Page,
  owner: { email: string; password: string },
  landing: RegExp = /\/admin(?:[?#]|$)/,
): Promise<void> {
  await visit(page, '/admin/login');
  const form = formWith(page, 'Log in');
  await form.getByLabel('Email', { exact: true }).fill(owner.email);
  await form.getByLabel('Password', { exact: true }).fill(owner.password);
  await form.getByRole('button', { name: 'Log in' }).click();
  await expect(page).toHaveURL(landing);
}

/** Makes sure there is an owner, then logs `page` in. */
export async function loginAsOwner(page: Page, browser: Browser): Promise<Owner> {
  const owner = await ensureOwner(browser);
  await login(page, owner);
  return owner;
}

export interface Campaign {
  name: string;
  slug: string;
}

/** A campaign with codes on, random code style, no prefix and the hosted friend page. */
export function newCampaign(label = 'Campaign'): Campaign {
  const id = unique();
  return { name: `${label} ${id}`, slug: `e2e-${id}` };
}

/** Creates `campaign` through the form on /admin/campaigns and waits for it in the table. */
export async function createCampaign(page: Page, campaign: Campaign): Promise<void> {
  await visit(page, '/admin/campaigns');
  const form = formWith(page, 'Create campaign');
  await form.getByLabel('Name', { exact: true }).fill(campaign.name);
  await form.getByLabel('Slug', { exact: true }).fill(campaign.slug);
  // Empty landing URL: friends land on Handoff's hosted friend page /f/<slug>.
  await form.getByLabel('Landing URL', { exact: true }).fill('');
  await form.getByLabel('Referral codes', { exact: true }).check();
  await form.getByLabel('Code style', { exact: true }).selectOption({ label: 'Random' });
  await form.getByLabel('Code prefix', { exact: true }).fill('');
  await form.getByRole('button', { name: 'Create campaign' }).click();
  await expect(
    page.getByRole('table').getByRole('link', { name: campaign.name, exact: true }),
  ).toBeVisible();
}

/** Picks the option of `select` whose text is (or else contains) `text`. */
export async function selectOptionByText(select: Locator, text: string): Promise<void> {
  const options = select.locator('option');
  const texts = (await options.allTextContents()).map((t) => t.trim());
  let index = texts.indexOf(text);
  if (index < 0) index = texts.findIndex((t) => t.includes(text));
  if (index < 0) {
    throw new Error(`no option "${text}" in select; options: ${JSON.stringify(texts)}`);
  }
  await select.selectOption({ index });
}

const norm = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * The cells of `row` keyed by the column headers of `table` (text, whitespace collapsed).
 * Header cells of the row (th) count as cells, so a row header keeps the columns aligned.
 */
export async function rowValues(table: Locator, row: Locator): Promise<Record<string, string>> {
  const headers = (await table.getByRole('columnheader').allTextContents()).map(norm);
  const cells = (await row.locator('th, td').allTextContents()).map(norm);
  const values: Record<string, string> = {};
  headers.forEach((h, i) => {
    values[h] = cells[i] ?? '';
  });
  return values;
}

/** The value of the column named `name` (exact, else case-insensitive prefix/substring). */
export function column(values: Record<string, string>, name: string): string {
  if (name in values) return values[name];
  const lower = name.toLowerCase();
  const key =
    Object.keys(values).find((k) => k.toLowerCase() === lower) ??
    Object.keys(values).find((k) => k.toLowerCase().startsWith(lower)) ??
    Object.keys(values).find((k) => k.toLowerCase().includes(lower));
  if (key === undefined) {
    throw new Error(`no column "${name}" among ${JSON.stringify(Object.keys(values))}`);
  }
  return values[key];
}

/** The table on the page that has a row mentioning `text`, and that row. */
export function tableRow(page: Page, text: string): { table: Locator; row: Locator } {
  const table = page.getByRole('table').filter({ hasText: text });
  const row = table.getByRole('row').filter({ hasText: text });
  return { table, row };
}

export interface Referrer {
  name: string;
  email: string;
  code: string;
  link: string;
}

/**
 * Adds a referrer to the campaign through /admin/referrers and reads its code and full referral
 * link back from the referrers table.
 */
export async function addReferrer(
  page: Page,
  campaign: Campaign,
  who: { name: string; email: string },
): Promise<Referrer> {
  await visit(page, '/admin/referrers');
  const form = formWith(page, 'Add referrer');
  await selectOptionByText(form.getByLabel('Campaign', { exact: true }), campaign.name);
  await form.getByLabel('Name', { exact: true }).fill(who.name);
  await form.getByLabel('Email', { exact: true }).fill(who.email);
  await form.getByRole('button', { name: 'Add referrer' }).click();

  const { table, row } = tableRow(page, who.email);
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(who.name);
  const values = await rowValues(table, row);

  const linkMatch = column(values, 'Link').match(/http:\/\/127\.0\.0\.1:3100\/r\/[a-z0-9-]+/);
  expect(linkMatch, `a full referral link in the Link column: ${JSON.stringify(values)}`).not.toBeNull();
  const codeMatch = column(values, 'Code').match(/[0-9A-Z][0-9A-Z-]*[0-9A-Z]/);
  expect(codeMatch, `a referral code in the Code column: ${JSON.stringify(values)}`).not.toBeNull();
  return { ...who, link: linkMatch![0], code: codeMatch![0] };
}

/**
 * The code with one character changed that is not the last one (the last is a check
 * character), to another symbol of the code alphabet.
 */
export function withTypo(code: string): string {
  const chars = [...code];
  const candidates = chars
    .map((c, i) => ({ c, i }))
    .filter(({ c, i }) => i < chars.length - 1 && CODE_ALPHABET.includes(c));
  if (candidates.length === 0) throw new Error(`cannot make a typo in code "${code}"`);
  // A character from the middle: the kind of slip a person makes reading a printed card.
  const { c, i } = candidates[Math.floor(candidates.length / 2)];
  chars[i] = CODE_ALPHABET[(CODE_ALPHABET.indexOf(c) + 7) % CODE_ALPHABET.length];
  return chars.join('');
}

/** Fills the hosted friend page's form and submits it. */
export async function submitFriendForm(
  page: Page,
  friend: { name: string; email: string; code: string },
): Promise<void> {
  const form = formWith(page, 'Sign up');
  await form.getByLabel('Your name', { exact: true }).fill(friend.name);
  await form.getByLabel('Your email', { exact: true }).fill(friend.email);
  await form.getByLabel('Referral code', { exact: true }).fill(friend.code);
  await form.getByRole('button', { name: 'Sign up' }).click();
}

export async function expectThanks(page: Page): Promise<void> {
  await expect(page.getByRole('heading', { name: /Thanks/ })).toBeVisible();
}

/**
 * Runs axe on the page and fails on any critical or serious violation (all are attached).
 * `exclude` names parts left out: a frame sandboxed without scripts (an email preview) must be,
 * because axe cannot run inside it and would wait for it forever.
 */
export async function expectNoSeriousA11yViolations(
  page: Page,
  what: string,
  options: { exclude?: string[] } = {},
): Promise<void> {
  const builder = new AxeBuilder({ page });
  for (const selector of options.exclude ?? []) builder.exclude(selector);
  const results = await builder.analyze();
  await test.info().attach(`axe-${what}.json`, {
    body: JSON.stringify(results.violations, null, 2),
    contentType: 'application/json',
  });
  const serious = results.violations
    .filter((v) => v.impact === 'critical' || v.impact === 'serious')
    .map(
      (v) =>
        `${v.impact} ${v.id}: ${v.help} at ${v.nodes
          .slice(0, 5)
          .map((n) => n.target.join(' '))
          .join(' | ')}`,
    );
  expect(serious, `critical or serious accessibility violations on ${what}`).toEqual([]);
}

/** Creates an API key on /admin/api-keys and reads it back from the page (shown once). */
export async function createApiKey(page: Page): Promise<string> {
  await visit(page, '/admin/api-keys');
  const form = formWith(page, 'Create key');
  await form.getByLabel('Key name', { exact: true }).fill(`e2e ${unique()}`);
  await form.getByRole('button', { name: 'Create key' }).click();
  const shown = form.getByRole('status').locator('code');
  await expect(shown).toBeVisible();
  const key = (await shown.textContent())?.trim() ?? '';
  expect(key.length, 'a key is shown').toBeGreaterThan(10);
  return key;
}

export interface ConversionResult {
  lead: { id: number; status: string; email: string };
  rewards: { id: number; status: string }[];
  outcome: string;
  duplicate: boolean;
}

/** Sends a purchase through `POST /api/v1/conversions`, as a checkout integration would. */
export async function recordPurchase(
  page: Page,
  key: string,
  body: { campaign: string; referral_code: string; email: string; event_id?: string },
): Promise<ConversionResult> {
  const response = await page.request.post('/api/v1/conversions', {
    headers: { Authorization: `Bearer ${key}` },
    data: { event_id: `order-${unique()}`, event: 'purchase', ...body },
  });
  expect(response.status(), await response.text()).toBe(201);
  return (await response.json()) as ConversionResult;
}

/**
 * Uploads `csv` as a file named `filename` for `campaign` through the form on /admin/imports,
 * then waits on the upload's page until its preview is shown (without JavaScript the page reloads
 * itself while the preview runs). Returns the upload's id.
 */
export async function uploadCsv(page: Page, campaign: Campaign, filename: string, csv: string): Promise<number> {
  await visit(page, '/admin/imports');
  const form = formWith(page, 'Upload and preview');
  await selectOptionByText(form.getByLabel('Campaign', { exact: true }), campaign.name);
  await form.getByLabel('CSV file', { exact: true }).setInputFiles({
    name: filename,
    mimeType: 'text/csv',
    buffer: Buffer.from(csv, 'utf8'),
  });
  await form.getByRole('button', { name: 'Upload and preview' }).click();
  await expect(page).toHaveURL(/\/admin\/imports\/\d+(?:[?#]|$)/);
  await expect(page.getByRole('heading', { name: 'Preview', exact: true })).toBeVisible({ timeout: 30_000 });
  await settle(page);
  const id = Number(new URL(page.url()).pathname.split('/').pop());
  expect(id, `an upload id in ${page.url()}`).toBeGreaterThan(0);
  return id;
}

/** The count in the row labelled `label` of an upload's preview or result table. */
export function reportCount(page: Page, label: string): Locator {
  return page
    .getByRole('row')
    .filter({ has: page.getByRole('rowheader', { name: label, exact: true }) })
    .getByRole('cell')
    .first();
}

/** An admin account of `role` made with the CLI, as an owner would (`handoff admin create --role R`). */
export function createAccount(role: 'marketer' | 'viewer' | 'sales'): { email: string; password: string } {
  const id = unique();
  const account = { email: `${role}-${id}@example.com`, password: `${role}-${id}-Pw!` };
  execFileSync(
    process.env.HANDOFF_E2E_BIN || './target/debug/handoff',
    ['admin', 'create', '--email', account.email, '--role', role],
    {
      cwd: path.resolve(__dirname, '..', '..'),
      input: `${account.password}\n`,
      env: { ...process.env, HANDOFF_DATA_DIR: DATA_DIR, RUST_LOG: 'warn' },
    },
  );
  return account;
}

/** A marketer account made with the CLI. */
export function createMarketer(): { email: string; password: string } {
  return createAccount('marketer');
}

/**
 * Runs `body` while no other test process runs a body under the same `name`: for steps that
 * change installation-wide settings (a CRM connection) and then read them back, which the
 * chromium-js and chromium-nojs projects would otherwise race on. A lock left by a killed run
 * is taken over after two minutes.
 */
export async function exclusively<T>(name: string, body: () => Promise<T>): Promise<T> {
  const dir = path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), `handoff-e2e-${name}.lock`);
  for (;;) {
    try {
      fs.mkdirSync(dir);
      break;
    } catch {
      const age = Date.now() - (fs.statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 120_000) fs.rmSync(dir, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    return await body();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
