// The privacy contract on the wire, end to end: the demo shop (www/) with the storefront script,
// the real `kindred serve`, Debian's Chromium, and Playwright's clock to live through several
// days. Every request of every page is recorded.
// - A long journey over four days across a contribution-window boundary (the last two days of
//   one 30-day window, the first two of the next) sends only schema-valid v2 reports, at most
//   one per day, each naming its window and no day, each key at most once per window (a
//   product of the first window is contributed again in the next), with no item sequences,
//   search text, timestamps, cookies, referrers or identifiers; the ledger starts the new
//   window fresh; kindred's other requests carry no query and nothing personal.
// - Global Privacy Control, or consent still pending: no report is sent.
// - Forget: storage holds nothing about the shopper, the window is closed (no report for the
//   rest of it, whatever is done meanwhile), and the next window contributes again.
// - Server down, then blocked: the page still recommends from the cached model and local
//   history; the report is delivered once the server is back.
import assert from "node:assert/strict";
import { test } from "node:test";
import { answerConsent, DAY_MS, pendingReports, ready, shopperContext, slotItems, slotReasons, useDemoShop, visit, waitForEvents } from "./support/demo-shop.mjs";

const shop = useDemoShop("network");
const MINUTE = 60_000;
const SECRET_QUERY = "secret birthday gift for alex";
const STRATEGIES = ["for-you", "similar", "bought-together", "trending", "recently-viewed", "buy-again"];
const REPORT_KEYS = ["v", "window", "days", "mode", "items", "pairs", "interests", "strategies"];
const WINDOW_DAYS = 30;
/** What kindred itself requests; everything else a page loads is the shop's own page or asset. */
const KINDRED_PATHS = ["/kindred.js", "/kindred_bg.wasm", "/catalog.json", "/v1/model", "/v1/reports"];
const SHOP_ASSETS = ["/demo/shop.css", "/demo/shop.js", "/demo/privacy.js"];

const today = () => Math.floor(Date.now() / DAY_MS);
/** 09:00 UTC, `days` days ago. */
const morning = (days) => (today() - days) * DAY_MS + 9 * 3_600_000;
/** 09:00 UTC on the UTC day number `day`. */
const at9 = (day) => day * DAY_MS + 9 * 3_600_000;
/** First day of the contribution window holding `day` (windows are aligned to day 0). */
const windowOf = (day) => day - (day % WINDOW_DAYS);
/**
 * The window boundary the tests cross: the first day of the current window, so the days before
 * it belong to the previous window. (Shopping starts two days before it; the server counts
 * both windows, its release delay keeps the previous one open.)
 */
const boundary = () => windowOf(today());
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const reportsIn = (log) => log.filter((r) => r.method === "POST" && new URL(r.url).pathname === "/v1/reports");

/** Waits (real time) until `log` holds `count` finished report requests. */
async function waitForReports(log, count, timeout = 10_000) {
  const start = Date.now();
  while (reportsIn(log).filter((r) => r.status !== null).length < count && Date.now() - start < timeout) await sleep(50);
  return reportsIn(log);
}

/**
 * Ends the day: leaves the shop (so no page is mid-request while the clock jumps), jumps a day
 * ahead, opens `path` (which schedules the report), lets its random delay pass and waits until
 * the due report is committed and its delivery attempted (or reports are blocked).
 */
async function nextDay(context, page, path = "/") {
  await page.goto("about:blank");
  await context.clock.fastForward(DAY_MS);
  await visit(shop, page, path);
  await context.clock.fastForward(2 * MINUTE);
  await page.waitForFunction(() => {
    const view = window.kindred.privacy();
    return view.blockedBy !== null || (view.nextReport === null && view.outbox.every((o) => o.attempts > 0));
  }, null, { timeout: 15_000 });
}

/** Throws unless `body` is a report of the documented schema (docs/PRIVACY.md) in threshold mode. */
function assertValidReport(body) {
  const report = JSON.parse(body);
  for (const key of Object.keys(report)) assert.ok(REPORT_KEYS.includes(key), `unexpected report field "${key}"`);
  assert.equal(report.v, 2);
  assert.equal(report.mode, "threshold");
  assert.equal(report.days, WINDOW_DAYS);
  assert.ok(Number.isInteger(report.window) && report.window > 19_000 && report.window % WINDOW_DAYS === 0,
    `window ${report.window} is a window's first day`);
  // No day number: the only day-like number on the wire is the window's first day.
  for (const [n] of body.matchAll(/\d{5,}/g)) assert.equal(Number(n), report.window, `a day-like number ${n} in ${body}`);
  const sortedUnique = (list, what) => {
    assert.ok(Array.isArray(list), what);
    for (let i = 1; i < list.length; i++) assert.ok(list[i - 1] < list[i], `${what} are sorted (no order of events)`);
  };
  const items = report.items ?? [];
  sortedUnique(items, "items");
  for (const id of items) assert.match(id, /^p-\d{4}$/);
  const pairs = report.pairs ?? [];
  sortedUnique(pairs.map((p) => p.join("\u0000")), "pairs");
  for (const [a, b] of pairs) assert.ok(a < b && /^p-\d{4}$/.test(a) && /^p-\d{4}$/.test(b), `pair ${a},${b}`);
  sortedUnique(report.interests ?? [], "interests");
  for (const [name, counts] of Object.entries(report.strategies ?? {})) {
    assert.ok(STRATEGIES.includes(name), name);
    assert.deepEqual(Object.keys(counts).sort(), ["clicks", "impressions"]);
    // Shown and clicked, each at most once per window: a 0 or 1, never a count.
    assert.ok([0, 1].includes(counts.clicks) && [0, 1].includes(counts.impressions), `${name}: ${JSON.stringify(counts)}`);
    assert.ok(counts.clicks + counts.impressions > 0, `${name} says something`);
  }
  return report;
}

/** Throws if a key (item, pair, interest, strategy shown or clicked) is in two reports of one
 * window. */
function assertEachKeyOncePerWindow(reports) {
  const seen = new Map();
  for (const r of reports) {
    const strategies = Object.entries(r.strategies ?? {});
    const keys = [...(r.items ?? []), ...(r.pairs ?? []).map((p) => p.join("+")), ...(r.interests ?? []),
      ...strategies.filter(([, c]) => c.impressions === 1).map(([name]) => `shown:${name}`),
      ...strategies.filter(([, c]) => c.clicks === 1).map(([name]) => `clicked:${name}`)];
    for (const key of keys) {
      const id = `${r.window}/${key}`;
      assert.ok(!seen.has(id), `${key} contributed twice in the window of day ${r.window}`);
      seen.set(id, true);
    }
  }
}

test("a long journey over four days across a window boundary: v2 reports only, one per day, each key once per window, nothing personal on the wire", async () => {
  const log = [];
  const countedBefore = await pendingReports(shop);
  const first = boundary() - 2;
  const context = await shopperContext(shop, { time: at9(first), log });
  const page = await visit(shop, context, "/");
  await answerConsent(page, true);
  // The last two days of one window, then the first two of the next; on the third day the
  // shopper opens the first day's product again.
  const plan = [["Home", 0], ["Books", 1], ["Home", 0], ["Toys", 3]];
  const shoppedDays = [];
  const opened = [];
  let fresh;
  for (const [day, [department, nth]] of plan.entries()) {
    shoppedDays.push(first + day);
    await visit(shop, page, `/?category=${department}`);
    opened.push(await page.locator("#listing [data-kindred-item]").nth(nth).getAttribute("data-kindred-item"));
    await page.locator("#listing .card-link").nth(nth).click();
    await page.waitForURL(/product\.html/);
    await ready(page);
    await page.getByRole("button", { name: "Add to cart" }).click();
    // A site search: the text stays on the device.
    await page.locator("#q").fill(`${SECRET_QUERY} ${day}`);
    await page.locator("#q").press("Enter");
    await page.waitForURL(/search\.html/);
    await ready(page);
    // A click on a recommendation, attributed to its rail.
    await page.locator('[data-kindred-slot="for-you"] [data-kindred-item] a').first().click();
    await page.waitForURL(/product\.html/);
    await ready(page);
    await visit(shop, page, "/cart.html");
    await page.getByRole("button", { name: "Buy now" }).click();
    await waitForEvents(page, "purchase", day + 1);
    await nextDay(context, page, day === 1 ? "/privacy.html" : "/");
    await waitForReports(log, day + 1);
    if (day === 1) {
      // The first day of the new window, before any report of it: the privacy centre shows it
      // fresh.
      await page.locator("#window-dates").waitFor();
      fresh = await page.evaluate(() => ({
        view: window.kindred.privacy(),
        dates: document.querySelector("#window-dates")?.textContent,
        state: document.querySelector("#window-state")?.textContent,
        spent: document.querySelector("#ledger-spent")?.textContent,
      }));
    }
  }
  await sleep(300);

  const reports = reportsIn(log);
  const warnings = await page.evaluate(() => window.kindred.status().warnings);
  assert.equal(reports.length, 4, `one report per day with activity (warnings: ${JSON.stringify(warnings)})`);
  const parsed = reports.map((r) => assertValidReport(r.body));
  assert.deepEqual(parsed.map((r) => r.window), shoppedDays.map(windowOf), "each report names its day's window");
  assert.deepEqual(parsed.map((r) => r.window), [boundary() - WINDOW_DAYS, boundary() - WINDOW_DAYS, boundary(), boundary()]);
  assertEachKeyOncePerWindow(parsed);
  assert.equal(opened[2], opened[0], "the same product on the third day (sanity check of the plan)");
  assert.ok(parsed[0].items.includes(opened[0]), `the first day's product ${opened[0]} is in the first report`);
  assert.ok(parsed[2].items.includes(opened[0]), "and contributed again in the new window");
  assert.ok(!(parsed[1].items ?? []).includes(opened[0]), "but not twice in the first window");

  // The new window started fresh: nothing spent in it on its first day, the old one kept.
  const previous = boundary() - WINDOW_DAYS;
  assert.equal(fresh.view.ledger.window, boundary());
  assert.equal(fresh.view.ledger.spent, 0);
  assert.deepEqual(fresh.view.ledger.windows.map(([w]) => w), [previous]);
  assert.ok(fresh.view.ledger.windows[0][1] > 0);
  assert.equal(fresh.view.window.firstDay, previous, "what was shared belongs to the previous window");
  const iso = (d) => new Date(d * DAY_MS).toISOString().slice(0, 10);
  assert.equal(fresh.dates, `Current window: ${iso(boundary())} to ${iso(boundary() + WINDOW_DAYS - 1)}.`);
  assert.equal(fresh.state, "Nothing shared in this window yet.");
  assert.match(fresh.spent, /^ε 0 of 4/);
  // Two days into it: the ledger and the window hold exactly what its two reports carried.
  const end = await page.evaluate(() => window.kindred.privacy());
  assert.deepEqual(end.ledger.windows.map(([w]) => w), [previous, boundary()]);
  assert.equal(end.ledger.spent, end.ledger.windows[1][1]);
  assert.ok(end.ledger.spent > 0 && end.ledger.spent <= end.ledger.cap);
  assert.equal(end.window.firstDay, boundary());
  assert.deepEqual(end.window.items, [...parsed[2].items, ...parsed[3].items].sort());
  assert.equal(await pendingReports(shop), countedBefore + 4, "the server accepted all four");
  assert.deepEqual(warnings, [], "nothing was rejected, delayed or dropped");
  for (const r of reports) {
    assert.equal(r.status, 202, `the server accepted ${r.body}`);
    assert.equal(r.headers["content-type"], "application/json");
    assert.ok(!r.body.includes("secret") && !r.body.includes("alex"), "search text never leaves the device");
    assert.doesNotMatch(r.body, /\d{10,}/, "no timestamps (seconds or milliseconds)");
    assert.doesNotMatch(r.body, /"ts"|"time"|"date"|"id"|"user"|"session"/, "no time or identifier fields");
  }
  // The shopper was shown the for-you rail and clicked it every day: that is counted once per
  // window, in the window's first report.
  const forYou = parsed.map((r) => r.strategies?.["for-you"] ?? { impressions: 0, clicks: 0 });
  assert.deepEqual(forYou.map((c) => [c.impressions, c.clicks]), [[1, 1], [0, 0], [1, 1], [0, 0]],
    `for-you shown and clicked once per window: ${JSON.stringify(forYou)}`);
  assert.ok(end.window.shown.includes("for-you"), JSON.stringify(end.window));
  assert.deepEqual(end.window.clicked, ["for-you"]);
  assert.ok(reports.some((r) => (JSON.parse(r.body).pairs ?? []).length > 0), "a day's items give pairs");

  // Every request: same origin, no cookies, no referrer; kindred's carry no query string.
  const origin = new URL(shop.url).origin;
  const { etag } = await fetch(`${shop.url}/v1/model`).then((r) => ({ etag: r.headers.get("etag") }));
  for (const r of log) {
    const url = new URL(r.url);
    assert.equal(url.origin, origin, `no third party: ${r.url}`);
    assert.equal(r.headers.cookie, undefined, `no cookie on ${r.url}`);
    assert.equal(r.headers.referer, undefined, `no referrer on ${r.url}`);
    for (const name of Object.keys(r.headers)) assert.ok(!name.startsWith("x-"), `no custom header ${name}`);
    if (r.navigation) continue;
    assert.ok(KINDRED_PATHS.includes(url.pathname) || SHOP_ASSETS.includes(url.pathname), `unexpected request ${r.method} ${r.url}`);
    if (KINDRED_PATHS.includes(url.pathname)) {
      assert.equal(url.search, "", `no query on ${r.url}`);
      assert.equal(r.method, url.pathname === "/v1/reports" ? "POST" : "GET");
    }
    if (url.pathname === "/v1/model" && r.headers["if-none-match"] !== undefined) {
      assert.equal(r.headers["if-none-match"], etag, "the model is revalidated with the ETag everyone gets");
    }
  }
  assert.ok(log.some((r) => new URL(r.url).pathname === "/v1/model"), "the model was fetched");
  // A tab shown again after hours revalidates the model (one request, answered 304).
  const models = () => log.filter((r) => new URL(r.url).pathname === "/v1/model").length;
  const before = models();
  await context.clock.fastForward(2 * 3_600_000);
  await page.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
  await page.waitForFunction(() => window.kindred.status().model !== null);
  const start = Date.now();
  while (models() === before && Date.now() - start < 5_000) await sleep(25);
  assert.equal(models(), before + 1, "revalidated once");
  await page.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
  await sleep(200);
  assert.equal(models(), before + 1, "not again within the hour");
  assert.equal(log.filter((r) => new URL(r.url).pathname === "/v1/model").at(-1).headers["if-none-match"], etag);
  assert.deepEqual(await page.evaluate(() => document.cookie), "", "no cookies were set");
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("Global Privacy Control, or consent not given: no report is sent", async () => {
  const cases = [
    { name: "gpc", allow: true, blockedBy: "global-privacy-control",
      initScript: () => Object.defineProperty(Navigator.prototype, "globalPrivacyControl", { get: () => true }) },
    { name: "pending", allow: null, blockedBy: "consent-pending" },
    { name: "denied", allow: false, blockedBy: "consent-denied" },
  ];
  for (const c of cases) {
    const log = [];
    const context = await shopperContext(shop, { time: morning(1), log, initScript: c.initScript });
    const page = await visit(shop, context, "/product.html?id=p-0007");
    if (c.allow !== null) await answerConsent(page, c.allow);
    await waitForEvents(page, "view", 1);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await waitForEvents(page, "cart", 1);
    await nextDay(context, page, "/privacy.html");
    await sleep(500);
    assert.equal(reportsIn(log).length, 0, `${c.name}: nothing sent`);
    const view = await page.evaluate(() => window.kindred.privacy());
    assert.equal(view.blockedBy, c.blockedBy, c.name);
    assert.ok(view.nextReport, `${c.name}: a report would be due, and it is held back`);
    await page.locator("#sharing-state").waitFor();
    assert.match(await page.locator("#sharing-state").textContent(), /^Not sending/);
    await context.close();
  }
});

/** Every record of every IndexedDB database of the page, as text (bytes read as Latin-1). */
const storedText = (page) =>
  page.evaluate(async () => {
    const out = [];
    for (const { name } of await indexedDB.databases()) {
      const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      for (const store of db.objectStoreNames) {
        const values = await new Promise((resolve, reject) => {
          const req = db.transaction(store).objectStore(store).getAll();
          req.onsuccess = () => resolve(req.result);
          req.onerror = () => reject(req.error);
        });
        const text = (v) => {
          if (v instanceof Uint8Array || v instanceof ArrayBuffer) return new TextDecoder("latin1").decode(v);
          if (v && typeof v === "object") return Object.values(v).map(text).join(" ");
          return String(v);
        };
        out.push(...values.map(text));
      }
      db.close();
    }
    return out.join("\n");
  });

test("forget: storage holds nothing about the shopper, the window is closed until the next one", async () => {
  const log = [];
  const first = boundary() - 2;
  const context = await shopperContext(shop, { time: at9(first), log });
  const before = "p-0011";
  const page = await visit(shop, context, `/product.html?id=${before}`);
  await answerConsent(page, true);
  await waitForEvents(page, "view", 1);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await waitForEvents(page, "cart", 1);
  // The next day the first day's report is sent: the window holds the product.
  await nextDay(context, page, "/privacy.html");
  const [sent] = await waitForReports(log, 1);
  const firstReport = assertValidReport(sent.body);
  assert.ok(firstReport.items.includes(before));
  assert.ok((firstReport.interests ?? []).length > 0, "the product's interests too");
  assert.ok((await storedText(page)).includes(before), "the state is stored (sanity check of the probe)");
  const once = { impressions: 1, clicks: 0 };
  assert.deepEqual(firstReport.strategies, { "bought-together": once, "for-you": once, similar: once }, "the product page's three rails");
  // The privacy centre, opened again now the report is sent, names them.
  await visit(shop, page, "/privacy.html");
  assert.equal(await page.locator("#window-strategies strong").textContent(),
    "Recommendations you were shown: bought-together, for-you, similar; clicked: none");

  page.once("dialog", (dialog) => dialog.accept());
  await page.getByRole("button", { name: "Forget everything" }).click();
  await page.getByText("Everything was erased from this browser.").waitFor();
  const data = await page.evaluate(() => window.kindred.exportData());
  assert.deepEqual([data.events, data.items, data.interests, data.outbox], [[], {}, [], []]);
  assert.deepEqual(data.window && [data.window.firstDay, data.window.closed, data.window.items, data.window.pairs, data.window.interests,
    data.window.shown, data.window.clicked], [boundary() - WINDOW_DAYS, true, [], [], [], [], []], "the window is closed and its keys deleted");
  assert.deepEqual(data.ledger.windows.map(([w]) => w), [boundary() - WINDOW_DAYS], "the ledger is kept (it holds no behaviour)");
  assert.match(await page.locator("#window-state").textContent(), /^Closed after you deleted your data/);
  assert.ok(!(await storedText(page)).includes(before), "nothing about the product is left in IndexedDB");
  const leftovers = await page.evaluate(() => [...Object.keys(localStorage), ...Object.keys(sessionStorage)].filter((k) => k.startsWith("kindred")));
  assert.deepEqual(leftovers, [], "no kindred keys in localStorage or sessionStorage");

  // Shopping on, in another department, the same day: nothing is reported for the rest of the
  // closed window. (The consent choice was forgotten too: the banner asks again.)
  const [other, third] = await page.evaluate(async () => {
    const items = await (await fetch("/catalog.json")).json();
    return items.filter((it) => it.categories[0].startsWith("Books") && it.available).slice(0, 2).map((it) => it.id);
  });
  await visit(shop, page, `/product.html?id=${other}`);
  await answerConsent(page, true);
  await waitForEvents(page, "view", 1);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await waitForEvents(page, "cart", 1);
  await nextDay(context, page, "/privacy.html");
  await sleep(300);
  assert.equal(reportsIn(log).length, 1, "no report for the closed window, after a reload too");
  const closed = await page.evaluate(() => window.kindred.privacy());
  assert.equal(closed.nextReport, null);
  assert.equal(closed.window.closed, true);

  // The next window contributes again: the product from before forgetting, opened again, and
  // another; not the product of the closed window.
  await visit(shop, page, `/product.html?id=${before}`);
  await waitForEvents(page, "view", 2);
  await visit(shop, page, `/product.html?id=${third}`);
  await waitForEvents(page, "view", 3);
  await nextDay(context, page);
  const reports = await waitForReports(log, 2);
  await sleep(300);
  assert.equal(reportsIn(log).length, 2);
  const next = assertValidReport(reports[1].body);
  assert.equal(next.window, boundary());
  assert.ok(next.items.includes(before) && next.items.includes(third), next.items.join());
  assert.ok(!next.items.includes(other), "the closed window's product stays out");
  assert.ok(firstReport.interests.every((key) => (next.interests ?? []).includes(key)), `interests of ${before} again: ${next.interests}`);
  const view = await page.evaluate(() => window.kindred.privacy());
  assert.deepEqual([view.window.firstDay, view.window.closed], [boundary(), false]);
  assert.deepEqual(view.ledger.windows.map(([w]) => w), [boundary() - WINDOW_DAYS, boundary()]);
  await context.close();
});

test("server down, then blocked: recommendations go on from the cached model; the report arrives later", async () => {
  const log = [];
  const countedBefore = await pendingReports(shop);
  const context = await shopperContext(shop, { time: morning(1), log });
  const page = await visit(shop, context, "/");
  await answerConsent(page, true);
  const trending = await slotItems(page, "trending");
  assert.ok((await slotReasons(page, "trending")).every((r) => r === "trending now"), "the shared model is installed");

  // The kindred server is down (connection refused).
  await context.route("**/v1/**", (route) => route.abort("connectionrefused"));
  await visit(shop, page, "/product.html?id=p-0020");
  await waitForEvents(page, "view", 1);
  await page.getByRole("button", { name: "Add to cart" }).click();
  await waitForEvents(page, "cart", 1);
  await visit(shop, page, "/");
  assert.deepEqual(await slotItems(page, "trending"), trending, "trending comes from the cached model");
  assert.ok((await slotReasons(page, "for-you")).some((r) => /which you /.test(r)), "for-you uses the local history");
  const status = await page.evaluate(() => window.kindred.status());
  assert.ok(status.warnings.some((w) => w.code === "model-offline"), JSON.stringify(status.warnings));

  await nextDay(context, page);
  await page.waitForFunction(() => window.kindred.privacy().outbox.some((o) => o.attempts >= 1), null, { timeout: 10_000 });
  assert.ok(log.some((r) => r.failure && new URL(r.url).pathname === "/v1/reports"), "the report was attempted");

  // Now blocked by the client (an extension, say).
  await context.unroute("**/v1/**");
  await context.route("**/v1/**", (route) => route.abort("blockedbyclient"));
  await context.clock.fastForward(5 * MINUTE);
  await page.waitForFunction(() => window.kindred.privacy().outbox.some((o) => o.attempts >= 2), null, { timeout: 10_000 });
  assert.ok((await slotItems(page, "for-you")).length > 0, "still recommending");

  // The server is reachable again: the waiting report is delivered.
  await context.unroute("**/v1/**");
  await context.clock.fastForward(15 * MINUTE);
  await page.waitForFunction(() => window.kindred.privacy().outbox.length === 0, null, { timeout: 10_000 });
  const delivered = reportsIn(log).filter((r) => r.status === 202);
  assert.equal(delivered.length, 1, "delivered once");
  assert.equal(assertValidReport(delivered[0].body).window, windowOf(today() - 1));
  assert.equal(await pendingReports(shop), countedBefore + 1, "and counted");
  await context.close();
});
