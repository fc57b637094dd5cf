// What the browser tests share: the demo users' tokens (from the dev sign-in), API calls
// to set a scene up, signing in through the page, and screenshots under target/e2e/.
import { expect, type APIRequestContext, type Page } from '@playwright/test'
import path from 'node:path'

export const SCREENS = path.resolve(import.meta.dirname, '../../target/e2e/screens')

const tokens = new Map<string, string>()

export async function tokenFor(request: APIRequestContext, user: string): Promise<string> {
  if (!tokens.has(user)) {
    const answer = await request.post('dev/token', { data: { user } })
    expect(answer.ok(), await answer.text()).toBeTruthy()
    tokens.set(user, ((await answer.json()) as { access_token: string }).access_token)
  }
  return tokens.get(user)!
}

/** Calls the API (same origin, /v1/) as a demo user. */
export async function call(request: APIRequestContext, user: string, method: string, url: string, data?: unknown) {
  const response = await request.fetch(new URL(url, request_origin()).toString(), {
    method,
    data,
    headers: { authorization: `Bearer ${await tokenFor(request, user)}` },
  })
  const text = await response.text()
  return { status: response.status(), body: text ? JSON.parse(text) : null }
}

function request_origin(): string {
  return new URL(process.env.LEADFLOW_CONSOLE_URL ?? `http://127.0.0.1:${process.env.LEADFLOW_DEMO_PORT ?? 8080}/console/`).origin
}

/** A fresh mainland mobile number per call, so every scenario has its own person. */
export function phone(): string {
  const tail = String(Date.now() % 1e8).padStart(8, '0')
  return `137${tail}`
}

/**
 * Posts a lead as a landing page would and waits until the pipeline is done with it: decided
 * and, unless it is invalid or a repeat, routed (in a pool, or owned). A scene that acts on
 * the lead next then never races the router.
 */
export async function newLead(request: APIRequestContext, fields: Record<string, string>): Promise<string> {
  const posted = await request.post(new URL('/v1/leads', request_origin()).toString(), { data: { consent: true, ...fields } })
  expect(posted.status(), await posted.text()).toBe(202)
  const id = ((await posted.json()) as { lead_id: string }).lead_id
  await expect
    .poll(async () => settled((await call(request, 'admin-wu', 'GET', `/v1/leads/${id}`)).body?.lead), { timeout: 60_000 })
    .toBe(true)
  return id
}

function settled(lead: { stage?: string; pool?: string | null; owner?: string | null } | undefined): boolean {
  if (!lead || lead.stage === 'received') return false
  return lead.stage === 'invalid' || lead.stage === 'merged' || lead.pool != null || lead.owner != null
}

/** A manager hands a routed lead to a rep: assigned if it waits unowned, else transferred. */
export async function handTo(request: APIRequestContext, id: string, rep: string) {
  const owner = (await call(request, 'admin-wu', 'GET', `/v1/leads/${id}`)).body.lead.owner
  if (owner === rep) return
  const action = owner ? 'transfer' : 'assign'
  const handed = await call(request, 'ops-lin', 'POST', `/v1/leads/${id}/actions`, { action, to: rep })
  expect(handed.status, JSON.stringify(handed.body)).toBe(200)
}

export async function signIn(page: Page, user: string) {
  await page.goto('signin')
  await page.locator(`[data-user="${user}"]`).click()
  await expect(page).not.toHaveURL(/signin/)
}

/** A screenshot of the whole page, named for the docs (target/e2e/screens/NAME.png). */
export async function shot(page: Page, name: string) {
  await page.waitForLoadState('networkidle')
  await page.screenshot({ path: path.join(SCREENS, `${name}.png`), fullPage: true, animations: 'disabled' })
}
