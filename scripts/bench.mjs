// `npm run bench`: the in-browser benchmark page (www/bench/) in Debian's Chromium through
// playwright-core, against the built, wasm-opt'd module (pkg/, the bytes that ship). Prints
// median and p95 per operation and catalog size, and the targets from PRODUCT.md next to them.
//
// Then the storefront script tag on the demo shop (the real `kindred serve`, 2,000 products and
// a seeded model): time from the script's start to its first filled slots and to `ready`
// (catalog, model and state loaded), on a first visit (new browser profile) and on a reload.
//
// usage: node scripts/bench.mjs [--sizes 1000,10000,100000] [--storefront-runs 15]
import { existsSync } from "node:fs";
import { launchChromium } from "../tests/support/chromium.mjs";
import { startDemoShop } from "../tests/support/demo-server.mjs";
import { serveRepository } from "../tests/support/static-server.mjs";

const sizesArg = process.argv.indexOf("--sizes");
const sizes = sizesArg > 0 ? process.argv[sizesArg + 1] : "1000,10000,100000";
const runsArg = process.argv.indexOf("--storefront-runs");
const storefrontRuns = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 15;
if (!existsSync(new URL("../pkg/kindred_bg.wasm", import.meta.url))) {
  console.error("error: pkg/ is missing: run `npm run build` first");
  process.exit(1);
}

const TARGETS = {
  "track (memory)": () => 0.02,
  "track (indexeddb)": () => 0.02,
  "recommend for-you k=10": (size) => (size >= 100_000 ? 20 : size >= 10_000 ? 2 : null),
  loadCatalog: (size) => (size === 10_000 ? 150 : null),
};

const server = await serveRepository();
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  page.on("console", (m) => m.type() === "error" && console.error(m.text()));
  await page.goto(`${server.url}/www/bench/index.html?sizes=${sizes}`);
  await page.waitForFunction(() => window.benchResults !== undefined, null, { timeout: 600_000, polling: 500 });
  const { error, results, userAgent, crossOriginIsolated } = await page.evaluate(() => window.benchResults);
  if (error) throw new Error(`the benchmark page failed: ${error}`);
  const fmt = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`);
  console.log(`${userAgent}\ncross-origin isolated (5 µs timers): ${crossOriginIsolated}\n`);
  console.log(`${"operation".padEnd(24)} ${"items".padStart(7)} ${"median".padStart(10)} ${"p95".padStart(10)}  target`);
  for (const r of results) {
    const target = TARGETS[r.op]?.(r.size);
    const verdict = target == null ? "" : `<= ${fmt(target)} ${r.median <= target ? "ok" : "MISSED"}`;
    console.log(`${r.op.padEnd(24)} ${String(r.size).padStart(7)} ${fmt(r.median).padStart(10)} ${fmt(r.p95).padStart(10)}  ${verdict}`);
  }
  await storefront(browser);
} finally {
  await browser.close();
  await server.close();
}

/** Milliseconds from the script's start to its first filled slots and to ready, per run. */
async function storefront(browser) {
  const shop = await startDemoShop("bench");
  const url = `${shop.url}/product.html?id=p-0003`;
  const timings = { "first visit": [], reload: [] };
  const measure = (page) =>
    page.evaluate(() => {
      const at = (name) => performance.getEntriesByName(name)[0].startTime;
      return { slots: at("kindred:slots") - at("kindred:start"), ready: at("kindred:ready") - at("kindred:start") };
    });
  try {
    for (let run = 0; run < storefrontRuns; run++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(url);
      await page.waitForFunction(() => performance.getEntriesByName("kindred:ready").length > 0, null, { timeout: 30_000 });
      timings["first visit"].push(await measure(page));
      await page.reload();
      await page.waitForFunction(() => performance.getEntriesByName("kindred:ready").length > 0, null, { timeout: 30_000 });
      timings.reload.push(await measure(page));
      await context.close();
    }
  } finally {
    await shop.stop();
  }
  const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
  console.log(`\nstorefront script on the demo product page (2,000 products, ${storefrontRuns} runs)`);
  console.log(`${"visit".padEnd(12)} ${"slots median".padStart(13)} ${"p95".padStart(9)} ${"ready median".padStart(13)} ${"p95".padStart(9)}`);
  for (const [visit, runs] of Object.entries(timings)) {
    const slots = runs.map((r) => r.slots);
    const ready = runs.map((r) => r.ready);
    const ms = (x) => `${x.toFixed(1)} ms`;
    console.log(`${visit.padEnd(12)} ${ms(quantile(slots, 0.5)).padStart(13)} ${ms(quantile(slots, 0.95)).padStart(9)} ${ms(quantile(ready, 0.5)).padStart(13)} ${ms(quantile(ready, 0.95)).padStart(9)}`);
  }
}
