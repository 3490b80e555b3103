//! The generator: deterministic, valid against the contract, consistent with its truth and
//! true to the distributional claims it makes (checked by an oracle outside Rust).

use crate::common;


use common::{as_of, python_oracle, synth, tree_bytes};
use groupwatch::synth::{generate, Preset, Scale, SynthConfig};
use groupwatch::validate::{validate, ValidateConfig};

#[test]
fn same_seed_gives_identical_files_whatever_the_thread_count() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    synth(a.path(), Scale::Tiny, Some(2_000), 42);
    // The second run goes through the CLI on one thread.
    let status = common::groupwatch()
        .args(["--threads", "1", "synth", "--scale", "tiny", "--accounts", "2000", "--seed", "42", "--out"])
        .arg(b.path())
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    assert_same_dataset(a.path(), b.path());
}

/// Both folders hold the same partitioned dataset and truth, byte for byte.
fn assert_same_dataset(a: &std::path::Path, b: &std::path::Path) {
    let (ta, tb) = (tree_bytes(&a.join("input")), tree_bytes(&b.join("input")));
    assert!(ta.len() > 100, "expected a partitioned dataset, got {} files", ta.len());
    assert_eq!(ta.len(), tb.len());
    for ((pa, ba), (pb, bb)) in ta.iter().zip(&tb) {
        assert_eq!(pa, pb);
        assert!(ba == bb, "{pa} differs between runs");
    }
    assert_eq!(tree_bytes(&a.join("truth")), tree_bytes(&b.join("truth")));
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

// ---------------------------------------------------------------- the hard preset

/// Generates a `hard` dataset into `dir`.
fn synth_hard(dir: &std::path::Path, scale: Scale, accounts: Option<usize>, seed: u64) -> groupwatch::synth::SynthSummary {
    let mut cfg = SynthConfig::new(scale, seed, as_of(), dir.to_path_buf());
    cfg.preset = Preset::Hard;
    if let Some(n) = accounts {
        cfg.accounts = n;
    }
    generate(&cfg).expect("synth --preset hard")
}

#[test]
fn hard_preset_same_seed_gives_identical_files_whatever_the_thread_count() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    synth_hard(a.path(), Scale::Tiny, Some(2_000), 42);
    let out = common::groupwatch()
        .args(["--threads", "1", "synth", "--preset", "hard", "--scale", "tiny", "--accounts", "2000", "--seed", "42", "--out"])
        .arg(b.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("networks carry labels"));
    assert_same_dataset(a.path(), b.path());
    // A different seed gives different data.
    let c = tempfile::tempdir().unwrap();
    synth_hard(c.path(), Scale::Tiny, Some(2_000), 43);
    let f = "input/accounts/part-a00000.parquet";
    assert_ne!(std::fs::read(a.path().join(f)).unwrap(), std::fs::read(c.path().join(f)).unwrap());
}

#[test]
fn hard_tiny_dataset_is_valid_and_holds_its_realism_claims() {
    let d = tempfile::tempdir().unwrap();
    let summary = synth_hard(d.path(), Scale::Tiny, None, 3);
    let report = validate(&ValidateConfig::new(d.path().join("input"), as_of())).unwrap();
    assert!(report.is_usable(), "{report}");
    assert!(report.quarantine.is_empty(), "{report}");
    // The CLI's validate passes with exit 0.
    let out = common::groupwatch()
        .args(["validate", "--as-of", "2026-11-24", "--input"])
        .arg(d.path().join("input"))
        .arg("--quarantine")
        .arg(d.path().join("q.parquet"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    // Some networks are labelled and some carry no label at all.
    let labelled = summary.labelled_networks.unwrap();
    assert!(labelled >= 1 && labelled < summary.networks, "{labelled} of {} networks labelled", summary.networks);
    let nets = groupwatch::io::read_parquet(&d.path().join("truth/networks.parquet"), None).unwrap();
    let col = nets.column("labelled").unwrap().bool().unwrap().clone();
    assert_eq!(col.sum().unwrap() as usize, labelled);
    // Row counts, types and truth consistency (pyarrow), then each realism item (polars).
    python_oracle("check_dataset.py", &[d.path().to_str().unwrap()]);
    let out = python_oracle("check_hard.py", &[d.path().to_str().unwrap()]);
    assert!(out.contains("all hard-preset checks passed"), "{out}");
}

#[test]
fn hard_small_dataset_holds_its_realism_claims() {
    let d = tempfile::tempdir().unwrap();
    synth_hard(d.path(), Scale::Small, None, 11);
    let report = validate(&ValidateConfig::new(d.path().join("input"), as_of())).unwrap();
    assert!(report.is_usable() && report.quarantine.is_empty(), "{report}");
    let out = python_oracle("check_dataset.py", &[d.path().to_str().unwrap(), "--claims"]);
    assert!(out.contains("all dataset checks passed"), "{out}");
    let out = python_oracle("check_hard.py", &[d.path().to_str().unwrap(), "--small"]);
    assert!(out.contains("all hard-preset checks passed"), "{out}");
}
