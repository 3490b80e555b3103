//! Criterion benchmarks, one per stage, on seeded generated data of stated sizes.
//!
//! ```sh
//! cargo bench --bench stages -- --quick                # every stage at 5k and 20k accounts, a few minutes
//! cargo bench --bench stages -- --quick 'text|fraudar'  # a subset (criterion's name filter)
//! GROUPWATCH_BENCH_SIZES=20000,100000 cargo bench --bench stages -- --quick
//! ```
//!
//! Sizes are account counts of `groupwatch synth` datasets (seed 7, as-of 2026-11-24, 30-day
//! window), so the growth with input size is visible. Each size is generated, validated,
//! ingested and replayed once in setup; each benchmark then times one stage on that input.
//! End-to-end figures for the presets (wall time and peak memory per stage) come from
//! `benches/end_to_end.rs`.

use std::path::PathBuf;

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use groupwatch::features::{self, graph::Seeds, Context, FeatureConfig};
use groupwatch::graph::{fraudar, louvain, pagerank};
use groupwatch::ingest::{self, Window, WindowSpec};
use groupwatch::model::{crossfit, train, ModelFile};
use groupwatch::replay::{self, MembershipState};
use groupwatch::synth::{generate, Scale, SynthConfig};
use groupwatch::validate::{validate, validate_dataset, ValidateConfig, ValidationReport};

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
}

fn spec() -> WindowSpec {
    WindowSpec { as_of: as_of(), window_days: 30 }
}

fn config(dir: PathBuf, accounts: usize) -> SynthConfig {
    let mut cfg = SynthConfig::new(Scale::Tiny, 7, as_of(), dir);
    cfg.accounts = accounts;
    cfg
}

/// Account counts to benchmark (`GROUPWATCH_BENCH_SIZES`, comma-separated; default 5k, 20k).
fn sizes() -> Vec<usize> {
    std::env::var("GROUPWATCH_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![5_000, 20_000])
}

/// One generated dataset carried through the stages before the benchmarked one.
struct Prepared {
    _dir: tempfile::TempDir,
    accounts: usize,
    ds: groupwatch::layout::Dataset,
    report: ValidationReport,
    w: Window,
    st: MembershipState,
    ctx: Context,
}

fn prepare(accounts: usize) -> Prepared {
    let dir = tempfile::tempdir().unwrap();
    generate(&config(dir.path().join("d"), accounts)).unwrap();
    let input = dir.path().join("d/input");
    let ds = groupwatch::layout::discover(&input).unwrap();
    let vcfg = ValidateConfig::new(input, as_of());
    let report = validate_dataset(&vcfg, &ds);
    assert!(report.is_usable());
    let w = ingest::ingest(&ds, &report, spec()).unwrap();
    let st = replay::replay(&w);
    let ctx = Context::build(&w, &st, &FeatureConfig::default());
    Prepared { _dir: dir, accounts, ds, report, w, st, ctx }
}

fn all() -> &'static [Prepared] {
    static P: std::sync::OnceLock<Vec<Prepared>> = std::sync::OnceLock::new();
    P.get_or_init(|| sizes().into_iter().map(prepare).collect())
}

fn synth(c: &mut Criterion) {
    let mut g = c.benchmark_group("synth");
    g.sample_size(10);
    for accounts in sizes() {
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
    for p in all() {
        let cfg = ValidateConfig::new(p.ds.root.clone(), as_of());
        g.bench_with_input(BenchmarkId::from_parameter(p.accounts), &cfg, |b, cfg| b.iter(|| assert!(validate(cfg).unwrap().is_usable())));
    }
    g.finish();
}

fn ingest_stage(c: &mut Criterion) {
    let mut g = c.benchmark_group("ingest");
    g.sample_size(10);
    for p in all() {
        g.bench_with_input(BenchmarkId::from_parameter(p.accounts), p, |b, p| b.iter(|| ingest::ingest(&p.ds, &p.report, spec()).unwrap()));
    }
    g.finish();
}

fn replay_stage(c: &mut Criterion) {
    let mut g = c.benchmark_group("replay");
    g.sample_size(10);
    for p in all() {
        g.bench_with_input(BenchmarkId::from_parameter(p.accounts), p, |b, p| b.iter(|| replay::replay(&p.w)));
    }
    g.finish();
}

fn graph_stages(c: &mut Criterion) {
    let mut g = c.benchmark_group("graphs");
    g.sample_size(10);
    for p in all() {
        g.bench_with_input(BenchmarkId::new("build", p.accounts), p, |b, p| b.iter(|| features::graph::Graphs::build(&p.w, &p.st)));
        let gr = &p.ctx.graphs;
        let params = fraudar::FraudarParams { blocks: 4, log_offset: 5.0 };
        g.bench_with_input(BenchmarkId::new("fraudar_4_blocks", p.accounts), p, |b, _| b.iter(|| fraudar::fraudar(&gr.members, &gr.groups_members, &params)));
        g.bench_with_input(BenchmarkId::new("group_projection", p.accounts), p, |b, p| {
            b.iter(|| features::graph::group_projection(&p.w, &p.st, &gr.members, &gr.forwarding))
        });
        g.bench_with_input(BenchmarkId::new("louvain_projection", p.accounts), p, |b, _| {
            b.iter(|| louvain::louvain(&gr.projection.ties, &louvain::LouvainParams::default()))
        });
        let seeds = Seeds::visible(&p.w, &p.ctx, p.w.now_ms, &[], &[]);
        g.bench_with_input(BenchmarkId::new("ppr_membership", p.accounts), p, |b, _| {
            b.iter(|| pagerank::bipartite_seeded_pagerank(&gr.members, &gr.groups_members, &seeds.accounts, &seeds.groups, 0.85, 1e-9, 100))
        });
        // Five cross-validation passes (each fifth of the seeds hidden in turn): five walks one
        // after another, or one walk of five lanes.
        let passes: Vec<(Vec<u32>, Vec<u32>)> = (0..5).map(|k| (seeds.accounts.iter().copied().filter(|a| a % 5 != k).collect(), seeds.groups.iter().copied().filter(|g| g % 5 != k).collect())).collect();
        let refs: Vec<(&[u32], &[u32])> = passes.iter().map(|(a, g)| (&a[..], &g[..])).collect();
        g.bench_with_input(BenchmarkId::new("ppr_membership_5_passes_one_by_one", p.accounts), p, |b, _| {
            b.iter(|| refs.iter().map(|&(a, s)| pagerank::bipartite_seeded_pagerank(&gr.members, &gr.groups_members, a, s, 0.85, 1e-10, 200)).collect::<Vec<_>>())
        });
        g.bench_with_input(BenchmarkId::new("ppr_membership_5_passes_as_lanes", p.accounts), p, |b, _| {
            b.iter(|| pagerank::bipartite_seeded_pagerank_many(&gr.members, &gr.groups_members, &refs, 0.85, 1e-10, 200))
        });
    }
    g.finish();
}

fn feature_stages(c: &mut Criterion) {
    let mut g = c.benchmark_group("features");
    g.sample_size(10);
    for p in all() {
        let seeds = Seeds::visible(&p.w, &p.ctx, p.w.now_ms, &[], &[]);
        g.bench_with_input(BenchmarkId::new("context", p.accounts), p, |b, p| b.iter(|| Context::build(&p.w, &p.st, &FeatureConfig::default())));
        g.bench_with_input(BenchmarkId::new("tabular", p.accounts), p, |b, p| b.iter(|| features::tabular(&p.w, &p.st, &p.ctx)));
        g.bench_with_input(BenchmarkId::new("seeded", p.accounts), p, |b, p| b.iter(|| features::graph::seeded(&p.w, &p.st, &p.ctx.graphs, &seeds)));
        g.bench_with_input(BenchmarkId::new("text_scores", p.accounts), p, |b, p| {
            b.iter(|| {
                let gs = features::text::cross_fitted_scores(&p.ctx.group_text, &seeds.labelled_groups, &p.w.groups.ids);
                let as_ = features::text::cross_fitted_scores(&p.ctx.account_text, &seeds.labelled_accounts, &p.w.accounts.ids);
                (gs, as_)
            })
        });
    }
    g.finish();
}

fn scoring(c: &mut Criterion) {
    let mut g = c.benchmark_group("model");
    g.sample_size(10);
    for p in all() {
        // Small datasets carry few labels: train with a low bar so a model exists to score with.
        let cfg = train::TrainConfig { min_positives: 3, ..Default::default() };
        g.bench_with_input(BenchmarkId::new("train", p.accounts), p, |b, p| b.iter(|| crossfit::run(&p.w, &p.st, &p.ctx, crossfit::Mode::Train(&cfg), &mut |_| {}).unwrap()));
        let out = crossfit::run(&p.w, &p.st, &p.ctx, crossfit::Mode::Train(&cfg), &mut |_| {}).unwrap();
        let file = ModelFile::new(out.group.model, out.account.model, None, as_of(), 30, cfg.clone());
        g.bench_with_input(BenchmarkId::new("score", p.accounts), p, |b, p| b.iter(|| crossfit::run(&p.w, &p.st, &p.ctx, crossfit::Mode::Apply(&file), &mut |_| {}).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, synth, validate_stage, ingest_stage, replay_stage, graph_stages, feature_stages, scoring);
criterion_main!(benches);
