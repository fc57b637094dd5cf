// What a browser downloads to show a screen: the entry chunk, the screen's chunk and
// every chunk they import, gzip-compressed (as CloudFront serves them), from the build's
// manifest. Usage: node scripts/bundle-size.mjs [src/views/MyLeads.vue] (after a build).
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'

const manifest = JSON.parse(readFileSync('dist/.vite/manifest.json', 'utf8'))
const screen = process.argv[2] ?? 'src/views/MyLeads.vue'
const seen = new Set()
function walk(key) {
  if (seen.has(key)) return
  seen.add(key)
  for (const next of manifest[key]?.imports ?? []) walk(next)
}
walk('index.html')
walk(screen)
let js = 0
let css = 0
for (const key of seen) {
  const chunk = manifest[key]
  if (!chunk) continue
  js += gzipSync(readFileSync(`dist/${chunk.file}`)).length
  for (const file of chunk.css ?? []) css += gzipSync(readFileSync(`dist/${file}`)).length
}
console.log(JSON.stringify({ screen, chunks: seen.size, js_gzip_kb: +(js / 1024).toFixed(1), css_gzip_kb: +(css / 1024).toFixed(1) }))
