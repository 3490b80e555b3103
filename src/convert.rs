//! Converters from real, public datasets into the data contract, so the detector can be checked
//! on structure nobody generated for it.
//!
//! [`reddit`] converts the Reddit banned-users data (a static user–subreddit graph with
//! platform-ban labels, `../shared/datasets/reddit-banned/SOURCE.md`). The source has no times,
//! no invite links, no forwards, no reports: only who posted where and who was banned. The
//! mapping keeps that and invents nothing that could carry signal:
//!
//! - **user → account**, `account_id` = the user id; **subreddit → group**, `group_id` = the
//!   subreddit id. Every account and group is created at one fixed time, [`CREATED_DAYS_BEFORE`]
//!   days before the window starts, so account and group age are constants.
//! - **pair → one `join`** with null `method`, `invite_link_id` and `actor_id`: the source says
//!   the user took part, not how. `added` or `invite_link` would invent an arrival channel (and
//!   feed the by-link and lockstep features, which only count link or approval self-joins).
//! - **creator**: unknown in the source, but `creator_id` is non-null. Every group gets the one
//!   reserved id [`UNKNOWN_CREATOR`], an account with no `accounts` row and no memberships (the
//!   contract lets events name accounts absent from `accounts`); it is never "seen", so it has
//!   no feature row, and no real user gets invented creator or admin history.
//! - **times**: there are none, but the trainer's folds are cut by label time and its window
//!   features by event time. Join times and label times are drawn uniformly over the
//!   [`WINDOW_DAYS`]-day window ending with the as-of day, each from a hash of the seed and the
//!   (user, subreddit) pair or the user, so they do not depend on row order. The source's pairs
//!   are one month of posts, so "joined within the window" is faithful; but the order of label
//!   times is random, so the trainer's forward-chaining folds are **random splits, not time
//!   splits**, and burst, hourly and lockstep features see only noise.
//! - **labels**: `banned = 1` → `violating`, `banned = 0` → `benign`, both `source =
//!   enforcement`. The source states the platform's outcome for every user, so the unbanned are
//!   known negatives. With `reveal` below 1 only that share of users (by a hash of the user
//!   and the seed) keeps its label, and the rest are measured against `_truth/` (the layout
//!   `groupwatch synth` writes; the `_` keeps it out of the dataset's tables).
//!
//! Bad input (a missing column, a value that is not a non-negative integer, a ban flag other
//! than 0 or 1, a label for a user with no pair, a user labelled twice) is an error naming the
//! file, line and column. Duplicate pairs are counted and written once. The dataset is written
//! into a hidden folder beside the destination and renamed into place when complete.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use crate::io::{col, frame, write_parquet_staged};
use crate::units::{mix64, MS_PER_DAY};

/// Days of the window the invented join and label times fall in (the trainer's default window).
pub const WINDOW_DAYS: i64 = 30;
/// Accounts and groups are all created this many days before the window starts.
pub const CREATED_DAYS_BEFORE: i64 = 365;
/// The creator id every converted group gets: no user has it (user ids must be below it).
pub const UNKNOWN_CREATOR: u64 = 1 << 48;

#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("cannot read {file}: {source}")]
    Read { file: String, source: std::io::Error },
    #[error("{file} line 1: no column {column:?} in the header (found {found:?})")]
    MissingColumn { file: String, column: &'static str, found: Vec<String> },
    #[error("{file} line {line}: {found} field(s), the header has {expected}")]
    FieldCount { file: String, line: usize, expected: usize, found: usize },
    #[error("{file} line {line}, column {column}: {value:?} is not {expected}")]
    BadValue { file: String, line: usize, column: &'static str, value: String, expected: &'static str },
    #[error("{file} line {line}, column user: user {user} has no row in the edges file")]
    UnknownUser { file: String, line: usize, user: u64 },
    #[error("{file} line {line}, column user: user {user} is labelled again (first on line {first})")]
    DuplicateLabel { file: String, line: usize, user: u64, first: usize },
    #[error("{file} has a header but no rows")]
    NoRows { file: String },
    #[error("output folder {0} exists and is not empty; remove it or choose another")]
    OutputExists(PathBuf),
    #[error("writing the converted dataset: {0:#}")]
    Write(#[from] anyhow::Error),
}

impl crate::ExitCode for ConvertError {
    fn is_bad_input(&self) -> bool {
        !matches!(self, ConvertError::Write(_))
    }
}

/// What to convert and where.
#[derive(Debug, Clone)]
pub struct RedditConfig {
    /// `user,subreddit` pairs.
    pub edges: PathBuf,
    /// `user,banned` (0 or 1), one row per user.
    pub labels: PathBuf,
    /// Dataset folder to create (`accounts.parquet`, `groups.parquet`, `memberships.parquet`,
    /// `labels.parquet`, `_conversion.json`).
    pub out: PathBuf,
    /// The window ends with this UTC day.
    pub as_of: NaiveDate,
    /// Seed of the invented join and label times.
    pub seed: u64,
    /// Share of users whose label is written to `labels` (chosen by a hash of the user and
    /// the seed); every user's truth goes to `_truth/` beside the tables, so a detector can be
    /// measured on the users whose label it did not see. 1 writes every label.
    pub reveal: f64,
}

/// Counts of a conversion, written to `_conversion.json` (ignored by the layout rules).
#[derive(Debug, Clone, Serialize)]
pub struct Conversion {
    pub source_edges: String,
    pub source_labels: String,
    pub as_of: String,
    pub seed: u64,
    pub accounts: usize,
    pub groups: usize,
    pub memberships: usize,
    pub duplicate_pairs: usize,
    pub labels_violating: usize,
    pub labels_benign: usize,
    /// Users with pairs but no label written (no label row, or not revealed).
    pub unlabelled_users: usize,
    /// Share of users whose label was written.
    pub reveal: f64,
    pub mapping: BTreeMap<&'static str, &'static str>,
}

/// An integer CSV read into the named columns, with the line of every row.
#[derive(Debug)]
struct Csv {
    file: String,
    /// (line, values in the order of the requested columns)
    rows: Vec<(usize, Vec<u64>)>,
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(s)
}

/// Reads a comma-separated file of non-negative integers with a header; `columns` are picked
/// by name (extra columns are ignored). Quoting beyond a quoted whole field is not supported:
/// these files hold integers only.
fn read_csv(path: &Path, columns: &[&'static str]) -> Result<Csv, ConvertError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConvertError::Read { file: file.clone(), source })?;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)));
    let header: Vec<String> = lines.next().map(|(_, h)| h.split(',').map(|c| unquote(c).to_string()).collect()).unwrap_or_default();
    let mut idx = Vec::new();
    for &c in columns {
        match header.iter().position(|h| h == c) {
            Some(i) => idx.push(i),
            None => return Err(ConvertError::MissingColumn { file, column: c, found: header }),
        }
    }
    let mut rows = Vec::new();
    for (line, l) in lines {
        if l.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = l.split(',').collect();
        if fields.len() != header.len() {
            return Err(ConvertError::FieldCount { file, line, expected: header.len(), found: fields.len() });
        }
        let mut v = Vec::with_capacity(idx.len());
        for (&i, &name) in idx.iter().zip(columns) {
            let raw = unquote(fields[i]);
            match raw.parse::<u64>() {
                Ok(x) => v.push(x),
                Err(_) => {
                    return Err(ConvertError::BadValue { file, line, column: name, value: raw.to_string(), expected: "a non-negative integer" })
                }
            }
        }
        rows.push((line, v));
    }
    if rows.is_empty() {
        return Err(ConvertError::NoRows { file });
    }
    Ok(Csv { file, rows })
}

/// A uniform time in `[start, start + span)` from the seed and a key (order-independent).
fn time_in(start_ms: i64, span_ms: i64, seed: u64, tag: u64, a: u64, b: u64) -> i64 {
    let h = mix64(mix64(mix64(seed ^ mix64(tag)) ^ a) ^ b);
    // Whole seconds: a plausible event log.
    start_ms + (h % (span_ms as u64 / 1000)) as i64 * 1000
}

/// End of the as-of day (exclusive), epoch ms.
fn end_of_day_ms(d: NaiveDate) -> i64 {
    (d + chrono::Days::new(1)).and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp_millis()
}

/// Converts the Reddit banned-users CSVs into a contract dataset at `cfg.out`.
pub fn reddit(cfg: &RedditConfig) -> Result<Conversion, ConvertError> {
    if cfg.out.exists() && std::fs::read_dir(&cfg.out).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(ConvertError::OutputExists(cfg.out.clone()));
    }
    let edges = read_csv(&cfg.edges, &["user", "subreddit"])?;
    for (line, v) in &edges.rows {
        if v[0] >= UNKNOWN_CREATOR {
            return Err(ConvertError::BadValue {
                file: edges.file.clone(),
                line: *line,
                column: "user",
                value: v[0].to_string(),
                expected: "below 2^48 (the reserved creator id)",
            });
        }
    }
    let labels = read_csv(&cfg.labels, &["user", "banned"])?;

    let mut pairs: Vec<(u64, u64)> = edges.rows.iter().map(|(_, v)| (v[0], v[1])).collect();
    pairs.sort_unstable();
    let before = pairs.len();
    pairs.dedup();
    let duplicate_pairs = before - pairs.len();
    let mut users: Vec<u64> = pairs.iter().map(|p| p.0).collect();
    users.dedup();
    let mut subs: Vec<u64> = pairs.iter().map(|p| p.1).collect();
    subs.sort_unstable();
    subs.dedup();

    let mut label_of: HashMap<u64, (bool, usize)> = HashMap::new();
    for (line, v) in &labels.rows {
        let (user, banned) = (v[0], v[1]);
        if banned > 1 {
            return Err(ConvertError::BadValue { file: labels.file.clone(), line: *line, column: "banned", value: banned.to_string(), expected: "0 or 1" });
        }
        if users.binary_search(&user).is_err() {
            return Err(ConvertError::UnknownUser { file: labels.file.clone(), line: *line, user });
        }
        if let Some(&(_, first)) = label_of.get(&user) {
            return Err(ConvertError::DuplicateLabel { file: labels.file.clone(), line: *line, user, first });
        }
        label_of.insert(user, (banned == 1, *line));
    }

    let now = end_of_day_ms(cfg.as_of);
    let span = WINDOW_DAYS * MS_PER_DAY;
    let start = now - span;
    let created = start - CREATED_DAYS_BEFORE * MS_PER_DAY;

    // Memberships in event order (time, then group, then account).
    let mut events: Vec<(i64, u64, u64)> = pairs.iter().map(|&(u, s)| (time_in(start, span, cfg.seed, 1, u, s), s, u)).collect();
    events.sort_unstable();
    let revealed = |u: u64| cfg.reveal >= 1.0 || (mix64(u ^ mix64(cfg.seed ^ 0x5ea1)) % 1_000_000) as f64 / 1e6 < cfg.reveal;
    let banned: Vec<u64> = users.iter().copied().filter(|u| label_of.get(u).is_some_and(|l| l.0)).collect();
    let mut lab: Vec<(u64, bool, i64)> = users
        .iter()
        .filter(|&&u| revealed(u))
        .filter_map(|&u| label_of.get(&u).map(|&(v, _)| (u, v, time_in(start, span, cfg.seed, 2, u, 0))))
        .collect();
    lab.sort_unstable();
    let violating = lab.iter().filter(|l| l.1).count();

    let n = users.len();
    let g = subs.len();
    let m = events.len();
    let nl = lab.len();
    let write = |stage: &Path| -> anyhow::Result<()> {
        let mut accounts = frame(vec![
            col::u64s("account_id", users.clone()),
            col::times("created_at", vec![created; n])?,
            col::opt_strs("country", vec![None; n]),
            col::opt_bools("is_business", vec![None; n]),
            col::opt_strs("about", vec![None; n]),
            col::opt_strs("photo_pdq", vec![None; n]),
        ])?;
        write_parquet_staged(&mut accounts, &stage.join("accounts.parquet"))?;
        let mut groups = frame(vec![
            col::u64s("group_id", subs.clone()),
            col::times("created_at", vec![created; g])?,
            col::u64s("creator_id", vec![UNKNOWN_CREATOR; g]),
            col::opt_strs("subject", vec![None; g]),
            col::opt_strs("description", vec![None; g]),
            col::opt_strs("photo_pdq", vec![None; g]),
            col::opt_bools("admins_only_add", vec![None; g]),
            col::opt_bools("join_approval", vec![None; g]),
        ])?;
        write_parquet_staged(&mut groups, &stage.join("groups.parquet"))?;
        let mut memberships = frame(vec![
            col::times("ts", events.iter().map(|e| e.0).collect())?,
            col::u64s("group_id", events.iter().map(|e| e.1).collect()),
            col::u64s("account_id", events.iter().map(|e| e.2).collect()),
            col::static_strs("event", vec!["join"; m]),
            col::opt_static_strs("method", vec![None; m]),
            col::opt_u64s("invite_link_id", vec![None; m]),
            col::opt_u64s("actor_id", vec![None; m]),
        ])?;
        write_parquet_staged(&mut memberships, &stage.join("memberships.parquet"))?;
        let mut labels = frame(vec![
            col::static_strs("entity_kind", vec!["account"; nl]),
            col::u64s("entity_id", lab.iter().map(|l| l.0).collect()),
            col::static_strs("label", lab.iter().map(|l| if l.1 { "violating" } else { "benign" }).collect()),
            col::times("ts", lab.iter().map(|l| l.2).collect())?,
            col::static_strs("source", vec!["enforcement"; nl]),
        ])?;
        write_parquet_staged(&mut labels, &stage.join("labels.parquet"))?;
        // The whole truth, in the layout `groupwatch synth` writes (one network: the banned).
        let truth = stage.join("_truth");
        std::fs::create_dir_all(&truth)?;
        let nb = banned.len();
        let mut t = frame(vec![
            col::u64s("account_id", banned.clone()),
            col::u64s("network", vec![0; nb]),
            col::static_strs("role", vec!["banned"; nb]),
            col::bools("throwaway", vec![false; nb]),
            col::bools("camouflaged", vec![false; nb]),
        ])?;
        write_parquet_staged(&mut t, &truth.join("accounts.parquet"))?;
        let mut t = frame(vec![
            col::u64s("group_id", subs.clone()),
            col::static_strs("kind", vec!["subreddit"; g]),
            col::bools("violating", vec![false; g]),
            col::opt_u64s("network", vec![None; g]),
            col::bools("camouflaged", vec![false; g]),
        ])?;
        write_parquet_staged(&mut t, &truth.join("groups.parquet"))?;
        let mut t = frame(vec![
            col::u64s("network", vec![0]),
            col::f64s("strength", vec![1.0]),
            col::bools("camouflaged", vec![false]),
            col::times("start", vec![start])?,
            col::u64s("n_groups", vec![0]),
            col::u64s("n_accounts", vec![nb as u64]),
            col::bools("labelled", vec![lab.iter().any(|l| l.1)]),
        ])?;
        write_parquet_staged(&mut t, &truth.join("networks.parquet"))?;
        Ok(())
    };

    let summary = Conversion {
        source_edges: cfg.edges.display().to_string(),
        source_labels: cfg.labels.display().to_string(),
        as_of: cfg.as_of.to_string(),
        seed: cfg.seed,
        accounts: n,
        groups: g,
        memberships: m,
        duplicate_pairs,
        labels_violating: violating,
        labels_benign: nl - violating,
        unlabelled_users: n - nl,
        reveal: cfg.reveal,
        mapping: BTreeMap::from([
            ("account", "user id; created_at fixed (365 days before the window)"),
            ("group", "subreddit id; created_at fixed; creator_id = 2^48 (unknown, no accounts row)"),
            ("memberships", "one join per distinct (user, subreddit); method, invite_link_id, actor_id null; ts seeded uniform over the 30-day window"),
            ("labels", "banned 1 -> violating, 0 -> benign; source enforcement; ts seeded uniform over the window (folds are random splits)"),
        ]),
    };

    let name = cfg.out.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "dataset".into());
    let stage = cfg.out.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&stage);
    let result = (|| -> anyhow::Result<()> {
        std::fs::create_dir_all(&stage)?;
        write(&stage)?;
        std::fs::write(stage.join("_conversion.json"), serde_json::to_vec_pretty(&summary)?)?;
        if cfg.out.exists() {
            std::fs::remove_dir(&cfg.out)?; // empty, checked above
        }
        std::fs::rename(&stage, &cfg.out)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&stage);
    }
    result?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn csv_errors_name_file_line_and_column() {
        let d = tempfile::tempdir().unwrap();
        let e = read_csv(&write(d.path(), "a.csv", "user,sub\n1,2\n"), &["user", "subreddit"]).unwrap_err();
        assert!(matches!(e, ConvertError::MissingColumn { column: "subreddit", .. }), "{e}");
        let e = read_csv(&write(d.path(), "b.csv", "user,subreddit\n1,2\n3,x\n"), &["user", "subreddit"]).unwrap_err();
        assert!(matches!(e, ConvertError::BadValue { line: 3, column: "subreddit", .. }), "{e}");
        assert!(e.to_string().contains("b.csv line 3, column subreddit"), "{e}");
        let e = read_csv(&write(d.path(), "c.csv", "user,subreddit\n-1,2\n"), &["user", "subreddit"]).unwrap_err();
        assert!(matches!(e, ConvertError::BadValue { line: 2, column: "user", .. }), "{e}");
        let e = read_csv(&write(d.path(), "d.csv", "user,subreddit\n1\n"), &["user", "subreddit"]).unwrap_err();
        assert!(matches!(e, ConvertError::FieldCount { line: 2, .. }), "{e}");
        // Quoted header, CRLF, extra column and a trailing blank line are fine.
        let ok = read_csv(&write(d.path(), "e.csv", "\"subreddit\",x,\"user\"\r\n5,9,4\r\n\r\n"), &["user", "subreddit"]).unwrap();
        assert_eq!(ok.rows, vec![(2, vec![4, 5])]);
    }

    #[test]
    fn times_are_in_the_window_and_order_independent() {
        let start = 1_000_000_000_000;
        let span = WINDOW_DAYS * MS_PER_DAY;
        let a = time_in(start, span, 7, 1, 3, 4);
        assert_eq!(a, time_in(start, span, 7, 1, 3, 4));
        assert_ne!(a, time_in(start, span, 8, 1, 3, 4));
        for u in 0..1000 {
            let t = time_in(start, span, 7, 1, u, 0);
            assert!((start..start + span).contains(&t) && t % 1000 == 0);
        }
    }
}
