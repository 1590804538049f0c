// Starts a real Heard server (the built binary, embedded SQLite, demo data) and a real browser (Debian's chromium
// driven by playwright-core) for the end-to-end tests. Nothing here downloads anything.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { before, after } from "node:test";
import { chromium } from "playwright-core";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const axeSource = readFileSync(join(root, "node_modules/axe-core/axe.min.js"), "utf8");

export function heardBinary() {
  return process.env.HEARD_BIN || join(root, "target/debug/heard");
}

/** Runs `heard serve --demo` on a free port; resolves with its base URL, sign-in, a public survey path, and an
 * emailed invitation's survey and unsubscribe links (`invitationPath`, `unsubscribePath`). */
export async function startServer({ responses = 1500 } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "heard-e2e-"));
  const proc = spawn(heardBinary(), ["serve", "--demo", "--demo-responses", String(responses), "--addr", "127.0.0.1:0", "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, HEARD_LOG: "warn" },
  });
  let out = "";
  let err = "";
  proc.stderr.on("data", (d) => (err += d));
  const info = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 120 s:\n${out}\n${err}`)), 120_000);
    proc.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${out}\n${err}`)));
    proc.stdout.on("data", (d) => {
      out += d;
      const base = out.match(/running on \w+ storage at (http:\/\/\S+)/);
      const login = out.match(/Sign in as (\S+) with password (\S+)/);
      const survey = out.match(/A public survey: http:\/\/[^/\s]+(\S+)/);
      // Printed only when the demo agency was just created (a fresh data directory, as here).
      const invitation = out.match(/An emailed invitation's survey link: http:\/\/[^/\s]+(\S+)/);
      const unsubscribe = out.match(/Its unsubscribe link: http:\/\/[^/\s]+(\S+)/);
      if (base && login && survey && out.includes("Press Ctrl-C")) {
        clearTimeout(timer);
        resolve({ base: base[1], email: login[1], password: login[2], surveyPath: survey[1], invitationPath: invitation?.[1], unsubscribePath: unsubscribe?.[1] });
      }
    });
  });
  return { ...info, dataDir, stop: () => proc.kill("SIGTERM") };
}

/** Signs in as the demo's admin on `page` and returns the demo organization's id from the page it lands on. */
export async function signIn(page, server) {
  await page.goto(`${server.base}/admin/login`);
  await page.locator("#email").fill(server.email);
  await page.locator("#password").fill(server.password);
  await page.locator("#password").press("Enter");
  await page.waitForURL(/\/admin\/o\//);
  return page.url().match(/\/admin\/o\/([^/?]+)/)[1];
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** Collects CSP violations and console errors on a page, so tests can assert there were none. */
export function watch(page) {
  const problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return problems;
}

/** Runs axe-core (WCAG 2.0/2.1 A and AA rules) in the page; returns the violations. Evaluated through the
 * DevTools protocol, so the page's strict CSP is not weakened for the check. */
export async function axe(page) {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
}

export function describeViolations(url, violations) {
  return `${url}\n` + violations.map((v) => `  ${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.join("\n    ")}`).join("\n");
}

/**
 * One demo server and one browser for a test file: registers `before` (start both) and `after` (stop both) and
 * returns an object whose `server` and `browser` are set once `before` has run.
 */
export function demoSuite({ responses = 1500 } = {}) {
  const suite = { server: undefined, browser: undefined };
  before(async () => {
    suite.server = await startServer({ responses });
    suite.browser = await launchBrowser();
  });
  after(async () => {
    await suite.browser?.close();
    suite.server?.stop();
  });
  return suite;
}

/** axe-core over `page` on demand: `check(what)` runs it and keeps any violations, described, in `failures`. */
export function axeChecks(page) {
  const failures = [];
  const check = async (what) => {
    const v = await axe(page);
    if (v.length) failures.push(describeViolations(what, v));
  };
  return { check, failures };
}
