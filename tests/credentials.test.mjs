// kindred's requests carry no credentials (docs/PRIVACY.md), in real Chromium: a shop page
// whose shopper has a session cookie loads the catalog and the shared model by URL from the
// shop's own origin. The server sees the cookie on the page's own requests and on neither of
// kindred's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { openTab, TAB_CATALOG, useShop } from "./support/shop-tabs.mjs";

const CATALOG_PATH = "/shop/catalog.json";
const MODEL_PATH = "/shop/model.json";
const shop = useShop({ json: { [CATALOG_PATH]: TAB_CATALOG, [MODEL_PATH]: { format: 2, version: 7 } } });

test("the catalog and the shared model are fetched without the shop's cookies or a referrer", async () => {
  const context = await shop.browser.newContext();
  await context.addCookies([{ name: "session", value: "signed-in-shopper", url: shop.server.url }]);
  const page = await openTab(shop, context, "credentials");
  const loaded = await page.evaluate(
    async ({ catalog, model }) => ({
      catalog: (await window.k.loadCatalog(catalog)).loaded,
      model: (await window.k.loadModel(model)).status,
    }),
    { catalog: CATALOG_PATH, model: MODEL_PATH },
  );
  assert.deepEqual(loaded, { catalog: TAB_CATALOG.length, model: "fetched" });
  const requestsOf = (path) => shop.server.requests.filter((r) => r.path === path);
  // The page's own request carries the cookie, so one on kindred's would be seen.
  const [pageRequest] = requestsOf("/tests/pages/tab.html");
  assert.match(pageRequest?.headers.cookie ?? "", /session=signed-in-shopper/);
  for (const path of [CATALOG_PATH, MODEL_PATH]) {
    const requests = requestsOf(path);
    assert.equal(requests.length, 1, `${path} fetched once`);
    assert.equal(requests[0].headers.cookie, undefined, `no cookie on ${path}`);
    assert.equal(requests[0].headers.referer, undefined, `no referrer on ${path}`);
  }
  await context.close();
});
