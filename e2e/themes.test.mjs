// End to end, in a real browser: the themes explorer (with its chart and tables) and comment search (with
// highlighted matches) over the demo agency pass axe-core and break no Content-Security-Policy rule.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, watch, axe, describeViolations, signIn } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer({ responses: 400 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test("the themes explorer and comment search are accessible", async () => {
  const page = await browser.newPage();
  const problems = watch(page);
  const failures = [];
  const check = async (what) => {
    const v = await axe(page);
    if (v.length) failures.push(describeViolations(what, v));
  };
  const org = await signIn(page, server);

  await page.goto(`${server.base}/admin/o/${org}/themes`);
  assert.match(await page.locator("main").innerText(), /By theme/);
  await check("themes explorer");

  await page.goto(`${server.base}/admin/o/${org}/search`);
  await page.locator("#f-q").fill("wait");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForLoadState();
  assert.ok((await page.locator("mark").count()) > 0, "matches are highlighted");
  await check("comment search results");

  assert.equal(failures.length, 0, failures.join("\n"));
  assert.deepEqual(problems, []);
});
