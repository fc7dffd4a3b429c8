// Compiled with `tsc --noEmit -p tests/types` in `npm test`: uses the whole public API through
// the package's own typings, so a wrong or missing type fails the build.
import init, {
  Kindred,
  tokenize,
  version,
  type ExportedData,
  type Explanation,
  type KindredError,
  type KindredErrorCode,
  type LoadReport,
  type ModelStatus,
  type Profile,
  type Recommendation,
  type Status,
  type Strategy,
  type PrivacyView,
  type Warning,
  type WindowContribution,
} from "kindred";

export async function everything(): Promise<void> {
  await init();
  const v: string = version();
  const tokens: string[] = tokenize("Blue Mug");
  const k: Kindred = await Kindred.create({
    site: "shop",
    storage: "indexeddb",
    flushDelayMs: 200,
    retentionDays: 30,
    purchaseMemoryDays: 365,
    eventWeights: { purchase: 10 },
    endpoint: "/",
    privacy: { mode: "threshold", epsilonPerWindow: 2, delta: 1e-7, windowDays: 30, caps: { items: 32 }, maxReportLagDays: 3 },
    consent: "pending",
    reportDelayMs: 30_000,
    outboxDays: 7,
  });
  const report: LoadReport = await k.loadCatalog([
    { id: "mug", title: "Mug", categories: ["Home > Kitchen"], price: 3, available: true, tags: ["blue"] },
    { id: 42, title: "Cup", categories: [["Home", "Kitchen"], "Gifts"] },
  ]);
  const fromUrl: LoadReport = await k.loadCatalog("/catalog.json");
  const model: ModelStatus = await k.loadModel("/v1/model");
  k.track({ type: "view", item: "mug" });
  k.track({ type: "search", query: "mug" });
  k.track({ type: "click", item: "mug", strategy: "for-you" });
  k.consent("granted");
  const view: PrivacyView = k.privacy();
  const next: string | undefined = view.nextReport?.json;
  const spent: number = view.ledger.spent;
  const year: number = view.ledger.spentYear;
  const windows: [number, number][] = view.ledger.windows;
  const window: WindowContribution | null = view.window;
  const shared: string[] = window?.items ?? [];
  const closed: boolean | undefined = window?.closed;
  const shown: Strategy[] = window?.shown ?? [];
  const clicked: Strategy[] = window?.clicked ?? [];
  const itemCap: number = view.caps.items;
  const after: number | undefined = view.nextReport?.epsilonAfter;
  const nextDay: number | undefined = view.nextReport?.day;
  const lastDay: number | null = view.lastReportedDay;
  const waiting: number[] = view.outbox.map((o) => o.day);
  k.track({ type: "dwell", item: "mug", ms: 30_000, ts: Date.now() });
  const recs: Recommendation[] = k.recommend({
    strategy: "for-you",
    k: 8,
    filter: { available: true, maxPrice: 20, categories: ["Home"] },
    boost: [{ brand: "Acme", factor: 1.5 }],
    pin: [{ item: "mug", position: 1 }],
    diversity: 0.3,
    minScore: 0.01,
    excludeViewed: false,
  });
  const similar: Recommendation[] = k.similar("mug", 4);
  const profile: Profile = k.profile(10);
  const label: string | undefined = profile.segment?.label;
  k.removeInterest(profile.interests[0].key);
  const why: Explanation = k.explain("mug");
  const rank: number | null = why.forYou.rank;
  const data: ExportedData = k.exportData();
  const firstType: string | undefined = data.events[0]?.type;
  const exportedWindow: WindowContribution | null = data.window;
  const exportedPairs: [string, string][] = exportedWindow?.pairs ?? [];
  const exportedLast: number | null = data.lastReportedDay;
  k.on("warning", (w: Warning) => console.warn(w.code));
  k.on("update", (u: { reason: string }) => console.log(u.reason));
  const status: Status = k.status();
  const storage: "indexeddb" | "memory" = status.storage;
  await k.flush();
  await k.forget();
  await k.close();
  console.log(year, windows, shared, closed, shown, clicked, itemCap, after, nextDay, lastDay, waiting, exportedPairs, exportedLast);
  console.log(next, spent, v, tokens, report.loaded, fromUrl.rejected, model.status, recs, similar, label, rank, firstType, storage);
}

/** Thrown errors carry a `code` from a closed list to branch on. */
export function branchOnErrorCode(k: Kindred, item: string): "tracked" | "skipped" {
  try {
    k.track({ type: "view", item });
    return "tracked";
  } catch (e) {
    const code: KindredErrorCode = (e as KindredError).code;
    if (code === "unknown-item") return "skipped";
    // @ts-expect-error not one of KindredErrorCode
    if (code === "unknown-product") return "skipped";
    throw e;
  }
}

export async function removedNamesDoNotTypeCheck(): Promise<void> {
  // @ts-expect-error epsilonPerDay was replaced by epsilonPerWindow in kindred 0.2
  await Kindred.create({ privacy: { epsilonPerDay: 1 } });
}
