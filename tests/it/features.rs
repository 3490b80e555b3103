//! The feature tables against the feature catalog (data-schemas/feature_catalog.toml).
//!
//! - Every tabular feature equals the value recomputed independently in Python from the input
//!   Parquet files (tests/oracle/features_oracle.py), for two seeds and two windows, and on a
//!   small hand-made dataset of edge cases (tests/oracle/features_edge_cases.py).
//! - The catalog and the written tables list the same features, in the right table, as Float64.
//! - Without the optional `forwards` table, exactly the features that need it are null and
//!   listed as unavailable in features.json; the others still have values.
//! - `--config FILE` sets what no flag sets, a flag wins over the file, and an unknown key is
//!   bad input naming the file and the key.
//!
//! Each test generates its own tiny dataset in a temp dir and runs the `groupwatch` binary.

use crate::common;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use common::{as_of, groupwatch, python_oracle, synth};
use groupwatch::synth::Scale;
use polars::prelude::*;

/// Runs `groupwatch features` on `input` into `out`; panics with its output on failure.
fn run_features(input: &Path, out: &Path, window_days: u32) {
    let o = common::groupwatch()
        .arg("features")
        .arg("--input")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(["--as-of", &as_of().to_string(), "--window-days", &window_days.to_string()])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "groupwatch features failed ({}):\n{}\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A tiny dataset with its features computed: (temp dir, input folder, features folder).
fn dataset_with_features(seed: u64, window_days: u32) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), Scale::Tiny, None, seed);
    let (input, out) = (d.path().join("input"), d.path().join("features"));
    run_features(&input, &out, window_days);
    (d, input, out)
}

fn read_parquet(p: &Path) -> DataFrame {
    ParquetReader::new(File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).finish().unwrap()
}

/// What a network feature needs beyond tables: a first-stage model, which only training (in
/// `run` or `train`) has.
const MODEL: &str = "a trained first stage";

/// (entity, name, needs) of every catalog entry, read from the TOML file itself.
fn catalog_file() -> Vec<(String, String, Vec<String>)> {
    common::catalog_entries()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_else(|| panic!("feature entry without {k}: {f:?}")).to_string();
            let mut needs: Vec<String> = f["needs"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
            // Network features read a trained first stage: `groupwatch features` has none.
            if f.get("first_stage").and_then(|v| v.as_array()).is_some_and(|a| !a.is_empty()) {
                needs.push(MODEL.into());
            }
            (s("entity"), s("name"), needs)
        })
        .collect()
}

fn oracle(input: &Path, out: &Path, window_days: u32) {
    let report = python_oracle(
        "features_oracle.py",
        &[input.to_str().unwrap(), out.to_str().unwrap(), &as_of().to_string(), &window_days.to_string()],
    );
    println!("{report}");
}

#[test]
fn features_match_the_oracle_window_30() {
    let (_d, input, out) = dataset_with_features(11, 30);
    oracle(&input, &out, 30);
}

#[test]
fn features_match_the_oracle_window_7() {
    let (_d, input, out) = dataset_with_features(12, 7);
    oracle(&input, &out, 7);
}

/// Duplicates and near-duplicates, joins through links the invite_links table does not hold,
/// approval joins with and without a link, a revocation after now, a forward from a group into
/// itself, several physical types for one table: see the script for each case.
#[test]
fn features_match_the_oracle_on_edge_cases() {
    let d = tempfile::tempdir().unwrap();
    python_oracle("features_edge_cases.py", &[d.path().to_str().unwrap()]);
    let (input, out) = (d.path().join("input"), d.path().join("features"));
    run_features(&input, &out, 30);
    oracle(&input, &out, 30);
}

#[test]
fn catalog_and_feature_tables_list_the_same_features() {
    let catalog = catalog_file();
    // The catalog compiled into the binary is this file.
    let compiled: Vec<(String, String)> = groupwatch::features::catalog().1.into_iter().map(|e| (e.entity.to_string(), e.name)).collect();
    assert_eq!(compiled, catalog.iter().map(|(e, n, _)| (e.clone(), n.clone())).collect::<Vec<_>>());
    let inputs: BTreeSet<&str> =
        ["accounts", "groups", "memberships", "invite_links", "forwards", "reports", "blocks", "hash_bank", "labels"].into();
    let mut seen = BTreeSet::new();
    for (entity, name, needs) in &catalog {
        assert!(entity == "group" || entity == "account", "{name}: entity {entity:?}");
        assert!(seen.insert((entity.clone(), name.clone())), "{entity} feature {name} listed twice");
        assert!(!needs.is_empty(), "{entity} feature {name} needs no table");
        for t in needs.iter().filter(|t| *t != MODEL) {
            assert!(inputs.contains(t.as_str()), "{entity} feature {name} needs {t:?}, not an input table");
        }
    }

    let (_d, _input, out) = dataset_with_features(13, 30);
    for (entity, table, key) in [("group", "group_features", "group_id"), ("account", "account_features", "account_id")] {
        let df = read_parquet(&out.join(format!("{table}.parquet")));
        assert!(df.height() > 0, "{table} is empty");
        let columns: Vec<String> = df.get_column_names().iter().map(|c| c.to_string()).collect();
        assert_eq!(columns[0], key, "{table}: the key comes first");
        assert_eq!(df.column(key).unwrap().dtype(), &DataType::UInt64, "{table}.{key}");
        assert_eq!(df.column(key).unwrap().null_count(), 0, "{table}.{key} has nulls");
        assert_eq!(df.column(key).unwrap().n_unique().unwrap(), df.height(), "{table}.{key} not unique");
        let in_table: BTreeSet<&str> = columns[1..].iter().map(String::as_str).collect();
        assert_eq!(in_table.len(), columns.len() - 1, "{table}: a column appears twice");
        let in_catalog: BTreeSet<&str> = catalog.iter().filter(|f| f.0 == entity).map(|f| f.1.as_str()).collect();
        let missing: Vec<_> = in_catalog.difference(&in_table).collect();
        let extra: Vec<_> = in_table.difference(&in_catalog).collect();
        assert!(missing.is_empty(), "{table}: catalog {entity} features absent from the table: {missing:?}");
        assert!(extra.is_empty(), "{table}: columns not in the catalog as {entity} features: {extra:?}");
        for c in &columns[1..] {
            assert_eq!(df.column(c).unwrap().dtype(), &DataType::Float64, "{table}.{c}");
        }
    }
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("features.json")).unwrap()).unwrap();
    let needs_model: Vec<String> = catalog
        .iter()
        .filter(|f| f.2.iter().any(|t| t == MODEL))
        .map(|f| format!("{}_features.{}", f.0, f.1))
        .collect();
    let mut unavailable: Vec<String> = manifest["unavailable_features"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    unavailable.sort();
    let mut needs_model_sorted = needs_model.clone();
    needs_model_sorted.sort();
    assert_eq!(unavailable, needs_model_sorted, "every input table is present: only the features that read a trained model are unavailable");
}

#[test]
fn without_forwards_exactly_the_forward_features_are_unavailable() {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), Scale::Tiny, None, 14);
    let input = d.path().join("input");
    std::fs::remove_dir_all(input.join("forwards")).unwrap();
    let out = d.path().join("features");
    run_features(&input, &out, 30);

    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("features.json")).unwrap()).unwrap();
    let unavailable: BTreeSet<String> = manifest["unavailable_features"]
        .as_array()
        .expect("unavailable_features is a list")
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let mut expected = BTreeSet::new();
    let mut problems = Vec::new();
    for (entity, table) in [("group", "group_features"), ("account", "account_features")] {
        let df = read_parquet(&out.join(format!("{table}.parquet")));
        assert!(df.height() > 0, "{table} is empty");
        for (_, name, needs) in catalog_file().iter().filter(|f| f.0 == entity) {
            let Ok(c) = df.column(name) else {
                problems.push(format!("{table}.{name}: column missing"));
                continue;
            };
            let non_null = df.height() - c.null_count();
            if needs.iter().any(|t| t == "forwards" || t == MODEL) {
                expected.insert(format!("{table}.{name}"));
                if non_null > 0 {
                    problems.push(format!("{table}.{name} needs forwards or a model but has {non_null} non-null values"));
                }
            } else if non_null == 0 {
                problems.push(format!("{table}.{name} does not need forwards but is entirely null"));
            }
        }
    }
    for missing in expected.difference(&unavailable) {
        problems.push(format!("{missing} needs forwards or a model but is not in unavailable_features"));
    }
    for extra in unavailable.difference(&expected) {
        problems.push(format!("{extra} is in unavailable_features but needs neither forwards nor a model"));
    }
    assert!(problems.is_empty(), "without the forwards table:\n{}", problems.join("\n"));
}

#[test]
fn a_configuration_file_sets_what_no_flag_does() {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), Scale::Tiny, None, 3);
    let input = d.path().join("input");
    let config = d.path().join("groupwatch.toml");
    let features = |out: &str, extra: &[&str]| {
        let out = d.path().join(out);
        let o = groupwatch().arg("features").arg("--input").arg(&input).arg("--out").arg(&out).arg("--config").arg(&config).args(extra).output().unwrap();
        let json = std::fs::read(out.join("features.json")).ok().map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap());
        (o, json)
    };
    std::fs::write(&config, format!("as_of = {}\nwindow_days = 7\n\n[train]\nseed = 3\n", as_of())).unwrap();
    let (o, json) = features("from-file", &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json = json.unwrap();
    assert_eq!((json["as_of"].as_str(), json["window_days"].as_u64()), (Some(as_of().to_string().as_str()), Some(7)));
    let (_, json) = features("flag-wins", &["--window-days", "14"]);
    assert_eq!(json.unwrap()["window_days"].as_u64(), Some(14));

    std::fs::write(&config, "window_days = 7\nwindow_dayz = 14\n").unwrap();
    let (o, json) = features("unknown-key", &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("groupwatch.toml line 2") && err.contains("window_dayz"), "{err}");
    assert!(json.is_none(), "nothing is written");
}
