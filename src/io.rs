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

/// As [`read_parquet`], with `Ok(None)` when the file does not exist, so the caller can say
/// which file is missing and why it was needed.
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

/// Column statistics written: min, max and null count (what readers prune row groups by).
/// Distinct counts are left out: they cost more to compute than the rest of the encoding of a
/// string column, and no reader uses them.
fn statistics() -> StatisticsOptions {
    StatisticsOptions { distinct_count: false, ..StatisticsOptions::full() }
}

fn write_parquet_inner(df: &mut DataFrame, dest: &Path, sync: bool) -> anyhow::Result<()> {
    let df = &*df;
    place_file(dest, sync, &|file| encode_parts(file, df.height(), &|lo, hi| Ok(df.slice(lo as i64, hi - lo))))
}

/// Writes a table of `rows` rows into `dest` without ever holding it whole: `part(lo, hi)`
/// builds rows `lo..hi`, one row group at a time. For the largest tables (ten million
/// accounts' features or scores) a whole frame would be a second copy of data already in
/// memory. `sync`: atomically, as [`write_parquet`]; otherwise as [`write_parquet_staged`].
pub fn write_parquet_parts(dest: &Path, rows: usize, sync: bool, part: &(dyn Fn(usize, usize) -> PolarsResult<DataFrame> + Sync)) -> anyhow::Result<()> {
    place_file(dest, sync, &|file| encode_parts(file, rows, part))
}

/// Creates `dest` with `write`: directly (inside a staging folder), or when `sync` under a
/// temporary name that is flushed and then renamed into place.
fn place_file(dest: &Path, sync: bool, write: &dyn Fn(File) -> PolarsResult<()>) -> anyhow::Result<()> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    if !sync {
        let written = File::create(dest).map_err(PolarsError::from).and_then(write);
        return written.map_err(|e| anyhow::Error::from(e).context(format!("writing {}", dest.display())));
    }
    let tmp = temp_beside(dest);
    let result = (|| -> anyhow::Result<()> {
        write(File::create(&tmp)?)?;
        File::open(&tmp)?.sync_all()?;
        fs::rename(&tmp, dest)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| e.context(format!("writing {}", dest.display())))
}

/// Rows per Parquet row group: fixed, so a file's bytes depend only on its rows.
const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Writes Parquet (zstd, min/max/null-count statistics, row groups of [`ROW_GROUP_ROWS`])
/// from row ranges built by `part`. Row groups are built, encoded and compressed in
/// parallel, then written in order: polars' own writer encodes a group's columns in
/// parallel but compresses its pages one after another while writing, so a frame with one
/// heavy column (a list of structs) kept one core busy.
fn encode_parts(file: File, n: usize, part: &(dyn Fn(usize, usize) -> PolarsResult<DataFrame> + Sync)) -> PolarsResult<()> {
    use polars_parquet::parquet::error::ParquetError;
    use polars_parquet::write::{array_to_columns, CompressedPage, Compressor, Version, WriteOptions};
    use rayon::prelude::*;
    use std::borrow::Cow;

    let schema = part(0, 0)?.schema().clone();
    let compression = ParquetCompression::Zstd(None);
    let mut writer = ParquetWriter::new(file).with_compression(compression).with_statistics(statistics()).batched(&schema)?;
    let parquet_schema = writer.parquet_schema().clone();
    let arrow_schema = schema.to_arrow(CompatLevel::newest());
    let encodings = polars::io::parquet::write::get_encodings(&arrow_schema);
    let options = WriteOptions { statistics: statistics(), version: Version::V1, compression: compression.into(), data_page_size: None };
    let groups: Vec<(usize, Vec<Vec<CompressedPage>>)> = (0..n.div_ceil(ROW_GROUP_ROWS))
        .into_par_iter()
        .map(|k| {
            let (lo, hi) = (k * ROW_GROUP_ROWS, ((k + 1) * ROW_GROUP_ROWS).min(n));
            let df = part(lo, hi)?;
            polars_ensure!(df.schema() == &schema && df.height() == hi - lo, ComputeError: "row group {k} does not match the table's schema or row count");
            let mut leaves = Vec::new();
            for (i, c) in df.columns().iter().enumerate() {
                let field = arrow_schema.get_at_index(i).expect("schema of this frame").1;
                let array = c.as_materialized_series().rechunk().to_arrow_with_field(0, Cow::Borrowed(field), true)?;
                for pages in array_to_columns(array, parquet_schema.fields()[i].clone(), options, &encodings[i])? {
                    let pages = pages.map(|p| p.map_err(|e| ParquetError::FeatureNotSupported(e.to_string())));
                    let compressed = Compressor::new_from_vec(pages, options.compression, Vec::new()).collect::<Result<Vec<_>, ParquetError>>();
                    leaves.push(compressed.map_err(PolarsError::from)?);
                }
            }
            Ok((hi - lo, leaves))
        })
        .collect::<PolarsResult<_>>()?;
    for (rows, leaves) in &groups {
        writer.write_row_group(*rows as u64, leaves)?;
    }
    writer.finish()?;
    Ok(())
}

/// Flushes every file directly in `dir` to disk, in parallel: the files of a staging folder
/// written with [`write_parquet_staged`] become durable together before the folder is
/// published, instead of one fsync per file as each is written.
pub fn sync_dir_files(dir: &Path) -> anyhow::Result<()> {
    use rayon::prelude::*;
    let mut files = Vec::new();
    let listed = (|| -> std::io::Result<()> {
        for e in fs::read_dir(dir)? {
            let e = e?;
            if e.file_type()?.is_file() {
                files.push(e.path());
            }
        }
        Ok(())
    })();
    listed.map_err(|e| anyhow::Error::from(e).context(format!("listing {}", dir.display())))?;
    files.sort();
    files.par_iter().try_for_each(|p| -> anyhow::Result<()> {
        File::open(p)?.sync_all().map_err(|e| anyhow::Error::from(e).context(format!("syncing {}", p.display())))
    })?;
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| anyhow::Error::from(e).context(format!("syncing {}", dir.display())))?;
    Ok(())
}

/// Writes bytes to `dest` atomically. On failure the temporary file is removed and `dest`
/// is as before (callers name the path in their own error).
pub fn write_bytes(dest: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    let tmp = temp_beside(dest);
    let result = (|| -> std::io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, dest)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    Ok(result?)
}
