// The report transport in real Chromium, against a stand-in endpoint on 127.0.0.1: a due report
// goes out once per day (across reloads and tabs), without credentials, exactly as previewed
// by privacy(); consent, Global Privacy Control and Do-Not-Track stop it; a server that is down
// gets it later. Events are tracked "yesterday" (ts), which makes yesterday's report due now.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openTab as open, shopYesterday, useShop } from "./support/shop-tabs.mjs";

const shop = useShop();

const DAY = 86_400_000;
const yesterday = () => Math.floor(Date.now() / DAY) - 1;
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
  assert.equal(preview.nextReport.epoch, yesterday());
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
  assert.equal(report.v, 1);
  assert.equal(report.epoch, yesterday());
  assert.ok(!sent.body.includes("secret"), "search text never leaves the device");
  assert.ok(!/\d{13}/.test(sent.body), "no millisecond timestamps");
  await page.waitForFunction(() => window.k.privacy().outbox.length === 0, null, { timeout: 5_000 });
  const after = await page.evaluate(() => window.k.privacy());
  assert.equal(after.lastReportedEpoch, yesterday());
  assert.ok(after.ledger.spentToday >= 0 && after.ledger.days.length === 1);
  assert.equal(after.outbox.length, 0);
  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(() => window.k.flush());
  await sleep(400);
  assert.equal(shop.server.reports.length, 1, "a reload does not send the day again");
  await context.close();
});

test("two tabs send one report for the day", async () => {
  shop.server.reports.length = 0;
  const context = await shop.browser.newContext();
  const a = await openTab(context, "report-tabs", { consent: "pending" });
  const b = await openTab(context, "report-tabs", { consent: "pending" });
  await shopYesterday(a);
  await shopYesterday(b);
  await Promise.all([a.evaluate(() => window.k.consent("granted")), b.evaluate(() => window.k.consent("granted"))]);
  await waitForReports(1);
  await sleep(600);
  assert.equal(shop.server.reports.length, 1);
  await context.close();
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
