// The storefront script tag: what a shop without a build step adds to its pages.
//
//   <script src="/kindred.js" data-endpoint="/" data-catalog="/catalog.json" defer></script>
//
// It loads the wasm module, restores the shopper's state (IndexedDB), fetches the catalog and
// the shared model, tracks from the page's markup (tracking.js), fills recommendation slots
// (slots.js) and exposes the Kindred instance as `window.kindred`. Built by
// scripts/build-storefront.mjs into one minified file; nothing is evaluated from strings, so it
// runs under `script-src 'self' 'wasm-unsafe-eval'`.
//
// `window.kindred` exists at once: until the module is ready it holds `ready` (a promise of the
// instance) and `consent(state)` (kept and applied on start); then it is the instance itself,
// which also has `ready`. `kindred:ready` (detail: the instance) or `kindred:error` is
// dispatched on `document`. The shopper's consent choice is remembered in localStorage
// (`kindred:consent:<site>`) on this device only; `forget()` removes it with the journal.
import init, { Kindred } from "../../pkg/kindred.js";
import { consentKey, readConfig, remember, remembered } from "./config.js";
import { Slots } from "./slots.js";
import { startTracking } from "./tracking.js";

/** How long `ready` waits for the shared model before going on with the cached one. */
const MODEL_WAIT_MS = 5000;
/** A visible-again tab whose model is older than this fetches it again. */
const MODEL_REFRESH_MS = 3_600_000;
/** At most this many unsaved events are journaled (older ones are dropped first). */
const JOURNAL_MAX = 200;

const warn = (message) => console.warn(`kindred: ${message}`);

async function fetchCatalog(url) {
  const response = await fetch(url, { credentials: "omit", referrerPolicy: "no-referrer" });
  if (!response.ok) throw new Error(`the catalog ${url} answered HTTP ${response.status}`);
  const rows = await response.json();
  if (!Array.isArray(rows)) throw new Error(`the catalog ${url} is not a JSON array of products`);
  return rows;
}

/** An event's identity in storage: what happened to which item, at which millisecond. */
const eventKey = (e) => `${e.type}|${e.item ?? ""}|${e.ts}`;

/** Events of this tab not yet confirmed saved (sessionStorage: this tab only, bounded). */
class Journal {
  constructor(key) {
    this.key = key;
  }

  read() {
    try {
      const list = JSON.parse(sessionStorage.getItem(this.key));
      return Array.isArray(list) ? list.filter((e) => e && typeof e.type === "string" && Number.isFinite(e.ts)) : [];
    } catch {
      return [];
    }
  }

  write(list) {
    try {
      if (list.length === 0) sessionStorage.removeItem(this.key);
      else sessionStorage.setItem(this.key, JSON.stringify(list.slice(-JOURNAL_MAX)));
    } catch {
      // No sessionStorage: events are then only as safe as the IndexedDB write.
    }
  }

  add(event) {
    this.write([...this.read(), event]);
  }

  settle(events) {
    const done = new Set(events.map(eventKey));
    this.write(this.read().filter((e) => !done.has(eventKey(e))));
  }

  clear() {
    this.write([]);
  }
}

async function start(script, early) {
  const config = readConfig(script);
  // Both downloads start before the module compiles.
  const wasm = fetch(config.wasmUrl, { credentials: "omit", referrerPolicy: "no-referrer" });
  const catalog = config.catalogUrl ? fetchCatalog(config.catalogUrl) : Promise.resolve([]);
  catalog.catch(() => {});
  await init({ module_or_path: wasm });

  const key = consentKey(config.site);
  const options = { consent: remembered(key) || config.consent };
  if (config.site) options.site = config.site;
  if (config.endpoint) options.endpoint = config.endpoint;
  if (config.privacy) options.privacy = config.privacy;
  const k = await Kindred.create(options);
  const setConsent = k.consent.bind(k);
  k.consent = (state) => {
    setConsent(state);
    remember(key, state);
  };
  if (early.consent) k.consent(early.consent);

  // Events wait for the catalog (track() only takes known items); nothing is dropped. Each is
  // saved at once rather than batched, and journaled in this tab's sessionStorage until saved:
  // on a storefront most events (clicks, cart, search) come right before a navigation, which
  // can cut an IndexedDB write short. The next page replays what was not saved.
  const journal = new Journal(`kindred:journal:${config.site || "default"}`);
  // An event leaves the journal only once it is in IndexedDB, or when a page that has the
  // catalog refuses it. A page whose catalog did not load keeps it for the next page, and a
  // write that failed (storage switched to memory) keeps it too: `flush()` resolves either way.
  const carried = journal.read();
  let slots = null;
  let queue = [];
  const track = (event) => {
    try {
      k.track(event);
    } catch (error) {
      if (k.status().catalogSize === 0) return;
      warn(`${event.type} not tracked: ${error.message}`);
      journal.settle([event]);
      return;
    }
    k.flush().then(() => {
      if (k.status().storage === "indexeddb") journal.settle([event]);
    }, () => {});
    if (slots && event.type !== "click") slots.refresh();
  };
  startTracking({
    record: (event) => {
      event.ts = Date.now();
      journal.add(event);
      if (queue) queue.push(event);
      else track(event);
    },
    searchParam: config.searchParam,
  });

  const rows = new Map();
  try {
    const items = await catalog;
    const loaded = await k.loadCatalog(items);
    for (const row of items) if (row && row.id != null) rows.set(String(row.id), row);
    if (loaded.rejected.length > 0) {
      const first = loaded.rejected[0];
      warn(`${loaded.rejected.length} catalog row(s) skipped; row ${first.index}: ${first.reason}`);
    }
  } catch (error) {
    warn(`no catalog, so no recommendations: ${error.message}`);
  }
  if (carried.length > 0) {
    const saved = new Set(k.exportData().events.map(eventKey));
    journal.settle(carried.filter((event) => saved.has(eventKey(event))));
    for (const event of carried) if (!saved.has(eventKey(event))) track(event);
  }
  const pending = queue;
  queue = null;
  for (const event of pending) track(event);

  slots = new Slots(k, rows, config);
  slots.start();
  // Startup marks, for the browser's performance tools and `npm run bench`.
  performance.mark("kindred:slots");
  k.on("update", ({ reason }) => {
    if (reason === "forget") {
      remember(key, null);
      journal.clear();
    }
    slots.refresh();
  });

  if (config.modelUrl) {
    const fetchModel = () => k.loadModel(config.modelUrl).catch((error) => warn(`shared model: ${error.message}`));
    let fetchedAt = Date.now();
    // A tab left open for hours revalidates the model (ETag: usually a 304) when shown again.
    document.addEventListener("visibilitychange", () => {
      if (document.hidden || Date.now() - fetchedAt < MODEL_REFRESH_MS) return;
      fetchedAt = Date.now();
      fetchModel();
    });
    await Promise.race([fetchModel(), new Promise((resolve) => setTimeout(resolve, MODEL_WAIT_MS))]);
  }
  return k;
}

function boot() {
  const script = document.currentScript;
  if (window.kindred && window.kindred.ready) {
    warn("the kindred script is on this page twice; the second copy does nothing");
    return;
  }
  const early = { consent: null };
  let settle;
  const ready = new Promise((resolve, reject) => (settle = { resolve, reject }));
  ready.catch(() => {});
  window.kindred = {
    ready,
    consent(state) {
      early.consent = state;
    },
  };
  performance.mark("kindred:start");
  start(script, early).then(
    (k) => {
      performance.mark("kindred:ready");
      k.ready = ready;
      window.kindred = k;
      settle.resolve(k);
      document.dispatchEvent(new CustomEvent("kindred:ready", { detail: k }));
    },
    (error) => {
      console.error("kindred: could not start:", error);
      settle.reject(error);
      document.dispatchEvent(new CustomEvent("kindred:error", { detail: error }));
    },
  );
}

boot();
