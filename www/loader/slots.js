// Recommendation slots: `<div data-kindred-slot="STRATEGY" data-item="ID" data-count="8">`.
//
// A slot is filled from the page's own `<template>` (a `<template>` inside the slot, or the one
// named by `data-template="ID"`), else with an accessible default list. In a template,
// `data-kindred-field="title|price|brand|description|reason|category|id"` receives text,
// `data-kindred-field="url"` an href, `data-kindred-field="image"` a src, and
// `data-kindred-style="--name:field"` sets a CSS custom property through the CSSOM (allowed by a
// strict Content-Security-Policy). The slot's `data-kindred-state` says `loading`, `ready`,
// `empty` or `error`; a `kindred:render` event (detail: strategy and items) follows each render.
//
// Slot options: `data-count` (1-50, default 8), `data-item` (anchor of similar and
// bought-together; default: the closest `data-kindred-item` around the slot), `data-category`
// (only that category path), `data-available="any"` (also unavailable items; by default only
// available ones), `data-diversity` (0-1), `data-label` (the list's accessible name).
// A slot the shopper is pointing at or has focus in is not redrawn under them: it is redrawn
// when they leave it.

const LABELS = {
  "for-you": "Recommended for you",
  similar: "Similar products",
  // The strategy's lists come from items shoppers viewed or bought together, not purchases alone.
  "bought-together": "Often viewed or bought with this",
  trending: "Trending now",
  "recently-viewed": "Recently viewed",
  "buy-again": "Buy again",
};
const SLOT = "[data-kindred-slot]";
const RENDERED = "data-kindred-rendered";

export class Slots {
  /**
   * @param {object} k the Kindred instance
   * @param {Map<string, object>} rows catalog rows by id (for titles, prices, urls, images)
   * @param {import("./config.js").TagConfig} config
   */
  constructor(k, rows, config) {
    this.k = k;
    this.rows = rows;
    this.config = config;
    this.timer = 0;
    this.deferred = new Set();
  }

  /** Fills every slot now, and every slot added or changed later. */
  start() {
    for (const el of document.querySelectorAll(SLOT)) this.loading(el);
    this.renderAll();
    new MutationObserver((changes) => {
      const dirty = new Set();
      for (const change of changes) {
        if (change.type === "attributes") {
          if (change.target.matches(SLOT)) dirty.add(change.target);
          continue;
        }
        for (const node of change.addedNodes) {
          if (node.nodeType !== 1 || node.hasAttribute(RENDERED)) continue;
          if (node.matches(SLOT)) dirty.add(node);
          for (const el of node.querySelectorAll(SLOT)) dirty.add(el);
        }
      }
      for (const el of dirty) this.render(el);
    }).observe(document.documentElement, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["data-kindred-slot", "data-item", "data-count", "data-category"],
    });
  }

  /** Redraws every slot soon (several changes in a row cause one redraw). */
  refresh() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.renderAll(), 50);
  }

  renderAll() {
    for (const el of document.querySelectorAll(SLOT)) this.render(el);
  }

  loading(el) {
    if (!el.hasAttribute("data-kindred-state")) {
      el.setAttribute("data-kindred-state", "loading");
      el.setAttribute("aria-busy", "true");
    }
  }

  render(el) {
    if (el.matches(":hover") || el.contains(document.activeElement)) {
      this.deferLater(el);
      return;
    }
    const strategy = el.getAttribute("data-kindred-slot");
    let recs;
    try {
      recs = this.k.recommend(this.request(el, strategy));
    } catch (error) {
      this.clear(el);
      el.setAttribute("data-kindred-state", "error");
      el.removeAttribute("aria-busy");
      console.warn(`kindred: slot "${strategy}": ${error.message}`);
      return;
    }
    recs = recs.filter((r) => this.rows.has(r.item));
    this.clear(el);
    const template = this.template(el);
    if (template) {
      for (const rec of recs) el.append(this.fromTemplate(template, rec));
    } else if (recs.length > 0) {
      el.append(this.defaultList(el, strategy, recs));
    }
    el.setAttribute("data-kindred-state", recs.length > 0 ? "ready" : "empty");
    el.removeAttribute("aria-busy");
    el.dispatchEvent(
      new CustomEvent("kindred:render", { bubbles: true, detail: { strategy, items: recs } }),
    );
  }

  /** Redraws `el` once the pointer and the focus have left it. */
  deferLater(el) {
    if (this.deferred.has(el)) return;
    this.deferred.add(el);
    const retry = () => {
      if (el.matches(":hover") || el.contains(document.activeElement)) return;
      el.removeEventListener("pointerleave", retry);
      el.removeEventListener("focusout", later);
      this.deferred.delete(el);
      this.render(el);
    };
    const later = () => setTimeout(retry, 0);
    el.addEventListener("pointerleave", retry);
    el.addEventListener("focusout", later);
  }

  request(el, strategy) {
    const d = el.dataset;
    const count = Number.parseInt(d.count || "8", 10);
    const options = { strategy, k: Math.min(50, Math.max(1, Number.isFinite(count) ? count : 8)) };
    if (strategy === "similar" || strategy === "bought-together") {
      const owner = el.parentElement && el.parentElement.closest("[data-kindred-item]");
      const item = d.item || (owner && owner.getAttribute("data-kindred-item"));
      if (!item) throw new Error(`needs data-item="ID" (the product it is about)`);
      options.item = item;
    }
    const filter = {};
    if (d.available !== "any") filter.available = true;
    if (d.category) filter.categories = [d.category];
    options.filter = filter;
    if (d.diversity) options.diversity = Number(d.diversity);
    return options;
  }

  clear(el) {
    for (const node of [...el.children]) if (node.hasAttribute(RENDERED)) node.remove();
  }

  template(el) {
    const id = el.getAttribute("data-template");
    const named = id ? document.getElementById(id) : null;
    if (named instanceof HTMLTemplateElement) return named;
    if (id) console.warn(`kindred: data-template="${id}" names no <template>`);
    for (const child of el.children) if (child instanceof HTMLTemplateElement) return child;
    return null;
  }

  url(id, row) {
    if (typeof row.url === "string") return row.url;
    const pattern = this.config.productUrl;
    return pattern ? pattern.replaceAll("{id}", encodeURIComponent(id)) : null;
  }

  text(field, rec, row) {
    switch (field) {
      case "id":
        return rec.item;
      case "price":
        return typeof row.price === "number" ? this.price(row.price) : "";
      case "reason":
        return rec.reasons[0] || "";
      case "category": {
        const c = Array.isArray(row.categories) ? row.categories[0] : row.categories;
        return Array.isArray(c) ? c.join(" > ") : c || "";
      }
      default: {
        const value = row[field];
        return typeof value === "string" || typeof value === "number" ? String(value) : "";
      }
    }
  }

  price(value) {
    return this.config.money ? this.config.money.format(value) : value.toFixed(2);
  }

  fromTemplate(template, rec) {
    const row = this.rows.get(rec.item);
    const fragment = template.content.cloneNode(true);
    const root = fragment.firstElementChild;
    for (const el of fragment.querySelectorAll("[data-kindred-field]")) {
      const field = el.getAttribute("data-kindred-field");
      if (field === "url") {
        const url = this.url(rec.item, row);
        if (url) el.setAttribute("href", url);
      } else if (field === "image") {
        if (typeof row.image === "string") {
          el.setAttribute("src", row.image);
          if (!el.hasAttribute("alt")) el.setAttribute("alt", "");
        } else el.remove();
      } else {
        el.textContent = this.text(field, rec, row);
      }
    }
    for (const el of fragment.querySelectorAll("[data-kindred-style]")) {
      for (const pair of el.getAttribute("data-kindred-style").split(";")) {
        const [name, field] = pair.split(":").map((s) => s.trim());
        const value = this.text(field || "", rec, row);
        if (name && name.startsWith("--") && value) el.style.setProperty(name, value);
      }
    }
    // Every top-level element is output (cleared on the next render); the first is the item.
    for (const node of [...fragment.childNodes]) if (node.nodeType !== 1) node.remove();
    for (const node of fragment.children) node.setAttribute(RENDERED, "");
    if (root) root.setAttribute("data-kindred-item", rec.item);
    return fragment;
  }

  defaultList(el, strategy, recs) {
    const list = document.createElement("ul");
    list.className = "kindred-list";
    list.setAttribute("role", "list");
    list.setAttribute(RENDERED, "");
    list.setAttribute("aria-label", el.getAttribute("data-label") || LABELS[strategy] || strategy);
    for (const rec of recs) {
      const row = this.rows.get(rec.item);
      const li = document.createElement("li");
      li.className = "kindred-item";
      li.setAttribute("data-kindred-item", rec.item);
      const url = this.url(rec.item, row);
      const link = document.createElement(url ? "a" : "span");
      link.className = "kindred-link";
      if (url) link.setAttribute("href", url);
      if (typeof row.image === "string") {
        const img = document.createElement("img");
        img.className = "kindred-image";
        img.setAttribute("src", row.image);
        img.setAttribute("alt", "");
        img.setAttribute("loading", "lazy");
        link.append(img);
      }
      const title = document.createElement("span");
      title.className = "kindred-title";
      title.textContent = row.title;
      link.append(title);
      li.append(link);
      if (typeof row.price === "number") {
        const price = document.createElement("span");
        price.className = "kindred-price";
        price.textContent = this.price(row.price);
        li.append(price);
      }
      if (rec.reasons[0]) {
        const reason = document.createElement("span");
        reason.className = "kindred-reason";
        reason.textContent = rec.reasons[0];
        li.append(reason);
      }
      list.append(li);
    }
    return list;
  }
}
