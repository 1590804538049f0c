// End to end, in a real browser: call backs. The staff's queue and a callback's page, the person's callback page and
// form (English and Spanish, a refused form naming its fields) pass axe-core and break no Content-Security-Policy
// rule; a person asks for a call from their case's status page, and calls it off, without JavaScript.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoSuite, watch, axeChecks, signIn } from "./harness.mjs";

const suite = demoSuite({ responses: 100 });

test("the callback pages are accessible", async () => {
  const page = await suite.browser.newPage();
  const problems = watch(page);
  const { check, failures } = axeChecks(page);
  const org = await signIn(page, suite.server);

  // The demo's first case has a call back booked for the first window offered: due now, or upcoming.
  await page.goto(`${suite.server.base}/admin/o/${org}/callbacks?queue=upcoming`);
  await check("callbacks, upcoming");
  await page.goto(`${suite.server.base}/admin/o/${org}/callbacks?queue=due`);
  await check("callbacks, due");
  await page.goto(`${suite.server.base}/admin/o/${org}/callbacks?queue=missed`);
  await check("callbacks, missed");

  await page.goto(`${suite.server.base}/admin/o/${org}/cases?queue=open`);
  await page.getByRole("link", { name: /Call back about a low trust rating/ }).click();
  await page.waitForLoadState();
  await page.locator("main h2:has-text('Callbacks') + ul a").first().click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /\+12025550143/);
  await check("a callback");
  // An outcome is required to record a call.
  await page.getByRole("button", { name: "Record the call" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Choose what happened on the call/);
  await check("a callback with errors");

  // The person's side, from the case's status page.
  await page.getByRole("link", { name: /^Case #/ }).click();
  await page.waitForLoadState();
  await page.getByRole("link", { name: "its status page" }).click();
  await page.waitForLoadState();
  await page.getByRole("link", { name: "See or change your call back" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /number ending in 0143/);
  await check("the person's callback page");
  await page.getByRole("link", { name: "Español" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /termina en 0143/);
  await check("the person's callback page in Spanish");
  await page.getByRole("link", { name: "Cambiar el horario o el número" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("h1").innerText(), /Pida que le llamemos/);
  await check("the callback form in Spanish, changing");
  await page.locator("#phone").fill("12");
  await page.getByRole("button", { name: "Guardar los cambios" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Escriba el número al que llamar/);
  await check("the callback form with errors");

  assert.equal(failures.length, 0, failures.join("\n"));
  // The forms refused on purpose answer 422, which the browser reports; nothing else may show.
  assert.deepEqual(problems.filter((p) => !p.includes("status of 422")), []);
});

test("a person asks for a call back and calls it off without JavaScript", async () => {
  const staff = await suite.browser.newPage();
  const org = await signIn(staff, suite.server);
  await staff.goto(`${suite.server.base}/admin/o/${org}/cases?queue=open`);
  await staff.getByRole("link", { name: /Payment delayed/ }).click();
  await staff.waitForLoadState();
  const status = await staff.getByRole("link", { name: "its status page" }).getAttribute("href");

  const context = await suite.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(new URL(status, suite.server.base).href);
  await page.getByRole("link", { name: "Ask for a call back" }).click();
  await page.waitForLoadState();
  await page.locator("label[for=window-1]").click();
  await page.locator("#phone").fill("(202) 555-0199");
  await page.locator("label[for=notify-none]").click();
  await page.getByRole("button", { name: "Ask for a call back" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Your call back is booked/);
  assert.match(await page.locator("main").innerText(), /number ending in 0199/);
  await page.getByRole("button", { name: "Call off my call back" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /We will not call you/);
  await context.close();
});
