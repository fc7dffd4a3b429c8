// The privacy centre: "what this shop's code knows about you", read from the storefront
// script's `window.kindred` (the full API): interests with weights and a remove button, the
// local history, what was shared in the current contribution window (against its caps), the
// exact pending report, the epsilon ledger per window and over the year, export as JSON, forget.
// Uses the element builder `h` of demo/shop.js, which privacy.html loads first.
"use strict";

const DAY_MS = 86_400_000;
const centre = document.getElementById("privacy-centre");
/** A UTC day number (days since 1970-01-01) as a date. */
const day = (n) => new Date(n * DAY_MS).toISOString().slice(0, 10);
const span = (first, days) => `${day(first)} to ${day(first + days - 1)}`;
/** ε values for reading: three decimals at most. */
const eps = (x) => String(Number(x.toFixed(3)));
const when = (ms) => new Date(ms).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });

const BLOCKED = {
  "no-endpoint": "this page has no kindred server configured, so nothing is ever sent",
  "mode-off": "the shop turned reports off",
  "consent-pending": "you have not decided yet, so nothing is sent",
  "consent-denied": "you said no, so nothing is sent",
  "global-privacy-control": "your browser sends Global Privacy Control, so nothing is sent",
  "do-not-track": "your browser sends Do Not Track, so nothing is sent",
};
const EVENT_NAMES = {
  view: "viewed", click: "clicked", cart: "added to cart", remove_cart: "removed from cart",
  purchase: "bought", search: "searched", dwell: "spent time on", rate: "rated",
};

const panel = (id, title, ...body) => h("section", { class: "panel", id, "aria-labelledby": `${id}-h` }, h("h2", { id: `${id}-h` }, title), ...body);

function sharingPanel(k, view) {
  const state = view.blockedBy
    ? `Not sending: ${BLOCKED[view.blockedBy] || view.blockedBy}.`
    : `Sending: one report per day at most, in "${view.mode}" mode.`;
  const buttons = h("div", { class: "actions" },
    h("button", { type: "button", "data-do": "consent-granted" }, "Allow the daily report"),
    h("button", { type: "button", class: "secondary", "data-do": "consent-denied" }, "Don't send anything"));
  return panel("sharing", "Sharing", h("p", { id: "sharing-state" }, state),
    h("p", {}, `Your choice: ${view.consent}.`), buttons);
}

function interestsPanel(profile) {
  const list = profile.interests.length === 0
    ? h("p", {}, "No interests yet: browse a little and they appear here.")
    : h("ul", { class: "interests" }, ...profile.interests.map((it) => h("li", { "data-interest": it.key },
      h("span", {}, `${it.label} `, h("small", {}, `(${it.kind})`)),
      h("span", { class: "bar", "aria-hidden": "true" }, h("span", { "--w": `${Math.round(it.weight * 100)}%` })),
      h("span", {}, `${(it.weight * 100).toFixed(1)} %`),
      h("button", { type: "button", class: "secondary", "data-remove-interest": it.key, "aria-label": `Remove interest ${it.label}` }, "Remove"))));
  const removed = profile.removedInterests.length === 0 ? null
    : h("p", {}, `Removed (kept out of your recommendations): ${profile.removedInterests.join(", ")}`);
  return panel("interests", "Your interests", h("p", {}, "Weights are shares of your listed interests, "
    + "computed from what you did here, decaying over time."), list, removed);
}

function historyPanel(data, titles) {
  const events = [...data.events].reverse().slice(0, 100);
  const rows = events.map((e) => h("tr", {},
    h("td", {}, when(e.ts)),
    h("td", {}, EVENT_NAMES[e.type] || e.type),
    h("td", {}, e.type === "search" ? `“${e.query}” (never sent)` : titles.get(e.item) || e.item || "")));
  const table = events.length === 0 ? h("p", {}, "Nothing recorded.")
    : h("table", { class: "history" }, h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "What"), h("th", {}, "Product or search"))),
      h("tbody", {}, ...rows));
  return panel("history", "Your history on this device",
    h("p", { id: "history-count" }, `${data.events.length} event(s) about ${Object.keys(data.items).length} product(s)`
      + (data.foldedEvents ? `, plus ${data.foldedEvents} older event(s) kept only as per-product totals` : "") + "."),
    table);
}

/** What was shared in the current window: each key once, counted against the window's caps. */
function windowPanel(view, titles) {
  const l = view.ledger;
  const w = view.window;
  const intro = h("p", {}, `Reports are counted in contribution windows of ${l.windowDays} days. In one window this browser `
    + "shares each product, pair of products and interest at most once, and never more than the limits below, "
    + "however many reports the window holds.");
  const current = h("p", { id: "window-dates" }, `Current window: ${span(l.window, l.windowDays)}.`);
  if (!w || w.firstDay !== l.window) {
    const previous = w ? h("p", {}, `Last report: in the window ${span(w.firstDay, w.days)}`
      + (w.closed ? ", which was closed after you deleted your data." : `, with ${w.items.length} product(s).`)) : null;
    return panel("window", "Shared in this window", intro, current,
      h("p", { id: "window-state" }, "Nothing shared in this window yet."), previous);
  }
  if (w.closed) {
    return panel("window", "Shared in this window", intro, current,
      h("p", { id: "window-state", class: "closed" }, "Closed after you deleted your data: nothing more is shared in this "
        + `window, and what was shared before is no longer kept here. Sharing resumes on ${day(w.lastDay + 1)}.`));
  }
  const title = (id) => titles.get(id) || id;
  const row = (label, count, cap, list) => h("li", {},
    h("strong", {}, `${label}: ${count} of ${cap}`),
    list && list.length > 0 ? h("details", {}, h("summary", {}, "show"), h("ul", {}, ...list.map((x) => h("li", {}, x)))) : null);
  const c = view.caps;
  const names = (list) => (list.length > 0 ? list.join(", ") : "none");
  return panel("window", "Shared in this window", intro, current,
    h("ul", { id: "window-state", class: "window-shares" },
      row("Products", w.items.length, c.items, w.items.map(title)),
      row("Pairs of products", w.pairs.length, c.pairs, w.pairs.map(([a, b]) => `${title(a)} + ${title(b)}`)),
      row("Interests", w.interests.length, c.interests, w.interests),
      h("li", { id: "window-strategies" },
        h("strong", {}, `Recommendations you were shown: ${names(w.shown)}; clicked: ${names(w.clicked)}`),
        " (each counted once in this window, however many lists you saw or clicked)")));
}

function reportPanel(view) {
  const r = view.nextReport;
  const next = r
    ? [h("p", {}, `The report for ${day(r.day)}, in the window ${span(r.window, view.ledger.windowDays)}; once it is sent, `
        + `that window has spent ε ${eps(r.epsilonAfter)} of ${eps(view.ledger.cap)}. This is the exact text that will be sent `
        + "(it names the window, never the day):"),
      h("pre", { class: "report", id: "next-report" }, r.json)]
    : [h("p", { id: "next-report-none" }, "Nothing to send now: a report covers a completed day with something "
        + "not yet shared in its window.")];
  const waiting = view.outbox.map((o) => h("div", {},
    h("p", {}, `Waiting for delivery: the report for ${day(o.day)} (${o.attempts} failed attempt(s)).`),
    h("pre", { class: "report" }, o.json)));
  const last = view.lastReportedDay === null ? "No report was sent yet." : `Last report: for ${day(view.lastReportedDay)}.`;
  return panel("report", "What would leave this device", ...next, ...waiting, h("p", {}, last));
}

function ledgerPanel(view) {
  const l = view.ledger;
  const delta = l.delta.toExponential();
  return panel("ledger", "Privacy budget (epsilon ledger)",
    h("p", {}, `Each report spends part of a privacy budget of ε ${eps(l.cap)} per ${l.windowDays}-day window (at δ ${delta}); `
      + "the browser refuses to send beyond it."),
    h("div", { class: "meter" },
      h("div", { id: "ledger-spent" }, h("strong", {}, `ε ${eps(l.spent)} of ${eps(l.cap)}`), h("br"),
        `spent this window (δ ${delta})`),
      h("div", { id: "ledger-year" }, h("strong", {}, `ε ${eps(l.spentYear)}`), h("br"), "over the last year (all windows)")),
    l.windows.length === 0 ? h("p", {}, "Nothing spent yet.")
      : h("ul", { id: "ledger-windows" }, ...l.windows.map(([first, e]) => h("li", {}, `${span(first, l.windowDays)}: ε ${eps(e)}`))));
}

function dataPanel() {
  return panel("your-data", "Your data",
    h("p", {}, "Download everything stored about you, or erase it from this browser."),
    h("div", { class: "actions" },
      h("button", { type: "button", "data-do": "export" }, "Export as JSON"),
      h("button", { type: "button", class: "danger", "data-do": "forget" }, "Forget everything")),
    h("p", { id: "data-status", role: "status" }));
}

async function start() {
  const k = await window.kindred.ready;
  const titles = new Map();
  try {
    for (const item of await (await fetch("/catalog.json")).json()) titles.set(String(item.id), item.title);
  } catch {
    // Ids stand in for titles.
  }
  const render = () => {
    const view = k.privacy();
    centre.replaceChildren(sharingPanel(k, view), interestsPanel(k.profile(30)), historyPanel(k.exportData(), titles),
      windowPanel(view, titles), reportPanel(view), ledgerPanel(view), dataPanel());
  };
  const status = (text) => {
    const el = document.getElementById("data-status");
    if (el) el.textContent = text;
  };
  centre.addEventListener("click", async (event) => {
    const interest = event.target.closest("[data-remove-interest]");
    if (interest) {
      k.removeInterest(interest.getAttribute("data-remove-interest"));
      render();
      return;
    }
    const action = event.target.closest("[data-do]")?.getAttribute("data-do");
    if (action === "consent-granted" || action === "consent-denied") {
      k.consent(action.slice("consent-".length));
      render();
    } else if (action === "export") {
      const blob = new Blob([JSON.stringify(k.exportData(), null, 2)], { type: "application/json" });
      const link = h("a", { href: URL.createObjectURL(blob), download: "kindred-data.json" });
      document.body.append(link);
      link.click();
      link.remove();
      status("Exported: kindred-data.json");
    } else if (action === "forget") {
      if (!confirm("Erase everything this shop's code stored about you in this browser?")) return;
      await k.forget();
      render();
      status("Everything was erased from this browser.");
    }
  });
  k.on("update", render);
  render();
}

// After every deferred script ran: window.kindred (kindred.js) exists then.
document.addEventListener("DOMContentLoaded", () => start().catch((error) => {
  centre.replaceChildren(h("p", { class: "error", role: "alert" }, `The privacy centre could not start: ${error.message}`));
}));
