// End to end, in a real browser: a service's public "Report a problem / Tell us about your experience" page in
// English and Spanish passes axe-core and is sent with JavaScript turned off; the frontline staff observation form
// in the admin passes axe-core and lists what its sender sent.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, watch, axe, describeViolations } from "./harness.mjs";

let server;
let browser;
let reportUrl;
let orgBase;

async function signIn(page) {
  await page.goto(`${server.base}/admin/login`);
  await page.locator("#email").fill(server.email);
  await page.locator("#password").fill(server.password);
  await page.locator("button[type=submit]").click();
  await page.waitForURL(/\/admin\/o\//);
}

before(async () => {
  server = await startServer({ responses: 200 });
  browser = await launchBrowser();
  // Admins find the page's address on the service's page in the admin.
  const page = await browser.newPage();
  await signIn(page);
  orgBase = page.url().match(/(.*\/admin\/o\/[^/?]+)/)[1];
  const serviceLink = await page.locator("a[href*='/services/']").first().getAttribute("href");
  await page.goto(`${server.base}${serviceLink}`);
  reportUrl = await page.locator("main a[href*='/r/']").first().getAttribute("href");
  assert.match(reportUrl, /\/r\/[^/]+\/[0-9a-f-]{36}$/);
  assert.equal(await page.locator(".heard-qr svg").count(), 1, "a QR code for a poster");
  const v = await axe(page);
  assert.deepEqual(v, [], describeViolations(page.url(), v));
  await page.close();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test("the report page passes axe-core in English and Spanish, empty and with errors", async () => {
  const page = await browser.newPage();
  const problems = watch(page);
  const failures = [];
  const check = async (label) => {
    const v = await axe(page);
    if (v.length) failures.push(describeViolations(`${label} ${page.url()}`, v));
  };
  await page.goto(reportUrl);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.match(await page.locator("h1").innerText(), /Tell us about your experience/);
  await check("English");
  // The language switch leads to the Spanish page.
  await page.locator("a[hreflang='es']").click();
  await page.waitForURL(/lang=es/);
  assert.equal(await page.getAttribute("html", "lang"), "es");
  assert.match(await page.locator("h1").innerText(), /Cuéntenos sobre su experiencia/);
  await check("Spanish");
  // Sent empty: the summary names the field, in Spanish.
  await page.locator("button[type=submit]").click();
  await page.waitForSelector("#error-summary");
  assert.match(await page.locator("#error-summary").innerText(), /Qué pasó: Cuéntenos qué pasó/);
  assert.equal(await page.locator("#what").getAttribute("aria-invalid"), "true");
  await check("Spanish with errors");
  await page.goto(reportUrl);
  await page.locator("#url").fill("not a web address");
  await page.locator("button[type=submit]").click();
  await page.waitForSelector("#error-summary");
  assert.equal(await page.locator("#url").inputValue(), "not a web address", "what was typed is kept");
  await check("English with errors");
  assert.deepEqual(failures, [], failures.join("\n"));
  // A form sent with errors comes back with 422, which the browser logs; nothing else may be logged.
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
});

test("a person sends a report with JavaScript turned off, and crisis words bring the 988 Lifeline", async () => {
  const ctx = await browser.newContext({ javaScriptEnabled: false });
  const page = await ctx.newPage();
  await page.goto(reportUrl);
  await page.locator("#what").fill(`No-JS report ${Date.now()}: the upload button did nothing, three times.`);
  if ((await page.locator("#touchpoint option").count()) > 1) {
    await page.locator("#touchpoint").selectOption({ index: 1 });
  }
  await page.locator("label[for='rating-2']").click();
  await page.locator("#url").fill("https://www.example.gov/apply");
  await page.locator("button[type=submit]").click();
  await page.waitForSelector("h1");
  assert.match(await page.locator("h1").innerText(), /Thank you for telling us/);
  assert.equal(await page.locator("text=988").count(), 0);

  await page.goto(`${reportUrl}?lang=es`);
  await page.locator("#what").fill("Perdí mi trabajo y ya no quiero vivir. Nadie me ayuda.");
  await page.locator("button[type=submit]").click();
  await page.waitForSelector("#crisis-title");
  assert.match(await page.locator("main").innerText(), /Línea 988 de Prevención del Suicidio y Crisis/);
  assert.equal(await page.locator("a[href='tel:988']").count(), 1);
  await ctx.close();

  // The thank-you page with the crisis notice passes axe-core (checked with script on).
  const withJs = await browser.newPage();
  await withJs.goto(reportUrl);
  await withJs.locator("#what").fill("I honestly don't see the point of living anymore.");
  await withJs.locator("button[type=submit]").click();
  await withJs.waitForSelector("#crisis-title");
  const violations = await axe(withJs);
  assert.deepEqual(violations, [], describeViolations(withJs.url(), violations));
  await withJs.close();
});

test("the staff observation form passes axe-core and lists what its sender sent", async () => {
  const page = await browser.newPage();
  const problems = watch(page);
  await signIn(page);
  await page.goto(`${orgBase}/observations`);
  let v = await axe(page);
  assert.deepEqual(v, [], describeViolations(page.url(), v));
  // Sent with a missing answer: the summary names it, and the page still passes.
  await page.locator("#what").fill("The lobby kiosk is out of paper again");
  await page.locator("main button[type=submit]").click();
  await page.waitForSelector(".usa-alert--error");
  assert.match(await page.locator(".usa-alert--error").innerText(), /How often: choose one of the answers/);
  assert.equal(await page.locator("#what").inputValue(), "The lobby kiosk is out of paper again");
  v = await axe(page);
  assert.deepEqual(v, [], describeViolations(`${page.url()} with errors`, v));
  await page.locator("label[for='frequency-daily']").click();
  await page.locator("#service").selectOption({ index: 1 });
  await page.locator("#fix").fill("Keep a spare roll at the desk");
  await page.locator("#people").fill("40");
  await page.locator("main button[type=submit]").click();
  await page.waitForURL(/sent=1/);
  assert.match(await page.locator("main").innerText(), /The lobby kiosk is out of paper again/);
  v = await axe(page);
  assert.deepEqual(v, [], describeViolations(`${page.url()} after sending`, v));
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
});
