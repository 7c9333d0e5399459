// The browser suite: the client's real frontend (built and served by scripts/browser.sh on
// port 8080) in Debian's Chromium — no browser download is possible here.
import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './journeys',
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  outputDir: process.env.BROWSER_ARTIFACTS || 'artifacts',
  use: {
    baseURL: process.env.FRONTEND_URL || 'http://localhost:8080',
    headless: true,
    screenshot: 'only-on-failure',
    trace: 'off',
    launchOptions: {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      // The machine's network is closed: without these Chromium keeps dialling out.
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    },
  },
});
