// Marketing registers a campaign with the branch that runs it: a malformed id is refused
// at the field with the rest kept, then the campaign is listed, edited, and the ROI
// export grouped by branch adds its leads up under that branch.
import { expect, test } from '@playwright/test'
import { call, newLead, phone, signIn } from './support'

test('marketing registers a campaign under a branch and the branch report counts its leads', async ({ page, request }) => {
  const tag = String(Date.now() % 1e7)
  const id = `expo-${tag}`
  const branch = `测试分公司${tag}`
  await signIn(page, 'mkt-sun')
  await page.goto('campaigns')
  await page.locator('[data-test=new-campaign]').click()
  const form = page.locator('[data-test=campaign-form]')
  await form.locator('input[name=id]').fill(`expo ${tag}`)
  await form.locator('input[name=name]').fill(`秋季展会 ${tag}`)
  await form.locator('input[name=channel]').fill('trade_show')
  await form.locator('input[name=branch]').fill(branch)
  await page.locator('[data-test=save-campaign]').click()
  await expect(form.locator('.el-form-item__error')).toContainText('1-64')
  await expect(form.locator('input[name=branch]')).toHaveValue(branch)

  await form.locator('input[name=id]').fill(id)
  await page.locator('[data-test=save-campaign]').click()
  await expect(page.locator('.el-message--success')).toBeVisible()
  const row = page.locator('[data-test=campaigns] .el-table__row', { hasText: id })
  await expect(row).toContainText(branch)
  expect((await call(request, 'mkt-sun', 'GET', `/v1/campaigns/${id}`)).body).toMatchObject({ channel: 'trade_show', branch })

  // A lead from the campaign adds up under its branch.
  await newLead(request, { name: '秦展会', phone: phone(), company: `上海展会${tag}有限公司`, channel: 'trade_show', campaign_id: id })
  const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10)
  await expect
    .poll(async () => {
      const roi = (await call(request, 'mkt-sun', 'GET', `/v1/exports/roi?group_by=branch&from=${today}&to=${today}`)).body
      return roi.rows.find((r: { branch: string }) => r.branch === branch)?.leads ?? 0
    }, { timeout: 60_000 })
    .toBe(1)

  // Editing keeps the id and changes what reports take from it.
  await row.locator(`[data-edit="${id}"]`).click()
  await expect(form.locator('input[name=id]')).toBeDisabled()
  await form.locator('input[name=keywords]').fill('展会, 签到')
  await page.locator('[data-test=save-campaign]').click()
  await expect(row).toContainText('展会, 签到')
  expect((await call(request, 'mkt-sun', 'GET', `/v1/campaigns/${id}`)).body.keywords).toEqual(['展会', '签到'])
})
