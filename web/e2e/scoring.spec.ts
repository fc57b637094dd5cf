// An admin tunes the scoring rules: tries a change on a sample lead before anyone is
// scored by it, is stopped at the field by a rule without a reason, saves, and rolls
// the change back.
import { expect, test } from '@playwright/test'
import { call, shot, signIn } from './support'

test('an admin edits a fit rule, tries it on a sample lead, saves and rolls it back', async ({ page, request }) => {
  let before = (await call(request, 'admin-wu', 'GET', '/v1/config/rules')).body
  if (before.version === 0) {
    // The built-in defaults are no saved version; save them once so there is one to return to.
    before = (await call(request, 'admin-wu', 'PUT', '/v1/config/rules', before)).body
  }
  const industry = before.scoring.fit_rules[2]
  expect(industry.when.kind, 'the seed keeps the default target-industry rule third').toBe('industry_in')

  await signIn(page, 'admin-wu')
  await page.goto('scoring')
  const rule = page.locator('[data-fit-rule="2"]')
  // Element Plus puts a text input's attributes on the <input> itself.
  const reason = rule.locator('input[data-test="reason"]')
  await expect(rule.locator('[data-test="points"] input')).toHaveValue(String(industry.points))

  // The default sample: a marketing director at a 500-999 people software firm who
  // submitted a form today and downloaded a whitepaper three days ago.
  // Fit: 500+ people 30, target industry 15 (a director is below VP; one whitepaper is
  // not two) = 45, grade C. Engagement: 20 + 10 × 0.5^(3/30) = 29, level 4.
  await page.locator('[data-test="try"]').click()
  await expect(page.locator('[data-test="trial-cell"]')).toHaveText('C4')
  await expect(page.locator('[data-test="trial-fit"]')).toHaveText('45')
  await expect(page.locator('[data-test="trial-engagement"]')).toHaveText('29')
  await expect(page.locator('[data-test="trial-lines"]')).toContainText(`+${industry.points} ${industry.reason}`)
  // An event's line in the page's language, from its kind: the form submitted today.
  await expect(page.locator('[data-test="trial-lines"]')).toContainText('+20 提交表单')
  await expect(page.locator('[data-cell="C4"]')).toHaveClass(/here/)

  // The target industry is worth 40 now: the same sample moves to B4 before anything is saved.
  await rule.locator('[data-test="points"] input').fill('40')
  await rule.locator('[data-test="points"] input').press('Tab')
  await expect(page.locator('[data-test="dirty"]')).toBeVisible()
  await page.locator('[data-test="try"]').click()
  await expect(page.locator('[data-test="trial-cell"]')).toHaveText('B4')
  await expect(page.locator('[data-test="trial-fit"]')).toHaveText('70')
  await expect(page.locator('[data-test="trial-lines"]')).toContainText(`+40 ${industry.reason}`)
  expect((await call(request, 'admin-wu', 'GET', '/v1/config/rules')).body.version, 'trying saves nothing').toBe(before.version)

  // A rule without a reason is refused at the rule; what was typed stays.
  await reason.fill('')
  await page.locator('[data-test="save-scoring"]').click()
  await expect(rule.locator('.el-form-item__error')).toBeVisible()
  await expect(rule.locator('[data-test="points"] input')).toHaveValue('40')
  await reason.fill('核心目标行业')
  await page.locator('[data-test="save-scoring"]').click()
  await expect(page.locator('.el-message--success')).toBeVisible()
  await expect(page.locator('[data-test="dirty"]')).toHaveCount(0)
  const saved = (await call(request, 'admin-wu', 'GET', '/v1/config/rules')).body
  expect(saved.version).toBe(before.version + 1)
  expect(saved.scoring.fit_rules[2]).toMatchObject({ points: 40, reason: '核心目标行业' })
  await page.locator('[data-test="try"]').click()
  await expect(page.locator('[data-test="trial-lines"]')).toContainText('+40 核心目标行业')
  await expect(page.locator('.el-message')).toHaveCount(0, { timeout: 15_000 })
  await shot(page, 'scoring')

  // Roll back to the version before: a new version with the old rule.
  await page.locator(`[data-rollback="${before.version}"]`).click()
  await page.locator('.el-message-box__btns .el-button--primary').click()
  await expect(page.locator('.el-message--success').last()).toBeVisible()
  await expect(rule.locator('[data-test="points"] input')).toHaveValue(String(industry.points))
  const restored = (await call(request, 'admin-wu', 'GET', '/v1/config/rules')).body
  expect(restored.version).toBe(before.version + 2)
  expect(restored.scoring.fit_rules[2]).toEqual(industry)
})
