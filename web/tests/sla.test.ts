import { describe, expect, it } from 'vitest'
import { badge, overdueShare, span } from '../src/sla'
import { timeline } from '../src/timeline'

const now = new Date('2026-12-07T02:00:00Z')

describe('SLA badge', () => {
  it('is red past the deadline, amber within four hours, quiet before', () => {
    expect(badge('2026-12-07T01:00:00Z', false, now)).toEqual({ kind: 'overdue', minutes: -60 })
    expect(badge('2026-12-07T05:59:00Z', false, now).kind).toBe('soon')
    expect(badge('2026-12-07T06:01:00Z', false, now).kind).toBe('ok')
    expect(badge(null, false, now).kind).toBe('none')
  })
  it('trusts the server when it says overdue', () => {
    expect(badge('2026-12-07T08:00:00Z', true, now).kind).toBe('overdue')
  })
  it('writes spans for a glance', () => {
    expect(span(12)).toBe('12m')
    expect(span(-185)).toBe('3h 5m')
    expect(span(60 * 51)).toBe('2d 3h')
  })
  it('counts the overdue share per stage', () => {
    const share = overdueShare([
      { stage: 'aql', overdue: true },
      { stage: 'aql', overdue: false },
      { stage: 'mql', overdue: false },
    ])
    expect(share).toEqual({ aql: { count: 2, overdue: 1 }, mql: { count: 1, overdue: 0 } })
  })
})

describe('timeline', () => {
  it('merges every kind of entry, newest first, with passed reminders and breaches', () => {
    const entries = timeline(
      {
        touchpoints: [{ id: 't', kind: 'form_submit', occurred_at: '2026-12-05T01:00:00Z' }],
        follow_ups: [{ kind: 'call', at: '2026-12-06T01:00:00Z', note: 'budget' }],
        owner_changes: [{ id: 'o', at: '2026-12-05T02:00:00Z', how: 'auto_assigned', to: 'bj-li' }],
        repeats: [{ lead_id: 'r', created_at: '2026-12-05T03:00:00Z', channel: 'web_form' }],
      },
      [
        { clock: 'first_contact', status: 'breached', started_at: '2026-12-05T02:00:00Z', remind_at: '2026-12-05T04:00:00Z', due_at: '2026-12-05T06:00:00Z' },
        { clock: 'untouched', status: 'running', started_at: '2026-12-05T02:00:00Z', remind_at: '2026-12-09T00:00:00Z', due_at: '2026-12-10T00:00:00Z' },
      ],
      now,
    )
    expect(entries.map((e) => `${e.kind}:${e.what}`)).toEqual([
      'follow_up:call',
      'sla:breached',
      'sla:reminded',
      'repeat:repeat',
      'owner:auto_assigned',
      'touch:form_submit',
    ])
  })
})

import { funnel, previous, percent } from '../src/period'

describe('marketing periods and funnel', () => {
  it('the period before has the same length and ends the day before', () => {
    expect(previous('2026-11-06', '2026-12-05')).toEqual(['2026-10-07', '2026-11-05'])
  })
  it('sums stages over rows with each conversion from the stage before', () => {
    const f = funnel([
      { leads: 10, mql: 4, sql: 3, opportunities: 1, orders: 1, payments: 0 },
      { leads: 10, mql: 4, sql: 3, opportunities: 1, orders: 0, payments: 0 },
    ])
    expect(f.map((s) => s.count)).toEqual([20, 8, 6, 2, 1, 0])
    expect(f[1]!.rate).toBeCloseTo(0.4)
    expect(f[0]!.rate).toBeNull()
    expect(percent('0.4200')).toBe('42.0 %')
    expect(percent(null)).toBe('—')
  })
})
