// Compiled with `tsc --noEmit -p tests/types` in `npm test`: uses the whole public API through
// the package's own typings, so a wrong or missing type fails the build.
import init, {
  Kindred,
  tokenize,
  version,
  type ExportedData,
  type Explanation,
  type LoadReport,
  type ModelStatus,
  type Profile,
  type Recommendation,
  type Status,
  type PrivacyView,
  type Warning,
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
    eventWeights: { purchase: 10 },
    endpoint: "/",
    privacy: { mode: "threshold", epsilonPerDay: 1 },
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
  const spent: number = view.ledger.spent30Days;
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
  k.on("warning", (w: Warning) => console.warn(w.code));
  k.on("update", (u: { reason: string }) => console.log(u.reason));
  const status: Status = k.status();
  const storage: "indexeddb" | "memory" = status.storage;
  await k.flush();
  await k.forget();
  await k.close();
  console.log(next, spent, v, tokens, report.loaded, fromUrl.rejected, model.status, recs, similar, label, rank, firstType, storage);
}
