// End to end, in a real browser: the A-11 statistics page (chart, figures table, collection table, CSV downloads)
// and the dashboards that now read rollups, over the demo agency, pass axe-core, break no Content-Security-Policy
// rule and read the same without JavaScript.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, watch, axe, describeViolations } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer({ responses: 600 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function signIn(page) {
  await page.goto(`${server.base}/admin/login`);
  await page.locator("#email").fill(server.email);
  await page.locator("#password").fill(server.password);
  await page.locator("#password").press("Enter");
  await page.waitForLoadState();
  return page.url().match(/\/admin\/o\/([^/?]+)/)[1];
}

test("the A-11 statistics page and the dashboards are accessible", async () => {
  const page = await browser.newPage();
  const problems = watch(page);
  const failures = [];
  const check = async (what) => {
    const v = await axe(page);
    if (v.length) failures.push(describeViolations(what, v));
  };
  const org = await signIn(page);

  await page.getByRole("link", { name: "A-11 statistics" }).click();
  await page.waitForLoadState();
  const main = await page.locator("main").innerText();
  assert.match(main, /A-11 statistics, FY\d{4}-Q\d/);
  assert.match(main, /% positive/);
  assert.ok((await page.locator("#statistics-table tbody tr").count()) > 0, "the figures table has rows");
  assert.ok((await page.locator("main svg[role=img]").count()) === 1, "the chart is there");
  await check("A-11 statistics");
  const csv = await page.request.get(
    await page.getByRole("link", { name: "Download this table (CSV)" }).first().getAttribute("href").then((h) => `${server.base}${h}`),
  );
  assert.equal(csv.status(), 200);
  // Every CSV download starts with the UTF-8 byte-order mark (Excel reads "R²" and "sí" as written).
  assert.match(await csv.text(), /^\uFEFFquarter,level,service/);

  await page.goto(`${server.base}/admin/o/${org}`);
  await page.locator("table a").first().click();
  await page.waitForLoadState();
  await check("survey dashboard");

  assert.equal(failures.length, 0, failures.join("\n"));
  assert.deepEqual(problems, []);
});

test("the statistics page reads the same without JavaScript", async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const org = await signIn(page);
  await page.goto(`${server.base}/admin/o/${org}/statistics`);
  assert.ok((await page.locator("#statistics-table tbody tr").count()) > 0);
  assert.ok((await page.locator("#collection-table tbody tr").count()) > 0);
  await context.close();
});
