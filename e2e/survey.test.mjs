// End to end, in a real browser: answer a hosted survey with the keyboard only, submit, sign in to the admin and
// find the response; axe-core on the public and admin pages; the page's logic agrees with the server's.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, launchBrowser, watch, axe, describeViolations, root } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function signIn(page) {
  await page.goto(`${server.base}/admin/login`);
  await page.keyboard.press("Tab"); // skip link
  await page.locator("#email").focus();
  await page.keyboard.type(server.email);
  await page.keyboard.press("Tab");
  await page.keyboard.type(server.password);
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/admin\/o\//);
}

test("a person answers the hosted survey with the keyboard only and staff find the response", async () => {
  const page = await browser.newPage();
  const problems = watch(page);
  const comment = `Keyboard test ${Date.now()}: the form was clear, call me at 202-555-0199`;
  await page.goto(`${server.base}${server.surveyPath}`);
  // Tab from the top of the page to the first answer of the trust question.
  let reached = false;
  for (let i = 0; i < 15 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.name === "q.trust");
  }
  assert.ok(reached, "the trust question is reachable by Tab");
  await page.keyboard.press("Space"); // chooses the focused option: thumbs up (first)
  assert.equal(await page.locator("input[name='q.trust'][value='1']").isChecked(), true);
  // "What went well?" appears after a positive answer; its first checkbox is next in tab order.
  assert.equal(await page.locator("#q-went_well").isVisible(), true);
  assert.equal(await page.locator("#q-went_badly").isVisible(), false);
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.name), "q.went_well");
  await page.keyboard.press("Space");
  let onComment = false;
  for (let i = 0; i < 10 && !onComment; i++) {
    await page.keyboard.press("Tab");
    onComment = await page.evaluate(() => document.activeElement?.name === "q.comment");
  }
  assert.ok(onComment, "the comment box is reachable by Tab");
  await page.keyboard.type(comment);
  // The demo's surveys end with an optional email for a reply; this person leaves it empty.
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.name), "q.email");
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.type), "submit");
  await page.keyboard.press("Enter");
  await page.waitForURL(/\/thanks/);
  assert.match(await page.locator("h1").innerText(), /Thank you/);
  assert.deepEqual(problems, []);

  // Staff sign in and find it, redacted, at the top of the responses list.
  const admin = await browser.newPage();
  await signIn(admin);
  const org = admin.url().match(/\/admin\/o\/([^/?]+)/)[1];
  await admin.goto(`${server.base}/admin/o/${org}/responses`);
  const firstRow = admin.locator("tbody tr").first();
  const text = await firstRow.innerText();
  assert.match(text, /Keyboard test/);
  assert.match(text, /Positive/);
  await firstRow.locator("a").first().click();
  await admin.waitForURL(/\/responses\//);
  assert.match(await admin.locator("main").innerText(), /Keyboard test/);
});

test("the page's show/hide logic agrees with the server's on the shared cases", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.base}${server.surveyPath}`);
  const vectors = JSON.parse(readFileSync(join(root, "tests/logic_vectors.json"), "utf8"));
  for (const v of vectors) {
    const got = await page.evaluate(([def, answers]) => window.HeardLogic.visibility(def.questions, answers), [v.definition, v.answers]);
    assert.deepEqual(got, v.visible, v.name);
  }
});

test("without JavaScript every question shows with a note, and the server drops answers the logic hides", async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(`${server.base}${server.surveyPath}`);
  assert.equal(await page.locator("#q-went_badly").isVisible(), true);
  assert.match(await page.locator("#q-went_badly-cond").innerText(), /Answer only if/);
  await page.locator("label[for='q-trust-1']").click();
  await page.locator("label[for='q-went_badly-1']").click();
  await page.locator("button[type=submit]").click();
  await page.waitForURL(/\/thanks/);
  await ctx.close();
});

test("errors are listed, linked to their fields, and the Spanish page is in Spanish", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.base}${server.surveyPath}?lang=es`);
  assert.equal(await page.getAttribute("html", "lang"), "es");
  await page.locator("button[type=submit]").click();
  await page.waitForSelector("#error-summary");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "error-summary");
  assert.match(await page.locator("#error-summary").innerText(), /Elija una respuesta a esta pregunta/);
});

test("axe-core finds no WCAG 2.1 AA violations on public and admin pages", async () => {
  const page = await browser.newPage();
  const problems = watch(page);
  const failures = [];
  const check = async (url, prepare) => {
    await page.goto(url);
    if (prepare) await prepare();
    const v = await axe(page);
    if (v.length) failures.push(describeViolations(url, v));
  };
  const survey = `${server.base}${server.surveyPath}`;
  await check(survey);
  await check(`${survey}?lang=es`);
  await check(survey, async () => {
    await page.locator("button[type=submit]").click();
    await page.waitForSelector("#error-summary");
  });
  await check(`${survey}/thanks`);
  await check(`${server.base}/admin/login`);
  await signIn(page);
  const org = page.url().match(/\/admin\/o\/([^/?]+)/)[1];
  const base = `${server.base}/admin/o/${org}`;
  await check(base);
  const surveyLink = await page.locator("tbody a[href*='/surveys/']").first().getAttribute("href");
  const serviceLink = await page.locator("a[href*='/services/']").first().getAttribute("href");
  await check(`${server.base}${surveyLink}`);
  await check(`${server.base}${surveyLink}/edit`);
  await check(`${server.base}${surveyLink}/share`);
  await check(`${server.base}${serviceLink}`);
  await check(`${base}/surveys/new`);
  await check(`${base}/responses`);
  const responseLink = await page.locator("tbody a").first().getAttribute("href");
  await check(`${server.base}${responseLink}`);
  await check(`${base}/members`);
  await check(`${base}/jobs`);
  await check(`${base}/jobs?lang=es`);
  assert.equal(failures.length, 0, failures.join("\n"));
  assert.deepEqual(problems.filter((p) => p.includes("CSP")), []);
});
