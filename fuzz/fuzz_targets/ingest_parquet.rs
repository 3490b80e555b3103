//! One Parquet file of one input table, as the fuzzer mutates it, inside an otherwise valid
//! tiny dataset (fuzz/base/), through discovery, validation and ingest exactly as `run` does.
//!
//! Input: the first byte picks the table (modulo [`TABLES`]); the rest is that table's file,
//! written as `<input>/<table>.parquet`. Errors are the expected outcome for most inputs; a
//! panic, an abort, a timeout or running out of memory is a finding.
//!
//! Panics: libfuzzer-sys aborts on every panic, even one that is caught. groupwatch catches
//! panics of the third-party Parquet reader at its boundary (validate turns them into an
//! "unreadable file" error naming the file), so those may unwind here; a panic in
//! groupwatch's own code, or one that escapes the library, still aborts: a finding.
#![no_main]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use groupwatch::ingest::{self, WindowSpec};
use groupwatch::{layout, validate};
use libfuzzer_sys::fuzz_target;

/// The order the first input byte selects from; fuzz/make_base.py writes seeds in this order.
const TABLES: [&str; 10] = [
    "accounts",
    "groups",
    "memberships",
    "invite_links",
    "forwards",
    "reports",
    "blocks",
    "hash_bank",
    "labels",
    "review_decisions",
];

/// The dataset folder, made once per process from fuzz/base/.
fn input_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        // One thread each: a pool per exec costs more than the tiny tables' work.
        std::env::set_var("RAYON_NUM_THREADS", "1");
        std::env::set_var("POLARS_MAX_THREADS", "1");
        abort_on_own_panics();
        let dir = std::env::temp_dir()
            .join(format!("gw-fuzz-{}", std::process::id()))
            .join("input");
        std::fs::create_dir_all(&dir).expect("create the fuzz dataset folder");
        for t in TABLES {
            let _ = std::fs::remove_file(dir.join(format!("{t}.parquet")));
            if let Some(bytes) = base(t) {
                std::fs::write(dir.join(format!("{t}.parquet")), bytes)
                    .expect("write a base table");
            }
        }
        dir
    })
}

/// Replaces libfuzzer-sys's abort-on-any-panic hook: a panic located in a dependency's code
/// (cargo's registry, the standard library) unwinds to whatever catches it, and the first few
/// are printed; any other panic aborts the process.
fn abort_on_own_panics() {
    static CAUGHT: AtomicU64 = AtomicU64::new(0);
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let file = info
            .location()
            .map(|l| l.file().to_string())
            .unwrap_or_default();
        let third_party = file.contains("/.cargo/registry/") || file.starts_with("/rustc/");
        if !third_party {
            default(info);
            std::process::abort();
        }
        let n = CAUGHT.fetch_add(1, Ordering::Relaxed);
        if n < 20 || n.is_power_of_two() {
            eprintln!(
                "third-party panic #{} (left to the library's boundary): {info}",
                n + 1
            );
        }
    }));
}

/// The valid base file of `table`, if the base dataset has one.
fn base(table: &str) -> Option<Vec<u8>> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("base")
            .join(format!("{table}.parquet")),
    )
    .ok()
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let dir = input_dir();
    let table = TABLES[pick as usize % TABLES.len()];
    let path = dir.join(format!("{table}.parquet"));
    std::fs::write(&path, file).expect("write the fuzzed table");

    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("a valid date");
    if let Ok(ds) = layout::discover(dir) {
        let cfg = validate::ValidateConfig::new(dir.clone(), as_of);
        let report = validate::validate_dataset(&cfg, &ds);
        if report.is_usable() {
            let _ = report.quarantine_frame();
            if let Ok(mut w) = ingest::ingest(
                &ds,
                &report,
                WindowSpec {
                    as_of,
                    window_days: 30,
                },
            ) {
                let _ = ingest::append_review_decisions(&mut w, &ds, &report, &BTreeMap::new());
                let _ = groupwatch::replay::replay(&w);
            }
        }
    }

    // Put the base file back (or remove the table) for the next input.
    match base(table) {
        Some(bytes) => std::fs::write(&path, bytes).expect("restore a base table"),
        None => std::fs::remove_file(&path).expect("remove the fuzzed table"),
    }
});
