// parallel.mjs - uploads a file with tus-js-client's `parallelUploads`: the
// client cuts it into PARTS partial uploads (Upload-Concat: partial), sends
// them at once, and creates the final upload (Upload-Concat: final;URL ...)
// when all are done - vingest's tus concatenation extension.
//
//   node parallel.mjs URL KEY FILE PARTS
//
// URL is the API's base (the endpoint is URL/v1/uploads). Prints one JSON
// object on stdout:
//
//   {"url": the final upload's URL, "size": file bytes,
//    "partials": [the partial uploads' URLs, as the server named them],
//    "concat": the Upload-Concat header of the final upload's creation,
//    "final_status": that creation's HTTP status, "patches": PATCHes sent}
//
// Exit status 0 when the upload finished, 1 otherwise (the error on stderr).
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { Upload } from 'tus-js-client'

const TIMEOUT_MS = 60000

const [baseUrl, key, file, partsArg] = process.argv.slice(2)
const parts = Number(partsArg)
if (!baseUrl || !key || !file || !Number.isInteger(parts) || parts < 2) {
  console.error('usage: node parallel.mjs URL KEY FILE PARTS (PARTS >= 2)')
  process.exit(2)
}

const data = readFileSync(file)
const result = { url: null, size: data.length, partials: [], concat: null, final_status: null, patches: 0 }

const done = new Promise((resolve, reject) => {
  const upload = new Upload(data, {
    endpoint: `${baseUrl.replace(/\/+$/, '')}/v1/uploads`,
    headers: { Authorization: `Bearer ${key}` },
    parallelUploads: parts,
    metadata: { filename: basename(file), title: `parallel: ${basename(file)}` },
    storeFingerprintForResuming: false,
    retryDelays: [0, 1000],
    onBeforeRequest(req) {
      if (req.getMethod() === 'PATCH') result.patches += 1
    },
    onAfterResponse(req, res) {
      if (req.getMethod() !== 'POST') return
      const concat = req.getHeader('Upload-Concat')
      if (concat === 'partial') {
        result.partials.push(res.getHeader('Location'))
      } else if (concat && concat.startsWith('final;')) {
        result.concat = concat
        result.final_status = res.getStatus()
      }
    },
    onError: reject,
    onSuccess: () => resolve(upload.url),
  })
  upload.start()
})

const timer = setTimeout(() => {
  console.error(`no outcome within ${TIMEOUT_MS} ms`)
  process.exit(1)
}, TIMEOUT_MS)

try {
  result.url = await done
  clearTimeout(timer)
  console.log(JSON.stringify(result))
} catch (err) {
  clearTimeout(timer)
  console.error(String(err))
  process.exit(1)
}
