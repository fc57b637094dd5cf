// What the console reads at start from /console/config.json, written by whoever serves
// it: the local demo server (dev sign-in) or the deploy script (the stack's OIDC issuer).
export interface OidcSettings {
  mode: 'oidc'
  authority: string
  client_id: string
  scope?: string
  redirect_uri: string
  post_logout_redirect_uri: string
  /** The provider's logout page, when it is not in its discovery document (Cognito). */
  logout_endpoint?: string
  /** The access-token claim listing the user's roles. */
  roles_claim?: string
}

export interface ConsoleConfig {
  /** The API's base URL; empty: the same origin (/v1/ beside /console/). */
  api: string
  auth: { mode: 'dev' } | OidcSettings
}

let loaded: ConsoleConfig | null = null

export async function loadConfig(): Promise<ConsoleConfig> {
  if (!loaded) {
    const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: 'no-cache' })
    if (!response.ok) throw new Error(`config.json: ${response.status}`)
    loaded = (await response.json()) as ConsoleConfig
  }
  return loaded
}

export function config(): ConsoleConfig {
  if (!loaded) throw new Error('config not loaded')
  return loaded
}
