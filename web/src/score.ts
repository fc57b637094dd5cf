// A score's explanation lines in the reader's language. An event kind's line is said
// from its kind and count (`scoring.kinds`); a fit rule's line keeps the words its author
// wrote. Lines stored before event lines carried their kind have English words only.
import type { Score, ScoreLine } from './types'

/** "+40 提交表单 (2×)", "-10 company smaller than 50 people". */
export function lineText(line: ScoreLine, kindName: (kind: string) => string): string {
  const points = line.points >= 0 ? `+${line.points}` : String(line.points)
  const what = line.event ? `${kindName(line.event)}${line.count ? ` (${line.count}×)` : ''}` : (line.reason ?? '')
  return `${points} ${what}`
}

/** Every line of `score`, fit first, as the server orders them; they sum to the score. */
export function explanation(score: Score, kindName: (kind: string) => string): string[] {
  return [...score.fit_lines, ...score.engagement_lines].map((line) => lineText(line, kindName))
}
