// End to end, in a real browser: the case pages (queues, a case, its forms, settings, figures), the rules pages, and the person's status
// page (English, Spanish, the code lookup) pass axe-core, break
// no Content-Security-Policy rule, and work without JavaScript: a case opened from a response's page, assigned,
// written to and closed, and the demo's service levels changed, all with plain forms.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoSuite, watch, axeChecks, signIn } from "./harness.mjs";

const suite = demoSuite({ responses: 100 });

test("the case pages are accessible", async () => {
  const page = await suite.browser.newPage();
  const problems = watch(page);
  const { check, failures } = axeChecks(page);
  const org = await signIn(page, suite.server);

  await page.goto(`${suite.server.base}/admin/o/${org}/cases?queue=open`);
  assert.match(await page.locator("main").innerText(), /Payment delayed: explain the next step/);
  await check("all open cases");
  await page.goto(`${suite.server.base}/admin/o/${org}/cases?queue=ended`);
  await check("ended cases");
  await page.getByRole("link", { name: /Letter did not say which document was missing/ }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Root cause: The letter named no document/);
  await check("a closed case");

  await page.goto(`${suite.server.base}/admin/o/${org}/cases?queue=open`);
  await page.getByRole("link", { name: /Payment delayed/ }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /First response/);
  await check("a case being worked");
  // Closing without saying whether the issue was resolved names the field.
  await page.locator("#root_cause").fill("The payment file was late");
  await page.getByRole("button", { name: "Close the case" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Say whether the person's issue was resolved/);
  await check("a case with errors");

  // The person's status page, in English and Spanish, and the code lookup, are public pages.
  const code = (await page.locator("main strong").first().innerText()).trim();
  await page.getByRole("link", { name: "its status page" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("h1").innerText(), /Your case #2/);
  await check("status page");
  await page.getByRole("link", { name: "Español" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("h1").innerText(), /Su caso n.º 2/);
  await check("status page in Spanish");
  await page.goto(`${suite.server.base}/s/demo/status?lang=en`);
  await check("code lookup");
  await page.locator("#code").fill(code.toLowerCase());
  await page.getByRole("button", { name: "Check status" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("h1").innerText(), /Your case #2/);
  await page.goto(`${suite.server.base}/s/demo/status?lang=es&code=ZZZZ-ZZZZ`);
  assert.match(await page.locator("main").innerText(), /No encontramos un caso con este código/);
  await check("code lookup, unknown code");

  await page.goto(`${suite.server.base}/admin/o/${org}/cases/settings`);
  await check("settings");
  await page.locator("#first_response_hours").fill("-1");
  await page.getByRole("button", { name: "Save service levels" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /number of business hours greater than 0/);
  await check("settings with errors");

  // Rules: a refused form names its fields; a made rule is off until its dry run has been read.
  await page.goto(`${suite.server.base}/admin/o/${org}/rules`);
  await check("rules, none yet");
  await page.getByRole("button", { name: "Make the rule" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Name the rule in 1 to 100 characters/);
  await check("rules with errors");
  await page.locator("#name").fill("Low trust about payments");
  await page.locator("#keywords").fill("payment\nrefund");
  await page.locator("label[for=open_case]").click();
  await page.getByRole("button", { name: "Make the rule" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /This rule is off/);
  await page.getByRole("button", { name: "Try it on the last 30 days" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Over the last 30 days, this rule would have matched \d+ of \d+ responses/);
  await check("a rule after its dry run");

  await page.goto(`${suite.server.base}/admin/o/${org}/cases/figures`);
  assert.match(await page.locator("main").innerText(), /4 opened, 3 still open/);
  await check("figures");
  await page.goto(`${suite.server.base}/admin/o/${org}/cases/new`);
  await check("open a case");

  assert.equal(failures.length, 0, failures.join("\n"));
  // The forms refused on purpose answer 422 and the unknown code 404, which the browser reports; nothing else may
  // show.
  const notFound = problems.filter((p) => p.includes("status of 404"));
  assert.equal(notFound.length, 1, notFound.join("\n"));
  assert.deepEqual(problems.filter((p) => !p.includes("status of 422") && !p.includes("status of 404")), []);
});

test("a case is worked without JavaScript", async () => {
  const context = await suite.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const org = await signIn(page, suite.server);
  await page.goto(`${suite.server.base}/admin/o/${org}/responses`);
  await page.locator("main table a").first().click();
  await page.waitForLoadState();
  await page.getByRole("link", { name: "Open a case about this response" }).click();
  await page.waitForLoadState();
  await page.locator("#title").fill("Explain the decision letter");
  await page.locator("#owner").selectOption("me");
  await page.getByRole("button", { name: "Open the case" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("h1").innerText(), /Explain the decision letter/);
  await page.locator("label[for=kind-public]").click();
  await page.locator("#body").fill("Called and explained the letter.");
  await page.getByRole("button", { name: "Add to the case" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Update to the person/);
  // The person sees the update on their status page and adds information, without JavaScript.
  const caseUrl = page.url().split("?")[0];
  await page.getByRole("link", { name: "its status page" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Called and explained the letter/);
  await page.locator("#information").fill("My new phone number is on file now.");
  await page.getByRole("button", { name: "Add to my case" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /We added this to your case/);
  await page.goto(caseUrl);
  await page.locator("#root_cause").fill("The letter used legal terms");
  await page.locator("label[for=resolved-yes]").click();
  await page.getByRole("button", { name: "Close the case" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Case closed/);
  await page.goto(`${suite.server.base}/admin/o/${org}/cases?queue=mine`);
  await page.locator("input[name=case] + label").first().click();
  await page.locator("#bulk-priority").selectOption("urgent");
  await page.getByRole("button", { name: "Apply to the chosen cases" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /1 case changed/);
  await context.close();
});
