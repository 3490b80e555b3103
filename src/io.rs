//! Parquet output and atomic file placement.
//!
//! Every file groupwatch writes goes to a temporary name beside its destination, is flushed
//! to disk and then renamed into place, so a reader never sees a half-written file and a
//! killed process leaves at most a stray `.tmp-` file (ignored by the layout rules, which skip
//! names starting with `.`).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use polars::prelude::*;

/// Columns are typed per the data contract when groupwatch writes them.
pub mod col {
    use polars::prelude::*;

    pub fn u64s(name: &str, v: Vec<u64>) -> Column {
        Column::new(name.into(), v)
    }

    pub fn opt_u64s(name: &str, v: Vec<Option<u64>>) -> Column {
        Column::new(name.into(), v)
    }

    pub fn u32s(name: &str, v: Vec<u32>) -> Column {
        Column::new(name.into(), v)
    }

    pub fn u8s(name: &str, v: Vec<u8>) -> Column {
        Column::new(name.into(), v)
    }

    pub fn f64s(name: &str, v: Vec<f64>) -> Column {
        Column::new(name.into(), v)
    }

    pub fn bools(name: &str, v: Vec<bool>) -> Column {
        Column::new(name.into(), v)
    }

    pub fn opt_bools(name: &str, v: Vec<Option<bool>>) -> Column {
        Column::new(name.into(), v)
    }

    pub fn strs(name: &str, v: Vec<String>) -> Column {
        Column::new(name.into(), v)
    }

    pub fn static_strs(name: &str, v: Vec<&'static str>) -> Column {
        Column::new(name.into(), v)
    }

    pub fn opt_static_strs(name: &str, v: Vec<Option<&'static str>>) -> Column {
        Column::new(name.into(), v)
    }

    pub fn opt_strs(name: &str, v: Vec<Option<String>>) -> Column {
        Column::new(name.into(), v)
    }

    /// Epoch milliseconds as a naive (UTC) millisecond timestamp.
    pub fn times(name: &str, v: Vec<i64>) -> PolarsResult<Column> {
        Column::new(name.into(), v).cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
    }

    pub fn opt_times(name: &str, v: Vec<Option<i64>>) -> PolarsResult<Column> {
        Column::new(name.into(), v).cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
    }
}

/// Builds a frame from equally long columns.
pub fn frame(columns: Vec<Column>) -> PolarsResult<DataFrame> {
    DataFrame::new_infer_height(columns)
}

/// A temporary path beside `dest` that the layout rules ignore (leading `.`).
pub fn temp_beside(dest: &Path) -> PathBuf {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    dest.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Reads a Parquet file whole, or only `columns`.
pub fn read_parquet(path: &Path, columns: Option<&[&str]>) -> PolarsResult<DataFrame> {
    let cols = columns.map(|c| c.iter().map(|s| s.to_string()).collect());
    ParquetReader::new(File::open(path)?).with_columns(cols).finish()
}

/// As [`read_parquet`], with `Ok(None)` when the file does not exist, so each reader of a
/// run folder can say which output is missing in its own error type.
pub fn read_parquet_if_exists(path: &Path, columns: Option<&[&str]>) -> PolarsResult<Option<DataFrame>> {
    match read_parquet(path, columns) {
        Ok(df) => Ok(Some(df)),
        Err(PolarsError::IO { error, .. }) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `df` to `dest` atomically (temporary file, fsync, rename).
pub fn write_parquet(df: &mut DataFrame, dest: &Path) -> anyhow::Result<()> {
    write_parquet_inner(df, dest, true)
}

/// Writes `df` to `dest` inside a staging folder that is itself renamed into place when
/// complete: the file needs no rename or fsync of its own.
pub fn write_parquet_staged(df: &mut DataFrame, dest: &Path) -> anyhow::Result<()> {
    write_parquet_inner(df, dest, false)
}

fn write_parquet_inner(df: &mut DataFrame, dest: &Path, sync: bool) -> anyhow::Result<()> {
    if !sync {
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent)?;
        }
        let file = File::create(dest)?;
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(StatisticsOptions::full())
            .finish(df)
            .map_err(|e| anyhow::Error::from(e).context(format!("writing {}", dest.display())))?;
        return Ok(());
    }
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = temp_beside(dest);
    let result = (|| -> anyhow::Result<()> {
        let file = File::create(&tmp)?;
        ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .with_statistics(StatisticsOptions::full())
            .finish(df)?;
        File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, dest)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| e.context(format!("writing {}", dest.display())))
}

/// Writes bytes to `dest` atomically.
pub fn write_bytes(dest: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = temp_beside(dest);
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, dest)?;
    Ok(())
}
