// A 500-row file as Excel saves it in China (GBK) is checked, imported with a progress
// bar, and ends with its counts; its rejected rows download.
import { expect, test } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { shot, signIn } from './support'

const tag = String(Date.now() % 10_000).padStart(4, '0')

function gbk(text: string): Buffer {
  return execFileSync('python3', ['-c', 'import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().decode("utf-8").encode("gbk"))'], { input: text })
}

test('a 500-row GBK file imports with progress and ends with its counts', async ({ page }) => {
  test.setTimeout(600_000)
  const rows = ['姓名,手机,公司,省份']
  for (let i = 0; i < 500; i += 1) {
    // Every 50th row has a phone no one could dial: kept as invalid, with its reason.
    const mobile = i % 50 === 7 ? '12345' : `139${tag}${String(i).padStart(4, '0')}`
    rows.push(`导入客户${i},${mobile},华东导入测试${tag}第${i}号有限公司,上海`)
  }
  await signIn(page, 'mkt-sun')
  await page.goto('imports')
  const card = page.locator('[data-test=imports]')
  await card.locator('input[type=file]').setInputFiles({ name: `展会名单-${tag}.csv`, mimeType: 'text/csv', buffer: gbk(rows.join('\r\n') + '\r\n') })
  await expect(card.locator('[data-test=check]')).toContainText('gbk')
  await expect(card.locator('[data-test=check-counts]')).toContainText('共 500 行：490 行可导入，10 行有误')
  await shot(page, 'imports-check')

  await card.locator('[data-test=start-import]').click()
  await expect(card.locator('[data-test=progress] .el-progress')).toBeVisible()
  // The bar moves as rows are decided; at the end every row has its outcome.
  await expect(card.locator('[data-test=counts]')).toHaveAttribute('data-finished', 'true', { timeout: 540_000 })
  await expect(card.locator('[data-test=counts]')).toContainText('已完成 500/500')
  await expect(card.locator('[data-test=counts]')).toContainText('新建 490')
  await expect(card.locator('[data-test=counts]')).toContainText('无效 10')
  await shot(page, 'imports-done')

  const [download] = await Promise.all([page.waitForEvent('download'), card.locator('[data-test=download-rejected]').click()])
  const rejected = readFileSync((await download.path())!, 'utf8').trim().split(/\r?\n/)
  expect(rejected).toHaveLength(11)
})
