// End to end, in a real browser: an admin invites someone, who opens the link signed out, creates an account and
// lands in the organization; a sign-in lockout shows on the members page and the operator's site page. axe-core checks each of these pages.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, watch, axe, describeViolations } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer({ responses: 50 });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

async function signIn(page, email, password) {
  await page.goto(`${server.base}/admin/login`);
  await page.locator("#email").fill(email);
  await page.locator("#password").fill(password);
  await page.locator("#password").press("Enter");
  await page.waitForLoadState();
}

test("an invitation is made, opened signed out, and accepted by creating an account", async () => {
  const admin = await browser.newPage();
  const problems = watch(admin);
  const failures = [];
  const check = async (page, what) => {
    const v = await axe(page);
    if (v.length) failures.push(describeViolations(what, v));
  };
  // Someone mistypes their password five times; the admin sees the lockout.
  const other = await browser.newContext();
  const clumsy = await other.newPage();
  for (let i = 0; i < 5; i++) await signIn(clumsy, "viewer@demo.heard.example", "not the password at all");
  assert.match(await clumsy.locator(".usa-alert").innerText(), /Too many failed sign-ins to this account from this address/);
  await check(clumsy, "sign-in while waiting");
  await other.close();

  await signIn(admin, server.email, server.password);
  const org = admin.url().match(/\/admin\/o\/([^/?]+)/)[1];
  await admin.goto(`${server.base}/admin/o/${org}/members`);
  assert.match(await admin.locator("main").innerText(), /Sign-in lockouts/);
  await check(admin, "members page with a lockout");
  // The demo admin is the site operator: the site page lists the same lockout.
  await admin.goto(`${server.base}/admin/site`);
  assert.match(await admin.locator("main").innerText(), /viewer@demo\.heard\.example/);
  await check(admin, "site page");
  await admin.goto(`${server.base}/admin/o/${org}/members`);
  await admin.locator("#email").fill("new.analyst@example.gov");
  await admin.locator("#role").selectOption("analyst");
  await admin.getByRole("button", { name: "Make invitation link" }).click();
  await admin.waitForSelector("#invite-link");
  const link = await admin.locator("#invite-link").inputValue();
  assert.match(link, /\/admin\/invite\//);
  await check(admin, "members page with a new invitation");

  // The invitee, signed out, opens the link and creates their account.
  const ctx = await browser.newContext();
  const invitee = await ctx.newPage();
  const inviteeProblems = watch(invitee);
  await invitee.goto(link);
  await check(invitee, "invitation page, signed out");
  await invitee.locator("#name").fill("Nia New");
  await invitee.locator("#password").fill("a long and new password");
  await invitee.getByRole("button", { name: "Create account and join" }).click();
  await invitee.waitForURL(new RegExp(`/admin/o/${org}`));
  await check(invitee, "the organization, just joined");
  await ctx.close();

  // The admin now sees the new member.
  await admin.goto(`${server.base}/admin/o/${org}/members`);
  assert.match(await admin.locator("table").first().innerText(), /Nia New/);
  assert.equal(failures.length, 0, failures.join("\n"));
  assert.deepEqual([...problems, ...inviteeProblems].filter((p) => p.includes("CSP")), []);
});
