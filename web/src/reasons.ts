// An invalid reason's code in words. Reps choose from lead.invalidReasons; the system
// sets lead.systemReasons (junk, blacklists, bad import rows). A code neither list knows
// (a newer server, a custom rule) is shown as it is rather than hidden.

/** The reasons a rep may give for marking a lead invalid, in the order offered (the API's
 * `InvalidCode`; each has a label under lead.invalidReasons). */
export const REP_INVALID_REASONS = ['wrong_contact', 'no_intent', 'unreachable', 'competitor', 'other'] as const

type Lookup = { t: (key: string) => string; te: (key: string) => boolean }

export function reasonLabel(code: string, { t, te }: Lookup): string {
  for (const group of ['lead.invalidReasons', 'lead.systemReasons']) {
    if (te(`${group}.${code}`)) return t(`${group}.${code}`)
  }
  return code
}
