// How long "My leads" takes to show its first page in Chromium against the local stack,
// as the people who use it see it: from navigation to the first row drawn, for a rep's
// default view (mine) and a manager's (all leads). Run on a stack holding the leads to
// measure with (BENCHMARKS.md §11):
//   LEADFLOW_CONSOLE_BENCH=1 npx playwright test perf   (in web/, beside `make dev`)
// Every time is the page's own clock when the rows are there, looked for on every frame
// (`drawnAt`): `expect(...).toBeVisible()` looks again only after 100, 250, 500 and
// 1,000 ms, which added up to 0.7 s to a figure.
import { test, type Page } from '@playwright/test'
import { handTo, newLead, phone, signIn } from './support'

test.skip(!process.env.LEADFLOW_CONSOLE_BENCH, 'a benchmark: LEADFLOW_CONSOLE_BENCH=1 runs it')

test.describe('first page of my leads', () => {
  // The rep's own leads: a working week's worth, beside the history already in the table.
  test.beforeAll(async ({ request }) => {
    test.setTimeout(300_000)
    for (let i = 0; i < 12; i += 1) {
      const id = await newLead(request, { name: `基准${i}`, phone: phone(), company: `北京基准${i}科技有限公司`, province: '北京' })
      await handTo(request, id, 'bj-zhang')
    }
})

for (const [user, view] of [
  ['bj-zhang', 'mine'],
  ['ops-lin', 'all'],
] as const) {
  test(`first page of my leads: ${user}, ${view}`, async ({ page }) => {
    await signIn(page, user)
    const times: number[] = []
    for (let run = 0; run < 7; run += 1) {
      await page.goto(`leads?run=${run}`)
      times.push(await drawnAt(page, ['[data-test=leads] .el-table__row']))
    }
    console.log(JSON.stringify({ user, view, ...summary(times), rows: await page.locator('[data-test=leads] .el-table__row').count() }))
  })
}
})

// The marketing dashboard over the history `cargo run -q -p local-stack -- rollups`
// seeds (500 campaigns, every day of 2025, with their month rows): from navigation until
// the funnel's group table and the costs are drawn, for a month, a quarter and the year
// (three loads each).
test('the marketing dashboard over a year of daily rollups', async ({ page }) => {
  test.setTimeout(3_600_000)
  await signIn(page, 'mkt-sun')
  for (const [span, to, runs] of [
    ['month', '2025-01-31', 3],
    ['quarter', '2025-03-31', 3],
    ['year', '2025-12-31', 3],
  ] as const) {
    const times: number[] = []
    for (let run = 0; run < runs; run += 1) {
      await page.goto(`marketing?from=2025-01-01&to=${to}&period=month&group_by=channel&run=${run}`)
      times.push(await drawnAt(page, ['[data-test=by-group] .el-table__row', '[data-test=costs] .el-table__row']))
    }
    console.log(JSON.stringify({ span, ...summary(times) }))
  }
})

/** Milliseconds from the start of the page's navigation until every selector finds an
 * element, checked on every animation frame. */
async function drawnAt(page: Page, selectors: string[]): Promise<number> {
  const at = await page.waitForFunction(
    (all) => all.every((s) => document.querySelector(s)) && performance.now(),
    selectors,
    { polling: 'raf', timeout: 1_800_000 },
  )
  return Math.round((await at.jsonValue()) as number)
}

/** The runs, their median and their slowest, as BENCHMARKS.md reports them. */
function summary(times: number[]) {
  const sorted = [...times].sort((a, b) => a - b)
  return { runs: sorted.length, median_ms: sorted[Math.floor(sorted.length / 2)], max_ms: sorted[sorted.length - 1] }
}
