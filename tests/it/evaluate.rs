//! `groupwatch evaluate` against an independent oracle: every figure (average precision,
//! ROC-AUC, precision and recall in the top k, network recall, per slice) recomputed with
//! polars and scikit-learn from the same Parquet files; and the command's bad-input exit code.
use crate::common;


use common::{as_of, groupwatch, python_oracle, synth};
use groupwatch::synth::Scale;


#[test]
fn evaluation_agrees_with_sklearn_on_a_scored_run() {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), Scale::Tiny, None, 41);
    let runs = d.path().join("runs");
    let o = groupwatch()
        .args(["run", "--input", d.path().join("input").to_str().unwrap(), "--out", runs.to_str().unwrap(), "--as-of", &as_of().to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "run failed: {}", String::from_utf8_lossy(&o.stderr));
    let run = runs.join(format!("run={}", as_of()));
    let truth = d.path().join("truth");
    // Two capacities: one inside the planted groups' count, one past it.
    for k in ["7", "60"] {
        let json = d.path().join(format!("eval-{k}.json"));
        let o = groupwatch()
            .args(["evaluate", "--run", run.to_str().unwrap(), "--truth", truth.to_str().unwrap(), "--k", k, "--json", json.to_str().unwrap()])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "evaluate failed: {}", String::from_utf8_lossy(&o.stderr));
        assert!(stdout.contains("| group | camouflaged |") && stdout.contains("Network recall"), "{stdout}");
        let e: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert!(e["groups"]["all"]["positives"].as_u64().unwrap() > 0, "tiny data has unlabelled planted groups: {e}");
        assert!(e["groups"]["labelled_excluded"].as_u64().unwrap() > 0, "labelled groups are left out: {e}");
        python_oracle("evaluate_oracle.py", &[run.to_str().unwrap(), truth.to_str().unwrap(), k, json.to_str().unwrap()]);
    }
}

#[test]
fn a_missing_truth_folder_is_bad_input() {
    let d = tempfile::tempdir().unwrap();
    let o = groupwatch()
        .args(["evaluate", "--run", d.path().to_str().unwrap(), "--truth", d.path().join("nope").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is missing"));
}
