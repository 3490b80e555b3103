//! A run folder (`OUT/run=<as-of>/`) as every later reader sees it: `report`, `sweep`,
//! `explain`, `evaluate`, the next night's clusters (stable ids, cluster decisions) and the
//! demo's closing lines.
//!
//! Why one reader: each of them used to open the folder its own way, with its own copy of
//! "file missing", "cannot read" and "bad column" errors, and `explain` read whole tables to
//! find one id. Here a folder is opened once ([`RunFolder::open`]), the manifest and the model
//! file are typed ([`Manifest`], [`ModelFile`]), and a table is read with only the columns
//! asked for and, when given ids, only their rows: a lazy Parquet scan whose filter the reader
//! pushes down to the row groups ([`RunFolder::read`]). Every failure is one
//! [`RunFolderError`] naming the file; all of them are bad input (exit 2).
//!
//! [`manifest`] is the typed `manifest.json`, which `run` writes.

pub mod manifest;

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::model::{ModelError, ModelFile};
use crate::schema::EntityKind;

pub use manifest::{Manifest, StageFigures};

/// A run folder, or a Parquet file in it, that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RunFolderError {
    #[error("run folder {} does not exist or is not a folder", path.display())]
    NotAFolder { path: PathBuf },
    #[error("{} is missing: not a run folder written by `groupwatch run`, or one written by an older version", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: PolarsError,
    },
    #[error("cannot read {}: {message}", path.display())]
    Manifest { path: PathBuf, message: String },
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{}, column {column}: {problem}", path.display())]
    Column { path: PathBuf, column: String, problem: String },
    #[error("{}, row {row}, column {column}: {problem}", path.display())]
    Value { path: PathBuf, row: usize, column: String, problem: String },
}

impl crate::ExitCode for RunFolderError {
    fn is_bad_input(&self) -> bool {
        true
    }
}

/// The Parquet tables of a run folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunTable {
    /// `group_scores`, `account_scores`.
    Scores(EntityKind),
    /// `group_features`, `account_features`.
    Features(EntityKind),
    Clusters,
    ClusterMembers,
    ClusterTimeline,
    ClusterEdges,
    HashMatches,
    PolicyFacts,
    Labels,
}

impl RunTable {
    /// The table's name (its file is `<name>.parquet`).
    pub fn name(self) -> &'static str {
        match self {
            RunTable::Scores(EntityKind::Group) => "group_scores",
            RunTable::Scores(EntityKind::Account) => "account_scores",
            RunTable::Features(EntityKind::Group) => "group_features",
            RunTable::Features(EntityKind::Account) => "account_features",
            RunTable::Clusters => "clusters",
            RunTable::ClusterMembers => "cluster_members",
            RunTable::ClusterTimeline => "cluster_timeline",
            RunTable::ClusterEdges => "cluster_edges",
            RunTable::HashMatches => "hash_matches",
            RunTable::PolicyFacts => "policy_facts",
            RunTable::Labels => "labels",
        }
    }

    pub fn file_name(self) -> String {
        format!("{}.parquet", self.name())
    }
}

/// An opened run folder.
#[derive(Debug, Clone)]
pub struct RunFolder {
    dir: PathBuf,
}

impl RunFolder {
    /// Opens `dir`; nothing is read until asked for.
    pub fn open(dir: &Path) -> Result<RunFolder, RunFolderError> {
        if !dir.is_dir() {
            return Err(RunFolderError::NotAFolder { path: dir.to_path_buf() });
        }
        Ok(RunFolder { dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self, table: RunTable) -> PathBuf {
        self.dir.join(table.file_name())
    }

    /// Whether the folder has `table` (tables added in later versions may be absent).
    pub fn has(&self, table: RunTable) -> bool {
        self.path(table).is_file()
    }

    /// `manifest.json`.
    pub fn manifest(&self) -> Result<Manifest, RunFolderError> {
        let path = self.dir.join("manifest.json");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RunFolderError::Missing { path }),
            Err(e) => return Err(RunFolderError::Manifest { path, message: e.to_string() }),
        };
        serde_json::from_slice(&bytes).map_err(|e| RunFolderError::Manifest { path, message: e.to_string() })
    }

    /// `model.json`: the model that scored the run.
    pub fn model(&self) -> Result<ModelFile, RunFolderError> {
        Ok(ModelFile::load(&self.dir.join("model.json"))?)
    }

    /// Rows of `table`, from the file's footer alone.
    pub fn rows(&self, table: RunTable) -> Result<usize, RunFolderError> {
        let path = self.existing(table)?;
        let n = scan(&path).and_then(|lf| lf.select([len()]).collect()).and_then(|df| df.column("len").and_then(|c| c.get(0)).map(|v| v.extract::<u64>().unwrap_or(0)));
        n.map(|n| n as usize).map_err(|source| RunFolderError::Read { path, source })
    }

    /// The names of `table`'s columns, from the file's footer alone.
    pub fn columns(&self, table: RunTable) -> Result<Vec<String>, RunFolderError> {
        let path = self.existing(table)?;
        let schema = scan(&path).and_then(|mut lf| lf.collect_schema()).map_err(|source| RunFolderError::Read { path, source })?;
        Ok(schema.iter_names().map(|n| n.to_string()).collect())
    }

    /// The plan of [`read`](Self::read): a Parquet scan of `table` keeping `columns` and, with
    /// `rows = Some((key, ids))`, only the rows whose `key` is one of `ids`. Printing it
    /// (`explain`) shows both pushed into the scan.
    pub fn query(&self, table: RunTable, columns: &[&str], rows: Option<(&str, &[u64])>) -> Result<LazyFrame, RunFolderError> {
        let mut lf = self.scan(table)?;
        if let Some((key, ids)) = rows {
            let wanted = Series::new("wanted".into(), ids);
            lf = lf.filter(col(key).cast(DataType::UInt64).is_in(lit(wanted).implode(false), false));
        }
        Ok(lf.select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>()))
    }

    /// `columns` of `table`, every row or only those of [`query`](Self::query)'s `rows`, in
    /// file order. Only those columns and, with ids, only the row groups whose statistics
    /// admit one of them are decoded.
    pub fn read(&self, table: RunTable, columns: &[&str], rows: Option<(&str, &[u64])>) -> Result<Table, RunFolderError> {
        let path = self.path(table);
        let df = self.query(table, columns, rows)?.collect().map_err(|source| RunFolderError::Read { path: path.clone(), source })?;
        Ok(Table { path, df })
    }

    /// [`read`](Self::read), `None` when the folder has no such table.
    pub fn read_optional(&self, table: RunTable, columns: &[&str], rows: Option<(&str, &[u64])>) -> Result<Option<Table>, RunFolderError> {
        if !self.has(table) {
            return Ok(None);
        }
        self.read(table, columns, rows).map(Some)
    }

    /// A lazy scan of `table`, for a query of the caller's own (it is read on `collect`).
    pub fn scan(&self, table: RunTable) -> Result<LazyFrame, RunFolderError> {
        let path = self.existing(table)?;
        scan(&path).map_err(|source| RunFolderError::Read { path, source })
    }

    /// The id of the highest-ranked cluster (`clusters.parquet` is in rank order); `None` when
    /// the run found no network.
    pub fn top_cluster(&self) -> Result<Option<u64>, RunFolderError> {
        let t = self.read(RunTable::Clusters, &["cluster_id"], None)?;
        Ok(t.u64s("cluster_id")?.first().copied())
    }

    fn existing(&self, table: RunTable) -> Result<PathBuf, RunFolderError> {
        let path = self.path(table);
        if path.is_file() {
            Ok(path)
        } else {
            Err(RunFolderError::Missing { path })
        }
    }
}

fn scan(path: &Path) -> PolarsResult<LazyFrame> {
    LazyFrame::scan_parquet(PlRefPath::try_from_path(path)?, ScanArgsParquet::default())
}

/// One row's `top_features`: (feature, value, signed contribution) for each.
pub type Contributions = Vec<(String, Option<f64>, f64)>;

/// Columns read from one Parquet file, with typed accessors whose errors name the file, the
/// column and, for a bad value, the row.
#[derive(Debug, Clone)]
pub struct Table {
    pub path: PathBuf,
    pub df: DataFrame,
}

impl Table {
    /// Any Parquet file (a run folder's, or another folder's such as a synthetic dataset's
    /// truth): `columns` only, `None` when the file does not exist.
    pub fn read_file(path: &Path, columns: &[&str]) -> Result<Option<Table>, RunFolderError> {
        match crate::io::read_parquet_if_exists(path, Some(columns)) {
            Ok(df) => Ok(df.map(|df| Table { path: path.to_path_buf(), df })),
            Err(source) => Err(RunFolderError::Read { path: path.to_path_buf(), source }),
        }
    }

    pub fn height(&self) -> usize {
        self.df.height()
    }

    pub fn has(&self, column: &str) -> bool {
        self.df.column(column).is_ok()
    }

    /// An error about `column` of this file.
    pub fn problem(&self, column: &str, problem: impl Into<String>) -> RunFolderError {
        RunFolderError::Column { path: self.path.clone(), column: column.into(), problem: problem.into() }
    }

    /// An error about one value of this file.
    pub fn bad_value(&self, row: usize, column: &str, problem: impl Into<String>) -> RunFolderError {
        RunFolderError::Value { path: self.path.clone(), row, column: column.into(), problem: problem.into() }
    }

    /// `name` cast to `dtype`; a missing column or a lossy cast is an error naming both.
    pub fn column(&self, name: &str, dtype: &DataType) -> Result<Series, RunFolderError> {
        let c = self.df.column(name).map_err(|_| self.problem(name, "missing"))?;
        if c.dtype() == dtype {
            return Ok(c.as_materialized_series().clone());
        }
        c.strict_cast(dtype)
            .map(|c| c.as_materialized_series().clone())
            .map_err(|e| self.problem(name, format!("has type {}, expected {dtype}: {e}", c.dtype())))
    }

    fn no_nulls<T>(&self, name: &str, v: Vec<Option<T>>) -> Result<Vec<T>, RunFolderError> {
        match v.iter().position(Option::is_none) {
            Some(row) => Err(self.bad_value(row, name, "null")),
            None => Ok(v.into_iter().flatten().collect()),
        }
    }

    pub fn opt_u64s(&self, name: &str) -> Result<Vec<Option<u64>>, RunFolderError> {
        Ok(self.column(name, &DataType::UInt64)?.u64().expect("cast to u64").iter().collect())
    }

    /// A column without nulls.
    pub fn u64s(&self, name: &str) -> Result<Vec<u64>, RunFolderError> {
        let v = self.opt_u64s(name)?;
        self.no_nulls(name, v)
    }

    pub fn f64s(&self, name: &str) -> Result<Vec<Option<f64>>, RunFolderError> {
        Ok(self.column(name, &DataType::Float64)?.f64().expect("cast to f64").iter().collect())
    }

    pub fn opt_bools(&self, name: &str) -> Result<Vec<Option<bool>>, RunFolderError> {
        Ok(self.column(name, &DataType::Boolean)?.bool().expect("cast to bool").iter().collect())
    }

    /// A column without nulls.
    pub fn bools(&self, name: &str) -> Result<Vec<bool>, RunFolderError> {
        let v = self.opt_bools(name)?;
        self.no_nulls(name, v)
    }

    pub fn opt_strs(&self, name: &str) -> Result<Vec<Option<String>>, RunFolderError> {
        Ok(self.column(name, &DataType::String)?.str().expect("cast to str").iter().map(|v| v.map(str::to_string)).collect())
    }

    /// A column without nulls.
    pub fn strs(&self, name: &str) -> Result<Vec<String>, RunFolderError> {
        let v = self.opt_strs(name)?;
        self.no_nulls(name, v)
    }

    /// An entity-kind column (`entity_kind`, `src_kind`...) without nulls.
    pub fn kinds(&self, name: &str) -> Result<Vec<EntityKind>, RunFolderError> {
        self.opt_strs(name)?
            .iter()
            .enumerate()
            .map(|(row, s)| s.as_deref().and_then(EntityKind::parse).ok_or_else(|| self.bad_value(row, name, format!("{s:?} is not \"group\" or \"account\""))))
            .collect()
    }

    /// Times as epoch milliseconds, whatever the stored unit and zone (or epoch-ms integers).
    pub fn times_ms(&self, name: &str) -> Result<Vec<Option<i64>>, RunFolderError> {
        let c = self.df.column(name).map_err(|_| self.problem(name, "missing"))?;
        let ms = match c.dtype() {
            DataType::Datetime(_, _) | DataType::Date => c.cast(&DataType::Datetime(TimeUnit::Milliseconds, None)).and_then(|c| c.cast(&DataType::Int64)),
            d if d.is_integer() || d == &DataType::Null => c.cast(&DataType::Int64),
            d => return Err(self.problem(name, format!("has type {d}, expected a timestamp"))),
        }
        .map_err(|e| self.problem(name, e.to_string()))?;
        Ok(ms.i64().expect("cast to i64").iter().collect())
    }

    /// A list-of-strings column (`reasons`): one vector per row.
    pub fn str_lists(&self, name: &str) -> Result<Vec<Vec<String>>, RunFolderError> {
        let list = self.df.column(name).and_then(|c| c.list().cloned()).map_err(|e| self.problem(name, e.to_string()))?;
        let mut out = Vec::with_capacity(list.len());
        for row in 0..list.len() {
            let mut v = Vec::new();
            if let Some(s) = list.get_as_series(row) {
                let s = s.cast(&DataType::String).map_err(|e| self.problem(name, e.to_string()))?;
                v = s.str().expect("cast to str").iter().flatten().map(str::to_string).collect();
            }
            out.push(v);
        }
        Ok(out)
    }

    /// The scores' `top_features` column: per row, (feature, value, contribution).
    pub fn contributions(&self, name: &str) -> Result<Vec<Contributions>, RunFolderError> {
        let list = self.df.column(name).and_then(|c| c.list().cloned()).map_err(|e| self.problem(name, e.to_string()))?;
        let mut out = Vec::with_capacity(list.len());
        for row in 0..list.len() {
            let mut v = Vec::new();
            if let Some(s) = list.get_as_series(row) {
                let st = s.struct_().map_err(|e| self.problem(name, e.to_string()))?;
                let fields = st.fields_as_series();
                let field = |f: &str, dtype: &DataType| -> Result<Series, RunFolderError> {
                    let s = fields.iter().find(|s| s.name().as_str() == f).ok_or_else(|| self.problem(name, format!("no field {f}")))?;
                    s.cast(dtype).map_err(|e| self.problem(name, e.to_string()))
                };
                let (names, values, contribs) = (field("feature", &DataType::String)?, field("value", &DataType::Float64)?, field("contribution", &DataType::Float64)?);
                let (names, values, contribs) = (names.str().expect("str"), values.f64().expect("f64"), contribs.f64().expect("f64"));
                for i in 0..names.len() {
                    if let Some(feature) = names.get(i) {
                        v.push((feature.to_string(), values.get(i), contribs.get(i).unwrap_or(0.0)));
                    }
                }
            }
            out.push(v);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::col as c;

    fn folder() -> (tempfile::TempDir, RunFolder) {
        let tmp = tempfile::tempdir().unwrap();
        let ids: Vec<u64> = (0..1000).collect();
        let mut df = crate::io::frame(vec![
            c::u64s("group_id", ids.clone()),
            c::f64s("score", ids.iter().map(|&i| i as f64 / 1000.0).collect()),
            c::bools("flagged", ids.iter().map(|&i| i % 7 == 0).collect()),
        ])
        .unwrap();
        crate::io::write_parquet(&mut df, &tmp.path().join("group_scores.parquet")).unwrap();
        let run = RunFolder::open(tmp.path()).unwrap();
        (tmp, run)
    }

    #[test]
    fn a_read_by_ids_pushes_the_filter_and_the_projection_into_the_scan() {
        let (_tmp, run) = folder();
        let plan = run.query(RunTable::Scores(EntityKind::Group), &["group_id", "flagged"], Some(("group_id", &[7, 500]))).unwrap().explain(true).unwrap();
        let scan = plan.lines().skip_while(|l| !l.contains("SCAN")).collect::<Vec<_>>().join("\n");
        assert!(scan.contains("SELECTION") && scan.contains("is_in"), "the filter did not reach the scan:\n{plan}");
        assert!(scan.contains("PROJECT 2/3 COLUMNS"), "the projection did not reach the scan:\n{plan}");

        let t = run.read(RunTable::Scores(EntityKind::Group), &["group_id", "flagged"], Some(("group_id", &[500, 7]))).unwrap();
        assert_eq!(t.u64s("group_id").unwrap(), [7, 500], "file order");
        assert_eq!(t.bools("flagged").unwrap(), [true, false]);
        assert!(!t.has("score"));
        assert_eq!(run.rows(RunTable::Scores(EntityKind::Group)).unwrap(), 1000);
    }

    #[test]
    fn errors_name_the_file() {
        let (tmp, run) = folder();
        let e = run.read(RunTable::Clusters, &["cluster_id"], None).unwrap_err();
        assert!(matches!(e, RunFolderError::Missing { .. }) && e.to_string().contains("clusters.parquet is missing"), "{e}");
        let t = run.read(RunTable::Scores(EntityKind::Group), &["group_id"], None).unwrap();
        let e = t.strs("nope").unwrap_err();
        assert!(e.to_string().contains("group_scores.parquet, column nope: missing"), "{e}");
        let e = run.manifest().unwrap_err();
        assert!(e.to_string().contains("manifest.json is missing"), "{e}");
        let e = RunFolder::open(&tmp.path().join("absent")).unwrap_err();
        assert!(matches!(e, RunFolderError::NotAFolder { .. }) && crate::ExitCode::exit_code(&e) == 2, "{e}");
    }
}
