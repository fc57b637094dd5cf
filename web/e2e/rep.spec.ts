// A rep's day: sign in, find the new lead with its deadline, log the call; search by a
// phone number typed with spaces; lose a claim race gracefully.
import { expect, test } from '@playwright/test'
import { call, handTo, newLead, phone, shot, signIn } from './support'

test('a rep sees a new lead with its SLA badge, logs a call, and the first-contact clock is met', async ({ page, request }) => {
  const number = phone()
  const id = await newLead(request, { name: '赵一鸣', phone: number, company: '北京星河数据有限公司', province: '北京', title: '总监' })
  await handTo(request, id, 'bj-zhang')

  await signIn(page, 'bj-zhang')
  const row = page.locator('[data-test=leads] .el-table__row', { hasText: number })
  await expect(row).toBeVisible()
  await expect(row.locator('[data-sla]')).toBeVisible()
  await shot(page, 'my-leads')

  // By keyboard: the lead's name is a link in the row.
  await row.locator(`[data-open="${id}"]`).focus()
  await page.keyboard.press('Enter')
  await expect(page).toHaveURL(new RegExp(`/leads/${id}$`))
  const firstContact = page.locator('[data-clock=first_contact]')
  await expect(firstContact).toHaveAttribute('data-status', 'running')
  await expect(firstContact.locator('[data-sla]')).toBeVisible()
  // The score's event line in Chinese, from its kind: the form the lead came in by.
  await expect(page.locator('[data-test=score-lines]')).toContainText('提交表单')
  // The timeline says the touch's event and how the owner got the lead in Chinese too.
  await expect(page.locator('[data-test=timeline]')).toContainText('接触 · 提交表单')
  await expect(page.locator('[data-test=timeline]')).not.toContainText('form_submit')
  await shot(page, 'lead-page')

  await page.locator('[data-action=log_call]').click()
  await page.locator('[data-test=action-dialog] input[name=budget]').fill('30万')
  await page.locator('[data-test=action-dialog] textarea[name=note]').fill('已电话沟通，下周演示')
  await shot(page, 'lead-log-call')
  await page.locator('[data-test=submit-action]').click()
  await expect(firstContact).toHaveAttribute('data-status', 'satisfied')
  await expect(firstContact.locator('[data-sla]')).toHaveCount(0)
  await expect(page.locator('[data-test=timeline]')).toContainText('已电话沟通')

  // Back to the list: the same view, the lead's row now counts down to its next deadline.
  await page.goBack()
  await expect(row).toBeVisible()
})

test('a rep finds a lead by a phone number typed with spaces', async ({ page, request }) => {
  const number = phone()
  const id = await newLead(request, { name: '钱多多', phone: number, company: '北京云帆科技有限公司', province: '北京' })
  await handTo(request, id, 'bj-li')
  await signIn(page, 'bj-li')
  const spaced = `${number.slice(0, 3)} ${number.slice(3, 7)} ${number.slice(7)}`
  await page.getByPlaceholder('手机号、邮箱或公司').fill(spaced)
  await page.locator('[data-test=search-go]').click()
  const rows = page.locator('[data-test=leads] .el-table__row')
  await expect(rows).toHaveCount(1)
  await expect(rows.first()).toContainText('钱多多')
  await shot(page, 'search-by-phone')
})

test('two reps claim the same pool lead: one gets it, the other a clear message', async ({ browser, request }) => {
  const id = await newLead(request, { name: '孙展会', phone: phone(), company: '天津港务机械有限公司', channel: 'trade_show' })
  const waiting = await call(request, 'admin-wu', 'GET', `/v1/leads/${id}`)
  expect(waiting.body.lead.pool).toBe('expo')

  const zhang = await (await browser.newContext({ locale: 'zh-CN' })).newPage()
  const li = await (await browser.newContext({ locale: 'zh-CN' })).newPage()
  for (const [page, user] of [[zhang, 'bj-zhang'], [li, 'bj-li']] as const) {
    await signIn(page, user)
    await page.goto('pools')
    await page.getByRole('tab', { name: '展会线索池' }).click()
    await expect(page.locator(`[data-claim="${id}"]`)).toBeVisible()
    await expect(page.locator('[data-test=allowance]')).toContainText('/ 30')
  }
  await shot(li, 'pools')
  await zhang.locator(`[data-claim="${id}"]`).click()
  await expect(zhang).toHaveURL(new RegExp(`/leads/${id}$`))
  await li.locator(`[data-claim="${id}"]`).click()
  await expect(li.locator('.el-message')).toContainText('手慢了')
  await expect(li.locator(`[data-claim="${id}"]`)).toHaveCount(0)
  await expect(li).toHaveURL(/pools$/)
  await shot(li, 'pools-lost-race')
})
