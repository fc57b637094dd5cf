// Browser tests: Debian's Chromium (installed by scripts/setup.sh), against the local
// stack `make e2e` starts (the demo server's /console/ and the API behind it).
import { defineConfig } from '@playwright/test'

const base = process.env.LEADFLOW_CONSOLE_URL ?? `http://127.0.0.1:${process.env.LEADFLOW_DEMO_PORT ?? 8080}/console/`

export default defineConfig({
  testDir: 'e2e',
  outputDir: '../target/e2e/results',
  timeout: 90_000,
  expect: { timeout: 20_000 },
  // One at a time: the scenarios share one stack and its demo org.
  workers: 1,
  retries: 0,
  reporter: [['list'], ['html', { outputFolder: '../target/e2e/report', open: 'never' }]],
  use: {
    baseURL: base,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    viewport: { width: 1280, height: 800 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: { executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium' },
  },
})
