//! The nightly job (`groupwatch run`):
//!
//! - every output table conforms to its schema in data-schemas/;
//! - the same inputs twice, and with a different `--threads`, give byte-identical tables;
//! - killed with SIGKILL at 20 points of a run, the previous run folder stays intact and no
//!   partial run folder is visible; the next run succeeds;
//! - a bad policy file is bad input (exit 2) and the message names the key;
//! - an extra column in one partition file is ignored and listed once in the manifest; an
//!   internal error names the path and says each message once;
//! - a required table with no row in the window is bad input and nothing is published;
//! - hostile strings in the input and the policy reach report.html and sweep.svg as text;
//! - one run at a time per output folder: a second exits 3, a killed run's lock is not stale;
//! - a write that fails part-way (a file-size limit standing in for a full disk) exits 1
//!   naming the file, and leaves the previous run intact and nothing staged behind;
//! - SIGTERM or SIGINT mid-write removes the staging folder and exits 143 or 130, leaving the
//!   previous run byte-identical and the lock free;
//! - pruning never changes results: memberships exported as one snapshot folder dated after
//!   as-of give the same outputs as daily partitions, with a warning naming the folder.
use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{as_of, groupwatch, synth, tree_bytes};
use groupwatch::schema::Contract;
use groupwatch::synth::Scale;
use polars::prelude::*;

fn run_args(input: &Path, out: &Path) -> Vec<String> {
    ["run", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--as-of", &as_of().to_string()]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn run_ok(input: &Path, out: &Path, extra: &[&str]) -> PathBuf {
    let o = groupwatch().args(extra).args(run_args(input, out)).output().unwrap();
    assert!(o.status.success(), "run failed ({}):\n{}\n{}", o.status, String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    out.join(format!("run={}", as_of()))
}

/// Tables of a run folder (everything but the manifest, which records wall times).
fn tables(run: &Path) -> Vec<(String, Vec<u8>)> {
    tree_bytes(run).into_iter().filter(|(name, _)| name != "manifest.json").collect()
}

/// The entries of an output folder, sorted, but for the lock file every run leaves (empty of
/// any lock once its run has ended).
fn entries(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != LOCK_FILE)
        .collect();
    names.sort();
    names
}

/// The lock file `run` holds in its output folder (the documented name).
const LOCK_FILE: &str = ".groupwatch.lock";

fn dataset(seed: u64) -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    synth(d.path(), Scale::Tiny, None, seed);
    let input = d.path().join("input");
    (d, input)
}

#[test]
fn outputs_conform_and_runs_are_reproducible_across_thread_counts() {
    let (d, input) = dataset(31);
    let a = run_ok(&input, &d.path().join("a"), &[]);
    let b = run_ok(&input, &d.path().join("b"), &["--threads", "1"]);
    let ta = tables(&a);
    assert!(ta.iter().any(|(n, _)| n == "group_scores.parquet"));
    assert!(ta.iter().any(|(n, _)| n == "cluster_edges.parquet"), "the networks stage wrote nothing");
    assert_eq!(ta, tables(&b), "different --threads gave different tables");
    // Same inputs again into the same folder: identical bytes, the folder replaced whole.
    let again = run_ok(&input, &d.path().join("a"), &[]);
    assert_eq!(ta, tables(&again));

    let contract = Contract::get();
    for t in [
        "group_features", "account_features", "group_scores", "account_scores", "hash_matches", "quarantine", "clusters", "cluster_members",
        "cluster_timeline", "cluster_edges",
    ] {
        let path = a.join(format!("{t}.parquet"));
        let df = ParquetReader::new(std::fs::File::open(&path).unwrap_or_else(|e| panic!("{t}: {e}"))).finish().unwrap();
        let problems = contract.table(t).check_output(&df);
        assert!(problems.is_empty(), "{t}: {problems:?}");
    }
    let scores = ParquetReader::new(std::fs::File::open(a.join("group_scores.parquet")).unwrap()).finish().unwrap();
    let s = scores.column("score").unwrap().f64().unwrap();
    assert!(s.iter().flatten().all(|v| (0.0..=1.0).contains(&v)));
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("manifest.json")).unwrap()).unwrap();
    for key in ["inputs", "policy", "model", "stages", "warnings", "rows", "schema_versions"] {
        assert!(!manifest[key].is_null(), "manifest lacks {key}");
    }
    assert!(manifest["inputs"]["memberships"]["sha256_of_file_sums"].as_str().unwrap().len() == 64);
    // Only complete run folders are visible; nothing staged is left behind.
    assert_eq!(entries(&d.path().join("a")), vec![format!("run={}", as_of())]);
}

#[test]
fn a_killed_run_leaves_the_previous_run_intact() {
    let (d, input) = dataset(32);
    let out = d.path().join("runs");
    let run = run_ok(&input, &out, &[]);
    let before = tree_bytes(&run);
    // How long a run takes here, to spread the kills over its whole length.
    let t = Instant::now();
    run_ok(&input, &d.path().join("timing"), &[]);
    let full = t.elapsed();
    for i in 0..20u32 {
        let delay = full.mul_f64(f64::from(i) / 20.0 + 0.01);
        let mut child = groupwatch().args(run_args(&input, &out)).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let visible: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        assert_eq!(visible, vec![format!("run={}", as_of())], "kill {i} after {delay:?}: visible entries {visible:?}");
        let now = tree_bytes(&run);
        // The run folder is the previous run, or (if the kill came after the swap) a complete
        // new run with identical tables.
        let tables_now: Vec<_> = now.iter().filter(|(n, _)| n != "manifest.json").collect();
        let tables_before: Vec<_> = before.iter().filter(|(n, _)| n != "manifest.json").collect();
        assert_eq!(tables_now, tables_before, "kill {i} after {delay:?}: run folder changed");
        assert!(now.iter().any(|(n, _)| n == "manifest.json"), "kill {i}: manifest missing");
    }
    run_ok(&input, &out, &[]);
    assert_eq!(entries(&out), vec![format!("run={}", as_of())], "stale staging folders were not cleaned");
}

#[test]
fn bad_policy_files_are_bad_input_naming_the_key() {
    let (d, input) = dataset(33);
    let cases = [
        ("unknown.toml", "version = 1\nname = \"x\"\n[review]\ngroup_treshold = 0.5\n", "group_treshold"),
        ("range.toml", "version = 1\nname = \"x\"\n[review]\ngroup_threshold = 1.5\naccount_threshold = 0.5\ndaily_capacity = 10\nmin_group_size = 3\nhours_per_review = 0.25\n[rules]\nhash_match_always_review = true\nviolating_admin_always_review = true\n[auto_action]\nrules = []\n", "group_threshold"),
        ("type.toml", "version = 1\nname = \"x\"\n[review]\ngroup_threshold = 0.5\naccount_threshold = 0.5\ndaily_capacity = \"many\"\nmin_group_size = 3\nhours_per_review = 0.25\n[rules]\nhash_match_always_review = true\nviolating_admin_always_review = true\n[auto_action]\nrules = []\n", "daily_capacity"),
    ];
    for (name, text, key) in cases {
        let p = d.path().join(name);
        std::fs::write(&p, text).unwrap();
        let o = groupwatch().args(run_args(&input, &d.path().join("out"))).args(["--policy", p.to_str().unwrap()]).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(key), "{name}: message does not name {key}: {err}");
    }
    assert!(!d.path().join("out").join(format!("run={}", as_of())).exists(), "a bad policy must not produce a run");
    let _ = Duration::ZERO;
}

/// The newest `dt=` folder of a table and its first Parquet file.
fn newest_partition_file(input: &Path, table: &str) -> PathBuf {
    let mut days: Vec<PathBuf> = std::fs::read_dir(input.join(table))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("dt="))
        .collect();
    days.sort();
    let day = days.pop().unwrap_or_else(|| panic!("no dt= folder under {table}"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&day).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "parquet")).collect();
    files.sort();
    files.remove(0)
}

/// The `error:` line a failed run printed.
fn error_line(stderr: &str) -> String {
    stderr.lines().find(|l| l.starts_with("error:")).unwrap_or_else(|| panic!("no error line in:\n{stderr}")).to_string()
}

#[test]
fn an_extra_column_in_one_partition_file_is_ignored_and_noted_once() {
    let (d, input) = dataset(34);
    // One day of forwards carries a column the contract does not know (a newer client).
    let file = newest_partition_file(&input, "forwards");
    let mut df = groupwatch::io::read_parquet(&file, None).unwrap();
    let n = df.height();
    assert!(n > 0, "{} is empty", file.display());
    df.with_column(Column::new("client_version".into(), vec!["2.26.1"; n])).unwrap();
    groupwatch::io::write_parquet(&mut df, &file).unwrap();
    let run = run_ok(&input, &d.path().join("out"), &[]);
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["extra_columns"], serde_json::json!({"forwards": ["client_version"]}));
    // The file's rows were read, not dropped with the odd file.
    let (clean, clean_input) = dataset(34);
    let reference = run_ok(&clean_input, &clean.path().join("out"), &[]);
    assert_eq!(tables(&run), tables(&reference), "an ignored extra column changed the outputs");
}

#[test]
fn an_internal_error_names_the_path_and_says_each_message_once() {
    let (d, input) = dataset(35);
    let out = d.path().join("out");
    // An earlier run folder whose cluster_members is not Parquet: the run reads it for stable
    // cluster ids and fails (internal, exit 1).
    let earlier = out.join("run=2026-11-20");
    std::fs::create_dir_all(&earlier).unwrap();
    std::fs::write(earlier.join("cluster_members.parquet"), b"not a parquet file").unwrap();
    let o = groupwatch().args(run_args(&input, &out)).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    let line = error_line(&stderr);
    assert!(line.contains(&earlier.join("cluster_members.parquet").display().to_string()), "{line}");
    let parts: Vec<&str> = line.trim_start_matches("error: ").split(": ").collect();
    for (i, p) in parts.iter().enumerate() {
        assert!(!parts[..i].contains(p), "{p:?} repeated in {line}");
    }
    assert!(!out.join(format!("run={}", as_of())).exists());
}

#[test]
fn a_required_table_with_no_row_in_the_window_stops_the_run_and_publishes_nothing() {
    let (d, input) = dataset(36);
    let out = d.path().join("out");
    let run = run_ok(&input, &out, &[]);
    let before = tree_bytes(&run);
    // An as-of before the data: every group and membership lies after the window (some
    // accounts are older).
    let o = groupwatch()
        .args(["run", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--as-of", "2020-01-01"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    let line = error_line(&stderr);
    for word in ["groups", "memberships", "2020-01-01", "outside"] {
        assert!(line.contains(word), "the message does not say {word}: {line}");
    }
    // How many rows lie outside: every valid membership row.
    let vcfg = groupwatch::validate::ValidateConfig::new(input.clone(), chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap());
    let report = groupwatch::validate::validate(&vcfg).unwrap();
    let t = report.table("memberships").unwrap();
    assert!(line.contains(&format!("memberships (all {} valid rows", t.rows - t.quarantined_rows)), "{line}");
    assert_eq!(tree_bytes(&run), before, "the previous run changed");
    assert_eq!(entries(&out), vec![format!("run={}", as_of())], "something was published or left behind");
}

/// Rewrites every Parquet file of a table (a folder, or a single `<table>.parquet`) in place.
fn edit_table(input: &Path, table: &str, f: &dyn Fn(&mut DataFrame)) -> usize {
    let mut stack = vec![input.join(table), input.join(format!("{table}.parquet"))];
    let mut edited = 0;
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.is_file() && p.extension().is_some_and(|x| x == "parquet") {
            let mut df = groupwatch::io::read_parquet(&p, None).unwrap();
            f(&mut df);
            groupwatch::io::write_parquet(&mut df, &p).unwrap();
            edited += 1;
        }
    }
    edited
}

#[test]
fn hostile_strings_in_the_input_and_the_policy_render_as_text() {
    let (d, input) = dataset(37);
    let script = "<script>alert(1)</script>";
    let set = |name: &'static str, value: &'static str| {
        move |df: &mut DataFrame| {
            let n = df.height();
            df.with_column(Column::new(name.into(), vec![value; n])).unwrap();
        }
    };
    assert!(edit_table(&input, "groups", &set("subject", script)) > 0);
    edit_table(&input, "groups", &set("description", "<img src=x onerror=alert(1)>"));
    edit_table(&input, "accounts", &set("about", "\"><svg onload=alert(1)>"));
    assert!(edit_table(&input, "hash_bank", &set("bank", script)) > 0, "the dataset has no hash bank");
    let policy = d.path().join("hostile.toml");
    let text = groupwatch::policy::DEFAULT_POLICY_TEXT.replacen("name = \"default\"", "name = \"<script>alert(2)</script>\"", 1);
    assert_ne!(text, groupwatch::policy::DEFAULT_POLICY_TEXT);
    std::fs::write(&policy, text).unwrap();
    let o = groupwatch().args(run_args(&input, &d.path().join("out"))).args(["--policy", policy.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "run: {}", String::from_utf8_lossy(&o.stderr));
    let run = d.path().join("out").join(format!("run={}", as_of()));
    let o = groupwatch().args(["sweep", "--run", run.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "sweep: {}", String::from_utf8_lossy(&o.stderr));
    let matches = groupwatch::io::read_parquet(&run.join("hash_matches.parquet"), None).unwrap();
    assert!(matches.height() > 0, "no hash matches: the bank name reaches no output");
    let html = std::fs::read_to_string(run.join("report.html")).unwrap();
    let svg = std::fs::read_to_string(run.join("sweep.svg")).unwrap();
    for (name, page) in [("report.html", &html), ("sweep.svg", &svg)] {
        for raw in ["<script", "<img", "<svg onload"] {
            assert!(!page.contains(raw), "{name} holds the raw {raw:?}");
        }
        assert!(page.contains("&lt;script&gt;alert(2)&lt;/script&gt;"), "{name} does not show the policy name as text");
    }
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "report.html does not show the bank name as text");
}

/// Takes the output folder's lock as a run does (`flock` on `OUT/.groupwatch.lock`).
fn hold_lock(out: &Path) -> std::fs::File {
    use std::os::unix::io::AsRawFd;
    std::fs::create_dir_all(out).unwrap();
    let f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(out.join(LOCK_FILE)).unwrap();
    // SAFETY: flock on a descriptor this function owns.
    assert_eq!(unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) }, 0, "the lock is taken");
    f
}

#[test]
fn a_run_into_a_locked_output_folder_exits_3_and_touches_nothing() {
    let (d, input) = dataset(38);
    let out = d.path().join("out");
    let run = run_ok(&input, &out, &[]);
    let before = tree_bytes(&run);
    let lock = hold_lock(&out);
    let o = groupwatch().args(run_args(&input, &out)).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    let line = error_line(&stderr);
    assert!(line.contains("another groupwatch run") && line.contains(&out.join(LOCK_FILE).display().to_string()), "{line}");
    assert_eq!(tree_bytes(&run), before, "the previous run changed");
    assert_eq!(entries(&out), vec![format!("run={}", as_of())], "the locked-out run left something behind");
    // Released, the next run goes ahead.
    drop(lock);
    run_ok(&input, &out, &[]);
}

#[test]
fn of_two_runs_at_once_one_exits_3_and_a_killed_runs_lock_is_not_stale() {
    let (d, input) = dataset(39);
    let out = d.path().join("out");
    let spawn = || groupwatch().args(run_args(&input, &out)).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (spawn(), spawn());
    let outputs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    let mut codes: Vec<Option<i32>> = outputs.iter().map(|o| o.status.code()).collect();
    codes.sort();
    let stderr: Vec<_> = outputs.iter().map(|o| String::from_utf8_lossy(&o.stderr).into_owned()).collect();
    assert_eq!(codes, [Some(0), Some(3)], "{stderr:#?}");
    assert_eq!(entries(&out), vec![format!("run={}", as_of())]);
    let run = out.join(format!("run={}", as_of()));
    let before = tables(&run);

    // A run killed while it holds the lock: the kernel releases the lock with the process.
    let mut c = spawn();
    let pid = c.id().to_string();
    let t = Instant::now();
    while std::fs::read_to_string(out.join(LOCK_FILE)).map_or(true, |s| s.trim() != pid) {
        assert!(t.elapsed() < Duration::from_secs(60), "the run never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    }
    c.kill().unwrap();
    c.wait().unwrap();
    assert!(out.join(LOCK_FILE).exists(), "the lock file stays");
    let again = run_ok(&input, &out, &[]);
    assert_eq!(tables(&again), before);
}

#[test]
fn forward_rows_set_aside_on_disk_change_no_output() {
    let (d, input) = dataset(41);
    let run = |out: &str, spill_above: u64| {
        let mut cfg = groupwatch::run::RunConfig::new(input.clone(), d.path().join(out), as_of());
        cfg.spill_forwards_above = spill_above;
        groupwatch::run::run(&cfg, &|_| {}).unwrap();
        let entries: Vec<String> = std::fs::read_dir(d.path().join(out)).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(entries.iter().all(|n| n.starts_with("run=") || n == LOCK_FILE), "the spill left something behind: {entries:?}");
        tables(&cfg.run_dir())
    };
    // Always in memory against always on disk (a tiny dataset is under the default threshold).
    assert_eq!(run("kept", u64::MAX), run("spilled", 0));
}

#[test]
fn a_write_failure_mid_run_leaves_the_previous_run_intact_and_names_the_path() {
    use std::os::unix::process::CommandExt;
    let (d, input) = dataset(40);
    let out = d.path().join("out");
    let run = run_ok(&input, &out, &[]);
    let before = tree_bytes(&run);
    // A file-size limit below an output's size makes its write fail part-way (EFBIG), as a
    // full disk would, whoever runs the test (root ignores permissions, not resource limits):
    // below the largest file (the model), and below the largest Parquet table.
    let largest = |parquet: bool| before.iter().filter(|(n, _)| !parquet || n.ends_with(".parquet")).map(|(n, b)| (b.len(), n.clone())).max().unwrap();
    for (size, name) in [largest(false), largest(true)] {
        let limit = size as u64 / 2;
        let mut cmd = groupwatch();
        cmd.args(run_args(&input, &out));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // Ignored, SIGXFSZ no longer kills the process: the write returns EFBIG.
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let lim = libc::rlimit { rlim_cur: limit, rlim_max: limit };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let o = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name} over {limit} bytes: {stderr}");
        let line = error_line(&stderr);
        // The file that failed (this one, or an earlier one above the limit) is named by path.
        let named = before.iter().any(|(n, _)| line.contains(&format!("/{n}")));
        assert!(line.contains(&out.display().to_string()) && named, "{name}: the message does not name the file: {line}");
        assert!(line.contains("too large"), "{line}");
        assert_eq!(tree_bytes(&run), before, "{name}: the previous run changed");
        assert_eq!(entries(&out), vec![format!("run={}", as_of())], "{name}: the failed run left something behind");
    }
    run_ok(&input, &out, &[]);
}

#[test]
fn a_snapshot_folder_dated_after_as_of_gives_the_same_results_with_a_warning() {
    let (d, input) = dataset(41);
    let reference = run_ok(&input, &d.path().join("reference"), &[]);
    // The whole membership history moved into one folder dated the day after as-of, as a
    // daily snapshot export would write it: every row's ts is earlier than the folder's date.
    let folder = format!("dt={}", as_of().succ_opt().unwrap());
    let table = input.join("memberships");
    let snapshot = d.path().join("snapshot");
    std::fs::create_dir_all(&snapshot).unwrap();
    let mut rows = 0u64;
    for day in std::fs::read_dir(&table).unwrap().map(|e| e.unwrap().path()) {
        let day_name = day.file_name().unwrap().to_string_lossy().into_owned();
        assert!(day_name.starts_with("dt="), "memberships/{day_name} is not a dt= folder");
        for f in std::fs::read_dir(&day).unwrap().map(|e| e.unwrap().path()) {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".parquet") {
                let ts = groupwatch::io::read_parquet(&f, None).unwrap().column("ts").unwrap().clone();
                rows += (ts.len() - ts.null_count()) as u64;
                std::fs::rename(&f, snapshot.join(format!("{day_name}-{name}"))).unwrap();
            }
        }
        std::fs::remove_dir_all(&day).unwrap();
    }
    assert!(rows > 0);
    std::fs::rename(&snapshot, table.join(&folder)).unwrap();

    let run = run_ok(&input, &d.path().join("out"), &[]);
    // Quarantine rows name their file, which moved, and report.html shows the run's warnings;
    // every table and the model are identical.
    let compared = |run: &Path| {
        tables(run).into_iter().filter(|(n, _)| n != "quarantine.parquet" && n != "report.html").collect::<BTreeMap<_, _>>()
    };
    let (got, want) = (compared(&run), compared(&reference));
    assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>());
    let differ: Vec<&String> = got.keys().filter(|n| got[*n] != want[*n]).collect();
    assert!(differ.is_empty(), "the snapshot folder changed {differ:?}");
    let manifest = |run: &Path| -> serde_json::Value { serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap() };
    let (m, r) = (manifest(&run), manifest(&reference));
    assert_eq!(m["ingest"]["rows_read"]["memberships"], r["ingest"]["rows_read"]["memberships"]);
    assert_eq!(m["rows"]["quarantine"], r["rows"]["quarantine"]);
    assert_eq!(m["ingest"]["files_skipped_by_statistics"]["memberships"], serde_json::json!(0));
    let key = format!("memberships/{folder}");
    assert_eq!(m["rows_outside_their_dt_folder"], serde_json::json!({"memberships": {key.clone(): rows}}));
    assert_eq!(r["rows_outside_their_dt_folder"], serde_json::json!({}));
    let warned = m["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains(&format!("{rows} row(s) in {key}/")));
    assert!(warned, "no warning names {key}: {}", m["warnings"]);

    // Pruning by statistics still skips files: the data holds 60 days of forwards, the
    // window 30, so older files are not opened.
    let skipped = &r["ingest"]["files_skipped_by_statistics"]["forwards"];
    assert!(skipped.as_u64().unwrap() > 0, "{}", r["ingest"]);
    assert_eq!(&m["ingest"]["files_skipped_by_statistics"]["forwards"], skipped);
}

#[test]
fn sigterm_or_sigint_mid_run_removes_the_staging_folder_and_exits_128_plus_the_signal() {
    let (d, input) = dataset(42);
    let out = d.path().join("out");
    let run = run_ok(&input, &out, &[]);
    let before = tree_bytes(&run);
    let prefix = format!(".run={}.staging-", as_of());
    for (signal, code) in [(libc::SIGTERM, 143), (libc::SIGINT, 130)] {
        let mut child = groupwatch().args(run_args(&input, &out)).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        // Signalled as soon as its staging folder exists: it is writing the new run.
        let t = Instant::now();
        while !std::fs::read_dir(&out).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().starts_with(&prefix)) {
            assert!(child.try_wait().unwrap().is_none(), "signal {signal}: the run ended before it staged anything");
            assert!(t.elapsed() < Duration::from_secs(120), "signal {signal}: no staging folder after 120 s");
            std::thread::sleep(Duration::from_millis(1));
        }
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, signal) }, 0);
        let o = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "signal {signal}: {:?}\n{stderr}", o.status);
        assert!(error_line(&stderr).contains("stopped by"), "{stderr}");
        assert_eq!(entries(&out), vec![format!("run={}", as_of())], "signal {signal}: a staging folder was left behind");
        assert_eq!(tree_bytes(&run), before, "signal {signal}: the previous run changed");
    }
    // The lock went with the process: the next run goes ahead.
    run_ok(&input, &out, &[]);
}

/// An as-of after the export's last day (the default is yesterday) leaves the window without
/// activity: the run still completes (the contract stops only a window before the data), but
/// says so on the console and in the manifest, naming the latest event's day; a window that
/// holds the data gives no such warning.
#[test]
fn a_window_after_the_data_is_warned_about() {
    let (d, input) = dataset(33);
    let late = as_of() + chrono::Days::new(90);
    let out = d.path().join("late");
    let o = groupwatch()
        .args(["run", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--as-of", &late.to_string()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join(format!("run={late}")).join("manifest.json")).unwrap()).unwrap();
    let stale: Vec<&str> = manifest["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).filter(|w| w.contains("no membership event in the 30-day window")).collect();
    assert_eq!(stale.len(), 1, "{}", manifest["warnings"]);
    assert!(stale[0].contains(&format!("ending {late}")) && stale[0].contains("--as-of"), "{}", stale[0]);
    assert!(stdout.contains("warning: no membership event"), "{stdout}");
    let on_time = run_ok(&input, &d.path().join("on-time"), &[]);
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(on_time.join("manifest.json")).unwrap()).unwrap();
    assert!(!manifest["warnings"].to_string().contains("no membership event"), "{}", manifest["warnings"]);
}
