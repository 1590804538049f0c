// End to end, in a real browser: the outreach landing page, setting up a text message number through its form (a
// field error, then success), and the previews of text messages and emails (the email's HTML in a sandboxed frame)
// pass axe-core, break no Content-Security-Policy rule, and read the same without JavaScript.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoSuite, watch, axeChecks, signIn } from "./harness.mjs";

const suite = demoSuite({ responses: 200 });

test("the outreach pages are accessible and the previews count segments", async () => {
  const page = await suite.browser.newPage();
  const problems = watch(page);
  const { check, failures } = axeChecks(page);
  await signIn(page, suite.server);

  await page.getByRole("link", { name: "Outreach", exact: true }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("h1").innerText(), /Outreach/);
  assert.match(await page.locator("main").innerText(), /No number is set up yet/);
  await check("outreach landing");

  await page.getByRole("link", { name: "Set up a text message number" }).click();
  await page.locator("#phone_number").fill("202-555-0100");
  await page.locator("#account_sid").fill("AC0123456789abcdef0123456789abcdef");
  await page.locator("#auth_token").fill("Zt9xQw7Lp2Vn5Rk8Hy3Jm6Bc4Df1GsWu");
  await page.locator("#help_contact").fill("1-800-555-0100");
  await page.getByRole("button", { name: "Set up this number" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("#phone_number-error").innerText(), /E\.164/);
  await check("SMS sender form with an error");
  await page.locator("#phone_number").fill("+1 202-555-0100");
  await page.locator("#auth_token").fill("Zt9xQw7Lp2Vn5Rk8Hy3Jm6Bc4Df1GsWu");
  await page.getByRole("button", { name: "Set up this number" }).click();
  await page.waitForURL(/\/outreach\/sms\/[0-9a-f-]+\?saved=1/);
  const main = await page.locator("main").innerText();
  assert.match(main, /\/hooks\/sms\/[0-9a-f-]+\/status/);
  assert.doesNotMatch(main, /Zt9xQw7Lp2Vn5Rk8Hy3Jm6Bc4Df1GsWu/);
  await check("SMS sender page");

  await page.getByRole("link", { name: "Back to outreach" }).click();
  await page.getByRole("link", { name: "Set up the email sender" }).click();
  await page.waitForLoadState();
  await page.locator("#host").fill("smtp.agency.gov");
  await page.locator("#from_address").fill("feedback@agency.gov");
  await page.locator("#dkim_domain").fill("other.gov");
  await page.getByRole("button", { name: "Save the email sender" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("#dkim_domain-error").innerText(), /From address's domain/);
  await check("email sender form with errors");

  await page.getByRole("link", { name: "Back to outreach" }).click();
  await page.getByRole("link", { name: "Preview the text messages and emails" }).click();
  await page.waitForLoadState();
  assert.ok((await page.locator("#sms-table-en tbody tr").count()) >= 10, "every English message");
  assert.ok((await page.locator("#sms-table-es tbody tr").count()) >= 10, "every Spanish message");
  assert.match(await page.locator("#sms-table-es").innerText(), /UCS-2/);
  assert.match(await page.locator("main").innerText(), /sends \d+ segments with the 1-5 scale/);
  const frame = page.frameLocator('iframe[title^="Invitation in Spanish"]');
  await assert.doesNotReject(frame.getByText("Responder la encuesta").waitFor({ timeout: 10_000 }));
  await check("outreach previews");

  assert.equal(failures.length, 0, failures.join("\n"));
  // The form with an error answers 422 on purpose; the browser logs that status, and nothing else may appear.
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
});

test("the previews read the same without JavaScript", async () => {
  const context = await suite.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const org = await signIn(page, suite.server);
  await page.goto(`${suite.server.base}/admin/o/${org}/outreach/preview`);
  assert.ok((await page.locator("#sms-table-en tbody tr").count()) >= 10);
  assert.equal(await page.locator("iframe.heard-email-frame").count(), 4);
  await context.close();
});
