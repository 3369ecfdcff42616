// Takes the README screenshots from a running Handoff with demo data:
//   HANDOFF_DATA_DIR=/tmp/shots target/debug/handoff demo
//   printf 'screenshot password\n' | HANDOFF_DATA_DIR=/tmp/shots target/debug/handoff admin create --email shots@example.com
//   KEY=$(HANDOFF_DATA_DIR=/tmp/shots target/debug/handoff api-key create --name shots)
//   HANDOFF_DATA_DIR=/tmp/shots HANDOFF_ADDR=127.0.0.1:3950 target/debug/handoff serve &
//   node scripts/screenshots.mjs http://127.0.0.1:3950 "$KEY"
// The API key signs a demo referrer in to the portal (POST /api/v1/referrers/{id}/portal-link).
// Uses the Playwright installed for end2end/ and Debian's Chromium.
import { createRequire } from 'node:module';
const require = createRequire(new URL('../end2end/package.json', import.meta.url));
const { chromium } = require('@playwright/test');

const base = process.argv[2] ?? 'http://127.0.0.1:3950';
const apiKey = process.argv[3];
if (!apiKey) throw new Error('usage: node scripts/screenshots.mjs BASE_URL API_KEY');
async function api(path, body) {
  const response = await fetch(`${base}/api/v1/${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const desktop = await browser.newPage({ viewport: { width: 1280, height: 760 } });
await desktop.goto(`${base}/admin/login`);
await desktop.getByLabel('Email').fill('shots@example.com');
await desktop.getByLabel('Password').fill('screenshot password');
await desktop.getByRole('button', { name: 'Log in' }).click();
await desktop.waitForURL('**/admin/campaigns');
await desktop.goto(`${base}/admin/referrers`);
await desktop.screenshot({ path: 'docs/screenshots/referrers.png' });
// A real code with one symbol changed, to show the "did you mean" help.
const code = (await desktop.locator('code.code').first().textContent()).trim();
const typo = code.slice(0, -2) + (code.at(-2) === '7' ? '8' : '7') + code.at(-1);
await desktop.goto(`${base}/admin/leads`);
await desktop.screenshot({ path: 'docs/screenshots/leads.png' });
await desktop.goto(`${base}/admin/rewards`);
await desktop.screenshot({ path: 'docs/screenshots/rewards.png' });
await desktop.goto(`${base}/admin/campaigns/demo-spring/emails`);
await desktop.waitForLoadState('networkidle');
await desktop.screenshot({ path: 'docs/screenshots/email-templates.png' });
// The sales desk on a phone, answering a misheard code with "did you mean" and whose it is.
await desktop.setViewportSize({ width: 390, height: 900 });
await desktop.goto(`${base}/admin/sales`);
await desktop.waitForLoadState('networkidle');
await desktop.getByLabel('Referral code').fill(typo.toLowerCase());
await desktop.getByLabel("Friend's name").fill('Noor Haddad');
await desktop.getByLabel("Friend's email").fill('noor@example.org');
await desktop.getByRole('button', { name: 'Record referral' }).click();
await desktop.getByText('Did you mean').waitFor();
await desktop.screenshot({ path: 'docs/screenshots/sales-desk.png', fullPage: true });
const phone = await browser.newPage({ viewport: { width: 390, height: 760 } });
await phone.goto(`${base}/f/demo-spring`);
await phone.getByLabel('Your name').fill('Sam Friend');
await phone.getByLabel('Your email').fill('sam@example.org');
await phone.getByLabel('Referral code').fill(typo);
await phone.getByRole('button', { name: 'Sign up' }).click();
await phone.screenshot({ path: 'docs/screenshots/friend.png' });
// A demo referrer's own portal, signed in through a single-use link as a business's product would.
const referrers = await api('referrers?campaign=demo-spring');
const { url } = await api(`referrers/${referrers.items[0].id}/portal-link`, {});
const portal = await browser.newPage({ viewport: { width: 390, height: 760 } });
await portal.goto(url);
await portal.getByRole('button', { name: 'Continue to my portal' }).click();
await portal.waitForURL('**/p/demo-spring');
await portal.waitForLoadState('networkidle');
await portal.screenshot({ path: 'docs/screenshots/portal.png', fullPage: true });
await browser.close();
