// End to end, in a real browser: the webhooks pages (the list, adding an endpoint through its form with a field
// error first, the endpoint's page showing its secret once, rotating it, and the Spanish list) pass axe-core, break no
// Content-Security-Policy rule, and work without JavaScript.
import { test } from "node:test";
import assert from "node:assert/strict";
import { demoSuite, watch, axeChecks, signIn } from "./harness.mjs";

const suite = demoSuite({ responses: 50 });

test("the webhooks pages are accessible and show a secret once", async () => {
  const page = await suite.browser.newPage();
  const problems = watch(page);
  const { check, failures } = axeChecks(page);
  await signIn(page, suite.server);

  await page.getByRole("link", { name: "Webhooks", exact: true }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("h1").innerText(), /Webhooks/);
  assert.match(await page.locator("main").innerText(), /No endpoints yet/);
  await check("webhooks list");

  await page.locator("#url").fill("http://hooks.example.gov/heard");
  await page.getByRole("button", { name: "Add endpoint" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("#url-error").innerText(), /must start with https:\/\//);
  await check("endpoint form with an error");

  // Loopback only: the demo server's workers really send, and nothing listens on port 9.
  await page.locator("#url").fill("http://127.0.0.1:9/hook");
  await page.getByText("Crisis language is found").click();
  assert.ok(await page.locator("#events-1").isChecked());
  await page.getByRole("button", { name: "Add endpoint" }).click();
  await page.waitForLoadState();
  const secret = await page.locator("#webhook-secret").inputValue();
  assert.match(secret, /^whsec_[A-Za-z0-9+/=]{32}$/);
  await check("endpoint page with its new secret");

  await page.getByRole("button", { name: "Rotate secret" }).click();
  await page.waitForLoadState();
  const rotated = await page.locator("#webhook-secret").inputValue();
  assert.notEqual(rotated, secret);
  assert.match(await page.locator("main").innerText(), /previous secret sign messages until/);
  await check("endpoint page after a rotation");

  await page.getByRole("link", { name: "Back to webhooks" }).click();
  await page.waitForLoadState();
  const main = await page.locator("main").innerText();
  assert.match(main, /http:\/\/127\.0\.0\.1:9\/hook/);
  assert.ok(!main.includes(secret.slice(6)) && !main.includes(rotated.slice(6)), "secrets are not shown again");
  await page.getByRole("link", { name: "Español" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Agregar un destino/);
  await check("webhooks list in Spanish");

  // A response through the JSON API makes a delivery; the server's workers try it (nothing listens) and log it.
  const [, slug, survey] = suite.server.surveyPath.match(/^\/s\/([^/]+)\/([^/?]+)/);
  const r = await fetch(`${suite.server.base}/api/v1/${slug}/surveys/${survey}/responses`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ idempotency_key: "e2e-webhook-0001", answers: { trust: 1 } }),
  });
  assert.ok(r.ok, `${r.status} ${await r.text()}`);
  await page.getByRole("link", { name: /Abrir el destino/ }).click();
  let attempted = false;
  for (let i = 0; i < 40 && !attempted; i++) {
    await page.reload();
    attempted = (await page.locator("main table tbody tr").count()) > 0 && !/Esperando envío\s+0/.test(await page.locator("main table").innerText());
    if (!attempted) await page.waitForTimeout(250);
  }
  assert.ok(attempted, "the delivery was tried");
  await check("endpoint page with its delivery log, in Spanish");
  await page.locator("main table tbody a").first().click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /No se pudo conectar con el receptor/);
  await check("a delivery's attempts, in Spanish");
  await page.getByRole("button", { name: "Reenviar" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /En cola para enviarse de nuevo/);

  assert.equal(failures.length, 0, failures.join("\n"));
  // The form with an error answers 422 on purpose; the browser logs that status, and nothing else may appear.
  assert.deepEqual(problems.filter((p) => !/status of 422/.test(p)), []);
});

test("an endpoint is added without JavaScript", async () => {
  const context = await suite.browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  const org = await signIn(page, suite.server);
  await page.goto(`${suite.server.base}/admin/o/${org}/webhooks`);
  await page.locator("#url").fill("http://127.0.0.1:9/hook");
  await page.getByRole("button", { name: "Add endpoint" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("#webhook-secret").inputValue(), /^whsec_/);
  await context.close();
});
