// The browser module against the real kindred server (crates/server), in headless Chromium:
// a shop page on one origin sends its daily report cross-origin to the server (CORS
// preflight, JSON, no credentials) and the server counts it in its contribution window, open
// until the window ends; the page's loadModel() installs the model the server publishes from
// the windows it released, then revalidates with its ETag (304). A page on an origin the
// server does not list cannot get a report counted. The owner's dashboard draws its charts
// (Chart.js from npm, compiled into the binary).
//
// A window is released only after it ends (and its release delay), on the server's real
// clock, so a report sent now cannot be in a model yet: the released windows come from
// `kindred demo-seed`, simulated shoppers of this page's catalog who went through the real
// ingest and release, on the server's default privacy settings (which the page uses too).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./support/chromium.mjs";
import { openTab, shopYesterday, TAB_CATALOG } from "./support/shop-tabs.mjs";
import { buildKindred, startKindred } from "./support/kindred-server.mjs";
import { serveRepository } from "./support/static-server.mjs";

const TOKEN = "node-test-admin-token-0123456789";
const DAY = 86_400_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ctx = { shop: undefined, kindred: undefined, browser: undefined };

before(async () => {
  ctx.shop = await serveRepository();
  const dir = fileURLToPath(new URL("../target/tmp/server-test/", import.meta.url));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}catalog.json`, JSON.stringify(TAB_CATALOG));
  const seeded = spawnSync(buildKindred(), ["demo-seed", "--catalog", `${dir}catalog.json`, "--database", `${dir}kindred.db`,
    "--shoppers", "200", "--days", "60"], { encoding: "utf8" });
  assert.equal(seeded.status, 0, seeded.stderr);
  ctx.kindred = await startKindred("e2e", [
    "--database", `${dir}kindred.db`,
    "--allowed-origins", ctx.shop.url,
    "--site", "E2E Shop",
  ], { KINDRED_ADMIN_TOKEN: TOKEN });
  ctx.browser = await launchChromium();
});

after(async () => {
  await ctx.browser?.close();
  await ctx.shop?.close();
  if (ctx.kindred) assert.equal(await ctx.kindred.stop(), 0, "kindred exits 0 on SIGTERM");
});

const admin = (path, init = {}) =>
  fetch(`${ctx.kindred.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}` } });

async function pendingReports() {
  const stats = await (await admin("/v1/stats")).json();
  return stats.pendingReports;
}

/** A shop tab on `origin` (the static server under another name works too). */
const openShop = (context, origin, site) =>
  openTab({ server: { url: origin } }, context, site, {
    endpoint: ctx.kindred.url,
    reportDelayMs: 50,
    retryDelayMs: 200,
  });

test("a shop page reports cross-origin into its window and installs the model the server publishes", async () => {
  const context = await ctx.browser.newContext();
  const page = await openShop(context, ctx.shop.url, "e2e-report");
  assert.equal(await pendingReports(), 0, "the seeded windows are all released");
  await shopYesterday(page);
  await page.waitForFunction(() => window.k.privacy().outbox.length === 0 && window.k.privacy().lastReportedDay != null,
    null, { timeout: 10_000 });
  const warnings = await page.evaluate(() => window.warnings.map((w) => w.code));
  assert.deepEqual(warnings.filter((w) => w.startsWith("report-")), [], "accepted on the first try");
  assert.equal(await pendingReports(), 1, "the server counted the report");
  const yesterday = Math.floor(Date.now() / DAY) - 1;
  const window = yesterday - (yesterday % 30);
  const stats = await (await admin("/v1/stats")).json();
  const row = stats.windows.find((w) => w.window === window);
  assert.deepEqual(row && [row.days, row.reports, row.released], [30, 1, false], JSON.stringify(stats.windows));
  assert.equal(row.releasesOn, window + 30 + 1, "released the day after its release delay");

  const rebuilt = await (await admin("/v1/admin/rebuild", { method: "POST" })).json();
  assert.deepEqual(rebuilt.released, [], "an open window is not released");
  const modelUrl = `${ctx.kindred.url}/v1/model`;
  const first = await page.evaluate((url) => window.k.loadModel(url), modelUrl);
  assert.deepEqual(first, { status: "fetched", version: rebuilt.modelVersion });
  const second = await page.evaluate((url) => window.k.loadModel(url), modelUrl);
  assert.equal(second.status, "not-modified", "revalidated with the ETag across origins");
  const trending = await page.evaluate(() => window.k.recommend({ strategy: "trending", k: 3 }));
  assert.equal(trending.length, 3);
  assert.ok(trending.every((r) => r.reasons.includes("trending now")), `the shared model ranks: ${JSON.stringify(trending)}`);
  await context.close();
});

test("a page on an origin the server does not list cannot get a report counted", async () => {
  const before = await pendingReports();
  const context = await ctx.browser.newContext();
  // Same files, another origin: localhost instead of 127.0.0.1.
  const page = await openShop(context, ctx.shop.url.replace("127.0.0.1", "localhost"), "e2e-foreign");
  await shopYesterday(page);
  await page.waitForFunction(() => window.warnings.some((w) => w.code === "report-delayed"), null, { timeout: 10_000 });
  await sleep(300);
  assert.equal(await pendingReports(), before, "the preflight failed, nothing was counted");
  assert.equal((await page.evaluate(() => window.k.privacy())).outbox.length, 1, "kept for later");
  await context.close();
});

test("the dashboard draws the released numbers with Chart.js", async () => {
  const context = await ctx.browser.newContext({ httpCredentials: { username: "owner", password: TOKEN } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
  await page.goto(`${ctx.kindred.url}/dashboard`);
  await page.waitForSelector("body[data-loaded=true]", { timeout: 10_000 });
  const view = await page.evaluate(() => {
    const labels = (id) => window.Chart.getChart(id)?.data.labels ?? null;
    return {
      site: document.getElementById("site").textContent,
      chartMissing: document.getElementById("chart-missing").hidden,
      version: window.Chart.version,
      reports: window.Chart.getChart("reports-chart")?.data.datasets.map((d) => d.data.reduce((a, b) => a + b, 0)),
      top: labels("top-chart"),
      interests: labels("interests-chart"),
      interestsNote: !document.getElementById("interests-chart").closest("article").querySelector(".empty").hidden,
      strategies: labels("strategies-chart"),
      strategyHeader: [...document.querySelectorAll("#strategies-table th")].map((th) => th.textContent),
      forYou: [...document.querySelectorAll("#strategies-table tbody tr")].map((tr) => [...tr.cells].map((c) => c.textContent))
        .find((cells) => cells[0] === "for-you"),
      suppressed: labels("suppressed-chart"),
      privacy: document.getElementById("privacy-facts").textContent,
      model: document.getElementById("model-facts").textContent,
    };
  });
  assert.equal(view.site, "E2E Shop");
  assert.equal(view.chartMissing, true, "Chart.js is in the binary");
  assert.equal(view.version, "4.6.1");
  assert.ok(view.reports[0] > 1000, `the seeded windows' released threshold reports: ${view.reports}`);
  assert.ok(view.top.length > 0 && view.top.every((id) => /^p\d+$/.test(id)), `top items: ${view.top}`);
  // The test catalog has no categories, brands or prices: no interests, and the page says so.
  assert.equal(view.interests, null);
  assert.equal(view.interestsNote, true);
  assert.ok(Array.isArray(view.strategies), `${view.strategies}`);
  assert.deepEqual(view.strategyHeader, ["strategy", "shoppers shown", "shoppers who clicked", "click-through per shopper"]);
  // The 200 seeded shoppers were shown the for-you rail with every product, each counted once
  // in the newest window (noise σ about 15).
  assert.ok(view.forYou && Number(view.forYou[1].replace(/[^\d.]/g, "")) > 100, `for-you row: ${view.forYou}`);
  assert.equal(view.suppressed.length, 2, "one bar per released window");
  assert.match(view.privacy, /k \(distinct shoppers per key and window\)10/);
  assert.match(view.privacy, /window30 days/);
  assert.match(view.model, /version1/);
  assert.deepEqual(problems, [], "no script errors or CSP violations");
  await context.close();
});
