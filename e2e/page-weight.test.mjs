// What a hosted survey page costs a person on a phone, counted in bytes on the wire by the browser itself (the
// DevTools protocol's Network events: compressed bodies plus headers). A first visit with an empty cache must stay
// under 120 KB; a repeat visit fetches the page again (it is never cached: it carries a fresh idempotency key) and
// nothing else, because every static file has a content-hashed name and may be kept for a year.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer({ responses: 50 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** Opens `url` in a new page of `context` and returns what went over the network: total bytes and each request. */
async function visit(context, url) {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  const urls = new Map();
  const fetched = [];
  cdp.on("Network.requestWillBeSent", (e) => urls.set(e.requestId, e.request.url));
  cdp.on("Network.loadingFinished", (e) => fetched.push({ url: urls.get(e.requestId), bytes: e.encodedDataLength }));
  await page.goto(url, { waitUntil: "load" });
  // Fonts are requested once the page is laid out; wait until they are in, then let the network settle.
  await page.evaluate(() => document.fonts.ready);
  await page.waitForLoadState("networkidle");
  await page.close();
  const served = fetched.filter((f) => f.bytes > 0);
  return { bytes: served.reduce((n, f) => n + f.bytes, 0), served };
}

const list = (served) => served.map((f) => `  ${f.bytes} ${f.url}`).join("\n");

test("a hosted survey page costs a phone at most 120 KB on a first visit and almost nothing on a repeat visit", async () => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 3,
    isMobile: true,
    hasTouch: true,
  });
  const url = `${server.base}${server.surveyPath}`;
  const first = await visit(context, url);
  assert.ok(first.bytes <= 120 * 1024, `first visit: ${first.bytes} bytes\n${list(first.served)}`);
  console.log(`first visit: ${first.bytes} bytes\n${list(first.served)}`);
  const again = await visit(context, url);
  console.log(`repeat visit: ${again.bytes} bytes\n${list(again.served)}`);
  const others = again.served.filter((f) => !f.url.startsWith(url));
  assert.deepEqual(others, [], `a repeat visit fetches only the page itself:\n${list(again.served)}`);
  assert.ok(again.bytes <= 8 * 1024, `repeat visit: ${again.bytes} bytes\n${list(again.served)}`);
  await context.close();
});
