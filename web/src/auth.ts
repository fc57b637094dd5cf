// Who is signed in, and how: the dev sign-in locally (tokens minted by the demo server
// for the seeded users), or any OIDC provider's authorization-code flow with PKCE
// (oidc-client-ts) in the cloud. Either way the API gets the access token as a bearer
// token and the console reads the user's id and roles from its claims.
import { reactive } from 'vue'
import type { UserManager } from 'oidc-client-ts'
import { config, type OidcSettings } from './config'

export type Role = 'rep' | 'manager' | 'admin' | 'marketing' | 'finance'

export interface Session {
  token: string
  id: string
  name: string
  roles: Role[]
  expiresAt: number
}

const KEY = 'leadflow.session'

export const session = reactive<{ current: Session | null }>({ current: read() })

function read(): Session | null {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null
    return stored && stored.expiresAt > Date.now() ? stored : null
  } catch {
    return null
  }
}

function keep(next: Session | null) {
  session.current = next
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next))
  else sessionStorage.removeItem(KEY)
}

/** The payload of a JWT (not verified: the API verifies it; this is for display). */
export function claims(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? ''
  const base64 = part.replace(/-/g, '+').replace(/_/g, '/')
  const json = decodeURIComponent(
    Array.from(atob(base64), (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''),
  )
  return JSON.parse(json) as Record<string, unknown>
}

const KNOWN: Role[] = ['rep', 'manager', 'admin', 'marketing', 'finance']

export function rolesIn(payload: Record<string, unknown>, claim = 'roles'): Role[] {
  const value = payload[claim] ?? payload['cognito:groups'] ?? payload['roles']
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[ ,]/) : []
  return list.filter((r): r is Role => KNOWN.includes(r as Role))
}

export function has(...roles: Role[]): boolean {
  return !!session.current && session.current.roles.some((r) => roles.includes(r))
}

export function manages(): boolean {
  return has('manager', 'admin')
}

// ---- dev sign-in (local stack)

export interface DevUser {
  id: string
  name: string
  roles: Role[]
}

export async function devUsers(): Promise<DevUser[]> {
  const response = await fetch(`${import.meta.env.BASE_URL}dev/users`)
  if (!response.ok) throw new Error(`dev users: ${response.status}`)
  return (await response.json()) as DevUser[]
}

export async function devSignIn(user: DevUser): Promise<void> {
  const response = await fetch(`${import.meta.env.BASE_URL}dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user: user.id }),
  })
  if (!response.ok) throw new Error(`dev token: ${response.status}`)
  const answer = (await response.json()) as { access_token: string; expires_in: number }
  keep({
    token: answer.access_token,
    id: user.id,
    name: user.name,
    roles: user.roles,
    expiresAt: Date.now() + answer.expires_in * 1000,
  })
}

// ---- OIDC (deployed)

let manager: UserManager | null = null

/** The OIDC client, loaded only by deployments that sign in through a provider. */
async function oidc(settings: OidcSettings): Promise<UserManager> {
  const { UserManager, WebStorageStateStore } = await import('oidc-client-ts')
  manager ??= new UserManager({
    authority: settings.authority,
    client_id: settings.client_id,
    redirect_uri: settings.redirect_uri,
    post_logout_redirect_uri: settings.post_logout_redirect_uri,
    response_type: 'code',
    scope: settings.scope ?? 'openid email profile',
    userStore: new WebStorageStateStore({ store: sessionStorage }),
  })
  return manager
}

export async function oidcSignIn(returnTo: string): Promise<void> {
  const auth = config().auth
  if (auth.mode !== 'oidc') throw new Error('not an OIDC deployment')
  await (await oidc(auth)).signinRedirect({ state: returnTo })
}

/** Finishes the redirect: the code exchanged (with the PKCE verifier) for tokens. */
export async function oidcCallback(): Promise<string> {
  const auth = config().auth
  if (auth.mode !== 'oidc') throw new Error('not an OIDC deployment')
  const user = await (await oidc(auth)).signinRedirectCallback()
  const payload = claims(user.access_token)
  const profile = user.profile as Record<string, unknown>
  keep({
    token: user.access_token,
    id: String(payload['username'] ?? payload['sub'] ?? ''),
    name: String(profile['name'] ?? profile['email'] ?? payload['username'] ?? ''),
    roles: rolesIn(payload, auth.roles_claim),
    expiresAt: (user.expires_at ?? 0) * 1000,
  })
  return typeof user.state === 'string' ? user.state : '/'
}

export async function signOut(): Promise<void> {
  const auth = config().auth
  keep(null)
  if (auth.mode === 'oidc') {
    await (await oidc(auth)).removeUser()
    if (auth.logout_endpoint) {
      const url = new URL(auth.logout_endpoint)
      url.searchParams.set('client_id', auth.client_id)
      url.searchParams.set('logout_uri', auth.post_logout_redirect_uri)
      window.location.assign(url.toString())
    }
  }
}

export function expire(): void {
  keep(null)
}
