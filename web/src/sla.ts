// The SLA badge a lead row shows: red once a running clock is past its deadline, amber
// when it is due within the warning window, quiet otherwise; with a countdown.
export type BadgeKind = 'overdue' | 'soon' | 'ok' | 'none'

export interface Badge {
  kind: BadgeKind
  /** Minutes until the deadline (negative: overdue by that much). */
  minutes: number | null
}

/** Amber from four working hours before the deadline. */
export const SOON_MINUTES = 4 * 60

export function badge(dueAt: string | null, overdue: boolean, now: Date): Badge {
  if (!dueAt) return { kind: overdue ? 'overdue' : 'none', minutes: null }
  const minutes = Math.round((Date.parse(dueAt) - now.getTime()) / 60000)
  if (overdue || minutes < 0) return { kind: 'overdue', minutes }
  return { kind: minutes <= SOON_MINUTES ? 'soon' : 'ok', minutes }
}

/** "2d 3h", "3h 5m", "12m": a span to read at a glance. */
export function span(minutes: number): string {
  const m = Math.abs(minutes)
  const days = Math.floor(m / 1440)
  const hours = Math.floor((m % 1440) / 60)
  const rest = m % 60
  if (days > 0) return `${days}d ${hours}h`
  if (hours > 0) return `${hours}h ${rest}m`
  return `${rest}m`
}

/** Of a page of rows, the share overdue per stage (the kanban's column headers). */
export function overdueShare<T extends { stage: string; overdue: boolean }>(rows: T[]): Record<string, { count: number; overdue: number }> {
  const out: Record<string, { count: number; overdue: number }> = {}
  for (const row of rows) {
    const column = (out[row.stage] ??= { count: 0, overdue: 0 })
    column.count += 1
    if (row.overdue) column.overdue += 1
  }
  return out
}
