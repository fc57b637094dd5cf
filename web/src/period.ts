// Dates for the marketing and finance screens: business days in Beijing time, the
// default period (the last 30 days), and the same length just before it.
export function day(date: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(date)
}

export function lastDays(n: number, now = new Date()): [string, string] {
  const from = new Date(now.getTime() - (n - 1) * 86_400_000)
  return [day(from), day(now)]
}

/** The period of the same length that ends the day before `from`. */
export function previous(from: string, to: string): [string, string] {
  const start = Date.parse(`${from}T00:00:00Z`)
  const end = Date.parse(`${to}T00:00:00Z`)
  const length = end - start
  const before = start - 86_400_000
  return [new Date(before - length).toISOString().slice(0, 10), new Date(before).toISOString().slice(0, 10)]
}

/** A decimal string ("0.4200") as a percentage ("42.0 %"); blank when there is none. */
export function percent(ratio: string | number | null | undefined): string {
  if (ratio === null || ratio === undefined || ratio === '') return '—'
  return `${(Number(ratio) * 100).toFixed(1)} %`
}

/** Sums of a funnel's stages over its rows, and each stage's conversion from the last. */
export const STAGES = ['leads', 'mql', 'sql', 'opportunities', 'orders', 'payments'] as const
export type StageKey = (typeof STAGES)[number]

export function funnel(rows: Record<string, unknown>[]): { stage: StageKey; count: number; rate: number | null }[] {
  return STAGES.map((stage, i) => {
    const count = rows.reduce((sum, row) => sum + Number(row[stage] ?? 0), 0)
    const before = i === 0 ? null : rows.reduce((sum, row) => sum + Number(row[STAGES[i - 1]!] ?? 0), 0)
    return { stage, count, rate: before ? count / before : null }
  })
}
