// upload_url.mjs - a page that knows only upload URLs, in headless Chromium
// (tests/integration/11_upload_urls.sh runs it).
//
//   node upload_url.mjs PAGE_ORIGIN FORM_URL TUS_URL FORM_FILE TUS_FILE TUS_JS
//
// Serves two pages itself at PAGE_ORIGIN (another origin than vingest's, so
// the tus part needs CORS): a plain HTML form whose action is FORM_URL, and
// a page that loads tus-js-client (TUS_JS, its browser build) and uploads
// TUS_FILE to TUS_URL in 256 KiB chunks. Neither has an API key. The form is
// submitted with FORM_FILE; the resumable upload is aborted once 40% is
// acknowledged and then resumed by a new Upload on the same upload URL,
// which asks the server (HEAD) where to go on. Prints one JSON line: the
// form post's status, the offset acknowledged before the pause, the offset
// the HEAD answered, the one the first PATCH after it started from, and
// whether the upload finished.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { readFileSync, statSync } from "node:fs";

const [origin, formUrl, tusUrl, formFile, tusFile, tusJs] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const esc = (s) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
const pages = {
  "/form.html": `<!doctype html><title>form</title>
<form id="f" method="post" action="${esc(formUrl)}" enctype="multipart/form-data">
<input type="file" name="file" id="file"><button type="submit">Upload</button></form>`,
  "/tus.html": `<!doctype html><title>tus</title><script src="/tus.min.js"></script>
<input type="file" id="file">`,
};
const server = createServer((req, res) => {
  const path = new URL(req.url, origin).pathname;
  if (path === "/tus.min.js") {
    res.writeHead(200, { "Content-Type": "text/javascript" });
    res.end(readFileSync(tusJs));
  } else if (pages[path]) {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(pages[path]);
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((ok) => server.listen(Number(new URL(origin).port), "127.0.0.1", ok));

const seen = { size: statSync(tusFile).size, patches: [] };
const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("request", (r) => {
    if (r.method() === "PATCH") seen.patches.push(Number(r.headers()["upload-offset"]));
  });
  page.on("response", (r) => {
    if (r.request().method() === "HEAD") seen.head_offset = Number(r.headers()["upload-offset"]);
  });

  // 1. the plain form
  await page.goto(origin + "/form.html");
  await page.setInputFiles("#file", formFile);
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.url() === formUrl && r.request().method() === "POST", { timeout: 60000 }),
    page.click("button[type=submit]"),
  ]);
  seen.form_status = answer.status();

  // 2. resumable, interrupted at 40% and resumed
  await page.goto(origin + "/tus.html");
  await page.setInputFiles("#file", tusFile);
  const first = await page.evaluate(
    (endpoint) =>
      new Promise((resolve, reject) => {
        const file = document.getElementById("file").files[0];
        let accepted = 0;
        const up = new tus.Upload(file, {
          endpoint,
          chunkSize: 256 * 1024,
          retryDelays: null,
          storeFingerprintForResuming: false,
          metadata: { filename: file.name, filetype: "video/mp4" },
          onChunkComplete: (chunk, bytesAccepted, total) => {
            accepted = bytesAccepted;
            if (bytesAccepted >= total * 0.4 && bytesAccepted < total)
              up.abort().then(() => resolve({ url: up.url, accepted }));
          },
          onSuccess: () => resolve({ url: up.url, accepted, finished: true }),
          onError: (e) => reject(new Error(String(e))),
        });
        up.start();
      }),
    tusUrl,
  );
  seen.paused_at = first.finished ? -1 : first.accepted;
  seen.tus_location = first.url;
  const before = seen.patches.length;
  const second = await page.evaluate(
    (uploadUrl) =>
      new Promise((resolve, reject) => {
        const file = document.getElementById("file").files[0];
        const up = new tus.Upload(file, {
          uploadUrl,
          chunkSize: 256 * 1024,
          retryDelays: null,
          storeFingerprintForResuming: false,
          onSuccess: () => resolve({ done: true }),
          onError: (e) => reject(new Error(String(e))),
        });
        up.start();
      }),
    first.url,
  );
  seen.resumed_from = seen.patches[before];
  seen.tus_done = second.done === true;
} catch (e) {
  seen.error = String(e && e.message ? e.message : e).split("\n")[0];
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(seen));
