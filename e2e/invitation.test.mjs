// End to end, in a real browser: the survey page an emailed invitation's link opens (issue 20, item 4). It opens in
// the invitation's language, passes axe-core in English and Spanish, is sent once, and the used link then gives the
// plain "expired or used" page (which passes axe-core too); its unsubscribe page works without JavaScript. The demo agency's invitation is made by `heard serve
// --demo` in a fresh data directory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoSuite, watch, axeChecks, signIn } from "./harness.mjs";

const suite = demoSuite({ responses: 200 });

test("an invitation link opens the survey, passes axe in English and Spanish, is sent once, and then is used", async () => {
  const { server, browser } = suite;
  assert.match(server.invitationPath ?? "", /^\/o\/[A-Za-z0-9_-]{43}$/, "the demo prints an invitation link");
  const link = `${server.base}${server.invitationPath}`;
  const page = await browser.newPage();
  const problems = watch(page);
  const { check, failures } = axeChecks(page);

  const first = await page.goto(link);
  assert.equal(first.status(), 200);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.equal(await page.locator("form.heard-survey").getAttribute("action"), server.invitationPath);
  await check(`English ${link}`);

  // The language switch keeps the link and gives the Spanish page.
  await page.locator("a[hreflang='es']").click();
  await page.waitForURL(/lang=es/);
  assert.equal(await page.getAttribute("html", "lang"), "es");
  assert.ok(page.url().startsWith(link), page.url());
  await check(`Spanish ${page.url()}`);

  // Sent with the trust answer: the thank-you page, in Spanish.
  await page.locator("label[for='q-trust-1']").click();
  await page.locator("form.heard-survey button[type=submit]").click();
  await page.waitForURL(/\/thanks\?lang=es/);
  assert.equal(await page.getAttribute("html", "lang"), "es");

  // The link works once: opened again, it says so plainly, with status 404.
  const again = await page.goto(link);
  assert.equal(again.status(), 404);
  assert.match(await page.locator("h1").innerText(), /This link has expired or was used/);
  await check(`used link ${link}`);
  const es = await page.goto(`${link}?lang=es`);
  assert.equal(es.status(), 404);
  assert.match(await page.locator("h1").innerText(), /Este enlace venció o ya se usó/);
  await check(`used link, Spanish ${link}`);

  // Its unsubscribe link: a confirmation in English and Spanish, one button, then done, without JavaScript.
  const unsubscribe = `${server.base}${server.unsubscribePath}`;
  const nojs = await browser.newContext({ javaScriptEnabled: false });
  const plain = await nojs.newPage();
  await plain.goto(unsubscribe);
  assert.equal(await plain.getAttribute("html", "lang"), "en");
  await page.goto(unsubscribe);
  await check(`unsubscribe ${unsubscribe}`);
  await page.goto(`${unsubscribe}?lang=es`);
  assert.match(await page.locator("h1").innerText(), /Dejar de recibir correos de encuestas/);
  await check(`unsubscribe, Spanish ${unsubscribe}`);
  await plain.locator("main button[type=submit]").click();
  await plain.waitForSelector(".usa-alert--success");
  assert.match(await plain.locator("h1").innerText(), /You are unsubscribed/);
  await page.goto(unsubscribe);
  await page.locator("main button[type=submit]").click();
  await page.waitForSelector(".usa-alert--success");
  await check(`unsubscribed ${unsubscribe}`);
  await nojs.close();

  // Staff see it on the outreach figures page: one invited by email, one completed, and one opted out (the unsubscribe
  // after answering counts), its chart and table accessible.
  const org = await signIn(page, server);
  await page.goto(`${server.base}/admin/o/${org}/outreach/figures`);
  const row = page.locator("#outreach-table tbody tr", { hasText: "Email" }).first();
  assert.match(await row.innerText(), /Email\s+1\s+1\s+1\s+1\s+1\s+1\s+0\s+100\.0%/);
  await check(`outreach figures ${page.url()}`);

  assert.deepEqual(failures, [], failures.join("\n"));
  // The used link's 404 is logged by the browser; nothing else may be.
  assert.deepEqual(problems.filter((p) => !/status of 404/.test(p)), []);
  await page.close();
});
