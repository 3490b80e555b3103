//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use groupwatch::synth::{generate, Scale, SynthConfig};

/// The `groupwatch` binary built for these tests, ready for arguments.
pub fn groupwatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_groupwatch"))
}

/// Runs `groupwatch ARGS`, asserting it succeeds (its output in the message when not).
pub fn groupwatch_ok(args: &[&str]) -> std::process::Output {
    let o = groupwatch().args(args).output().expect("run groupwatch");
    assert!(o.status.success(), "groupwatch {args:?} failed ({}):\n{}\n{}", o.status, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    o
}

pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

/// Generates a dataset into `dir` (which must not hold one).
pub fn synth(dir: &Path, scale: Scale, accounts: Option<usize>, seed: u64) -> PathBuf {
    let mut cfg = SynthConfig::new(scale, seed, as_of(), dir.to_path_buf());
    if let Some(n) = accounts {
        cfg.accounts = n;
    }
    generate(&cfg).expect("synth");
    dir.to_path_buf()
}

/// Runs a Python oracle script from tests/oracle and asserts it succeeds, showing its output.
pub fn python_oracle(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle").join(script);
    let out = Command::new("python3")
        .arg(&path)
        .args(args)
        .output()
        .expect("python3 must be installed (see tests/requirements.txt)");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "oracle {script} failed (pip install -r tests/requirements.txt?):\n{stdout}\n{stderr}"
    );
    stdout
}

/// Every file under `root` (relative path, bytes), sorted.
pub fn tree_bytes(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Every `[[feature]]` entry of `data-schemas/feature_catalog.toml`, parsed from the file
/// itself rather than through the crate, so the tests check what a reader of the file sees.
pub fn catalog_entries() -> Vec<toml::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data-schemas/feature_catalog.toml");
    let v: toml::Value = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    v["feature"].as_array().expect("[[feature]] entries").clone()
}
