//! Bounded-memory table writers for the generator.
//!
//! Rows accumulate in column buffers; past a row budget they are flushed as one Parquet file
//! per `dt=` day (event tables) or one part file (entity tables). Memory is bounded by the
//! budget, not by the table, which is what lets `large` run in a few GB.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::DateTime;
use polars::prelude::*;

use crate::io::{col, frame, write_parquet_staged as write_parquet};

/// Epoch milliseconds written as a timestamp column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ms(pub i64);

/// Converts a buffer of one Rust type into a contract-typed column.
pub trait IntoColumn: Sized + Clone {
    fn column(name: &str, v: Vec<Self>) -> PolarsResult<Column>;
}

macro_rules! into_column {
    ($($t:ty => $f:path),* $(,)?) => {$(
        impl IntoColumn for $t {
            fn column(name: &str, v: Vec<Self>) -> PolarsResult<Column> { Ok($f(name, v)) }
        }
    )*};
}

into_column! {
    u64 => col::u64s,
    Option<u64> => col::opt_u64s,
    u8 => col::u8s,
    bool => col::bools,
    Option<bool> => col::opt_bools,
    String => col::strs,
    Option<String> => col::opt_strs,
    &'static str => col::static_strs,
    Option<&'static str> => col::opt_static_strs,
}

impl IntoColumn for Ms {
    fn column(name: &str, v: Vec<Self>) -> PolarsResult<Column> {
        col::times(name, v.into_iter().map(|m| m.0).collect())
    }
}

impl IntoColumn for Option<Ms> {
    fn column(name: &str, v: Vec<Self>) -> PolarsResult<Column> {
        col::opt_times(name, v.into_iter().map(|m| m.map(|m| m.0)).collect())
    }
}

/// A column-oriented row buffer for one table.
pub trait Rows: Default + Send {
    const TABLE: &'static str;
    fn len(&self) -> usize;
    /// Event time of row `i` (its `dt` partition).
    fn event_ms(&self, i: usize) -> i64;
    fn frame(&self, idx: &[usize]) -> PolarsResult<DataFrame>;
    fn append(&mut self, other: &mut Self);
}

/// Declares a row buffer whose field names are the table's column names, in contract order.
macro_rules! rows {
    ($name:ident, $table:literal, $ts:ident, { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Default)]
        pub struct $name { $(pub $field: Vec<$ty>),* }

        impl $name {
            #[allow(clippy::too_many_arguments)]
            pub fn push(&mut self, $($field: $ty),*) { $(self.$field.push($field);)* }

            /// The rows at `idx`, in that order.
            #[allow(dead_code)]
            pub fn select(&self, idx: &[usize]) -> Self {
                $name { $($field: idx.iter().map(|&i| self.$field[i].clone()).collect()),* }
            }
        }

        impl Rows for $name {
            const TABLE: &'static str = $table;
            fn len(&self) -> usize { self.$ts.len() }
            fn event_ms(&self, i: usize) -> i64 { self.$ts[i].0 }
            fn frame(&self, idx: &[usize]) -> PolarsResult<DataFrame> {
                frame(vec![$(
                    <$ty as IntoColumn>::column(
                        stringify!($field),
                        idx.iter().map(|&i| self.$field[i].clone()).collect(),
                    )?
                ),*])
            }
            fn append(&mut self, other: &mut Self) { $(self.$field.append(&mut other.$field);)* }
        }
    };
}

rows!(AccountRows, "accounts", created_at, {
    account_id: u64, created_at: Ms, country: Option<&'static str>, is_business: Option<bool>,
    about: Option<String>, photo_pdq: Option<String>,
});

rows!(GroupRows, "groups", created_at, {
    group_id: u64, created_at: Ms, creator_id: u64, subject: Option<String>,
    description: Option<String>, photo_pdq: Option<String>, admins_only_add: Option<bool>,
    join_approval: Option<bool>,
});

rows!(MembershipRows, "memberships", ts, {
    ts: Ms, group_id: u64, account_id: u64, event: &'static str, method: Option<&'static str>,
    invite_link_id: Option<u64>, actor_id: Option<u64>,
});

rows!(LinkRows, "invite_links", created_at, {
    link_id: u64, group_id: u64, created_by: u64, created_at: Ms, revoked_at: Option<Ms>,
});

rows!(ForwardRows, "forwards", ts, {
    ts: Ms, sender_id: u64, src_group_id: Option<u64>, dst_group_id: Option<u64>,
    dst_account_id: Option<u64>, media_type: &'static str, media_fp: Option<u64>,
    frequently_forwarded: bool, action_id: Option<u64>, batch_size: u8,
});

rows!(ReportRows, "reports", ts, {
    ts: Ms, reporter_id: u64, target_kind: &'static str, target_id: u64, reason: &'static str,
});

rows!(BlockRows, "blocks", ts, {
    ts: Ms, blocker_id: u64, blocked_id: u64, unknown_contact: bool,
});

rows!(LabelRows, "labels", ts, {
    entity_kind: &'static str, entity_id: u64, label: &'static str, ts: Ms,
    source: &'static str,
});

/// Rows and files written per table.
#[derive(Debug, Default)]
pub struct Counts {
    pub rows: BTreeMap<String, u64>,
    pub files: BTreeMap<String, u64>,
}

/// How a sink lays its files out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `<table>/dt=YYYY-MM-DD/part-NNNNN.parquet`
    DayPartitions,
    /// `<table>/part-NNNNN.parquet`
    Parts,
}

/// Writes one table in bounded chunks.
pub struct Sink<R: Rows> {
    dir: PathBuf,
    /// Distinguishes the files of different passes writing the same table.
    pass: &'static str,
    layout: Layout,
    budget: usize,
    flushes: u32,
    pub buf: R,
    rows: u64,
    files: u64,
}

impl<R: Rows> Sink<R> {
    pub fn new(input: &std::path::Path, pass: &'static str, layout: Layout, budget: usize) -> Self {
        Sink {
            dir: input.join(R::TABLE),
            pass,
            layout,
            budget,
            flushes: 0,
            buf: R::default(),
            rows: 0,
            files: 0,
        }
    }

    /// Moves `rows` into the buffer, flushing when it exceeds the budget.
    pub fn extend(&mut self, rows: &mut R) -> anyhow::Result<()> {
        self.buf.append(rows);
        if self.buf.len() >= self.budget {
            self.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> anyhow::Result<()> {
        let n = self.buf.len();
        if n == 0 {
            return Ok(());
        }
        let part = format!("part-{}{:05}.parquet", self.pass, self.flushes);
        match self.layout {
            Layout::Parts => {
                let idx: Vec<usize> = (0..n).collect();
                let mut df = self.buf.frame(&idx)?;
                write_parquet(&mut df, &self.dir.join(&part))?;
                self.files += 1;
            }
            Layout::DayPartitions => {
                // Stable sort by time keeps generation order among equal timestamps.
                let mut idx: Vec<usize> = (0..n).collect();
                idx.sort_by_key(|&i| self.buf.event_ms(i));
                let day = |i: usize| self.buf.event_ms(i).div_euclid(super::MS_PER_DAY);
                let mut start = 0;
                while start < n {
                    let d = day(idx[start]);
                    let mut end = start;
                    while end < n && day(idx[end]) == d {
                        end += 1;
                    }
                    let date = DateTime::from_timestamp_millis(d * super::MS_PER_DAY)
                        .expect("generated times are in range")
                        .date_naive();
                    let mut df = self.buf.frame(&idx[start..end])?;
                    let path = self.dir.join(format!("dt={date}")).join(&part);
                    write_parquet(&mut df, &path)?;
                    self.files += 1;
                    start = end;
                }
            }
        }
        self.rows += n as u64;
        self.flushes += 1;
        self.buf = R::default();
        Ok(())
    }

    /// Flushes what is left and records the counts.
    pub fn finish(mut self, counts: &mut Counts) -> anyhow::Result<()> {
        self.flush()?;
        *counts.rows.entry(R::TABLE.to_string()).or_default() += self.rows;
        *counts.files.entry(R::TABLE.to_string()).or_default() += self.files;
        Ok(())
    }
}
