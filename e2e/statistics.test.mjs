// End to end, in a real browser: the A-11 statistics page (chart, figures table, collection table, CSV downloads)
// and the dashboards that now read rollups, over the demo agency, pass axe-core, break no Content-Security-Policy
// rule and read the same without JavaScript.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoSuite, watch, axeChecks, signIn } from "./harness.mjs";

const suite = demoSuite({ responses: 600 });

test("the A-11 statistics page and the dashboards are accessible", async () => {
  const page = await suite.browser.newPage();
  const problems = watch(page);
  const { check, failures } = axeChecks(page);
  const org = await signIn(page, suite.server);

  await page.getByRole("link", { name: "A-11 statistics" }).click();
  await page.waitForLoadState();
  const main = await page.locator("main").innerText();
  assert.match(main, /A-11 statistics, FY\d{4}-Q\d/);
  assert.match(main, /% positive/);
  assert.ok((await page.locator("#statistics-table tbody tr").count()) > 0, "the figures table has rows");
  assert.ok((await page.locator("main svg[role=img]").count()) === 1, "the chart is there");
  await check("A-11 statistics");
  const csv = await page.request.get(
    await page.getByRole("link", { name: "Download this table (CSV)" }).first().getAttribute("href").then((h) => `${suite.server.base}${h}`),
  );
  assert.equal(csv.status(), 200);
  // Every CSV download starts with the UTF-8 byte-order mark (Excel reads "R²" and "sí" as written).
  assert.match(await csv.text(), /^\uFEFFquarter,level,service/);

  await page.goto(`${suite.server.base}/admin/o/${org}`);
  await page.locator("table a").first().click();
  await page.waitForLoadState();
  await check("survey dashboard");

  assert.equal(failures.length, 0, failures.join("\n"));
  assert.deepEqual(problems, []);
});

test("the statistics page reads the same without JavaScript", async () => {
  const context = await suite.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const org = await signIn(page, suite.server);
  await page.goto(`${suite.server.base}/admin/o/${org}/statistics`);
  assert.ok((await page.locator("#statistics-table tbody tr").count()) > 0);
  assert.ok((await page.locator("#collection-table tbody tr").count()) > 0);
  await context.close();
});
