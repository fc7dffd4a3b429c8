// The demo shop (www/) as the end-to-end tests see it: the real `kindred serve` of
// demo-server.mjs plus Debian's Chromium, with helpers for shopper contexts (every request a
// page makes is recorded) and pages.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./chromium.mjs";
import { ADMIN_TOKEN, startDemoShop } from "./demo-server.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));
export const ARTIFACTS = `${root}test-results/e2e`;
export const DAY_MS = 86_400_000;
export { ADMIN_TOKEN };

/**
 * Starts the server and the browser for this test file; read the fields after `before` ran.
 * `requests` collects `{ url, method, headers, body, status }` for every request of every page.
 */
export function useDemoShop(name) {
  const shop = { url: undefined, kindred: undefined, browser: undefined, requests: [] };
  before(async () => {
    shop.kindred = await startDemoShop(name);
    shop.url = shop.kindred.url;
    shop.browser = await launchChromium();
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await shop.browser?.close();
    if (shop.kindred) assert.equal(await shop.kindred.stop(), 0, "kindred exits 0 on SIGTERM");
  });
  return shop;
}

/** Reports the server has counted and not yet released (its admin statistics). */
export async function pendingReports(shop) {
  const response = await fetch(`${shop.url}/v1/stats`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(response.status, 200);
  return (await response.json()).pendingReports;
}

/**
 * A browser context (one shopper's browser) whose requests are recorded into `log`, optionally
 * with a fake clock starting at `time` (Playwright's clock: Date and timers; time then flows).
 */
export async function shopperContext(shop, { time, log = shop.requests, initScript } = {}) {
  const context = await shop.browser.newContext({ viewport: { width: 1280, height: 900 } });
  if (time !== undefined) await context.clock.install({ time });
  if (initScript) await context.addInitScript(initScript);
  context.on("page", (page) => {
    page.errors = [];
    page.on("pageerror", (e) => page.errors.push(e.message));
  });
  // Playwright proxies every request, so the log holds each one with its response status
  // (request events miss some keepalive requests, such as reports sent while a page unloads).
  const proxied = new WeakSet();
  await context.route("**/*", async (route) => {
    const request = route.request();
    proxied.add(request);
    const entry = {
      url: request.url(),
      method: request.method(),
      headers: await request.allHeaders(),
      body: request.postData(),
      status: null,
      navigation: request.isNavigationRequest(),
    };
    log.push(entry);
    try {
      const response = await route.fetch();
      entry.status = response.status();
      await route.fulfill({ response });
    } catch (error) {
      entry.failure = error.message;
      await route.abort("connectionrefused").catch(() => {});
    }
  });
  // Requests that never reached the proxy (aborted by a test's own route, say).
  context.on("requestfailed", (request) => {
    if (proxied.has(request)) return;
    log.push({ url: request.url(), method: request.method(), headers: request.headers(), body: request.postData(),
      status: null, failure: request.failure()?.errorText, navigation: request.isNavigationRequest() });
  });
  return context;
}

/** Opens `path` in a new page of `context` (or navigates `page` there), then waits for `ready`. */
export async function visit(shop, target, path) {
  const page = typeof target.newPage === "function" ? await target.newPage() : target;
  await page.goto(`${shop.url}${path}`);
  return ready(page);
}

/** Waits until the page's storefront script is ready and no slot is still loading. */
export async function ready(page) {
  await page.waitForFunction(() => window.kindred && typeof window.kindred.recommend === "function", null, { timeout: 15_000 });
  await page.waitForFunction(() => document.querySelectorAll('[data-kindred-state="loading"]').length === 0, null, { timeout: 10_000 });
  return page;
}

/** Answers the demo's consent banner ("Allow" or "Don't allow"). */
export async function answerConsent(page, allow) {
  await page.getByRole("button", { name: allow ? "Allow" : "Don't allow", exact: true }).click();
  await page.waitForFunction(() => !document.querySelector(".consent"));
}

/** The item ids a slot shows now. */
export const slotItems = (page, strategy) =>
  page.evaluate(
    (s) => [...document.querySelectorAll(`[data-kindred-slot="${s}"] [data-kindred-item]`)].map((el) => el.dataset.kindredItem),
    strategy,
  );

/** The reasons a slot shows now (its template's reason field or the default list's). */
export const slotReasons = (page, strategy) =>
  page.evaluate(
    (s) => [...document.querySelectorAll(`[data-kindred-slot="${s}"] :is([data-kindred-field="reason"], .kindred-reason)`)]
      .map((el) => el.textContent),
    strategy,
  );

/** Waits until `window.kindred` holds `count` events of `type` (tracking is asynchronous). */
export const waitForEvents = (page, type, count) =>
  page.waitForFunction(
    ({ type, count }) => window.kindred.exportData().events.filter((e) => e.type === type).length >= count,
    { type, count },
    { timeout: 10_000 },
  );
