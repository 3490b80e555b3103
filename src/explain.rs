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
use crate::run_folder::{Contributions, RunFolder, RunFolderError, RunTable};
use crate::schema::EntityKind;

/// What to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Cluster(u64),
    Group(u64),
    Account(u64),
}

#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error(transparent)]
    RunFolder(#[from] RunFolderError),
    /// `what` is "cluster", "group" or "account".
    #[error("{what} {id} is not in this run ({table} of {})", run.display())]
    Unknown { what: &'static str, id: u64, table: String, run: PathBuf },
}

impl crate::ExitCode for ExplainError {
    fn is_bad_input(&self) -> bool {
        true
    }
}

fn day(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(|| ms.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

fn phrase(entity: EntityKind, feature: &str, value: Option<f64>) -> String {
    catalog_entry(entity, feature).map_or_else(|| format!("{feature} = {value:?}"), |e| e.reason_text(value))
}

/// The evidence for `target` in the run folder `run_dir`, as text.
pub fn explain(run_dir: &Path, target: Target) -> Result<String, ExplainError> {
    let run = RunFolder::open(run_dir)?;
    match target {
        Target::Cluster(id) => cluster(&run, id),
        Target::Group(id) => entity(&run, EntityKind::Group, id),
        Target::Account(id) => entity(&run, EntityKind::Account, id),
    }
}

fn unknown(run: &RunFolder, what: &'static str, id: u64, table: RunTable) -> ExplainError {
    ExplainError::Unknown { what, id, table: table.file_name(), run: run.dir().to_path_buf() }
}

fn cluster(run: &RunFolder, id: u64) -> Result<String, ExplainError> {
    let columns = ["rank", "risk_score", "n_groups", "n_accounts", "hash_matches", "child_safety_reports", "first_activity", "last_activity", "summary"];
    let c = run.read(RunTable::Clusters, &columns, Some(("cluster_id", &[id])))?;
    if c.height() == 0 {
        return Err(unknown(run, "cluster", id, RunTable::Clusters));
    }
    let mut out = String::new();
    let n = run.rows(RunTable::Clusters)?;
    let g = |name: &str| c.opt_u64s(name).map(|v| v[0].unwrap_or(0));
    let risk = c.f64s("risk_score")?[0].unwrap_or(0.0);
    let _ = writeln!(out, "cluster {id}: rank {} of {n}, risk {risk:.2}", g("rank")?);
    let _ = writeln!(out, "  {} groups, {} accounts, {} hash-bank matches, {} child-safety reports", g("n_groups")?, g("n_accounts")?, g("hash_matches")?, g("child_safety_reports")?);
    if let (Some(f), Some(l)) = (c.times_ms("first_activity")?[0], c.times_ms("last_activity")?[0]) {
        let _ = writeln!(out, "  activity in the window: {} .. {}", day(f), day(l));
    }
    let _ = writeln!(out, "  {}", c.opt_strs("summary")?[0].clone().unwrap_or_default());

    // Members.
    let m = run.read(RunTable::ClusterMembers, &["entity_kind", "entity_id", "score", "centrality", "role"], Some(("cluster_id", &[id])))?;
    let (kinds, ids, scores, cents, roles) = (m.kinds("entity_kind")?, m.opt_u64s("entity_id")?, m.f64s("score")?, m.f64s("centrality")?, m.opt_strs("role")?);
    let mut groups: Vec<(u64, f64, f64)> = Vec::new();
    let mut accounts: Vec<(u64, String, f64, f64)> = Vec::new();
    for r in 0..m.height() {
        let (eid, score, cent) = (ids[r].unwrap_or(0), scores[r].unwrap_or(0.0), cents[r].unwrap_or(0.0));
        if kinds[r] == EntityKind::Group {
            groups.push((eid, score, cent));
        } else {
            accounts.push((eid, roles[r].clone().unwrap_or_default(), score, cent));
        }
    }

    // Top reasons across the groups: each feature's largest contribution to one group.
    let mut gids: Vec<u64> = groups.iter().map(|g| g.0).collect();
    gids.sort_unstable();
    let gs = run.read(RunTable::Scores(EntityKind::Group), &["group_id", "top_features"], Some(("group_id", &gids)))?;
    let mut top_of: std::collections::HashMap<u64, Vec<Contributions>> = Default::default();
    for (gid, top) in gs.opt_u64s("group_id")?.into_iter().zip(gs.contributions("top_features")?) {
        top_of.entry(gid.unwrap_or(0)).or_default().push(top);
    }
    let mut best: Vec<(String, Option<f64>, f64, u64)> = Vec::new();
    for &(gid, _, _) in &groups {
        for (f, v, c) in top_of.get(&gid).into_iter().flatten().flatten().cloned() {
            match best.iter_mut().find(|b| b.0 == f) {
                Some(b) if b.2 >= c => {}
                Some(b) => *b = (f, v, c, gid),
                None => best.push((f, v, c, gid)),
            }
        }
    }
    best.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let _ = writeln!(out, "\ntop reasons (largest contribution to one of its groups' scores):");
    for (f, v, c, gid) in best.iter().filter(|b| b.2 > 0.0).take(6) {
        let _ = writeln!(out, "  - {} (group {gid}, {c:+.2})", phrase(EntityKind::Group, f, *v));
    }

    // Hash matches of the members.
    let mut member_ids: Vec<u64> = groups.iter().map(|g| g.0).chain(accounts.iter().map(|a| a.0)).collect();
    member_ids.sort_unstable();
    member_ids.dedup();
    let hm = run.read(RunTable::HashMatches, &["entity_kind", "entity_id", "bank", "distance"], Some(("entity_id", &member_ids)))?;
    let (kinds, ids, banks, dists) = (hm.kinds("entity_kind")?, hm.opt_u64s("entity_id")?, hm.opt_strs("bank")?, hm.opt_u64s("distance")?);
    let mut lines = Vec::new();
    for r in 0..hm.height() {
        let (kind, eid) = (kinds[r], ids[r].unwrap_or(0));
        let member = match kind {
            EntityKind::Group => groups.iter().any(|g| g.0 == eid),
            EntityKind::Account => accounts.iter().any(|a| a.0 == eid),
        };
        if member {
            let (bank, d) = (banks[r].clone().unwrap_or_default(), dists[r].unwrap_or(0));
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
    let tl = run.read(RunTable::ClusterTimeline, &["day", "event", "count"], Some(("cluster_id", &[id])))?;
    let (days, events, counts) = (tl.times_ms("day")?, tl.opt_strs("event")?, tl.opt_u64s("count")?);
    let mut by_day: std::collections::BTreeMap<i64, [u64; 7]> = Default::default();
    for r in 0..tl.height() {
        let ev = events[r].clone().unwrap_or_default();
        if let Some(i) = crate::clusters::EVENTS.iter().position(|x| *x == ev) {
            by_day.entry(days[r].unwrap_or(0)).or_default()[i] += counts[r].unwrap_or(0);
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

fn entity(run: &RunFolder, kind: EntityKind, id: u64) -> Result<String, ExplainError> {
    let (scores_table, features_table, key) = (RunTable::Scores(kind), RunTable::Features(kind), kind.id_column());
    let s = run.read(scores_table, &[key, "score", "flagged", "model_version", "reasons", "top_features", "cluster_id"], Some((key, &[id])))?;
    if s.height() == 0 {
        return Err(unknown(run, kind.as_str(), id, scores_table));
    }
    let mut out = String::new();
    let score = s.f64s("score")?[0].unwrap_or(0.0);
    let flagged = s.opt_bools("flagged")?[0].unwrap_or(false);
    let _ = writeln!(out, "{kind} {id}: score {score:.3}, {}", if flagged { "flagged for review" } else { "not flagged" });
    let _ = writeln!(out, "  model {}", s.opt_strs("model_version")?[0].clone().unwrap_or_default());
    let codes: Vec<String> = s.str_lists("reasons")?.swap_remove(0).into_iter().filter(|c| !c.starts_with("feature:")).collect();
    if !codes.is_empty() {
        let _ = writeln!(out, "  policy: {}", codes.join(", "));
    }
    let _ = writeln!(out, "\nreasons (signed contribution to the score):");
    for (f, v, c) in s.contributions("top_features")?.swap_remove(0) {
        let _ = writeln!(out, "  - {} ({c:+.2})", phrase(kind, &f, v));
    }

    // Notable features: at or above the run's 95th percentile and above its median.
    if let Some(notable) = notable_features(run, features_table, key, id)? {
        let _ = writeln!(out, "\nnotable features (at or above the run's 95th percentile):");
        if notable.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for (pct, f, v) in notable.iter().take(12) {
            // Floored, so the largest value never reads as "above 100 %".
            let _ = writeln!(out, "  - {} (higher than {:.1} % of {kind}s)", phrase(kind, f, Some(*v)), (pct * 1000.0).floor() / 10.0);
        }
    }

    let hm = run.read(RunTable::HashMatches, &["entity_kind", "bank", "distance"], Some(("entity_id", &[id])))?;
    let (kinds, banks, dists) = (hm.kinds("entity_kind")?, hm.opt_strs("bank")?, hm.opt_u64s("distance")?);
    for r in 0..hm.height() {
        if kinds[r] == kind {
            let (bank, d) = (banks[r].clone().unwrap_or_default(), dists[r].unwrap_or(0));
            let _ = writeln!(out, "\nhash-bank match: photo within Hamming distance {d} of a {bank} entry");
        }
    }

    match s.opt_u64s("cluster_id")?[0] {
        None => {
            let _ = writeln!(out, "\nnot in a suspected network");
        }
        Some(cid) => {
            let m = run.read(RunTable::ClusterMembers, &["entity_kind", "role", "centrality"], Some(("entity_id", &[id])))?;
            let (kinds, roles, cents) = (m.kinds("entity_kind")?, m.opt_strs("role")?, m.f64s("centrality")?);
            let mut role = String::new();
            let mut cent = 0.0;
            for r in 0..m.height() {
                if kinds[r] == kind {
                    role = roles[r].clone().unwrap_or_default();
                    cent = cents[r].unwrap_or(0.0);
                }
            }
            let c = run.read(RunTable::Clusters, &["rank", "risk_score"], Some(("cluster_id", &[cid])))?;
            let (rank, risk) = match c.height() {
                0 => (0, 0.0),
                _ => (c.opt_u64s("rank")?[0].unwrap_or(0), c.f64s("risk_score")?[0].unwrap_or(0.0)),
            };
            let _ = writeln!(out, "\nin cluster {cid} (rank {rank}, risk {risk:.2}) as {role}, centrality {cent:.2}");
            let _ = writeln!(out, "  groupwatch explain --run {} --cluster {cid}", run.dir().display());
        }
    }
    Ok(out)
}

/// A notable feature: (share of the run's values below it, name, value).
type Notable = (f64, String, f64);

/// The features of entity `id` that are unusual for this run: at or above the 95th
/// percentile of the feature's non-null values and above their median, as (share of values
/// below, feature, value), most unusual first; `None` when the table has no row for `id`.
/// Features with fewer than 20 values are skipped.
///
/// One filtered scan finds the entity's row; one aggregate query over the table then counts,
/// per feature, the values below the entity's and takes the median (the upper one of an even
/// count), so the table is never materialised here.
fn notable_features(run: &RunFolder, table: RunTable, key: &str, id: u64) -> Result<Option<Vec<Notable>>, RunFolderError> {
    let names: Vec<String> = run.columns(table)?.into_iter().filter(|c| c != key).collect();
    let columns: Vec<&str> = names.iter().map(String::as_str).collect();
    let row = run.read(table, &columns, Some((key, &[id])))?;
    if row.height() == 0 {
        return Ok(None);
    }
    let mut values = Vec::new();
    for name in &names {
        match row.f64s(name)?[0] {
            Some(v) if !v.is_nan() => values.push((name.as_str(), v)),
            _ => {}
        }
    }
    if values.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let mut aggs = Vec::with_capacity(3 * values.len());
    for (i, &(name, v)) in values.iter().enumerate() {
        let x = col(name).cast(DataType::Float64);
        aggs.push(x.clone().count().cast(DataType::UInt64).alias(format!("n{i}")));
        aggs.push(x.clone().lt(lit(v)).sum().cast(DataType::UInt64).alias(format!("below{i}")));
        aggs.push(x.quantile(lit(0.5), QuantileMethod::Higher).alias(format!("median{i}")));
    }
    let path = run.path(table);
    let stats = run.scan(table)?.select(aggs).collect().map_err(|source| RunFolderError::Read { path: path.clone(), source })?;
    let get = |name: String| -> Result<AnyValue<'_>, RunFolderError> { stats.column(&name).and_then(|c| c.get(0)).map_err(|source| RunFolderError::Read { path: path.clone(), source }) };
    let mut notable = Vec::new();
    for (i, &(name, v)) in values.iter().enumerate() {
        let (n, below, median) = (get(format!("n{i}"))?, get(format!("below{i}"))?, get(format!("median{i}"))?);
        let (Some(n), Some(below)) = (n.extract::<u64>(), below.extract::<u64>()) else { continue };
        let Some(median) = median.extract::<f64>() else { continue };
        if n < 20 {
            continue;
        }
        let pct = below as f64 / n as f64;
        if pct >= 0.95 && v > median {
            notable.push((pct, name.to_string(), v));
        }
    }
    notable.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    Ok(Some(notable))
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
