//! Criterion benchmarks, one per stage, on generated data of stated sizes.
//!
//! `cargo bench --bench stages` runs them; sizes are parameters so the growth with input size
//! is visible. End-to-end figures for the presets (time, peak memory) are measured with
//! `/usr/bin/time -v` and recorded in the README.

use std::path::PathBuf;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use groupwatch::synth::{generate, Scale, SynthConfig};
use groupwatch::validate::{validate, ValidateConfig};

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

fn config(dir: PathBuf, accounts: usize) -> SynthConfig {
    let mut cfg = SynthConfig::new(Scale::Tiny, 7, as_of(), dir);
    cfg.accounts = accounts;
    cfg
}

fn synth(c: &mut Criterion) {
    let mut g = c.benchmark_group("synth");
    g.sample_size(10);
    for accounts in [5_000usize, 20_000] {
        g.bench_with_input(BenchmarkId::from_parameter(accounts), &accounts, |b, &n| {
            b.iter_batched(
                || tempfile::tempdir().unwrap(),
                |dir| generate(&config(dir.path().join("d"), n)).unwrap(),
                criterion::BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

fn validate_stage(c: &mut Criterion) {
    let mut g = c.benchmark_group("validate");
    g.sample_size(10);
    for accounts in [5_000usize, 20_000] {
        let dir = tempfile::tempdir().unwrap();
        generate(&config(dir.path().join("d"), accounts)).unwrap();
        let cfg = ValidateConfig::new(dir.path().join("d/input"), as_of());
        g.bench_with_input(BenchmarkId::from_parameter(accounts), &cfg, |b, cfg| {
            b.iter(|| assert!(validate(cfg).unwrap().is_usable()))
        });
    }
    g.finish();
}

criterion_group!(benches, synth, validate_stage);
criterion_main!(benches);
