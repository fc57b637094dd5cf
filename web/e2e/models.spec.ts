// The predictive model: before any training the screen says so; the admin's share of
// the challenger is refused at the field when out of range (nothing typed is lost) and
// saved as a new config version when in range; "train now" queues a run the local stack's
// train function picks up, and the new version shows as the challenger; promotion asks
// first. The scene puts the models in service back as it found them, since every lead
// scored meanwhile depends on them. Marketing reads without the admin's buttons; finance
// reads the arms report only.
import { expect, test, type Page } from '@playwright/test'
import { call, shot, signIn } from './support'

interface InService {
  champion: number
  challenger?: number
  challenger_share: number
  revision: number
}

async function saveShare(page: Page, percent: string) {
  const field = page.locator('[data-test=share] input[name=challenger_share]')
  await field.fill(percent)
  await page.locator('[data-test=save-share]').click()
}

test('share, train, promote and roll back as the admin', async ({ page, request }) => {
  test.setTimeout(240_000)
  const before = (await call(request, 'admin-wu', 'GET', '/v1/models?limit=200')).body as { in_service: InService; versions: { version: number }[] }
  const configBefore = (await call(request, 'admin-wu', 'GET', '/v1/config/models/versions?limit=1')).body.versions[0]?.version as number | undefined
  const newest = Math.max(0, ...before.versions.map((v) => v.version))

  await signIn(page, 'admin-wu')
  await page.locator('header').getByRole('menuitem', { name: '预测模型' }).click()
  await expect(page).toHaveURL(/\/models$/)
  await expect(page.locator('.el-loading-mask')).toHaveCount(0)
  await expect(page.locator('[data-test=champion]')).toHaveText(before.in_service.champion ? `v${before.in_service.champion}` : '规则先验（v0）')
  if (!before.versions.length) {
    // The seeded stack has no model: new leads are scored by the rule prior.
    await expect(page.locator('[data-test=no-model]')).toContainText('还没有训练过模型')
    await shot(page, 'models-empty')
  }
  await expect(page.locator('[data-test=arm-rows] [data-arm=challenger]')).toBeVisible()

  // Out of range: the API's reason at the field, and what was typed still there.
  const field = page.locator('[data-test=share] input[name=challenger_share]')
  await expect(field).toHaveValue(String(Number((before.in_service.challenger_share * 100).toFixed(4))))
  await saveShare(page, '150')
  await expect(page.locator('[data-test=share] .el-form-item__error')).toContainText('between 0 and 1')
  await expect(field).toHaveValue('150')
  expect((await call(request, 'admin-wu', 'GET', '/v1/models?limit=1')).body.in_service.revision).toBe(before.in_service.revision)

  // In range: a new config version, listed first among the changes.
  await saveShare(page, '50')
  const shareVersion = before.in_service.revision + 1
  await expect(page.locator('[data-test=config-version]')).toContainText(String(shareVersion))
  await expect(page.locator('[data-test=share] .el-form-item__error')).toHaveCount(0)
  await expect(page.locator('[data-test=share-versions] .el-table__row').first().locator(`[data-config-version="${shareVersion}"]`)).toBeVisible()
  expect((await call(request, 'admin-wu', 'GET', '/v1/models?limit=1')).body.in_service.challenger_share).toBe(0.5)

  // Train now: queued, then the train function's new version arrives as the challenger.
  await page.locator('[data-test=train]').click()
  await expect(page.locator('[data-test=answer]')).toContainText('训练已排队')
  const trained = newest + 1
  const row = page.locator('[data-test=version-rows] .el-table__row', { has: page.locator(`[data-version="${trained}"]`) })
  await expect(row).toContainText('挑战者模型', { timeout: 120_000 })
  await expect(page.locator('[data-test=answer]')).toContainText(`v${trained}`)
  await expect(page.locator('[data-test=challenger]')).toHaveText(`v${trained}`)
  // Its calibration (none when the stack has too few finished leads to hold out).
  await row.locator(`[data-calibration="${trained}"]`).click()
  await expect(page.locator('[data-test=calibration-chart], [data-test=no-calibration]')).toBeVisible()
  await shot(page, 'models')

  // Promote: asked first; cancelling changes nothing, confirming swaps.
  await page.locator('[data-test=promote]').click()
  const dialog = page.locator('.el-message-box')
  await expect(dialog).toContainText(`v${trained}`)
  await dialog.getByRole('button', { name: '取消' }).click()
  await expect(page.locator('[data-test=champion]')).not.toHaveText(`v${trained}`)
  await page.locator('[data-test=promote]').click()
  await dialog.getByRole('button', { name: '提升为冠军' }).click()
  await expect(page.locator('[data-test=answer]')).toContainText(`v${trained} 已成为冠军`)
  await expect(page.locator('[data-test=champion]')).toHaveText(`v${trained}`)
  await expect(page.locator('[data-test=promote]')).toBeDisabled()

  // Back as it was: roll back to the version before the scene (or the share save, on a
  // stack that never saved one), then the share as it was.
  const target = configBefore ?? shareVersion
  await page.locator(`[data-test=share-versions] [data-rollback="${target}"]`).click()
  await page.locator('.el-message-box').getByRole('button', { name: '回滚' }).click()
  await expect(page.locator('[data-test=answer]')).toContainText('已回滚')
  await expect(page.locator('[data-test=champion]')).toHaveText(before.in_service.champion ? `v${before.in_service.champion}` : '规则先验（v0）')
  if (configBefore === undefined) await saveShare(page, String(Number((before.in_service.challenger_share * 100).toFixed(4))))
  const after = (await call(request, 'admin-wu', 'GET', '/v1/models?limit=1')).body.in_service as InService
  expect({ ...after, revision: 0 }).toEqual({ ...before.in_service, revision: 0 })
})

test('marketing reads without the admin buttons; finance reads the arms report', async ({ page }) => {
  await signIn(page, 'mkt-sun')
  await page.goto('models')
  await expect(page.locator('[data-test=versions]')).toBeVisible()
  await expect(page.locator('[data-test=share-versions]')).toBeVisible()
  for (const admin of ['save-share', 'train', 'promote']) await expect(page.locator(`[data-test=${admin}]`)).toHaveCount(0)
  await expect(page.locator('[data-rollback]')).toHaveCount(0)

  await page.evaluate(() => sessionStorage.clear())
  await signIn(page, 'fin-zhou')
  await page.goto('models')
  await expect(page.locator('[data-test=arm-rows] [data-arm=champion]')).toBeVisible()
  await expect(page.locator('[data-test=champion]')).toBeVisible()
  await expect(page.locator('[data-test=versions]')).toHaveCount(0)
  await expect(page.locator('[data-test=share-versions]')).toHaveCount(0)
})
