//! The validator against broken datasets.
//!
//! Each test copies one small generated dataset (600 accounts, 14 days of events, fixed seed)
//! into its own temporary folder, breaks exactly one thing, validates as of 2026-11-24 and
//! asserts on the report: a table-level problem is a `fatal` entry naming table, file and
//! column; a row-level problem is exactly one quarantined row naming table, file, row and
//! column, and the dataset stays usable. The `cli` module runs the `groupwatch validate`
//! binary for its exit codes. A test changes only its own copy: the pristine dataset is
//! generated once per test process and shared.

mod support {
    use std::fs::{self, File};
    use std::path::{Path, PathBuf};
    use std::sync::OnceLock;

    use chrono::NaiveDate;
    use groupwatch::synth::{generate, Scale, SynthConfig};
    use groupwatch::validate::{validate, Fatal, QuarantineRow, ValidateConfig, ValidationReport};
    use polars::prelude::*;
    use tempfile::TempDir;

    pub const SEED: u64 = 11;

    pub fn as_of() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
    }

    /// Generates a dataset (its `input/` folder is the dataset) into `out`.
    fn generate_into(out: &Path) {
        let mut cfg = SynthConfig::new(Scale::Tiny, SEED, as_of(), out.to_path_buf());
        cfg.accounts = 600;
        cfg.window_days = 14; // fewer event files to copy per test
        generate(&cfg).expect("synthetic dataset");
    }

    /// The pristine dataset, generated once per test process. It lives under cargo's
    /// per-target scratch folder, named by process id; folders of finished runs are swept
    /// on the next run (statics are never dropped, so a `TempDir` here would leak).
    pub fn pristine() -> &'static Path {
        static DIR: OnceLock<PathBuf> = OnceLock::new();
        DIR.get_or_init(|| {
            let scratch = Path::new(env!("CARGO_TARGET_TMPDIR"));
            fs::create_dir_all(scratch).unwrap();
            for entry in fs::read_dir(scratch).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix("validate-fixture-") {
                    if !Path::new("/proc").join(pid).exists() {
                        let _ = fs::remove_dir_all(entry.path());
                    }
                }
            }
            let out = scratch.join(format!("validate-fixture-{}", std::process::id()));
            let _ = fs::remove_dir_all(&out);
            generate_into(&out);
            out.join("input")
        })
    }

    fn copy_dir(src: &Path, dst: &Path) {
        fs::create_dir_all(dst).unwrap();
        for entry in fs::read_dir(src).unwrap() {
            let entry = entry.unwrap();
            let to = dst.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &to);
            } else {
                fs::copy(entry.path(), &to).unwrap();
            }
        }
    }

    /// A private copy of the pristine dataset.
    pub struct Dataset {
        _dir: TempDir,
        pub input: PathBuf,
    }

    pub fn dataset() -> Dataset {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input");
        copy_dir(pristine(), &input);
        Dataset { _dir: dir, input }
    }

    impl Dataset {
        pub fn path(&self, rel: &str) -> PathBuf {
            self.input.join(rel)
        }

        /// Relative paths of a table's Parquet files, sorted (as the validator reports them).
        pub fn files(&self, table: &str) -> Vec<String> {
            fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
                for e in fs::read_dir(dir).unwrap().flatten() {
                    let name = e.file_name().to_string_lossy().into_owned();
                    let child = format!("{rel}/{name}");
                    if name.starts_with('_') || name.starts_with('.') {
                        continue;
                    } else if e.file_type().unwrap().is_dir() {
                        walk(&e.path(), &child, out);
                    } else if name.ends_with(".parquet") {
                        out.push(child);
                    }
                }
            }
            let mut out = Vec::new();
            walk(&self.path(table), table, &mut out);
            out.sort();
            assert!(!out.is_empty(), "the fixture has no {table} files");
            out
        }

        /// The first file of `table` (sorted by path) with at least `min_rows` rows.
        pub fn file_with_rows(&self, table: &str, min_rows: usize) -> String {
            self.files(table)
                .into_iter()
                .find(|f| self.read(f).height() >= min_rows)
                .unwrap_or_else(|| panic!("no {table} file with {min_rows} rows"))
        }

        pub fn read(&self, rel: &str) -> DataFrame {
            ParquetReader::new(File::open(self.path(rel)).unwrap()).finish().unwrap()
        }

        pub fn write(&self, rel: &str, mut df: DataFrame) {
            groupwatch::io::write_parquet(&mut df, &self.path(rel)).unwrap();
        }

        /// Reads a file, changes it and writes it back in place.
        pub fn edit(&self, rel: &str, f: impl FnOnce(&mut DataFrame)) {
            let mut df = self.read(rel);
            f(&mut df);
            self.write(rel, df);
        }

        pub fn validate(&self) -> ValidationReport {
            self.validate_with(|_| {})
        }

        pub fn validate_with(&self, tweak: impl FnOnce(&mut ValidateConfig)) -> ValidationReport {
            let mut cfg = ValidateConfig::new(self.input.clone(), as_of());
            tweak(&mut cfg);
            validate(&cfg).expect("the input folder exists")
        }
    }

    // Column access and replacement.

    pub fn u64s(df: &DataFrame, name: &str) -> Vec<Option<u64>> {
        df.column(name).unwrap().u64().unwrap().iter().collect()
    }

    pub fn strs(df: &DataFrame, name: &str) -> Vec<Option<String>> {
        df.column(name).unwrap().str().unwrap().iter().map(|v| v.map(str::to_string)).collect()
    }

    /// A time column as epoch milliseconds.
    pub fn millis(df: &DataFrame, name: &str) -> Vec<Option<i64>> {
        let c = df.column(name).unwrap().cast(&DataType::Datetime(TimeUnit::Milliseconds, None)).unwrap();
        c.datetime().unwrap().physical().iter().collect()
    }

    /// Adds `c`, or replaces the column of the same name in place.
    pub fn put(df: &mut DataFrame, c: Column) {
        df.with_column(c).unwrap();
    }

    pub fn put_u64s(df: &mut DataFrame, name: &str, v: Vec<Option<u64>>) {
        put(df, Column::new(name.into(), v));
    }

    pub fn put_strs(df: &mut DataFrame, name: &str, v: Vec<Option<String>>) {
        put(df, Column::new(name.into(), v));
    }

    pub fn put_millis(df: &mut DataFrame, name: &str, v: Vec<Option<i64>>) {
        put(df, groupwatch::io::col::opt_times(name, v).unwrap());
    }

    /// Epoch milliseconds of a UTC date and time.
    pub fn ms(y: i32, m: u32, d: u32, h: u32) -> i64 {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, 0, 0).unwrap().and_utc().timestamp_millis()
    }

    // Assertions.

    /// Asserts that `report` has a fatal problem for exactly this table, file and column.
    #[track_caller]
    pub fn assert_fatal<'r>(
        report: &'r ValidationReport,
        table: &str,
        file: Option<&str>,
        column: Option<&str>,
    ) -> &'r Fatal {
        assert!(!report.is_usable(), "expected a fatal problem; report:\n{report}");
        report
            .fatal
            .iter()
            .find(|f| f.table == table && f.file.as_deref() == file && f.column.as_deref() == column)
            .unwrap_or_else(|| {
                panic!("no fatal problem for table {table}, file {file:?}, column {column:?}; got {:#?}", report.fatal)
            })
    }

    /// Asserts that the only fatal problems concern `table` (nothing else was disturbed).
    #[track_caller]
    pub fn assert_fatal_only_for(report: &ValidationReport, table: &str) {
        let others: Vec<_> = report.fatal.iter().filter(|f| f.table != table).collect();
        assert!(others.is_empty(), "unexpected fatal problems: {others:#?}");
    }

    /// Asserts that the dataset is usable and exactly one row was quarantined: this one.
    #[track_caller]
    pub fn assert_quarantined_only<'r>(
        report: &'r ValidationReport,
        table: &str,
        file: &str,
        row: u64,
        column: Option<&str>,
        reason_mentions: &[&str],
    ) -> &'r QuarantineRow {
        assert!(report.is_usable(), "expected a usable dataset; fatal: {:#?}", report.fatal);
        assert_eq!(report.quarantine.len(), 1, "expected one quarantined row, got {:#?}", report.quarantine);
        let q = &report.quarantine[0];
        assert_eq!(
            (q.table.as_str(), q.file.as_str(), q.row, q.column.as_deref()),
            (table, file, row, column),
            "quarantined row: {q:#?}"
        );
        for word in reason_mentions {
            assert!(q.reason.contains(word), "reason {:?} does not mention {word:?}", q.reason);
        }
        let t = report.table(table).unwrap();
        assert_eq!(t.quarantined_rows, 1);
        for issue in t.row_issues.values() {
            assert!(issue.examples.iter().all(|e| e == q), "{:#?}", t.row_issues);
        }
        q
    }

    /// Asserts that the dataset is usable with nothing quarantined.
    #[track_caller]
    pub fn assert_clean(report: &ValidationReport) {
        assert!(report.is_usable(), "fatal: {:#?}", report.fatal);
        assert!(report.quarantine.is_empty(), "quarantined: {:#?}", report.quarantine);
    }
}

use std::fs;

use groupwatch::validate::validate;
use polars::prelude::*;
use support::*;

#[test]
fn fresh_dataset_is_valid() {
    // The pristine copy is generated by this test process, so a generator change is seen.
    let cfg = groupwatch::validate::ValidateConfig::new(pristine().to_path_buf(), as_of());
    let report = validate(&cfg).unwrap();
    assert_clean(&report);
    // Tables beyond the contract page (reviewer decisions) are optional and not generated.
    let extension = |t: &str| groupwatch::schema::Contract::get().table(t).extension;
    for t in report.tables.iter().filter(|t| !extension(&t.table)) {
        assert_eq!(t.status, "present", "{}", t.table);
        assert!(t.rows > 0, "{} is empty", t.table);
        assert_eq!(t.duplicate_rows, 0, "{}", t.table);
        assert!(t.notes.is_empty(), "{}: {:?}", t.table, t.notes);
        assert!(t.warnings.is_empty() && t.rows_outside_their_dt_folder.is_empty(), "{}: {:?}", t.table, t.warnings);
    }
    assert!(report.unknown_entries.is_empty(), "{:?}", report.unknown_entries);
}

// ---- Table-level problems: fatal -------------------------------------------------------

#[test]
fn missing_required_table_is_fatal() {
    let ds = dataset();
    fs::remove_dir_all(ds.path("accounts")).unwrap();
    let report = ds.validate();
    let f = assert_fatal(&report, "accounts", None, None);
    assert!(f.message.contains("missing"), "{f}");
    assert_fatal_only_for(&report, "accounts");
    assert_eq!(report.table("accounts").unwrap().status, "missing");
}

#[test]
fn missing_optional_table_is_usable() {
    let ds = dataset();
    fs::remove_dir_all(ds.path("blocks")).unwrap();
    let report = ds.validate();
    assert_clean(&report);
    assert_eq!(report.table("blocks").unwrap().status, "missing");
}

#[test]
fn missing_non_null_column_is_fatal() {
    let ds = dataset();
    let file = ds.file_with_rows("memberships", 1);
    ds.edit(&file, |df| {
        df.drop_in_place("event").unwrap();
    });
    let report = ds.validate();
    let f = assert_fatal(&report, "memberships", Some(&file), Some("event"));
    assert!(f.message.contains("missing"), "{f}");
    assert_fatal_only_for(&report, "memberships");
}

#[test]
fn timestamp_written_as_string_is_fatal() {
    let ds = dataset();
    let file = ds.files("groups")[0].clone();
    ds.edit(&file, |df| {
        let text = millis(df, "created_at").into_iter().map(|v| v.map(|m| m.to_string())).collect();
        put_strs(df, "created_at", text);
    });
    let report = ds.validate();
    assert_fatal(&report, "groups", Some(&file), Some("created_at"));
    assert_fatal_only_for(&report, "groups");
}

#[test]
fn id_written_as_float_is_fatal() {
    let ds = dataset();
    let file = ds.file_with_rows("memberships", 1);
    ds.edit(&file, |df| {
        let c = df.column("group_id").unwrap().cast(&DataType::Float64).unwrap();
        put(df, c);
    });
    let report = ds.validate();
    let f = assert_fatal(&report, "memberships", Some(&file), Some("group_id"));
    assert!(f.message.contains("Float64"), "{f}");
    assert_fatal_only_for(&report, "memberships");
}

#[test]
fn duplicate_primary_key_across_files_is_fatal() {
    let ds = dataset();
    let file = ds.files("groups")[0].clone();
    let df = ds.read(&file);
    let key = u64s(&df, "group_id")[5].unwrap();
    ds.write("groups/part-zz-extra.parquet", df.slice(5, 1));
    let report = ds.validate();
    let f = assert_fatal(&report, "groups", None, Some("group_id"));
    assert!(f.message.contains(&key.to_string()), "{f}");
    assert!(f.message.contains(&file) && f.message.contains("groups/part-zz-extra.parquet"), "{f}");
    assert_fatal_only_for(&report, "groups");
}

#[test]
fn duplicate_primary_key_within_a_file_is_fatal() {
    let ds = dataset();
    let file = ds.files("accounts")[0].clone();
    let mut key = 0;
    ds.edit(&file, |df| {
        let mut ids = u64s(df, "account_id");
        key = ids[3].unwrap();
        ids[10] = Some(key);
        put_u64s(df, "account_id", ids);
    });
    let report = ds.validate();
    let f = assert_fatal(&report, "accounts", None, Some("account_id"));
    assert!(f.message.contains(&key.to_string()), "{f}");
    assert!(f.message.contains("row 3") && f.message.contains("row 10"), "{f}");
}

#[test]
fn duplicate_key_above_i64_max_is_shown_unsigned() {
    // Ids use the full uint64 range; an int64 file elsewhere in the table must not make
    // the example key print as a negative number.
    let ds = dataset();
    let file = ds.files("groups")[0].clone();
    let df = ds.read(&file);
    let ids = u64s(&df, "group_id");
    let row = ids.iter().position(|k| k.unwrap() > i64::MAX as u64).expect("a large id") as i64;
    let key = ids[row as usize].unwrap();
    ds.write("groups/part-zz-dup.parquet", df.slice(row, 1));
    let mut signed = df.slice(0, 1);
    put(&mut signed, Column::new("group_id".into(), vec![12_345i64]));
    ds.write("groups/part-zz-signed.parquet", signed);
    let report = ds.validate();
    let f = assert_fatal(&report, "groups", None, Some("group_id"));
    assert!(f.message.contains(&format!("group_id = {key} ")), "{f}");
}

#[test]
fn empty_required_table_is_fatal() {
    let ds = dataset();
    let files = ds.files("groups");
    for f in &files {
        ds.edit(f, |df| *df = df.clear());
    }
    let report = ds.validate();
    let f = assert_fatal(&report, "groups", None, None);
    assert!(f.message.contains("zero rows"), "{f}");
    assert_fatal_only_for(&report, "groups");
}

#[test]
fn required_table_with_every_row_quarantined_is_fatal() {
    let ds = dataset();
    let files = ds.files("groups");
    for f in &files {
        ds.edit(f, |df| {
            let n = df.height();
            put_u64s(df, "creator_id", vec![None; n]);
        });
    }
    let report = ds.validate();
    let f = assert_fatal(&report, "groups", None, None);
    assert!(f.message.contains("quarantined"), "{f}");
    assert_fatal_only_for(&report, "groups");
}

#[test]
fn empty_optional_table_is_usable() {
    let ds = dataset();
    let files = ds.files("reports");
    let empty = ds.read(&files[0]).clear();
    fs::remove_dir_all(ds.path("reports")).unwrap();
    ds.write("reports/part-00000.parquet", empty);
    let report = ds.validate();
    assert_clean(&report);
    let t = report.table("reports").unwrap();
    assert_eq!((t.status, t.files, t.rows), ("present", 1, 0));
    assert!(t.notes.iter().any(|n| n.contains("empty")), "{:?}", t.notes);
}

#[test]
fn truncated_file_is_fatal() {
    let ds = dataset();
    let file = ds.file_with_rows("memberships", 20);
    let bytes = fs::read(ds.path(&file)).unwrap();
    fs::write(ds.path(&file), &bytes[..bytes.len() / 2]).unwrap();
    let report = ds.validate();
    let f = assert_fatal(&report, "memberships", Some(&file), None);
    assert!(f.message.contains("truncated"), "{f}");
    assert_fatal_only_for(&report, "memberships");
}

#[test]
fn zero_byte_file_is_fatal() {
    let ds = dataset();
    let file = ds.file_with_rows("memberships", 1);
    fs::write(ds.path(&file), b"").unwrap();
    let report = ds.validate();
    let f = assert_fatal(&report, "memberships", Some(&file), None);
    assert!(f.message.contains("empty"), "{f}");
}

#[test]
fn random_bytes_between_parquet_magic_are_fatal() {
    let ds = dataset();
    let file = ds.file_with_rows("memberships", 1);
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        state = groupwatch::synth::mix64(state);
        state
    };
    for len in [0usize, 1, 4, 8, 100, 4096] {
        let mut bytes = b"PAR1".to_vec();
        bytes.extend((0..len).map(|_| next() as u8));
        bytes.extend(b"PAR1");
        fs::write(ds.path(&file), &bytes).unwrap();
        let report = ds.validate();
        assert_fatal(&report, "memberships", Some(&file), None);
        assert_fatal_only_for(&report, "memberships");
    }
}

#[test]
fn corrupted_bytes_never_panic() {
    // Flip bytes throughout a real file: every outcome is allowed (fatal, quarantine, or
    // even unnoticed if the byte was padding) except a panic or a fatal without the file.
    // Only the accounts table is kept (as a single file), so each round is quick; the other
    // required tables are then missing, which is fatal but not what is looked at here.
    let ds = dataset();
    let original = fs::read(ds.path(&ds.files("accounts")[0])).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("accounts.parquet");
    let cfg = groupwatch::validate::ValidateConfig::new(dir.path().to_path_buf(), as_of());
    let mut outcomes = [0usize; 3]; // fatal, quarantined, unnoticed
    for k in 0..80 {
        let pos = k * (original.len() - 1) / 79;
        let mut bytes = original.clone();
        bytes[pos] ^= 0x5a;
        fs::write(&target, &bytes).unwrap();
        let report = validate(&cfg).unwrap();
        let fatal: Vec<_> = report.fatal.iter().filter(|f| f.table == "accounts").collect();
        for f in &fatal {
            assert_eq!(f.file.as_deref(), Some("accounts.parquet"), "byte {pos}: {f}");
        }
        outcomes[if !fatal.is_empty() { 0 } else if !report.quarantine.is_empty() { 1 } else { 2 }] += 1;
    }
    eprintln!("corrupted accounts file: {} fatal, {} quarantined, {} unnoticed", outcomes[0], outcomes[1], outcomes[2]);
}

#[test]
fn non_parquet_file_in_table_folder_is_fatal() {
    let ds = dataset();
    fs::write(ds.path("memberships/notes.txt"), "exported by hand, see ticket 42\n").unwrap();
    let report = ds.validate();
    let f = assert_fatal(&report, "memberships", Some("memberships/notes.txt"), None);
    assert!(f.message.contains("not a Parquet file"), "{f}");
    assert_fatal_only_for(&report, "memberships");
}

#[test]
fn success_markers_crc_files_and_temporary_folders_are_ignored() {
    let ds = dataset();
    let before: usize = ds.files("memberships").iter().map(|f| ds.read(f).height()).sum();
    let file = ds.file_with_rows("memberships", 1);
    let partition = file.rsplit_once('/').unwrap().0.to_string();
    fs::write(ds.path("memberships/_SUCCESS"), b"").unwrap();
    fs::write(ds.path(&format!("{partition}/_SUCCESS")), b"ok").unwrap();
    fs::write(ds.path(&format!("{partition}/.part-00000.parquet.crc")), b"crc bytes").unwrap();
    fs::create_dir_all(ds.path("memberships/_temporary/0/task_1")).unwrap();
    fs::write(ds.path("memberships/_temporary/0/task_1/part-0.parquet"), b"half written").unwrap();
    fs::write(ds.path("_SUCCESS"), b"").unwrap();
    let report = ds.validate();
    assert_clean(&report);
    assert_eq!(report.table("memberships").unwrap().rows, before as u64);
}

#[test]
fn table_as_both_folder_and_file_is_fatal() {
    let ds = dataset();
    let file = ds.files("accounts")[0].clone();
    fs::copy(ds.path(&file), ds.path("accounts.parquet")).unwrap();
    let report = ds.validate();
    let f = assert_fatal(&report, "accounts", None, None);
    assert!(f.message.contains("accounts/") && f.message.contains("accounts.parquet"), "{f}");
    assert_fatal_only_for(&report, "accounts");
}

#[test]
fn table_as_single_file_is_read() {
    let ds = dataset();
    let file = ds.files("groups")[0].clone();
    let rows = ds.read(&file).height() as u64;
    fs::rename(ds.path(&file), ds.path("groups.parquet")).unwrap();
    fs::remove_dir_all(ds.path("groups")).unwrap();
    let report = ds.validate();
    assert_clean(&report);
    assert_eq!(report.table("groups").unwrap().rows, rows);
}

#[test]
fn invalid_partition_folder_is_fatal() {
    let ds = dataset();
    let file = ds.file_with_rows("memberships", 1);
    fs::create_dir_all(ds.path("memberships/dt=2026-13-45")).unwrap();
    fs::copy(ds.path(&file), ds.path("memberships/dt=2026-13-45/part-00000.parquet")).unwrap();
    let report = ds.validate();
    let f = report
        .fatal
        .iter()
        .find(|f| f.table == "memberships" && f.message.contains("memberships/dt=2026-13-45"))
        .unwrap_or_else(|| panic!("{:#?}", report.fatal));
    assert!(f.message.contains("dt=YYYY-MM-DD"), "{f}");
    assert_fatal_only_for(&report, "memberships");
}

#[test]
fn unexpected_sub_folder_is_fatal() {
    let ds = dataset();
    fs::create_dir_all(ds.path("groups/backup")).unwrap();
    let report = ds.validate();
    assert!(report.fatal.iter().any(|f| f.table == "groups" && f.message.contains("groups/backup")), "{:#?}", report.fatal);
}

// ---- Tolerated differences: usable, with notes ------------------------------------------

#[test]
fn extra_column_is_noted() {
    let ds = dataset();
    let file = ds.files("accounts")[0].clone();
    ds.edit(&file, |df| {
        let n = df.height();
        put(df, Column::new("client_version".into(), vec!["2.26.1"; n]));
    });
    let report = ds.validate();
    assert_clean(&report);
    let notes = &report.table("accounts").unwrap().notes;
    assert!(notes.iter().any(|n| n.contains("client_version") && n.contains(&file)), "{notes:?}");
}

#[test]
fn absent_nullable_column_is_noted() {
    let ds = dataset();
    let file = ds.files("accounts")[0].clone();
    ds.edit(&file, |df| {
        df.drop_in_place("about").unwrap();
    });
    let report = ds.validate();
    assert_clean(&report);
    let notes = &report.table("accounts").unwrap().notes;
    assert!(notes.iter().any(|n| n.contains("about") && n.contains(&file)), "{notes:?}");
}

#[test]
fn event_date_outside_its_partition_is_a_warning_naming_the_folder() {
    let ds = dataset();
    let files = ds.files("memberships");
    let (from, to) = (&files[0], &files[files.len() - 1]);
    let folder = to.rsplit_once('/').unwrap().0.to_string();
    let moved = format!("{folder}/part-zz-moved.parquet");
    let rows = ds.read(from).height();
    fs::rename(ds.path(from), ds.path(&moved)).unwrap();
    let report = ds.validate();
    assert_clean(&report);
    let t = report.table("memberships").unwrap();
    assert_eq!(t.rows_outside_their_dt_folder, std::collections::BTreeMap::from([(folder.clone(), rows as u64)]));
    assert!(t.warnings.iter().any(|w| w.contains(&format!("{folder}/")) && w.contains(&format!("{rows} row(s)"))), "{:?}", t.warnings);
    assert!(report.to_string().contains(&format!("warning: memberships: {rows} row(s) in {folder}/")), "{report}");
}

#[test]
fn exact_duplicate_row_is_counted_not_fatal() {
    let ds = dataset();
    let file = ds.file_with_rows("memberships", 3);
    ds.edit(&file, |df| {
        let copy = df.slice(1, 1);
        df.vstack_mut(&copy).unwrap();
    });
    let report = ds.validate();
    assert_clean(&report);
    let t = report.table("memberships").unwrap();
    assert_eq!(t.duplicate_rows, 1);
    assert!(t.notes.iter().any(|n| n.contains("duplicate")), "{:?}", t.notes);
}

#[test]
fn duplicate_rows_across_files_are_counted() {
    let ds = dataset();
    let file = ds.file_with_rows("blocks", 1);
    let df = ds.read(&file);
    let partition = file.rsplit_once('/').unwrap().0.to_string();
    ds.write(&format!("{partition}/part-zz-replay.parquet"), df.clone());
    let report = ds.validate();
    assert_clean(&report);
    assert_eq!(report.table("blocks").unwrap().duplicate_rows, df.height() as u64);
}

#[test]
fn duplicate_rows_in_int64_and_uint64_files_are_counted() {
    let ds = dataset();
    let small = |v: Option<u64>| v.is_some_and(|x| x <= i64::MAX as u64);
    let (file, row) = ds
        .files("blocks")
        .into_iter()
        .find_map(|f| {
            let df = ds.read(&f);
            let (a, b) = (u64s(&df, "blocker_id"), u64s(&df, "blocked_id"));
            (0..df.height()).find(|&i| small(a[i]) && small(b[i])).map(|i| (f, i as i64))
        })
        .expect("a block between two ids below 2^63");
    let mut copy = ds.read(&file).slice(row, 1);
    for name in ["blocker_id", "blocked_id"] {
        let c = copy.column(name).unwrap().strict_cast(&DataType::Int64).unwrap();
        put(&mut copy, c);
    }
    let partition = file.rsplit_once('/').unwrap().0.to_string();
    ds.write(&format!("{partition}/part-zz-signed.parquet"), copy);
    let report = ds.validate();
    assert_clean(&report);
    assert_eq!(report.table("blocks").unwrap().duplicate_rows, 1);
}

#[test]
fn duplicate_rows_with_an_absent_nullable_column_are_counted() {
    // A `leave` has no method, link or actor: a copy without those columns is the same row.
    let ds = dataset();
    let (file, row) = ds
        .files("memberships")
        .into_iter()
        .find_map(|f| {
            let df = ds.read(&f);
            let (m, l, a) = (strs(&df, "method"), u64s(&df, "invite_link_id"), u64s(&df, "actor_id"));
            (0..df.height()).find(|&i| m[i].is_none() && l[i].is_none() && a[i].is_none()).map(|i| (f, i as i64))
        })
        .expect("a membership event with no method, link or actor");
    let copy = ds.read(&file).slice(row, 1).drop_many(["method", "invite_link_id", "actor_id"]);
    let partition = file.rsplit_once('/').unwrap().0.to_string();
    ds.write(&format!("{partition}/part-zz-narrow.parquet"), copy);
    let report = ds.validate();
    assert_clean(&report);
    assert_eq!(report.table("memberships").unwrap().duplicate_rows, 1);
}

#[test]
fn int64_ids_and_epoch_millisecond_times_are_accepted() {
    let ds = dataset();
    let file = ds.file_with_rows("memberships", 1);
    ds.edit(&file, |df| {
        let ids: Vec<Option<i64>> = u64s(df, "account_id").into_iter().map(|v| v.map(|x| (x >> 1) as i64)).collect();
        put(df, Column::new("account_id".into(), ids));
        let ts = millis(df, "ts");
        put(df, Column::new("ts".into(), ts));
    });
    assert_eq!(ds.read(&file).column("ts").unwrap().dtype(), &DataType::Int64);
    assert_clean(&ds.validate());
}

#[test]
fn nanosecond_timestamps_are_accepted() {
    let ds = dataset();
    let file = ds.file_with_rows("forwards", 1);
    ds.edit(&file, |df| {
        let c = df.column("ts").unwrap().cast(&DataType::Datetime(TimeUnit::Nanoseconds, None)).unwrap();
        put(df, c);
    });
    assert_clean(&ds.validate());
}

#[test]
fn categorical_enum_and_upper_case_pdq_are_accepted() {
    let ds = dataset();
    let file = ds.files("accounts")[0].clone();
    ds.edit(&file, |df| {
        let upper = strs(df, "photo_pdq").into_iter().map(|v| v.map(|s| s.to_uppercase())).collect();
        put_strs(df, "photo_pdq", upper);
    });
    let mfile = ds.file_with_rows("memberships", 1);
    ds.edit(&mfile, |df| {
        let cat = DataType::from_categories(Categories::global());
        let c = df.column("event").unwrap().cast(&cat).unwrap();
        put(df, c);
    });
    let report = ds.validate();
    assert_clean(&report);
}

// ---- Row-level problems: quarantined ----------------------------------------------------

#[test]
fn null_in_non_null_column_is_quarantined() {
    let ds = dataset();
    let file = ds.file_with_rows("memberships", 3);
    ds.edit(&file, |df| {
        let mut v = u64s(df, "account_id");
        v[2] = None;
        put_u64s(df, "account_id", v);
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "memberships", &file, 2, Some("account_id"), &["account_id", "null"]);
}

#[test]
fn negative_id_is_quarantined() {
    let ds = dataset();
    let file = ds.files("accounts")[0].clone();
    ds.edit(&file, |df| {
        let mut ids: Vec<Option<i64>> = u64s(df, "account_id").into_iter().map(|v| v.map(|x| (x >> 1) as i64)).collect();
        ids[7] = Some(-5);
        put(df, Column::new("account_id".into(), ids));
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "accounts", &file, 7, Some("account_id"), &["-5"]);
}

#[test]
fn unknown_enum_value_is_quarantined() {
    let ds = dataset();
    let file = ds.file_with_rows("memberships", 2);
    ds.edit(&file, |df| {
        let mut v = strs(df, "event");
        v[1] = Some("joined".into());
        put_strs(df, "event", v);
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "memberships", &file, 1, Some("event"), &["\"joined\""]);
}

#[test]
fn enum_values_are_case_sensitive() {
    let ds = dataset();
    let file = ds.file_with_rows("reports", 1);
    ds.edit(&file, |df| {
        let mut v = strs(df, "reason");
        v[0] = v[0].as_ref().map(|s| s.to_uppercase());
        put_strs(df, "reason", v);
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "reports", &file, 0, Some("reason"), &["reason"]);
}

/// The first account row with a profile photo hash.
fn account_with_photo(ds: &Dataset) -> (String, usize, String) {
    let file = ds.files("accounts")[0].clone();
    let pdqs = strs(&ds.read(&file), "photo_pdq");
    let (row, pdq) = pdqs.iter().enumerate().find_map(|(i, p)| p.clone().map(|p| (i, p))).expect("an account with a photo");
    (file, row, pdq)
}

#[test]
fn pdq_of_63_characters_is_quarantined() {
    let ds = dataset();
    let (file, row, pdq) = account_with_photo(&ds);
    ds.edit(&file, |df| {
        let mut v = strs(df, "photo_pdq");
        v[row] = Some(pdq[..63].to_string());
        put_strs(df, "photo_pdq", v);
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "accounts", &file, row as u64, Some("photo_pdq"), &["photo_pdq", "63"]);
}

#[test]
fn pdq_with_non_hex_character_is_quarantined() {
    let ds = dataset();
    let (file, row, pdq) = account_with_photo(&ds);
    ds.edit(&file, |df| {
        let mut v = strs(df, "photo_pdq");
        v[row] = Some(format!("g{}", &pdq[1..]));
        put_strs(df, "photo_pdq", v);
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "accounts", &file, row as u64, Some("photo_pdq"), &["photo_pdq", "non-hex", "'g'"]);
}

#[test]
fn pdq_with_multibyte_characters_is_quarantined() {
    // 64 bytes but not 64 characters: must not be mistaken for a valid hash, nor panic.
    let ds = dataset();
    let (file, row, pdq) = account_with_photo(&ds);
    ds.edit(&file, |df| {
        let mut v = strs(df, "photo_pdq");
        v[row] = Some(format!("é{}", &pdq[2..]));
        put_strs(df, "photo_pdq", v);
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "accounts", &file, row as u64, Some("photo_pdq"), &["photo_pdq"]);
}

#[test]
fn far_future_timestamp_is_quarantined() {
    let ds = dataset();
    let file = ds.file_with_rows("forwards", 5);
    ds.edit(&file, |df| {
        let mut v = millis(df, "ts");
        v[4] = Some(ms(2200, 3, 1, 12));
        put_millis(df, "ts", v);
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "forwards", &file, 4, Some("ts"), &["ts", "2200"]);
}

#[test]
fn far_future_nanosecond_timestamp_is_quarantined() {
    let ds = dataset();
    let file = ds.file_with_rows("forwards", 5);
    ds.edit(&file, |df| {
        let mut v = millis(df, "ts");
        v[3] = Some(ms(2200, 3, 1, 12));
        put_millis(df, "ts", v);
        let c = df.column("ts").unwrap().cast(&DataType::Datetime(TimeUnit::Nanoseconds, None)).unwrap();
        put(df, c);
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "forwards", &file, 3, Some("ts"), &["2200"]);
}

#[test]
fn future_tolerance_ends_a_century_after_as_of() {
    // A time after as-of that could be real stays (a later as-of reads it); the tolerance
    // ends FUTURE_TOLERANCE_DAYS after the end of the as-of day.
    let ds = dataset();
    let file = ds.file_with_rows("forwards", 3);
    let horizon = ms(2026, 11, 25, 0) + groupwatch::validate::FUTURE_TOLERANCE_DAYS * 86_400_000;
    ds.edit(&file, |df| {
        let mut v = millis(df, "ts");
        v[0] = Some(horizon - 1); // last millisecond of the tolerance
        v[1] = Some(horizon);
        v[2] = Some(ms(2026, 11, 27, 0)); // two days after as-of
        put_millis(df, "ts", v);
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "forwards", &file, 1, Some("ts"), &["2126-11-01"]);
}

#[test]
fn future_time_in_non_event_column_is_quarantined() {
    let ds = dataset();
    let file = ds.file_with_rows("invite_links", 1);
    ds.edit(&file, |df| {
        let mut v = millis(df, "revoked_at");
        v[0] = Some(ms(2200, 1, 1, 0));
        put_millis(df, "revoked_at", v);
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "invite_links", &file, 0, Some("revoked_at"), &["2200"]);
}

/// A forwards file and a row of it sent to a group (dst_group_id set, dst_account_id null).
fn forward_to_group(ds: &Dataset) -> (String, usize) {
    for file in ds.files("forwards") {
        let df = ds.read(&file);
        let (g, a) = (u64s(&df, "dst_group_id"), u64s(&df, "dst_account_id"));
        if let Some(i) = (0..df.height()).find(|&i| g[i].is_some() && a[i].is_none()) {
            return (file, i);
        }
    }
    panic!("no forward to a group in the fixture");
}

#[test]
fn forward_with_both_destinations_is_quarantined() {
    let ds = dataset();
    let (file, row) = forward_to_group(&ds);
    ds.edit(&file, |df| {
        let mut a = u64s(df, "dst_account_id");
        a[row] = Some(42);
        put_u64s(df, "dst_account_id", a);
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "forwards", &file, row as u64, None, &["both"]);
}

#[test]
fn forward_with_no_destination_is_quarantined() {
    let ds = dataset();
    let (file, row) = forward_to_group(&ds);
    ds.edit(&file, |df| {
        let mut g = u64s(df, "dst_group_id");
        g[row] = None;
        put_u64s(df, "dst_group_id", g);
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "forwards", &file, row as u64, None, &["neither"]);
}

#[test]
fn batch_size_zero_is_quarantined() {
    let ds = dataset();
    let file = ds.file_with_rows("forwards", 3);
    ds.edit(&file, |df| {
        let mut v: Vec<Option<u8>> = df.column("batch_size").unwrap().u8().unwrap().iter().collect();
        v[2] = Some(0);
        put(df, Column::new("batch_size".into(), v));
    });
    assert_eq!(ds.read(&file).column("batch_size").unwrap().dtype(), &DataType::UInt8);
    let report = ds.validate();
    assert_quarantined_only(&report, "forwards", &file, 2, Some("batch_size"), &["batch_size", "0"]);
}

#[test]
fn batch_size_300_is_quarantined() {
    let ds = dataset();
    let file = ds.file_with_rows("forwards", 3);
    ds.edit(&file, |df| {
        let c = df.column("batch_size").unwrap().cast(&DataType::Int32).unwrap();
        let mut v: Vec<Option<i32>> = c.i32().unwrap().iter().collect();
        v[1] = Some(300);
        put(df, Column::new("batch_size".into(), v));
    });
    let report = ds.validate();
    assert_quarantined_only(&report, "forwards", &file, 1, Some("batch_size"), &["batch_size", "300"]);
}

#[test]
fn row_numbers_count_across_read_slices() {
    let ds = dataset();
    let file = ds.file_with_rows("memberships", 12);
    ds.edit(&file, |df| {
        let mut v = strs(df, "event");
        v[10] = Some("joined".into());
        put_strs(df, "event", v);
    });
    let report = ds.validate_with(|c| c.chunk_rows = 3);
    assert_quarantined_only(&report, "memberships", &file, 10, Some("event"), &["joined"]);
}

#[test]
fn zero_chunk_rows_does_not_hang() {
    let ds = dataset();
    let report = ds.validate_with(|c| c.chunk_rows = 0);
    assert_clean(&report);
}

#[test]
fn several_problems_in_one_row_quarantine_it_once() {
    let ds = dataset();
    let file = ds.file_with_rows("memberships", 2);
    ds.edit(&file, |df| {
        let mut e = strs(df, "event");
        e[0] = Some("joined".into());
        put_strs(df, "event", e);
        let mut a = u64s(df, "account_id");
        a[0] = None;
        put_u64s(df, "account_id", a);
    });
    let report = ds.validate();
    let q = assert_quarantined_only(&report, "memberships", &file, 0, None, &["joined", "null"]);
    assert!(q.reason.contains("event") && q.reason.contains("account_id"), "{q:?}");
}

// ---- The command line -------------------------------------------------------------------

mod cli {
    use std::path::Path;
    use std::process::Output;

    use polars::prelude::*;

    use super::support::*;

    fn run_validate(input: &Path, quarantine: &Path) -> Output {
        crate::common::groupwatch()
            .args(["validate", "--as-of", "2026-11-24", "--input"])
            .arg(input)
            .arg("--quarantine")
            .arg(quarantine)
            .output()
            .expect("run groupwatch")
    }

    fn describe(out: &Output) -> String {
        format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    #[test]
    fn cli_missing_required_table_exits_2() {
        let ds = dataset();
        std::fs::remove_dir_all(ds.path("memberships")).unwrap();
        let q = tempfile::tempdir().unwrap();
        let out = run_validate(&ds.input, &q.path().join("q.parquet"));
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("memberships"), "{}", describe(&out));
    }

    #[test]
    fn cli_row_problems_only_exit_0_and_write_quarantine() {
        let ds = dataset();
        let file = ds.file_with_rows("memberships", 3);
        ds.edit(&file, |df| {
            let mut e = strs(df, "event");
            e[0] = Some("joined".into());
            put_strs(df, "event", e);
            let mut a = u64s(df, "account_id");
            a[2] = None;
            put_u64s(df, "account_id", a);
        });
        let q = tempfile::tempdir().unwrap();
        let qfile = q.path().join("q.parquet");
        let out = run_validate(&ds.input, &qfile);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let df = ParquetReader::new(std::fs::File::open(&qfile).expect("quarantine file")).finish().unwrap();
        assert_eq!(df.height(), 2);
        let names: Vec<&str> = df.get_column_names().iter().map(|n| n.as_str()).collect();
        assert_eq!(names, ["table", "file", "row", "column", "reason"]);
        let rows: Vec<Option<u64>> = df.column("row").unwrap().u64().unwrap().iter().collect();
        assert_eq!(rows, [Some(0), Some(2)]);
        assert!(strs(&df, "file").iter().all(|f| f.as_deref() == Some(file.as_str())));
    }

    #[test]
    fn cli_clean_dataset_exits_0_with_empty_quarantine() {
        let ds = dataset();
        let q = tempfile::tempdir().unwrap();
        let qfile = q.path().join("q.parquet");
        let out = run_validate(&ds.input, &qfile);
        assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
        let df = ParquetReader::new(std::fs::File::open(&qfile).unwrap()).finish().unwrap();
        assert_eq!(df.height(), 0);
    }

    #[test]
    fn cli_nonexistent_input_exits_2() {
        let q = tempfile::tempdir().unwrap();
        let out = run_validate(Path::new("/nonexistent"), &q.path().join("q.parquet"));
        assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent"), "{}", describe(&out));
    }
}

// ---- One rulebook: `validate` and `run` set aside the same rows -------------------------

/// A corpus of bad inputs, one case per rule of the contract (row rules, file rules, and the
/// tolerated oddities), each run through `groupwatch validate` and `groupwatch run`. Neither
/// may panic; both must agree on whether the input is usable (exit 0, or 2 for bad input);
/// and the quarantine `validate` writes must be exactly the one in the run folder: same rows,
/// same reasons. Rows after as-of but inside the future tolerance are no problem of the row
/// (a later as-of reads them), so both leave them in and `run` simply finds them outside
/// its window.
mod rulebook {
    use std::collections::BTreeMap;
    use std::fs;
    use std::path::Path;
    use std::process::Output;

    use polars::prelude::*;

    use super::support::*;
    use super::{account_with_photo as account_photo, forward_to_group};

    /// What the contract says should come of a case.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Expect {
        /// Usable, nothing set aside (exit 0).
        Clean,
        /// Usable, exactly this many rows quarantined (exit 0).
        Quarantined(usize),
        /// A table is unusable (exit 2), nothing published.
        Fatal,
    }
    use Expect::*;

    type Break = Box<dyn Fn(&Dataset) + Send + Sync>;

    /// One quarantine row as written: (table, file, row, column, reason).
    type QRow = (String, String, u64, Option<String>, String);

    fn case(name: &'static str, expect: Expect, f: impl Fn(&Dataset) + Send + Sync + 'static) -> (&'static str, Expect, Break) {
        (name, expect, Box::new(f))
    }

    /// Sets one cell of the first `table` file with more than `row` rows, keeping the column's
    /// type: `put` gets the frame, the column's name and the row.
    fn edit_cell(ds: &Dataset, table: &str, row: usize, put: impl FnOnce(&mut DataFrame, usize)) {
        let file = ds.file_with_rows(table, row + 1);
        ds.edit(&file, |df| put(df, row));
    }

    fn null_u64(ds: &Dataset, table: &str, column: &str, row: usize) {
        edit_cell(ds, table, row, |df, r| {
            let mut v = u64s(df, column);
            v[r] = None;
            put_u64s(df, column, v);
        });
    }

    fn set_str(ds: &Dataset, table: &str, column: &str, row: usize, value: Option<&str>) {
        edit_cell(ds, table, row, |df, r| {
            let mut v = strs(df, column);
            v[r] = value.map(str::to_string);
            put_strs(df, column, v);
        });
    }

    fn set_time(ds: &Dataset, table: &str, column: &str, row: usize, value: Option<i64>) {
        edit_cell(ds, table, row, |df, r| {
            let mut v = millis(df, column);
            v[r] = value;
            put_millis(df, column, v);
        });
    }

    fn null_bool(ds: &Dataset, table: &str, column: &str, row: usize) {
        edit_cell(ds, table, row, |df, r| {
            let mut v: Vec<Option<bool>> = df.column(column).unwrap().bool().unwrap().iter().collect();
            v[r] = None;
            put(df, Column::new(column.into(), v));
        });
    }

    /// Ids as int64 (halved to fit), with one of them replaced.
    fn signed_id(ds: &Dataset, table: &str, column: &str, row: usize, value: i64) {
        edit_cell(ds, table, row, |df, r| {
            let mut v: Vec<Option<i64>> = u64s(df, column).into_iter().map(|x| x.map(|x| (x >> 1) as i64)).collect();
            v[r] = Some(value);
            put(df, Column::new(column.into(), v));
        });
    }

    fn corpus() -> Vec<(&'static str, Expect, Break)> {
        let two_days_ahead = ms(2026, 11, 26, 12); // as-of 2026-11-24 ends at 11-25 00:00
        let centuries_ahead = ms(2226, 11, 24, 0);
        vec![
            // Row rules: nulls in non-null columns.
            case("null memberships.account_id", Quarantined(1), |ds| null_u64(ds, "memberships", "account_id", 2)),
            case("null memberships.group_id", Quarantined(1), |ds| null_u64(ds, "memberships", "group_id", 0)),
            case("null memberships.ts", Quarantined(1), |ds| set_time(ds, "memberships", "ts", 1, None)),
            case("null memberships.event", Quarantined(1), |ds| set_str(ds, "memberships", "event", 0, None)),
            case("null accounts.created_at", Quarantined(1), |ds| set_time(ds, "accounts", "created_at", 3, None)),
            case("null groups.creator_id", Quarantined(1), |ds| null_u64(ds, "groups", "creator_id", 1)),
            case("null forwards.sender_id", Quarantined(1), |ds| null_u64(ds, "forwards", "sender_id", 0)),
            case("null forwards.media_type", Quarantined(1), |ds| set_str(ds, "forwards", "media_type", 1, None)),
            case("null forwards.frequently_forwarded", Quarantined(1), |ds| null_bool(ds, "forwards", "frequently_forwarded", 0)),
            case("null reports.reporter_id", Quarantined(1), |ds| null_u64(ds, "reports", "reporter_id", 0)),
            case("null blocks.unknown_contact", Quarantined(1), |ds| null_bool(ds, "blocks", "unknown_contact", 0)),
            case("null labels.label", Quarantined(1), |ds| set_str(ds, "labels", "label", 0, None)),
            case("null invite_links.created_by", Quarantined(1), |ds| null_u64(ds, "invite_links", "created_by", 0)),
            // Row rules: enum codes.
            case("unknown memberships.event", Quarantined(1), |ds| set_str(ds, "memberships", "event", 1, Some("joined"))),
            case("unknown memberships.method", Quarantined(1), |ds| set_str(ds, "memberships", "method", 0, Some("qr_code"))),
            case("unknown forwards.media_type", Quarantined(1), |ds| set_str(ds, "forwards", "media_type", 2, Some("gif"))),
            case("upper-case reports.reason", Quarantined(1), |ds| set_str(ds, "reports", "reason", 0, Some("SPAM"))),
            case("unknown reports.target_kind", Quarantined(1), |ds| set_str(ds, "reports", "target_kind", 0, Some("channel"))),
            case("unknown labels.source", Quarantined(1), |ds| set_str(ds, "labels", "source", 0, Some("rumour"))),
            // Row rules: ids, PDQs, small ints, destinations.
            case("negative accounts.account_id", Quarantined(1), |ds| signed_id(ds, "accounts", "account_id", 7, -5)),
            case("negative memberships.group_id", Quarantined(1), |ds| signed_id(ds, "memberships", "group_id", 1, -1)),
            case("null hash_bank.bank", Quarantined(1), |ds| {
                ds.edit("hash_bank.parquet", |df| {
                    let mut v = strs(df, "bank");
                    v[0] = None;
                    put_strs(df, "bank", v);
                })
            }),
            case("PDQ of 63 characters", Quarantined(1), |ds| {
                let (file, row, pdq) = account_photo(ds);
                ds.edit(&file, |df| {
                    let mut v = strs(df, "photo_pdq");
                    v[row] = Some(pdq[..63].to_string());
                    put_strs(df, "photo_pdq", v);
                });
            }),
            case("PDQ with a non-hex character", Quarantined(1), |ds| {
                let (file, row, pdq) = account_photo(ds);
                ds.edit(&file, |df| {
                    let mut v = strs(df, "photo_pdq");
                    v[row] = Some(format!("z{}", &pdq[1..]));
                    put_strs(df, "photo_pdq", v);
                });
            }),
            case("forwards.batch_size 0", Quarantined(1), |ds| {
                edit_cell(ds, "forwards", 2, |df, r| {
                    let mut v: Vec<Option<u8>> = df.column("batch_size").unwrap().u8().unwrap().iter().collect();
                    v[r] = Some(0);
                    put(df, Column::new("batch_size".into(), v));
                })
            }),
            case("forwards.batch_size 300", Quarantined(1), |ds| {
                edit_cell(ds, "forwards", 1, |df, r| {
                    let c = df.column("batch_size").unwrap().cast(&DataType::Int32).unwrap();
                    let mut v: Vec<Option<i32>> = c.i32().unwrap().iter().collect();
                    v[r] = Some(300);
                    put(df, Column::new("batch_size".into(), v));
                })
            }),
            case("forward with both destinations", Quarantined(1), |ds| {
                let (file, row) = forward_to_group(ds);
                ds.edit(&file, |df| {
                    let mut a = u64s(df, "dst_account_id");
                    a[row] = Some(42);
                    put_u64s(df, "dst_account_id", a);
                });
            }),
            case("forward with no destination", Quarantined(1), |ds| {
                let (file, row) = forward_to_group(ds);
                ds.edit(&file, |df| {
                    let mut g = u64s(df, "dst_group_id");
                    g[row] = None;
                    put_u64s(df, "dst_group_id", g);
                });
            }),
            case("several problems in one row", Quarantined(1), |ds| {
                edit_cell(ds, "memberships", 0, |df, r| {
                    let mut e = strs(df, "event");
                    e[r] = Some("joined".into());
                    put_strs(df, "event", e);
                    let mut a = u64s(df, "account_id");
                    a[r] = None;
                    put_u64s(df, "account_id", a);
                })
            }),
            case("problems in two tables", Quarantined(2), |ds| {
                null_u64(ds, "blocks", "blocker_id", 0);
                null_u64(ds, "labels", "entity_id", 0);
            }),
            // Future timestamps: inside the tolerance a row is only outside the window; far
            // beyond it (a century, or microseconds written as epoch milliseconds) it is bad.
            case("forwards.ts 2 days after as-of", Clean, move |ds| set_time(ds, "forwards", "ts", 0, Some(two_days_ahead))),
            case("memberships.ts 2 days after as-of", Clean, move |ds| set_time(ds, "memberships", "ts", 0, Some(two_days_ahead))),
            case("accounts.created_at 2 days after as-of", Clean, move |ds| {
                set_time(ds, "accounts", "created_at", 4, Some(two_days_ahead))
            }),
            case("labels.ts 2 days after as-of", Clean, move |ds| set_time(ds, "labels", "ts", 0, Some(two_days_ahead))),
            case("invite_links.revoked_at 2 days after as-of", Clean, move |ds| {
                set_time(ds, "invite_links", "revoked_at", 0, Some(two_days_ahead))
            }),
            case("memberships.ts 200 years after as-of", Quarantined(1), move |ds| {
                set_time(ds, "memberships", "ts", 1, Some(centuries_ahead))
            }),
            case("reports.ts 200 years after as-of", Quarantined(1), move |ds| set_time(ds, "reports", "ts", 0, Some(centuries_ahead))),
            case("invite_links.revoked_at 200 years after as-of", Quarantined(1), move |ds| {
                set_time(ds, "invite_links", "revoked_at", 0, Some(centuries_ahead))
            }),
            case("blocks.ts in microseconds as int64", Quarantined(1), |ds| {
                edit_cell(ds, "blocks", 0, |df, r| {
                    let mut v: Vec<Option<i64>> = millis(df, "ts");
                    v[r] = v[r].map(|m| m * 1000);
                    put(df, Column::new("ts".into(), v));
                })
            }),
            // File and table rules: unusable.
            case("missing required table", Fatal, |ds| fs::remove_dir_all(ds.path("groups")).unwrap()),
            case("missing non-null column", Fatal, |ds| {
                let file = ds.file_with_rows("memberships", 1);
                ds.edit(&file, |df| {
                    df.drop_in_place("event").unwrap();
                });
            }),
            case("time written as string", Fatal, |ds| {
                let file = ds.files("groups")[0].clone();
                ds.edit(&file, |df| {
                    let text = millis(df, "created_at").into_iter().map(|v| v.map(|m| m.to_string())).collect();
                    put_strs(df, "created_at", text);
                });
            }),
            case("id written as float", Fatal, |ds| {
                let file = ds.file_with_rows("forwards", 1);
                ds.edit(&file, |df| {
                    let c = df.column("sender_id").unwrap().cast(&DataType::Float64).unwrap();
                    put(df, c);
                });
            }),
            case("bool written as string", Fatal, |ds| {
                let file = ds.file_with_rows("blocks", 1);
                ds.edit(&file, |df| {
                    let c = df.column("unknown_contact").unwrap().cast(&DataType::String).unwrap();
                    put(df, c);
                });
            }),
            case("duplicate accounts.account_id", Fatal, |ds| {
                edit_cell(ds, "accounts", 10, |df, r| {
                    let mut ids = u64s(df, "account_id");
                    ids[r] = ids[3];
                    put_u64s(df, "account_id", ids);
                })
            }),
            case("duplicate groups.group_id across files", Fatal, |ds| {
                let df = ds.read(&ds.files("groups")[0]);
                ds.write("groups/part-zz-extra.parquet", df.slice(2, 1));
            }),
            case("zero-byte file", Fatal, |ds| fs::write(ds.path(&ds.file_with_rows("memberships", 1)), b"").unwrap()),
            case("truncated Parquet", Fatal, |ds| {
                let file = ds.path(&ds.file_with_rows("forwards", 5));
                let bytes = fs::read(&file).unwrap();
                fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
            }),
            case("Parquet magic around garbage", Fatal, |ds| {
                fs::write(ds.path(&ds.file_with_rows("reports", 1)), b"PAR1 not really parquet PAR1").unwrap()
            }),
            case("text file in a table folder", Fatal, |ds| fs::write(ds.path("memberships/notes.txt"), "by hand\n").unwrap()),
            case("malformed dt folder", Fatal, |ds| {
                let file = ds.file_with_rows("memberships", 1);
                fs::create_dir_all(ds.path("memberships/dt=2026-13-45")).unwrap();
                fs::copy(ds.path(&file), ds.path("memberships/dt=2026-13-45/part-0.parquet")).unwrap();
            }),
            case("dt folder that is not a date", Fatal, |ds| {
                let file = ds.file_with_rows("forwards", 1);
                fs::create_dir_all(ds.path("forwards/dt=yesterday")).unwrap();
                fs::copy(ds.path(&file), ds.path("forwards/dt=yesterday/part-0.parquet")).unwrap();
            }),
            case("table as file and folder", Fatal, |ds| {
                fs::copy(ds.path(&ds.files("accounts")[0]), ds.path("accounts.parquet")).unwrap();
            }),
            case("symbolic link loop", Fatal, |ds| std::os::unix::fs::symlink(".", ds.path("blocks/loop")).unwrap()),
            case("required table with zero rows", Fatal, |ds| {
                for f in ds.files("groups") {
                    ds.edit(&f, |df| *df = df.clear());
                }
            }),
            case("required table with every row quarantined", Fatal, |ds| {
                for f in ds.files("groups") {
                    ds.edit(&f, |df| {
                        let n = df.height();
                        put_u64s(df, "creator_id", vec![None; n]);
                    });
                }
            }),
            // Tolerated by the contract: usable, nothing set aside.
            case("extra column in one file", Clean, |ds| {
                let file = ds.file_with_rows("forwards", 1);
                ds.edit(&file, |df| {
                    let n = df.height();
                    put(df, Column::new("client_version".into(), vec!["2.26.1"; n]));
                });
            }),
            case("absent nullable column", Clean, |ds| {
                let file = ds.files("accounts")[0].clone();
                ds.edit(&file, |df| {
                    df.drop_in_place("about").unwrap();
                });
            }),
            case("dangling membership group_id", Clean, |ds| {
                edit_cell(ds, "memberships", 0, |df, r| {
                    let mut v = u64s(df, "group_id");
                    v[r] = Some(987_654_321);
                    put_u64s(df, "group_id", v);
                })
            }),
            case("dangling forward destination", Clean, |ds| {
                let (file, row) = forward_to_group(ds);
                ds.edit(&file, |df| {
                    let mut g = u64s(df, "dst_group_id");
                    g[row] = Some(987_654_321);
                    put_u64s(df, "dst_group_id", g);
                });
            }),
            case("exact duplicate rows", Clean, |ds| {
                edit_cell(ds, "memberships", 2, |df, r| {
                    let copy = df.slice(r as i64, 1);
                    df.vstack_mut(&copy).unwrap();
                })
            }),
            case("rows in another day's dt folder", Clean, |ds| {
                let files = ds.files("memberships");
                let folder = files[files.len() - 1].rsplit_once('/').unwrap().0.to_string();
                fs::rename(ds.path(&files[0]), ds.path(&format!("{folder}/part-zz-moved.parquet"))).unwrap();
            }),
            case("empty optional table", Clean, |ds| {
                let empty = ds.read(&ds.files("reports")[0]).clear();
                fs::remove_dir_all(ds.path("reports")).unwrap();
                ds.write("reports/part-0.parquet", empty);
            }),
            case("missing optional table", Clean, |ds| fs::remove_dir_all(ds.path("blocks")).unwrap()),
            case("int64 ids and epoch-ms times", Clean, |ds| {
                signed_id(ds, "memberships", "actor_id", 0, 12_345);
                edit_cell(ds, "memberships", 0, |df, _| {
                    let ts = millis(df, "ts");
                    put(df, Column::new("ts".into(), ts));
                });
            }),
            case("nanosecond timestamps", Clean, |ds| {
                let file = ds.file_with_rows("forwards", 1);
                ds.edit(&file, |df| {
                    let c = df.column("ts").unwrap().cast(&DataType::Datetime(TimeUnit::Nanoseconds, None)).unwrap();
                    put(df, c);
                });
            }),
            case("Spark markers and unknown top-level file", Clean, |ds| {
                fs::write(ds.path("memberships/_SUCCESS"), b"").unwrap();
                fs::create_dir_all(ds.path("forwards/_temporary/0")).unwrap();
                fs::write(ds.path("forwards/_temporary/0/part-0.parquet"), b"half").unwrap();
                fs::write(ds.path("README.txt"), b"exported nightly").unwrap();
            }),
        ]
    }

    fn groupwatch(args: &[&str], paths: &[(&str, &Path)]) -> Output {
        let mut cmd = crate::common::groupwatch();
        cmd.args(args).args(["--as-of", "2026-11-24", "--threads", "1"]);
        for (flag, p) in paths {
            cmd.arg(flag).arg(p);
        }
        cmd.output().expect("run groupwatch")
    }

    fn quarantine_rows(path: &Path) -> Vec<QRow> {
        let df = ParquetReader::new(fs::File::open(path).unwrap()).finish().unwrap();
        let (t, f, c, why) = (strs(&df, "table"), strs(&df, "file"), strs(&df, "column"), strs(&df, "reason"));
        let row: Vec<Option<u64>> = df.column("row").unwrap().u64().unwrap().iter().collect();
        let mut out: Vec<QRow> = (0..df.height())
            .map(|i| (t[i].clone().unwrap(), f[i].clone().unwrap(), row[i].unwrap(), c[i].clone(), why[i].clone().unwrap()))
            .collect();
        out.sort();
        out
    }

    /// Runs one case; `Err` describes how it broke the rules.
    fn check(name: &str, expect: Expect, brk: &Break) -> Result<(), String> {
        let ds = dataset();
        brk(&ds);
        let scratch = tempfile::tempdir().unwrap();
        let qfile = scratch.path().join("q.parquet");
        let out = scratch.path().join("out");
        let v = groupwatch(&["validate"], &[("--input", &ds.input), ("--quarantine", &qfile)]);
        let r = groupwatch(&["run"], &[("--input", &ds.input), ("--out", &out)]);
        let show = |o: &Output| format!("exit {:?}; stderr: {}", o.status.code(), String::from_utf8_lossy(&o.stderr));
        for (cmd, o) in [("validate", &v), ("run", &r)] {
            if String::from_utf8_lossy(&o.stderr).contains("panicked") || !matches!(o.status.code(), Some(0 | 2)) {
                return Err(format!("{name}: {cmd} did not end cleanly: {}", show(o)));
            }
        }
        if v.status.code() != r.status.code() {
            return Err(format!("{name}: validate {} but run {}", show(&v), show(&r)));
        }
        let run_q = out.join("run=2026-11-24/quarantine.parquet");
        let (vq, rq) = match v.status.code() {
            Some(0) => (quarantine_rows(&qfile), quarantine_rows(&run_q)),
            _ => {
                if run_q.exists() {
                    return Err(format!("{name}: run published a folder for unusable input"));
                }
                (Vec::new(), Vec::new())
            }
        };
        if vq != rq {
            return Err(format!("{name}: validate set aside {vq:#?}\nbut run set aside {rq:#?}"));
        }
        let got = match v.status.code() {
            Some(2) => Fatal,
            _ if vq.is_empty() => Clean,
            _ => Quarantined(vq.len()),
        };
        if got != expect {
            return Err(format!("{name}: expected {expect:?}, got {got:?} (quarantine {vq:#?}; validate {})", show(&v)));
        }
        Ok(())
    }

    #[test]
    fn validate_and_run_set_aside_the_same_rows_on_every_bad_input() {
        let cases = corpus();
        assert!(cases.len() >= 40, "{} cases", cases.len());
        let failures: Vec<String> = std::thread::scope(|s| {
            let (even, odd): (Vec<_>, Vec<_>) = cases.iter().enumerate().partition(|(i, _)| i % 2 == 0);
            let work = |part: Vec<(usize, &(&'static str, Expect, Break))>| {
                part.into_iter().filter_map(|(_, (name, expect, brk))| check(name, *expect, brk).err()).collect::<Vec<_>>()
            };
            let a = s.spawn(move || work(even));
            let b = s.spawn(move || work(odd));
            let mut f = a.join().unwrap();
            f.extend(b.join().unwrap());
            f
        });
        let counts = cases.iter().fold(BTreeMap::<String, usize>::new(), |mut m, (_, e, _)| {
            *m.entry(format!("{e:?}").split('(').next().unwrap().to_string()).or_default() += 1;
            m
        });
        eprintln!("{} bad-input cases ({counts:?}), {} failed", cases.len(), failures.len());
        assert!(failures.is_empty(), "{} of {} cases broke the rules:\n{}", failures.len(), cases.len(), failures.join("\n\n"));
    }
}

// ---- Inputs found by fuzzing (fuzz/, docs/testing.md) -----------------------------------

/// Each file under tests/data/fuzz/ is a fuzz input that once crashed or hung `validate` or
/// ingest: its first byte picks the table (as in fuzz/fuzz_targets/ingest_parquet.rs), the
/// rest replaces that table's file in the fuzzer's tiny base dataset (fuzz/base/). Both
/// commands must end with a clean exit code and agree; a file that cannot be read is bad
/// input (exit 2) naming the file.
mod fuzz_regressions {
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::process::Output;

    /// The fuzz target's table order.
    const TABLES: [&str; 10] =
        ["accounts", "groups", "memberships", "invite_links", "forwards", "reports", "blocks", "hash_bank", "labels", "review_decisions"];

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    fn groupwatch(args: &[&str], input: &Path, out_flag: &str, out: &Path) -> Output {
        crate::common::groupwatch()
            .args(args)
            .args(["--as-of", "2026-11-24", "--threads", "1", "--input"])
            .arg(input)
            .arg(out_flag)
            .arg(out)
            .output()
            .expect("run groupwatch")
    }

    #[test]
    fn fuzz_findings_exit_cleanly() {
        let mut inputs: Vec<PathBuf> = fs::read_dir(root().join("tests/data/fuzz")).unwrap().map(|e| e.unwrap().path()).collect();
        inputs.sort();
        assert!(!inputs.is_empty());
        for path in inputs {
            let bytes = fs::read(&path).unwrap();
            let table = TABLES[bytes[0] as usize % TABLES.len()];
            let dir = tempfile::tempdir().unwrap();
            let input = dir.path().join("input");
            fs::create_dir_all(&input).unwrap();
            for e in fs::read_dir(root().join("fuzz/base")).unwrap() {
                let e = e.unwrap();
                fs::copy(e.path(), input.join(e.file_name())).unwrap();
            }
            let rel = format!("{table}.parquet");
            fs::write(input.join(&rel), &bytes[1..]).unwrap();
            let v = groupwatch(&["validate"], &input, "--quarantine", &dir.path().join("q.parquet"));
            let r = groupwatch(&["run"], &input, "--out", &dir.path().join("out"));
            let name = path.file_name().unwrap().to_string_lossy();
            for (cmd, o) in [("validate", &v), ("run", &r)] {
                let stderr = String::from_utf8_lossy(&o.stderr);
                let stdout = String::from_utf8_lossy(&o.stdout);
                assert!(matches!(o.status.code(), Some(0 | 2)) && !stderr.contains("panicked"), "{name}: {cmd}: {:?}\n{stderr}", o.status);
                if o.status.code() == Some(2) {
                    assert!(stdout.contains(&rel) || stderr.contains(&rel), "{name}: {cmd} does not name {rel}:\n{stdout}\n{stderr}");
                }
            }
            assert_eq!(v.status.code(), r.status.code(), "{name}: validate and run disagree");
        }
    }
}
