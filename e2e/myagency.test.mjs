// End to end, in a real browser: MyAgency, a person's own page (issue 21, item 6). The demo agency's admin points its
// email sender at aiosmtpd on loopback (scripts/smtp-sink.py); a person asks for a link at /my/demo, the server's
// job queue sends it, and the person opens it. Every MyAgency page (the sign-in form, with an error, the "check your
// messages" page, the link's page, the person's page in English and Spanish, the deletion confirmation, the page
// after it, and the not-found page) passes axe-core, breaks no Content-Security-Policy rule, and works without
// JavaScript (plain forms).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { demoSuite, watch, axeChecks, signIn, root } from "./harness.mjs";

const suite = demoSuite({ responses: 100 });

/**
 * A real SMTP server on loopback: aiosmtpd, by `scripts/smtp-sink.py` (the one the Rust tests use), run with
 * `HEARD_MAIL_PYTHON` (`bash scripts/mail-venv.sh` prints it; `scripts/test.sh` sets it). Each message is written to
 * `dir` as NNNN.eml, then NNNN.json.
 */
async function smtpSink() {
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const p = probe.address().port;
      probe.close(() => resolve(p));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), "heard-e2e-mail-"));
  const python = process.env.HEARD_MAIL_PYTHON || "python3";
  const child = spawn(python, [join(root, "scripts", "smtp-sink.py"), dir, String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += d));
  await new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => (String(d).trim() === "ready" ? resolve() : reject(new Error(`smtp-sink: ${d}`))));
    child.once("exit", () => reject(new Error(`aiosmtpd did not start with ${python} (bash scripts/mail-venv.sh prints the Python to set as HEARD_MAIL_PYTHON): ${err}`)));
  });
  return { child, dir, port };
}

/** Waits (at most 30 s) for the sink's `n`th message and returns it as received. */
async function message(sink, n) {
  const name = String(n).padStart(4, "0");
  for (let i = 0; i < 300; i++) {
    if (existsSync(join(sink.dir, `${name}.json`))) return readFileSync(join(sink.dir, `${name}.eml`), "utf8");
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no message arrived");
}

/** The sign-in link in a message (quoted-printable soft line breaks undone). */
function linkIn(raw) {
  const text = raw.replace(/=\r\n/g, "").replace(/=3D/g, "=");
  const m = text.match(/http:\/\/[^\s]+\/my\/demo\/link\/[A-Za-z0-9_-]{43}/);
  assert.ok(m, `a link in:\n${raw}`);
  return new URL(m[0]).pathname;
}

test("the MyAgency pages are accessible and work without JavaScript", async () => {
  const sink = await smtpSink();
  after(() => sink.child.kill());
  // The pages hold no script (the CSP allows none); axe itself needs JavaScript, so the page keeps it on.
  const page = await suite.browser.newPage();
  const problems = watch(page);
  const { check, failures } = axeChecks(page);
  const base = suite.server.base;

  // Before the agency can send email, asking by email says so, naming the field.
  await page.goto(`${base}/my/demo?lang=en`);
  await check("sign-in form");
  await page.locator("#address").fill("not an address");
  await page.getByRole("button", { name: "Send me a link" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Email address or mobile phone number: Enter an email address/);
  await check("sign-in form with an error");

  // The admin sets the email sender to the sink (the admin's pages use JavaScript-free forms too).
  const admin = await suite.browser.newPage();
  const org = await signIn(admin, suite.server);
  await admin.goto(`${base}/admin/o/${org}/outreach/email`);
  await admin.locator("#host").fill("127.0.0.1");
  await admin.locator("#port").fill(String(sink.port));
  await admin.locator("#tls_mode").selectOption("none");
  await admin.locator("#from_address").fill("feedback@demo.example.gov");
  await admin.getByRole("button", { name: "Save the email sender" }).click();
  await admin.waitForLoadState();
  assert.match(await admin.locator("main").innerText(), /Saved/);

  await page.goto(`${base}/my/demo?lang=en`);
  await page.locator("#address").fill("Person@Example.org");
  await page.getByRole("button", { name: "Send me a link" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /If this email address can receive mail/);
  await check("check your messages");
  const raw = await message(sink, 1);
  assert.match(raw, /Subject: .*your link to sign in/);
  const link = linkIn(raw);

  await page.goto(`${base}${link}`);
  await check("the link's page");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("h1").innerText(), /Your feedback and requests/);
  assert.match(await page.locator("main").innerText(), /We have no survey answers from you/);
  await check("the person's page");
  // Preferences: Spanish from now on.
  await page.locator("label[for=contact-none]").click();
  await page.locator("label[for=language-es]").click();
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("h1").innerText(), /Sus comentarios y solicitudes/);
  assert.match(await page.locator("main").innerText(), /Guardamos sus opciones/);
  await check("the person's page in Spanish");

  await page.getByRole("link", { name: "Retirar mi consentimiento y borrar mis comentarios" }).click();
  await page.waitForLoadState();
  await check("the deletion's confirmation");
  await page.getByRole("button", { name: "Sí, borrar mis comentarios" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Su pedido de borrar sus comentarios/);
  await check("the page after asking to delete");

  // The link opened once; now it is the one not-found page.
  await page.goto(`${base}${link}?lang=en`);
  assert.match(await page.locator("h1").innerText(), /This link does not work/);
  await check("a used link");
  // Signing out.
  await page.goto(`${base}/my/demo?lang=en`);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Send me a link|Envíenme un enlace/);

  assert.deepEqual(failures, [], failures.join("\n"));
  // The refused form (422) and the used link (404) are answered with those statuses on purpose.
  assert.deepEqual(problems.filter((p) => !/status of (422|404)/.test(p)), []);
});
