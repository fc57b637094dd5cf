// The conversions list on the finance screen: what a row's status is, amounts in their
// currency, and the totals of what still counts (cancelled conversions are listed, for
// reconciling, but credit nothing).

export interface Conversion {
  external_id: string
  revision: number
  lead_id: string
  kind: 'opportunity' | 'order' | 'payment'
  amount_cents: number
  currency: string
  occurred_at: string
  cancelled: boolean
  recorded_at: string
  recorded_by: string
}

/** One row of `GET /v1/conversions`: the current revision and how far its credit is applied. */
export interface ConversionItem {
  conversion: Conversion
  applied_revision: number
  settled: boolean
}

export interface ConversionList {
  from: string
  to: string
  conversions: ConversionItem[]
}

/**
 * Cancelled whatever its credit's state (a cancellation still being withdrawn says so in
 * `pending`); otherwise settled once the current revision is credited, crediting before.
 */
export function statusOf(item: ConversionItem): { status: 'settled' | 'crediting' | 'cancelled'; pending: boolean } {
  if (item.conversion.cancelled) return { status: 'cancelled', pending: !item.settled }
  return { status: item.settled ? 'settled' : 'crediting', pending: !item.settled }
}

/** Integer cents as money in its currency, two decimals ("¥3,000.00", "CN¥3,000.00"). */
export function money(cents: number, currency: string, locale?: string): string {
  const amount = cents / 100
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(amount)
  } catch {
    // A code Intl does not take: the number and the code as sent.
    return `${new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(amount)} ${currency}`
  }
}

/** How many still count, their sums per currency (in cents, summed exactly), and how many are cancelled. */
export function totals(items: ConversionItem[]): { count: number; cancelled: number; sums: { currency: string; cents: number }[] } {
  const sums = new Map<string, number>()
  let count = 0
  let cancelled = 0
  for (const { conversion: c } of items) {
    if (c.cancelled) {
      cancelled += 1
      continue
    }
    count += 1
    sums.set(c.currency, (sums.get(c.currency) ?? 0) + c.amount_cents)
  }
  return { count, cancelled, sums: [...sums.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([currency, cents]) => ({ currency, cents })) }
}
