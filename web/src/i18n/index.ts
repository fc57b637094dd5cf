// zh-CN first (the people the rules are written for), English beside it; the choice is
// kept in the browser.
import { createI18n } from 'vue-i18n'
import zhCN from './zh-CN'
import en from './en'

export type Locale = 'zh-CN' | 'en'
const KEY = 'leadflow.locale'

export function initialLocale(): Locale {
  const asked = new URLSearchParams(window.location.search).get('lang') ?? localStorage.getItem(KEY)
  return asked === 'en' ? 'en' : 'zh-CN'
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
})

export function setLocale(locale: Locale) {
  i18n.global.locale.value = locale
  localStorage.setItem(KEY, locale)
  document.documentElement.lang = locale
}
