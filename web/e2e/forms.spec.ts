// Forms keep what was typed when a save fails and show the API's reason at the field;
// the deadline and report screens draw from the live configuration.
import { expect, test } from '@playwright/test'
import { call, shot, signIn } from './support'

test('a rep edit refused for its time zone shows why at the field and keeps the input', async ({ page, request }) => {
  await signIn(page, 'ops-lin')
  await page.goto('team')
  await page.locator('[data-edit="bj-li"]').click()
  const dialog = page.locator('[data-test=rep-dialog]')
  const zone = dialog.locator('input[name=time_zone]')
  await zone.fill('Mars/Olympus')
  await dialog.locator('[data-test=save-rep]').click()
  await expect(dialog.locator('.el-form-item__error')).toContainText(/timezone|time zone/i)
  await expect(zone).toHaveValue('Mars/Olympus')
  await shot(page, 'rep-edit-error')
  await zone.fill('Asia/Shanghai')
  await dialog.locator('[data-test=save-rep]').click()
  await expect(dialog).toBeHidden()
  const li = (await call(request, 'ops-lin', 'GET', '/v1/reps/bj-li')).body
  expect(li.working_hours.time_zone).toBe('Asia/Shanghai')
})

test('deadlines show each calendar\'s coverage, reports draw the recycle-rate band', async ({ page }) => {
  await signIn(page, 'ops-lin')
  await page.goto('deadlines')
  await expect(page.locator('[data-covers=cn]')).toHaveText(/\d{4}-\d{2}-\d{2}/)
  await shot(page, 'deadlines')
  await page.goto('reports')
  await expect(page.locator('[data-test=recycle-chart] canvas')).toBeVisible()
  await expect(page.locator('[data-test=violations-total]')).toBeVisible()
  await shot(page, 'reports')
})

test('an admin\'s webhook with a bad address is refused at its field; an erasure needs a contact', async ({ page }) => {
  await signIn(page, 'admin-wu')
  await page.goto('admin')
  const hooks = page.locator('[data-test=webhooks]')
  await hooks.getByRole('button', { name: '添加订阅' }).click()
  await hooks.locator('input[name=id-0]').fill('crm')
  await hooks.locator('input[name=url-0]').fill('ftp://crm.example.com/hook')
  await hooks.locator('[data-test=save-webhooks]').click()
  await expect(hooks.locator('.el-form-item__error').first()).toBeVisible()
  await expect(hooks.locator('input[name=url-0]')).toHaveValue('ftp://crm.example.com/hook')
  await shot(page, 'admin')

  const erasure = page.locator('[data-test=erasure]')
  await erasure.locator('input[name=reference]').fill('TICKET-1')
  await erasure.locator('[data-test=erase]').click()
  await expect(erasure.locator('.el-form-item__error')).toBeVisible()
  await expect(erasure.locator('input[name=reference]')).toHaveValue('TICKET-1')
})
