// The report transport in real Chromium, against a stand-in endpoint on 127.0.0.1: a due report
// goes out once per day (across reloads and tabs), without credentials, exactly as previewed
// by privacy(); two tabs holding the same keys contribute each key once per window; consent,
// Global Privacy Control and Do-Not-Track stop it; a server that is down gets it later. Events
// are tracked "yesterday" (ts), which makes yesterday's report due now.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openTab as open, shopYesterday, useShop } from "./support/shop-tabs.mjs";

const shop = useShop();

const DAY = 86_400_000;
const yesterday = () => Math.floor(Date.now() / DAY) - 1;
/** First day of the 30-day contribution window holding `day` (windows are aligned to day 0). */
const windowOf = (day) => day - (day % 30);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A shop tab that reports to the stand-in endpoint quickly. */
const openTab = (context, site, opts) =>
  open(shop, context, site, { endpoint: "/", reportDelayMs: 50, retryDelayMs: 100, ...opts });

async function waitForReports(count, timeout = 5_000) {
  const start = Date.now();
  while (shop.server.reports.length < count && Date.now() - start < timeout) await sleep(25);
}

test("one report per day: as previewed, without credentials or identifiers, never resent", async () => {
  shop.server.reports.length = 0;
  const context = await shop.browser.newContext();
  const page = await openTab(context, "report-once", { consent: "pending" });
  await page.evaluate(() => (document.cookie = "session=shopper-123; path=/"));
  await shopYesterday(page);
  const preview = await page.evaluate(() => window.k.privacy());
  assert.equal(preview.blockedBy, "consent-pending");
  assert.equal(preview.nextReport.day, yesterday());
  assert.equal(preview.nextReport.window, windowOf(yesterday()));
  await sleep(300);
  assert.equal(shop.server.reports.length, 0, "nothing is sent while consent is pending");
  await page.evaluate(() => window.k.consent("granted"));
  await waitForReports(1);
  assert.equal(shop.server.reports.length, 1);
  const [sent] = shop.server.reports;
  assert.equal(sent.body, preview.nextReport.json, "the bytes sent are the bytes shown");
  assert.equal(sent.headers.cookie, undefined, "no cookies");
  assert.equal(sent.headers["content-type"], "application/json");
  assert.equal(sent.headers.referer, undefined, "no referrer");
  const report = JSON.parse(sent.body);
  assert.equal(report.v, 2);
  assert.equal(report.window, windowOf(yesterday()));
  assert.equal(report.days, 30);
  assert.equal(report.epoch, undefined, "no day number on the wire");
  assert.deepEqual(report.items, ["p1", "p2"]);
  assert.ok(!sent.body.includes("secret"), "search text never leaves the device");
  assert.ok(!/\d{13}/.test(sent.body), "no millisecond timestamps");
  await page.waitForFunction(() => window.k.privacy().outbox.length === 0, null, { timeout: 5_000 });
  const after = await page.evaluate(() => window.k.privacy());
  assert.equal(after.lastReportedDay, yesterday());
  assert.equal(after.ledger.windows.length, 1);
  assert.ok(after.ledger.spent > 0 && after.ledger.spent <= after.ledger.cap, `ε ${after.ledger.spent}`);
  assert.ok(Math.abs(after.ledger.spent - preview.nextReport.epsilonAfter) < 1e-6, "the ledger spent what the preview said");
  assert.deepEqual(after.window.items, ["p1", "p2"], "the window holds what was sent");
  assert.equal(after.outbox.length, 0);
  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(() => window.k.flush());
  await sleep(400);
  assert.equal(shop.server.reports.length, 1, "a reload does not send the day again");
  await context.close();
});

test("two tabs holding the same keys send each day once and each key once per window", async () => {
  // Without a BroadcastChannel (as in browsers that lack it) the tabs learn of each other only
  // in storage, when they save and commit: the case the merge before each commit is for.
  for (const channel of [true, false]) {
    shop.server.reports.length = 0;
    const context = await shop.browser.newContext();
    if (!channel) await context.addInitScript(() => delete window.BroadcastChannel);
    const site = `report-tabs-${channel}`;
    const a = await openTab(context, site, { consent: "pending" });
    const b = await openTab(context, site, { consent: "pending" });
    // Both tabs track the same items on the same days.
    const today = Math.floor(Date.now() / DAY);
    const shopOn = (page, items) => page.evaluate(async ({ items, today, DAY }) => {
      for (const [ago, item] of items) window.k.track({ type: "view", item, ts: (today - ago) * DAY + 3_600_000 });
      await window.k.flush();
    }, { items, today, DAY });
    const inA = [[3, "p1"], [2, "p2"], [2, "p1"], [1, "p3"]];
    const inB = [[3, "p2"], [2, "p1"], [1, "p1"], [1, "p2"]];
    await shopOn(a, inA);
    await shopOn(b, inB);
    await Promise.all([a.evaluate(() => window.k.consent("granted")), b.evaluate(() => window.k.consent("granted"))]);
    for (const page of [a, b]) {
      await page.waitForFunction(() => window.k.privacy().nextReport === null && window.k.privacy().outbox.length === 0,
        null, { timeout: 5_000 });
    }
    await sleep(600);
    const reports = shop.server.reports.map((r) => JSON.parse(r.body));
    assert.ok(reports.length >= 1 && reports.length <= 3, `at most one report per day: ${reports.length}`);
    // Per window, every key of the two tabs' days is contributed exactly once.
    const expected = new Map();
    for (const [ago, item] of [...inA, ...inB]) {
      const w = windowOf(today - ago);
      expected.set(w, [...new Set([...(expected.get(w) ?? []), item])].sort());
    }
    const got = new Map();
    for (const r of reports) {
      assert.equal(r.v, 2);
      assert.equal(r.day, undefined);
      got.set(r.window, [...(got.get(r.window) ?? []), ...(r.items ?? [])]);
    }
    for (const [w, items] of got) got.set(w, items.sort());
    assert.deepEqual(Object.fromEntries(got), Object.fromEntries(expected), `channel ${channel}: each key once per window, none missing`);
    for (const w of got.keys()) {
      const pairs = reports.filter((r) => r.window === w).flatMap((r) => (r.pairs ?? []).map((p) => p.join(" ")));
      assert.equal(new Set(pairs).size, pairs.length, `no pair twice in window ${w}: ${pairs}`);
    }
    // No event was lost either, and a reload of one tab sends nothing more.
    await a.reload();
    await a.waitForFunction(() => window.ready === true);
    assert.equal(await a.evaluate(() => window.k.exportData().events.length), inA.length + inB.length);
    await a.evaluate(() => window.k.consent("granted"));
    await sleep(400);
    assert.equal(shop.server.reports.length, reports.length);
    await context.close();
  }
});

test("Global Privacy Control and Do-Not-Track stop reports; local recommendations go on", async () => {
  for (const [signal, script] of [
    ["global-privacy-control", () => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true })],
    ["do-not-track", () => Object.defineProperty(Navigator.prototype, "doNotTrack", { get: () => "1" })],
  ]) {
    shop.server.reports.length = 0;
    const context = await shop.browser.newContext();
    await context.addInitScript(script);
    const page = await openTab(context, `report-${signal}`, {});
    await shopYesterday(page);
    await page.evaluate(() => window.k.consent("granted"));
    await sleep(400);
    assert.equal(shop.server.reports.length, 0, `${signal}: nothing sent`);
    const view = await page.evaluate(() => ({
      blockedBy: window.k.privacy().blockedBy,
      recs: window.k.recommend({ k: 3 }).length,
    }));
    assert.deepEqual(view, { blockedBy: signal, recs: 3 });
    await context.close();
  }
});

test("a server that is down gets the report later, once", async () => {
  shop.server.reports.length = 0;
  shop.server.failNext(503, 503);
  const context = await shop.browser.newContext();
  const page = await openTab(context, "report-retry", {});
  await shopYesterday(page);
  await page.evaluate(() => window.k.flush());
  await waitForReports(3, 8_000);
  await sleep(500);
  assert.deepEqual(shop.server.reports.map((r) => r.status), [503, 503, 202]);
  assert.equal(new Set(shop.server.reports.map((r) => r.body)).size, 1, "the same bytes are retried");
  const warnings = await page.evaluate(() => window.warnings.map((w) => w.code));
  assert.ok(warnings.includes("report-delayed"));
  assert.equal((await page.evaluate(() => window.k.privacy())).outbox.length, 0);
  await context.close();
});

test("a report the server refuses is dropped, and the warning says why", async () => {
  shop.server.reports.length = 0;
  const detail = "reports of 30-day windows are refused: this server counts 7-day windows";
  shop.server.failNext({ status: 400, body: { error: "window-mismatch", detail } });
  const context = await shop.browser.newContext();
  const page = await openTab(context, "report-refused", {});
  await shopYesterday(page);
  await page.waitForFunction(() => window.warnings.some((w) => w.code === "report-rejected"), null, { timeout: 5_000 });
  const warning = await page.evaluate(() => window.warnings.find((w) => w.code === "report-rejected").message);
  assert.match(warning, /^the report for day \d+ was not delivered to .*\/v1\/reports \(HTTP 400 window-mismatch: reports of 30-day windows/);
  await sleep(300);
  assert.equal(shop.server.reports.length, 1, "not retried");
  const view = await page.evaluate(() => window.k.privacy());
  assert.deepEqual([view.outbox.length, view.lastReportedDay, view.nextReport], [0, yesterday(), null], "dropped; the day stays reported");
  await context.close();
});
