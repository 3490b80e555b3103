//! The `groupwatch` command line: parses flags into the library's typed configurations,
//! runs the command, prints the result and picks the exit code (0 ok, 2 bad input or usage,
//! 3 `run` found its output folder locked by another run, 1 internal failure; 143/130 a run
//! stopped by SIGTERM/SIGINT, see `run::stop_on_signals`). All logic lives in the library.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use groupwatch::synth::{self, Preset, Scale, SynthConfig};
use groupwatch::validate::{self, ValidateConfig};

const DEFAULT_AS_OF: &str = "2026-11-24";

#[derive(Parser, Debug)]
#[command(
    name = "groupwatch",
    version,
    about = "Finds networks sharing child-exploitation imagery from platform metadata alone",
    long_about = "groupwatch reads group membership, invite-link, forwarding, report and block \
metadata (Parquet, see data-schemas/), and produces a ranked, explained review queue. \
Humans decide; groupwatch never acts on an account by itself.\n\n\
Exit codes: 0 ok, 2 bad input or usage, 1 internal failure.",
    after_help = "Start with:  groupwatch demo"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: GlobalArgs,
}

#[derive(Args, Debug)]
struct GlobalArgs {
    /// Log format: human-readable text or one JSON object per line (for schedulers).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log level filter (e.g. info, debug, groupwatch=trace).
    #[arg(long, global = true, default_value = "info")]
    log: String,
    /// Worker threads for rayon and polars (default: every core).
    #[arg(long, global = true)]
    threads: Option<usize>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a synthetic platform, validate it and run the nightly job on it (features,
    /// a model trained on its labels, scores, policy): the whole pipeline on built-in data.
    #[command(after_help = "Example:\n  groupwatch demo\n  groupwatch demo --out /tmp/gw-demo --scale small")]
    Demo(DemoArgs),
    /// Write a synthetic input dataset with planted violating networks and ground truth.
    #[command(after_help = "Example:\n  groupwatch synth --scale small --seed 7 --out data/small\n  \
groupwatch synth --preset hard --scale small --seed 1 --out data/hard-small\n\n\
Writes DIR/input/ (the dataset), DIR/truth/ (ground truth, beside the dataset) and DIR/synth.json.")]
    Synth(SynthArgs),
    /// Check an input dataset against the data contract; set bad rows aside in a quarantine
    /// file. Exit 2 when a table is unusable.
    #[command(after_help = "Example:\n  groupwatch validate --input data/small/input --quarantine /tmp/quarantine.parquet")]
    Validate(ValidateArgs),
    /// Compute group and account features for one as-of window: validate, ingest, replay
    /// memberships, compute, write group_features.parquet and account_features.parquet.
    #[command(after_help = "Example:\n  groupwatch features --input data/small/input --out /tmp/features --as-of 2026-11-24")]
    Features(FeaturesArgs),
    /// Train the group and account models on the input's labels with time-ordered
    /// cross-validation; write the model file and its evaluation (JSON and Markdown) beside it.
    #[command(after_help = "Example:\n  groupwatch train --input data/small/input --model-out models/model.json\n\n\
Writes FILE, FILE.evaluation.json and FILE.evaluation.md (and with --oof-out, the folds and out-of-fold scores).")]
    Train(TrainArgs),
    /// The nightly job: validate, ingest, graphs, features, score (with --model, or a model
    /// trained on the input's labels), policy; outputs into OUT/run=<as-of>/ atomically.
    #[command(after_help = "Example:\n  groupwatch run --input data/small/input --out runs --as-of 2026-11-24\n  \
groupwatch run --input data/small/input --out runs --model models/model.json --policy policies/default.toml")]
    Run(RunArgs),
    /// For thresholds across the score range: groups and accounts flagged, precision and
    /// recall on labelled data (Wilson intervals), review hours; the threshold that fills the
    /// daily capacity. Writes sweep.parquet, sweep.csv and sweep.svg; with --compare, the
    /// entities each of two policies would flag that the other would not (compare.csv).
    #[command(after_help = "Example:\n  groupwatch sweep --run runs/run=2026-11-24\n  \
groupwatch sweep --run runs/run=2026-11-24 --policy policies/default.toml --compare policies/strict.toml")]
    Sweep(SweepArgs),
    /// Render report.html, the investigators' view, from a finished run folder (runs write it
    /// themselves; this re-renders one). One self-contained file: no network access needed.
    #[command(after_help = "Example:\n  groupwatch report --run runs/run=2026-11-24")]
    Report(ReportArgs),
    /// Measure a run's scores against the held-out truth of a synthetic dataset: PR-AUC,
    /// ROC-AUC, precision and recall in the top K, network recall, with camouflaged networks
    /// apart. Entities labelled in the run's input are left out (their labels were seeds).
    #[command(after_help = "Example (train on one seed, score another):\n  \
groupwatch synth --scale small --seed 1 --out a && groupwatch synth --scale small --seed 2 --out b\n  \
groupwatch train --input a/input --model-out m.json\n  \
groupwatch run --input b/input --out b/runs --model m.json\n  \
groupwatch evaluate --run b/runs/run=2026-11-24 --truth b/truth")]
    Evaluate(EvaluateArgs),
    /// The evidence behind a cluster, group or account of a finished run, in the terminal:
    /// rank, risk, reasons with values, hash matches, reports, the timeline, key accounts by
    /// centrality. Reads only the run folder. Exit 2 when the id is not in the run.
    #[command(after_help = "Example:\n  groupwatch explain --run runs/run=2026-11-24 --cluster 20261124000001\n  \
groupwatch explain --run runs/run=2026-11-24 --group 1234\n  groupwatch explain --run runs/run=2026-11-24 --account 5678")]
    Explain(ExplainArgs),
    /// Convert the Reddit banned-users CSVs (user,subreddit pairs; user,banned labels) into a
    /// contract dataset: users -> accounts, subreddits -> groups, pairs -> joins, bans -> labels.
    /// Join and label times are invented (seeded): folds over them are random splits.
    #[command(
        name = "convert-reddit",
        after_help = "Example:\n  groupwatch convert-reddit --edges ../shared/datasets/reddit-banned/derived_user_subreddit_edges.csv \\\n    --labels ../shared/datasets/reddit-banned/derived_user_labels.csv --out /tmp/reddit\n\n\
Writes accounts, groups, memberships and labels (Parquet) and _conversion.json into OUT."
    )]
    ConvertReddit(ConvertRedditArgs),
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// A run folder written by `groupwatch run`; report.html is written into it.
    #[arg(long)]
    run: PathBuf,
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false, id = "target")]
struct ExplainTarget {
    /// A cluster id (clusters.parquet).
    #[arg(long)]
    cluster: Option<u64>,
    /// A group id.
    #[arg(long)]
    group: Option<u64>,
    /// An account id.
    #[arg(long)]
    account: Option<u64>,
}

#[derive(Args, Debug)]
struct ExplainArgs {
    /// A run folder written by `groupwatch run`.
    #[arg(long)]
    run: PathBuf,
    #[command(flatten)]
    target: ExplainTarget,
}

#[derive(Args, Debug)]
struct ConvertRedditArgs {
    /// CSV with columns user,subreddit (one row per pair).
    #[arg(long)]
    edges: PathBuf,
    /// CSV with columns user,banned (0 or 1; one row per user).
    #[arg(long)]
    labels: PathBuf,
    /// Dataset folder to create (must not exist or be empty).
    #[arg(long)]
    out: PathBuf,
    /// The invented times fall in the 30 days ending with this UTC day.
    #[arg(long, default_value = DEFAULT_AS_OF)]
    as_of: NaiveDate,
    /// Seed of the invented join and label times (and of which labels are revealed).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of users whose label is written (0..1); all users' truth goes to OUT/_truth/.
    #[arg(long, default_value_t = 1.0, value_parser = reveal_share)]
    reveal: f64,
}

fn reveal_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a share between 0 and 1, got {s}")),
    }
}

#[derive(Args, Debug)]
struct SweepArgs {
    /// A run folder written by `groupwatch run`.
    #[arg(long)]
    run: PathBuf,
    /// Policy to replay (default: the policy the run applied, from its manifest).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// A second policy to compare against --policy.
    #[arg(long)]
    compare: Option<PathBuf>,
    /// Output folder (default: the run folder).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Threshold steps between 0 and 1.
    #[arg(long, default_value_t = groupwatch::sweep::DEFAULT_STEPS)]
    steps: usize,
}

#[derive(Args, Debug)]
struct RunArgs {
    /// Input dataset folder.
    #[arg(long)]
    input: PathBuf,
    /// Output folder: the run is written to OUT/run=<as-of>/.
    #[arg(long)]
    out: PathBuf,
    /// As-of date (the window ends at the end of this UTC day). Defaults to yesterday (UTC).
    #[arg(long)]
    as_of: Option<NaiveDate>,
    #[arg(long, default_value_t = 30)]
    window_days: u32,
    /// Policy file (TOML); the built-in default policy when absent.
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Model file from `groupwatch train`; when absent a model is trained on the input's labels.
    #[arg(long)]
    model: Option<PathBuf>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// PDQ Hamming distance at or below which a photo matches the hash bank.
    #[arg(long, default_value_t = 31)]
    hamming_threshold: u32,
    /// Without --model: fewer violating labels of a kind than this and that kind is ranked
    /// by the unsupervised score instead of a model.
    #[arg(long, default_value_t = 20)]
    min_positives: usize,
}

#[derive(Args, Debug)]
struct TrainArgs {
    /// Input dataset folder (its labels table is the training signal).
    #[arg(long)]
    input: PathBuf,
    /// Model file to write (JSON).
    #[arg(long)]
    model_out: PathBuf,
    /// As-of date: labels decided before the end of this UTC day are used.
    #[arg(long, default_value = DEFAULT_AS_OF)]
    as_of: NaiveDate,
    /// Days in the feature window.
    #[arg(long, default_value_t = 30)]
    window_days: u32,
    /// Reviews per day: precision is reported in the top this many.
    #[arg(long, default_value_t = 200)]
    capacity: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Fewer violating labels of a kind than this and no model is trained for that kind.
    #[arg(long, default_value_t = 20)]
    min_positives: usize,
    /// Also write every labelled entity's fold and out-of-fold scores (Parquet, the
    /// oof_scores table of data-schemas/), to evaluate other models on the same folds.
    #[arg(long)]
    oof_out: Option<PathBuf>,
    /// PDQ Hamming distance at or below which a photo matches the hash bank.
    #[arg(long, default_value_t = 31)]
    hamming_threshold: u32,
    /// Train on the tabular features only (no graph features): a baseline model.
    #[arg(long)]
    tabular_only: bool,
}

#[derive(Args, Debug)]
struct EvaluateArgs {
    /// A run folder written by `groupwatch run` on a synthetic dataset.
    #[arg(long)]
    run: PathBuf,
    /// The dataset's truth folder, written by `groupwatch synth` beside its input (DIR/truth).
    #[arg(long)]
    truth: PathBuf,
    /// Review capacity: precision, recall and network recall are measured in the top K.
    #[arg(long, default_value_t = 200)]
    k: usize,
    /// Also evaluate entities the run's input labels (their labels are seeds there: leaky).
    #[arg(long)]
    include_labelled: bool,
    /// Also write the figures as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct FeaturesArgs {
    /// Input dataset folder.
    #[arg(long)]
    input: PathBuf,
    /// Output folder (the feature tables and features.json are written atomically into it).
    #[arg(long)]
    out: PathBuf,
    /// As-of date: the window ends at the end of this UTC day ("now" for every feature).
    #[arg(long, default_value = DEFAULT_AS_OF)]
    as_of: NaiveDate,
    /// Days in the window.
    #[arg(long, default_value_t = 30)]
    window_days: u32,
    /// PDQ Hamming distance at or below which a photo matches the hash bank.
    #[arg(long, default_value_t = 31)]
    hamming_threshold: u32,
}

#[derive(Args, Debug)]
struct DemoArgs {
    /// Folder for the demo's dataset and outputs.
    #[arg(long, default_value = "groupwatch-demo")]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Scale::Small)]
    scale: Scale,
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Generator world model: `hard` adds benign multi-group families, loud decoys, quiet
    /// and unlabelled networks.
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
}

#[derive(Args, Debug)]
struct SynthArgs {
    /// Output folder (must not already hold a dataset).
    #[arg(long)]
    out: PathBuf,
    #[arg(long, value_enum, default_value_t = Scale::Tiny)]
    scale: Scale,
    /// Generator world model: `default`, or `hard` (benign multi-group families with shared
    /// admins, loud benign decoys, networks with many creators, quiet networks, and labels on
    /// only about half of the networks).
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    preset: Preset,
    /// Override the scale's number of accounts.
    #[arg(long)]
    accounts: Option<usize>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Last day of generated data (UTC).
    #[arg(long, default_value = DEFAULT_AS_OF)]
    as_of: NaiveDate,
    /// Days of forwards, reports and blocks to generate (memberships keep full history).
    #[arg(long, default_value_t = 60)]
    window_days: u32,
}

#[derive(Args, Debug)]
struct ValidateArgs {
    /// Input dataset folder (one sub-folder or file per table).
    #[arg(long)]
    input: PathBuf,
    /// Where to write the quarantined rows (Parquet, the contract's quarantine table).
    #[arg(long, default_value = "quarantine.parquet")]
    quarantine: PathBuf,
    /// As-of date: times more than a century after the end of this day are quarantined (the
    /// same rule as `run`; a later time is only outside a run's window).
    /// Defaults to today (UTC).
    #[arg(long)]
    as_of: Option<NaiveDate>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    report_json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            // clap: --help/--version are not errors; usage errors are bad input.
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    init_logging(&cli.global);
    if let Some(n) = cli.global.threads {
        // Polars reads this on first use; rayon's global pool is sized here.
        std::env::set_var("POLARS_MAX_THREADS", n.to_string());
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_chain(&e));
            let bad_input = e.chain().any(|c| {
                c.downcast_ref::<validate::ValidateError>().is_some()
                    || matches!(c.downcast_ref::<synth::SynthError>(), Some(synth::SynthError::OutputExists(_) | synth::SynthError::TooSmall(_)))
            });
            ExitCode::from(if bad_input { 2 } else { 1 })
        }
    }
}

/// The error and its causes on one line, each message once: many errors quote their cause in
/// their own message and also return it as `source()`, so printing the plain chain (`{:#}`)
/// would repeat it.
fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for link in e.chain() {
        let msg = link.to_string();
        if msg.is_empty() || out.contains(&msg) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&msg);
    }
    out
}

fn init_logging(g: &GlobalArgs) {
    let filter = tracing_subscriber::EnvFilter::try_new(&g.log).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match g.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_target(false).init(),
    }
}

fn spinner(msg: &str) -> ProgressBar {
    // Draws only when stderr is a terminal.
    let pb = ProgressBar::new_spinner();
    pb.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("static template"));
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Synth(a) => {
            let mut cfg = SynthConfig::new(a.scale, a.seed, a.as_of, a.out);
            cfg.preset = a.preset;
            cfg.window_days = a.window_days;
            if let Some(n) = a.accounts {
                cfg.accounts = n;
            }
            synth_cmd(&cfg)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate(a) => {
            let as_of = a.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive());
            let cfg = ValidateConfig::new(a.input, as_of);
            validate_cmd(&cfg, &a.quarantine, a.report_json.as_deref())
        }
        Command::Features(a) => features_cmd(&a),
        Command::Train(a) => train_cmd(&a),
        Command::Sweep(a) => sweep_cmd(&a),
        Command::Report(a) => report_cmd(&a),
        Command::Evaluate(a) => evaluate_cmd(&a),
        Command::Explain(a) => explain_cmd(&a),
        Command::ConvertReddit(a) => convert_reddit_cmd(a),
        Command::Run(a) => {
            let as_of = a.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive() - chrono::Days::new(1));
            let mut cfg = groupwatch::run::RunConfig::new(a.input, a.out, as_of);
            cfg.window_days = a.window_days;
            cfg.policy = a.policy;
            cfg.model = a.model;
            cfg.seed = a.seed;
            cfg.min_positives = a.min_positives;
            cfg.hamming_threshold = a.hamming_threshold;
            run_cmd(&cfg)
        }
        Command::Demo(a) => {
            let as_of: NaiveDate = DEFAULT_AS_OF.parse().expect("constant date");
            let mut cfg = SynthConfig::new(a.scale, a.seed, as_of, a.out.clone());
            cfg.preset = a.preset;
            if a.out.join("synth.json").exists() {
                println!("reusing the dataset already generated in {}", a.out.display());
            } else {
                synth_cmd(&cfg)?;
            }
            let vcfg = ValidateConfig::new(a.out.join("input"), as_of);
            let vdir = a.out.join("validate");
            let code = validate_cmd(&vcfg, &vdir.join("quarantine.parquet"), Some(&vdir.join("report.json")))?;
            if code != ExitCode::SUCCESS {
                return Ok(code);
            }
            let mut rcfg = groupwatch::run::RunConfig::new(a.out.join("input"), a.out.join("runs"), as_of);
            rcfg.seed = a.seed;
            let code = run_cmd(&rcfg)?;
            if code != ExitCode::SUCCESS {
                return Ok(code);
            }
            let top = groupwatch::io::read_parquet(&rcfg.run_dir().join("clusters.parquet"), Some(&["cluster_id"]))
                .ok()
                .and_then(|df| df.column("cluster_id").ok().and_then(|c| c.u64().ok().and_then(|c| c.get(0))));
            println!();
            let code = sweep_cmd(&SweepArgs { run: rcfg.run_dir(), policy: None, compare: None, out: None, steps: groupwatch::sweep::DEFAULT_STEPS })?;
            println!("\ndemo dataset: {}/input   ground truth: {}/truth", a.out.display(), a.out.display());
            println!("validation report: {}/report.json", vdir.display());
            println!("run outputs (features, scores, hash matches, model, manifest.json): {}", rcfg.run_dir().display());
            println!("threshold sweep for the policy team: {}/sweep.svg (and sweep.csv, sweep.parquet)", rcfg.run_dir().display());
            println!(
                "suspected networks: {0}/clusters.parquet (members, timeline and edges in cluster_members, cluster_timeline, cluster_edges)",
                rcfg.run_dir().display()
            );
            println!("the investigators' report (open in a browser, no network needed): {}/report.html", rcfg.run_dir().display());
            if let Some(top) = top {
                println!("the top network's evidence: groupwatch explain --run {} --cluster {top}", rcfg.run_dir().display());
            }
            Ok(code)
        }
    }
}

fn synth_cmd(cfg: &SynthConfig) -> anyhow::Result<()> {
    let pb = spinner(&format!("generating {:?} dataset in {}", cfg.scale, cfg.out.display()));
    let summary = synth::generate(cfg);
    pb.finish_and_clear();
    let summary = summary?;
    println!(
        "generated {} accounts, {} groups ({} violating in {} networks) in {:.1} s -> {}",
        cfg.accounts,
        summary.groups,
        summary.violating_groups,
        summary.networks,
        summary.seconds,
        cfg.out.display()
    );
    if let (Some(l), Some(g)) = (summary.labelled_networks, summary.violating_group_labels) {
        println!("  {l} of {} networks carry labels; {g} violating group labels", summary.networks);
    }
    for (table, rows) in &summary.rows {
        println!("  {table:<14} {rows:>12} rows in {:>5} file(s)", summary.files.get(table).copied().unwrap_or(0));
    }
    Ok(())
}

fn validate_cmd(cfg: &ValidateConfig, quarantine: &Path, json: Option<&Path>) -> anyhow::Result<ExitCode> {
    let pb = spinner(&format!("validating {}", cfg.input.display()));
    let report = validate::validate(cfg);
    pb.finish_and_clear();
    let report = report?;
    print!("{report}");
    let mut df = report.quarantine_frame()?;
    groupwatch::io::write_parquet(&mut df, quarantine).context("writing the quarantine file")?;
    println!("quarantine: {} row(s) written to {}", report.quarantine.len(), quarantine.display());
    if let Some(path) = json {
        let text = serde_json::to_vec_pretty(&report)?;
        groupwatch::io::write_bytes(path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    tracing::info!(
        tables = report.tables.len(),
        quarantined = report.quarantine.len(),
        fatal = report.fatal.len(),
        "validation finished"
    );
    Ok(if report.is_usable() { ExitCode::SUCCESS } else { ExitCode::from(2) })
}

fn features_cmd(a: &FeaturesArgs) -> anyhow::Result<ExitCode> {
    use groupwatch::features;
    let mut timings: Vec<(&str, f64)> = Vec::new();
    let Some(Prepared { w, st, ctx, quarantined }) = prepare(&a.input, a.as_of, a.window_days, a.hamming_threshold, &mut timings)? else {
        return Ok(ExitCode::from(2));
    };
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&str, f64)>| {
        groupwatch::run::release_freed_memory();
        let s = clock.elapsed().as_secs_f64();
        tracing::info!(stage = name, seconds = s, "stage finished");
        timings.push((name, s));
        clock = std::time::Instant::now();
    };
    let pb = spinner("computing features");
    let seeds = features::graph::Seeds::visible(&w, &ctx, w.now_ms, &[], &[]);
    let out = groupwatch::model::crossfit::run(&w, &st, &ctx, groupwatch::model::crossfit::Mode::Features, &mut |_| {})?;
    let (groups, accounts) = (out.groups, out.accounts);
    lap("features", &mut timings);
    pb.finish_and_clear();
    // Only the tables are written from here: the window and graphs go first (on `large` they
    // are most of the memory).
    let (ingest_stats, replay_stats) = (serde_json::to_value(&w.stats)?, serde_json::to_value(&st.stats)?);
    let (seed_accounts, seed_groups) = (seeds.accounts.len(), seeds.groups.len());
    drop((w, st, ctx, seeds));
    features::write(&a.out, &groups, &accounts)?;
    lap("write", &mut timings);
    let mut unavailable: Vec<String> = groups.unavailable.iter().map(|f| format!("group_features.{f}")).collect();
    unavailable.extend(accounts.unavailable.iter().map(|f| format!("account_features.{f}")));
    let summary = serde_json::json!({
        "as_of": a.as_of, "window_days": a.window_days, "feature_catalog_version": features::catalog().0,
        "quarantined_rows": quarantined, "ingest": ingest_stats, "replay": replay_stats,
        "seeds": {"accounts": seed_accounts, "groups": seed_groups},
        "group_rows": groups.ids.len(), "account_rows": accounts.ids.len(), "unavailable_features": unavailable,
        "stage_seconds": timings.iter().map(|(n, s)| (n.to_string(), *s)).collect::<std::collections::BTreeMap<_, _>>(),
    });
    groupwatch::io::write_bytes(&a.out.join("features.json"), &serde_json::to_vec_pretty(&summary)?)?;
    println!("{} groups and {} accounts -> {}", groups.ids.len(), accounts.ids.len(), a.out.display());
    for u in &unavailable {
        println!("  unavailable (input table absent): {u}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Validated, ingested and replayed window with its feature context; None when the input
/// is unusable (the report has been printed).
struct Prepared {
    w: groupwatch::ingest::Window,
    st: groupwatch::replay::MembershipState,
    ctx: groupwatch::features::Context,
    quarantined: usize,
}

fn prepare(input: &Path, as_of: NaiveDate, window_days: u32, hamming_threshold: u32, timings: &mut Vec<(&'static str, f64)>) -> anyhow::Result<Option<Prepared>> {
    use groupwatch::{features, ingest, layout, replay};
    let mut clock = std::time::Instant::now();
    let mut lap = |name: &'static str, timings: &mut Vec<(&str, f64)>| {
        groupwatch::run::release_freed_memory();
        let s = clock.elapsed().as_secs_f64();
        tracing::info!(stage = name, seconds = s, "stage finished");
        timings.push((name, s));
        clock = std::time::Instant::now();
    };
    let ds = layout::discover(input).map_err(validate::ValidateError::from)?;
    let vcfg = ValidateConfig::new(input.to_path_buf(), as_of);
    let pb = spinner("validating");
    let report = validate::validate_dataset(&vcfg, &ds);
    if !report.is_usable() {
        pb.finish_and_clear();
        print!("{report}");
        return Ok(None);
    }
    lap("validate", timings);
    pb.set_message("ingesting the window");
    let w = ingest::ingest(&ds, &report, ingest::WindowSpec { as_of, window_days })?;
    lap("ingest", timings);
    pb.set_message("replaying memberships");
    let st = replay::replay(&w);
    lap("replay", timings);
    pb.set_message("building graphs");
    let ctx = features::Context::build(&w, &st, &features::FeatureConfig { hamming_threshold });
    lap("graphs", timings);
    pb.finish_and_clear();
    Ok(Some(Prepared { w, st, ctx, quarantined: report.quarantine.len() }))
}

fn eval_json(k: &groupwatch::model::KindModel) -> serde_json::Value {
    serde_json::json!({
        "first_stage": k.first.as_ref().map(|f| f.learner.describe()), "chosen": k.second.learner.describe(), "calibration": k.calibration,
        "labels": {"violating": k.labels_violating, "benign": k.labels_benign, "unlabelled": k.unlabelled},
        "estimated_prevalence": k.estimated_prevalence,
        "all_features": k.evaluation, "tabular_only": k.tabular_only, "importance": k.importance,
    })
}

fn train_cmd(a: &TrainArgs) -> anyhow::Result<ExitCode> {
    use groupwatch::model::{self, ModelFile, TrainConfig};
    let mut timings = Vec::new();
    let Some(p) = prepare(&a.input, a.as_of, a.window_days, a.hamming_threshold, &mut timings)? else {
        return Ok(ExitCode::from(2));
    };
    let pb = spinner("training with cross-validation");
    let clock = std::time::Instant::now();
    let cfg = TrainConfig { capacity: a.capacity, seed: a.seed, min_positives: a.min_positives, tabular_only: a.tabular_only, ..TrainConfig::default() };
    let out = model::crossfit::run(&p.w, &p.st, &p.ctx, model::crossfit::Mode::Train(&cfg), &mut |stage| {
        tracing::debug!(stage, "training step finished");
    })?;
    pb.finish_and_clear();
    tracing::info!(stage = "train", seconds = clock.elapsed().as_secs_f64(), "stage finished");
    let m = ModelFile::new(out.group.model, out.account.model, model::label_range_ms(&p.w), a.as_of, a.window_days, cfg);
    m.save(&a.model_out)?;
    let base = a.model_out.display().to_string();
    groupwatch::io::write_bytes(Path::new(&format!("{base}.evaluation.json")), &serde_json::to_vec_pretty(&serde_json::json!({
        "group": m.group.as_ref().map(eval_json),
        "account": m.account.as_ref().map(eval_json),
        "skipped": m.skipped,
        "quarantined_rows": p.quarantined,
    }))?)?;
    let summary = m.summary();
    groupwatch::io::write_bytes(Path::new(&format!("{base}.evaluation.md")), summary.as_bytes())?;
    if let Some(path) = &a.oof_out {
        let mut df = m.oof_frame()?;
        let problems = groupwatch::schema::Contract::get().table("oof_scores").check_output(&df);
        anyhow::ensure!(problems.is_empty(), "out-of-fold table does not match its schema: {problems:?}");
        groupwatch::io::write_parquet(&mut df, path)?;
        println!("out-of-fold scores: {} row(s) -> {}", df.height(), path.display());
    }
    print!("{summary}");
    println!("model: {base}   evaluation: {base}.evaluation.md, {base}.evaluation.json");
    Ok(ExitCode::SUCCESS)
}

fn run_cmd(cfg: &groupwatch::run::RunConfig) -> anyhow::Result<ExitCode> {
    // SIGTERM/SIGINT remove the staging folder and exit 143/130.
    groupwatch::run::stop_on_signals().map_err(|e| anyhow::anyhow!("installing the SIGTERM/SIGINT handler: {e}"))?;
    let pb = spinner("starting");
    let result = groupwatch::run::run(cfg, &|stage| pb.set_message(stage.to_string()));
    pb.finish_and_clear();
    match result {
        Ok(s) => {
            println!(
                "run complete: {} groups ({} flagged), {} accounts ({} flagged) -> {}",
                s.groups_scored,
                s.groups_flagged,
                s.accounts_scored,
                s.accounts_flagged,
                s.run_dir.display()
            );
            match s.top_cluster {
                Some(top) => println!("  {} suspected network(s) in clusters.parquet; the top one: cluster {top}", s.clusters),
                None => println!("  no suspected networks (nothing flagged)"),
            }
            for w in &s.warnings {
                println!("  warning: {w}");
            }
            Ok(ExitCode::SUCCESS)
        }
        // Bad input (2) and a locked output folder (3) are reported here; internal failures
        // go up with their causes.
        Err(e) if e.exit_code() != 1 => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(e.exit_code()))
        }
        Err(e) => Err(e.into()),
    }
}

fn evaluate_cmd(a: &EvaluateArgs) -> anyhow::Result<ExitCode> {
    use groupwatch::evaluate::{evaluate, EvaluateConfig};
    let cfg = EvaluateConfig { run_dir: a.run.clone(), truth_dir: a.truth.clone(), k: a.k, include_labelled: a.include_labelled };
    match evaluate(&cfg) {
        Ok(e) => {
            print!("{}", e.markdown());
            if let Some(p) = &a.json {
                groupwatch::io::write_bytes(p, &serde_json::to_vec_pretty(&e)?)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

fn explain_cmd(a: &ExplainArgs) -> anyhow::Result<ExitCode> {
    use groupwatch::explain::{self, Target};
    let t = &a.target;
    let target = match (t.cluster, t.group, t.account) {
        (Some(c), _, _) => Target::Cluster(c),
        (_, Some(g), _) => Target::Group(g),
        (_, _, Some(x)) => Target::Account(x),
        _ => unreachable!("clap requires one target"),
    };
    match explain::explain(&a.run, target) {
        Ok(text) => {
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
    }
}

fn convert_reddit_cmd(a: ConvertRedditArgs) -> anyhow::Result<ExitCode> {
    use groupwatch::convert::{self, RedditConfig};
    use groupwatch::ExitCode as _;
    let cfg = RedditConfig { edges: a.edges, labels: a.labels, out: a.out, as_of: a.as_of, seed: a.seed, reveal: a.reveal };
    match convert::reddit(&cfg) {
        Ok(c) => {
            println!(
                "{} accounts, {} groups, {} memberships ({} duplicate pairs dropped), labels: {} violating, {} benign, {} users unlabelled -> {}",
                c.accounts,
                c.groups,
                c.memberships,
                c.duplicate_pairs,
                c.labels_violating,
                c.labels_benign,
                c.unlabelled_users,
                cfg.out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is_bad_input() => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

fn sweep_cmd(a: &SweepArgs) -> anyhow::Result<ExitCode> {
    use groupwatch::policy::Policy;
    use groupwatch::sweep;
    use groupwatch::ExitCode as _;
    let load = |p: &Option<PathBuf>| p.as_deref().map(Policy::load).transpose();
    let policy = match load(&a.policy) {
        Ok(p) => p.or_else(|| sweep::applied_policy(&a.run)).unwrap_or_else(Policy::default_policy),
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let other = match load(&a.compare) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let result = (|| -> Result<(), sweep::SweepError> {
        let s = sweep::sweep(&a.run, &policy, a.steps)?;
        let files = sweep::write_sweep(&s, a.out.as_deref())?;
        print!("{}", sweep::summary(&s));
        println!("written: {files:?}");
        if let Some(b) = &other {
            let c = sweep::compare(&a.run, &policy, b)?;
            let path = sweep::write_comparison(&c, a.out.as_deref())?;
            print!("{}", sweep::compare_summary(&c));
            println!("written: {}", path.display());
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if e.is_bad_input() => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

fn report_cmd(a: &ReportArgs) -> anyhow::Result<ExitCode> {
    use groupwatch::ExitCode as _;
    match groupwatch::report::write_report(&a.run) {
        Ok(path) => {
            println!("written: {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is_bad_input() => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}
