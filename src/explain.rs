//! `groupwatch explain`: the evidence behind one cluster, group or account of a finished run,
//! as plain text for a terminal.
//!
//! An investigator opening a case should not need a notebook: this reads only the run
//! folder's Parquet tables (`clusters`, `cluster_members`, `cluster_timeline`, the scores,
//! features and `hash_matches`), so it works on any finished run, on any machine, long after
//! the inputs are gone. Reasons are the scores' `top_features` phrased by the feature
//! catalog's reason texts ([`crate::features::CatalogEntry::reason_text`]).
//!
//! - a **cluster**: rank, risk, counts, the one-line summary, the top reasons across its groups
//!   (each feature with the largest contribution it makes to one of the groups' scores),
//!   hash matches, child-safety reports, the timeline as a per-day table, the key accounts by
//!   centrality with their roles, and its groups;
//! - a **group or account**: score, whether the policy flagged it and why, its reasons with
//!   values, its *notable* features (values at or above the 95th percentile of that feature in
//!   the run and above its median: unusual for this run, whatever the model thought), hash
//!   matches, and its cluster with role and centrality.
//!
//! An id the run does not know is bad input (exit 2) with a message naming the table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::features::catalog_entry;

/// What to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Cluster(u64),
    Group(u64),
    Account(u64),
}

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error("run folder {} does not exist or is not a folder", .0.display())]
    NoRun(PathBuf),
    #[error("{} is missing: not a run folder written by `groupwatch run` (or by a version without networks)", .0.display())]
    Missing(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },
    #[error("{kind} {id} is not in this run ({table} of {})", run.display())]
    Unknown { kind: &'static str, id: u64, table: &'static str, run: PathBuf },
}

impl crate::ExitCode for ExplainError {
    fn is_bad_input(&self) -> bool {
        true
    }
}

struct Run {
    dir: PathBuf,
}

impl Run {
    fn table(&self, name: &str) -> Result<DataFrame, ExplainError> {
        let path = self.dir.join(format!("{name}.parquet"));
        if !path.is_file() {
            return Err(ExplainError::Missing(path));
        }
        crate::io::read_parquet(&path, None).map_err(|source| ExplainError::Read { path, source })
    }

    fn err(&self, name: &str) -> impl Fn(PolarsError) -> ExplainError + '_ {
        let path = self.dir.join(format!("{name}.parquet"));
        move |source| ExplainError::Read { path: path.clone(), source }
    }
}

/// Rows of `df` whose u64 column `col` equals `id`.
fn rows_with(df: &DataFrame, col: &str, id: u64) -> PolarsResult<Vec<usize>> {
    Ok(df.column(col)?.u64()?.iter().enumerate().filter(|(_, v)| *v == Some(id)).map(|(i, _)| i).collect())
}

fn f64_at(df: &DataFrame, col: &str, row: usize) -> PolarsResult<Option<f64>> {
    Ok(df.column(col)?.cast(&DataType::Float64)?.f64()?.get(row))
}

fn u64_at(df: &DataFrame, col: &str, row: usize) -> PolarsResult<Option<u64>> {
    Ok(df.column(col)?.u64()?.get(row))
}

fn str_at(df: &DataFrame, col: &str, row: usize) -> PolarsResult<Option<String>> {
    Ok(df.column(col)?.str()?.get(row).map(str::to_string))
}

fn day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(|| ms.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

fn time_at(df: &DataFrame, col: &str, row: usize) -> PolarsResult<Option<i64>> {
    Ok(df.column(col)?.cast(&DataType::Int64)?.i64()?.get(row))
}

/// One row's `top_features`: (feature, value, contribution).
fn top_features(df: &DataFrame, row: usize) -> PolarsResult<Vec<(String, Option<f64>, f64)>> {
    let Some(s) = df.column("top_features")?.list()?.get_as_series(row) else { return Ok(Vec::new()) };
    let st = s.struct_()?;
    let f = st.field_by_name("feature")?;
    let v = st.field_by_name("value")?;
    let c = st.field_by_name("contribution")?;
    let (f, v, c) = (f.str()?, v.f64()?, c.f64()?);
    Ok((0..s.len()).filter_map(|i| Some((f.get(i)?.to_string(), v.get(i), c.get(i).unwrap_or(0.0)))).collect())
}

fn reasons_list(df: &DataFrame, row: usize) -> PolarsResult<Vec<String>> {
    let Some(s) = df.column("reasons")?.list()?.get_as_series(row) else { return Ok(Vec::new()) };
    Ok(s.str()?.iter().flatten().map(str::to_string).collect())
}

fn phrase(entity: &str, feature: &str, value: Option<f64>) -> String {
    catalog_entry(entity, feature).map_or_else(|| format!("{feature} = {value:?}"), |e| e.reason_text(value))
}

/// The evidence for `target` in the run folder `run_dir`, as text.
pub fn explain(run_dir: &Path, target: Target) -> Result<String, ExplainError> {
    if !run_dir.is_dir() {
        return Err(ExplainError::NoRun(run_dir.to_path_buf()));
    }
    let run = Run { dir: run_dir.to_path_buf() };
    match target {
        Target::Cluster(id) => cluster(&run, id),
        Target::Group(id) => entity(&run, "group", id),
        Target::Account(id) => entity(&run, "account", id),
    }
}

fn cluster(run: &Run, id: u64) -> Result<String, ExplainError> {
    let clusters = run.table("clusters")?;
    let e = run.err("clusters");
    let Some(&row) = rows_with(&clusters, "cluster_id", id).map_err(&e)?.first() else {
        return Err(ExplainError::Unknown { kind: "cluster", id, table: "clusters.parquet", run: run.dir.clone() });
    };
    let mut out = String::new();
    let n = clusters.height();
    let g = |c: &str| u64_at(&clusters, c, row).map_err(&e).map(|v| v.unwrap_or(0));
    let risk = f64_at(&clusters, "risk_score", row).map_err(&e)?.unwrap_or(0.0);
    let _ = writeln!(out, "cluster {id}: rank {} of {n}, risk {risk:.2}", g("rank")?);
    let _ = writeln!(out, "  {} groups, {} accounts, {} hash-bank matches, {} child-safety reports", g("n_groups")?, g("n_accounts")?, g("hash_matches")?, g("child_safety_reports")?);
    let first = time_at(&clusters, "first_activity", row).map_err(&e)?;
    let last = time_at(&clusters, "last_activity", row).map_err(&e)?;
    if let (Some(f), Some(l)) = (first, last) {
        let _ = writeln!(out, "  activity in the window: {} .. {}", day(f), day(l));
    }
    let _ = writeln!(out, "  {}", str_at(&clusters, "summary", row).map_err(&e)?.unwrap_or_default());

    // Members.
    let members = run.table("cluster_members")?;
    let em = run.err("cluster_members");
    let mrows = rows_with(&members, "cluster_id", id).map_err(&em)?;
    let mut groups: Vec<(u64, f64, f64)> = Vec::new();
    let mut accounts: Vec<(u64, String, f64, f64)> = Vec::new();
    for &r in &mrows {
        let kind = str_at(&members, "entity_kind", r).map_err(&em)?.unwrap_or_default();
        let eid = u64_at(&members, "entity_id", r).map_err(&em)?.unwrap_or(0);
        let score = f64_at(&members, "score", r).map_err(&em)?.unwrap_or(0.0);
        let cent = f64_at(&members, "centrality", r).map_err(&em)?.unwrap_or(0.0);
        if kind == "group" {
            groups.push((eid, score, cent));
        } else {
            accounts.push((eid, str_at(&members, "role", r).map_err(&em)?.unwrap_or_default(), score, cent));
        }
    }

    // Top reasons across the groups: each feature's largest contribution to one group.
    let gscores = run.table("group_scores")?;
    let eg = run.err("group_scores");
    let mut best: Vec<(String, Option<f64>, f64, u64)> = Vec::new();
    for &(gid, _, _) in &groups {
        for r in rows_with(&gscores, "group_id", gid).map_err(&eg)? {
            for (f, v, c) in top_features(&gscores, r).map_err(&eg)? {
                match best.iter_mut().find(|b| b.0 == f) {
                    Some(b) if b.2 >= c => {}
                    Some(b) => *b = (f, v, c, gid),
                    None => best.push((f, v, c, gid)),
                }
            }
        }
    }
    best.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let _ = writeln!(out, "\ntop reasons (largest contribution to one of its groups' scores):");
    for (f, v, c, gid) in best.iter().filter(|b| b.2 > 0.0).take(6) {
        let _ = writeln!(out, "  - {} (group {gid}, {c:+.2})", phrase("group", f, *v));
    }

    // Hash matches.
    let hm = run.table("hash_matches")?;
    let eh = run.err("hash_matches");
    let mut lines = Vec::new();
    for r in 0..hm.height() {
        let kind = str_at(&hm, "entity_kind", r).map_err(&eh)?.unwrap_or_default();
        let eid = u64_at(&hm, "entity_id", r).map_err(&eh)?.unwrap_or(0);
        let member = if kind == "group" { groups.iter().any(|g| g.0 == eid) } else { accounts.iter().any(|a| a.0 == eid) };
        if member {
            let bank = str_at(&hm, "bank", r).map_err(&eh)?.unwrap_or_default();
            let d = u64_at(&hm, "distance", r).map_err(&eh)?.unwrap_or(0);
            lines.push(format!("  - {kind} {eid}: photo within Hamming distance {d} of a {bank} entry"));
        }
    }
    let _ = writeln!(out, "\nhash-bank matches: {}", lines.len());
    lines.iter().take(10).for_each(|l| {
        let _ = writeln!(out, "{l}");
    });
    if lines.len() > 10 {
        let _ = writeln!(out, "  … and {} more", lines.len() - 10);
    }

    // Timeline.
    let tl = run.table("cluster_timeline")?;
    let et = run.err("cluster_timeline");
    let mut by_day: std::collections::BTreeMap<i64, [u64; 7]> = Default::default();
    for r in rows_with(&tl, "cluster_id", id).map_err(&et)? {
        let d = time_at(&tl, "day", r).map_err(&et)?.unwrap_or(0);
        let ev = str_at(&tl, "event", r).map_err(&et)?.unwrap_or_default();
        let k = u64_at(&tl, "count", r).map_err(&et)?.unwrap_or(0);
        if let Some(i) = crate::clusters::EVENTS.iter().position(|x| *x == ev) {
            by_day.entry(d).or_default()[i] += k;
        }
    }
    let _ = writeln!(out, "\ntimeline (UTC days with events):");
    let _ = writeln!(out, "  {:<10} {:>7} {:>7} {:>7} {:>6} {:>6} {:>8} {:>10}", "day", "groups+", "links+", "links-", "joins", "leaves", "forwards", "cs-reports");
    for (d, c) in &by_day {
        let _ = writeln!(out, "  {:<10} {:>7} {:>7} {:>7} {:>6} {:>6} {:>8} {:>10}", day(*d), c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
    }
    let joins: Vec<u64> = by_day.values().map(|c| c[3]).collect();
    if let Some(line) = sparkline(&joins) {
        let _ = writeln!(out, "  joins per day: {line}");
    }

    accounts.sort_by(|a, b| b.3.total_cmp(&a.3).then(a.0.cmp(&b.0)));
    let _ = writeln!(out, "\nkey accounts by centrality (of {}):", accounts.len());
    for (i, (aid, role, score, cent)) in accounts.iter().take(10).enumerate() {
        let _ = writeln!(out, "  {:>2}. account {aid:<20} {role:<13} centrality {cent:.2}  score {score:.2}", i + 1);
    }
    groups.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let _ = writeln!(out, "\ngroups (of {}):", groups.len());
    for (gid, score, cent) in groups.iter().take(20) {
        let _ = writeln!(out, "  group {gid:<20} centrality {cent:.2}  score {score:.2}");
    }
    if groups.len() > 20 {
        let _ = writeln!(out, "  … and {} more", groups.len() - 20);
    }
    Ok(out)
}

/// Eight-level bars, one per value; `None` when there is nothing to draw.
fn sparkline(v: &[u64]) -> Option<String> {
    let max = *v.iter().max()?;
    if max == 0 {
        return None;
    }
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    Some(v.iter().map(|&x| BARS[((x * 7 + max - 1) / max).min(7) as usize]).collect())
}

fn entity(run: &Run, kind: &'static str, id: u64) -> Result<String, ExplainError> {
    let name = if kind == "group" { "group_scores" } else { "account_scores" };
    let key = if kind == "group" { "group_id" } else { "account_id" };
    let scores = run.table(name)?;
    let e = run.err(name);
    let Some(&row) = rows_with(&scores, key, id).map_err(&e)?.first() else {
        let table = if kind == "group" { "group_scores.parquet" } else { "account_scores.parquet" };
        return Err(ExplainError::Unknown { kind, id, table, run: run.dir.clone() });
    };
    let mut out = String::new();
    let score = f64_at(&scores, "score", row).map_err(&e)?.unwrap_or(0.0);
    let flagged = scores.column("flagged").and_then(|c| c.bool().map(|b| b.get(row))).map_err(&e)?.unwrap_or(false);
    let _ = writeln!(out, "{kind} {id}: score {score:.3}, {}", if flagged { "flagged for review" } else { "not flagged" });
    let _ = writeln!(out, "  model {}", str_at(&scores, "model_version", row).map_err(&e)?.unwrap_or_default());
    let codes: Vec<String> = reasons_list(&scores, row).map_err(&e)?.into_iter().filter(|c| !c.starts_with("feature:")).collect();
    if !codes.is_empty() {
        let _ = writeln!(out, "  policy: {}", codes.join(", "));
    }
    let _ = writeln!(out, "\nreasons (signed contribution to the score):");
    for (f, v, c) in top_features(&scores, row).map_err(&e)? {
        let _ = writeln!(out, "  - {} ({c:+.2})", phrase(kind, &f, v));
    }

    // Notable features: at or above the run's 95th percentile and above its median.
    let feats_name = if kind == "group" { "group_features" } else { "account_features" };
    let feats = run.table(feats_name)?;
    let ef = run.err(feats_name);
    if let Some(&frow) = rows_with(&feats, key, id).map_err(&ef)?.first() {
        let mut notable = Vec::new();
        for c in feats.columns().iter().filter(|c| c.name().as_str() != key) {
            let vals = c.cast(&DataType::Float64).map_err(&ef)?;
            let vals = vals.f64().map_err(&ef)?;
            let Some(v) = vals.get(frow) else { continue };
            let mut all: Vec<f64> = vals.iter().flatten().collect();
            if all.len() < 20 {
                continue;
            }
            all.sort_unstable_by(f64::total_cmp);
            let median = all[all.len() / 2];
            let below = all.partition_point(|&x| x < v);
            let pct = below as f64 / all.len() as f64;
            if pct >= 0.95 && v > median {
                notable.push((pct, c.name().to_string(), v));
            }
        }
        notable.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let _ = writeln!(out, "\nnotable features (at or above the run's 95th percentile):");
        if notable.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for (pct, f, v) in notable.iter().take(12) {
            // Floored, so the largest value never reads as "above 100 %".
            let _ = writeln!(out, "  - {} (higher than {:.1} % of {kind}s)", phrase(kind, f, Some(*v)), (pct * 1000.0).floor() / 10.0);
        }
    }

    let hm = run.table("hash_matches")?;
    let eh = run.err("hash_matches");
    for r in rows_with(&hm, "entity_id", id).map_err(&eh)? {
        if str_at(&hm, "entity_kind", r).map_err(&eh)?.as_deref() == Some(kind) {
            let bank = str_at(&hm, "bank", r).map_err(&eh)?.unwrap_or_default();
            let d = u64_at(&hm, "distance", r).map_err(&eh)?.unwrap_or(0);
            let _ = writeln!(out, "\nhash-bank match: photo within Hamming distance {d} of a {bank} entry");
        }
    }

    match u64_at(&scores, "cluster_id", row).map_err(&e)? {
        None => {
            let _ = writeln!(out, "\nnot in a suspected network");
        }
        Some(cid) => {
            let members = run.table("cluster_members")?;
            let em = run.err("cluster_members");
            let mut role = String::new();
            let mut cent = 0.0;
            for r in rows_with(&members, "entity_id", id).map_err(&em)? {
                if str_at(&members, "entity_kind", r).map_err(&em)?.as_deref() == Some(kind) {
                    role = str_at(&members, "role", r).map_err(&em)?.unwrap_or_default();
                    cent = f64_at(&members, "centrality", r).map_err(&em)?.unwrap_or(0.0);
                }
            }
            let clusters = run.table("clusters")?;
            let ec = run.err("clusters");
            let crow = rows_with(&clusters, "cluster_id", cid).map_err(&ec)?;
            let (rank, risk) = match crow.first() {
                Some(&r) => (u64_at(&clusters, "rank", r).map_err(&ec)?.unwrap_or(0), f64_at(&clusters, "risk_score", r).map_err(&ec)?.unwrap_or(0.0)),
                None => (0, 0.0),
            };
            let _ = writeln!(out, "\nin cluster {cid} (rank {rank}, risk {risk:.2}) as {role}, centrality {cent:.2}");
            let _ = writeln!(out, "  groupwatch explain --run {} --cluster {cid}", run.dir.display());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::sparkline;

    #[test]
    fn sparkline_scales_to_the_maximum() {
        assert_eq!(sparkline(&[0, 1, 2, 4]).unwrap(), "▁▃▅█");
        assert_eq!(sparkline(&[0, 0]), None);
        assert_eq!(sparkline(&[]), None);
    }
}
