// End to end, in a real browser: the themes explorer (with its chart and tables) and comment search (with
// highlighted matches) over the demo agency pass axe-core and break no Content-Security-Policy rule.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoSuite, watch, axeChecks, signIn } from "./harness.mjs";

const suite = demoSuite({ responses: 400 });

test("the themes explorer and comment search are accessible", async () => {
  const page = await suite.browser.newPage();
  const problems = watch(page);
  const { check, failures } = axeChecks(page);
  const org = await signIn(page, suite.server);

  await page.goto(`${suite.server.base}/admin/o/${org}/themes`);
  assert.match(await page.locator("main").innerText(), /By theme/);
  await check("themes explorer");

  await page.goto(`${suite.server.base}/admin/o/${org}/search`);
  await page.locator("#f-q").fill("wait");
  await page.getByRole("button", { name: "Search" }).click();
  await page.waitForLoadState();
  assert.ok((await page.locator("mark").count()) > 0, "matches are highlighted");
  await check("comment search results");

  assert.equal(failures.length, 0, failures.join("\n"));
  assert.deepEqual(problems, []);
});
