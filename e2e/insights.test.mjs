// End to end, in a real browser: the key drivers (with its impact × performance chart), barriers by customer
// characteristics and operations pages over the demo agency, once the background worker has computed their
// snapshots, pass axe-core, break no Content-Security-Policy rule, and "Refresh now" works without JavaScript.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoSuite, watch, axeChecks, signIn } from "./harness.mjs";

const suite = demoSuite({ responses: 1500 });

test("the key drivers, barriers and operations pages are accessible", async () => {
  const page = await suite.browser.newPage();
  const problems = watch(page);
  const { check, failures } = axeChecks(page);
  const org = await signIn(page, suite.server);

  // The demo enqueued the refresh; the server's workers compute it. Wait for it (bounded).
  let computed = false;
  for (let i = 0; i < 60 && !computed; i++) {
    await page.goto(`${suite.server.base}/admin/o/${org}/drivers`);
    computed = /Computed .* from/.test(await page.locator("main").innerText());
    if (!computed) await new Promise((r) => setTimeout(r, 1000));
  }
  assert.ok(computed, "the drivers snapshot was computed within a minute");
  assert.equal(await page.locator("main svg[role=img]").count() > 0, true, "an impact × performance chart");
  await check("key drivers");

  await page.getByRole("button", { name: "Refresh now" }).click();
  await page.waitForLoadState();
  assert.match(page.url(), /\/drivers\?quarter=FY/);

  await page.goto(`${suite.server.base}/admin/o/${org}/segments`);
  assert.match(await page.locator("main").innerText(), /Every group/);
  assert.match(await page.locator("main").innerText(), /Trust: the answers to A-11/);
  await check("barriers by customer characteristics");
  // Another score, chosen with the page's form (no JavaScript needed).
  await page.getByLabel("Score").selectOption("ease");
  await page.getByRole("button", { name: "Show" }).click();
  await page.waitForLoadState();
  assert.match(page.url(), /score=ease/);
  assert.match(await page.locator("main").innerText(), /Ease by language/);
  await check("barriers on ease");

  await page.goto(`${suite.server.base}/admin/o/${org}/operations`);
  assert.match(await page.locator("main").innerText(), /Experience gaps, biggest first/);
  assert.match(await page.locator("main").innerText(), /Experience gaps by journey stage/);
  await check("operations");
  // One service's figures.
  const service = await page.locator("#service option").nth(1).getAttribute("value");
  await page.getByLabel("Service").selectOption(service);
  await page.getByRole("button", { name: "Show" }).click();
  await page.waitForLoadState();
  assert.match(page.url(), new RegExp(`service=${service}`));
  await check("operations of one service");

  assert.equal(failures.length, 0, failures.join("\n"));
  assert.deepEqual(problems, []);
});
