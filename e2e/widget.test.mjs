// The embeddable widget in a real browser, on host pages served from another origin (http://localhost:<port>, while
// Heard is http://127.0.0.1:<port>) under a strict Content-Security-Policy with nonces and no 'unsafe-inline':
// every mode, keyboard-only use, axe-core, DOM events, sampling, display counting, privacy, retry safety, a dead or
// slow Heard server, the admin's snippets and live preview, and the 6 KB gzipped size budget.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createHash } from "node:crypto";
import { gzipSync, constants } from "node:zlib";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, launchBrowser, watch, axe, describeViolations, root } from "./harness.mjs";

const NONCE = "h0stN0nce";
let server, browser, host, hostOrigin, org, surveyA, surveyB, snippet, deadOrigin, slowServer, slowOrigin;

function listen(handler) {
  return new Promise((resolve) => {
    const s = createServer(handler);
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
}

/** A host page of an agency's site: its own nonce'd style and script, hostile global styles, and one widget. */
function hostPage({ lang = "en", survey = surveyA, api, connect = "", attrs = "", body = "", heard = server.base }) {
  const apiUrl = api || `${heard}/api/v1/demo/surveys/${survey}`;
  const csp = `default-src 'none'; script-src 'nonce-${NONCE}' ${heard}; style-src 'nonce-${NONCE}'; connect-src ${heard}${connect ? " " + connect : ""}; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
  const html = `<!DOCTYPE html><html lang="${lang}"><head><meta charset="utf-8"><title>Agency page</title>
<style nonce="${NONCE}">
* { font-family: Georgia, serif; letter-spacing: 0.05em; }
button { background: rgb(128, 0, 0) !important; color: #fff; font-size: 20px; }
h2, p, label { color: #222; }
.spacer { height: 150vh; }
#out { min-height: 1.5em; }
</style>
<script nonce="${NONCE}">
window.__events = []; window.__cls = 0; window.__clicks = 0; window.__shifts = [];
for (const n of ["loaded", "opened", "submitted", "error"]) document.addEventListener("heard:" + n, (e) => window.__events.push({ name: n, detail: e.detail }));
new PerformanceObserver((l) => { for (const e of l.getEntries()) if (!e.hadRecentInput) { window.__cls += e.value; window.__shifts.push(e.sources.map((s) => s.node ? s.node.nodeName + "#" + (s.node.id || "") : "?").join(",") + " at " + Math.round(e.startTime) + " ms"); } }).observe({ type: "layout-shift", buffered: true });
document.addEventListener("click", (e) => { if (e.target.id === "page-button") document.getElementById("out").textContent = "Clicked " + ++window.__clicks; });
</script>
<script async src="${heard === server.base ? snippet.src : snippet.src.replace(server.base, heard)}" integrity="${snippet.integrity}" crossorigin="anonymous" referrerpolicy="no-referrer" data-survey="${apiUrl}" ${attrs}></script>
</head><body><header><h1>Agency page</h1></header><main>
<p class="opt" id="probe">Apply for benefits online.</p>
<button type="button" id="page-button">Page action</button><p id="out"></p>
${body}
</main></body></html>`;
  return { csp, html };
}

const pages = {};

before(async () => {
  server = await startServer({ responses: 300 });
  browser = await launchBrowser();
  host = await listen((req, res) => {
    const p = pages[new URL(req.url, "http://x").pathname];
    if (!p) return res.writeHead(404).end();
    const { csp, html } = p();
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "content-security-policy": csp }).end(html);
  });
  hostOrigin = `http://localhost:${host.address().port}`;
  // A port with nothing listening: Heard is down.
  const dead = await listen(() => {});
  deadOrigin = `http://127.0.0.1:${dead.address().port}`;
  await new Promise((r) => dead.close(r));
  // A server that accepts and never answers: Heard is slow.
  slowServer = await listen(() => {});
  slowOrigin = `http://127.0.0.1:${slowServer.address().port}`;

  // Staff allow the host site on two surveys (one offered to everyone, one to nobody) and copy the tab snippet.
  const page = await browser.newPage();
  await signIn(page);
  org = page.url().match(/\/admin\/o\/([^/?]+)/)[1];
  surveyA = server.surveyPath.split("/").pop();
  const links = await page.locator("a[href*='/surveys/']").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
  surveyB = links.map((h) => h.match(/\/surveys\/([0-9a-f-]{36})/)?.[1]).find((id) => id && id !== surveyA);
  assert.ok(surveyB, "the demo has a second survey");
  for (const [id, sample] of [[surveyA, "100"], [surveyB, "0"]]) {
    await page.goto(`${server.base}/admin/o/${org}/surveys/${id}/edit`);
    await page.locator("#allowed_origins").fill(`https://www.example.gov\n${hostOrigin}`);
    await page.locator("#widget_sample_percent").fill(sample);
    await page.locator("button", { hasText: "Save draft" }).click();
    await page.waitForSelector("text=Saved.");
  }
  await page.goto(`${server.base}/admin/o/${org}/surveys/${surveyA}/embed`);
  const code = await page.locator("pre[data-snippet=tab]").innerText();
  snippet = { src: code.match(/src="([^"]+)"/)[1], integrity: code.match(/integrity="([^"]+)"/)[1], code };
  await page.close();

  pages["/tab"] = () => hostPage({});
  pages["/tab-es"] = () => hostPage({ lang: "es" });
  pages["/inline"] = () => hostPage({ attrs: `data-mode="inline" data-target="feedback"`, body: `<div class="spacer"></div><div id="feedback"></div>` });
  pages["/button"] = () => hostPage({ attrs: `data-mode="button" data-target="fb-open"`, body: `<button type="button" id="fb-open">Tell us how we did</button>` });
  pages["/sampled-out"] = () => hostPage({ survey: surveyB });
  pages["/down"] = () => hostPage({ api: `${deadOrigin}/api/v1/demo/surveys/${surveyA}`, connect: deadOrigin });
  pages["/slow"] = () => hostPage({ api: `${slowOrigin}/api/v1/demo/surveys/${surveyA}`, connect: slowOrigin });
});

after(async () => {
  await browser?.close();
  server?.stop();
  host?.close();
  slowServer?.closeAllConnections?.();
  slowServer?.close();
});

async function signIn(page) {
  await page.goto(`${server.base}/admin/login`);
  await page.locator("#email").fill(server.email);
  await page.locator("#password").fill(server.password);
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/admin\/o\//);
}

/** Opens a host page in a fresh context; records every request and console message. */
async function open(path) {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const problems = watch(page);
  const warnings = [];
  const requests = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  page.on("request", (r) => requests.push(r));
  await page.goto(`${hostOrigin}${path}`);
  return { ctx, page, problems, warnings, requests };
}

const events = (page) => page.evaluate(() => window.__events);
const waitEvent = (page, name) => page.waitForFunction((n) => window.__events.some((e) => e.name === n), name);
/** The focused element, looking through shadow roots. */
const focused = (page) =>
  page.evaluate(() => {
    let a = document.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    const dlg = a && a.getRootNode().querySelector && a.getRootNode().querySelector("dialog");
    return a && { tag: a.tagName, id: a.id, name: a.name || "", cls: a.className, inDialog: !!(dlg && dlg.contains(a)), text: a.textContent.trim() };
  });
const apiCalls = (requests, kind) => requests.filter((r) => r.url().includes("/api/v1/") && r.url().endsWith(kind) && r.method() === "POST");

function assertPrivate(requests) {
  for (const r of requests) {
    const origin = new URL(r.url()).origin;
    assert.ok([hostOrigin, server.base].includes(origin), `request to another host: ${r.url()}`);
    if (origin === server.base) {
      const h = r.headers();
      assert.ok(!h.cookie, "no cookie to Heard");
      assert.ok(!h.referer, `no Referer to Heard: ${r.url()} (${h.referer})`);
    }
  }
}

test("the script fits the 6 KB gzipped budget and its snippet pins the exact bytes", async () => {
  const latest = await fetch(`${server.base}/widget.js`);
  const bytes = Buffer.from(await latest.arrayBuffer());
  const gz = gzipSync(bytes, { level: constants.Z_BEST_COMPRESSION }).length;
  const gzDefault = gzipSync(bytes).length;
  console.log(`widget.js: ${bytes.length} bytes, ${gzDefault} bytes gzipped (level 6), ${gz} (level 9)`);
  assert.ok(gzDefault <= 6 * 1024, `widget.js is ${gzDefault} bytes gzipped; the budget is 6144`);
  const versioned = await fetch(snippet.src);
  assert.equal(versioned.headers.get("cache-control"), "public, max-age=31536000, immutable");
  assert.ok(versioned.headers.get("etag"));
  assert.deepEqual(Buffer.from(await versioned.arrayBuffer()), bytes);
  assert.equal(snippet.integrity, `sha384-${createHash("sha384").update(bytes).digest("base64")}`);
  assert.match(snippet.code, /crossorigin="anonymous"/);
  assert.match(snippet.code, /async/);
});

test("the widget's show/hide logic agrees with the server's on the shared cases", async () => {
  const { ctx, page } = await open("/tab");
  await page.waitForFunction(() => window.HeardWidget);
  const vectors = JSON.parse(readFileSync(join(root, "tests/logic_vectors.json"), "utf8"));
  for (const v of vectors) {
    const got = await page.evaluate(([def, answers]) => window.HeardWidget.visibility(def.questions, answers), [v.definition, v.answers]);
    assert.deepEqual(got, v.visible, v.name);
  }
  await ctx.close();
});

test("floating tab: keyboard only, focus trapped, Esc and focus return, events, one display when opened, nothing private sent", async () => {
  const { ctx, page, problems, requests } = await open("/tab?case=12345&email=ana%40example.com");
  await waitEvent(page, "loaded");
  assert.equal(await page.locator(".tab").isVisible(), true);
  assert.equal(apiCalls(requests, "/displays").length, 0, "no display is counted before the survey is opened");
  assert.equal(await page.evaluate(() => window.__cls), 0, "no layout shift: " + (await page.evaluate(() => window.__shifts.join("; "))));

  // Host styles do not leak in, ours do not leak out.
  assert.equal(await page.locator(".tab").evaluate((e) => getComputedStyle(e).backgroundColor), "rgb(0, 94, 162)");
  assert.equal(await page.locator("#probe").evaluate((e) => getComputedStyle(e).borderTopWidth), "0px");
  assert.equal(await page.locator("#probe").evaluate((e) => getComputedStyle(e).display), "block");

  let onTab = false;
  for (let i = 0; i < 10 && !onTab; i++) {
    await page.keyboard.press("Tab");
    onTab = (await focused(page))?.cls === "tab";
  }
  assert.ok(onTab, "the tab is reachable by Tab");
  await page.keyboard.press("Enter");
  await waitEvent(page, "opened");
  assert.equal(await page.locator("dialog").evaluate((d) => d.open), true);
  let f = await focused(page);
  assert.ok(f.inDialog && f.name === "q-trust", `focus moved into the dialog, on the first answer: ${JSON.stringify(f)}`);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(apiCalls(requests, "/displays").length, 1, "opening counts one display");

  // Focus is trapped both ways.
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Tab");
    assert.ok((await focused(page)).inDialog, "Tab stays in the dialog");
  }
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press("Shift+Tab");
    assert.ok((await focused(page)).inDialog, "Shift+Tab stays in the dialog");
  }
  await page.keyboard.press("Escape");
  assert.equal(await page.locator("dialog").evaluate((d) => d.open), false);
  assert.equal((await focused(page)).cls, "tab", "focus returns to the tab");

  // Answer with the keyboard: thumbs up, then the comment, then submit.
  await page.keyboard.press("Enter");
  assert.equal((await focused(page)).name, "q-trust");
  await page.keyboard.press("Space");
  assert.equal(await page.locator("input[name=q-trust][value='1']").isChecked(), true);
  assert.equal(await page.locator("input[name=q-went_well]").first().isVisible(), true);
  assert.equal(await page.locator("input[name=q-went_badly]").first().isVisible(), false);
  let onComment = false;
  for (let i = 0; i < 12 && !onComment; i++) {
    await page.keyboard.press("Tab");
    onComment = (await focused(page)).name === "q-comment";
  }
  assert.ok(onComment, "the comment box is reachable by Tab");
  await page.keyboard.type(`Widget keyboard test ${Date.now()}`);
  // The demo's surveys end with an optional email for a reply; this person leaves it empty.
  await page.keyboard.press("Tab");
  assert.equal((await focused(page)).name, "q-email");
  await page.keyboard.press("Tab");
  assert.equal((await focused(page)).cls, "btn");
  await page.keyboard.press("Enter");
  await waitEvent(page, "submitted");
  await page.locator(".ty").waitFor();
  assert.match((await focused(page)).text, /Thank you/);
  await page.keyboard.press("Escape");
  assert.equal((await focused(page)).cls, "tab");

  const submit = apiCalls(requests, "/responses")[0];
  const body = JSON.parse(submit.postData());
  assert.equal(body.page_path, "/tab", "the query string is not sent unless the survey opts in");
  assert.match(body.idempotency_key, /^[0-9a-f]{32}$/);
  assert.deepEqual(Object.keys(body).sort(), ["answers", "idempotency_key", "language", "page_path", "survey_version"]);
  assert.equal(body.answers.trust, 1);
  assert.deepEqual((await events(page)).map((e) => e.name), ["loaded", "opened", "opened", "submitted"]);
  assertPrivate(requests);
  assert.deepEqual(await ctx.cookies(), []);
  assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]), [0, 0, ""]);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test("inline: errors are announced and focused, the display counts when scrolled into view", async () => {
  const { ctx, page, problems, requests } = await open("/inline");
  await waitEvent(page, "loaded");
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(apiCalls(requests, "/displays").length, 0, "below the fold: not displayed yet");
  await page.locator("#feedback").scrollIntoViewIfNeeded();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(apiCalls(requests, "/displays").length, 1, "in view: one display");
  await page.locator(".btn").click();
  const alert = page.locator("[role=alert]");
  assert.match(await alert.innerText(), /Answer this question/);
  assert.equal((await focused(page)).cls, "sum", "focus moves to the error list");
  const v = await axe(page);
  assert.equal(v.length, 0, describeViolations("inline with errors", v));
  await page.locator(".sum .lnk").first().click();
  assert.equal((await focused(page)).name, "q-trust");
  await page.locator("input[name=q-trust][value='0']").check();
  assert.equal(await page.locator("input[name=q-went_badly]").first().isVisible(), true);
  await page.locator(".btn").click();
  await page.locator(".ty").waitFor();
  // The demo agency offers a call back after a thumbs down: the widget links the agency's own page for it.
  const offer = page.locator(".ty + p a");
  assert.match(await offer.getAttribute("href"), /\/s\/[^/]+\/callback\/[0-9a-f]{32}/);
  const offered = await axe(page);
  assert.equal(offered.length, 0, describeViolations("inline with the callback offer", offered));
  assertPrivate(requests);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test("the page's own button opens the dialog, and Spanish follows the page's language", async () => {
  const { ctx, page, problems, requests } = await open("/button");
  await waitEvent(page, "loaded");
  assert.equal(await page.evaluate(() => window.__cls), 0, "no layout shift: " + (await page.evaluate(() => window.__shifts.join("; "))));
  assert.equal(await page.locator("#fb-open").getAttribute("aria-haspopup"), "dialog");
  await page.locator("#fb-open").focus();
  await page.keyboard.press("Enter");
  await waitEvent(page, "opened");
  assert.ok((await focused(page)).inDialog);
  await page.keyboard.press("Escape");
  assert.equal(await page.evaluate(() => document.activeElement.id), "fb-open", "focus returns to the page's button");
  // The page itself still works.
  await page.locator("#page-button").click();
  assert.equal(await page.locator("#out").innerText(), "Clicked 1");
  assertPrivate(requests);
  assert.deepEqual(problems, []);
  await ctx.close();

  const es = await open("/tab-es");
  await waitEvent(es.page, "loaded");
  assert.equal(await es.page.locator(".tab").innerText(), "Dar su opinión");
  await es.page.locator(".tab").click();
  assert.match(await es.page.locator("dialog").innerText(), /Enviar/);
  assert.equal(await es.page.locator(".x").getAttribute("aria-label"), "Cerrar");
  assert.deepEqual(es.problems, []);
  await es.ctx.close();
});

test("axe-core finds no violations in any mode", async () => {
  const failures = [];
  const check = async (path, prepare) => {
    const { ctx, page, problems } = await open(path);
    await waitEvent(page, "loaded");
    if (prepare) await prepare(page);
    const v = await axe(page);
    if (v.length) failures.push(describeViolations(path, v));
    assert.deepEqual(problems, [], path);
    await ctx.close();
  };
  await check("/tab");
  await check("/tab", async (p) => p.locator(".tab").click());
  await check("/tab", async (p) => {
    await p.locator(".tab").click();
    await p.locator(".btn").click();
    await p.locator(".sum li").first().waitFor();
  });
  await check("/tab-es", async (p) => p.locator(".tab").click());
  await check("/inline");
  await check("/button", async (p) => p.locator("#fb-open").click());
  await check("/button", async (p) => {
    await p.locator("#fb-open").click();
    await p.locator("input[name=q-trust][value='1']").check();
    await p.locator(".btn").click();
    await p.locator(".ty").waitFor();
  });
  assert.equal(failures.length, 0, failures.join("\n"));
});

test("a survey sampled at 0% shows nothing and counts no display", async () => {
  const { ctx, page, problems, requests } = await open("/sampled-out");
  await waitEvent(page, "loaded");
  const loaded = (await events(page)).find((e) => e.name === "loaded");
  assert.equal(loaded.detail.sampled, false);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await page.locator("[data-heard]").count(), 0);
  assert.equal(apiCalls(requests, "/displays").length, 0);
  assert.deepEqual(problems, []);
  await ctx.close();
});

test("a lost reply is retried with the same idempotency key and one response is stored", async () => {
  const { ctx, page, problems } = await open("/tab");
  await waitEvent(page, "loaded");
  const bodies = [];
  let first = true;
  await page.route(/\/responses$/, async (route) => {
    bodies.push(JSON.parse(route.request().postData()));
    if (first) {
      first = false;
      await route.fetch(); // stored on the server...
      return route.abort("connectionreset"); // ...but the reply is lost
    }
    return route.continue();
  });
  // Letters only: digits could be taken for personal data and redacted before the comment is stored.
  const comment = `Retry test ${Array.from({ length: 12 }, () => "abcdefghijklmnopqrstuvwxyz"[Math.floor(Math.random() * 26)]).join("")}`;
  await page.locator(".tab").click();
  await page.locator("input[name=q-trust][value='1']").check();
  await page.locator("textarea[name=q-comment]").fill(comment);
  await page.locator(".btn").click();
  await page.locator(".ty").waitFor({ timeout: 10_000 });
  assert.equal(bodies.length, 2);
  assert.equal(bodies[0].idempotency_key, bodies[1].idempotency_key);
  const admin = await browser.newPage();
  await signIn(admin);
  const csv = await (await admin.request.get(`${server.base}/admin/o/${org}/responses.csv?survey=${surveyA}`)).text();
  assert.equal(csv.split(comment).length - 1, 1, "one response stored");
  await admin.close();
  assert.deepEqual(problems.filter((p) => !p.includes("Failed to load resource")), []);
  await ctx.close();
});

for (const [path, why] of [["/down", "down"], ["/slow", "slow"]]) {
  test(`if Heard is ${why}, the page works as before and the widget only warns`, async () => {
    const { ctx, page, problems, warnings } = await open(path);
    await page.locator("#page-button").click();
    assert.equal(await page.locator("#out").innerText(), "Clicked 1");
    await page.waitForFunction(() => window.__events.some((e) => e.name === "error"), null, { timeout: 15_000 });
    assert.equal((await events(page)).find((e) => e.name === "error").detail.reason, "load");
    assert.equal(await page.locator("[data-heard]").count(), 0);
    assert.ok(warnings.some((w) => w.startsWith("Heard widget:")), warnings.join("\n"));
    // The browser itself logs the refused connection; nothing else may appear.
    assert.deepEqual(problems.filter((p) => !p.includes("Failed to load resource")), []);
    // A widget that never loads must not move the page. Once in a while Chromium reports a sub-pixel shift of the
    // host's own button in its first frames (0.00003, at about 130 ms, before a slow script could even arrive), so
    // this counts a shift of 0.001 or more: a hundredth of what Core Web Vitals calls a good page (0.1).
    const cls = await page.evaluate(() => window.__cls);
    assert.ok(cls < 0.001, `layout shift ${cls}: ` + (await page.evaluate(() => window.__shifts.join("; "))));
    await ctx.close();
  });
}

test("the admin shows a snippet for each mode and a live preview that counts and sends nothing", async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  const problems = watch(page);
  const requests = [];
  page.on("request", (r) => requests.push(r));
  await signIn(page);
  await page.goto(`${server.base}/admin/o/${org}/surveys/${surveyA}/embed`);
  for (const mode of ["tab", "inline", "button"]) {
    assert.match(await page.locator(`pre[data-snippet=${mode}]`).innerText(), /integrity="sha384-/);
  }
  await page.locator("#heard-preview .btn").waitFor();
  await page.locator("#heard-preview-open").click();
  assert.equal(await page.locator("dialog").evaluate((d) => d.open), true);
  await page.keyboard.press("Escape");
  const v = await axe(page);
  assert.equal(v.length, 0, describeViolations("embed page", v));
  await page.locator("#heard-preview input[name=q-trust][value='1']").check();
  await page.locator("#heard-preview .btn").click();
  assert.match(await page.locator("#heard-preview .ty").innerText(), /Preview: nothing was sent/);
  assert.equal(apiCalls(requests, "/displays").length + apiCalls(requests, "/responses").length, 0);
  assert.deepEqual(problems, []);
  await ctx.close();
});
