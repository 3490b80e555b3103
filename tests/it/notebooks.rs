//! The notebooks in `notebooks/` run top to bottom against a fresh demo run, so they never rot:
//!
//! - `groupwatch demo --scale tiny` writes a dataset and a run (with its sweep); a second run a
//!   week earlier into the same runs folder gives `feature_exploration` a previous run for
//!   drift, found by default as the notebooks' users would find it;
//! - every notebook executes headless (`notebooks/execute.py`: nbclient, a kernel from the
//!   current interpreter, `MPLBACKEND=Agg`) without a cell error and draws at least one figure
//!   (`cluster_review` only where there are clusters);
//! - `threshold_tuning`'s policy comparison, replayed in Python, agrees with
//!   `groupwatch sweep --compare` on the same run;
//! - `feature_exploration` says so, rather than fails, when there is no previous run;
//! - `cluster_review` draws the graph of the top cluster when the run has clusters (the
//!   assertion applies only then); on a copy of the run without cluster tables it says so;
//! - the statistics they report (ROC-AUC, Spearman's ρ, KS, PSI) agree with scikit-learn and
//!   scipy (`tests/oracle/notebook_stats.py`);
//! - the notebooks are stored without outputs (clean diffs).
use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{as_of, groupwatch_ok};

const NOTEBOOKS: [&str; 3] = ["feature_exploration", "threshold_tuning", "cluster_review"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}


/// What `execute.py` reports for one notebook.
#[derive(Debug, serde::Deserialize)]
struct Executed {
    notebook: String,
    images: usize,
    error: Option<String>,
    cells: Vec<CellOut>,
}

#[derive(Debug, serde::Deserialize)]
struct CellOut {
    images: usize,
    text: String,
}

impl Executed {
    fn text(&self) -> String {
        self.cells.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join("\n")
    }

    /// The cell whose printed text contains `needle`.
    fn cell_with(&self, needle: &str) -> &CellOut {
        self.cells.iter().find(|c| c.text.contains(needle)).unwrap_or_else(|| panic!("{}: no cell printed {needle:?}:\n{}", self.notebook, self.text()))
    }
}

/// Executes notebooks with `env` set (and `unset` removed), returning each one's report.
fn execute(names: &[&str], env: &[(&str, &Path)], unset: &[&str], out_dir: &Path) -> HashMap<String, Executed> {
    let paths: Vec<PathBuf> = names.iter().map(|n| root().join("notebooks").join(format!("{n}.ipynb"))).collect();
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("notebooks/execute.py")).args(&paths).arg("--out-dir").arg(out_dir).env("MPLBACKEND", "Agg");
    for (k, v) in env {
        cmd.env(k, v);
    }
    for k in unset {
        cmd.env_remove(k);
    }
    let o = cmd.output().expect("python3 must be installed (pip install -r tests/requirements.txt)");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let reports: HashMap<String, Executed> = stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str::<Executed>(l).unwrap_or_else(|e| panic!("bad report line {l}: {e}")))
        .map(|r| (r.notebook.trim_end_matches(".ipynb").to_string(), r))
        .collect();
    for r in reports.values() {
        assert!(r.error.is_none(), "{} raised {}; executed copy in {}:\n{}", r.notebook, r.error.as_deref().unwrap_or(""), out_dir.display(), r.text());
    }
    assert!(o.status.success(), "execute.py failed ({}):\n{stdout}\n{}", o.status, String::from_utf8_lossy(&o.stderr));
    assert_eq!(reports.len(), names.len(), "not every notebook reported:\n{stdout}");
    reports
}

/// `only A: N groups, M accounts; only B: N groups, M accounts` as printed by threshold_tuning.
fn printed_comparison(text: &str) -> [usize; 4] {
    let line = text.lines().find(|l| l.starts_with("comparison: ")).unwrap_or_else(|| panic!("no comparison line in:\n{text}"));
    let numbers: Vec<usize> = line.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
    numbers.try_into().unwrap_or_else(|n| panic!("comparison line {line:?} has numbers {n:?}"))
}

/// The same counts from `groupwatch sweep --compare`'s compare.csv.
fn csv_comparison(path: &Path) -> [usize; 4] {
    let text = std::fs::read_to_string(path).unwrap();
    let mut n = [0usize; 4];
    for line in text.lines().skip(1) {
        let mut f = line.split(',');
        let (side, kind) = (f.next().unwrap(), f.next().unwrap());
        let i = match (side, kind) {
            ("A", "group") => 0,
            ("A", "account") => 1,
            ("B", "group") => 2,
            ("B", "account") => 3,
            other => panic!("unexpected compare.csv row {other:?}"),
        };
        n[i] += 1;
    }
    n
}

fn has_clusters(run: &Path) -> bool {
    ["clusters", "cluster_members", "cluster_timeline", "cluster_edges"].iter().all(|t| run.join(format!("{t}.parquet")).is_file())
}

#[test]
fn notebooks_run_top_to_bottom_against_a_fresh_demo_run() {
    let d = tempfile::tempdir().unwrap();
    let demo = d.path().join("demo");
    groupwatch_ok(&["demo", "--scale", "tiny", "--out", demo.to_str().unwrap()]);
    let runs = demo.join("runs");
    let run = runs.join(format!("run={}", as_of()));
    let earlier = as_of() - chrono::Days::new(7);
    groupwatch_ok(&["run", "--input", demo.join("input").to_str().unwrap(), "--out", runs.to_str().unwrap(), "--as-of", &earlier.to_string()]);
    let cmp = d.path().join("compare");
    std::fs::create_dir(&cmp).unwrap();
    let (pa, pb) = (root().join("policies/default.toml"), root().join("policies/strict.toml"));
    groupwatch_ok(&["sweep", "--run", run.to_str().unwrap(), "--policy", pa.to_str().unwrap(), "--compare", pb.to_str().unwrap(), "--out", cmp.to_str().unwrap()]);

    // PREVIOUS_RUN unset: the notebook finds the earlier run beside this one.
    let out = d.path().join("executed");
    let reports = execute(&NOTEBOOKS, &[("GROUPWATCH_RUN", &run)], &["PREVIOUS_RUN", "GROUPWATCH_POLICY", "GROUPWATCH_POLICY_B", "GROUPWATCH_CLUSTER"], &out);
    // cluster_review draws only when the run has clusters: checked below.
    for name in ["feature_exploration", "threshold_tuning"] {
        assert!(reports[name].images >= 1, "{name} drew no figure:\n{}", reports[name].text());
    }

    let fe = &reports["feature_exploration"];
    assert!(fe.text().contains(&format!("previous run: {}", runs.join(format!("run={earlier}")).canonicalize().unwrap().display())), "{}", fe.text());
    fe.cell_with(&format!("drift from run={earlier} to run={}", as_of()));
    assert!(fe.cells.last().unwrap().images >= 1, "no drift chart:\n{}", fe.text());

    let tt = &reports["threshold_tuning"];
    assert_eq!(printed_comparison(&tt.text()), csv_comparison(&cmp.join("compare.csv")), "the notebook's policy replay disagrees with groupwatch sweep --compare");

    let cr = &reports["cluster_review"];
    if has_clusters(&run) {
        let graph = cr.cell_with("graph: ");
        assert!(graph.images >= 1, "cluster_review drew no graph for the top cluster:\n{}", cr.text());
        assert!(!graph.text.starts_with("graph: 0 of"), "the top cluster's graph has no nodes:\n{}", graph.text);
        assert!(cr.images >= 4, "cluster_review drew {} figures:\n{}", cr.images, cr.text());
    } else {
        assert!(cr.text().contains("This run has no cluster tables"), "{}", cr.text());
    }

    // A run without cluster tables (as an older groupwatch writes): a message, not an error.
    let older = d.path().join("older").join(format!("run={}", as_of()));
    std::fs::create_dir_all(&older).unwrap();
    for e in std::fs::read_dir(&run).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with("cluster") {
            std::fs::copy(&p, older.join(&name)).unwrap();
        }
    }
    let r = execute(&["cluster_review"], &[("GROUPWATCH_RUN", &older)], &["GROUPWATCH_CLUSTER"], &d.path().join("executed-older"));
    assert!(r["cluster_review"].text().contains("This run has no cluster tables"), "{}", r["cluster_review"].text());

    // No previous run: the drift section says so instead of failing.
    let none = d.path().join("none");
    let r = execute(&["feature_exploration"], &[("GROUPWATCH_RUN", &run), ("PREVIOUS_RUN", Path::new("none"))], &[], &none);
    let text = r["feature_exploration"].text();
    assert!(text.contains("previous run: none") && text.contains("No previous run to compare with"), "{text}");
}

#[test]
fn notebooks_are_stored_without_outputs() {
    for name in NOTEBOOKS {
        let path = root().join("notebooks").join(format!("{name}.ipynb"));
        let nb: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let cells = nb["cells"].as_array().unwrap();
        assert!(cells.iter().any(|c| c["cell_type"] == "markdown"), "{name}: no markdown cell");
        let first_code = cells.iter().find(|c| c["cell_type"] == "code").unwrap();
        assert!(first_code["source"].to_string().contains("GROUPWATCH_RUN"), "{name}: the first code cell does not pick the run");
        for (i, c) in cells.iter().enumerate().filter(|(_, c)| c["cell_type"] == "code") {
            assert_eq!(c["outputs"], serde_json::json!([]), "{name}: cell {i} has stored outputs");
            assert!(c["execution_count"].is_null(), "{name}: cell {i} has an execution count");
        }
    }
}

#[test]
fn notebook_statistics_match_scikit_learn_and_scipy() {
    assert_eq!(common::python_oracle("notebook_stats.py", &[]).trim(), "ok");
}
