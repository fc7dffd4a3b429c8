//! `kindred evaluate` against golden values: the validation protocol's `evaluate.py` was run
//! once on the fixture in `fixtures/evaluate/` (a train, truth and recs file made for this
//! test: unsorted and repeated ranks, a repeated item, items outside the catalogue, train
//! items left in, test shoppers without recommendations, a quoted user id with a comma) and
//! its `--json` output and printed lines were committed as `golden_*`. No file outside the
//! repository is needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/evaluate")
        .join(name)
}

fn kindred(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(args)
        .output()
        .expect("the kindred binary runs")
}

/// `kindred evaluate` on the given files, plus `extra` options.
fn evaluate(recs: &Path, truth: &Path, train: &Path, task: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "evaluate",
        "--recs",
        recs.to_str().unwrap(),
        "--truth",
        truth.to_str().unwrap(),
        "--train",
        train.to_str().unwrap(),
        "--task",
        task,
    ];
    args.extend_from_slice(extra);
    kindred(&args)
}

/// Asserts that a run failed and said `message` on stderr.
fn assert_fails_with(out: &Output, message: &str) {
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(message), "{stderr}");
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("readable");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn metrics_agree_with_evaluate_py_to_1e_9() {
    let dir = std::env::temp_dir().join(format!("kindred-evaluate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for task in ["new", "all"] {
        for k in ["10", "3"] {
            let out_json = dir.join(format!("{task}_{k}.json"));
            let out = evaluate(
                &fixture("recs.csv"),
                &fixture("truth.csv"),
                &fixture("train.csv"),
                task,
                &["--k", k, "--json", out_json.to_str().unwrap()],
            );
            assert!(out.status.success(), "{out:?}");
            let golden = read_json(&fixture(&format!("golden_{task}_k{k}.json")));
            let ours = read_json(&out_json);
            for metric in ["NDCG", "HR", "P", "R", "MAP", "MRR"] {
                let key = format!("{metric}@{k}");
                let (want, got) = (golden[&key].as_f64().unwrap(), ours[&key].as_f64().unwrap());
                assert!(
                    (want - got).abs() <= 1e-9,
                    "{task} {key}: evaluate.py {want}, kindred {got}"
                );
            }
            for count in ["users", "pairs"] {
                assert_eq!(ours[count], golden[count], "{task} k={k} {count}");
            }
            assert_eq!(ours["task"], golden["task"]);
            // The printed checks, warnings and metrics line match evaluate.py's stdout too.
            let golden_text =
                std::fs::read_to_string(fixture(&format!("golden_{task}_k{k}.txt"))).unwrap();
            assert_eq!(String::from_utf8_lossy(&out.stdout), golden_text);
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bad_rank_names_the_file_and_line() {
    let dir = std::env::temp_dir().join(format!("kindred-evaluate-rank-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let recs = dir.join("recs.csv");
    std::fs::write(&recs, "user,rank,item,score\nu1,1,A,1\nu1,first,B,1\n").unwrap();
    let out = evaluate(
        &recs,
        &fixture("truth.csv"),
        &fixture("train.csv"),
        "new",
        &[],
    );
    assert_fails_with(&out, "line 3: rank \"first\" is not a number");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn missing_files_and_bad_headers_are_errors() {
    let (recs, truth, train) = (
        fixture("recs.csv"),
        fixture("truth.csv"),
        fixture("train.csv"),
    );
    let missing = evaluate(
        &recs,
        &truth,
        Path::new("/nonexistent/train.csv"),
        "all",
        &[],
    );
    assert_fails_with(
        &missing,
        "kindred evaluate: error: cannot open /nonexistent/train.csv",
    );
    // A train file given as recommendations has no `rank` column.
    let bad_header = evaluate(&train, &truth, &train, "all", &[]);
    assert_fails_with(
        &bad_header,
        "the header must name the columns user,rank,item",
    );
    let bad_task = kindred(&["evaluate", "--task", "some"]);
    assert!(!bad_task.status.success());
}
