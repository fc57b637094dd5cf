// The API as the console calls it: bearer token, JSON in and out, and errors kept whole
// (the status, and each field the API named with its reason) so a form can show them
// next to the fields. A 401 ends the session and sends the user to sign in again.
import { config } from './config'
import { expire, session } from './auth'

export interface FieldError {
  field: string
  reason: string
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly fields: FieldError[],
  ) {
    super(fields.length ? `${error}: ${fields.map((f) => `${f.field} ${f.reason}`).join('; ')}` : error)
  }

  /** Field → reason, for forms (a nested field keeps its full path). */
  byField(): Record<string, string> {
    return Object.fromEntries(this.fields.map((f) => [f.field, f.reason]))
  }
}

/** What to tell the user about a failed call: the API's words, or the error's. */
export function errorText(e: unknown): string {
  return e instanceof ApiError ? e.message : String(e)
}

export type Query = Record<string, string | number | undefined | null>

export function withQuery(path: string, query?: Query): string {
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value))
  }
  const text = params.toString()
  return text ? `${path}?${text}` : path
}

/** A body sent as it is (a file), with its content type. */
export interface Raw {
  bytes: BodyInit
  contentType: string
}

/** The response itself, for downloads: errors are thrown as for JSON calls. */
export async function fetchApi(method: string, path: string, body?: unknown | Raw, query?: Query, accept = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = { accept }
  if (session.current) headers.authorization = `Bearer ${session.current.token}`
  const raw = body !== null && typeof body === 'object' && 'bytes' in (body as Raw) ? (body as Raw) : null
  if (raw) headers['content-type'] = raw.contentType
  else if (body !== undefined) headers['content-type'] = 'application/json'
  let response: Response
  try {
    response = await fetch(`${config().api}${withQuery(path, query)}`, {
      method,
      headers,
      body: raw ? raw.bytes : body === undefined ? undefined : JSON.stringify(body),
    })
  } catch {
    throw new ApiError(0, 'network', [])
  }
  if (response.status === 401) {
    expire()
    window.location.assign(`${import.meta.env.BASE_URL}signin`)
    throw new ApiError(401, 'signed out', [])
  }
  if (!response.ok && accept !== 'application/json') {
    const problem = (safeJson(await response.text()) ?? {}) as { error?: string; fields?: FieldError[] }
    throw new ApiError(response.status, problem.error ?? response.statusText, problem.fields ?? [])
  }
  return response
}

export async function api<T>(method: string, path: string, body?: unknown | Raw, query?: Query): Promise<T> {
  const response = await fetchApi(method, path, body, query)
  const text = await response.text()
  const parsed = text ? safeJson(text) : null
  if (!response.ok) {
    const problem = (parsed ?? {}) as { error?: string; message?: string; fields?: FieldError[] }
    throw new ApiError(response.status, problem.error ?? problem.message ?? response.statusText, problem.fields ?? [])
  }
  return parsed as T
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return { error: text }
  }
}

export const get = <T>(path: string, query?: Query) => api<T>('GET', path, undefined, query)
export const post = <T>(path: string, body: unknown) => api<T>('POST', path, body)
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, body)
