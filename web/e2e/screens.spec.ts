// Every screen in English at desktop width and in Chinese at phone width (reps live on
// their phones), for the docs and for a look at each run.
import { expect, test, type Page } from '@playwright/test'
import { shot, signIn } from './support'

const screens: { user: string; path: string; name: string }[] = [
  { user: 'bj-zhang', path: 'leads', name: 'my-leads' },
  { user: 'bj-zhang', path: 'pools', name: 'pools' },
  { user: 'ops-lin', path: 'leads', name: 'team-leads' },
  { user: 'ops-lin', path: 'team', name: 'team' },
  { user: 'ops-lin', path: 'routing', name: 'routing' },
  { user: 'ops-lin', path: 'review', name: 'invalid-review' },
  { user: 'ops-lin', path: 'history', name: 'config-history' },
  { user: 'ops-lin', path: 'deadlines', name: 'deadlines' },
  { user: 'ops-lin', path: 'reports', name: 'reports' },
  { user: 'ops-lin', path: 'models', name: 'models' },
  { user: 'admin-wu', path: 'admin', name: 'admin' },
  { user: 'mkt-sun', path: 'marketing', name: 'marketing' },
  { user: 'mkt-sun', path: 'attribution', name: 'attribution' },
  { user: 'mkt-sun', path: 'imports', name: 'imports' },
  { user: 'mkt-sun', path: 'scoring', name: 'scoring' },
  { user: 'fin-zhou', path: 'finance', name: 'finance' },
]

async function tour(page: Page, suffix: string) {
  await page.goto('signin')
  await shot(page, `signin-${suffix}`)
  let who = ''
  for (const screen of screens) {
    if (screen.user !== who) {
      await page.evaluate(() => sessionStorage.clear())
      await signIn(page, screen.user)
      who = screen.user
    }
    await page.goto(screen.path)
    await expect(page.locator('.el-loading-mask')).toHaveCount(0)
    await shot(page, `${screen.name}-${suffix}`)
    if (screen.name === 'my-leads') {
      const first = page.locator('[data-test=leads] .el-table__row').first()
      if (await first.count()) {
        await first.click()
        await expect(page.locator('[data-test=timeline]')).toBeVisible()
        await shot(page, `lead-page-${suffix}`)
      }
    }
  }
}

test('every screen in English at 1280×800', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } })
  await context.addInitScript(() => localStorage.setItem('leadflow.locale', 'en'))
  const page = await context.newPage()
  await tour(page, 'en')
  await expect(page.locator('header')).toContainText('Sign out')
})

test('every screen in Chinese at phone width', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })
  const page = await context.newPage()
  await tour(page, 'phone')
  // Nothing runs off the side of a phone.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  expect(overflow).toBeLessThanOrEqual(1)
})
