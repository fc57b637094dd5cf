import { describe, expect, it } from 'vitest'
import { money, statusOf, totals, type ConversionItem } from '../src/conversions'

const item = (id: string, cents: number, currency = 'CNY', cancelled = false, settled = true): ConversionItem => ({
  conversion: {
    external_id: id, revision: 1, lead_id: 'L1', kind: 'order', amount_cents: cents, currency,
    occurred_at: '2026-12-05T02:00:00Z', cancelled, recorded_at: '2026-12-05T02:00:01Z', recorded_by: 'fin-zhou',
  },
  applied_revision: settled ? 1 : 0,
  settled,
})

describe('a conversion row', () => {
  it('is crediting until its revision is applied, then settled', () => {
    expect(statusOf(item('A', 100, 'CNY', false, false))).toEqual({ status: 'crediting', pending: true })
    expect(statusOf(item('A', 100))).toEqual({ status: 'settled', pending: false })
  })
  it('is cancelled while its credit is withdrawn and after', () => {
    expect(statusOf(item('A', 100, 'CNY', true, false))).toEqual({ status: 'cancelled', pending: true })
    expect(statusOf(item('A', 100, 'CNY', true, true))).toEqual({ status: 'cancelled', pending: false })
  })
  it('shows its amount in its currency with two decimals', () => {
    expect(money(300_000, 'CNY', 'zh-CN')).toBe('¥3,000.00')
    expect(money(5, 'USD', 'en')).toBe('$0.05')
    expect(money(-1250, 'USD', 'en')).toBe('-$12.50')
    expect(money(1234, 'X1', 'en')).toBe('12.34 X1')
  })
})

describe('the totals', () => {
  it('count and sum per currency what is not cancelled', () => {
    const list = [item('A', 300_000), item('B', 10), item('C', 99_999, 'CNY', true), item('D', 2_50, 'USD'), item('E', 1, 'CNY', false, false)]
    expect(totals(list)).toEqual({ count: 4, cancelled: 1, sums: [{ currency: 'CNY', cents: 300_011 }, { currency: 'USD', cents: 250 }] })
  })
  it('are nothing for an empty list', () => {
    expect(totals([])).toEqual({ count: 0, cancelled: 0, sums: [] })
  })
})
