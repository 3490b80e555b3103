//! The generator: deterministic, valid against the contract, consistent with its truth and
//! true to the distributional claims it makes (checked by an oracle outside Rust).

mod common;

use std::process::Command;

use common::{as_of, python_oracle, synth, tree_bytes};
use groupwatch::synth::Scale;
use groupwatch::validate::{validate, ValidateConfig};

#[test]
fn same_seed_gives_identical_files_whatever_the_thread_count() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    synth(a.path(), Scale::Tiny, Some(2_000), 42);
    // The second run goes through the CLI on one thread.
    let status = Command::new(env!("CARGO_BIN_EXE_groupwatch"))
        .args(["--threads", "1", "synth", "--scale", "tiny", "--accounts", "2000", "--seed", "42", "--out"])
        .arg(b.path())
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let (ta, tb) = (tree_bytes(&a.path().join("input")), tree_bytes(&b.path().join("input")));
    assert!(ta.len() > 100, "expected a partitioned dataset, got {} files", ta.len());
    assert_eq!(ta.len(), tb.len());
    for ((pa, ba), (pb, bb)) in ta.iter().zip(&tb) {
        assert_eq!(pa, pb);
        assert!(ba == bb, "{pa} differs between runs");
    }
    assert_eq!(tree_bytes(&a.path().join("truth")), tree_bytes(&b.path().join("truth")));
}

#[test]
fn different_seeds_give_different_data() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    synth(a.path(), Scale::Tiny, Some(1_000), 1);
    synth(b.path(), Scale::Tiny, Some(1_000), 2);
    let f = "input/accounts/part-a00000.parquet";
    assert_ne!(std::fs::read(a.path().join(f)).unwrap(), std::fs::read(b.path().join(f)).unwrap());
}

#[test]
fn refuses_to_overwrite_a_dataset() {
    let a = tempfile::tempdir().unwrap();
    synth(a.path(), Scale::Tiny, Some(600), 1);
    let cfg = groupwatch::synth::SynthConfig::new(Scale::Tiny, 1, as_of(), a.path().to_path_buf());
    assert!(matches!(groupwatch::synth::generate(&cfg), Err(groupwatch::synth::SynthError::OutputExists(_))));
}

#[test]
fn tiny_dataset_is_valid_and_matches_the_oracle() {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), Scale::Tiny, None, 3);
    let report = validate(&ValidateConfig::new(d.path().join("input"), as_of())).unwrap();
    assert!(report.is_usable(), "{report}");
    assert!(report.quarantine.is_empty(), "{report}");
    // Hive partitions by day for every event table.
    for t in ["memberships", "invite_links", "forwards", "reports", "blocks", "labels"] {
        let tr = report.table(t).unwrap();
        assert!(tr.files > 10, "{t}: {} files", tr.files);
    }
    // pyarrow reads the same row counts and accepted types; truth is consistent.
    python_oracle("check_dataset.py", &[d.path().to_str().unwrap()]);
}

#[test]
fn small_dataset_keeps_its_distributional_claims() {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), Scale::Small, None, 11);
    let report = validate(&ValidateConfig::new(d.path().join("input"), as_of())).unwrap();
    assert!(report.is_usable() && report.quarantine.is_empty(), "{report}");
    let out = python_oracle("check_dataset.py", &[d.path().to_str().unwrap(), "--claims"]);
    assert!(out.contains("all dataset checks passed"), "{out}");
}
