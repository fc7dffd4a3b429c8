/** Options of `Kindred.create`. Every field is optional; defaults are in brackets. */
export interface KindredOptions {
  /** Names this site's storage (IndexedDB database `kindred:<site>`), 1-64 characters ["default"]. */
  site?: string;
  /** Where the shopper's state lives ["indexeddb"]; "memory" keeps it for this page only. */
  storage?: "indexeddb" | "memory";
  /** Milliseconds to batch tracked events before saving [500]. */
  flushDelayMs?: number;
  /** Raw events and per-item view, click and cart totals older than this are deleted [90]. */
  retentionDays?: number;
  /** Per-item purchase aggregates (count, day of the last purchase) are kept this long, for
   * buy-again and "already bought" across a year of restocking; at least `retentionDays`
   * [395, or `retentionDays` when that is longer]. They never leave the device. */
  purchaseMemoryDays?: number;
  /** Raw events kept before the oldest are folded into per-item totals [5000]. */
  maxEvents?: number;
  /** Half-life of interest decay in days [14]. */
  halfLifeDays?: number;
  /** Inactivity that ends a session, in minutes [30]. */
  sessionGapMinutes?: number;
  /** How much each kind of event says about interest. */
  eventWeights?: Partial<EventWeights>;
  /** The kindred server's base URL ("/" or "https://stats.shop.example"); reports go to
   * `<endpoint>/v1/reports`. Without it nothing is ever sent. */
  endpoint?: string;
  /** What leaves the device and the epsilon budget (docs/PRIVACY.md). */
  privacy?: Partial<PrivacyConfig>;
  /** Whether reports may be sent ["granted"]; "pending" holds them until `consent("granted")`. */
  consent?: "granted" | "pending" | "denied";
  /** Reports wait a random 0..reportDelayMs after the page starts [60000]. */
  reportDelayMs?: number;
  /** First retry after a failed delivery; doubles per failure, at most 6 hours [60000]. */
  retryDelayMs?: number;
  /** Undelivered reports are dropped after this many days [7]. */
  outboxDays?: number;
}

/** Contribution bounds of one shopper over one window, summed over the window's reports. */
export interface Caps {
  /** Distinct items [64]. */
  items: number;
  /** Distinct pairs of items [128]. */
  pairs: number;
  /** Distinct interest keys (category, brand, tag, price band) [32]. */
  interests: number;
  /** Strategies the shopper may report as shown, each at most once per window (1 to 6) [6]. */
  impressions: number;
  /** Strategies the shopper may report as clicked, each at most once per window (1 to 6) [6]. */
  clicks: number;
}

/** Privacy settings (docs/PRIVACY.md). Over one contribution window (`windowDays` UTC days,
 * aligned to day 0) a shopper contributes each key at most once and at most `caps`. */
export interface PrivacyConfig {
  mode: "threshold" | "ldp" | "off";
  /** Cap on what one window may cost the shopper, as ε at `delta` (zCDP accounting) [4]. */
  epsilonPerWindow: number;
  /** δ of the (ε, δ) statement [1e-6]. */
  delta: number;
  /** Length of a contribution window in days; the server must count the same [30]. */
  windowDays: number;
  caps: Partial<Caps>;
  /** ldp mode: ε of each randomized report [1]. */
  ldpEpsilon: number;
  /** ldp mode: Padding-and-Sampling length [4]. */
  ldpSetSize: number;
  /** Completed days older than this are never reported [7]. */
  maxReportLagDays: number;
  /** @deprecated Removed in kindred 0.2 (passing it throws): use `epsilonPerWindow`. */
  epsilonPerDay?: never;
  /** @deprecated Removed in kindred 0.2 (passing it throws): use `epsilonPerWindow`. */
  epsilon30Days?: never;
}

/** The privacy budget spent, per contribution window. Days are UTC day numbers (days since
 * 1970-01-01: `new Date(day * 86400000)`). */
export interface LedgerSummary {
  /** First day of the current window. */
  window: number;
  windowDays: number;
  /** ε spent in the current window (at `delta`). */
  spent: number;
  /** ε cap per window. */
  cap: number;
  delta: number;
  /** ε over the windows that started in the last 365 days (composed), at `delta`. */
  spentYear: number;
  /** Every recorded window: [first day, ε spent], oldest first. */
  windows: [number, number][];
}

/** What the shopper contributed to one window: every key at most once in it. */
export interface WindowContribution {
  /** First and last day of the window (UTC day numbers), and its length. */
  firstDay: number;
  lastDay: number;
  days: number;
  items: string[];
  /** [a, b] with a < b. */
  pairs: [string, string][];
  interests: string[];
  /** Strategies whose recommendations the window was told the shopper was shown, and told they
   * clicked: each at most once per window, however many lists were shown and clicked. */
  shown: Strategy[];
  clicked: Strategy[];
  /** True after `forget()`: the keys were deleted and nothing more is contributed to this
   * window; contributions resume with the next one. */
  closed: boolean;
}

/** A committed report waiting for delivery. */
export interface OutboxEntry {
  /** The day it reports (UTC day number); kept on the device, the report names only its window. */
  day: number;
  json: string;
  committedAt: number;
  attempts: number;
  nextAt: number;
  claimedUntil: number;
}

/** The next report: `json` is exactly the text that will be sent; `epsilonAfter` is its
 * window's ε once it is sent. */
export interface NextReport {
  /** The day it reports (UTC day number). */
  day: number;
  /** First day of its contribution window. */
  window: number;
  epsilonAfter: number;
  json: string;
}

/** `k.privacy()`: what leaves the device. */
export interface PrivacyView {
  mode: "threshold" | "ldp" | "off";
  consent: "granted" | "pending" | "denied";
  /** Why nothing is sent now, or null. */
  blockedBy: null | "no-endpoint" | "mode-off" | "consent-pending" | "consent-denied" | "global-privacy-control" | "do-not-track";
  ledger: LedgerSummary;
  /** The newest day reported (UTC day number), or null. */
  lastReportedDay: number | null;
  /** What was contributed to the window of the last report, or null before the first. It may
   * be an earlier window than `ledger.window`. */
  window: WindowContribution | null;
  /** The caps of every window. */
  caps: Caps;
  /** The next report, or null when nothing is due. */
  nextReport: NextReport | null;
  /** Committed reports waiting for delivery. */
  outbox: OutboxEntry[];
}

export interface EventWeights {
  view: number;
  click: number;
  cart: number;
  removeCart: number;
  purchase: number;
  search: number;
  dwellPerMinute: number;
  dwellCap: number;
  ratePerStar: number;
}

/** A catalog row. Unknown fields are ignored; invalid rows are skipped and reported. */
export interface CatalogItem {
  /** A string, or an integer up to 2^53 (kept as its decimal text). */
  id: string | number;
  title: string;
  description?: string;
  /** Category paths, e.g. "Home > Kitchen > Mugs", each also as its segments
   * `["Home", "Kitchen", "Mugs"]`. */
  categories?: string | Array<string | string[]>;
  brand?: string;
  price?: number;
  available?: boolean;
  tags?: string[];
  embedding?: number[];
}

export interface RejectedRow {
  index: number;
  id: string | null;
  reason: string;
}

export interface LoadReport {
  loaded: number;
  rejected: RejectedRow[];
}

export type EventType =
  | "view"
  | "click"
  | "cart"
  | "remove_cart"
  | "purchase"
  | "search"
  | "dwell"
  | "rate";

/** What the shopper did. `item` is required except for `search`, which needs `query`. */
export interface TrackEvent {
  type: EventType;
  item?: string;
  /** Search text; it never leaves the device. */
  query?: string;
  /** Dwell time in milliseconds (`dwell`). */
  ms?: number;
  /** Rating 1-5 (`rate`). */
  value?: number;
  /** Milliseconds since 1970 [now]; timestamps in the future are clamped. */
  ts?: number;
  /** For `click` on a recommendation: the strategy that showed it (click-through per strategy). */
  strategy?: Strategy;
}

export type Strategy =
  | "for-you"
  | "similar"
  | "bought-together"
  | "trending"
  | "recently-viewed"
  | "buy-again";

export interface Filter {
  available?: boolean;
  categories?: string[];
  brands?: string[];
  tags?: string[];
  minPrice?: number;
  maxPrice?: number;
  /** Item ids never to recommend. */
  exclude?: string[];
}

/** Multiplies the score of items matching every given field by `factor`. */
export interface Boost {
  item?: string;
  category?: string;
  brand?: string;
  tag?: string;
  factor: number;
}

/** Places `item` at the 1-based `position`. */
export interface Pin {
  item: string;
  position: number;
}

export interface RecommendOptions {
  strategy?: Strategy;
  /** The anchor item for `similar` and `bought-together`. */
  item?: string;
  /** Number of results, 1-500 [10]. */
  k?: number;
  excludeViewed?: boolean;
  excludePurchased?: boolean;
  filter?: Filter;
  boost?: Boost[];
  pin?: Pin[];
  /** 0 (relevance only) to 1 (novelty only) [0]. */
  diversity?: number;
  minScore?: number;
}

export interface Recommendation {
  item: string;
  score: number;
  /** Human-readable reasons, most important first. */
  reasons: string[];
}

export interface Interest {
  /** Stable key, e.g. "category:Home > Kitchen"; pass it to `removeInterest`. */
  key: string;
  kind: "category" | "brand" | "tag" | "price" | "term";
  label: string;
  /** Share of the listed interests' total weight. */
  weight: number;
}

/** A shared-model segment the shopper is close to. */
export interface ProfileSegment {
  label: string;
  /** Cosine similarity of the shopper's interests to the segment's centroid. */
  similarity: number;
}

export interface Profile {
  interests: Interest[];
  removedInterests: string[];
  /** The closest shared-model segment, when a model with segments is loaded. */
  segment: ProfileSegment | null;
  /** Raw events stored. */
  events: number;
  /** Items the shopper has touched. */
  items: number;
}

export interface ItemActivity {
  views: number;
  clicks: number;
  carts: number;
  purchases: number;
  lastSeen: number | null;
  lastPurchase: number | null;
  inCart: boolean;
  lastRating: number | null;
}

export interface Explanation {
  item: string;
  title: string;
  activity: ItemActivity | null;
  matchedInterests: MatchedInterest[];
  /** Removed interests this item carries (it is kept out of for-you and trending). */
  hiddenBy: string[];
  popularity: number | null;
  trending: number | null;
  forYou: ForYouPlacement;
}

/** An interest of the shopper's that the explained item carries. */
export interface MatchedInterest {
  key: string;
  /** The interest's share of the profile (0 when too weak to be listed). */
  weight: number;
}

/** Where the explained item lands in the shopper's for-you list. */
export interface ForYouPlacement {
  /** 1-based rank, or null when it is not listed. */
  rank: number | null;
  score: number | null;
  reasons: string[];
}

export interface ExportedEvent {
  type: EventType;
  item?: string;
  query?: string;
  ts: number;
  amount: number;
}

export interface QuarantinedData {
  reason: string;
  at: number;
  /** The unreadable bytes, base64-encoded. */
  bytesBase64: string | null;
  /** Unreadable stored data that was not bytes, as JSON text. */
  rawJson: string | null;
}

/** Shown and clicked recommendation lists of one strategy. */
export interface StrategyCounts {
  impressions: number;
  clicks: number;
}

/** A drawn report not yet sent (`PrivacyView.nextReport`), with the keys it adds to its
 * window (in ldp mode `json` holds them only randomized). */
export interface PendingReport extends NextReport {
  contribution: ReportContribution;
}

/** The keys a report adds to its window. */
export interface ReportContribution {
  items: string[];
  pairs: [string, string][];
  interests: string[];
  strategies: Partial<Record<Strategy, StrategyCounts>>;
}

/** The profile `ExportedData.interests` is computed from, decayed to `exportedAt`: per item
 * id, per interest key, and per term (from titles of items touched and from searches). Values
 * may be negative (`remove_cart`). */
export interface Affinities {
  items: Record<string, number>;
  interests: Record<string, number>;
  terms: Record<string, number>;
}

/** Recommendation lists shown and clicked on one day (UTC day number); strategies neither
 * shown nor clicked are left out. */
export interface DayCounters {
  day: number;
  strategies: Partial<Record<Strategy, StrategyCounts>>;
}

/** Everything stored about the shopper. */
export interface ExportedData {
  site: string;
  exportedAt: number;
  storage: "indexeddb" | "memory";
  events: ExportedEvent[];
  items: Record<string, ItemActivity>;
  foldedEvents: number;
  /** Events whose timestamp lay in the future and was clamped to when they arrived. */
  clampedEvents: number;
  interests: Interest[];
  removedInterests: string[];
  /** The profile `interests` is computed from. */
  affinities: Affinities;
  quarantined: QuarantinedData[];
  ledger: LedgerSummary;
  lastReportedDay: number | null;
  /** The keys contributed to the window of the last report (see `PrivacyView.window`). */
  window: WindowContribution | null;
  /** The report drawn for the next completed day, kept until it is sent. */
  pendingReport: PendingReport | null;
  /** Recommendation lists shown and clicked per day (UTC day number), for the days that can
   * still be reported; strategies neither shown nor clicked are left out. */
  recommendationCounters: DayCounters[];
  outbox: OutboxEntry[];
}

/** The shared model published by the kindred server (`GET /v1/model`). */
export interface SharedModel {
  /** 2 (fields in camelCase); other formats are refused. */
  format: number;
  version: number;
  /** UTC day number the model was built on. */
  builtEpoch: number;
  popularity: Record<string, number>;
  trending: Record<string, number>;
  /** Per item, the items it leads to: learned weights where `itemModel` was fitted,
   * co-occurrence for the rest. */
  neighbours: Record<string, ModelNeighbour[]>;
  interests: Record<string, number>;
  /** The interest keys segment centroids are expressed over. */
  segmentAxis: string[];
  segments: ModelSegment[];
  /** The learned item model behind `neighbours`, when the server fitted one. */
  itemModel?: ItemModelInfo;
}

/** One entry of a `SharedModel.neighbours` list. */
export interface ModelNeighbour {
  item: string;
  score: number;
}

/** A shopper segment of the shared model: a centroid over `segmentAxis`. */
export interface ModelSegment {
  label: string;
  share: number;
  centroid: number[];
}

/** What learned the item lists of a `SharedModel`. */
export interface ItemModelInfo {
  kind: "ease";
  items: number;
  lambda: number;
}

export interface ModelStatus {
  status: "fetched" | "not-modified" | "offline" | "installed";
  version: number;
}

export interface Warning {
  code:
    | "storage-unavailable"
    | "storage-failed"
    | "quota-exceeded"
    | "state-unreadable"
    | "model-offline"
    | "model-cache-invalid"
    | "report-delayed"
    | "report-rejected"
    | "report-dropped";
  message: string;
}

export interface Update {
  reason: "catalog" | "model" | "merge" | "interest" | "forget";
}

export interface Status {
  site: string;
  storage: "indexeddb" | "memory";
  memoryReason: string | null;
  pendingWrites: number;
  warnings: Warning[];
  catalogSize: number;
  model: ModelSource | null;
}

/** The installed shared model: its version and where it came from (null: passed as an object). */
export interface ModelSource {
  version: number;
  url: string | null;
  etag: string | null;
}

/** The `code` of a `KindredError`; stable across versions, unlike `message`. */
export type KindredErrorCode =
  /** `Kindred.create` options: an unknown or replaced name, a wrong type, a value out of range. */
  | "invalid-option"
  /** `track`: a malformed event. */
  | "invalid-event"
  /** `recommend` or `similar`: malformed or contradictory options. */
  | "invalid-request"
  /** Another argument: an interest key, a consent state, an event name. */
  | "invalid-argument"
  /** `loadCatalog`: no valid row, or not an array. */
  | "invalid-catalog"
  /** `loadModel`: not a model this version reads (format, shape or values). */
  | "invalid-model"
  /** An item id that is not in the loaded catalog. */
  | "unknown-item"
  /** Recommendations were asked for before any catalog was loaded. */
  | "no-catalog"
  /** The catalog or model URL could not be fetched (network, HTTP status, not JSON). */
  | "fetch-failed"
  /** The browser's random number generator failed, so no report could be drawn. */
  | "random-unavailable"
  /** A failure that valid use of the API cannot cause (a bug in kindred). */
  | "internal";

/** What every method throws (or rejects with): an `Error` named "KindredError" whose `code`
 * says what went wrong. Branch on `code`; `message` is for people and may be reworded.
 *
 * ```ts
 * try { k.track({ type: "view", item: sku }); }
 * catch (e) { if ((e as KindredError).code !== "unknown-item") throw e; }
 * ```
 */
export interface KindredError extends Error {
  name: "KindredError";
  code: KindredErrorCode;
}
