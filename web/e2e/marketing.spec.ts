// Marketing: the funnel moves when leads arrive and clicks through to them; the
// attribution models split one order the way they say they do.
import { expect, test, type Page } from '@playwright/test'
import { call, newLead, phone, shot, signIn } from './support'

const tag = String(Date.now() % 1_000_000)

async function pickModel(page: Page, label: string) {
  await page.locator('[data-test=model]').click()
  await page.getByRole('option', { name: label, exact: true }).click()
}

test('the funnel moves after leads arrive and a channel clicks through to its leads', async ({ page, request }) => {
  const channel = `fair${tag}`
  await signIn(page, 'mkt-sun')
  await page.goto('marketing')
  const row = page.locator('[data-test=by-group] .el-table__row', { hasText: channel })
  await expect(page.locator('[data-test=by-group]')).toBeVisible()
  await expect(row).toHaveCount(0)

  for (const name of ['周展会', '吴展会']) {
    await newLead(request, { name, phone: phone(), company: `${name}科技有限公司`, province: '北京', channel })
  }
  await expect
    .poll(async () => {
      // Read the table once the reloaded dashboard has its answers, not while it loads.
      await page.reload({ waitUntil: 'networkidle' })
      return (await row.count()) ? (await row.locator('td').nth(1).innerText()).trim() : '0'
    }, { timeout: 60_000 })
    .toBe('2')
  await shot(page, 'marketing')

  await row.click()
  await expect(page).toHaveURL(new RegExp(`/leads\\?.*channel=${channel}`))
  const rows = page.locator('[data-test=leads] .el-table__row')
  await expect(rows).toHaveCount(2)
  // Marketing follows channels, not people: the contacts are masked.
  await expect(rows.first()).toContainText('****')
  await shot(page, 'marketing-click-through')
})

test('switching the attribution model moves one order between the touches as each model says', async ({ page, request }) => {
  const [first, last] = [`seo${tag}`, `form${tag}`]
  const person = phone()
  const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString()
  const touched = await request.post('/v1/events', {
    data: { event: 'page_view', phone: person, event_id: `e2e-${tag}-1`, occurred_at: twoDaysAgo, channel: first },
  })
  expect(touched.status(), await touched.text()).toBe(202)
  await newLead(request, { name: '郑归因', phone: person, company: '北京归因科技有限公司', province: '北京', channel: last })
  await expect
    .poll(async () => (await call(request, 'fin-zhou', 'POST', '/v1/conversions', {
      external_id: `E2E-${tag}`, phone: person, kind: 'order', amount: '1000.00', occurred_at: new Date().toISOString(),
    })).status, { timeout: 60_000 })
    .toBeLessThan(300)
  await expect
    .poll(async () => (await call(request, 'fin-zhou', 'GET', `/v1/conversions/E2E-${tag}`)).body?.settled, { timeout: 90_000 })
    .toBe(true)

  await signIn(page, 'mkt-sun')
  await page.goto('attribution')
  const revenue = (channel: string) => page.locator(`[data-test=roi-rows] [data-revenue="${channel}"]`)
  // Hand-computed: two touches, 1,000.00. First touch: all to the first; last touch: all
  // to the form; linear: half each.
  await pickModel(page, '首次触点')
  await expect(revenue(first)).toHaveText('1000.00')
  await expect(revenue(last)).toHaveText('0.00')
  await pickModel(page, '末次触点')
  await expect(revenue(first)).toHaveText('0.00')
  await expect(revenue(last)).toHaveText('1000.00')
  await pickModel(page, '线性')
  await expect(revenue(first)).toHaveText('500.00')
  await expect(revenue(last)).toHaveText('500.00')
  await shot(page, 'attribution')
})
