// One timeline of a lead: touches, follow-ups, owner changes, repeats and its SLA
// clocks' reminders, breaches and completions, newest first.
import type { Clock, TimelineSource } from './types'

export interface Entry {
  at: string
  kind: 'touch' | 'follow_up' | 'owner' | 'repeat' | 'sla'
  what: string
  detail?: string
}

export function timeline(view: TimelineSource, clocks: Clock[], now: Date): Entry[] {
  const entries: Entry[] = [
    ...view.touchpoints.map((t) => ({ at: t.occurred_at, kind: 'touch' as const, what: t.kind, detail: t.source?.channel })),
    ...view.follow_ups.map((f) => ({ at: f.at, kind: 'follow_up' as const, what: f.kind, detail: f.note })),
    ...view.owner_changes.map((o) => ({
      at: o.at,
      kind: 'owner' as const,
      what: o.how,
      detail: [o.from, o.to].filter(Boolean).join(' → ') || undefined,
    })),
    ...view.repeats.map((r) => ({ at: r.created_at, kind: 'repeat' as const, what: 'repeat', detail: r.channel })),
  ]
  // The sweep reminds at `remind_at` and records a breach at `due_at`.
  for (const clock of clocks) {
    const passed = (at?: string) => !!at && Date.parse(at) <= now.getTime()
    if (clock.status !== 'satisfied' && passed(clock.remind_at)) {
      entries.push({ at: clock.remind_at!, kind: 'sla', what: 'reminded', detail: clock.clock })
    }
    if (clock.status === 'breached' && clock.due_at) {
      entries.push({ at: clock.due_at, kind: 'sla', what: 'breached', detail: clock.clock })
    }
  }
  return entries.sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
}
