// End to end, in a real browser: the invitation rules, the send queue and the batch upload pages pass axe-core,
// break no Content-Security-Policy rule, and work without JavaScript (a rule made with the plain form; a CSV with a
// bad line refused with the line named).
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { demoSuite, watch, axeChecks, signIn } from "./harness.mjs";

const suite = demoSuite({ responses: 100 });

test("the outreach pages are accessible", async () => {
  const page = await suite.browser.newPage();
  const problems = watch(page);
  const { check, failures } = axeChecks(page);
  const org = await signIn(page, suite.server);

  await page.goto(`${suite.server.base}/admin/o/${org}/outreach/rules`);
  await check("rules, the demo's paused one");
  await page.locator("#name").fill("After a claims call");
  await page.locator("#delay_minutes").fill("120");
  await page.getByRole("button", { name: "Make rule" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /After a claims call/);
  await check("rules, two");
  await page.getByRole("link", { name: "After a claims call" }).click();
  await page.waitForLoadState();
  await check("a rule");
  // A bad edit names its fields.
  await page.locator("#sample_percent").fill("200");
  await page.getByRole("button", { name: "Save rule" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /whole percentage from 0 to 100/);
  await check("a rule with errors");

  await page.goto(`${suite.server.base}/admin/o/${org}/outreach/queue`);
  assert.match(await page.locator("main").innerText(), /Waiting: 0/);
  await check("send queue");

  await page.goto(`${suite.server.base}/admin/o/${org}/outreach/batches`);
  await check("batches");
  const dir = mkdtempSync(join(tmpdir(), "heard-e2e-"));
  const file = join(dir, "people.csv");
  writeFileSync(file, "email,language\nana@example.gov,es\nnot-an-address,en\n");
  await page.locator("#file").setInputFiles(file);
  await page.getByRole("button", { name: "Upload and invite" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Line 3, email/);
  await check("batches with errors");

  assert.equal(failures.length, 0, failures.join("\n"));
  // The two forms refused on purpose answer 422, which the browser reports; nothing else may show.
  assert.deepEqual(problems.filter((p) => !p.includes("status of 422")), []);
});

test("a rule is made without JavaScript", async () => {
  const context = await suite.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const org = await signIn(page, suite.server);
  await page.goto(`${suite.server.base}/admin/o/${org}/outreach/rules`);
  await page.locator("#name").fill("After an office visit");
  await page.getByRole("button", { name: "Make rule" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /After an office visit/);
  await context.close();
});
