// A manager's floor: routing rules reordered and previewed, a rep marked out of office,
// an invalid lead restored, and the routing change rolled back from the history.
import { expect, test } from '@playwright/test'
import { call, newLead, phone, shot, signIn } from './support'

test('a manager reorders routing, previews, marks a rep away, restores an invalid lead and rolls back', async ({ page, request }) => {
  const before = (await call(request, 'ops-lin', 'GET', '/v1/config/routing')).body
  // The floor as the scene needs it, whatever the day and an earlier run left: the
  // Beijing reps on shift around the clock, nobody away; and as the seed has it after.
  const BEIJING = ['bj-zhang', 'bj-li', 'bj-wang']
  const office = { days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], start: '09:00:00', end: '18:00:00', time_zone: 'Asia/Shanghai' }
  const always = { days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'], start: '00:00:00', end: '23:59:59', time_zone: 'Asia/Shanghai' }
  const floor = async (hours: typeof office) => {
    for (const id of BEIJING) {
      const rep = (await call(request, 'ops-lin', 'GET', `/v1/reps/${id}`)).body
      const saved = await call(request, 'ops-lin', 'PUT', `/v1/reps/${id}`, { ...rep, holding: undefined, out_of_office: [], working_hours: hours })
      expect(saved.status, JSON.stringify(saved.body)).toBe(200)
    }
  }
  await floor(always)
  await signIn(page, 'ops-lin')

  // Routing: move the first rule down, save: a new version with the new order.
  await page.goto('routing')
  const first = page.locator('[data-test=rules] li').first()
  const pool = await first.getAttribute('data-pool')
  await page.locator('[data-down="0"]').click()
  await expect(page.locator('[data-test=rules] li').nth(1)).toHaveAttribute('data-pool', pool!)
  await page.locator('[data-test=save-rules]').click()
  await expect(page.locator('.el-message--success')).toBeVisible()
  const saved = (await call(request, 'ops-lin', 'GET', '/v1/config/routing')).body
  expect(saved.version).toBe(before.version + 1)
  expect(saved.rules[1].pool).toBe(pool)

  // Preview: a Beijing lead goes to the Beijing pool; every member is listed, with why
  // the ones not chosen were skipped.
  await page.locator('input[name=province]').fill('北京')
  await page.locator('[data-test=run-preview]').click()
  const preview = page.locator('[data-test=preview]')
  await expect(preview).toContainText('beijing')
  // Three members: one chosen, the other two with the reason they were passed over.
  await expect(preview.locator('.el-table__row')).toHaveCount(3)
  await expect(preview.locator('[data-skipped]')).toHaveCount(2)
  await shot(page, 'routing')

  // Team: bj-wang away for a week.
  await page.goto('team')
  await page.locator('[data-ooo="bj-wang"]').click()
  await page.locator('[data-test=save-ooo]').click()
  await expect(page.locator('[data-status="bj-wang"]')).toContainText('休假中')
  await expect(page.getByRole('dialog')).toBeHidden()
  await shot(page, 'team')
  const wang = (await call(request, 'ops-lin', 'GET', '/v1/reps/bj-wang')).body
  expect(wang.out_of_office.length).toBeGreaterThan(0)

  // The next Beijing lead goes elsewhere: the preview skips bj-wang for the absence.
  await page.goto('routing')
  await page.locator('input[name=province]').fill('北京')
  await page.locator('[data-test=run-preview]').click()
  await expect(page.locator('[data-skipped="bj-wang"]')).toContainText('休假中')
  await expect(page.locator('[data-test=preview]')).toContainText(/将分配给: bj-(zhang|li)/)
  await shot(page, 'routing-preview-away')

  // Review: a lead marked invalid by mistake is restored.
  const id = await newLead(request, { name: '误判客户', phone: phone(), company: '北京误判科技有限公司', province: '北京' })
  const lead = (await call(request, 'admin-wu', 'GET', `/v1/leads/${id}`)).body.lead
  if (lead.stage !== 'invalid') {
    const marked = await call(request, 'ops-lin', 'POST', `/v1/leads/${id}/actions`, { action: 'invalid', reason: 'wrong_contact' })
    expect(marked.status, JSON.stringify(marked.body)).toBe(200)
  }
  await page.goto('review')
  await expect(page.locator(`[data-restore="${id}"]`)).toBeVisible()
  await shot(page, 'invalid-review')
  await page.locator(`[data-restore="${id}"]`).click()
  await expect(page.locator(`[data-restore="${id}"]`)).toHaveCount(0)
  await expect.poll(async () => (await call(request, 'admin-wu', 'GET', `/v1/leads/${id}`)).body.lead.stage).not.toBe('invalid')

  // History: roll routing back to the version before the reorder.
  await page.goto('history')
  await page.locator(`[data-test=versions] .el-table__row`, { hasText: `v${before.version}` }).first().click()
  await expect(page.locator('.diff')).toContainText('rules')
  await shot(page, 'config-history')
  await page.locator(`[data-rollback="${before.version}"]`).click()
  await page.locator('.el-message-box__btns .el-button--primary').click()
  await expect(page.locator('.el-message--success')).toBeVisible()
  const restored = (await call(request, 'ops-lin', 'GET', '/v1/config/routing')).body
  expect(restored.version).toBe(before.version + 2)
  expect(restored.rules).toEqual(before.rules)

  // And the floor as the seed has it, for whoever uses the stack next.
  await floor(office)
})
