// Automatic tracking from the page's markup. What it records stays on the device: it only calls
// `kindred.track()`, which keeps events in this browser.
//
// - view: an element with `data-kindred-item` is at least half visible (or fills half the
//   viewport) for one second while the tab is visible; once per item per page.
// - click: a click (or middle click) on such an element. Inside a recommendation slot the click
//   is attributed to the slot's strategy.
// - cart / remove_cart / purchase: a click on `data-kindred-action`; the items are its own or its
//   closest ancestor's `data-kindred-item`, or the space-separated `data-kindred-items`.
// - search: submitting a `<form data-kindred-search>`, or on load the URL parameter named by
//   the script's `data-search-param` (not again on reload or back/forward).
// Items inside recommendation slots never count as views: a rail shown is not an interest.

const VIEW_MS = 1000;
const ACTIONS = ["cart", "remove_cart", "purchase"];
const ITEM = "[data-kindred-item]";
const SLOT = "[data-kindred-slot]";

/** Starts tracking; `record(event)` tracks one event (it never throws). */
export function startTracking({ record, searchParam }) {
  const viewed = new Set();
  const timers = new Map();

  const halfVisible = (entry) =>
    entry.isIntersecting &&
    (entry.intersectionRatio >= 0.5 ||
      (entry.rootBounds && entry.intersectionRect.height >= entry.rootBounds.height / 2));

  const cancel = (el) => {
    clearTimeout(timers.get(el));
    timers.delete(el);
  };

  const observer = new IntersectionObserver(
    (entries) => {
      for (const entry of entries) {
        const el = entry.target;
        if (!halfVisible(entry) || document.hidden) {
          cancel(el);
          continue;
        }
        if (timers.has(el)) continue;
        timers.set(
          el,
          setTimeout(() => {
            timers.delete(el);
            observer.unobserve(el);
            const item = el.getAttribute("data-kindred-item");
            if (!el.isConnected || !item || viewed.has(item)) return;
            viewed.add(item);
            record({ type: "view", item });
          }, VIEW_MS),
        );
      }
    },
    { threshold: [0, 0.25, 0.5, 0.75, 1] },
  );

  const watch = (el) => {
    const item = el.getAttribute("data-kindred-item");
    if (item && !viewed.has(item) && !el.closest(SLOT)) observer.observe(el);
  };
  const watchTree = (root) => {
    if (root.nodeType !== 1) return;
    if (root.matches(ITEM)) watch(root);
    for (const el of root.querySelectorAll(ITEM)) watch(el);
  };
  watchTree(document.documentElement);
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.type === "attributes") watchTree(change.target);
      else for (const node of change.addedNodes) watchTree(node);
    }
  }).observe(document.documentElement, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: ["data-kindred-item"],
  });

  // A hidden tab shows nothing: pending views restart when it is visible again.
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      for (const el of [...timers.keys()]) {
        cancel(el);
        observer.unobserve(el);
        watch(el);
      }
    }
  });

  const onClick = (event) => {
    if (event.type === "auxclick" && event.button !== 1) return;
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const action = target.closest("[data-kindred-action]");
    if (action) {
      const type = action.getAttribute("data-kindred-action");
      if (!ACTIONS.includes(type)) {
        console.warn(`kindred: data-kindred-action="${type}" is not one of ${ACTIONS.join(", ")}`);
        return;
      }
      const list = action.getAttribute("data-kindred-items");
      const owner = action.closest(ITEM);
      const items = list ? list.split(/\s+/).filter(Boolean) : owner ? [owner.getAttribute("data-kindred-item")] : [];
      if (items.length === 0) {
        console.warn(`kindred: data-kindred-action="${type}" has no data-kindred-item(s) on it or around it`);
        return;
      }
      for (const item of items) record({ type, item });
      return;
    }
    const el = target.closest(ITEM);
    if (!el) return;
    const slot = el.closest(SLOT);
    const event_ = { type: "click", item: el.getAttribute("data-kindred-item") };
    if (slot) event_.strategy = slot.getAttribute("data-kindred-slot");
    record(event_);
  };
  document.addEventListener("click", onClick, true);
  document.addEventListener("auxclick", onClick, true);

  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target instanceof Element ? event.target.closest("form[data-kindred-search]") : null;
      if (!form) return;
      const input =
        form.querySelector("input[type=search]") ||
        form.querySelector("input[name=q]") ||
        form.querySelector("input:not([type]), input[type=text]");
      const query = input ? input.value.trim() : "";
      if (query) record({ type: "search", query });
    },
    true,
  );

  if (searchParam) {
    const query = (new URLSearchParams(location.search).get(searchParam) || "").trim();
    const [navigation] = performance.getEntriesByType("navigation");
    const repeated = navigation && (navigation.type === "reload" || navigation.type === "back_forward");
    if (query && !repeated) record({ type: "search", query });
  }
}
