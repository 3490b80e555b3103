//! Ingest: one as-of window of a validated dataset, as dense typed arrays.
//!
//! Every table is read with lazy polars scans that project only the columns the feature
//! engine uses, drop the rows validation quarantined, and push the time-window predicate into
//! the scan (row groups whose statistics fall outside it are skipped). A whole file is skipped
//! only when its own footer statistics show every row group outside the window
//! ([`file_outside_window`]); its `dt=` folder name never decides, because the contract makes
//! `dt` a hint, not a filter: a folder named after the window's end may hold the whole history
//! (a snapshot export), and pruning it by name would drop rows silently. Files without
//! statistics are read. `memberships` is read from the beginning of time up to as-of: state at
//! as-of is the replay of the group's whole history.
//!
//! Ids are interned once to dense `u32` indices (accounts, groups, invite links): sorted
//! unique ids, so index order is independent of file and row order. Ids referenced by events
//! but absent from their entity table (an account that left no `accounts` row, say) are
//! interned as well, with unknown attributes, and counted in the stats.
//!
//! Memory per row after ingest: memberships 32 bytes, forwards 48, reports 24, blocks 24.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::Path;

use chrono::NaiveDate;
use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use polars_parquet::parquet::metadata::{ColumnChunkMetadata, FileMetadata};

use crate::layout::{DataFile, Dataset, TableLocation};
use crate::schema::{Contract, EntityKind, LabelSource, LogicalType, MediaType, ReportReason};
use crate::validate::ValidationReport;

pub const NONE: u32 = u32::MAX;
pub use crate::units::{MS_PER_DAY, MS_PER_HOUR};

/// The window to ingest.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WindowSpec {
    pub as_of: NaiveDate,
    pub window_days: u32,
}

impl WindowSpec {
    /// End of the as-of day (exclusive), epoch ms: "now" for every feature.
    pub fn now_ms(&self) -> i64 {
        crate::units::day_start_ms(self.as_of) + MS_PER_DAY
    }
    pub fn start_ms(&self) -> i64 {
        self.now_ms() - self.window_days as i64 * MS_PER_DAY
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("reading table {table}, file {file}: {source}")]
    Read {
        table: String,
        file: String,
        #[source]
        source: PolarsError,
    },
    #[error("table {table}, file {file}, column {column}: {message}")]
    Column { table: String, file: String, column: String, message: String },
    /// A required table with rows, none of them in the window: like an empty table, a
    /// failed export (or an as-of before the data) must not silently empty the review queue.
    #[error(
        "no rows in the run's window ({window}) in required table(s): {}",
        tables.iter().map(|(t, n)| format!("{t} (all {n} valid rows lie outside it)")).collect::<Vec<_>>().join(", ")
    )]
    EmptyWindow { window: String, tables: Vec<(String, u64)> },
    /// The third-party Parquet reader panicked on a file validation could read (its
    /// streaming scan decodes differently): caught here and reported as a bad file, not a
    /// crash. `file` names the file, or the first of the files scanned together.
    #[error("table {table}, file {file}: the Parquet reader failed on this file ({message})")]
    Unreadable { table: String, file: String, message: String },
}

impl crate::ExitCode for IngestError {
    fn is_bad_input(&self) -> bool {
        // Validation runs first; apart from a window that holds none of a required table's
        // rows and a file the reader fails on, anything left is a logic failure.
        matches!(self, IngestError::EmptyWindow { .. } | IngestError::Unreadable { .. })
    }
}

/// Membership event kinds, in contract order.
pub const EVENTS: [&str; 5] = ["join", "leave", "removed", "promote", "demote"];
pub const METHODS: [&str; 4] = ["creator", "added", "invite_link", "approval"];

pub mod ev {
    pub const JOIN: u8 = 0;
    pub const LEAVE: u8 = 1;
    pub const REMOVED: u8 = 2;
    pub const PROMOTE: u8 = 3;
    pub const DEMOTE: u8 = 4;
}

pub mod method {
    pub const CREATOR: u8 = 0;
    pub const ADDED: u8 = 1;
    pub const INVITE_LINK: u8 = 2;
    pub const APPROVAL: u8 = 3;
    pub const NONE: u8 = u8::MAX;
}

/// One membership event (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MembershipEvent {
    pub group: u32,
    pub ts: i64,
    pub account: u32,
    pub event: u8,
    pub method: u8,
    pub link: u32,
    pub actor: u32,
}

/// One forward row (destination chat) in the window. The optional ids are stored with a
/// presence bit rather than as `Option<u64>` (48 bytes a row instead of 64: forwards are the
/// largest table, tens of millions of rows at 10M accounts); read them through
/// [`Forward::media_fp`] and [`Forward::action`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forward {
    pub ts: i64,
    media_fp: u64,
    action: u64,
    pub sender: u32,
    pub src_group: u32,
    pub dst_group: u32,
    pub dst_account: u32,
    /// `None` only for a value validation would have quarantined.
    pub media: Option<MediaType>,
    pub frequently_forwarded: bool,
    pub batch_size: u8,
    /// Bit 0: `media_fp` holds a value; bit 1: `action` does.
    present: u8,
}

impl Forward {
    const MEDIA_FP: u8 = 1;
    const ACTION: u8 = 2;

    /// The media fingerprint, if the row has one.
    pub fn media_fp(&self) -> Option<u64> {
        (self.present & Self::MEDIA_FP != 0).then_some(self.media_fp)
    }

    /// The forward action (one user action forwarding to several chats), if recorded.
    pub fn action(&self) -> Option<u64> {
        (self.present & Self::ACTION != 0).then_some(self.action)
    }

    fn set(&mut self, bit: u8, v: Option<u64>) -> u64 {
        self.present = if v.is_some() { self.present | bit } else { self.present & !bit };
        v.unwrap_or(0)
    }

    fn set_media_fp(&mut self, v: Option<u64>) {
        self.media_fp = self.set(Self::MEDIA_FP, v);
    }

    fn set_action(&mut self, v: Option<u64>) {
        self.action = self.set(Self::ACTION, v);
    }
}

impl crate::spill::FixedRow for Forward {
    const BYTES: usize = 44;

    fn put(&self, out: &mut [u8]) {
        let media = self.media.map_or(0, |m| 1 + MediaType::ALL.iter().position(|&x| x == m).expect("a listed media type") as u8);
        out[0..8].copy_from_slice(&self.ts.to_le_bytes());
        out[8..16].copy_from_slice(&self.media_fp.to_le_bytes());
        out[16..24].copy_from_slice(&self.action.to_le_bytes());
        for (i, v) in [self.sender, self.src_group, self.dst_group, self.dst_account].into_iter().enumerate() {
            out[24 + 4 * i..28 + 4 * i].copy_from_slice(&v.to_le_bytes());
        }
        out[40..44].copy_from_slice(&[media, u8::from(self.frequently_forwarded), self.batch_size, self.present]);
    }

    fn get(b: &[u8]) -> Self {
        let u64_at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().expect("8 bytes"));
        let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
        Forward {
            ts: u64_at(0) as i64,
            media_fp: u64_at(8),
            action: u64_at(16),
            sender: u32_at(24),
            src_group: u32_at(28),
            dst_group: u32_at(32),
            dst_account: u32_at(36),
            media: (b[40] != 0).then(|| MediaType::ALL[usize::from(b[40]) - 1]),
            frequently_forwarded: b[41] != 0,
            batch_size: b[42],
            present: b[43],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    pub ts: i64,
    pub reporter: u32,
    /// `true` when the target is a group.
    pub on_group: bool,
    pub target: u32,
    pub reason: Option<ReportReason>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Block {
    pub ts: i64,
    pub blocker: u32,
    pub blocked: u32,
    pub unknown_contact: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InviteLink {
    /// Index into [`Window::link_ids`].
    pub link: u32,
    pub group: u32,
    pub created_by: u32,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
}

/// A label decision (the latest per entity wins; see [`Window::latest_labels`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Label {
    pub on_group: bool,
    pub entity: u32,
    pub violating: bool,
    pub ts: i64,
    pub source: Option<LabelSource>,
}

/// Account attributes, indexed by dense account index.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    /// Sorted; position = dense index.
    pub ids: Vec<u64>,
    /// False for accounts only referenced by events.
    pub known: Vec<bool>,
    pub created_ms: Vec<Option<i64>>,
    pub is_business: Vec<Option<bool>>,
    pub about: Vec<Option<String>>,
    pub photo: Vec<Option<[u8; 32]>>,
}

/// Group attributes, indexed by dense group index.
#[derive(Debug, Clone, Default)]
pub struct Groups {
    pub ids: Vec<u64>,
    pub known: Vec<bool>,
    pub created_ms: Vec<Option<i64>>,
    pub creator: Vec<u32>,
    pub subject: Vec<Option<String>>,
    pub description: Vec<Option<String>>,
    pub photo: Vec<Option<[u8; 32]>>,
}

/// Counts for the run manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IngestStats {
    pub rows_read: BTreeMap<String, u64>,
    pub duplicate_rows_dropped: BTreeMap<String, u64>,
    /// Files not opened because their footer statistics put every row outside the window
    /// (never decided by a `dt=` folder name).
    pub files_skipped_by_statistics: BTreeMap<String, u64>,
    pub unknown_accounts: u64,
    pub unknown_groups: u64,
    pub unknown_links: u64,
    /// Optional tables absent from the input: features that need them are unavailable.
    pub absent_tables: Vec<String>,
}

/// Everything the graph and feature stages read, for one window.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub now_ms: i64,
    pub start_ms: i64,
    pub accounts: Accounts,
    pub groups: Groups,
    /// Every link id seen (invite_links rows and links named by joins), sorted.
    pub link_ids: Vec<u64>,
    /// Rows of the invite_links table.
    pub links: Vec<InviteLink>,
    /// Full history up to as-of, deduplicated, sorted by (group, ts, account, event...).
    pub memberships: Vec<MembershipEvent>,
    pub forwards: Vec<Forward>,
    pub reports: Vec<Report>,
    pub blocks: Vec<Block>,
    /// Hash-bank entries (PDQ, bank index into `banks`).
    pub hash_bank: Vec<([u8; 32], u16)>,
    pub banks: Vec<String>,
    /// Labels decided up to as-of, sorted by time.
    pub labels: Vec<Label>,
    pub stats: IngestStats,
}

impl Window {
    /// Frees the about, subject and description texts (the feature context keeps their
    /// hashed vectors): on ten million accounts they are a gigabyte or more.
    pub fn release_text(&mut self) {
        self.accounts.about = Vec::new();
        self.groups.subject = Vec::new();
        self.groups.description = Vec::new();
    }

    pub fn has_table(&self, table: &str) -> bool {
        !self.stats.absent_tables.iter().any(|t| t == table)
    }

    /// The latest label per entity decided before `cutoff_ms` (an upheld appeal turns a
    /// violating decision benign). Returns (accounts, groups): `Some(violating)` per index.
    pub fn latest_labels(&self, cutoff_ms: i64) -> (Vec<Option<bool>>, Vec<Option<bool>>) {
        let (acc, grp) = self.latest_labels_with_time(cutoff_ms);
        let strip = |v: Vec<Option<(bool, i64)>>| v.into_iter().map(|l| l.map(|l| l.0)).collect();
        (strip(acc), strip(grp))
    }

    /// As [`latest_labels`](Self::latest_labels), with each decision's time.
    pub fn latest_labels_with_time(&self, cutoff_ms: i64) -> (Vec<Option<(bool, i64)>>, Vec<Option<(bool, i64)>>) {
        let mut acc = vec![None; self.accounts.ids.len()];
        let mut grp = vec![None; self.groups.ids.len()];
        for l in self.labels.iter().filter(|l| l.ts < cutoff_ms) {
            let slot = if l.on_group { &mut grp[l.entity as usize] } else { &mut acc[l.entity as usize] };
            *slot = Some((l.violating, l.ts));
        }
        (acc, grp)
    }
}

/// Row numbers quarantined by validation, per file (relative path).
fn quarantined(report: &ValidationReport) -> HashMap<String, Vec<u32>> {
    let mut m: HashMap<String, Vec<u32>> = HashMap::new();
    for q in &report.quarantine {
        m.entry(q.file.clone()).or_default().push(q.row as u32);
    }
    m
}

/// Reads one table's files lazily into one frame with canonical types: ids UInt64, times
/// Int64 epoch ms, strings String, PDQ String (hex) or Binary, small ints Int64.
struct TableReader<'a> {
    ds: &'a Dataset,
    quarantine: &'a HashMap<String, Vec<u32>>,
    stats: &'a mut IngestStats,
}

impl TableReader<'_> {
    fn files(&self, table: &str) -> Option<Vec<DataFile>> {
        match self.ds.tables.get(table) {
            Some(TableLocation::Files(f)) => Some(f.clone()),
            _ => None,
        }
    }

    /// `time_range`: keep rows whose `time_col` lies in `[lo, hi)`; files whose statistics
    /// put every row outside are skipped.
    fn read(
        &mut self,
        table: &str,
        columns: &[&str],
        time_range: Option<(&str, i64, i64)>,
    ) -> Result<Option<DataFrame>, IngestError> {
        let Some(files) = self.files(table) else {
            self.stats.absent_tables.push(table.to_string());
            return Ok(None);
        };
        let clock = std::time::Instant::now();
        let schema = Contract::get().table(table);
        let mut pruned = 0u64;
        // Files with the same physical schema are scanned together: one lazy scan per schema,
        // not per file (a scan has a fixed cost that thousands of daily partitions would pay).
        let mut by_schema: BTreeMap<String, (Vec<Expr>, Vec<(DataFile, usize)>)> = BTreeMap::new();
        for f in &files {
            let err = |source: PolarsError| IngestError::Read { table: table.into(), file: f.rel.clone(), source };
            let (arrow, rows, outside) = File::open(&f.path)
                .map_err(PolarsError::from)
                .and_then(|h| {
                    let mut r = ParquetReader::new(h);
                    let outside = match time_range {
                        Some((tc, lo, hi)) => file_outside_window(r.get_metadata()?, tc, lo, hi),
                        None => false,
                    };
                    Ok((r.schema()?, r.num_rows()?, outside))
                })
                .map_err(err)?;
            if outside {
                pruned += 1;
                continue;
            }
            let mut exprs = Vec::new();
            let mut key = String::new();
            for &name in columns {
                let c = schema.column(name).expect("column of the contract");
                let field = arrow.get(name);
                key.push_str(&format!("{name}:{:?};", field.map(|f| &f.dtype)));
                let null = || lit(NULL).cast(canonical_dtype(c.ty)).alias(name);
                let e = match field {
                    None => null(),
                    Some(field) => match (c.ty, &field.dtype) {
                        (_, ArrowDataType::Null) => null(),
                        (LogicalType::Time, ArrowDataType::Timestamp(..)) => col(name)
                            .cast(DataType::Datetime(TimeUnit::Milliseconds, None))
                            .cast(DataType::Int64),
                        (LogicalType::Pdq, ArrowDataType::FixedSizeBinary(_)) => col(name),
                        (ty, _) => col(name).cast(canonical_dtype(ty)),
                    },
                };
                exprs.push(e);
            }
            // The whole physical schema is part of the key, not only the projected columns:
            // a multi-file scan rejects a file whose columns differ from the first file's, so
            // a file with an extra column (allowed by the contract) is scanned on its own.
            key.push_str(&format!("|{:?}", arrow.iter_names().collect::<Vec<_>>()));
            let entry = by_schema.entry(key).or_insert_with(|| (exprs, Vec::new()));
            entry.1.push((f.clone(), rows));
        }
        let mut frames = Vec::new();
        for (exprs, group) in by_schema.into_values() {
            let err = |source: PolarsError| IngestError::Read { table: table.into(), file: group[0].0.rel.clone(), source };
            // Quarantined rows by their row number across the scanned files.
            let mut bad: Vec<u32> = Vec::new();
            let mut offset = 0u64;
            let mut paths = Vec::with_capacity(group.len());
            for (f, rows) in &group {
                if let Some(rows_bad) = self.quarantine.get(&f.rel) {
                    bad.extend(rows_bad.iter().map(|&r| (offset + r as u64) as u32));
                }
                offset += *rows as u64;
                paths.push(PlRefPath::try_from_path(&f.path).map_err(err)?);
            }
            let args = ScanArgsParquet { hive_options: HiveOptions::new_disabled(), ..Default::default() };
            let mut lf = LazyFrame::scan_parquet_files(paths.into(), args).map_err(err)?;
            if !bad.is_empty() {
                let bad = Series::new("bad".into(), bad);
                lf = lf.with_row_index("__row", None).filter(col("__row").is_in(lit(bad).implode(false), false).not());
            }
            lf = lf.select(exprs);
            if let Some((tc, lo, hi)) = time_range {
                lf = lf.filter(col(tc).gt_eq(lit(lo)).and(col(tc).lt(lit(hi))));
            }
            let files = match group.len() {
                1 => group[0].0.rel.clone(),
                n => format!("{} (or one of the {} files scanned with it)", group[0].0.rel, n - 1),
            };
            let mut df = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lf.collect())) {
                Ok(r) => r.map_err(err)?,
                Err(payload) => {
                    let message = crate::validate::panic_message(payload.as_ref());
                    return Err(IngestError::Unreadable { table: table.into(), file: files, message });
                }
            };
            // FixedSizeBinary PDQs arrive as Binary; make every PDQ a hex string.
            for &name in columns {
                if schema.column(name).map(|c| c.ty) == Some(LogicalType::Pdq) {
                    let s = df.column(name).map_err(err)?;
                    if s.dtype() == &DataType::Binary {
                        let hex: Vec<Option<String>> = s
                            .binary()
                            .map_err(err)?
                            .iter()
                            .map(|b| b.map(|b| b.iter().map(|x| format!("{x:02x}")).collect()))
                            .collect();
                        df.replace(name, Column::new(name.into(), hex)).map_err(err)?;
                    }
                }
            }
            frames.push(df);
        }
        self.stats.files_skipped_by_statistics.insert(table.into(), pruned);
        let out = match frames.len() {
            0 => {
                let cols = columns
                    .iter()
                    .map(|&n| Column::full_null(n.into(), 0, &canonical_dtype(schema.column(n).expect("contract").ty)))
                    .collect();
                DataFrame::new(0, cols).expect("empty frame")
            }
            _ => {
                let mut it = frames.into_iter();
                let mut acc = it.next().expect("non-empty");
                for f in it {
                    acc.vstack_mut(&f).map_err(|source| IngestError::Read { table: table.into(), file: "(all)".into(), source })?;
                }
                acc
            }
        };
        // Not rechunked: that would copy the whole table once more, and every reader below
        // iterates chunk by chunk.
        tracing::debug!(table, rows = out.height(), seconds = clock.elapsed().as_secs_f64(), "table read");
        self.stats.rows_read.insert(table.into(), out.height() as u64);
        Ok(Some(out))
    }
}

/// Whether a file's footer statistics show every row's `time_col` outside `[lo, hi)` (epoch
/// ms), so the file need not be opened. False whenever that cannot be shown: a row group
/// without min/max statistics, a column missing or of a type whose unit is not known
/// (INT96, other logical types). The footer is already read, so this costs no I/O.
pub fn file_outside_window(meta: &FileMetadata, time_col: &str, lo: i64, hi: i64) -> bool {
    meta.row_groups.iter().all(|rg| {
        if rg.num_rows() == 0 {
            return true;
        }
        let chunk = rg.parquet_columns().iter().find(|c| {
            let path = &c.descriptor().path_in_schema;
            path.len() == 1 && path[0].as_str() == time_col
        });
        match chunk.and_then(|c| time_stats_ms(c, &meta.footer_buf)) {
            Some((min, max)) => max < lo || min >= hi,
            None => false,
        }
    })
}

/// A column chunk's (min, max) as epoch ms (floored), when its statistics hold both and its
/// type says the unit: a timestamp in ms, µs or ns, or a plain INT64 (epoch ms per the
/// contract).
fn time_stats_ms(chunk: &ColumnChunkMetadata, footer: &[u8]) -> Option<(i64, i64)> {
    use polars_parquet::parquet::schema::types::{PhysicalType, PrimitiveConvertedType as C, PrimitiveLogicalType as L, TimeUnit as U};
    use polars_parquet::parquet::statistics::Statistics;
    let ty = &chunk.descriptor().descriptor.primitive_type;
    if ty.physical_type != PhysicalType::Int64 {
        return None;
    }
    let per_ms: i64 = match (&ty.logical_type, &ty.converted_type) {
        (Some(L::Timestamp { unit: U::Milliseconds, .. }), _) => 1,
        (Some(L::Timestamp { unit: U::Microseconds, .. }), _) => 1_000,
        (Some(L::Timestamp { unit: U::Nanoseconds, .. }), _) => 1_000_000,
        (None, Some(C::TimestampMillis)) => 1,
        (None, Some(C::TimestampMicros)) => 1_000,
        (None, None) => 1,
        _ => return None,
    };
    match chunk.statistics(footer)? {
        Ok(Statistics::Int64(s)) => Some((s.min_value?.div_euclid(per_ms), s.max_value?.div_euclid(per_ms))),
        _ => None,
    }
}

fn canonical_dtype(ty: LogicalType) -> DataType {
    match ty {
        LogicalType::Id => DataType::UInt64,
        LogicalType::Time | LogicalType::SmallInt => DataType::Int64,
        LogicalType::Bool => DataType::Boolean,
        _ => DataType::String,
    }
}

fn parse_pdq(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Sorted unique ids → dense index lookup. Dense indices follow id order (so outputs sort
/// by id); lookups go through an open-addressing table, one probe sequence per id instead of
/// a binary search over millions of ids for every event row.
struct Interner {
    ids: Vec<u64>,
    /// Slot → dense index + 1 (0 = empty); capacity a power of two, at most half full.
    slots: Vec<u32>,
    mask: usize,
}

impl Interner {
    fn new(mut ids: Vec<u64>) -> Self {
        ids.par_sort_unstable();
        ids.dedup();
        let cap = (ids.len() * 2).next_power_of_two().max(16);
        let mask = cap - 1;
        let mut slots = vec![0u32; cap];
        for (i, &id) in ids.iter().enumerate() {
            let mut s = crate::units::mix64(id) as usize & mask;
            while slots[s] != 0 {
                s = (s + 1) & mask;
            }
            slots[s] = i as u32 + 1;
        }
        Interner { ids, slots, mask }
    }
    fn get(&self, id: u64) -> u32 {
        let mut s = crate::units::mix64(id) as usize & self.mask;
        loop {
            match self.slots[s] {
                0 => return NONE,
                k if self.ids[k as usize - 1] == id => return k - 1,
                _ => s = (s + 1) & self.mask,
            }
        }
    }
    fn opt(&self, id: Option<u64>) -> u32 {
        id.map_or(NONE, |i| self.get(i))
    }
}

/// The distinct non-null ids of the given (frame, column)s; absent frames are skipped. Each
/// column is sorted and deduplicated on its own first, so the concatenation holds each id at
/// most once per column rather than once per row.
fn gather_ids(sources: &[(Option<&DataFrame>, &str)]) -> PolarsResult<Vec<u64>> {
    let parts: Vec<Vec<u64>> = sources
        .par_iter()
        .filter_map(|&(df, c)| df.map(|df| (df, c)))
        .map(|(df, c)| {
            let mut v: Vec<u64> = df.column(c)?.u64()?.iter().flatten().collect();
            v.par_sort_unstable();
            v.dedup();
            v.shrink_to_fit();
            Ok(v)
        })
        .collect::<PolarsResult<_>>()?;
    Ok(parts.concat())
}

/// Rows per parallel task when a column is copied into typed rows.
const FILL_CHUNK: usize = 1 << 16;

macro_rules! fill_fn {
    ($name:ident, $get:ident, $item:ty) => {
        /// Sets one field of every row from a column, in parallel over fixed row ranges,
        /// then drops the column from the frame: the frame's memory goes as the rows fill,
        /// and no per-column intermediate vector is built.
        fn $name<T: Send>(rows: &mut [T], df: &mut DataFrame, name: &str, set: impl Fn(&mut T, $item) + Sync) -> PolarsResult<()> {
            {
                let ca = df.column(name)?.$get()?;
                rows.par_chunks_mut(FILL_CHUNK).enumerate().for_each(|(k, part)| {
                    let slice = ca.slice((k * FILL_CHUNK) as i64, part.len());
                    for (r, v) in part.iter_mut().zip(slice.iter()) {
                        set(r, v);
                    }
                });
            }
            df.drop_in_place(name)?;
            Ok(())
        }
    };
}
fill_fn!(fill_u64, u64, Option<u64>);
fill_fn!(fill_i64, i64, Option<i64>);
fill_fn!(fill_bool, bool, Option<bool>);
fill_fn!(fill_str, str, Option<&str>);

/// The position of `s` in `values`, `u8::MAX` when absent or null.
fn code(values: &[&str], s: Option<&str>) -> u8 {
    s.and_then(|s| values.iter().position(|v| *v == s)).map_or(u8::MAX, |p| p as u8)
}

/// A PDQ column (hex strings) parsed in parallel; malformed values are None.
fn pdqs(df: &DataFrame, c: &str) -> PolarsResult<Vec<Option<[u8; 32]>>> {
    let s = strs(df, c)?;
    Ok(s.par_iter().map(|p| p.as_deref().and_then(parse_pdq)).collect())
}

fn u64s(df: &DataFrame, c: &str) -> PolarsResult<Vec<Option<u64>>> {
    Ok(df.column(c)?.u64()?.iter().collect())
}
fn i64s(df: &DataFrame, c: &str) -> PolarsResult<Vec<Option<i64>>> {
    Ok(df.column(c)?.i64()?.iter().collect())
}
fn bools(df: &DataFrame, c: &str) -> PolarsResult<Vec<Option<bool>>> {
    Ok(df.column(c)?.bool()?.iter().collect())
}
fn strs(df: &DataFrame, c: &str) -> PolarsResult<Vec<Option<String>>> {
    Ok(df.column(c)?.str()?.iter().map(|s| s.map(str::to_string)).collect())
}
/// Ingests the window. `report` is the validation of the same input (its quarantine is
/// excluded); `ds` its discovered layout.
pub fn ingest(ds: &Dataset, report: &ValidationReport, spec: WindowSpec) -> Result<Window, IngestError> {
    let q = quarantined(report);
    let mut stats = IngestStats::default();
    let now = spec.now_ms();
    let start = spec.start_ms();
    let frames = {
        let mut r = TableReader { ds, quarantine: &q, stats: &mut stats };
        // Accounts and groups created after as-of do not exist yet.
        let existing = Some(("created_at", i64::MIN, now));
        let accounts = r.read("accounts", &["account_id", "created_at", "is_business", "about", "photo_pdq"], existing)?;
        let groups = r.read("groups", &["group_id", "created_at", "creator_id", "subject", "description", "photo_pdq"], existing)?;
        let memberships = r.read(
            "memberships",
            &["ts", "group_id", "account_id", "event", "method", "invite_link_id", "actor_id"],
            Some(("ts", i64::MIN, now)),
        )?;
        let links = r.read("invite_links", &["link_id", "group_id", "created_by", "created_at", "revoked_at"], Some(("created_at", i64::MIN, now)))?;
        let win = Some(("ts", start, now));
        let forwards = r.read(
            "forwards",
            &["ts", "sender_id", "src_group_id", "dst_group_id", "dst_account_id", "media_type", "media_fp", "frequently_forwarded", "action_id", "batch_size"],
            win,
        )?;
        let reports = r.read("reports", &["ts", "reporter_id", "target_kind", "target_id", "reason"], win)?;
        let blocks = r.read("blocks", &["ts", "blocker_id", "blocked_id", "unknown_contact"], win)?;
        let bank = r.read("hash_bank", &["pdq", "bank"], None)?;
        let labels = r.read("labels", &["entity_kind", "entity_id", "label", "ts", "source"], Some(("ts", i64::MIN, now)))?;
        (accounts, groups, memberships, links, forwards, reports, blocks, bank, labels)
    };
    let (accounts, groups, memberships, links, forwards, reports, blocks, bank, labels) = frames;
    let clock = std::time::Instant::now();
    let accounts = accounts.expect("required table validated");
    let groups = groups.expect("required table validated");
    let memberships = memberships.expect("required table validated");
    // Validation guarantees each required table has valid rows; if none is in the window, all
    // of them lie outside it (created or logged after as-of).
    let empty: Vec<(String, u64)> = [("accounts", &accounts), ("groups", &groups), ("memberships", &memberships)]
        .into_iter()
        .filter(|(_, df)| df.height() == 0)
        .map(|(t, _)| {
            let valid = report.table(t).map_or(0, |r| r.rows.saturating_sub(r.quarantined_rows));
            (t.to_string(), valid)
        })
        .collect();
    if !empty.is_empty() {
        let end = chrono::DateTime::from_timestamp_millis(now).map_or(now.to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
        let window = format!("created or logged before {end}, the end of as-of {}", spec.as_of);
        return Err(IngestError::EmptyWindow { window, tables: empty });
    }
    let w = build(accounts, groups, memberships, links, forwards, reports, blocks, bank, labels, now, start, stats);
    tracing::debug!(seconds = clock.elapsed().as_secs_f64(), "window built");
    w.map_err(|e| IngestError::Read { table: "(ingest)".into(), file: String::new(), source: e })
}

#[allow(clippy::too_many_arguments)]
fn build(
    accounts: DataFrame,
    groups: DataFrame,
    memberships: DataFrame,
    links: Option<DataFrame>,
    forwards: Option<DataFrame>,
    reports: Option<DataFrame>,
    blocks: Option<DataFrame>,
    bank: Option<DataFrame>,
    labels: Option<DataFrame>,
    now_ms: i64,
    start_ms: i64,
    mut stats: IngestStats,
) -> PolarsResult<Window> {
    // Account ids: the accounts table plus every account an event names (gathered column by
    // column in parallel; the interner sorts them, so the order of gathering does not matter).
    let known_accounts = accounts.column("account_id")?.u64()?.iter().flatten().count();
    let known_groups = groups.column("group_id")?.u64()?.iter().flatten().count();
    let mut acc_ids = gather_ids(&[
        (Some(&accounts), "account_id"),
        (Some(&groups), "creator_id"),
        (Some(&memberships), "account_id"),
        (Some(&memberships), "actor_id"),
        (links.as_ref(), "created_by"),
        (forwards.as_ref(), "sender_id"),
        (forwards.as_ref(), "dst_account_id"),
        (blocks.as_ref(), "blocker_id"),
        (blocks.as_ref(), "blocked_id"),
        (reports.as_ref(), "reporter_id"),
    ])?;
    let mut grp_ids = gather_ids(&[
        (Some(&groups), "group_id"),
        (Some(&memberships), "group_id"),
        (links.as_ref(), "group_id"),
        (forwards.as_ref(), "src_group_id"),
        (forwards.as_ref(), "dst_group_id"),
    ])?;
    if let Some(r) = &reports {
        let kinds = strs(r, "target_kind")?;
        for (k, t) in kinds.iter().zip(u64s(r, "target_id")?) {
            match (k.as_deref().and_then(EntityKind::parse), t) {
                (Some(EntityKind::Account), Some(t)) => acc_ids.push(t),
                (Some(EntityKind::Group), Some(t)) => grp_ids.push(t),
                _ => {}
            }
        }
    }
    let acc = Interner::new(acc_ids);
    let grp = Interner::new(grp_ids);
    stats.unknown_accounts = (acc.ids.len() - known_accounts) as u64;
    stats.unknown_groups = (grp.ids.len() - known_groups) as u64;

    let na = acc.ids.len();
    let mut a = Accounts {
        ids: acc.ids.clone(),
        known: vec![false; na],
        created_ms: vec![None; na],
        is_business: vec![None; na],
        about: vec![None; na],
        photo: vec![None; na],
    };
    {
        let ids = u64s(&accounts, "account_id")?;
        let created = i64s(&accounts, "created_at")?;
        let business = bools(&accounts, "is_business")?;
        let about = strs(&accounts, "about")?;
        let photo = pdqs(&accounts, "photo_pdq")?;
        let idx: Vec<u32> = ids.par_iter().map(|&id| acc.opt(id)).collect();
        for (k, about) in about.into_iter().enumerate() {
            let i = idx[k] as usize;
            if idx[k] == NONE {
                continue;
            }
            a.known[i] = true;
            a.created_ms[i] = created[k];
            a.is_business[i] = business[k];
            a.about[i] = about;
            a.photo[i] = photo[k];
        }
    }
    drop(accounts);
    let ng = grp.ids.len();
    let mut g = Groups {
        ids: grp.ids.clone(),
        known: vec![false; ng],
        created_ms: vec![None; ng],
        creator: vec![NONE; ng],
        subject: vec![None; ng],
        description: vec![None; ng],
        photo: vec![None; ng],
    };
    {
        let ids = u64s(&groups, "group_id")?;
        let created = i64s(&groups, "created_at")?;
        let creator = u64s(&groups, "creator_id")?;
        let subject = strs(&groups, "subject")?;
        let description = strs(&groups, "description")?;
        let photo = pdqs(&groups, "photo_pdq")?;
        let idx: Vec<(u32, u32)> = ids.par_iter().zip(&creator).map(|(&id, &c)| (grp.opt(id), acc.opt(c))).collect();
        for (k, (subject, description)) in subject.into_iter().zip(description).enumerate() {
            let (i, creator) = idx[k];
            if i == NONE {
                continue;
            }
            let i = i as usize;
            g.known[i] = true;
            g.created_ms[i] = created[k];
            g.creator[i] = creator;
            g.subject[i] = subject;
            g.description[i] = description;
            g.photo[i] = photo[k];
        }
    }
    drop(groups);

    // Invite links.
    let (link_ids, link_rows) = match &links {
        Some(l) => {
            let ids: Vec<u64> = u64s(l, "link_id")?.into_iter().map(|x| x.unwrap_or(0)).collect();
            let group = u64s(l, "group_id")?;
            let by = u64s(l, "created_by")?;
            let created = i64s(l, "created_at")?;
            let revoked = i64s(l, "revoked_at")?;
            let mut rows: Vec<(u64, InviteLink)> = (0..ids.len())
                .map(|k| {
                    (ids[k], InviteLink {
                        link: NONE,
                        group: grp.opt(group[k]),
                        created_by: acc.opt(by[k]),
                        created_ms: created[k].unwrap_or(0),
                        // A revocation after as-of has not happened yet.
                        revoked_ms: revoked[k].filter(|&r| r < now_ms),
                    })
                })
                .collect();
            rows.sort_by_key(|r| r.0);
            rows.dedup_by_key(|r| r.0);
            rows.into_iter().unzip()
        }
        None => (Vec::new(), Vec::new()),
    };
    // Link ids: the invite_links table plus every link a join names (a join through a link
    // with no invite_links row is still a join through a distinct link).
    let known_links = link_ids.len();
    let link_lookup = {
        let mut all = link_ids.clone();
        all.extend(gather_ids(&[(Some(&memberships), "invite_link_id")])?);
        Interner::new(all)
    };
    stats.unknown_links = (link_lookup.ids.len() - known_links) as u64;
    let link_rows: Vec<InviteLink> =
        link_ids.iter().zip(link_rows).map(|(&id, l)| InviteLink { link: link_lookup.get(id), ..l }).collect();

    // Each event table is copied column by column into its typed rows, each column dropped
    // once copied and the frame with it, so at most one table is held twice at a time.
    // Memberships: dedupe exact duplicates, sort per group by time.
    let mut m = {
        let mut df = memberships;
        let none = MembershipEvent { group: NONE, ts: 0, account: NONE, event: u8::MAX, method: method::NONE, link: NONE, actor: NONE };
        let mut m = vec![none; df.height()];
        fill_i64(&mut m, &mut df, "ts", |r, v| r.ts = v.unwrap_or(0))?;
        fill_u64(&mut m, &mut df, "group_id", |r, v| r.group = grp.opt(v))?;
        fill_u64(&mut m, &mut df, "account_id", |r, v| r.account = acc.opt(v))?;
        fill_str(&mut m, &mut df, "event", |r, v| r.event = code(&EVENTS, v))?;
        fill_str(&mut m, &mut df, "method", |r, v| r.method = code(&METHODS, v))?;
        fill_u64(&mut m, &mut df, "invite_link_id", |r, v| r.link = link_lookup.opt(v))?;
        fill_u64(&mut m, &mut df, "actor_id", |r, v| r.actor = acc.opt(v))?;
        m
    };
    // Every field is part of the order, so equal elements are identical: the parallel
    // unstable sort gives the same sequence whatever the thread count.
    m.par_sort_unstable();
    let before = m.len();
    m.dedup();
    m.shrink_to_fit();
    stats.duplicate_rows_dropped.insert("memberships".into(), (before - m.len()) as u64);

    let mut fw = Vec::new();
    if let Some(mut df) = forwards {
        let none = Forward {
            ts: 0, sender: NONE, src_group: NONE, dst_group: NONE, dst_account: NONE, media: None,
            media_fp: 0, frequently_forwarded: false, action: 0, batch_size: 1, present: 0,
        };
        fw = vec![none; df.height()];
        fill_i64(&mut fw, &mut df, "ts", |r, v| r.ts = v.unwrap_or(0))?;
        fill_u64(&mut fw, &mut df, "sender_id", |r, v| r.sender = acc.opt(v))?;
        fill_u64(&mut fw, &mut df, "src_group_id", |r, v| r.src_group = grp.opt(v))?;
        fill_u64(&mut fw, &mut df, "dst_group_id", |r, v| r.dst_group = grp.opt(v))?;
        fill_u64(&mut fw, &mut df, "dst_account_id", |r, v| r.dst_account = acc.opt(v))?;
        fill_str(&mut fw, &mut df, "media_type", |r, v| r.media = v.and_then(MediaType::parse))?;
        fill_u64(&mut fw, &mut df, "media_fp", |r, v| r.set_media_fp(v))?;
        fill_bool(&mut fw, &mut df, "frequently_forwarded", |r, v| r.frequently_forwarded = v.unwrap_or(false))?;
        fill_u64(&mut fw, &mut df, "action_id", |r, v| r.set_action(v))?;
        fill_i64(&mut fw, &mut df, "batch_size", |r, v| r.batch_size = v.unwrap_or(1).clamp(0, 255) as u8)?;
        drop(df);
        // The key is every field: the parallel sort's result does not depend on threads.
        let key = |x: &Forward| (x.ts, x.sender, x.src_group, x.dst_group, x.dst_account, x.media, x.media_fp(), x.frequently_forwarded, x.action(), x.batch_size);
        fw.par_sort_unstable_by_key(key);
        let before = fw.len();
        fw.dedup_by_key(|x| key(x));
        fw.shrink_to_fit();
        stats.duplicate_rows_dropped.insert("forwards".into(), (before - fw.len()) as u64);
    }
    let mut rp = Vec::new();
    if let Some(mut df) = reports {
        rp = vec![Report { ts: 0, reporter: NONE, on_group: false, target: NONE, reason: None }; df.height()];
        fill_i64(&mut rp, &mut df, "ts", |r, v| r.ts = v.unwrap_or(0))?;
        fill_u64(&mut rp, &mut df, "reporter_id", |r, v| r.reporter = acc.opt(v))?;
        fill_str(&mut rp, &mut df, "target_kind", |r, v| r.on_group = v.and_then(EntityKind::parse) == Some(EntityKind::Group))?;
        // The target's kind is known by now: the id is interned as a group's or an account's.
        fill_u64(&mut rp, &mut df, "target_id", |r, v| r.target = if r.on_group { grp.opt(v) } else { acc.opt(v) })?;
        fill_str(&mut rp, &mut df, "reason", |r, v| r.reason = v.and_then(ReportReason::parse))?;
        let key = |x: &Report| (x.ts, x.reporter, x.on_group, x.target, x.reason);
        rp.par_sort_unstable_by_key(key);
        let before = rp.len();
        rp.dedup_by_key(|x| key(x));
        stats.duplicate_rows_dropped.insert("reports".into(), (before - rp.len()) as u64);
    }
    let mut bl = Vec::new();
    if let Some(mut df) = blocks {
        bl = vec![Block { ts: 0, blocker: NONE, blocked: NONE, unknown_contact: false }; df.height()];
        fill_i64(&mut bl, &mut df, "ts", |r, v| r.ts = v.unwrap_or(0))?;
        fill_u64(&mut bl, &mut df, "blocker_id", |r, v| r.blocker = acc.opt(v))?;
        fill_u64(&mut bl, &mut df, "blocked_id", |r, v| r.blocked = acc.opt(v))?;
        fill_bool(&mut bl, &mut df, "unknown_contact", |r, v| r.unknown_contact = v.unwrap_or(false))?;
        let key = |x: &Block| (x.ts, x.blocker, x.blocked, x.unknown_contact);
        bl.par_sort_unstable_by_key(key);
        let before = bl.len();
        bl.dedup_by_key(|x| key(x));
        stats.duplicate_rows_dropped.insert("blocks".into(), (before - bl.len()) as u64);
    }
    let (mut hash_bank, mut banks) = (Vec::new(), Vec::new());
    if let Some(b) = &bank {
        let pdq = strs(b, "pdq")?;
        let name = strs(b, "bank")?;
        let mut names: Vec<String> = name.iter().flatten().cloned().collect();
        names.sort();
        names.dedup();
        for (p, n) in pdq.iter().zip(&name) {
            if let (Some(h), Some(n)) = (p.as_deref().and_then(parse_pdq), n) {
                let bi = names.binary_search(n).expect("bank name listed") as u16;
                hash_bank.push((h, bi));
            }
        }
        hash_bank.sort_unstable();
        hash_bank.dedup();
        banks = names;
    }
    let mut lb = Vec::new();
    if let Some(l) = &labels {
        let kind = strs(l, "entity_kind")?;
        let id = u64s(l, "entity_id")?;
        let label = strs(l, "label")?;
        let ts = i64s(l, "ts")?;
        let source: Vec<Option<LabelSource>> = l.column("source")?.str()?.iter().map(|v| v.and_then(LabelSource::parse)).collect();
        for k in 0..ts.len() {
            let on_group = kind[k].as_deref().and_then(EntityKind::parse) == Some(EntityKind::Group);
            let e = if on_group { grp.opt(id[k]) } else { acc.opt(id[k]) };
            if e == NONE {
                continue; // a label on an entity this window never saw
            }
            lb.push(Label { on_group, entity: e, violating: label[k].as_deref() == Some("violating"), ts: ts[k].unwrap_or(0), source: source[k] });
        }
        // Time order decides which label is the latest; ties by entity for determinism.
        lb.sort_by(|x, y| (x.ts, x.on_group, x.entity, x.violating).cmp(&(y.ts, y.on_group, y.entity, y.violating)));
    }
    Ok(Window {
        now_ms,
        start_ms,
        accounts: a,
        groups: g,
        link_ids: link_lookup.ids,
        links: link_rows,
        memberships: m,
        forwards: fw,
        reports: rp,
        blocks: bl,
        hash_bank,
        banks,
        labels: lb,
        stats,
    })
}

/// Convenience for tests and tools: discover, validate and ingest a folder.
pub fn load(input: &Path, spec: WindowSpec) -> anyhow::Result<(Window, ValidationReport)> {
    let ds = crate::layout::discover(input)?;
    let cfg = crate::validate::ValidateConfig::new(input.to_path_buf(), spec.as_of);
    let report = crate::validate::validate_dataset(&cfg, &ds);
    anyhow::ensure!(report.is_usable(), "input is unusable:\n{report}");
    let w = ingest(&ds, &report, spec)?;
    Ok((w, report))
}

/// What [`append_review_decisions`] did, for the run manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReviewStats {
    /// Decision rows decided up to as-of.
    pub decisions: u64,
    /// Labels added: on accounts, on groups directly, on groups through a cluster decision.
    pub account_labels: u64,
    pub group_labels: u64,
    pub group_labels_from_clusters: u64,
    /// Cluster decisions whose cluster is not in the previous run's `cluster_members`.
    pub unresolved_clusters: u64,
    /// Decisions on accounts or groups this window never saw.
    pub unknown_entities: u64,
}

/// Appends the optional `review_decisions` table to `w.labels` as labels of source `review`
/// at the decision's time (`confirmed` = violating, `dismissed` = benign), keeping the labels'
/// time order, so the latest decision or label per entity wins. A cluster decision becomes a
/// label on each group of that cluster, looked up in `cluster_groups` (cluster id → group ids,
/// from the previous run's `cluster_members`); one not found there is counted as unresolved.
pub fn append_review_decisions(
    w: &mut Window,
    ds: &Dataset,
    report: &ValidationReport,
    cluster_groups: &BTreeMap<u64, Vec<u64>>,
) -> Result<ReviewStats, IngestError> {
    let q = quarantined(report);
    let mut stats = IngestStats::default();
    let mut r = TableReader { ds, quarantine: &q, stats: &mut stats };
    let mut out = ReviewStats::default();
    let Some(df) = r.read("review_decisions", &["entity_kind", "entity_id", "decision", "ts"], Some(("ts", i64::MIN, w.now_ms)))? else {
        return Ok(out);
    };
    let err = |source| IngestError::Read { table: "review_decisions".into(), file: String::new(), source };
    let kind = strs(&df, "entity_kind").map_err(err)?;
    let id = u64s(&df, "entity_id").map_err(err)?;
    let decision = strs(&df, "decision").map_err(err)?;
    let ts = i64s(&df, "ts").map_err(err)?;
    for k in 0..ts.len() {
        let (Some(kind), Some(id), Some(ts)) = (kind[k].as_deref(), id[k], ts[k]) else { continue };
        out.decisions += 1;
        let violating = decision[k].as_deref() == Some("confirmed");
        let label = |on_group: bool, entity: usize| Label { on_group, entity: entity as u32, violating, ts, source: Some(LabelSource::Review) };
        // A decision on a cluster names neither kind.
        match EntityKind::parse(kind) {
            Some(EntityKind::Account) => match w.accounts.ids.binary_search(&id) {
                Ok(a) => {
                    w.labels.push(label(false, a));
                    out.account_labels += 1;
                }
                Err(_) => out.unknown_entities += 1,
            },
            Some(EntityKind::Group) => match w.groups.ids.binary_search(&id) {
                Ok(g) => {
                    w.labels.push(label(true, g));
                    out.group_labels += 1;
                }
                Err(_) => out.unknown_entities += 1,
            },
            None => match cluster_groups.get(&id) {
                Some(gs) => {
                    for g in gs.iter().filter_map(|g| w.groups.ids.binary_search(g).ok()) {
                        w.labels.push(label(true, g));
                        out.group_labels_from_clusters += 1;
                    }
                }
                None => out.unresolved_clusters += 1,
            },
        }
    }
    // The same order ingest gives the labels table.
    w.labels.sort_by(|x, y| (x.ts, x.on_group, x.entity, x.violating).cmp(&(y.ts, y.on_group, y.entity, y.violating)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = MS_PER_DAY;

    #[test]
    fn a_forward_row_is_48_bytes_and_keeps_its_optional_ids() {
        assert_eq!(std::mem::size_of::<Forward>(), 48);
        let mut f = Forward {
            ts: 0, sender: NONE, src_group: NONE, dst_group: NONE, dst_account: NONE, media: None,
            media_fp: 0, frequently_forwarded: false, action: 0, batch_size: 1, present: 0,
        };
        assert_eq!((f.media_fp(), f.action()), (None, None));
        f.set_media_fp(Some(0));
        f.set_action(Some(u64::MAX));
        assert_eq!((f.media_fp(), f.action()), (Some(0), Some(u64::MAX)));
        f.set_media_fp(None);
        assert_eq!((f.media_fp(), f.action()), (None, Some(u64::MAX)));
        // Spilled and read back, every field survives (media types too).
        use crate::spill::FixedRow;
        for (i, &m) in MediaType::ALL.iter().enumerate() {
            let g = Forward { ts: -(i as i64) - 1, media: Some(m), frequently_forwarded: i % 2 == 0, batch_size: i as u8, sender: 7, ..f };
            let mut b = [0u8; Forward::BYTES];
            g.put(&mut b);
            assert_eq!(Forward::get(&b), g);
        }
        let mut b = [0u8; Forward::BYTES];
        f.put(&mut b);
        assert_eq!(Forward::get(&b), f);
    }

    /// The footer of `df` written to a temporary file, with or without min/max statistics.
    fn footer(mut df: DataFrame, stats: bool) -> std::sync::Arc<FileMetadata> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let options = StatisticsOptions { min_value: stats, max_value: stats, ..StatisticsOptions::full() };
        ParquetWriter::new(File::create(&path).unwrap()).with_statistics(options).finish(&mut df).unwrap();
        ParquetReader::new(File::open(&path).unwrap()).get_metadata().unwrap().clone()
    }

    /// A frame whose `ts` holds days 10 and 12 (epoch ms) in the given type.
    fn frame(ty: Option<TimeUnit>) -> DataFrame {
        let (scale, dtype) = match ty {
            Some(TimeUnit::Milliseconds) => (1, DataType::Datetime(TimeUnit::Milliseconds, None)),
            Some(TimeUnit::Microseconds) => (1_000, DataType::Datetime(TimeUnit::Microseconds, None)),
            Some(TimeUnit::Nanoseconds) => (1_000_000, DataType::Datetime(TimeUnit::Nanoseconds, None)),
            None => (1, DataType::Int64),
        };
        let ts = Series::new("ts".into(), [10 * DAY * scale, 12 * DAY * scale]).cast(&dtype).unwrap();
        DataFrame::new(2, vec![ts.into()]).unwrap()
    }

    #[test]
    fn a_file_is_skipped_only_when_its_statistics_put_every_row_outside_the_window() {
        for ty in [Some(TimeUnit::Milliseconds), Some(TimeUnit::Microseconds), Some(TimeUnit::Nanoseconds), None] {
            let meta = footer(frame(ty), true);
            // [lo, hi): rows at the starts of days 10 and 12.
            assert!(file_outside_window(&meta, "ts", 12 * DAY + 1, 20 * DAY), "{ty:?}: after every row");
            assert!(file_outside_window(&meta, "ts", 0, 10 * DAY), "{ty:?}: before every row");
            assert!(!file_outside_window(&meta, "ts", 12 * DAY, 20 * DAY), "{ty:?}: the last row is in");
            assert!(!file_outside_window(&meta, "ts", 0, 10 * DAY + 1), "{ty:?}: the first row is in");
            assert!(!file_outside_window(&meta, "ts", 11 * DAY, 11 * DAY + 1), "{ty:?}: between rows, not provably empty");
            assert!(!file_outside_window(&meta, "created_at", 0, 1), "{ty:?}: no such column");
            // Without min/max statistics nothing can be shown: the file is read.
            let bare = footer(frame(ty), false);
            assert!(!file_outside_window(&bare, "ts", 12 * DAY + 1, 20 * DAY), "{ty:?}: no statistics");
        }
    }
}
