// Loads a stand-in for the business's page with and without the share widget, alternately, each
// in a fresh browser context, and prints the medians of the load event (Navigation Timing's
// loadEventEnd) and of when the widget appeared. Run by scripts/bench-widget.sh.
//
//   node end2end/bench/widget-load.mjs BASE_URL CAMPAIGN TOKEN LOADS_EACH
import { createServer } from 'node:http';
import { chromium } from '@playwright/test';

const [base, slug, token, loadsArg] = process.argv.slice(2);
const loads = Number(loadsArg || 40);
const page = (withWidget) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><main><h1>Your account</h1>${'<p>Orders, addresses and settings.</p>'.repeat(50)}</main>
${withWidget ? `<script src="${base}/embed.js" data-campaign="${slug}" data-token="${token}" async></script>` : ''}
</body></html>`;

// The business's site: a real server on another loopback port (Chromium refuses loopback
// requests from a page it counts as public, which a page Playwright answers itself would be).
const site = createServer((request, response) => {
  response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  response.end(page(request.url.startsWith('/with/')));
});
await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
const HOST = `http://127.0.0.1:${site.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});

async function once(withWidget) {
  const context = await browser.newContext();
  const tab = await context.newPage();
  await tab.goto(`${HOST}/${withWidget ? 'with' : 'without'}/account`, { waitUntil: 'load' });
  const load = await tab.evaluate(() => performance.getEntriesByType('navigation')[0].loadEventEnd);
  let shown = null;
  if (withWidget) {
    await tab.getByRole('dialog').waitFor();
    shown = await tab.evaluate(() => performance.now());
  }
  await context.close();
  return { load, shown };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Warm-up (the server's first answers, Chromium's first context).
await once(false);
await once(true);
const without = [];
const withW = [];
const shown = [];
for (let i = 0; i < loads; i++) {
  without.push((await once(false)).load);
  const w = await once(true);
  withW.push(w.load);
  shown.push(w.shown);
}
await browser.close();
site.closeAllConnections();
site.close();
const m0 = median(without);
const m1 = median(withW);
console.log(`loads each: ${loads}`);
console.log(`load event without the widget: median ${m0.toFixed(1)} ms`);
console.log(`load event with the widget:    median ${m1.toFixed(1)} ms`);
console.log(`added to the load event:       ${(m1 - m0).toFixed(1)} ms (target: under 50 ms)`);
console.log(`widget on screen (delay 0):    median ${median(shown).toFixed(1)} ms after navigation start`);
