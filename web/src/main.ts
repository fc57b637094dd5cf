// Starts the console: its configuration first (where the API is, how to sign in), then
// the app with its router, languages and component library.
import { createApp } from 'vue'
import ElementPlus from 'element-plus'
import 'element-plus/dist/index.css'
import App from './App.vue'
import { router } from './router'
import { i18n } from './i18n'
import { loadConfig } from './config'
import './style.css'

loadConfig()
  .then(() => {
    createApp(App).use(router).use(i18n).use(ElementPlus).mount('#app')
  })
  .catch((error: unknown) => {
    document.getElementById('app')!.textContent = `The console could not start: ${String(error)}`
  })
