// The released package in real Chromium: two pages of one browser context (two tabs of the
// same shop) tracking at the same time lose no event, a tab sees the other's changes live,
// and state survives a reload.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openTab as open, useShop } from "./support/shop-tabs.mjs";

const shop = useShop();

const openTab = (context, site) => open(shop, context, site);

/** Tracks `count` events in bursts, yielding between them so the two tabs' saves interleave. */
function trackMany(page, type, count) {
  return page.evaluate(
    async ({ type, count }) => {
      for (let i = 0; i < count; i++) {
        window.k.track({ type, item: `p${i % 50}` });
        if (i % 5 === 4) await new Promise((r) => setTimeout(r, 7 + (i % 3) * 11));
      }
      await window.k.flush();
    },
    { type, count },
  );
}

test("two tabs tracking at the same time lose no event", async () => {
  const context = await shop.browser.newContext();
  const [a, b] = [await openTab(context, "two-tabs"), await openTab(context, "two-tabs")];
  await Promise.all([trackMany(a, "view", 120), trackMany(b, "click", 80)]);
  const third = await openTab(context, "two-tabs");
  const stored = await third.evaluate(() => {
    const events = window.k.exportData().events;
    return { views: events.filter((e) => e.type === "view").length, clicks: events.filter((e) => e.type === "click").length };
  });
  assert.deepEqual(stored, { views: 120, clicks: 80 });
  // Both open tabs converge on the same state too.
  await a.waitForFunction(() => window.k.exportData().events.length === 200, null, { timeout: 5_000 });
  await b.waitForFunction(() => window.k.exportData().events.length === 200, null, { timeout: 5_000 });
  assert.ok((await a.evaluate(() => window.updates)).includes("merge"));
  await context.close();
});

test("state survives a reload, and forget empties storage for every tab", async () => {
  const context = await shop.browser.newContext();
  const page = await openTab(context, "reload");
  await page.evaluate(async () => {
    window.k.track({ type: "purchase", item: "p3" });
    window.k.track({ type: "view", item: "p8" });
    window.k.removeInterest("term:sofa");
    await window.k.flush();
  });
  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  const restored = await page.evaluate(() => ({
    events: window.k.exportData().events.length,
    removed: window.k.profile().removedInterests,
    buyAgain: window.k.recommend({ strategy: "buy-again", k: 3 }).map((r) => r.item),
  }));
  assert.deepEqual(restored, { events: 2, removed: ["term:sofa"], buyAgain: ["p3"] });
  const other = await openTab(context, "reload");
  await page.evaluate(() => window.k.forget());
  await other.waitForFunction(() => window.k.exportData().events.length === 0, null, { timeout: 5_000 });
  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  assert.equal(await page.evaluate(() => window.k.exportData().events.length), 0);
  await context.close();
});
