// The kindred dashboard: reads GET /v1/stats (same origin; the browser sends the admin
// password it asked for when the page loaded) and draws it with Chart.js. Everything shown is
// released data (see the footer of index.html).
"use strict";

const REFRESH_MS = 60_000;
const COLORS = ["#2f6f9f", "#e07a1f", "#3c9d5d", "#b44b8c", "#7a5cb8", "#c9a227", "#4aa3b5", "#8a6d3b", "#d64545", "#7b8794"];
const charts = new Map();

const $ = (id) => document.getElementById(id);
const number = (v, digits = 0) =>
  Number(v).toLocaleString("en", { maximumFractionDigits: digits, minimumFractionDigits: 0 });

function duration(seconds) {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}

/** Replaces the facts of a <dl>. */
function facts(id, rows) {
  const dl = $(id);
  dl.replaceChildren();
  for (const [term, value] of rows) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dl.append(dt, dd);
  }
}

/** Draws (or redraws) a chart; shows the article's "empty" note when there is no data. */
function draw(id, config, empty = false) {
  const canvas = $(id);
  const note = canvas.closest("article, section")?.querySelector(".empty");
  if (note) note.hidden = !empty;
  canvas.parentElement.hidden = empty;
  if (!window.Chart) return;
  charts.get(id)?.destroy();
  charts.delete(id);
  if (empty) return;
  config.options = {
    animation: false,
    maintainAspectRatio: false,
    responsive: true,
    ...config.options,
  };
  charts.set(id, new window.Chart(canvas, config));
}

/** Fills a table body with rows of cell texts. */
function table(id, rows) {
  const body = $(id).tBodies[0];
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement("tr");
      for (const v of cells) {
        const td = document.createElement("td");
        td.textContent = v;
        tr.append(td);
      }
      return tr;
    }),
  );
}

/** "2026-05-05 to 2026-06-03", or one date for a one-day period. */
const span = (w) => (w.days > 1 ? `${w.firstDate} to ${w.lastDate}` : w.firstDate);

function horizontalBars(id, rows, label, digits = 3) {
  draw(
    id,
    {
      type: "bar",
      data: {
        labels: rows.map((r) => r.key),
        datasets: [{ label, data: rows.map((r) => Number(r.value.toFixed(digits))), backgroundColor: COLORS[0] }],
      },
      options: { indexAxis: "y", plugins: { legend: { display: false } } },
    },
    rows.length === 0,
  );
}

/** Bars per window, stacked. */
function stackedBars(id, labels, datasets, empty = false) {
  draw(
    id,
    {
      type: "bar",
      data: { labels, datasets },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    },
    empty,
  );
}

function renderModel(s) {
  const m = s.model;
  if (!m) {
    facts("model-facts", [["status", "no model built yet"]]);
    return;
  }
  facts("model-facts", [
    ["version", String(m.version)],
    ["built", `${new Date(m.builtAt).toLocaleString()} (${duration(m.ageSeconds)} ago)`],
    ["describes the shop up to", `${m.asOfDate} (the newest released window)`],
    ["items with popularity", number(m.items)],
    ["trending items", number(m.trending)],
    ["items with item lists", number(m.neighbourLists)],
    ["learned item model", m.itemModel
      ? `EASE over ${number(m.itemModel.items)} items (λ ${number(m.itemModel.lambda)}); co-occurrence for the rest`
      : "none yet (co-occurrence only: no item has a released pair)"],
    ["interests", number(m.interests)],
    ["size (gzip / brotli)", `${number(m.bytes.gzip / 1024, 1)} KB / ${number(m.bytes.br / 1024, 1)} KB`],
  ]);
}

function renderPrivacy(s) {
  const p = s.privacy;
  facts("privacy-facts", [
    ["modes accepted", p.modes.join(", ")],
    ["window", `${p.windowDays} days`],
    ["epsilon, delta per shopper and window", `ε = ${p.epsilon}, δ = ${p.delta}`],
    ["k (distinct shoppers per key and window)", String(p.k)],
    ["release threshold τ", `items ${p.thresholds.items}, pairs ${p.thresholds.pairs}, interests ${p.thresholds.interests}`],
    ["presence delta", p.presenceDelta == null ? "none (k-anonymous presence)" : String(p.presenceDelta)],
    ["noise σ per count", Object.entries(p.noiseSigma).map(([f, v]) => `${f} ${number(v, 1)}`).join(", ")],
    ["caps per window", `items ${p.caps.items}, pairs ${p.caps.pairs}, interests ${p.caps.interests}, strategies shown ${p.caps.impressions}, strategies clicked ${p.caps.clicks}`],
    ["ldp reports", `ε = ${p.ldpEpsilon} each, set size ${p.ldpSetSize}`],
    ["release delay", `${p.releaseDelayDays} day(s) after a window ends`],
    ["retention", `${p.retentionDays} days`],
  ]);
}

function renderWindows(s) {
  const windows = s.windows;
  const labels = windows.map(span);
  stackedBars("reports-chart", labels, [
    { label: "threshold reports (released)", data: windows.map((w) => (w.released ? w.reports : 0)), backgroundColor: COLORS[0] },
    { label: "ldp reports (released)", data: windows.map((w) => (w.released ? w.ldpReports : 0)), backgroundColor: COLORS[4] },
    { label: "not released yet", data: windows.map((w) => (w.released ? 0 : w.reports + w.ldpReports)), backgroundColor: COLORS[9] },
  ]);
  table(
    "windows-table",
    windows
      .slice()
      .reverse()
      .map((w) => {
        const keys = w.releasedKeys ?? {};
        const held = w.suppressed ? w.suppressed.items + w.suppressed.pairs + w.suppressed.interests : null;
        return [
          span(w),
          number(w.reports + w.ldpReports),
          w.released ? "released" : `open: released from ${w.releasesOnDate}`,
          w.released ? number(keys.items) : "",
          w.released ? number(keys.pairs) : "",
          w.released ? number(keys.interests) : "",
          held == null ? "" : number(held),
        ];
      }),
  );
  const released = windows.filter((w) => w.released);
  stackedBars(
    "released-chart",
    released.map(span),
    ["items", "pairs", "interests"].map((f, i) => ({
      label: f,
      data: released.map((w) => w.releasedKeys[f]),
      backgroundColor: COLORS[i + 1],
    })),
    released.length === 0,
  );
  stackedBars(
    "suppressed-chart",
    released.map(span),
    ["items", "pairs", "interests"].map((f, i) => ({
      label: f,
      data: released.map((w) => w.suppressed[f]),
      backgroundColor: COLORS[i + 1],
    })),
  );
  const t = s.suppressed;
  $("suppressed-total").textContent =
    `Held back over the kept windows: ${number(t.items)} items, ${number(t.pairs)} pairs, ${number(t.interests)} interests ` +
    `(contributed by fewer than k shoppers in a window, or below the noised threshold).`;
}

function renderStrategies(s) {
  const rows = s.strategies;
  draw("strategies-chart", {
    type: "bar",
    data: {
      labels: rows.map((r) => r.strategy),
      datasets: [
        { label: "shoppers shown", data: rows.map((r) => Math.round(r.shown)), backgroundColor: COLORS[0], yAxisID: "y" },
        { label: "shoppers who clicked", data: rows.map((r) => Math.round(r.clicked)), backgroundColor: COLORS[1], yAxisID: "y" },
        {
          type: "line",
          label: "click-through per shopper %",
          data: rows.map((r) => (r.ctr == null ? null : Number((r.ctr * 100).toFixed(1)))),
          borderColor: COLORS[2],
          backgroundColor: COLORS[2],
          yAxisID: "ctr",
        },
      ],
    },
    options: {
      scales: {
        y: { beginAtZero: true, position: "left", title: { display: true, text: "shoppers" } },
        ctr: { beginAtZero: true, position: "right", grid: { drawOnChartArea: false }, title: { display: true, text: "%" } },
      },
    },
  });
  $("strategy-window").textContent = s.strategyWindow ? `(${span(s.strategyWindow)})` : "";
  $("ctr-note").textContent =
    "Counts are shoppers, noised: each shopper counts at most once per strategy and window as shown, and once as having " +
    "clicked one of its recommendations, however many lists they saw or clicked. Click-through per shopper is the share " +
    `of shoppers shown who clicked; it is given once a strategy has at least ${number(s.ctrMinShown)} shoppers shown ` +
    "(ten standard deviations of the noise); below that the noise would dominate the ratio.";
  table(
    "strategies-table",
    rows.map((r) => [r.strategy, number(r.shown), number(r.clicked), r.ctr == null ? "too few to tell" : `${(r.ctr * 100).toFixed(1)} %`]),
  );
}

function render(s) {
  $("site").textContent = s.site;
  document.title = `${s.site} · kindred dashboard`;
  renderModel(s);
  renderPrivacy(s);
  renderWindows(s);
  horizontalBars("top-chart", s.topItems, "popularity");
  horizontalBars("trending-chart", s.trending, "trending score");
  draw(
    "interests-chart",
    {
      type: "doughnut",
      data: {
        labels: s.interests.map((r) => r.key),
        datasets: [{ data: s.interests.map((r) => Number((r.value * 100).toFixed(1))), backgroundColor: COLORS }],
      },
      options: { plugins: { legend: { position: "right" } } },
    },
    s.interests.length === 0,
  );
  horizontalBars(
    "pairs-chart",
    s.pairs.map((p) => ({ key: `${p.a} + ${p.b}`, value: p.count })),
    "released count (decayed)",
    1,
  );
  renderStrategies(s);
  const status = $("status");
  status.className = "";
  status.textContent = `Updated ${new Date(s.generatedAt).toLocaleTimeString()}`;
}

async function load() {
  try {
    const res = await fetch("/v1/stats", { credentials: "same-origin", cache: "no-store" });
    if (!res.ok) throw new Error(`GET /v1/stats answered ${res.status}`);
    render(await res.json());
    document.body.dataset.loaded = "true";
  } catch (e) {
    const status = $("status");
    status.className = "error";
    status.textContent = `Could not load the numbers: ${e.message}`;
  }
}

async function rebuild() {
  const button = $("rebuild");
  button.disabled = true;
  try {
    const res = await fetch("/v1/admin/rebuild", { method: "POST", credentials: "same-origin" });
    if (!res.ok) throw new Error(`rebuild answered ${res.status}`);
    await load();
  } catch (e) {
    $("status").className = "error";
    $("status").textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

$("chart-missing").hidden = Boolean(window.Chart);
$("rebuild").addEventListener("click", rebuild);
load();
setInterval(load, REFRESH_MS);
