//! The Reddit banned-users converter on the real files (../shared/datasets/reddit-banned/,
//! beside the clone): the counts SOURCE.md states, an independent polars check of the mapping,
//! `groupwatch validate` accepting the result, determinism, and bad CSV input.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{as_of, python_oracle, tree_bytes};
use groupwatch::convert::{self, RedditConfig};

fn source() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets/reddit-banned");
    assert!(d.join("SOURCE.md").exists(), "the Reddit data is expected in {} (shared/ beside the clone)", d.display());
    d
}

fn edges() -> PathBuf {
    source().join("derived_user_subreddit_edges.csv")
}

fn labels() -> PathBuf {
    source().join("derived_user_labels.csv")
}

fn groupwatch(args: &[&str]) -> std::process::Output {
    common::groupwatch().args(args).output().expect("run groupwatch")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn converts_the_real_files_with_the_stated_counts_and_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reddit");
    let o = groupwatch(&["convert-reddit", "--edges", s(&edges()), "--labels", s(&labels()), "--out", s(&out), "--as-of", "2026-11-24"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // SOURCE.md: 78,516 distinct pairs, 10,000 users, 984 subreddits, 366 banned users.
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("_conversion.json")).unwrap()).unwrap();
    assert_eq!(c["accounts"], 10_000);
    assert_eq!(c["groups"], 984);
    assert_eq!(c["memberships"], 78_516);
    assert_eq!(c["duplicate_pairs"], 0);
    assert_eq!(c["labels_violating"], 366);
    assert_eq!(c["labels_benign"], 9_634);
    assert_eq!(c["unlabelled_users"], 0);

    // The Parquet files against the CSVs, read independently in polars.
    let checked = python_oracle("reddit_check.py", &[s(&edges()), s(&labels()), s(&out), "2026-11-24"]);
    let counts: serde_json::Value = serde_json::from_str(checked.lines().last().unwrap()).unwrap();
    assert_eq!(counts, serde_json::json!({"accounts": 10_000, "groups": 984, "memberships": 78_516, "violating": 366, "benign": 9_634}));

    let q = tmp.path().join("quarantine.parquet");
    let r = tmp.path().join("report.json");
    let v = groupwatch(&["validate", "--input", s(&out), "--as-of", "2026-11-24", "--quarantine", s(&q), "--report-json", s(&r)]);
    assert_eq!(v.status.code(), Some(0), "{}\n{}", String::from_utf8_lossy(&v.stdout), String::from_utf8_lossy(&v.stderr));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&r).unwrap()).unwrap();
    assert_eq!(report["fatal"].as_array().map(Vec::len), Some(0), "{report}");
    for t in report["tables"].as_array().unwrap() {
        assert_eq!(t["quarantined_rows"], 0, "{t}");
        assert_eq!(t["duplicate_rows"], 0, "{t}");
        let expected = if ["accounts", "groups", "memberships", "labels"].contains(&t["table"].as_str().unwrap()) { "present" } else { "missing" };
        assert_eq!(t["status"], expected, "{t}");
    }
}

#[test]
fn same_seed_gives_the_same_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let run = |name: &str, seed: u64| {
        let out = tmp.path().join(name);
        convert::reddit(&RedditConfig { edges: edges(), labels: labels(), out: out.clone(), as_of: as_of(), seed, reveal: 1.0 }).unwrap();
        tree_bytes(&out)
    };
    let a = run("a", 1);
    assert_eq!(a, run("b", 1));
    let c = run("c", 2);
    let file = |t: &[(String, Vec<u8>)], n: &str| t.iter().find(|f| f.0 == n).unwrap().1.clone();
    assert_ne!(file(&a, "memberships.parquet"), file(&c, "memberships.parquet"), "the seed moves the invented join times");
    assert_eq!(file(&a, "accounts.parquet"), file(&c, "accounts.parquet"));
}

#[test]
fn bad_csv_exits_2_naming_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let good_edges = write("edges.csv", "user,subreddit\n0,0\n0,1\n1,1\n");
    let good_labels = write("labels.csv", "user,banned\n0,1\n1,0\n");
    let cases: Vec<(PathBuf, PathBuf, Vec<&str>)> = vec![
        (write("e1.csv", "user,sub\n0,0\n"), good_labels.clone(), vec!["e1.csv line 1", "\"subreddit\""]),
        (write("e2.csv", "user,subreddit\n0,0\n1,x1\n"), good_labels.clone(), vec!["e2.csv line 3, column subreddit", "\"x1\""]),
        (write("e3.csv", "user,subreddit\n0,0\n-4,1\n"), good_labels.clone(), vec!["e3.csv line 3, column user"]),
        (good_edges.clone(), write("l1.csv", "user,banned\n0,1\n7,0\n"), vec!["l1.csv line 3, column user", "user 7"]),
        (good_edges.clone(), write("l2.csv", "user,banned\n0,2\n"), vec!["l2.csv line 2, column banned", "0 or 1"]),
        (good_edges.clone(), write("l3.csv", "user,banned\n0,1\n0,0\n"), vec!["l3.csv line 3, column user", "line 2"]),
        (good_edges.clone(), write("l4.csv", "user\n0\n"), vec!["l4.csv line 1", "\"banned\""]),
    ];
    for (i, (e, l, needles)) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        let o = groupwatch(&["convert-reddit", "--edges", s(e), "--labels", s(l), "--out", s(&out)]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "case {i}: {err}");
        for n in needles {
            assert!(err.contains(n), "case {i}: {n:?} not in {err}");
        }
        assert!(!out.exists(), "case {i}: no output on bad input");
    }
    // The good pair converts; a second conversion into the same folder is refused.
    let out = tmp.path().join("ok");
    let args = ["convert-reddit", "--edges", s(&good_edges), "--labels", s(&good_labels), "--out", s(&out)];
    assert_eq!(groupwatch(&args).status.code(), Some(0));
    let again = groupwatch(&args);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));
}

/// The real-data check end to end, groupwatch's side: features and `train --oof-out` on the
/// converted data, then scripts/reddit_eval.py (scikit-learn's metrics) recomputes the
/// trainer's per-fold PR-AUC from the exported out-of-fold scores (to 1e-9) and the pooled
/// PR-AUC must beat the positive rate. The baselines are left to the script's full run.
#[test]
fn trained_on_the_real_data_groupwatch_beats_the_positive_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input");
    convert::reddit(&RedditConfig { edges: edges(), labels: labels(), out: input.clone(), as_of: as_of(), seed: 1, reveal: 1.0 }).unwrap();
    let feats = tmp.path().join("features");
    let f = groupwatch(&["features", "--input", s(&input), "--out", s(&feats), "--as-of", "2026-11-24"]);
    assert!(f.status.success(), "{}", String::from_utf8_lossy(&f.stderr));
    let model = tmp.path().join("model.json");
    let oof = tmp.path().join("oof.parquet");
    let t = groupwatch(&["train", "--input", s(&input), "--model-out", s(&model), "--as-of", "2026-11-24", "--oof-out", s(&oof)]);
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));

    let json = tmp.path().join("eval.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/reddit_eval.py");
    let evaluation = tmp.path().join("model.json.evaluation.json");
    let o = Command::new("python3")
        .arg(&script)
        .args(["--dataset", s(&input), "--features", s(&feats.join("account_features.parquet")), "--oof", s(&oof)])
        .args(["--evaluation", s(&evaluation), "--json", s(&json), "--groupwatch-only"])
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert!(r["cross_check"]["max_abs_difference"].as_f64().unwrap() < 1e-9, "{}", r["cross_check"]);
    let gw = &r["methods"]["groupwatch (calibrated)"];
    // Five folds: every account is tested once.
    assert_eq!(gw["rows"], 10_000);
    let rate = r["positive_rate"].as_f64().unwrap();
    let pooled = gw["pr_auc_pooled"].as_f64().unwrap();
    assert!(pooled > 1.5 * rate, "pooled PR-AUC {pooled:.4} against a positive rate of {rate:.4}");
    assert!(gw["roc_auc_pooled"].as_f64().unwrap() > 0.55, "{gw}");
}
