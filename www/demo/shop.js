// The demo shop's own code, standing in for any shop's templates: header, listing, product
// page, cart, checkout and search, rendered from /catalog.json. It never calls kindred: the
// storefront script learns what the shopper does from the data-kindred-* attributes below
// (items, cart/remove_cart/purchase actions) and the search page's ?q= (data-search-param).
// The cart is the shop's business and lives in localStorage under "demo-shop:cart".
"use strict";

const CART_KEY = "demo-shop:cart";
const ORDER_KEY = "demo-shop:last-order";
const money = new Intl.NumberFormat("en-IE", { style: "currency", currency: "EUR" });
const params = new URLSearchParams(location.search);
const page = document.body.dataset.page;

/** `h("a", { href: "/" }, "text", child)`: a small element builder (no innerHTML anywhere). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") el.className = value;
    else if (name.startsWith("--")) el.style.setProperty(name, value);
    else el.setAttribute(name, value === true ? "" : value);
  }
  el.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

const readJson = (key, fallback) => {
  try {
    return JSON.parse(localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
};
const cart = () => readJson(CART_KEY, []);
const saveCart = (lines) => {
  localStorage.setItem(CART_KEY, JSON.stringify(lines));
  updateCartCount();
};
function updateCartCount() {
  const count = cart().reduce((n, line) => n + line.qty, 0);
  const badge = document.getElementById("cart-count");
  if (badge) badge.textContent = String(count);
}

const department = (item) => (item.categories?.[0] || "Other").split(" > ")[0];
const productUrl = (id) => `/product.html?id=${encodeURIComponent(id)}`;
/** "Blue Ceramic Mug" → "BC"; titles without spaces (Chinese) → their first two characters. */
const initials = (title) => {
  const words = title.split(/\s+/).filter(Boolean);
  return (words.length > 1 ? words.slice(0, 2).map((w) => [...w][0]) : [...title].slice(0, 2)).join("").toUpperCase();
};

function tile(item, big) {
  return h("span", { class: big ? "tile tile-big" : "tile", "--tile": item.color || "#8896ab", "aria-hidden": "true" },
    initials(item.title));
}

/** A product card: `data-kindred-item` makes views and clicks count, the button is an action. */
function card(item) {
  return h("article", { class: "card", "data-kindred-item": item.id },
    h("a", { class: "card-link", href: productUrl(item.id) }, tile(item), h("span", { class: "card-title" }, item.title)),
    h("span", { class: "card-meta" }, `${item.brand || ""} · ${money.format(item.price ?? 0)}`),
    item.available === false
      ? h("span", { class: "soldout" }, "Sold out")
      : h("button", { type: "button", class: "add", "data-kindred-action": "cart", "data-add": item.id }, "Add to cart"));
}

function header(departments) {
  const nav = h("nav", { "aria-label": "Departments" },
    h("ul", {}, ...departments.map((d) => h("li", {}, h("a", { href: `/?category=${encodeURIComponent(d)}` }, d)))));
  const search = h("form", { class: "search", role: "search", action: "/search.html" },
    h("label", { for: "q", class: "visually-hidden" }, "Search products"),
    h("input", { type: "search", id: "q", name: "q", placeholder: "Search (try “mug” or “陶瓷”)", value: params.get("q") || "" }),
    h("button", { type: "submit" }, "Search"));
  const links = h("ul", { class: "header-links" },
    h("li", {}, h("a", { href: "/cart.html" }, "Cart (", h("span", { id: "cart-count" }, "0"), ")")),
    h("li", {}, h("a", { href: "/privacy.html" }, "Privacy centre")));
  document.getElementById("site-header").append(h("a", { class: "logo", href: "/" }, "Kindred demo shop"), search, links, nav);
  updateCartCount();
}

/** The rail cards' template (data-template="rail-card"), filled by the storefront script. */
function railTemplate() {
  const template = h("template", { id: "rail-card" });
  template.content.append(
    h("article", { class: "card card-small" },
      h("a", { class: "card-link", "data-kindred-field": "url" },
        h("span", { class: "tile", "data-kindred-style": "--tile:color", "aria-hidden": "true" }),
        h("span", { class: "card-title", "data-kindred-field": "title" })),
      h("span", { class: "card-meta", "data-kindred-field": "price" }),
      h("small", { class: "reason", "data-kindred-field": "reason" })));
  document.body.append(template);
}

function home(items) {
  const category = params.get("category");
  const grid = document.getElementById("listing");
  let shown;
  if (category) {
    shown = items.filter((it) => (it.categories || []).some((c) => c === category || c.startsWith(`${category} > `)));
    document.getElementById("listing-title").textContent = category;
    document.getElementById("listing-note").textContent = `${shown.length} products`;
    document.title = `${category} · Kindred demo shop`;
    shown = shown.slice(0, 48);
  } else {
    // The first products of each category: a varied front page.
    const seen = new Map();
    shown = items.filter((it) => {
      const c = it.categories?.[0] || "";
      seen.set(c, (seen.get(c) || 0) + 1);
      return seen.get(c) <= 2;
    }).slice(0, 24);
  }
  grid.append(...shown.map(card));
}

function product(items) {
  const item = items.find((it) => it.id === params.get("id"));
  const main = document.getElementById("product");
  if (!item) {
    main.append(h("h1", {}, "Product not found"), h("p", {}, h("a", { href: "/" }, "Back to the shop")));
    for (const slot of document.querySelectorAll(".needs-item")) slot.closest("section").remove();
    return;
  }
  document.title = `${item.title} · Kindred demo shop`;
  for (const slot of document.querySelectorAll(".needs-item")) slot.setAttribute("data-item", item.id);
  const category = item.categories?.[0] || "";
  main.setAttribute("data-kindred-item", item.id);
  main.append(
    tile(item, true),
    h("div", { class: "product-info" },
      h("p", { class: "crumbs" }, h("a", { href: `/?category=${encodeURIComponent(department(item))}` }, department(item)),
        " › ", h("a", { href: `/?category=${encodeURIComponent(category)}` }, category.split(" > ").pop())),
      h("h1", {}, item.title),
      h("p", { class: "brand" }, item.brand || ""),
      h("p", { class: "price" }, money.format(item.price ?? 0)),
      h("p", {}, item.description || ""),
      item.tags?.length ? h("p", { class: "tags" }, ...item.tags.map((t) => h("span", { class: "tag" }, t))) : null,
      item.available === false
        ? h("p", { class: "soldout" }, "Sold out")
        : h("button", { type: "button", class: "add add-big", "data-kindred-action": "cart", "data-add": item.id }, "Add to cart"),
      h("p", { class: "added", id: "added", role: "status" })));
}

function cartPage(byId) {
  const root = document.getElementById("cart");
  const together = document.querySelector(".needs-item");
  root.replaceChildren();
  const lines = cart().filter((line) => byId.has(line.id));
  if (lines.length === 0) {
    const order = readJson(ORDER_KEY, null);
    root.append(order
      ? h("p", { class: "thanks", role: "status" }, `Thank you! Order ${order.number} with ${order.count} item(s) is on its way.`)
      : h("p", {}, "Your cart is empty. ", h("a", { href: "/" }, "Keep shopping")));
    together?.removeAttribute("data-item");
    together?.closest("section").setAttribute("hidden", "");
    return;
  }
  together?.setAttribute("data-item", lines[0].id);
  together?.closest("section").removeAttribute("hidden");
  let total = 0;
  const list = h("ul", { class: "cart-lines" }, ...lines.map((line) => {
    const item = byId.get(line.id);
    total += (item.price ?? 0) * line.qty;
    return h("li", { "data-kindred-item": item.id },
      tile(item),
      h("a", { href: productUrl(item.id) }, item.title),
      h("span", {}, `× ${line.qty}`),
      h("span", {}, money.format((item.price ?? 0) * line.qty)),
      h("button", { type: "button", class: "remove", "data-kindred-action": "remove_cart", "data-remove": item.id,
        "aria-label": `Remove ${item.title}` }, "Remove"));
  }));
  const ids = lines.map((line) => line.id).join(" ");
  root.append(list,
    h("p", { class: "total" }, `Total ${money.format(total)}`),
    h("button", { type: "button", class: "checkout", "data-kindred-action": "purchase", "data-kindred-items": ids,
      "data-checkout": "" }, "Buy now"));
}

function searchPage(items) {
  const query = (params.get("q") || "").trim().toLowerCase();
  const terms = query.split(/\s+/).filter(Boolean);
  const hits = terms.length === 0 ? [] : items.filter((it) => {
    const text = `${it.title} ${it.brand || ""} ${it.description || ""} ${(it.categories || []).join(" ")}`.toLowerCase();
    return terms.every((t) => text.includes(t));
  });
  document.getElementById("search-title").textContent = query
    ? `${hits.length} result(s) for “${params.get("q").trim()}”`
    : "Search";
  document.getElementById("results").append(...hits.slice(0, 48).map(card));
}

/** Consent banner: the storefront script starts with data-consent="pending". */
function consentBanner() {
  const kindred = window.kindred;
  if (!kindred || !kindred.ready) return;
  kindred.ready.then((k) => {
    if (k.privacy().consent !== "pending") return;
    const choose = (state) => {
      k.consent(state);
      banner.remove();
    };
    const banner = h("aside", { class: "consent", "aria-label": "Privacy choice" },
      h("p", {}, "This shop computes recommendations in your browser. May it send one small, privacy-protected "
        + "summary per day (no identifiers, no search text) to improve recommendations for everyone? ",
        h("a", { href: "/privacy.html" }, "See exactly what would be sent.")),
      h("button", { type: "button", "data-consent": "granted" }, "Allow"),
      h("button", { type: "button", "data-consent": "denied" }, "Don't allow"));
    banner.addEventListener("click", (event) => {
      const state = event.target.closest("[data-consent]")?.getAttribute("data-consent");
      if (state) choose(state);
    });
    document.body.append(banner);
  }, () => {});
}

document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-add]");
  if (add) {
    const lines = cart();
    const line = lines.find((l) => l.id === add.dataset.add);
    if (line) line.qty += 1;
    else lines.push({ id: add.dataset.add, qty: 1 });
    saveCart(lines);
    const added = document.getElementById("added");
    if (added) added.textContent = "Added to your cart.";
    add.textContent = "Added ✓";
    return;
  }
  const remove = event.target.closest("[data-remove]");
  if (remove) {
    saveCart(cart().filter((l) => l.id !== remove.dataset.remove));
    document.dispatchEvent(new Event("demo:cart"));
    return;
  }
  if (event.target.closest("[data-checkout]")) {
    const count = cart().reduce((n, l) => n + l.qty, 0);
    localStorage.setItem(ORDER_KEY, JSON.stringify({ number: `K-${Math.floor(Date.now() / 1000) % 100000}`, count }));
    saveCart([]);
    document.dispatchEvent(new Event("demo:cart"));
  }
});

railTemplate();
const catalog = fetch("/catalog.json").then((r) => r.json());
catalog.then((items) => {
  const departments = [...new Set(items.map(department))].sort();
  header(departments);
  const byId = new Map(items.map((it) => [it.id, it]));
  if (page === "home") home(items);
  else if (page === "product") product(items);
  else if (page === "search") searchPage(items);
  else if (page === "cart") {
    cartPage(byId);
    document.addEventListener("demo:cart", () => cartPage(byId));
  }
  document.dispatchEvent(new Event("demo:rendered"));
}, (error) => {
  document.getElementById("main").prepend(h("p", { class: "error", role: "alert" }, `The catalog could not be loaded: ${error.message}`));
});
// kindred.js runs after this deferred script, so window.kindred is not there yet.
document.addEventListener("DOMContentLoaded", consentBanner);
