// Finance: a cost sheet with a bad line is shown line by line and saves nothing until it
// is fixed; a conversion recorded by hand, listed with its amount once credited; the ROI
// CSV downloaded with the figures the attribution screen shows; then the conversion
// cancelled from the list after a confirmation.
import { expect, test } from '@playwright/test'
import { readFileSync } from 'node:fs'
import { call, newLead, phone, shot, signIn } from './support'
import { day } from '../src/period'

const tag = String(Date.now() % 1_000_000)
const campaign = `cost${tag}`

test('a cost sheet, a conversion and the ROI export', async ({ page, request }) => {
  test.setTimeout(180_000)
  const saved = await call(request, 'mkt-sun', 'PUT', `/v1/campaigns/${campaign}`, { channel: `ads${tag}`, name: `测试活动${tag}` })
  expect(saved.status, JSON.stringify(saved.body)).toBe(200)
  const today = day(new Date())
  const yesterday = day(new Date(Date.now() - 86_400_000))
  const costOf = async () => {
    const roi = (await call(request, 'fin-zhou', 'GET', `/v1/exports/roi?group_by=campaign&from=${yesterday}&to=${today}`)).body
    return roi.rows.find((r: { campaign: string }) => r.campaign === campaign)?.cost ?? '0.00'
  }

  await signIn(page, 'fin-zhou')
  await page.goto('finance')
  const upload = page.locator('[data-test=costs-upload]')
  const sheet = (spend: string) => ({
    name: 'costs.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(`campaign_id,day,keyword,ad_spend,content,labour\r\n${campaign},${today},,1000,200,0\r\n${campaign},${yesterday},,${spend},0,0\r\n`),
  })
  await upload.locator('input[type=file]').setInputFiles(sheet('一千'))
  await expect(upload.locator('[data-line-error="3"]')).toContainText('ad_spend')
  await expect(upload.locator('[data-test=save-sheet]')).toBeDisabled()
  await shot(page, 'finance-sheet-error')
  expect(await costOf()).toBe('0.00')

  await upload.locator('input[type=file]').setInputFiles(sheet('300'))
  await expect(upload.locator('[data-test=sheet-status]')).toContainText('2')
  await upload.locator('[data-test=save-sheet]').click()
  await expect(upload.locator('[data-test=sheet-saved]')).toBeVisible()
  expect(await costOf()).toBe('1500.00')

  // An order for a lead of the campaign, recorded by hand.
  const person = phone()
  const leadId = await newLead(request, { name: '冯财务', phone: person, company: '北京财务测试有限公司', province: '北京', channel: `ads${tag}`, campaign_id: campaign })
  const form = page.locator('[data-test=conversion]')
  await form.locator('input[name=external_id]').fill(`FIN-${tag}`)
  await form.locator('input[name=phone]').fill(person)
  await form.locator('input[name=amount]').fill('3,000.00')
  await form.locator('[data-test=record]').click()
  await expect(form.locator('[data-test=recorded]')).toBeVisible()
  await expect
    .poll(async () => (await call(request, 'fin-zhou', 'GET', `/v1/conversions/FIN-${tag}`)).body?.settled, { timeout: 90_000 })
    .toBe(true)

  // The list of the period (the last 30 days) has it: its amount, its lead, credited.
  const list = page.locator('[data-test=conversions]')
  const listed = list.locator('.el-table__row', { has: page.locator(`[data-conversion="FIN-${tag}"]`) })
  await expect(listed.locator('[data-status]')).toHaveAttribute('data-status', 'settled')
  await expect(listed.locator('[data-test=amount]')).toHaveText('¥3,000.00')
  await expect(listed).toContainText('订单')
  await expect(listed).toContainText('fin-zhou')
  await expect(listed.locator('a')).toHaveAttribute('href', new RegExp(`/leads/${leadId}$`))
  await expect(list.locator('[data-test=conversion-totals]')).toContainText('有效')

  // The export, by campaign under the U-shaped model, as a file.
  const exportCard = page.locator('[data-test=export]')
  await exportCard.locator('[data-test=export-group]').click()
  await page.getByRole('option', { name: '活动', exact: true }).click()
  const [download] = await Promise.all([page.waitForEvent('download'), exportCard.locator('[data-test=download]').click()])
  expect(download.suggestedFilename()).toMatch(/^roi-.*\.csv$/)
  const csv = readFileSync((await download.path())!, 'utf8').replace(/^\uFEFF/, '')
  const [header, ...lines] = csv.trim().split(/\r?\n/)
  const columns = header!.split(',')
  const row = lines.map((l) => l.split(',')).find((cells) => cells[columns.indexOf('campaign')] === campaign)!
  expect(row, csv).toBeTruthy()
  const fromFile = row[columns.indexOf('attributed_revenue')]
  expect(fromFile).toBe('3000.00')
  expect(row[columns.indexOf('cost')]).toBe('1500.00')
  await shot(page, 'finance')

  // The attribution screen shows the same figure for the same model and grouping.
  await page.goto('attribution')
  await page.locator('[data-test=group]').click()
  await page.getByRole('option', { name: '活动', exact: true }).click()
  await expect(page.locator(`[data-test=roi-rows] [data-revenue="${campaign}"]`)).toHaveText(fromFile!)

  // Cancelled from the list, now the figures are checked: kept when the dialog says no,
  // cancelled when it says yes, here and in the API.
  await page.goto('finance')
  await expect(listed.locator('[data-status]')).toHaveAttribute('data-status', 'settled')
  const box = page.locator('.el-message-box')
  await listed.locator('[data-test=cancel-conversion]').click()
  await expect(box).toContainText(`FIN-${tag}`)
  await box.getByRole('button', { name: '不作废', exact: true }).click()
  await expect(box).toBeHidden()
  expect((await call(request, 'fin-zhou', 'GET', `/v1/conversions/FIN-${tag}`)).body.conversion.cancelled).toBe(false)
  await listed.locator('[data-test=cancel-conversion]').click()
  await box.getByRole('button', { name: '作废', exact: true }).click()
  await expect(listed.locator('[data-status]')).toHaveAttribute('data-status', 'cancelled')
  await expect(listed.locator('[data-test=cancel-conversion]')).toHaveCount(0)
  const cancelled = (await call(request, 'fin-zhou', 'GET', `/v1/conversions/FIN-${tag}`)).body
  expect(cancelled.conversion.cancelled).toBe(true)
  expect(cancelled.conversion.revision).toBe(2)
  // Once the credit is withdrawn the list says so without a reload.
  await expect(listed.locator('[data-status]')).toHaveText('已作废', { timeout: 90_000 })
  expect((await call(request, 'fin-zhou', 'GET', `/v1/conversions/FIN-${tag}`)).body.settled).toBe(true)
  await expect(page.locator('.el-message')).toHaveCount(0)
  await shot(page, 'finance-conversions')

  // A period longer than a list spans: the API starts it later, and the screen says where.
  const start = list.locator('[data-test=conversions-range] input').first()
  await start.fill(day(new Date(Date.now() - 120 * 86_400_000)))
  await start.press('Enter')
  const earliest = new Date(Date.parse(`${today}T00:00:00Z`) - 91 * 86_400_000).toISOString().slice(0, 10)
  await expect(list.locator('[data-test=moved-from]')).toContainText(earliest)
  await expect(listed).toBeVisible()
})
