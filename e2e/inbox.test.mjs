// End to end, in a real browser: an admin makes an API key, their systems send signals (one a call transcript) and
// call events for one person, and the signals inbox, a signal's page, the events view of the service and the
// person's timeline all show them, pass axe-core and break no Content-Security-Policy rule.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launchBrowser, watch, axe, describeViolations, signIn } from "./harness.mjs";

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

async function send(path, key, items) {
  const r = await fetch(`${server.base}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ items }),
  });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  const body = JSON.parse(text);
  for (const item of body.results) assert.equal(item.status, "created", JSON.stringify(item));
}

test("the signals inbox, a signal, the events view and a person's timeline are accessible", async () => {
  const page = await browser.newPage();
  const problems = watch(page);
  const failures = [];
  const check = async (what) => {
    const v = await axe(page);
    if (v.length) failures.push(describeViolations(what, v));
  };
  const org = await signIn(page, server);

  await page.goto(`${server.base}/admin/o/${org}/api-keys`);
  await page.locator("#name").fill("Contact centre");
  await page.getByRole("button", { name: "Make key" }).click();
  const key = await page.locator("#api-key-secret").inputValue();

  // The events page lists the services; the first is the one events are sent for.
  await page.goto(`${server.base}/admin/o/${org}/events`);
  const service = await page.locator("#f-service option").first().getAttribute("value");
  const now = Date.now();
  const at = (daysAgo) => new Date(now - daysAgo * 86_400_000).toISOString();
  const person = { email: "pat.doe@example.gov" };
  await send("/api/v1/signals", key, [
    { external_id: "e2e-review", source: "review", text: "The office was slow but the staff were kind.", rating: 3, occurred_at: at(3), service_id: service, person },
    { external_id: "e2e-call", source: "call_transcript", occurred_at: at(2), service_id: service, person,
      turns: [{ speaker: "agent", text: "Thanks for calling, how can I help?" }, { speaker: "customer", text: "I have waited a month for my zephyrine payment." }] },
  ]);
  await send("/api/v1/events", key, [1, 2, 3, 4, 5].map((d) => ({
    external_id: `e2e-call-${d}`, type: "call", occurred_at: at(d * 3 + 0.5), service_id: service,
    measures: { wait: 60 * d, transfers: d % 3 }, ...(d === 1 ? { person } : {}),
  })));

  await page.goto(`${server.base}/admin/o/${org}/signals?source=call_transcript`);
  assert.match(await page.locator("main").innerText(), /Call transcript/);
  await check("signals inbox");
  // The demo agency has transcripts of its own: this test's is found by a word only it holds.
  await page.goto(`${server.base}/admin/o/${org}/search?q=zephyrine`);
  await page.locator('main a[href*="/signals/"]').first().click();
  await page.waitForLoadState();
  assert.match(await page.locator("main").innerText(), /Transcript[\s\S]*Agent[\s\S]*Customer[\s\S]*zephyrine/);
  await check("a signal with its transcript");
  const signalPage = page.url();

  await page.goto(`${server.base}/admin/o/${org}/events?service=${service}&chart=call.wait`);
  assert.match(await page.locator("main").innerText(), /Call, by week/);
  assert.equal(await page.locator(".heard-chart svg[role=img]").count(), 1);
  await check("events of a service by week");

  await page.goto(signalPage);
  await page.getByRole("link", { name: /^Person / }).first().click();
  await page.waitForLoadState();
  const timeline = await page.locator("main").innerText();
  assert.match(timeline, /Event: Call[\s\S]*Signal: Review[\s\S]*Signal: Call transcript/);
  assert.doesNotMatch(timeline, /pat\.doe/);
  await check("a person's timeline");

  assert.equal(failures.length, 0, failures.join("\n"));
  assert.deepEqual(problems, []);
});
