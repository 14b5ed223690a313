// upload.mjs - drives vingest's tus endpoint with tus-js-client, the reference
// JavaScript client, the way a browser or Node app would: start an upload,
// abort it part-way, then resume it from the URL the client stored for the
// file (findPreviousUploads + resumeFromPreviousUpload) and finish.
//
//   node upload.mjs URL KEY FILE CHUNK_SIZE ABORT_AT_PERCENT
//
// URL is the API's base (the endpoint is URL/v1/uploads, or $TUS_ENDPOINT:
// an upload URL's, with KEY - for none). Prints one JSON
// object on stdout:
//
//   {"url": final upload URL, "size": file bytes, "previous_uploads": N,
//    "phase1": {"url", "sent", "acknowledged", "patches", "aborted_at"},
//    "phase2": {"url", "resume_offset", "sent", "acknowledged", "patches"}}
//
// sent: request body bytes the phase pushed out (progress), acknowledged:
// bytes the server confirmed with 204 (onChunkComplete), resume_offset: the
// Upload-Offset the resuming HEAD reported. Exit status 0 when the upload
// finished, 1 otherwise (the error on stderr). Node has no localStorage: the
// upload URLs are kept with the library's FileUrlStorage in a file under a
// temporary directory (or $TUS_URL_STORAGE), removed at the end.
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { FileUrlStorage, Upload } from 'tus-js-client'

const TIMEOUT_MS = 60000

const [baseUrl, key, file, chunkArg, abortArg] = process.argv.slice(2)
if (!baseUrl || !key || !file || !chunkArg || abortArg === undefined) {
  console.error('usage: node upload.mjs URL KEY FILE CHUNK_SIZE ABORT_AT_PERCENT')
  process.exit(2)
}
const chunkSize = Number(chunkArg)
const abortAt = Number(abortArg)
if (!Number.isInteger(chunkSize) || chunkSize <= 0 || !(abortAt >= 0 && abortAt < 100)) {
  console.error('CHUNK_SIZE must be a positive integer, ABORT_AT_PERCENT 0..99')
  process.exit(2)
}

const size = statSync(file).size
const tmp = process.env.TUS_URL_STORAGE ? null : mkdtempSync(join(tmpdir(), 'vingest-tus-js-'))
const storagePath = process.env.TUS_URL_STORAGE || join(tmp, 'uploads.json')
const urlStorage = new FileUrlStorage(storagePath)

function newPhase() {
  return { url: null, sent: 0, acknowledged: 0, patches: 0 }
}

// The options both phases share; each phase gets its own counters.
function options(phase, start, extra) {
  return {
    endpoint: process.env.TUS_ENDPOINT || `${baseUrl.replace(/\/+$/, '')}/v1/uploads`,
    headers: key === '-' ? {} : { Authorization: `Bearer ${key}` },
    chunkSize,
    metadata: { filename: basename(file), title: `tus-js-client: ${basename(file)}` },
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    urlStorage,
    retryDelays: [0, 1000, 3000],
    onChunkComplete(chunk) {
      phase.acknowledged += chunk
    },
    onBeforeRequest(req) {
      if (req.getMethod() === 'PATCH') phase.patches += 1
    },
    onProgress(bytesSent) {
      phase.sent = Math.max(phase.sent, bytesSent - start.offset)
    },
    ...extra,
  }
}

async function main() {
  const result = { url: null, size, previous_uploads: 0, phase1: newPhase(), phase2: newPhase() }

  // Phase 1: upload until the progress passes ABORT_AT_PERCENT, then abort
  // (without terminating: the upload stays on the server, resumable).
  const p1 = result.phase1
  const outcome = await new Promise((resolve, reject) => {
    let aborting = false
    const first = new Upload(
      createReadStream(file),
      options(p1, { offset: 0 }, {
        onProgress(bytesSent, bytesTotal) {
          p1.sent = Math.max(p1.sent, bytesSent)
          if (!aborting && bytesSent * 100 >= abortAt * bytesTotal) {
            aborting = true
            p1.aborted_at = bytesSent
            p1.url = first.url
            first.abort(false).then(() => resolve('aborted'), reject)
          }
        },
        onSuccess() {
          p1.url = first.url
          resolve('done')
        },
        onError: reject,
      }),
    )
    first.start()
  })
  if (outcome !== 'aborted') throw new Error('phase 1 finished before the abort point')

  // Phase 2: a new Upload of the same file finds the URL phase 1 stored and
  // resumes it.
  const p2 = result.phase2
  const start = { offset: 0 }
  await new Promise((resolve, reject) => {
    const second = new Upload(
      createReadStream(file),
      options(p2, start, {
        onAfterResponse(req, res) {
          if (req.getMethod() === 'HEAD' && p2.resume_offset === undefined) {
            p2.resume_offset = Number(res.getHeader('Upload-Offset'))
            start.offset = p2.resume_offset
          }
        },
        onSuccess() {
          p2.url = second.url
          result.url = second.url
          resolve()
        },
        onError: reject,
      }),
    )
    second
      .findPreviousUploads()
      .then((previous) => {
        result.previous_uploads = previous.length
        if (previous.length === 0) throw new Error('findPreviousUploads() found no stored upload')
        second.resumeFromPreviousUpload(previous[0])
        second.start()
      })
      .catch(reject)
  })
  return result
}

const timer = setTimeout(() => {
  console.error(`upload.mjs: no result within ${TIMEOUT_MS / 1000} s`)
  process.exit(1)
}, TIMEOUT_MS)

main()
  .then((result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`)
    process.exitCode = 0
  })
  .catch((err) => {
    console.error(`upload.mjs: ${err && err.stack ? err.stack : err}`)
    process.exitCode = 1
  })
  .finally(() => {
    clearTimeout(timer)
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })
