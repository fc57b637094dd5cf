// The console is served under /console/ (locally by the demo server, in the cloud by
// CloudFront in front of S3); the API is on the same origin under /v1/.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
// Element Plus components (and their styles) imported where a template uses them, so the
// first page carries only what it shows.
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// The demo server `make dev` runs (LEADFLOW_DEMO_PORT when it runs on other ports).
const demo = `http://127.0.0.1:${process.env.LEADFLOW_DEMO_PORT ?? 8080}`

export default defineConfig({
  base: '/console/',
  plugins: [vue(), Components({ resolvers: [ElementPlusResolver({ importStyle: 'css' })], dts: false })],
  build: {
    target: 'es2020',
    // scripts/bundle-size.mjs reads it to weigh what the first screen loads.
    manifest: true,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `npm run dev` against a running `make dev`: the API and the dev sign-in.
    proxy: {
      '/v1': demo,
      '/console/config.json': demo,
      '/console/dev': demo,
    },
  },
})
