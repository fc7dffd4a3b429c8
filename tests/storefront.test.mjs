// The storefront script tag on the demo shop (www/), end to end: the real `kindred serve`
// (seeded with simulated shoppers), the built dist/kindred.js and Debian's Chromium.
// - A shopper journey (browse a category, view, add to cart, buy) visibly changes the for-you
//   and bought-together rails, and a reload keeps the profile.
// - The demo's strict Content-Security-Policy (no unsafe-eval, no inline code) is enforced and
//   the shop works under it.
// - Two tabs at once lose no event tracked from the markup.
// - The script tag's own API: window.kindred before and after start, templates and default
//   slots, a form search, a bad slot.
// - Screenshots of the product page and the privacy centre (test-results/e2e/).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  ARTIFACTS, answerConsent, ready, shopperContext, slotItems, slotReasons, useDemoShop, visit, waitForEvents,
} from "./support/demo-shop.mjs";

const shop = useDemoShop("storefront");
const DAY_MS = 86_400_000;

test("a shopper journey changes the for-you and bought-together rails; a reload keeps the profile", async () => {
  const context = await shopperContext(shop);
  const page = await visit(shop, context, "/");
  await answerConsent(page, true);
  const forYouBefore = await slotItems(page, "for-you");
  assert.equal(forYouBefore.length, 8, "a new shopper gets a full for-you rail (cold start)");
  assert.ok((await slotReasons(page, "for-you")).every((r) => !/which you |your interests|items you like/.test(r)), "nothing personal yet");

  // Browse a category: the first product cards are in view for more than a second.
  await page.getByRole("navigation", { name: "Departments" }).getByRole("link", { name: "Home" }).click();
  await page.waitForURL(/category=Home/);
  await ready(page);
  await waitForEvents(page, "view", 2);
  const viewed = await page.evaluate(() => window.kindred.exportData().events.map((e) => e.item));
  const homeIds = await page.evaluate(() => [...document.querySelectorAll("#listing [data-kindred-item]")].map((e) => e.dataset.kindredItem));
  assert.ok(viewed.every((id) => homeIds.includes(id)), "only products that were on screen count as viewed");

  // Open a product: a click, then a view once it has been on screen for a second.
  const first = page.locator("#listing .card-link").first();
  const anchor = await page.locator("#listing [data-kindred-item]").first().getAttribute("data-kindred-item");
  await first.click();
  await page.waitForURL(/product\.html/);
  await ready(page);
  const together = await slotItems(page, "bought-together");
  assert.ok(together.length > 0, "bought-together has items (shared model or content)");
  // Its items are what shoppers viewed or bought together (views make pairs too): neither the
  // heading nor a reason says they were bought together.
  assert.doesNotMatch(await page.locator("#h-together").textContent(), /bought together/i);
  const togetherReasons = await slotReasons(page, "bought-together");
  assert.ok(togetherReasons.every((r) => !/bought together/i.test(r)), togetherReasons.join("; "));
  const reasons = await slotReasons(page, "similar");
  assert.ok(reasons.length > 0);

  // Take one of its bought-together items: the click is attributed to that rail.
  const picked = together[0];
  await page.locator(`[data-kindred-slot="bought-together"] [data-kindred-item="${picked}"] a`).click();
  await page.waitForURL(new RegExp(`id=${picked}`));
  await ready(page);
  const clicks = await page.evaluate(() => window.kindred.exportData().events.filter((e) => e.type === "click").map((e) => e.item));
  assert.ok(clicks.includes(picked), "the rail click was tracked");
  await page.getByRole("button", { name: "Add to cart" }).click();
  await waitForEvents(page, "cart", 1);

  // Buy it.
  await visit(shop, page, "/cart.html");
  await page.getByRole("button", { name: "Buy now" }).click();
  await page.getByText(/Thank you! Order/).waitFor();
  await waitForEvents(page, "purchase", 1);

  // The rails changed: the bought item left the anchor's bought-together rail, and for-you
  // now follows what the shopper did.
  await visit(shop, page, `/product.html?id=${anchor}`);
  const togetherAfter = await slotItems(page, "bought-together");
  assert.ok(!togetherAfter.includes(picked), "a bought item is not offered again");
  assert.notDeepEqual(togetherAfter, together);
  await visit(shop, page, "/");
  const forYouAfter = await slotItems(page, "for-you");
  assert.notDeepEqual(forYouAfter, forYouBefore, "for-you changed");
  assert.ok((await slotReasons(page, "for-you")).some((r) => /which you |your interests|items you like/.test(r)), "for-you explains itself by the journey");
  assert.ok((await slotItems(page, "buy-again")).includes(picked), "buy-again offers the purchase");
  const profile = await page.evaluate(() => window.kindred.profile());
  assert.ok(profile.interests.length > 0);

  // A reload keeps the profile and the rails.
  await page.reload();
  await ready(page);
  const restored = await page.evaluate(() => window.kindred.profile());
  assert.deepEqual(restored.interests.map((i) => i.key), profile.interests.map((i) => i.key));
  for (const [i, interest] of restored.interests.entries()) {
    // Weights decay with time; the few seconds of the reload change them very slightly.
    assert.ok(Math.abs(interest.weight - profile.interests[i].weight) < 1e-3, interest.key);
  }
  assert.equal(restored.events, profile.events);
  assert.deepEqual(await slotItems(page, "for-you"), forYouAfter);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("the strict Content-Security-Policy is enforced and the shop works under it", async () => {
  const context = await shopperContext(shop, {
    initScript: () => {
      window.violations = [];
      document.addEventListener("securitypolicyviolation", (e) => window.violations.push(`${e.effectiveDirective} ${e.blockedURI}`));
    },
  });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  await visit(shop, page, "/product.html?id=p-0002");
  const policy = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]').content);
  assert.match(policy, /script-src 'self' 'wasm-unsafe-eval';/);
  assert.doesNotMatch(policy, /'unsafe-eval'|'unsafe-inline'/);
  for (const strategy of ["bought-together", "similar", "for-you"]) {
    assert.ok((await slotItems(page, strategy)).length > 0, `${strategy} is filled under the policy`);
  }
  assert.deepEqual(await page.evaluate(() => window.violations), [], "kindred needed nothing the policy forbids");
  assert.deepEqual(consoleErrors, []);
  // The policy is really in force: inline code and eval are refused.
  const refused = await page.evaluate(async () => {
    const script = document.createElement("script");
    script.textContent = "window.inlineRan = true";
    document.head.append(script);
    await new Promise((r) => setTimeout(r, 50));
    let evalResult;
    try {
      evalResult = window.eval("1 + 1");
    } catch (e) {
      evalResult = e.name;
    }
    return { inlineRan: window.inlineRan === true, evalResult, violations: window.violations };
  });
  assert.equal(refused.inlineRan, false, "an inline script is blocked");
  assert.equal(refused.evalResult, "EvalError", "eval is blocked");
  assert.ok(refused.violations.some((v) => v.startsWith("script-src-elem inline")), refused.violations.join("; "));
  await context.close();
});

test("two tabs tracking from the markup at the same time lose no event", async () => {
  const context = await shopperContext(shop);
  const [a, b] = [await visit(shop, context, "/?category=Home"), await visit(shop, context, "/?category=Books")];
  // Dismiss the banner in both tabs without consenting (tracking is local either way).
  await answerConsent(a, false);
  await b.reload();
  await ready(b);
  const addAll = async (page, rounds) => {
    const buttons = page.locator("#listing button.add");
    for (let i = 0; i < rounds; i++) {
      // A dispatched click: a background tab gets no animation frames for Playwright's
      // actionability checks, and this test is about the two tabs' storage, not the mouse.
      await buttons.nth(i % 6).dispatchEvent("click");
      if (i % 3 === 2) await page.waitForTimeout(15);
    }
  };
  await Promise.all([addAll(a, 15), addAll(b, 12)]);
  const third = await visit(shop, context, "/cart.html");
  await third.waitForFunction(() => window.kindred.exportData().events.filter((e) => e.type === "cart").length === 27,
    null, { timeout: 10_000 });
  for (const page of [a, b]) {
    await page.waitForFunction(() => window.kindred.exportData().events.filter((e) => e.type === "cart").length === 27,
      null, { timeout: 10_000 });
  }
  await context.close();
});

test("events just before a navigation are neither lost nor doubled", async () => {
  const context = await shopperContext(shop);
  const page = await visit(shop, context, "/?category=Toys");
  await answerConsent(page, false);
  const opened = [];
  for (let i = 0; i < 5; i++) {
    // Click a product and leave at once: the click is saved by this page or replayed by the next.
    const card = page.locator("#listing [data-kindred-item]").nth(i);
    opened.push(await card.getAttribute("data-kindred-item"));
    await card.locator("a").click();
    await page.waitForURL(/product\.html/);
    await page.goBack();
    await ready(page);
  }
  await visit(shop, page, "/cart.html");
  const clicks = await page.evaluate(() => window.kindred.exportData().events.filter((e) => e.type === "click").map((e) => e.item));
  assert.deepEqual(clicks, opened);
  await context.close();
});

test("a click whose write failed waits in the journal past a page without a catalog", async () => {
  // The listing page cannot write IndexedDB (every put throws, as a full disk would), and the
  // product page it opens gets no catalog. The click must survive both and land on the page
  // after (the journal used to let it go as soon as flush() resolved, and a page with no
  // catalog dropped what it could not track).
  const context = await shopperContext(shop, {
    initScript: () => {
      if (!location.search.includes("category=")) return;
      IDBObjectStore.prototype.put = () => {
        throw new DOMException("the test's disk is full", "QuotaExceededError");
      };
    },
  });
  let catalogFails = false;
  await context.route("**/catalog.json", (route) => (catalogFails ? route.abort("connectionreset") : route.fallback()));
  const listing = await visit(shop, context, "/?category=Toys");
  await answerConsent(listing, false);
  const card = listing.locator("#listing [data-kindred-item]").first();
  const item = await card.getAttribute("data-kindred-item");
  catalogFails = true;
  await card.locator("a").click();
  await listing.waitForURL(/product\.html/);
  const product = await ready(listing);
  assert.equal(await product.evaluate(() => window.kindred.status().catalogSize), 0, "the product page has no catalog");
  const journaled = await product.evaluate(() => JSON.parse(sessionStorage.getItem("kindred:journal:default")).map((e) => e.item));
  assert.deepEqual(journaled, [item], "the click is still journaled");
  catalogFails = false;
  await visit(shop, product, "/cart.html");
  await waitForEvents(product, "click", 1);
  const clicks = await product.evaluate(() => window.kindred.exportData().events.filter((e) => e.type === "click").map((e) => e.item));
  assert.deepEqual(clicks, [item], "saved once, by the first page that could");
  await product.waitForFunction(() => sessionStorage.getItem("kindred:journal:default") === null);
  await context.close();
});

test("window.kindred, templates and default slots, form searches and bad slots", async () => {
  const context = await shopperContext(shop);
  const page = await context.newPage();
  await page.goto(`${shop.url}/search.html?q=mug`);
  const early = await page.evaluate(() => typeof window.kindred.ready.then);
  assert.equal(early, "function", "window.kindred.ready exists at once");
  await page.evaluate(() => window.kindred.ready);
  await ready(page);
  const api = await page.evaluate(() => ["track", "recommend", "profile", "privacy", "exportData", "forget", "consent", "explain"]
    .every((name) => typeof window.kindred[name] === "function"));
  assert.ok(api, "window.kindred is the full API once ready");
  const searches = await page.evaluate(() => window.kindred.exportData().events.filter((e) => e.type === "search").map((e) => e.query));
  assert.deepEqual(searches, ["mug"], "the results page's ?q= counts as one search");
  await page.reload();
  await ready(page);
  assert.equal(await page.evaluate(() => window.kindred.exportData().events.filter((e) => e.type === "search").length), 1,
    "a reload is not a second search");

  // Slots added later, with and without a template; a form marked data-kindred-search.
  const result = await page.evaluate(async () => {
    const rendered = (el) => new Promise((resolve) => el.addEventListener("kindred:render", (e) => resolve(e.detail), { once: true }));
    const plain = document.createElement("div");
    plain.setAttribute("data-kindred-slot", "similar");
    plain.setAttribute("data-item", "p-0001");
    plain.setAttribute("data-count", "3");
    const bad = document.createElement("div");
    bad.setAttribute("data-kindred-slot", "bought-together");
    bad.setAttribute("data-item", "no-such-product");
    const plainDone = rendered(plain);
    document.querySelector("main").append(plain, bad);
    const detail = await plainDone;
    await new Promise((r) => setTimeout(r, 100));
    const list = plain.querySelector("ul.kindred-list");
    const form = document.createElement("form");
    form.setAttribute("data-kindred-search", "");
    form.innerHTML = '<input type="search" name="find" value="陶瓷 mug">';
    form.addEventListener("submit", (e) => e.preventDefault());
    document.querySelector("main").append(form);
    form.requestSubmit();
    return {
      strategy: detail.strategy,
      count: detail.items.length,
      label: list.getAttribute("aria-label"),
      links: [...list.querySelectorAll("li a[href]")].map((a) => a.getAttribute("href")),
      prices: [...list.querySelectorAll(".kindred-price")].map((p) => p.textContent),
      badState: bad.getAttribute("data-kindred-state"),
      templated: [...document.querySelectorAll('[data-kindred-slot="for-you"] > article.card')].length,
      searches: window.kindred.exportData().events.filter((e) => e.type === "search").map((e) => e.query),
    };
  });
  assert.equal(result.strategy, "similar");
  assert.equal(result.count, 3);
  assert.equal(result.label, "Similar products");
  assert.ok(result.links.every((href) => /^\/product\.html\?id=p-\d{4}$/.test(href)), result.links.join());
  assert.ok(result.prices.every((p) => p.startsWith("€")), result.prices.join());
  assert.equal(result.badState, "error", "an unknown anchor marks the slot, nothing throws");
  assert.equal(result.templated, 8, "the page's <template> renders the for-you rail");
  assert.deepEqual(result.searches, ["mug", "陶瓷 mug"]);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("screenshots: the product page and the privacy centre", async () => {
  // Yesterday's shopping makes today's report due, so the privacy centre shows it (pending:
  // the shopper has not answered the consent banner).
  const context = await shopperContext(shop, { time: Date.now() - DAY_MS });
  const page = await visit(shop, context, "/?category=Home%20%3E%20Kitchen");
  await waitForEvents(page, "view", 2);
  await visit(shop, page, "/product.html?id=p-0003");
  await waitForEvents(page, "view", 3);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await visit(shop, page, "/search.html?q=%E9%99%B6%E7%93%B7");
  await page.evaluate(() => window.kindred.flush());
  await context.clock.fastForward(DAY_MS);
  await visit(shop, page, "/product.html?id=p-0003");
  await page.evaluate(() => document.querySelector(".consent")?.setAttribute("hidden", ""));
  await page.screenshot({ path: `${ARTIFACTS}/product.png`, fullPage: true });
  await visit(shop, page, "/privacy.html");
  await page.locator("#next-report").waitFor();
  await page.evaluate(() => document.querySelector(".consent")?.setAttribute("hidden", ""));
  await page.screenshot({ path: `${ARTIFACTS}/privacy-centre.png`, fullPage: true });
  const shown = await page.evaluate(() => ({
    interests: document.querySelectorAll("#interests [data-interest]").length,
    history: document.querySelector("#history-count").textContent,
    report: JSON.parse(document.querySelector("#next-report").textContent),
    exact: document.querySelector("#next-report").textContent === window.kindred.privacy().nextReport.json,
  }));
  assert.ok(shown.interests > 0, "interests are listed");
  assert.match(shown.history, /^\d+ event\(s\)/);
  assert.ok(shown.exact, "the page shows the exact report text");
  const yesterday = Math.floor(Date.now() / DAY_MS) - 1;
  assert.deepEqual([shown.report.v, shown.report.window, shown.report.days], [2, yesterday - (yesterday % 30), 30]);

  // Remove an interest; export everything as JSON.
  const first = await page.locator("#interests [data-interest]").first().getAttribute("data-interest");
  await page.locator(`[data-remove-interest="${first}"]`).click();
  await page.getByText(/^Removed \(kept out of your recommendations\)/).waitFor();
  assert.equal(await page.locator(`#interests [data-interest="${first}"]`).count(), 0);
  assert.deepEqual(await page.evaluate(() => window.kindred.profile().removedInterests), [first]);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export as JSON" }).click()]);
  assert.equal(download.suggestedFilename(), "kindred-data.json");
  const exported = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.ok(exported.events.length >= 3 && exported.removedInterests.includes(first));
  await context.close();
});
