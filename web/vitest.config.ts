// Unit tests only (tests/); the browser tests in e2e/ are Playwright's.
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: { include: ['tests/**/*.test.ts'] },
})
