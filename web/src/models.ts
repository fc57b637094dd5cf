// The predictive-model screen's arithmetic: the challenger's share typed as a percentage
// and sent as the fraction the API takes, what a version is in service as, and the
// calibration chart's series (by decile, predicted against observed).
import type { Decile, InService } from './types'

/**
 * The share as typed ("50", "12.5 %") → the fraction for `PUT /v1/config/models`.
 * Not clamped: an out-of-range number goes to the API, which names the field and why.
 * `null` when it is not a number at all.
 */
export function shareFromPercent(typed: string): number | null {
  const text = typed.replace(/[%％\s]/g, '').replace('，', '.').replace(',', '.')
  if (!/^-?\d+(\.\d+)?$/.test(text)) return null
  return Number((Number(text) / 100).toFixed(6))
}

/** A fraction as the percentage the share field shows ("90", "12.5"). */
export function percentText(share: number): string {
  return String(Number((share * 100).toFixed(4)))
}

export type Role = 'champion' | 'challenger' | null

export function roleOf(version: number, inService: InService | null): Role {
  if (!inService) return null
  if (inService.champion === version) return 'champion'
  if (inService.challenger === version) return 'challenger'
  return null
}

/** Ratio → percent with one decimal, for charts (null stays a gap). */
const pct = (ratio: number | null | undefined) => (ratio === null || ratio === undefined ? null : Number((ratio * 100).toFixed(1)))

/** The calibration chart by decile: observed rate (bars) and predicted mean (the line a calibrated model's bars reach). */
export function calibrationSeries(deciles: Decile[]) {
  return {
    labels: deciles.map((_, i) => String(i + 1)),
    observed: deciles.map((d) => pct(d.observed_rate)),
    predicted: deciles.map((d) => pct(d.predicted_mean)),
    counts: deciles.map((d) => d.count),
  }
}

/** Conversion by score decile for both arms, on the longer arm's deciles. */
export function armsSeries(champion: Decile[], challenger: Decile[]) {
  const n = Math.max(champion.length, challenger.length)
  return {
    labels: Array.from({ length: n }, (_, i) => String(i + 1)),
    champion: Array.from({ length: n }, (_, i) => pct(champion[i]?.observed_rate)),
    challenger: Array.from({ length: n }, (_, i) => pct(challenger[i]?.observed_rate)),
  }
}
