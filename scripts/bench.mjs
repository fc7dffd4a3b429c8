// `npm run bench`: the in-browser benchmark page (www/bench/) in Debian's Chromium through
// playwright-core, against the built, wasm-opt'd module (pkg/, the bytes that ship). Prints
// median and p95 per operation and catalog size, and the targets from PRODUCT.md next to them.
//
// usage: node scripts/bench.mjs [--sizes 1000,10000,100000]
import { existsSync } from "node:fs";
import { launchChromium } from "../tests/support/chromium.mjs";
import { serveRepository } from "../tests/support/static-server.mjs";

const sizesArg = process.argv.indexOf("--sizes");
const sizes = sizesArg > 0 ? process.argv[sizesArg + 1] : "1000,10000,100000";
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
} finally {
  await browser.close();
  await server.close();
}
