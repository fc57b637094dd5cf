// Starts the console: its configuration first (where the API is, how to sign in), then
// the app with its router, languages and component library.
import { createApp } from 'vue'
// Components come per use (vite.config.ts); the base styles and the services called from
// scripts (messages, confirm boxes, the loading directive) are imported here.
import 'element-plus/theme-chalk/base.css'
import 'element-plus/es/components/message/style/css'
import 'element-plus/es/components/message-box/style/css'
import 'element-plus/es/components/loading/style/css'
import { ElLoading } from 'element-plus'
import App from './App.vue'
import { router } from './router'
import { i18n } from './i18n'
import { loadConfig } from './config'
import './style.css'

loadConfig()
  .then(() => {
    createApp(App).use(router).use(i18n).use(ElLoading).mount('#app')
  })
  .catch((error: unknown) => {
    document.getElementById('app')!.textContent = `The console could not start: ${String(error)}`
  })
