//! The model metrics and calibrators against scikit-learn / scipy (tests/oracle/metrics_oracle.py).
//!
//! The test writes fixed seeded inputs (many ties, all tied, 1 % positives in 5000 rows, a
//! perfect and a reversed ranking, raw logits, near-duplicate x) to a temp dir, the script
//! computes the reference values with scikit-learn 1.9 / scipy, and the comparisons happen
//! here, so a failure names the case, the quantity and both numbers.

use crate::common;

use std::path::Path;

use common::python_oracle;
use groupwatch::model::calibration::{Isotonic, Platt};
use groupwatch::model::metrics::{
    average_precision, brier_score, mean_and_interval, precision_at_k, recall_at_k, recall_at_precision,
    roc_auc,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Map, Value};

struct Checks {
    failures: Vec<String>,
    count: usize,
}

impl Checks {
    fn close(&mut self, what: String, rust: f64, oracle: f64, tol: f64) {
        self.count += 1;
        let ok = (rust - oracle).abs() <= tol; // false for NaN
        if !ok {
            self.failures.push(format!(
                "{what}: rust {rust:e} vs oracle {oracle:e} (|diff| {:e} > {tol:e})",
                (rust - oracle).abs()
            ));
        }
    }

    fn opt(&mut self, what: String, rust: Option<f64>, oracle: &Value, tol: f64) {
        match (rust, oracle.as_f64()) {
            (Some(r), Some(o)) => self.close(what, r, o, tol),
            (None, None) => self.count += 1,
            (r, _) => self.failures.push(format!("{what}: rust {r:?} vs oracle {oracle}")),
        }
    }

    fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} of {} checks failed:\n{}",
            self.failures.len(),
            self.count,
            self.failures.join("\n")
        );
        assert!(self.count > 0, "no checks ran");
        eprintln!("{} checks passed", self.count);
    }
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Ranking cases: (name, scores, labels).
fn ranking_cases() -> Vec<(&'static str, Vec<f64>, Vec<bool>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(20261124);
    let mut cases = Vec::new();

    // 25 distinct probabilities over 2000 rows: every threshold is a large tie block.
    let s: Vec<f64> = (0..2000).map(|_| rng.gen_range(0..25) as f64 / 25.0).collect();
    let l: Vec<bool> = s.iter().map(|&p| rng.gen_bool(0.05 + 0.5 * p)).collect();
    cases.push(("ties", s, l));

    let s = vec![0.42; 300];
    let l: Vec<bool> = (0..300).map(|i| i % 10 == 3).collect();
    cases.push(("all_tied", s, l));

    // 5000 rows, exactly 50 positives (1 %), shifted logits squashed to probabilities and
    // rounded to 1e-3 so the overlap region has ties.
    let mut l = vec![false; 5000];
    for i in 0..50 {
        l[i * 97 + 13] = true;
    }
    let s: Vec<f64> = l
        .iter()
        .map(|&y| {
            let z: f64 = rng.sample(rand_distr::StandardNormal);
            (sigmoid(z + if y { 1.5 } else { -1.0 }) * 1000.0).round() / 1000.0
        })
        .collect();
    cases.push(("imbalanced_1pct", s, l));

    let l: Vec<bool> = (0..200).map(|i| i % 7 == 0).collect();
    let s: Vec<f64> =
        l.iter().map(|&y| if y { rng.gen_range(0.6..1.0) } else { rng.gen_range(0.0..0.6) }).collect();
    cases.push(("perfect", s.clone(), l.clone()));
    let s: Vec<f64> = s.iter().map(|v| 1.0 - v).collect();
    cases.push(("reversed", s, l));

    // Raw logits, negative and positive, continuous (not probabilities).
    let l: Vec<bool> = (0..1000).map(|_| rng.gen_bool(0.1)).collect();
    let s: Vec<f64> = l
        .iter()
        .map(|&y| rng.sample::<f64, _>(rand_distr::StandardNormal) * 2.0 + if y { 1.0 } else { -1.0 })
        .collect();
    cases.push(("logits", s, l));

    // scikit-learn's docstring example.
    cases.push(("sklearn_doc", vec![0.1, 0.4, 0.35, 0.8], vec![false, false, true, true]));
    cases
}

const MIN_PRECISIONS: [f64; 9] = [0.0, 0.05, 0.1, 0.2, 0.25, 0.5, 0.75, 0.9, 1.0];

fn ks(n: usize) -> Vec<usize> {
    let mut ks = vec![1, 2, 5, 10, 37, 50, 100, 333, n / 2, n.saturating_sub(1), n, n + 10];
    ks.retain(|&k| k <= n + 10);
    ks.sort_unstable();
    ks.dedup();
    ks
}

/// (name, x, y, new x to predict at)
type IsotonicCase = (&'static str, Vec<f64>, Vec<f64>, Vec<f64>);

fn isotonic_cases() -> Vec<IsotonicCase> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut out = Vec::new();
    let grid: Vec<f64> = (-12..=112).map(|i| i as f64 / 100.0).collect();
    for (name, s, l) in ranking_cases() {
        let y: Vec<f64> = l.iter().map(|&b| f64::from(u8::from(b))).collect();
        let mut new = grid.clone();
        if name == "logits" {
            new = (-80..=80).map(|i| i as f64 / 10.0).collect();
        }
        new.extend(s.iter().take(20).map(|v| v + 1e-4));
        out.push((name, s, y, new));
    }
    // Continuous targets on integer x with duplicates.
    let x: Vec<f64> = (0..600).map(|_| rng.gen_range(0..60) as f64).collect();
    let y: Vec<f64> = x.iter().map(|&v| (v / 20.0).sin() + v / 30.0 + rng.gen_range(-1.0..1.0)).collect();
    let new: Vec<f64> = (-50..=700).map(|i| i as f64 / 10.0).collect();
    out.push(("continuous_y", x, y, new));
    // x values closer than 1e-15: scikit-learn merges them into the first of the run.
    let x = vec![0.0, 1e-17, 5e-16, 2e-15, 3e-15, 0.3, 0.3, 0.5, 0.5 + 1e-16, 0.7, 1.0];
    let y = vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0];
    let new = vec![-1.0, 0.0, 1e-15, 2.5e-15, 0.1, 0.3, 0.4, 0.5, 0.6, 0.99, 2.0];
    out.push(("near_duplicate_x", x, y, new));
    out
}

fn platt_cases() -> Vec<(&'static str, Vec<f64>, Vec<bool>)> {
    ranking_cases().into_iter().filter(|(name, _, _)| *name != "all_tied" && *name != "sklearn_doc").collect()
}

fn interval_cases() -> Vec<(String, Vec<f64>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    [2usize, 3, 5, 10, 30, 31, 32, 50]
        .iter()
        .map(|&n| (format!("interval_n{n}"), (0..n).map(|_| rng.gen_range(0.2..0.6)).collect()))
        .collect()
}

fn write_cases(dir: &Path) {
    let mut cases = Map::new();
    for (name, s, l) in ranking_cases() {
        cases.insert(
            format!("rank_{name}"),
            json!({"kind": "ranking", "scores": s, "labels": l, "ks": ks(s.len()),
                   "min_precisions": MIN_PRECISIONS}),
        );
    }
    for (name, x, y, new) in isotonic_cases() {
        cases.insert(format!("iso_{name}"), json!({"kind": "isotonic", "x": x, "y": y, "x_new": new}));
    }
    for (name, s, l) in platt_cases() {
        cases.insert(format!("platt_{name}"), json!({"kind": "platt", "scores": s, "labels": l}));
    }
    for (name, v) in interval_cases() {
        cases.insert(name, json!({"kind": "interval", "values": v}));
    }
    std::fs::write(dir.join("cases.json"), serde_json::to_vec(&Value::Object(cases)).unwrap()).unwrap();
}

#[test]
fn metrics_and_calibration_match_sklearn() {
    let dir = tempfile::tempdir().unwrap();
    write_cases(dir.path());
    let log = python_oracle("metrics_oracle.py", &[dir.path().to_str().unwrap()]);
    eprint!("{log}");
    let oracle: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("oracle.json")).unwrap()).unwrap();
    let mut c = Checks { failures: Vec::new(), count: 0 };

    for (name, s, l) in ranking_cases() {
        let o = &oracle[format!("rank_{name}")];
        c.opt(format!("{name} average_precision"), average_precision(&s, &l), &o["average_precision"], 1e-9);
        c.opt(format!("{name} roc_auc"), roc_auc(&s, &l), &o["roc_auc"], 1e-9);
        let points = o["pr_points"].as_array().unwrap();
        assert!(!points.is_empty(), "{name}: no precision_recall_curve points");
        for pt in points {
            let k = pt[0].as_u64().unwrap() as usize;
            c.opt(
                format!("{name} precision_at_k({k}) vs PR curve"),
                precision_at_k(&s, &l, k),
                &pt[1],
                1e-12,
            );
            c.opt(format!("{name} recall_at_k({k}) vs PR curve"), recall_at_k(&s, &l, k), &pt[2], 1e-12);
        }
        for row in o["at_k"].as_array().unwrap() {
            let k = row[0].as_u64().unwrap() as usize;
            c.opt(format!("{name} precision_at_k({k})"), precision_at_k(&s, &l, k), &row[1], 1e-12);
            c.opt(format!("{name} recall_at_k({k})"), recall_at_k(&s, &l, k), &row[2], 1e-12);
        }
        for row in o["recall_at_precision"].as_array().unwrap() {
            let p = row[0].as_f64().unwrap();
            c.close(
                format!("{name} recall_at_precision({p})"),
                recall_at_precision(&s, &l, p),
                row[1].as_f64().unwrap(),
                1e-12,
            );
        }
        if let Some(b) = o.get("brier") {
            c.opt(format!("{name} brier"), brier_score(&s, &l), b, 1e-12);
        }
    }

    for (name, x, y, new) in isotonic_cases() {
        let o = &oracle[format!("iso_{name}")];
        let m = Isotonic::fit_values(&x, &y);
        let (ot, ov) = (f64s(&o["thresholds"]), f64s(&o["values"]));
        if ot.len() != m.thresholds.len() {
            c.failures.push(format!(
                "isotonic {name}: {} thresholds vs sklearn's {}:\n rust {:?}\n sklearn {:?}",
                m.thresholds.len(),
                ot.len(),
                m.thresholds,
                ot
            ));
        } else {
            for i in 0..ot.len() {
                // Thresholds are input x values, so equal; 1e-12 only absorbs serde_json's
                // float parsing, which can be one ulp off.
                c.close(format!("isotonic {name} threshold[{i}]"), m.thresholds[i], ot[i], 1e-12);
                c.close(format!("isotonic {name} value[{i}]"), m.values[i], ov[i], 1e-9);
            }
        }
        for (xs, key) in [(&x, "predict_fit"), (&new, "predict_new")] {
            for (i, (&xi, oi)) in xs.iter().zip(f64s(&o[key])).enumerate() {
                c.close(format!("isotonic {name} {key}[{i}] at x={xi}"), m.predict(xi), oi, 1e-9);
            }
        }
        // Bool-label entry point gives the same model on 0/1 targets.
        if y.iter().all(|&v| v == 0.0 || v == 1.0) {
            let l: Vec<bool> = y.iter().map(|&v| v == 1.0).collect();
            assert_eq!(Isotonic::fit(&x, &l), m, "{name}: fit vs fit_values");
        }
    }

    for (name, s, l) in platt_cases() {
        let o = &oracle[format!("platt_{name}")];
        let p = Platt::fit(&s, &l);
        let (oa, ob) = (o["a"].as_f64().unwrap(), o["b"].as_f64().unwrap());
        eprintln!(
            "platt {name}: rust a={} b={}, scipy a={oa} b={ob} ({}, grad {})",
            p.a, p.b, o["message"], o["grad"]
        );
        c.close(format!("platt {name} a"), p.a, oa, 1e-5 * oa.abs().max(1.0));
        c.close(format!("platt {name} b"), p.b, ob, 1e-5 * ob.abs().max(1.0));
    }

    for (name, v) in interval_cases() {
        let o = &oracle[name.as_str()];
        let (m, lo, hi) = mean_and_interval(&v);
        c.close(format!("{name} mean"), m, o["mean"].as_f64().unwrap(), 1e-12);
        c.close(format!("{name} lo"), lo, o["lo"].as_f64().unwrap(), 1e-12);
        c.close(format!("{name} hi"), hi, o["hi"].as_f64().unwrap(), 1e-12);
    }
    c.finish();
}

/// The comparison itself can fail: a ranking with one label flipped gives a different AP.
#[test]
fn oracle_comparison_detects_a_wrong_value() {
    let dir = tempfile::tempdir().unwrap();
    let s = vec![0.9, 0.8, 0.7, 0.6];
    let l = vec![true, false, true, false];
    let cases = json!({"rank_x": {"kind": "ranking", "scores": s, "labels": [false, true, true, false],
                                  "ks": [1], "min_precisions": [0.5]}});
    std::fs::write(dir.path().join("cases.json"), serde_json::to_vec(&cases).unwrap()).unwrap();
    python_oracle("metrics_oracle.py", &[dir.path().to_str().unwrap()]);
    let oracle: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("oracle.json")).unwrap()).unwrap();
    let mut c = Checks { failures: Vec::new(), count: 0 };
    c.opt("ap".into(), average_precision(&s, &l), &oracle["rank_x"]["average_precision"], 1e-9);
    assert_eq!(c.failures.len(), 1, "a different labelling must not match");
}
