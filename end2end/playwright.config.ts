import path from 'node:path';
import { defineConfig } from '@playwright/test';
import { SMTP_URL } from './tests/mail';

// Browser tests for Handoff, run by scripts/test.sh after `cargo leptos build`.
//
// Playwright starts the already-built debug binary itself (webServer below), waits for /healthz,
// and stops it at the end: every run starts on an empty data directory, so the first admin is
// created through the setup link the server logs. Never run `npx playwright install`: the
// browser is Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium). Emails go to the test
// SMTP server that global-setup.ts runs on loopback; tests read them with tests/mail.ts.

const PORT = 3100;
const BASE_URL = `http://127.0.0.1:${PORT}`;
const REPO_ROOT = path.resolve(__dirname, '..');
const DATA_DIR = path.join(__dirname, '.e2e-data');

export default defineConfig({
  testDir: './tests',
  // One server, one SQLite file, and tests that build on each other's admin: run them one at a time.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: 'list',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  // Keeps a hung browser or server from eating CI's time budget.
  globalTimeout: 20 * 60_000,
  outputDir: './test-results',
  // The test SMTP server (stopped at the end by the function it returns).
  globalSetup: './global-setup.ts',

  use: {
    baseURL: BASE_URL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      // Without the background-networking flags Chromium floods this machine's closed network.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },

  projects: [
    {
      // Creates the owner account through the setup link, once, before everything else.
      name: 'setup',
      testMatch: /admin-setup\.spec\.ts$/,
      use: { javaScriptEnabled: true },
    },
    {
      name: 'chromium-js',
      testIgnore: [/admin-setup\.spec\.ts$/, /\.nojs\.spec\.ts$/],
      dependencies: ['setup'],
      use: { javaScriptEnabled: true },
    },
    {
      // The same pages with JavaScript off: forms must post and redirect without the wasm bundle.
      name: 'chromium-nojs',
      testMatch: [
        /friend-flow\.spec\.ts$/,
        /rewards\.spec\.ts$/,
        /imports\.spec\.ts$/,
        /integrations\.spec\.ts$/,
        /\.nojs\.spec\.ts$/,
      ],
      dependencies: ['setup'],
      use: { javaScriptEnabled: false },
    },
  ],

  webServer: {
    // Run from the repository root so LEPTOS_SITE_ROOT=target/site resolves; a fresh data dir every
    // run, and the server's combined output in .e2e-data/server.log (the tests read the setup link).
    // HANDOFF_E2E_BIN runs the tests against another build, e.g. target/release/handoff.
    command:
      'rm -rf end2end/.e2e-data && mkdir -p end2end/.e2e-data && ' +
      `${process.env.HANDOFF_E2E_BIN || './target/debug/handoff'} serve 2>&1 | tee end2end/.e2e-data/server.log`,
    cwd: REPO_ROOT,
    url: `${BASE_URL}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'ignore',
    stderr: 'pipe',
    env: {
      HANDOFF_ADDR: `127.0.0.1:${PORT}`,
      HANDOFF_PUBLIC_URL: BASE_URL,
      HANDOFF_DATA_DIR: DATA_DIR,
      LEPTOS_SITE_ROOT: 'target/site',
      LEPTOS_OUTPUT_NAME: 'handoff',
      RUST_LOG: 'info',
      // Plain log lines, readable when a test fails.
      NO_COLOR: '1',
      // Emails to the test SMTP server of global-setup.ts, looked for every 100 ms.
      HANDOFF_SMTP_URL: SMTP_URL,
      HANDOFF_OUTBOX_POLL_MS: '100',
      // Every test shares one address; the friend form's default (20 a minute) is for one person.
      HANDOFF_RATE_LIMITS: 'friend_form=600',
    },
  },
});
