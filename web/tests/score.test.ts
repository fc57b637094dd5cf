import { describe, expect, it } from 'vitest'
import { explanation, lineText } from '../src/score'
import type { Score } from '../src/types'

const zh = (kind: string) => ({ form_submit: '提交表单', whitepaper_download: '下载白皮书' })[kind] ?? kind

describe('score explanation', () => {
  it('says an event line in the reader language, with its count', () => {
    expect(lineText({ points: 40, event: 'form_submit', count: 2 }, zh)).toBe('+40 提交表单 (2×)')
    expect(lineText({ points: 10, event: 'whitepaper_download' }, zh)).toBe('+10 下载白皮书')
  })
  it('keeps a fit rule in its author words, and an old line as stored', () => {
    expect(lineText({ points: -10, reason: '公司少于 50 人' }, zh)).toBe('-10 公司少于 50 人')
    expect(lineText({ points: 0, reason: 'form submitted' }, zh)).toBe('+0 form submitted')
  })
  it('lists fit lines first', () => {
    const score = {
      fit_lines: [{ points: 30, reason: '500 人以上' }],
      engagement_lines: [{ points: 20, event: 'form_submit' }],
    } as Score
    expect(explanation(score, zh)).toEqual(['+30 500 人以上', '+20 提交表单'])
  })
})
