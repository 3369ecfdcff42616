// Takes the README screenshots from a running Handoff with demo data:
//   HANDOFF_DATA_DIR=/tmp/shots target/debug/handoff demo
//   printf 'screenshot password\n' | HANDOFF_DATA_DIR=/tmp/shots target/debug/handoff admin create --email shots@example.com
//   HANDOFF_DATA_DIR=/tmp/shots HANDOFF_ADDR=127.0.0.1:3950 target/debug/handoff serve &
//   node scripts/screenshots.mjs http://127.0.0.1:3950
// Uses the Playwright installed for end2end/ and Debian's Chromium.
import { createRequire } from 'node:module';
const require = createRequire(new URL('../end2end/package.json', import.meta.url));
const { chromium } = require('@playwright/test');

const base = process.argv[2] ?? 'http://127.0.0.1:3950';
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
const phone = await browser.newPage({ viewport: { width: 390, height: 760 } });
await phone.goto(`${base}/f/demo-spring`);
await phone.getByLabel('Your name').fill('Sam Friend');
await phone.getByLabel('Your email').fill('sam@example.org');
await phone.getByLabel('Referral code').fill(typo);
await phone.getByRole('button', { name: 'Sign up' }).click();
await phone.screenshot({ path: 'docs/screenshots/friend.png' });
await browser.close();
