// What the Chromium tests share: one static server and one browser per test file, and shop
// tabs (tests/pages/tab.html) opened on them with `window.k` ready.
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { launchChromium } from "./chromium.mjs";
import { serveRepository } from "./static-server.mjs";

export { TAB_CATALOG } from "../pages/catalog.mjs";

/**
 * Starts the server (with `serveRepository` options) and the browser for this test file; read
 * them after `before` ran.
 */
export function useShop(options = {}) {
  const shop = { server: undefined, browser: undefined };
  before(async () => {
    shop.server = await serveRepository(options);
    shop.browser = await launchChromium();
  });
  after(async () => {
    await shop.browser?.close();
    await shop.server?.close();
  });
  return shop;
}

/** Opens a tab of `site` with extra `Kindred.create` options; fails on page errors. */
export async function openTab(shop, context, site, options = {}) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  const query = new URLSearchParams({ site, opts: JSON.stringify(options) });
  await page.goto(`${shop.server.url}/tests/pages/tab.html?${query}`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 10_000 });
  assert.deepEqual(errors, []);
  return page;
}

/** Tracks a small day of shopping yesterday (a search too, which never leaves the device) and saves it. */
export function shopYesterday(page) {
  return page.evaluate(async () => {
    const ts = Date.now() - 86_400_000;
    window.k.track({ type: "view", item: "p1", ts });
    window.k.track({ type: "cart", item: "p2", ts: ts + 1000 });
    window.k.track({ type: "purchase", item: "p2", ts: ts + 2000 });
    window.k.track({ type: "search", query: "secret gift for my partner", ts: ts + 3000 });
    await window.k.flush();
  });
}
