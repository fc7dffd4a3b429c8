//! `kindred simulate` on a small shop of the project's own (`fixtures/simulate/`): twelve
//! shoppers who buy the same things on two days, one "loner" whose purchase of `secret` (and
//! pair with `mug-blue`) nobody else shares, a "probe" shopper who bought `mug-blue` too, and
//! a row of every kind of bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/simulate")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

/// A scratch directory for one test's outputs.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kindred-simulate-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn kindred(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(args)
        .output()
        .expect("the kindred binary runs")
}

/// Recommendations by user: `(rank, item, score)` in file order.
type Recs = BTreeMap<String, Vec<(usize, String, f32)>>;

/// Runs simulate on the fixture; returns the process output, the recs by user (in file
/// order) and the model JSON.
fn simulate(dir: &Path, name: &str, extra: &[&str]) -> (Output, Recs, serde_json::Value) {
    let out_path = dir.join(format!("{name}.csv"));
    let model_path = dir.join(format!("{name}.json"));
    let (events, items, users) = (
        fixture("events.csv"),
        fixture("items.csv"),
        fixture("users.txt"),
    );
    let mut args = vec![
        "simulate",
        "--events",
        &events,
        "--items",
        &items,
        "--users",
        &users,
        "--out",
        out_path.to_str().unwrap(),
        "--model-out",
        model_path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = kindred(&args);
    assert!(out.status.success(), "simulate {extra:?} failed: {out:?}");
    let text = std::fs::read_to_string(&out_path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("user,rank,item,score"));
    let mut recs = Recs::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 4, "{line}");
        recs.entry(fields[0].to_owned()).or_default().push((
            fields[1].parse().expect("rank is an integer"),
            fields[2].to_owned(),
            fields[3].parse().expect("score is a number"),
        ));
    }
    let model = serde_json::from_str(&std::fs::read_to_string(&model_path).unwrap()).unwrap();
    (out, recs, model)
}

fn items(recs: &Recs, user: &str) -> Vec<String> {
    recs.get(user)
        .map(|l| l.iter().map(|r| r.1.clone()).collect())
        .unwrap_or_default()
}

/// Every key of the model that names an item: popularity, trending, neighbour lists and
/// their entries.
fn model_items(model: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for map in ["popularity", "trending", "neighbours"] {
        if let Some(m) = model[map].as_object() {
            out.extend(m.keys().cloned());
        }
    }
    if let Some(m) = model["neighbours"].as_object() {
        for list in m.values() {
            for n in list.as_array().unwrap() {
                out.push(n["item"].as_str().unwrap().to_owned());
            }
        }
    }
    out
}

#[test]
fn bad_rows_are_counted_reported_and_skipped() {
    let dir = scratch("bad-rows");
    let (out, recs, _) = simulate(&dir, "threshold", &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "items: 11 rows, 8 loaded, 3 skipped (bad price: 1, invalid item: 1, wrong number of fields: 1)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "events: 59 rows, 53 used, 6 skipped (bad quantity: 1, bad timestamp: 1, missing user: 1, unknown item: 1, unsupported type: 1, wrong number of fields: 1); 14 shoppers"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped line 56: bad timestamp (\"2011-03-32T12:02:00\")"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped line 10: invalid item (empty title)"),
        "{stderr}"
    );
    assert!(!items(&recs, "probe").contains(&"no-such-item".to_owned()));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn output_lists_every_user_in_order_with_ranks_from_one() {
    let dir = scratch("format");
    for privacy in ["off", "threshold", "ldp"] {
        // One-day windows: the fixture's two days are closed windows at the end, so there is a
        // released model to recommend from (a 30-day window would still be open).
        let (out, recs, model) = simulate(
            &dir,
            privacy,
            &["--privacy", privacy, "--k", "3", "--window-days", "1"],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("privacy: {privacy}")), "{stderr}");
        assert!(
            stderr.contains("reports: 27 from 14 clients over 2 days, 0 refused"),
            "{privacy}: {stderr}"
        );
        assert_eq!(
            model["format"].as_u64(),
            Some(u64::from(kindred_core::model::MODEL_FORMAT)),
            "{privacy}: {model}"
        );
        // The users file has a blank line and a repeated id: four distinct shoppers, one
        // (newbie) without events, who still gets a list in threshold mode's cold start.
        let text = std::fs::read_to_string(dir.join(format!("{privacy}.csv"))).unwrap();
        let order: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .fold(Vec::new(), |mut v, u| {
                if v.last() != Some(&u) {
                    v.push(u);
                }
                v
            });
        assert_eq!(order, ["probe", "loner", "c01", "newbie"], "{privacy}");
        for (user, list) in &recs {
            assert!(list.len() <= 3, "{privacy} {user}: {list:?}");
            for (at, (rank, _, score)) in list.iter().enumerate() {
                assert_eq!(*rank, at + 1, "{privacy} {user}");
                assert!(score.is_finite() && *score > 0.0);
                if at > 0 {
                    assert!(list[at - 1].2 >= *score, "{privacy} {user}: {list:?}");
                }
            }
        }
        // for-you leaves out what the shopper already touched.
        let probe = items(&recs, "probe");
        for seen in ["mug-blue", "kettle", "mug-red"] {
            assert!(!probe.contains(&seen.to_owned()), "{privacy}: {probe:?}");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn include_seen_lets_repeat_purchases_back_in() {
    let dir = scratch("include-seen");
    let (_, recs, _) = simulate(&dir, "again", &["--include-seen", "--k", "3"]);
    assert_eq!(
        items(&recs, "c01")[0],
        "tea",
        "bought on both days: {recs:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_shoppers_unique_behaviour_never_reaches_others_in_threshold_mode() {
    let dir = scratch("isolation");
    // Epsilon 100 keeps the noise small, so the twelve shoppers' common items are released
    // (the model is not empty by accident) while the loner's alone stay below k = 10. One-day
    // windows, so both days are closed windows by the end.
    let (_, recs, model) = simulate(
        &dir,
        "threshold",
        &["--epsilon", "100", "--window-days", "1"],
    );
    let shared = model_items(&model);
    assert!(
        shared.iter().any(|i| i == "tea"),
        "common items released: {model}"
    );
    assert!(!shared.iter().any(|i| i == "secret"), "{model}");
    for user in ["probe", "c01", "newbie"] {
        assert!(
            !items(&recs, user).contains(&"secret".to_owned()),
            "{user}: {recs:?}"
        );
    }
    // The same run without protection does pass the loner's purchase on: the check above can
    // fail, and it is the threshold that keeps it from failing.
    let (_, recs, model) = simulate(&dir, "off", &["--privacy", "off", "--window-days", "1"]);
    assert!(model_items(&model).iter().any(|i| i == "secret"), "{model}");
    assert!(
        items(&recs, "probe").contains(&"secret".to_owned()),
        "{recs:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_window_still_open_at_the_end_is_not_released() {
    let dir = scratch("open-window");
    // The fixture's two days (2011-03-01 and 02) lie in the 30-day window of 2011-02-25 to
    // 2011-03-26, still open on 2011-03-03: a server would not have released it yet.
    let (out, _, model) = simulate(&dir, "open", &["--privacy", "off"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("released: 0 item-windows and 0 pair-windows over 0 windows"),
        "{stderr}"
    );
    assert!(
        stderr.contains("reports in windows still open at the end"),
        "{stderr}"
    );
    assert!(stderr.contains("model as of 2011-02-24"), "{stderr}");
    assert!(model_items(&model).is_empty(), "{model}");
    // With one-day windows both days have closed: the same reports are released.
    let (out, _, model) = simulate(&dir, "closed", &["--privacy", "off", "--window-days", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("over 2 windows"), "{stderr}");
    assert!(stderr.contains("model as of 2011-03-02"), "{stderr}");
    assert!(!model_items(&model).is_empty(), "{model}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_seed_makes_runs_reproducible() {
    let dir = scratch("seed");
    let (_, a, model_a) = simulate(&dir, "a", &["--privacy", "ldp", "--seed", "7"]);
    let (_, b, model_b) = simulate(&dir, "b", &["--privacy", "ldp", "--seed", "7"]);
    assert_eq!(a, b);
    assert_eq!(model_a, model_b);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unusable_inputs_are_errors() {
    let dir = scratch("errors");
    let out = dir.join("recs.csv");
    let out = out.to_str().unwrap();
    let (events, items, users) = (
        fixture("events.csv"),
        fixture("items.csv"),
        fixture("users.txt"),
    );
    let run = |events: &str, items: &str, extra: &[&str]| {
        let mut args = vec![
            "simulate", "--events", events, "--items", items, "--users", &users, "--out", out,
        ];
        args.extend_from_slice(extra);
        kindred(&args)
    };
    let missing = run("/nonexistent/events.csv.gz", &items, &[]);
    assert!(!missing.status.success());
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("kindred simulate: error: cannot open /nonexistent/events.csv.gz"),
        "{stderr}"
    );
    // The items file has no `user` or `ts` column: not an events file.
    let swapped = run(&items, &items, &[]);
    assert!(!swapped.status.success());
    let stderr = String::from_utf8_lossy(&swapped.stderr);
    assert!(
        stderr.contains("the header must name the columns user,item,ts,type (found \"item,title,price,categories,brand\")"),
        "{stderr}"
    );
    let needs_item = run(&events, &items, &["--strategy", "similar"]);
    assert!(!needs_item.status.success());
    assert!(String::from_utf8_lossy(&needs_item.stderr).contains("needs an anchor item"));
    let both = run(&events, &items, &["--exclude-seen", "--include-seen"]);
    assert!(!both.status.success());
    let epsilon = run(&events, &items, &["--epsilon", "0"]);
    assert!(!epsilon.status.success());
    assert!(
        String::from_utf8_lossy(&epsilon.stderr).contains("privacy.epsilonPerWindow"),
        "{epsilon:?}"
    );
    assert!(!Path::new(out).exists(), "nothing is written on error");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn gzip_events_read_like_plain_ones() {
    use std::io::Write;
    let dir = scratch("gzip");
    let gz = dir.join("events.csv.gz");
    let plain = std::fs::read(fixture("events.csv")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::default(),
    );
    enc.write_all(&plain).unwrap();
    enc.finish().unwrap();
    let (items, users) = (fixture("items.csv"), fixture("users.txt"));
    let out = dir.join("recs.csv");
    let run = kindred(&[
        "simulate",
        "--events",
        gz.to_str().unwrap(),
        "--items",
        &items,
        "--users",
        &users,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("events: 59 rows, 53 used"));
    std::fs::remove_dir_all(&dir).ok();
}
