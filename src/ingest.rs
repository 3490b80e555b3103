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
//! Tables are read one at a time, each converted into its typed rows and its frame dropped
//! before the next is read: holding every table's frames until all ids were known made
//! ingest peak at 16 GiB on 10M accounts. Until the last table is read, rows hold provisional
//! indices ([`Pending`]): an id of the accounts or groups table (read first) is its position
//! there, any other (and every link id) is numbered among that event table's own such ids.
//! Then all ids are interned and the rows renumbered in place, before the event tables are
//! sorted. Reports and labels, small, are converted last, against the final ids.
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

/// The ids of one kind (accounts, groups or invite links) while the tables are read one at a
/// time. The base is the ids of the entity's own table when it is read first (accounts,
/// groups; links have none). Other tables' rows hold provisional indices until every table is
/// read: an id of the base its position there, any other `base.len()` plus its position among
/// that table's ids missing from the base. [`Pending::finish`] then interns all of them in
/// sorted order.
struct Pending {
    base: Interner,
    /// Per table registered with [`Pending::add`], its ids missing from `base`.
    extra: Vec<Interner>,
}

impl Pending {
    fn new(base: Vec<u64>) -> Self {
        Pending { base: Interner::new(base), extra: Vec::new() }
    }

    /// Registers a table's ids (repeats allowed); returns the table's slot, for
    /// [`Pending::lookup`] and [`Dense::table`].
    fn add(&mut self, ids: Vec<u64>) -> usize {
        let base = &self.base;
        let extra: Vec<u64> = ids.into_par_iter().filter(|&id| base.get(id) == NONE).collect();
        self.extra.push(Interner::new(extra));
        self.extra.len() - 1
    }

    /// Provisional indices for the rows of table `slot`; an id it did not register is NONE.
    fn lookup(&self, slot: usize) -> Lookup<'_> {
        Lookup { base: &self.base, extra: &self.extra[slot] }
    }

    /// Interns every id (the base's, each table's, and `more`: ids no row holds provisionally)
    /// in sorted order, with the map from provisional to dense indices.
    fn finish(self, more: Vec<u64>) -> (Interner, Dense) {
        let mut all = more;
        all.extend_from_slice(&self.base.ids);
        for e in &self.extra {
            all.extend_from_slice(&e.ids);
        }
        let ids = Interner::new(all);
        let dense = |from: &Interner| -> Vec<u32> { from.ids.par_iter().map(|&id| ids.get(id)).collect() };
        let map = Dense { base: dense(&self.base), extra: self.extra.iter().map(dense).collect(), moved: ids.ids.len() != self.base.ids.len() };
        (ids, map)
    }
}

/// One table's provisional index of an id (see [`Pending`]).
#[derive(Clone, Copy)]
struct Lookup<'a> {
    base: &'a Interner,
    extra: &'a Interner,
}

impl Lookup<'_> {
    fn opt(&self, id: Option<u64>) -> u32 {
        let Some(id) = id else { return NONE };
        match self.base.get(id) {
            NONE => match self.extra.get(id) {
                NONE => NONE,
                e => self.base.ids.len() as u32 + e,
            },
            b => b,
        }
    }
}

/// Provisional indices of one kind to dense ones (from [`Pending::finish`]).
struct Dense {
    /// Dense index per base position: increasing, and never below the position.
    base: Vec<u32>,
    /// Per table, the dense index of each of its ids missing from the base.
    extra: Vec<Vec<u32>>,
    /// False when every provisional index is already dense (every id is in the base).
    moved: bool,
}

impl Dense {
    fn table(&self, slot: usize) -> Remap<'_> {
        Remap { base: &self.base, extra: &self.extra[slot] }
    }
}

/// One table's provisional → dense map.
#[derive(Clone, Copy)]
struct Remap<'a> {
    base: &'a [u32],
    extra: &'a [u32],
}

impl Remap<'_> {
    fn get(&self, v: u32) -> u32 {
        match v as usize {
            _ if v == NONE => NONE,
            i if i < self.base.len() => self.base[i],
            i => self.extra[i - self.base.len()],
        }
    }
}

/// `v`, one value per base position, moved to its dense positions (`to`, [`Dense::base`]) in
/// a vector of `n`, `fill` elsewhere. In place, from the last value down: `to` is increasing
/// and `to[b] >= b`, so a value never lands on one not yet moved.
fn spread<T: Clone>(mut v: Vec<T>, to: &[u32], n: usize, fill: T) -> Vec<T> {
    v.resize(n, fill);
    for (b, &d) in to.iter().enumerate().rev() {
        v.swap(b, d as usize);
    }
    v
}

/// The distinct non-null ids of a frame's columns. Each column is sorted and deduplicated on
/// its own first (in parallel), so the concatenation holds each id at most once per column
/// rather than once per row.
fn gather_ids(df: &DataFrame, columns: &[&str]) -> PolarsResult<Vec<u64>> {
    let parts: Vec<Vec<u64>> = columns
        .par_iter()
        .map(|&c| {
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
    // Converting a frame the reader has typed fails only on a logic error.
    let logic = |source: PolarsError| IngestError::Read { table: "(ingest)".into(), file: String::new(), source };
    let mut empty = Vec::new();
    let tables = {
        let mut r = TableReader { ds, quarantine: &q, stats: &mut stats };
        let mut required = |table: &'static str, df: Option<DataFrame>| {
            let df = df.expect("required table validated");
            if df.height() == 0 {
                empty.push(table);
            }
            df
        };
        // Accounts and groups created after as-of do not exist yet.
        let existing = Some(("created_at", i64::MIN, now));
        let df = required("accounts", r.read("accounts", &["account_id", "created_at", "is_business", "about", "photo_pdq"], existing)?);
        let (known_accounts, mut acc, accounts) = timed("accounts", || accounts_of(df)).map_err(logic)?;
        let df = required("groups", r.read("groups", &["group_id", "created_at", "creator_id", "subject", "description", "photo_pdq"], existing)?);
        let (known_groups, mut grp, groups) = timed("groups", || groups_of(df, &mut acc)).map_err(logic)?;
        let df = required(
            "memberships",
            r.read("memberships", &["ts", "group_id", "account_id", "event", "method", "invite_link_id", "actor_id"], Some(("ts", i64::MIN, now)))?,
        );
        let mut link = Pending::new(Vec::new());
        let memberships = timed("memberships", || memberships_of(df, &mut acc, &mut grp, &mut link)).map_err(logic)?;
        let links = r
            .read("invite_links", &["link_id", "group_id", "created_by", "created_at", "revoked_at"], Some(("created_at", i64::MIN, now)))?
            .map(|df| timed("invite_links", || links_of(df, &mut acc, &mut grp, now)))
            .transpose()
            .map_err(logic)?;
        let win = Some(("ts", start, now));
        let forwards = r
            .read(
                "forwards",
                &["ts", "sender_id", "src_group_id", "dst_group_id", "dst_account_id", "media_type", "media_fp", "frequently_forwarded", "action_id", "batch_size"],
                win,
            )?
            .map(|df| timed("forwards", || forwards_of(df, &mut acc, &mut grp)))
            .transpose()
            .map_err(logic)?;
        let reports = r.read("reports", &["ts", "reporter_id", "target_kind", "target_id", "reason"], win)?;
        let blocks = r
            .read("blocks", &["ts", "blocker_id", "blocked_id", "unknown_contact"], win)?
            .map(|df| timed("blocks", || blocks_of(df, &mut acc)))
            .transpose()
            .map_err(logic)?;
        let bank = r.read("hash_bank", &["pdq", "bank"], None)?.map(|df| bank_of(&df)).transpose().map_err(logic)?;
        let labels = r.read("labels", &["entity_kind", "entity_id", "label", "ts", "source"], Some(("ts", i64::MIN, now)))?;
        Tables { acc, grp, link, known_accounts, known_groups, accounts, groups, memberships, links, forwards, reports, blocks, bank, labels }
    };
    // Validation guarantees each required table has valid rows; if none is in the window, all
    // of them lie outside it (created or logged after as-of).
    if !empty.is_empty() {
        let tables = empty
            .into_iter()
            .map(|t| (t.to_string(), report.table(t).map_or(0, |r| r.rows.saturating_sub(r.quarantined_rows))))
            .collect();
        let end = chrono::DateTime::from_timestamp_millis(now).map_or(now.to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
        let window = format!("created or logged before {end}, the end of as-of {}", spec.as_of);
        return Err(IngestError::EmptyWindow { window, tables });
    }
    let clock = std::time::Instant::now();
    let w = build(tables, now, start, stats);
    tracing::debug!(seconds = clock.elapsed().as_secs_f64(), "window built");
    w.map_err(logic)
}

/// One table's conversion into rows, timed in the debug log.
fn timed<T>(table: &str, convert: impl FnOnce() -> PolarsResult<T>) -> PolarsResult<T> {
    let clock = std::time::Instant::now();
    let out = convert();
    tracing::debug!(table, seconds = clock.elapsed().as_secs_f64(), "rows built");
    out
}

/// Every table of the window as read: converted into rows with provisional ids (each slot is
/// the table's in [`Pending`]), but for reports and labels, which are small and wait for the
/// final ids (a report's target of neither kind and a label's entity are looked up, not
/// interned).
struct Tables {
    acc: Pending,
    grp: Pending,
    link: Pending,
    /// Non-null ids in the accounts and groups tables.
    known_accounts: usize,
    known_groups: usize,
    /// One per account base position.
    accounts: Accounts,
    /// One per group base position, and the slot of their creators.
    groups: (Groups, usize),
    /// Slots: accounts, groups, links.
    memberships: (Vec<MembershipEvent>, [usize; 3]),
    /// Link ids as read, their rows, slots: accounts, groups.
    links: Option<(Vec<u64>, Vec<InviteLink>, [usize; 2])>,
    /// Slots: accounts, groups.
    forwards: Option<(Vec<Forward>, [usize; 2])>,
    reports: Option<DataFrame>,
    blocks: Option<(Vec<Block>, usize)>,
    bank: Option<(Vec<([u8; 32], u16)>, Vec<String>)>,
    labels: Option<DataFrame>,
}

/// An entity table's count of non-null ids, and its ids as the base of their kind.
fn entity_ids(df: &DataFrame, id: &str) -> PolarsResult<(usize, Pending)> {
    let known = df.column(id)?.u64()?.iter().flatten().count();
    Ok((known, Pending::new(gather_ids(df, &[id])?)))
}

/// The accounts table: [`entity_ids`] and the attributes by base position.
fn accounts_of(df: DataFrame) -> PolarsResult<(usize, Pending, Accounts)> {
    let (known, acc) = entity_ids(&df, "account_id")?;
    let (at, n) = (base_positions(&df, "account_id", &acc)?, acc.base.ids.len());
    let a = Accounts {
        ids: Vec::new(),
        known: scatter(vec![true; at.len()], &at, n, false),
        created_ms: scatter(i64s(&df, "created_at")?, &at, n, None),
        is_business: scatter(bools(&df, "is_business")?, &at, n, None),
        about: scatter(strs(&df, "about")?, &at, n, None),
        photo: scatter(pdqs(&df, "photo_pdq")?, &at, n, None),
    };
    Ok((known, acc, a))
}

/// The groups table, as [`accounts_of`]; creators provisional, with their slot.
fn groups_of(df: DataFrame, acc: &mut Pending) -> PolarsResult<(usize, Pending, (Groups, usize))> {
    let (known, grp) = entity_ids(&df, "group_id")?;
    let (at, n) = (base_positions(&df, "group_id", &grp)?, grp.base.ids.len());
    let slot = acc.add(gather_ids(&df, &["creator_id"])?);
    let creators = acc.lookup(slot);
    let creator: Vec<u32> = u64s(&df, "creator_id")?.par_iter().map(|&c| creators.opt(c)).collect();
    let g = Groups {
        ids: Vec::new(),
        known: scatter(vec![true; at.len()], &at, n, false),
        created_ms: scatter(i64s(&df, "created_at")?, &at, n, None),
        creator: scatter(creator, &at, n, NONE),
        subject: scatter(strs(&df, "subject")?, &at, n, None),
        description: scatter(strs(&df, "description")?, &at, n, None),
        photo: scatter(pdqs(&df, "photo_pdq")?, &at, n, None),
    };
    Ok((known, grp, (g, slot)))
}

/// Each row's base position (NONE for a null id).
fn base_positions(df: &DataFrame, id: &str, ids: &Pending) -> PolarsResult<Vec<u32>> {
    Ok(u64s(df, id)?.par_iter().map(|&id| ids.base.opt(id)).collect())
}

/// One column's values moved to their rows' positions `at` (a NONE position skipped, a later
/// row winning) in a vector of `n`, `fill` elsewhere.
fn scatter<T: Clone>(values: Vec<T>, at: &[u32], n: usize, fill: T) -> Vec<T> {
    let mut out = vec![fill; n];
    for (v, &i) in values.into_iter().zip(at) {
        if i != NONE {
            out[i as usize] = v;
        }
    }
    out
}

// Each event table is copied column by column into its typed rows, each column dropped once
// copied and the frame with it.

/// Membership rows, unsorted, ids provisional.
fn memberships_of(mut df: DataFrame, acc: &mut Pending, grp: &mut Pending, link: &mut Pending) -> PolarsResult<(Vec<MembershipEvent>, [usize; 3])> {
    let slots = [
        acc.add(gather_ids(&df, &["account_id", "actor_id"])?),
        grp.add(gather_ids(&df, &["group_id"])?),
        link.add(gather_ids(&df, &["invite_link_id"])?),
    ];
    let (acc, grp, link) = (acc.lookup(slots[0]), grp.lookup(slots[1]), link.lookup(slots[2]));
    let none = MembershipEvent { group: NONE, ts: 0, account: NONE, event: u8::MAX, method: method::NONE, link: NONE, actor: NONE };
    let mut m = vec![none; df.height()];
    fill_i64(&mut m, &mut df, "ts", |r, v| r.ts = v.unwrap_or(0))?;
    fill_u64(&mut m, &mut df, "group_id", |r, v| r.group = grp.opt(v))?;
    fill_u64(&mut m, &mut df, "account_id", |r, v| r.account = acc.opt(v))?;
    fill_str(&mut m, &mut df, "event", |r, v| r.event = code(&EVENTS, v))?;
    fill_str(&mut m, &mut df, "method", |r, v| r.method = code(&METHODS, v))?;
    fill_u64(&mut m, &mut df, "invite_link_id", |r, v| r.link = link.opt(v))?;
    fill_u64(&mut m, &mut df, "actor_id", |r, v| r.actor = acc.opt(v))?;
    Ok((m, slots))
}

/// The invite_links rows by link id (the first row of a repeated id kept), their ids as read
/// (null as 0), groups and creators provisional.
fn links_of(df: DataFrame, acc: &mut Pending, grp: &mut Pending, now_ms: i64) -> PolarsResult<(Vec<u64>, Vec<InviteLink>, [usize; 2])> {
    let slots = [acc.add(gather_ids(&df, &["created_by"])?), grp.add(gather_ids(&df, &["group_id"])?)];
    let (acc, grp) = (acc.lookup(slots[0]), grp.lookup(slots[1]));
    let ids: Vec<u64> = u64s(&df, "link_id")?.into_iter().map(|x| x.unwrap_or(0)).collect();
    let group = u64s(&df, "group_id")?;
    let by = u64s(&df, "created_by")?;
    let created = i64s(&df, "created_at")?;
    let revoked = i64s(&df, "revoked_at")?;
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
    let (ids, rows) = rows.into_iter().unzip();
    Ok((ids, rows, slots))
}

/// Forward rows, unsorted, ids provisional.
fn forwards_of(mut df: DataFrame, acc: &mut Pending, grp: &mut Pending) -> PolarsResult<(Vec<Forward>, [usize; 2])> {
    let slots = [acc.add(gather_ids(&df, &["sender_id", "dst_account_id"])?), grp.add(gather_ids(&df, &["src_group_id", "dst_group_id"])?)];
    let (acc, grp) = (acc.lookup(slots[0]), grp.lookup(slots[1]));
    let none = Forward {
        ts: 0, sender: NONE, src_group: NONE, dst_group: NONE, dst_account: NONE, media: None,
        media_fp: 0, frequently_forwarded: false, action: 0, batch_size: 1, present: 0,
    };
    let mut fw = vec![none; df.height()];
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
    Ok((fw, slots))
}

/// Block rows, unsorted, ids provisional.
fn blocks_of(mut df: DataFrame, acc: &mut Pending) -> PolarsResult<(Vec<Block>, usize)> {
    let slot = acc.add(gather_ids(&df, &["blocker_id", "blocked_id"])?);
    let acc = acc.lookup(slot);
    let mut bl = vec![Block { ts: 0, blocker: NONE, blocked: NONE, unknown_contact: false }; df.height()];
    fill_i64(&mut bl, &mut df, "ts", |r, v| r.ts = v.unwrap_or(0))?;
    fill_u64(&mut bl, &mut df, "blocker_id", |r, v| r.blocker = acc.opt(v))?;
    fill_u64(&mut bl, &mut df, "blocked_id", |r, v| r.blocked = acc.opt(v))?;
    fill_bool(&mut bl, &mut df, "unknown_contact", |r, v| r.unknown_contact = v.unwrap_or(false))?;
    Ok((bl, slot))
}

/// The hash bank's entries (sorted, deduplicated) and bank names (sorted).
fn bank_of(b: &DataFrame) -> PolarsResult<(Vec<([u8; 32], u16)>, Vec<String>)> {
    let pdq = strs(b, "pdq")?;
    let name = strs(b, "bank")?;
    let mut names: Vec<String> = name.iter().flatten().cloned().collect();
    names.sort();
    names.dedup();
    let mut hash_bank = Vec::new();
    for (p, n) in pdq.iter().zip(&name) {
        if let (Some(h), Some(n)) = (p.as_deref().and_then(parse_pdq), n) {
            let bi = names.binary_search(n).expect("bank name listed") as u16;
            hash_bank.push((h, bi));
        }
    }
    hash_bank.sort_unstable();
    hash_bank.dedup();
    Ok((hash_bank, names))
}

/// The ids a reports table names, (accounts, groups): reporters, and targets by their kind.
fn report_ids(r: &DataFrame) -> PolarsResult<(Vec<u64>, Vec<u64>)> {
    let mut acc = gather_ids(r, &["reporter_id"])?;
    let mut grp = Vec::new();
    let kinds = strs(r, "target_kind")?;
    for (k, t) in kinds.iter().zip(u64s(r, "target_id")?) {
        match (k.as_deref().and_then(EntityKind::parse), t) {
            (Some(EntityKind::Account), Some(t)) => acc.push(t),
            (Some(EntityKind::Group), Some(t)) => grp.push(t),
            _ => {}
        }
    }
    Ok((acc, grp))
}

/// Report rows, unsorted, with dense ids.
fn reports_of(mut df: DataFrame, acc: &Interner, grp: &Interner) -> PolarsResult<Vec<Report>> {
    let mut rp = vec![Report { ts: 0, reporter: NONE, on_group: false, target: NONE, reason: None }; df.height()];
    fill_i64(&mut rp, &mut df, "ts", |r, v| r.ts = v.unwrap_or(0))?;
    fill_u64(&mut rp, &mut df, "reporter_id", |r, v| r.reporter = acc.opt(v))?;
    fill_str(&mut rp, &mut df, "target_kind", |r, v| r.on_group = v.and_then(EntityKind::parse) == Some(EntityKind::Group))?;
    // The target's kind is known by now: the id is interned as a group's or an account's.
    fill_u64(&mut rp, &mut df, "target_id", |r, v| r.target = if r.on_group { grp.opt(v) } else { acc.opt(v) })?;
    fill_str(&mut rp, &mut df, "reason", |r, v| r.reason = v.and_then(ReportReason::parse))?;
    Ok(rp)
}

/// Labels on entities the window has, in time order.
fn labels_of(l: &DataFrame, acc: &Interner, grp: &Interner) -> PolarsResult<Vec<Label>> {
    let kind = strs(l, "entity_kind")?;
    let id = u64s(l, "entity_id")?;
    let label = strs(l, "label")?;
    let ts = i64s(l, "ts")?;
    let source: Vec<Option<LabelSource>> = l.column("source")?.str()?.iter().map(|v| v.and_then(LabelSource::parse)).collect();
    let mut lb = Vec::new();
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
    Ok(lb)
}

/// Sorts a table's rows by `key`, drops repeated rows and counts them. The key is every field,
/// so equal keys are identical rows: the parallel unstable sort gives the same sequence
/// whatever the thread count.
fn sort_dedup<T: Send, K: Ord>(rows: &mut Vec<T>, key: impl Fn(&T) -> K + Sync, table: &str, stats: &mut IngestStats) {
    rows.par_sort_unstable_by_key(&key);
    let before = rows.len();
    rows.dedup_by_key(|x| key(x));
    rows.shrink_to_fit();
    stats.duplicate_rows_dropped.insert(table.into(), (before - rows.len()) as u64);
}

/// The window from its tables: every id interned in sorted order, the rows' provisional ids
/// made dense, the event tables sorted and deduplicated.
fn build(t: Tables, now_ms: i64, start_ms: i64, mut stats: IngestStats) -> PolarsResult<Window> {
    let Tables { acc, grp, link, known_accounts, known_groups, accounts, groups, memberships, links, forwards, reports, blocks, bank, labels } = t;
    // Account and group ids: their tables, every account and group an event names, reports'
    // included. Link ids: the invite_links table plus every link a join names (a join through
    // a link with no invite_links row is still a join through a distinct link).
    let (acc_more, grp_more) = match &reports {
        Some(r) => report_ids(r)?,
        None => (Vec::new(), Vec::new()),
    };
    let (acc, ad) = acc.finish(acc_more);
    let (grp, gd) = grp.finish(grp_more);
    let (link_ids, link_rows, link_slots) = match links {
        Some((ids, rows, slots)) => (ids, rows, Some(slots)),
        None => (Vec::new(), Vec::new(), None),
    };
    let (link, ld) = link.finish(link_ids.clone());
    stats.unknown_accounts = (acc.ids.len() - known_accounts) as u64;
    stats.unknown_groups = (grp.ids.len() - known_groups) as u64;
    stats.unknown_links = (link.ids.len() - link_ids.len()) as u64;

    let na = acc.ids.len();
    let a = Accounts {
        ids: acc.ids.clone(),
        known: spread(accounts.known, &ad.base, na, false),
        created_ms: spread(accounts.created_ms, &ad.base, na, None),
        is_business: spread(accounts.is_business, &ad.base, na, None),
        about: spread(accounts.about, &ad.base, na, None),
        photo: spread(accounts.photo, &ad.base, na, None),
    };
    let (mut groups, creators) = groups;
    if ad.moved {
        let to = ad.table(creators);
        groups.creator.par_iter_mut().for_each(|c| *c = to.get(*c));
    }
    let ng = grp.ids.len();
    let g = Groups {
        ids: grp.ids.clone(),
        known: spread(groups.known, &gd.base, ng, false),
        created_ms: spread(groups.created_ms, &gd.base, ng, None),
        creator: spread(groups.creator, &gd.base, ng, NONE),
        subject: spread(groups.subject, &gd.base, ng, None),
        description: spread(groups.description, &gd.base, ng, None),
        photo: spread(groups.photo, &gd.base, ng, None),
    };
    let link_rows: Vec<InviteLink> = match link_slots {
        Some([sa, sg]) => {
            let (a, g) = (ad.table(sa), gd.table(sg));
            link_ids
                .iter()
                .zip(link_rows)
                .map(|(&id, l)| InviteLink { link: link.get(id), group: g.get(l.group), created_by: a.get(l.created_by), ..l })
                .collect()
        }
        None => Vec::new(),
    };

    // Memberships: full history, sorted per group by time.
    let (mut m, [sa, sg, sl]) = memberships;
    if ad.moved || gd.moved || ld.moved {
        let (a, g, l) = (ad.table(sa), gd.table(sg), ld.table(sl));
        m.par_iter_mut().for_each(|e| {
            e.group = g.get(e.group);
            e.account = a.get(e.account);
            e.link = l.get(e.link);
            e.actor = a.get(e.actor);
        });
    }
    sort_dedup(&mut m, |x| *x, "memberships", &mut stats);

    let mut fw = Vec::new();
    if let Some((rows, [sa, sg])) = forwards {
        fw = rows;
        if ad.moved || gd.moved {
            let (a, g) = (ad.table(sa), gd.table(sg));
            fw.par_iter_mut().for_each(|f| {
                f.sender = a.get(f.sender);
                f.src_group = g.get(f.src_group);
                f.dst_group = g.get(f.dst_group);
                f.dst_account = a.get(f.dst_account);
            });
        }
        let key = |x: &Forward| (x.ts, x.sender, x.src_group, x.dst_group, x.dst_account, x.media, x.media_fp(), x.frequently_forwarded, x.action(), x.batch_size);
        sort_dedup(&mut fw, key, "forwards", &mut stats);
    }
    let mut rp = Vec::new();
    if let Some(df) = reports {
        rp = reports_of(df, &acc, &grp)?;
        sort_dedup(&mut rp, |x| (x.ts, x.reporter, x.on_group, x.target, x.reason), "reports", &mut stats);
    }
    let mut bl = Vec::new();
    if let Some((rows, sa)) = blocks {
        bl = rows;
        if ad.moved {
            let a = ad.table(sa);
            bl.par_iter_mut().for_each(|b| {
                b.blocker = a.get(b.blocker);
                b.blocked = a.get(b.blocked);
            });
        }
        sort_dedup(&mut bl, |x| (x.ts, x.blocker, x.blocked, x.unknown_contact), "blocks", &mut stats);
    }
    let (hash_bank, banks) = bank.unwrap_or_default();
    let lb = match &labels {
        Some(l) => labels_of(l, &acc, &grp)?,
        None => Vec::new(),
    };
    Ok(Window {
        now_ms,
        start_ms,
        accounts: a,
        groups: g,
        link_ids: link.ids,
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

    #[test]
    fn provisional_ids_end_as_the_dense_indices_of_interning_all_at_once() {
        let mut p = Pending::new(vec![50, 10, 30, 10]);
        let t0 = p.add(vec![30, 20, 60, 20]);
        let t1 = p.add(vec![5, 50]);
        let named = [(t0, 30), (t0, 20), (t0, 60), (t1, 5), (t1, 50)];
        let provisional: Vec<u32> = named.iter().map(|&(t, id)| p.lookup(t).opt(Some(id))).collect();
        assert_eq!(provisional, [1, 3, 4, 3, 2]);
        assert_eq!((p.lookup(t0).opt(None), p.lookup(t1).opt(Some(20))), (NONE, NONE));
        // 40: an id no row holds provisionally (a report's, say).
        let (ids, dense) = p.finish(vec![40]);
        assert_eq!(ids.ids, [5, 10, 20, 30, 40, 50, 60]);
        assert!(dense.moved);
        for (&(t, id), &v) in named.iter().zip(&provisional) {
            assert_eq!(dense.table(t).get(v), ids.get(id), "id {id}");
        }
        assert_eq!(dense.table(t0).get(NONE), NONE);
        // Attributes by base position (ids 10, 30, 50) land on their dense positions.
        assert_eq!(spread(vec!["10", "30", "50"], &dense.base, ids.ids.len(), "-"), ["-", "10", "-", "30", "-", "50", "-"]);
        // Every id in the base: nothing moves.
        let mut p = Pending::new(vec![7, 3]);
        let t = p.add(vec![7]);
        let v = p.lookup(t).opt(Some(7));
        let (ids, dense) = p.finish(vec![3]);
        assert!(!dense.moved);
        assert_eq!((v, dense.table(t).get(v), ids.get(7)), (1, 1, 1));
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
