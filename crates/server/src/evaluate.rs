//! `kindred evaluate`: top-k metrics of a recommendations file against what shoppers bought
//! later, defined exactly as the Online Retail validation protocol's `evaluate.py` defines
//! them (checked against its output on a fixture, to 1e-9).
//!
//! - **Targets.** `train` (any CSV with `user,item`) defines the shoppers, the catalogue (the
//!   items of train) and what each shopper had before. `T_all(u)`: the distinct items of `u`
//!   in `truth` that are in the catalogue, for shoppers of train. `T_new(u) = T_all(u)` minus
//!   `u`'s train items. Task `new` averages over shoppers with `T_new(u)` non-empty, task
//!   `all` over shoppers with `T_all(u)` non-empty.
//! - **Recommendations** (`user,rank,item,score`): each shopper's rows sorted by rank (file
//!   order breaks ties), a repeated item keeps its best rank, only the first k count. A test
//!   shopper without recommendations scores 0. Train items left in task `new` are never hits
//!   (they are counted and reported, not removed).
//! - **Metrics**, with hits = |top-k ∩ T_u|: HR = 1 if hits > 0; P = hits / k (short lists
//!   are not rescaled); R = hits / |T_u|; NDCG = DCG / IDCG with DCG = Σ over hit ranks r of
//!   1/log2(r+1) and IDCG = Σ_{j=1..min(|T_u|,k)} 1/log2(j+1); MAP = (Σ over hit ranks r of
//!   hits within the top r / r) / min(|T_u|,k); MRR = 1 / rank of the first hit.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde_json::{Map, Value};

use crate::csv_input::{InputError, Table};

/// Which targets count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Task {
    /// Discovery: items the shopper had not bought before.
    New,
    /// Everything bought later, repeats included.
    All,
}

impl Task {
    fn name(self) -> &'static str {
        match self {
            Task::New => "new",
            Task::All => "all",
        }
    }
}

/// `kindred evaluate` options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Recommendations: `user,rank,item,score` (as `kindred simulate` writes them).
    #[arg(long, value_name = "RECS.csv")]
    pub recs: PathBuf,
    /// What shoppers bought afterwards: any CSV with `user,item` columns.
    #[arg(long, value_name = "TRUTH.csv")]
    pub truth: PathBuf,
    /// What shoppers bought before (defines shoppers and catalogue): CSV with `user,item`.
    #[arg(long, value_name = "TRAIN.csv")]
    pub train: PathBuf,
    /// new (items not bought before) or all (repeats included).
    #[arg(long, value_enum)]
    pub task: Task,
    /// Cut-off rank.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub k: u32,
    /// Also write the metrics at full precision to this JSON file.
    #[arg(long, value_name = "OUT.json")]
    pub json: Option<PathBuf>,
}

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{}, line {line}: rank \"{rank}\" is not a number", path.display())]
    BadRank {
        path: PathBuf,
        line: u64,
        rank: String,
    },
    #[error("cannot write {}: {source}", path.display())]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Metrics averaged over a task's test shoppers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    pub ndcg: f64,
    pub hr: f64,
    pub precision: f64,
    pub recall: f64,
    pub map: f64,
    pub mrr: f64,
    /// Test shoppers.
    pub users: usize,
    /// Target (shopper, item) pairs.
    pub pairs: usize,
}

/// Shopper -> set of items.
type Sets = BTreeMap<String, BTreeSet<String>>;

/// The `user,item` pairs of a CSV; rows missing either field are ignored.
fn read_pairs(path: &Path) -> Result<Vec<(String, String)>, InputError> {
    let mut table = Table::open(path, &["user", "item"])?;
    let (Some(user), Some(item)) = (table.column("user"), table.column("item")) else {
        unreachable!("Table::open checked the columns");
    };
    let mut pairs = Vec::new();
    while let Some(row) = table.next_row()? {
        if let (Some(u), Some(i)) = (row.get(user), row.get(item)) {
            pairs.push((u.to_owned(), i.to_owned()));
        }
    }
    Ok(pairs)
}

/// Each shopper's recommended items in rank order (file order breaks ties), repeats dropped;
/// also returns how many repeated rows were dropped.
fn read_recs(path: &Path) -> Result<(HashMap<String, Vec<String>>, usize), EvaluateError> {
    let mut table = Table::open(path, &["user", "rank", "item"])?;
    let [Some(user), Some(rank), Some(item)] = ["user", "rank", "item"].map(|c| table.column(c))
    else {
        unreachable!("Table::open checked the columns");
    };
    let mut lists: HashMap<String, Vec<(f64, usize, String)>> = HashMap::new();
    let mut n = 0;
    while let Some(row) = table.next_row()? {
        let (Some(u), Some(r), Some(i)) = (row.get(user), row.get(rank), row.get(item)) else {
            continue;
        };
        let Ok(r) = r.trim().parse::<f64>() else {
            return Err(EvaluateError::BadRank {
                path: path.to_owned(),
                line: row.line,
                rank: r.to_owned(),
            });
        };
        lists
            .entry(u.to_owned())
            .or_default()
            .push((r, n, i.to_owned()));
        n += 1;
    }
    let mut dups = 0;
    let recs = lists
        .into_iter()
        .map(|(u, mut list)| {
            list.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut seen = HashSet::new();
            let mut ranked = Vec::new();
            for (_, _, i) in list {
                if seen.insert(i.clone()) {
                    ranked.push(i);
                } else {
                    dups += 1;
                }
            }
            (u, ranked)
        })
        .collect();
    Ok((recs, dups))
}

/// Targets of `task`, each shopper's train items and the catalogue.
fn targets(
    train: &[(String, String)],
    truth: &[(String, String)],
    task: Task,
) -> (Sets, Sets, HashSet<String>) {
    let mut seen = Sets::new();
    for (u, i) in train {
        seen.entry(u.clone()).or_default().insert(i.clone());
    }
    let catalogue: HashSet<String> = seen.values().flatten().cloned().collect();
    let mut t_all = Sets::new();
    for (u, i) in truth {
        if seen.contains_key(u) && catalogue.contains(i) {
            t_all.entry(u.clone()).or_default().insert(i.clone());
        }
    }
    let targets = match task {
        Task::All => t_all,
        Task::New => t_all
            .into_iter()
            .filter_map(|(u, s)| {
                let d: BTreeSet<String> = s.difference(&seen[&u]).cloned().collect();
                (!d.is_empty()).then_some((u, d))
            })
            .collect(),
    };
    (targets, seen, catalogue)
}

/// One shopper's `[NDCG, HR, P, R, MAP, MRR]`.
fn user_metrics(ranked: &[String], target: &BTreeSet<String>, k: usize) -> [f64; 6] {
    let (mut hits, mut dcg, mut ap, mut first) = (0usize, 0.0, 0.0, 0.0);
    for (at, item) in ranked.iter().take(k).enumerate() {
        let rank = at + 1;
        if target.contains(item) {
            hits += 1;
            dcg += 1.0 / ((rank + 1) as f64).log2();
            ap += hits as f64 / rank as f64;
            if first == 0.0 {
                first = 1.0 / rank as f64;
            }
        }
    }
    let ideal = target.len().min(k);
    let idcg: f64 = (1..=ideal).map(|j| 1.0 / ((j + 1) as f64).log2()).sum();
    [
        dcg / idcg,
        if hits > 0 { 1.0 } else { 0.0 },
        hits as f64 / k as f64,
        hits as f64 / target.len() as f64,
        ap / ideal as f64,
        first,
    ]
}

/// Metrics of `recs` against non-empty `targets`, averaged in shopper-id order.
pub fn metrics(recs: &HashMap<String, Vec<String>>, targets: &Sets, k: usize) -> Metrics {
    let mut sum = [0.0; 6];
    for (u, t) in targets {
        let m = user_metrics(recs.get(u).map_or(&[][..], Vec::as_slice), t, k);
        sum.iter_mut().zip(m).for_each(|(s, v)| *s += v);
    }
    let n = targets.len();
    let mean = |v: f64| if n == 0 { 0.0 } else { v / n as f64 };
    Metrics {
        ndcg: mean(sum[0]),
        hr: mean(sum[1]),
        precision: mean(sum[2]),
        recall: mean(sum[3]),
        map: mean(sum[4]),
        mrr: mean(sum[5]),
        users: n,
        pairs: targets.values().map(BTreeSet::len).sum(),
    }
}

/// Runs `kindred evaluate`: checks and warnings, then the metrics line, on stdout.
pub fn run(args: &Args) -> Result<(), EvaluateError> {
    let k = args.k as usize;
    let train = read_pairs(&args.train)?;
    let truth = read_pairs(&args.truth)?;
    let (targets, seen, catalogue) = targets(&train, &truth, args.task);
    let (recs, dups) = read_recs(&args.recs)?;
    let top = |u: &String| recs.get(u).map_or(&[][..], |r| &r[..r.len().min(k)]);
    let missing = targets.keys().filter(|u| !recs.contains_key(*u)).count();
    let short = targets
        .keys()
        .filter(|u| recs.get(*u).is_some_and(|r| r.len() < k))
        .count();
    let extra = recs.keys().filter(|u| !targets.contains_key(*u)).count();
    let unknown: usize = targets
        .keys()
        .map(|u| top(u).iter().filter(|i| !catalogue.contains(*i)).count())
        .sum();
    let seen_recs: usize = targets
        .keys()
        .map(|u| top(u).iter().filter(|i| seen[u].contains(*i)).count())
        .sum();
    let m = metrics(&recs, &targets, k);
    println!(
        "task={} k={k} test users={} target pairs={} (train users={}, catalogue={} items)",
        args.task.name(),
        m.users,
        m.pairs,
        seen.len(),
        catalogue.len()
    );
    println!(
        "recs: users={}; test users without recs={missing} (scored 0); with < {k} recs={short}; users not evaluated={extra}",
        recs.len()
    );
    if dups > 0 {
        println!("warning: {dups} repeated (user,item) rows ignored");
    }
    if unknown > 0 {
        println!(
            "warning: {unknown} recommended items are not in the train catalogue (never hits)"
        );
    }
    if seen_recs > 0 {
        let note = if args.task == Task::New {
            " -- task new expects them removed"
        } else {
            ""
        };
        println!("note: {seen_recs} of the top-{k} recs are items the user bought in train{note}");
    }
    if let Some(path) = &args.json {
        let mut out = Map::new();
        for (name, v) in named(&m, k) {
            out.insert(name, Value::from(v));
        }
        out.insert("users".into(), m.users.into());
        out.insert("pairs".into(), m.pairs.into());
        out.insert("task".into(), args.task.name().into());
        let text = serde_json::to_string_pretty(&Value::Object(out)).unwrap_or_default();
        std::fs::write(path, text + "\n").map_err(|source| EvaluateError::Output {
            path: path.clone(),
            source,
        })?;
    }
    let line: Vec<String> = named(&m, k)
        .into_iter()
        .map(|(name, v)| format!("{name}={v:.4}"))
        .collect();
    println!("{} users={}", line.join(" "), m.users);
    Ok(())
}

/// The metrics with their printed names, in evaluate.py's order.
fn named(m: &Metrics, k: usize) -> [(String, f64); 6] {
    [
        (format!("NDCG@{k}"), m.ndcg),
        (format!("HR@{k}"), m.hr),
        (format!("P@{k}"), m.precision),
        (format!("R@{k}"), m.recall),
        (format!("MAP@{k}"), m.map),
        (format!("MRR@{k}"), m.mrr),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_shopper_by_hand() {
        // Hits at ranks 1 and 3 of 4 targets, k = 3.
        let m = user_metrics(&list(&["a", "x", "b", "c"]), &set(&["a", "b", "c", "d"]), 3);
        let idcg = 1.0 + 1.0 / 3f64.log2() + 0.5;
        assert!((m[0] - (1.0 + 0.5) / idcg).abs() < 1e-12);
        assert_eq!(m[1], 1.0);
        assert!((m[2] - 2.0 / 3.0).abs() < 1e-12);
        assert!((m[3] - 0.5).abs() < 1e-12);
        assert!((m[4] - (1.0 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(m[5], 1.0);
        assert_eq!(user_metrics(&[], &set(&["a"]), 10), [0.0; 6]);
    }

    #[test]
    fn new_task_drops_train_items_and_empty_shoppers() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(u, i)| (u.to_string(), i.to_string()))
                .collect()
        };
        let train = pairs(&[("u", "a"), ("u", "b"), ("v", "a"), ("w", "c")]);
        let truth = pairs(&[("u", "a"), ("u", "c"), ("v", "a"), ("x", "a"), ("w", "zz")]);
        let (t, _, catalogue) = targets(&train, &truth, Task::New);
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t["u"], set(&["c"]));
        assert_eq!(catalogue.len(), 3);
        let (t, _, _) = targets(&train, &truth, Task::All);
        assert_eq!(t.keys().collect::<Vec<_>>(), ["u", "v"]);
    }
}
