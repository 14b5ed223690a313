// upload.mjs - drives the plain HTML upload page in headless Chromium
// (tests/integration/93_browser.sh runs it).
//
//   node upload.mjs BASE_URL API_KEY FILE SCREENSHOT
//
// Opens BASE_URL/vingest/ (index.html, served by the web server), chooses
// FILE in the form, submits it (the browser answers the API's Basic
// challenge with the API key as password: playwright's httpCredentials),
// follows the 303 to /vingest/status.html, waits until the page says "processed"
// and saves a screenshot. Prints one JSON line with what it saw.
import { chromium } from "playwright-core";

const [base, key, file, shot] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const seen = { posts: [], redirect: null, final_url: null, status_text: null, id: null };

const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
});
try {
  const context = await browser.newContext({ httpCredentials: { username: "demo", password: key } });
  const page = await context.newPage();
  page.on("response", (r) => {
    const req = r.request();
    if (req.method() === "POST" && new URL(r.url()).pathname === "/v1/videos") {
      seen.posts.push(r.status());
      if (r.status() === 303) seen.redirect = r.headers()["location"] || null;
    }
  });
  const index = await page.goto(base + "/vingest/", { waitUntil: "load" });
  seen.index_status = index.status();
  seen.index_type = index.headers()["content-type"] || "";
  await page.setInputFiles("#file", file);
  await page.fill("#title", "Uploaded from a browser");
  await Promise.all([page.waitForURL(/\/status\.html\?id=/, { timeout: 60000 }), page.click("button[type=submit]")]);
  seen.final_url = page.url();
  seen.id = new URL(page.url()).searchParams.get("id");
  await page.waitForFunction(
    () => ["processed", "failed"].includes(document.getElementById("status").textContent),
    null,
    { timeout: 90000, polling: 500 },
  );
  seen.status_text = await page.textContent("#status");
  seen.title_text = await page.textContent("#title");
  await page.screenshot({ path: shot, fullPage: true });
} catch (e) {
  seen.error = String(e && e.message ? e.message : e).split("\n")[0];
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
