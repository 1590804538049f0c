// End to end, in a real browser: MyAgency's sign-in with an OpenID Connect provider (issue 21, item 6). npm's
// certified `oidc-provider` runs on loopback (e2e/oidc-provider.mjs) in Login.gov's place. The demo agency's admin sets
// it on "People's sign-in" (a provider that cannot be reached is refused on the issuer field), then a person who
// answered a survey with their email signs in with it and sees that answer: with `private_key_jwt` (Login.gov's
// way, an RSA key made for this run), with PKCE alone, and with a client secret. Cancelling at the provider and an
// account without a verified email each get the sign-in form with a message saying so; a callback without its flow
// is the one not-found page. Every page of Heard's here passes axe-core and breaks no Content-Security-Policy rule.
// The browser is kept on loopback: any other address is refused (the provider's own page asks for a web font).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { spawn } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { demoSuite, watch, axeChecks, signIn, root } from "./harness.mjs";

const suite = demoSuite({ responses: 100 });
const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const privatePem = privateKey.export({ format: "pem", type: "pkcs8" });
let provider;

async function freePort() {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const p = probe.address().port;
      probe.close(() => resolve(p));
    });
  });
}

/** Starts the provider, which must know Heard's address (its redirect URI). */
async function startProvider() {
  const dir = mkdtempSync(join(tmpdir(), "heard-e2e-oidc-"));
  const jwk = join(dir, "public.jwk");
  writeFileSync(jwk, JSON.stringify({ ...publicKey.export({ format: "jwk" }), kid: "heard-e2e", alg: "RS256", use: "sig" }));
  const port = await freePort();
  const child = spawn(process.execPath, [join(root, "e2e", "oidc-provider.mjs"), String(port), `${suite.server.base}/my/demo/oidc/callback`, jwk], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  const issuer = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`oidc-provider did not start in 30 s: ${err}`)), 30_000);
    child.stdout.once("data", (d) => {
      clearTimeout(timer);
      resolve(JSON.parse(String(d)).issuer);
    });
    child.once("exit", (code) => reject(new Error(`oidc-provider exited with ${code}: ${err}`)));
  });
  provider = { child, issuer, port };
}
after(() => provider?.child.kill());

/** A fresh browser context kept on loopback, with a watched page. */
async function loopbackPage() {
  const context = await suite.browser.newContext();
  await context.route(
    (url) => !["127.0.0.1", "localhost"].includes(url.hostname),
    (route) => route.abort(),
  );
  const page = await context.newPage();
  return { context, page };
}

/** Sets the demo agency's provider on the admin page: `fields` by id, then Save. */
async function setProvider(admin, org, { clientId, auth, credential = "", issuer = provider.issuer }) {
  await admin.goto(`${suite.server.base}/admin/o/${org}/my-sign-in`);
  await admin.locator("#label").fill("Test ID");
  await admin.locator("#issuer").fill(issuer);
  await admin.locator("#client_id").fill(clientId);
  await admin.locator(`label[for=${auth === "private_key_jwt" ? "client_auth" : `client_auth-${auth}`}]`).click();
  await admin.locator("#credential").fill(credential);
  await admin.getByRole("button", { name: "Save" }).click();
  await admin.waitForLoadState();
}

/** Signs in at /my/demo with the provider as `login`; leaves the page where Heard sends it back. */
async function signInWithProvider(page, login, { cancel = false } = {}) {
  await page.goto(`${suite.server.base}/my/demo?lang=en`);
  await page.getByRole("link", { name: "Sign in with Test ID" }).click();
  await page.waitForURL(new RegExp(`^${provider.issuer}/interaction/`));
  if (cancel) {
    await page.getByRole("link", { name: /Cancel/ }).click();
  } else {
    await page.locator("input[name=login]").fill(login);
    await page.locator("input[name=password]").fill("any password");
    await page.locator("button[type=submit]").click();
    await page.waitForURL(new RegExp(`^${provider.issuer}/interaction/`));
    await page.getByRole("button", { name: "Continue" }).click();
  }
  await page.waitForURL(new RegExp(`^${suite.server.base}/my/demo`));
}

test("a person signs in to MyAgency with an OpenID Connect provider", async () => {
  await startProvider();
  const base = suite.server.base;
  const { context: adminContext, page: admin } = await loopbackPage();
  const adminProblems = watch(admin);
  const adminAxe = axeChecks(admin);
  const org = await signIn(admin, suite.server);

  // A person answers a survey and leaves their email address.
  const { context: answerContext, page: answer } = await loopbackPage();
  await answer.goto(`${base}${suite.server.surveyPath}`);
  await answer.locator("label[for='q-trust-1']").click();
  await answer.locator("#q-email input").fill("Person.OIDC@example.org");
  await answer.locator("button[type=submit]").click();
  await answer.waitForLoadState();
  await answerContext.close();

  // No provider yet: the sign-in form offers links only, and the provider's routes are the not-found page.
  const { context: noneContext, page: none } = await loopbackPage();
  await none.goto(`${base}/my/demo?lang=en`);
  assert.equal(await none.getByRole("link", { name: /Sign in with/ }).count(), 0);
  const r = await none.goto(`${base}/my/demo/oidc?lang=en`);
  assert.equal(r.status(), 404);
  await noneContext.close();

  // The admin page, then a provider that cannot be reached (a closed port on loopback): refused on the issuer.
  await admin.goto(`${base}/admin/o/${org}/my-sign-in`);
  assert.match(await admin.locator("main").innerText(), /Register this redirect URI with the provider: http:\/\/127\.0\.0\.1:\d+\/my\/demo\/oidc\/callback/);
  await adminAxe.check("the provider's admin page");
  const closed = await freePort();
  await setProvider(admin, org, { clientId: "heard-jwt", auth: "private_key_jwt", credential: privatePem, issuer: `http://127.0.0.1:${closed}` });
  assert.match(await admin.locator(".usa-alert--error").innerText(), /Issuer: Heard could not read http:\/\/127\.0\.0\.1:\d+\/\.well-known\/openid-configuration/);
  await adminAxe.check("the provider's admin page with an error");
  // A private key that is not one: refused on its field.
  await setProvider(admin, org, { clientId: "heard-jwt", auth: "private_key_jwt", credential: "not a key" });
  assert.match(await admin.locator(".usa-alert--error").innerText(), /Private key or secret: paste the RSA private key in PEM/);
  // Login.gov's way: private_key_jwt.
  await setProvider(admin, org, { clientId: "heard-jwt", auth: "private_key_jwt", credential: privatePem });
  assert.match(await admin.locator("main").innerText(), /Saved\. Heard read the provider's discovery document/);
  assert.match(await admin.locator("main").innerText(), /a key or secret is stored, sealed/);
  assert.doesNotMatch(await admin.content(), /BEGIN PRIVATE KEY/);
  await adminAxe.check("the provider's admin page, saved");

  // The person signs in with it and sees their answer.
  {
    const { context, page } = await loopbackPage();
    const problems = watch(page);
    const { check, failures } = axeChecks(page);
    await page.goto(`${base}/my/demo?lang=en`);
    await check("the sign-in form with a provider");
    await page.goto(`${base}/my/demo?lang=es`);
    assert.equal(await page.getByRole("link", { name: "Iniciar sesión con Test ID" }).count(), 1);
    await check("the sign-in form with a provider, in Spanish");
    await signInWithProvider(page, "person.oidc@example.org");
    assert.match(await page.locator("h1").innerText(), /Your feedback and requests/);
    const main = await page.locator("main").innerText();
    assert.doesNotMatch(main, /We have no survey answers from you/);
    assert.match(main, /Your survey answers/);
    await check("the person's page after signing in with a provider");
    // The flow's cookie is spent: coming back to the callback again is the not-found page.
    const again = await page.goto(`${base}/my/demo/oidc/callback?code=x&state=y`);
    assert.equal(again.status(), 404);
    await check("a callback without its flow");
    await page.goto(`${base}/my/demo?lang=en`);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForLoadState();
    assert.equal(await page.getByRole("link", { name: "Sign in with Test ID" }).count(), 1);
    assert.deepEqual(failures, [], failures.join("\n"));
    // 404: the spent callback, on purpose; ERR_FAILED: the provider's web font, refused off loopback.
    assert.deepEqual(problems.filter((p) => !/status of 404|net::ERR_FAILED/.test(p)), []);
    await context.close();
  }

  // Cancelling at the provider.
  {
    const { context, page } = await loopbackPage();
    const { check, failures } = axeChecks(page);
    await signInWithProvider(page, "", { cancel: true });
    assert.match(await page.locator("main").innerText(), /You stopped signing in with Test ID/);
    await check("the sign-in form after cancelling");
    assert.deepEqual(failures, [], failures.join("\n"));
    await context.close();
  }

  // An account whose email the provider has not verified: nobody is signed in.
  {
    const { context, page } = await loopbackPage();
    await signInWithProvider(page, "unverified:person.oidc@example.org");
    assert.match(await page.locator("main").innerText(), /Test ID did not tell us a verified email address or phone number/);
    assert.equal(await page.getByRole("button", { name: "Sign out" }).count(), 0);
    await context.close();
  }

  // PKCE alone, then a client secret: the same person's page each time.
  for (const [clientId, auth, credential] of [
    ["heard-pkce", "none", ""],
    ["heard-secret", "client_secret_basic", "heard-test-secret-0123456789abcdef"],
  ]) {
    await setProvider(admin, org, { clientId, auth, credential });
    assert.match(await admin.locator("main").innerText(), /Saved/, `${auth} saved`);
    const { context, page } = await loopbackPage();
    await signInWithProvider(page, "person.oidc@example.org");
    assert.match(await page.locator("main").innerText(), /Your survey answers/, auth);
    assert.doesNotMatch(await page.locator("main").innerText(), /We have no survey answers from you/, auth);
    await context.close();
  }

  // A wrong secret: the form says Heard could not sign the person in, and nobody is.
  await setProvider(admin, org, { clientId: "heard-secret", auth: "client_secret_basic", credential: "a-wrong-secret-0123456789" });
  {
    const { context, page } = await loopbackPage();
    await signInWithProvider(page, "person.oidc@example.org");
    assert.match(await page.locator("main").innerText(), /We could not sign you in with Test ID just now/);
    await context.close();
  }

  // Removed: the form offers links only again.
  await admin.goto(`${base}/admin/o/${org}/my-sign-in`);
  await admin.getByRole("button", { name: "Remove the provider" }).click();
  await admin.waitForLoadState();
  {
    const { context, page } = await loopbackPage();
    await page.goto(`${base}/my/demo?lang=en`);
    assert.equal(await page.getByRole("link", { name: /Sign in with/ }).count(), 0);
    await context.close();
  }
  assert.deepEqual(adminAxe.failures, [], adminAxe.failures.join("\n"));
  assert.deepEqual(adminProblems.filter((p) => !/status of 422/.test(p)), []);
  await adminContext.close();
});
