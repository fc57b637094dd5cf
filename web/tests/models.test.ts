import { describe, expect, it } from 'vitest'
import { armsSeries, calibrationSeries, percentText, roleOf, shareFromPercent } from '../src/models'
import zh from '../src/i18n/zh-CN'
import en from '../src/i18n/en'
import { createI18n } from 'vue-i18n'
import { REP_INVALID_REASONS, reasonLabel } from '../src/reasons'

describe('the challenger share', () => {
  it('is typed as a percentage and sent as a fraction', () => {
    expect(shareFromPercent('90')).toBe(0.9)
    expect(shareFromPercent(' 12.5 % ')).toBe(0.125)
    expect(shareFromPercent('33,3')).toBe(0.333)
    expect(percentText(0.9)).toBe('90')
    expect(percentText(0.125)).toBe('12.5')
  })
  it('is not clamped, so the API names an out-of-range value', () => {
    expect(shareFromPercent('150')).toBe(1.5)
    expect(shareFromPercent('-5')).toBe(-0.05)
  })
  it('is nothing when it is not a number', () => {
    expect(shareFromPercent('')).toBeNull()
    expect(shareFromPercent('ninety')).toBeNull()
  })
})

describe('models in service', () => {
  const inService = { champion: 2, challenger: 3, challenger_share: 0.9, revision: 4 }
  it('marks the champion and the challenger', () => {
    expect(roleOf(2, inService)).toBe('champion')
    expect(roleOf(3, inService)).toBe('challenger')
    expect(roleOf(1, inService)).toBeNull()
    expect(roleOf(1, null)).toBeNull()
  })
  it('charts calibration and the arms in percent', () => {
    const deciles = [
      { predicted_mean: 0.05, observed_rate: 0.04, count: 10 },
      { predicted_mean: 0.3, observed_rate: 0.35, count: 10 },
    ]
    expect(calibrationSeries(deciles)).toEqual({ labels: ['1', '2'], observed: [4, 35], predicted: [5, 30], counts: [10, 10] })
    expect(armsSeries(deciles, deciles.slice(0, 1))).toEqual({ labels: ['1', '2'], champion: [4, 35], challenger: [4, null] })
  })
})

describe('the console strings', () => {
  const keys = (o: object, prefix = ''): string[] =>
    Object.entries(o).flatMap(([k, v]) => (typeof v === 'object' && v ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]))
  it('has every key in both languages', () => {
    expect(keys(en).sort()).toEqual(keys(zh).sort())
  })
})

describe('invalid reasons', () => {
  const i18n = (locale: 'en' | 'zh-CN') => createI18n({ legacy: false, locale, messages: { en, 'zh-CN': zh } }).global
  it("are put in words, a rep's and the system's, and an unknown code is shown as it is", () => {
    expect(reasonLabel('wrong_contact', i18n('en'))).toBe('Wrong contact')
    expect(reasonLabel('import_invalid', i18n('en'))).toBe('Invalid import row')
    // Every reason a rep is offered has words in both languages.
    for (const lang of ['en', 'zh-CN'] as const) {
      for (const code of REP_INVALID_REASONS) expect(reasonLabel(code, i18n(lang))).not.toBe(code)
    }
    expect(reasonLabel('import_invalid', i18n('zh-CN'))).toBe('导入行无效')
    expect(reasonLabel('sequential_phone', i18n('en'))).toBe('sequential_phone')
  })
})
