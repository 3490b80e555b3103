//! Finding the files of an input dataset on disk.
//!
//! An input dataset is one folder with one entry per table: a folder of Parquet files (directly
//! or under `dt=YYYY-MM-DD/` hive partitions) or a single `<table>.parquet` file. The rules are
//! strict on purpose: an entry we do not understand might hold rows, and skipping it would lose
//! them silently, so anything that is not a Parquet file, a `dt=` partition or an ignored
//! `_`/`.` entry makes its table unusable. This module only looks at names and file kinds;
//! whether a file is readable Parquet is the validator's business.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::schema::Contract;

/// One Parquet file of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    /// Absolute or input-relative path as found (symbolic links not resolved).
    pub path: PathBuf,
    /// Path relative to the input folder, `/`-separated, for messages and quarantine rows.
    pub rel: String,
    /// Hive partition date when the file sits under `dt=YYYY-MM-DD/`.
    pub dt: Option<NaiveDate>,
}

/// Where a table's rows are, or why they cannot be read.
#[derive(Debug, Clone)]
pub enum TableLocation {
    /// Files sorted by relative path; may be empty (a folder with no files).
    Files(Vec<DataFile>),
    /// Neither `<table>/` nor `<table>.parquet` exists.
    Missing,
    /// The entry exists but breaks a layout rule; every message names a path.
    Unusable(Vec<String>),
}

/// The files of every contract input table found under one folder.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub root: PathBuf,
    /// Keyed by table name, in contract order of iteration via [`Contract::inputs`].
    pub tables: BTreeMap<String, TableLocation>,
    /// Top-level entries that are not contract tables (reported, not read).
    pub unknown_entries: Vec<String>,
    /// Entries skipped by the `_`/`.` rule, for the report.
    pub ignored_entries: Vec<String>,
}

/// The input folder itself is unusable.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("input folder {0} does not exist")]
    NotFound(PathBuf),
    #[error("input {0} is not a folder")]
    NotADirectory(PathBuf),
    #[error("cannot list input folder {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn ignored(name: &str) -> bool {
    name.starts_with('_') || name.starts_with('.')
}

/// Parses `dt=YYYY-MM-DD`.
pub fn partition_date(name: &str) -> Option<NaiveDate> {
    let d = name.strip_prefix("dt=")?;
    if d.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()
}

/// Lists the dataset under `root`.
///
/// Complexity: one `stat` per entry; no file is opened.
pub fn discover(root: &Path) -> Result<Dataset, LayoutError> {
    let meta = fs::metadata(root).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LayoutError::NotFound(root.to_path_buf()),
        _ => LayoutError::Io { path: root.to_path_buf(), source: e },
    })?;
    if !meta.is_dir() {
        return Err(LayoutError::NotADirectory(root.to_path_buf()));
    }
    let entries = read_dir_sorted(root)
        .map_err(|e| LayoutError::Io { path: root.to_path_buf(), source: e })?;
    let contract = Contract::get();
    let input_names: HashSet<&str> = contract.inputs().map(|t| t.table.as_str()).collect();

    let mut ds = Dataset {
        root: root.to_path_buf(),
        tables: BTreeMap::new(),
        unknown_entries: Vec::new(),
        ignored_entries: Vec::new(),
    };
    for name in &entries {
        if ignored(name) {
            ds.ignored_entries.push(name.clone());
            continue;
        }
        let stem = name.strip_suffix(".parquet").unwrap_or(name);
        if !input_names.contains(stem) {
            ds.unknown_entries.push(name.clone());
        }
    }
    for t in contract.inputs() {
        let loc = locate_table(root, &t.table, &mut ds.ignored_entries);
        ds.tables.insert(t.table.clone(), loc);
    }
    Ok(ds)
}

fn read_dir_sorted(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(dir)? {
        names.push(entry?.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

fn locate_table(root: &Path, table: &str, ignored_out: &mut Vec<String>) -> TableLocation {
    let folder = root.join(table);
    let file = root.join(format!("{table}.parquet"));
    // symlink_metadata tells "absent" from "a link we cannot follow".
    let folder_exists = fs::symlink_metadata(&folder).is_ok();
    let file_exists = fs::symlink_metadata(&file).is_ok();
    match (folder_exists, file_exists) {
        (false, false) => TableLocation::Missing,
        (true, true) => TableLocation::Unusable(vec![format!(
            "both {table}/ and {table}.parquet exist; a table is one or the other"
        )]),
        (false, true) => match fs::metadata(&file) {
            Ok(m) if m.is_file() => TableLocation::Files(vec![DataFile {
                path: file,
                rel: format!("{table}.parquet"),
                dt: None,
            }]),
            Ok(_) => TableLocation::Unusable(vec![format!("{table}.parquet is not a regular file")]),
            Err(e) => TableLocation::Unusable(vec![link_message(&format!("{table}.parquet"), &e)]),
        },
        (true, false) => {
            let mut files = Vec::new();
            let mut problems = Vec::new();
            let mut visited = HashSet::new();
            walk_table(&folder, table, 0, &mut visited, &mut files, &mut problems, ignored_out);
            if problems.is_empty() {
                files.sort_by(|a, b| a.rel.cmp(&b.rel));
                TableLocation::Files(files)
            } else {
                TableLocation::Unusable(problems)
            }
        }
    }
}

fn link_message(rel: &str, e: &std::io::Error) -> String {
    // ELOOP has no stable ErrorKind; its raw code is 40 on Linux.
    if e.raw_os_error() == Some(40) {
        format!("{rel}: symbolic link loop")
    } else {
        format!("{rel}: cannot be read: {e}")
    }
}

/// Walks a table folder: depth 0 is the table folder, depth 1 a `dt=` partition.
fn walk_table(
    dir: &Path,
    rel: &str,
    depth: usize,
    visited: &mut HashSet<PathBuf>,
    files: &mut Vec<DataFile>,
    problems: &mut Vec<String>,
    ignored_out: &mut Vec<String>,
) {
    let meta = match fs::metadata(dir) {
        Ok(m) => m,
        Err(e) => return problems.push(link_message(rel, &e)),
    };
    if !meta.is_dir() {
        return problems.push(format!("{rel}: expected a folder"));
    }
    // A link back to a folder already walked is a loop.
    match fs::canonicalize(dir) {
        Ok(canon) => {
            if !visited.insert(canon) {
                return problems.push(format!("{rel}: symbolic link loop"));
            }
        }
        Err(e) => return problems.push(link_message(rel, &e)),
    }
    let names = match read_dir_sorted(dir) {
        Ok(n) => n,
        Err(e) => return problems.push(format!("{rel}: cannot list folder: {e}")),
    };
    let dt = if depth == 1 { rel.rsplit('/').next().and_then(partition_date) } else { None };
    for name in names {
        let child_rel = format!("{rel}/{name}");
        if ignored(&name) {
            ignored_out.push(child_rel);
            continue;
        }
        let path = dir.join(&name);
        let m = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                problems.push(link_message(&child_rel, &e));
                continue;
            }
        };
        if m.is_dir() {
            if depth == 0 && partition_date(&name).is_some() {
                walk_table(&path, &child_rel, 1, visited, files, problems, ignored_out);
            } else if depth == 0 && name.starts_with("dt=") {
                problems.push(format!("{child_rel}: partition folder is not dt=YYYY-MM-DD"));
            } else {
                problems.push(format!(
                    "{child_rel}: unexpected folder (only dt=YYYY-MM-DD partitions are allowed)"
                ));
            }
        } else if m.is_file() {
            files.push(DataFile { path, rel: child_rel, dt });
        } else {
            problems.push(format!("{child_rel}: not a regular file"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_names() {
        assert_eq!(partition_date("dt=2026-11-24"), NaiveDate::from_ymd_opt(2026, 11, 24));
        assert_eq!(partition_date("dt=2026-13-01"), None);
        assert_eq!(partition_date("dt=2026-1-01"), None);
        assert_eq!(partition_date("date=2026-11-24"), None);
    }

    #[test]
    fn layout_rules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("memberships/dt=2026-11-24")).unwrap();
        fs::write(root.join("memberships/dt=2026-11-24/part-0.parquet"), b"x").unwrap();
        fs::write(root.join("memberships/_SUCCESS"), b"").unwrap();
        fs::create_dir_all(root.join("memberships/_temporary/0")).unwrap();
        fs::write(root.join("accounts.parquet"), b"x").unwrap();
        fs::create_dir_all(root.join("groups")).unwrap();
        fs::write(root.join("groups.parquet"), b"x").unwrap();
        fs::create_dir_all(root.join("forwards/other")).unwrap();
        fs::create_dir_all(root.join("blocks")).unwrap();
        std::os::unix::fs::symlink("../blocks", root.join("blocks/dt=2026-01-01")).unwrap();
        let ds = discover(root).unwrap();
        let TableLocation::Files(f) = &ds.tables["memberships"] else { panic!() };
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].rel, "memberships/dt=2026-11-24/part-0.parquet");
        assert_eq!(f[0].dt, NaiveDate::from_ymd_opt(2026, 11, 24));
        assert!(matches!(&ds.tables["accounts"], TableLocation::Files(f) if f.len() == 1));
        assert!(matches!(&ds.tables["groups"], TableLocation::Unusable(_)));
        assert!(matches!(&ds.tables["forwards"], TableLocation::Unusable(p) if p[0].contains("forwards/other")));
        assert!(matches!(&ds.tables["blocks"], TableLocation::Unusable(p) if p[0].contains("loop")));
        assert!(matches!(&ds.tables["labels"], TableLocation::Missing));
    }
}
