// End to end, in a real browser: the journeys list, a journey's page (its funnel and Sankey charts and tables,
// computed by the server's job workers) and the definition form, with and without errors, over the demo agency,
// pass axe-core and break no Content-Security-Policy rule.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoSuite, watch, axeChecks, signIn } from "./harness.mjs";

const suite = demoSuite({ responses: 400 });

test("the journey pages and the definition form are accessible", async () => {
  const page = await suite.browser.newPage();
  const problems = watch(page);
  const { check, failures } = axeChecks(page);
  const org = await signIn(page, suite.server);

  await page.goto(`${suite.server.base}/admin/o/${org}/journeys`);
  assert.match(await page.locator("main").innerText(), /SNAP application form/);
  await check("journeys list");

  // The workers compute the demo's journeys soon after start; wait for them (bounded).
  let computed = false;
  for (let i = 0; i < 60 && !computed; i++) {
    await page.goto(`${suite.server.base}/admin/o/${org}/journeys/snap-application`);
    computed = (await page.locator("main").innerText()).includes("The biggest drop-off");
    if (!computed) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(computed, "the SNAP journey was computed");
  assert.equal(await page.locator("main svg[role=img]").count(), 2, "a funnel and a Sankey chart");
  assert.ok((await page.locator("main table").count()) >= 8, "every figure has its table");
  await check("a journey's page");

  await page.goto(`${suite.server.base}/admin/o/${org}/journeys/new`);
  await check("the definition form");
  await page.locator("#id").fill("visits");
  await page.locator("#name").fill("Visits");
  await page.locator("#stage-0-name").fill("Called");
  await page.locator("#stage-0-activities").fill("call");
  await page.locator("#stage-1-name").fill("Visited");
  await page.locator("#stage-1-activities").fill("call");
  await page.getByRole("button", { name: "Save journey" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator(".usa-alert--error").innerText(), /Stage 2 activities/);
  await check("the definition form with an error");
  await page.locator("#stage-1-activities").fill("office_visit");
  await page.getByRole("button", { name: "Save journey" }).click();
  await page.waitForLoadState();
  assert.match(page.url(), /\/journeys\/visits$/);
  await check("a journey not computed yet");

  assert.equal(failures.length, 0, failures.join("\n"));
  // The form sent with an error comes back with 422, which the browser logs; nothing else may be logged.
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
});
