//! End-to-end benchmark of the presets: `features`, `train` and `run --model` as child
//! processes of the release binary, with per-stage wall time and peak memory.
//!
//! ```sh
//! cargo bench --bench end_to_end                            # small and medium
//! GROUPWATCH_E2E_PRESETS=small cargo bench --bench end_to_end
//! GROUPWATCH_E2E_PRESETS=small,medium,large cargo bench --bench end_to_end
//! GROUPWATCH_E2E_DIR=/data/gw-e2e cargo bench --bench end_to_end   # where datasets are cached
//! ```
//!
//! One iteration of `medium` takes tens of seconds, so this is a plain program
//! (`harness = false`), not criterion: each command runs once. Datasets (`synth --seed 1`) are
//! generated once into the cache folder (default `target/groupwatch-e2e`) and reused, as is the
//! model `train` writes there. Stage seconds come from `features.json` and the run's
//! `manifest.json`; each command's peak resident memory is the child's `ru_maxrss` (`wait4`).
//! The machine load (`/proc/loadavg`) is printed beside every figure: other work on the same
//! cores inflates wall times.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_groupwatch");

/// Wall seconds and peak RSS (MiB) of one child process; panics when it fails.
fn run_child(args: &[&str]) -> (f64, f64) {
    let clock = Instant::now();
    let child = Command::new(BIN).args(["--log", "warn"]).args(args).stdout(std::process::Stdio::null()).spawn().expect("spawn groupwatch");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; `pid` is our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4: {}", std::io::Error::last_os_error());
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    assert!(ok, "groupwatch {} failed (status {status})", args.join(" "));
    // ru_maxrss is in KiB on Linux.
    (clock.elapsed().as_secs_f64(), usage.ru_maxrss as f64 / 1024.0)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" ")).unwrap_or_default()
}

fn cache_dir() -> PathBuf {
    if let Ok(d) = std::env::var("GROUPWATCH_E2E_DIR") {
        return PathBuf::from(d);
    }
    let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("groupwatch-e2e")
}

fn read_json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).expect("valid JSON")
}

/// One preset's results: (row label, value) in table order.
struct Results {
    preset: String,
    rows: Vec<(String, String)>,
}

fn bench_preset(preset: &str, root: &Path) -> Results {
    let data = root.join(format!("{preset}-seed1"));
    let input = data.join("input");
    let d = |p: &Path| p.display().to_string();
    let mut rows: Vec<(String, String)> = Vec::new();
    if !data.join("synth.json").exists() {
        let _ = std::fs::remove_dir_all(&data);
        eprintln!("generating {preset} into {}", data.display());
        let (s, rss) = run_child(&["synth", "--scale", preset, "--seed", "1", "--out", &d(&data)]);
        rows.push(("synth (generated now)".into(), format!("{s:.1} s, {rss:.0} MiB")));
    }
    let fig = |s: f64, rss: f64| format!("{s:.1} s, {:.2} GB (load {})", rss / 1024.0, load());

    // features
    let fout = root.join(format!("{preset}-features"));
    let _ = std::fs::remove_dir_all(&fout);
    eprintln!("{preset}: features");
    let (s, rss) = run_child(&["features", "--input", &d(&input), "--out", &d(&fout)]);
    let fj = read_json(&fout.join("features.json"));
    let stages = fj["stage_seconds"].as_object().cloned().unwrap_or_default();
    for st in ["validate", "ingest", "replay", "graphs", "features", "write"] {
        if let Some(v) = stages.get(st).and_then(|v| v.as_f64()) {
            rows.push((format!("features: {st}"), format!("{v:.2} s")));
        }
    }
    let core: f64 = ["ingest", "replay", "graphs", "features"].iter().filter_map(|k| stages.get(*k).and_then(|v| v.as_f64())).sum();
    rows.push(("features: ingest + replay + graphs + features".into(), format!("{core:.1} s")));
    rows.push(("**features: wall, peak RSS**".into(), fig(s, rss)));

    // train (once per dataset; the model is reused)
    let model = data.join("model.json");
    if !model.exists() {
        eprintln!("{preset}: train");
        let (s, rss) = run_child(&["train", "--input", &d(&input), "--model-out", &d(&model)]);
        rows.push(("**train: wall, peak RSS**".into(), fig(s, rss)));
    }

    // run --model
    let rout = root.join(format!("{preset}-runs"));
    let _ = std::fs::remove_dir_all(&rout);
    eprintln!("{preset}: run --model");
    let (s, rss) = run_child(&["run", "--input", &d(&input), "--out", &d(&rout), "--model", &d(&model)]);
    let manifest = std::fs::read_dir(&rout)
        .expect("run folder")
        .flatten()
        .map(|e| e.path().join("manifest.json"))
        .find(|p| p.exists())
        .expect("a published run");
    let mj = read_json(&manifest);
    for st in mj["stages"].as_array().cloned().unwrap_or_default() {
        let name = st["stage"].as_str().unwrap_or("?");
        let secs = st["seconds"].as_f64().unwrap_or(f64::NAN);
        let peak = st["peak_rss_mib"].as_f64().map(|m| format!(", peak so far {:.2} GB", m / 1024.0)).unwrap_or_default();
        rows.push((format!("run: {name}"), format!("{secs:.2} s{peak}")));
    }
    rows.push(("**run --model: wall, peak RSS**".into(), fig(s, rss)));
    Results { preset: preset.into(), rows }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let presets: Vec<String> = std::env::var("GROUPWATCH_E2E_PRESETS")
        .unwrap_or_else(|_| "small,medium".into())
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let root = cache_dir();
    std::fs::create_dir_all(&root).expect("cache folder");
    let results: Vec<Results> = presets.iter().map(|p| bench_preset(p, &root)).collect();
    // Markdown: one column per preset, rows in first-seen order.
    let mut labels: Vec<String> = Vec::new();
    for r in &results {
        for (l, _) in &r.rows {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
    }
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("\ngroupwatch end to end ({threads} cores; binary {BIN})\n");
    println!("| stage | {} |", results.iter().map(|r| r.preset.as_str()).collect::<Vec<_>>().join(" | "));
    println!("|---|{}", "---|".repeat(results.len()));
    for l in &labels {
        let cells: Vec<String> = results.iter().map(|r| r.rows.iter().find(|(k, _)| k == l).map_or(String::new(), |(_, v)| v.clone())).collect();
        println!("| {l} | {} |", cells.join(" | "));
    }
}
