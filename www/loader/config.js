// The script tag's `data-` attributes, read once. Every attribute is optional; the defaults
// make `<script src="/kindred.js" data-endpoint="/" data-catalog="/catalog.json" defer>` enough.

/**
 * @typedef {object} TagConfig
 * @property {string|undefined} site           storage name (`data-site`)
 * @property {string|undefined} endpoint       kindred server base URL (`data-endpoint`); no reports without it
 * @property {string|null} catalogUrl          (`data-catalog`)
 * @property {string|null} modelUrl            `data-model`, default `<endpoint>/v1/model`; "none" skips it
 * @property {string} wasmUrl                  `data-wasm`, default `kindred_bg.wasm` next to the script
 * @property {"granted"|"pending"|"denied"} consent  `data-consent` ["granted"]
 * @property {object|undefined} privacy        `data-privacy` (mode) and `data-epsilon` (ε per window)
 * @property {string|null} productUrl          `data-product-url`, e.g. "/product.html?id={id}"
 * @property {string|null} searchParam         `data-search-param`: URL parameter of the results page
 * @property {Intl.NumberFormat|null} money    from `data-currency` and `data-locale`
 */

const CONSENTS = ["granted", "pending", "denied"];

/** @returns {TagConfig} */
export function readConfig(script) {
  const d = script ? script.dataset : {};
  const here = location.href;
  const scriptUrl = script && script.src ? script.src : here;
  const endpoint = d.endpoint || undefined;
  let modelUrl = null;
  if (d.model && d.model !== "none") modelUrl = new URL(d.model, here).href;
  else if (!d.model && endpoint) modelUrl = new URL("v1/model", new URL(endpoint.replace(/\/?$/, "/"), here)).href;
  const consent = d.consent || "granted";
  if (!CONSENTS.includes(consent)) {
    throw new Error(`data-consent="${consent}" is not one of ${CONSENTS.join(", ")}`);
  }
  let privacy;
  if (d.privacy || d.epsilon) {
    privacy = {};
    if (d.privacy) privacy.mode = d.privacy;
    if (d.epsilon) privacy.epsilonPerWindow = Number(d.epsilon);
  }
  let money = null;
  if (d.currency) {
    money = new Intl.NumberFormat(d.locale || undefined, { style: "currency", currency: d.currency });
  }
  return {
    site: d.site || undefined,
    endpoint,
    catalogUrl: d.catalog ? new URL(d.catalog, here).href : null,
    modelUrl,
    wasmUrl: new URL(d.wasm || "kindred_bg.wasm", scriptUrl).href,
    consent,
    privacy,
    productUrl: d.productUrl || null,
    searchParam: d.searchParam || null,
    money,
  };
}

/** The key under which the shopper's consent choice is remembered on this device. */
export const consentKey = (site) => `kindred:consent:${site || "default"}`;

/** localStorage can be missing or throw (privacy modes, sandboxed frames): then nothing is kept. */
export function remembered(key) {
  try {
    const value = localStorage.getItem(key);
    return CONSENTS.includes(value) ? value : null;
  } catch {
    return null;
  }
}

export function remember(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Not kept: the page's data-consent applies again on the next load.
  }
}
