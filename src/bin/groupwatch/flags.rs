//! The command line's flags (clap): every subcommand's arguments with their defaults and
//! help, and their conversion into the library's jobs. For `run`, `train` and `features` the
//! flags given on the command line go over the `--config` file ([`groupwatch::config`]): a
//! flag left at its default does not hide the file's value.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Parser, Subcommand, ValueEnum};

use groupwatch::config::{self, Config, ConfigError, Settings, TrainSettings};
use groupwatch::features::FeatureConfig;
use groupwatch::model::TrainConfig;
use groupwatch::pipeline::{FeaturesJob, TrainJob};
use groupwatch::run::RunConfig;
use groupwatch::synth::{Preset, Scale};

/// The synthetic data's last day (`synth`, `demo`).
pub const DEFAULT_AS_OF: &str = "2026-11-24";

/// `value` when flag `id` was given on the command line (`m`: the subcommand's matches), not
/// taken from its default.
fn given<T>(m: &ArgMatches, id: &str, value: T) -> Option<T> {
    (m.value_source(id) == Some(ValueSource::CommandLine)).then_some(value)
}

impl WindowArgs {
    /// The window's flags and a command's own (`flags`) over the `--config` file over the
    /// defaults, checked.
    fn config(&self, m: &ArgMatches, flags: Settings) -> Result<Config, ConfigError> {
        let flags = Settings {
            as_of: self.as_of,
            window_days: given(m, "window_days", self.window_days),
            hamming_threshold: given(m, "hamming_threshold", self.hamming_threshold),
            ..flags
        };
        match &self.config {
            Some(path) => flags.over(Settings::from_file(path)?).resolve(&format!("flags and {}", path.display())),
            None => flags.resolve("flags"),
        }
    }
}

impl FeaturesArgs {
    pub fn job(&self, m: &ArgMatches) -> Result<FeaturesJob, ConfigError> {
        let c = self.window.config(m, Settings::default())?;
        Ok(FeaturesJob { input: self.window.input.clone(), out: self.out.clone(), as_of: c.as_of, window_days: c.window_days, hamming_threshold: c.hamming_threshold })
    }
}

impl TrainArgs {
    pub fn job(&self, m: &ArgMatches) -> Result<TrainJob, ConfigError> {
        let train = TrainSettings {
            capacity: given(m, "capacity", self.capacity),
            seed: given(m, "seed", self.seed),
            min_positives: given(m, "min_positives", self.min_positives),
            tabular_only: self.tabular_only.then_some(true),
            max_negatives: None,
        };
        let c = self.window.config(m, Settings { train, ..Settings::default() })?;
        let (input, model_out, oof_out) = (self.window.input.clone(), self.model_out.clone(), self.oof_out.clone());
        Ok(TrainJob { input, model_out, as_of: c.as_of, window_days: c.window_days, hamming_threshold: c.hamming_threshold, train: c.train(TrainConfig::default().capacity), oof_out })
    }
}

impl RunArgs {
    pub fn run_config(&self, m: &ArgMatches) -> Result<RunConfig, ConfigError> {
        let train = TrainSettings { seed: given(m, "seed", self.seed), min_positives: given(m, "min_positives", self.min_positives), ..TrainSettings::default() };
        let config = self.window.config(m, Settings { policy: self.policy.clone(), train, ..Settings::default() })?;
        let mut cfg = RunConfig::new(self.window.input.clone(), self.out.clone(), config.as_of);
        (cfg.model, cfg.config) = (self.model.clone(), config);
        Ok(cfg)
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "groupwatch",
    version,
    about = "Finds networks sharing child-exploitation imagery from platform metadata alone",
    long_about = "groupwatch reads group membership, invite-link, forwarding, report and block \
metadata (Parquet, see data-schemas/), and produces a ranked, explained review queue. \
Humans decide; groupwatch never acts on an account by itself.\n\n\
Exit codes: 0 ok, 2 bad input or usage, 3 `run` found its output folder locked by another run, \
1 internal failure, 143/130 stopped by SIGTERM/SIGINT.",
    after_help = "Start with:  groupwatch demo"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Args, Debug)]
pub struct GlobalArgs {
    /// Log format: human-readable text or one JSON object per line (for schedulers).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log level filter (e.g. info, debug, groupwatch=trace).
    #[arg(long, global = true, default_value = "info")]
    pub log: String,
    /// Worker threads for rayon and polars (default: every core).
    #[arg(long, global = true)]
    pub threads: Option<usize>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate a synthetic platform, validate it and run the nightly job on it (features,
    /// a model trained on its labels, scores, policy): the whole pipeline on built-in data.
    #[command(
        after_help = "Example:\n  groupwatch demo\n  groupwatch demo --out /tmp/gw-demo --scale small"
    )]
    Demo(DemoArgs),
    /// Write a synthetic input dataset with planted violating networks and ground truth.
    #[command(
        after_help = "Example:\n  groupwatch synth --scale small --seed 7 --out data/small\n  \
groupwatch synth --preset hard --scale small --seed 1 --out data/hard-small\n\n\
Writes DIR/input/ (the dataset), DIR/truth/ (ground truth, beside the dataset) and DIR/synth.json."
    )]
    Synth(SynthArgs),
    /// Check an input dataset against the data contract; set bad rows aside in a quarantine
    /// file. Exit 2 when a table is unusable.
    #[command(
        after_help = "Example:\n  groupwatch validate --input data/small/input --quarantine /tmp/quarantine.parquet --as-of 2026-11-24"
    )]
    Validate(ValidateArgs),
    /// Compute group and account features for one as-of window: validate, ingest, replay
    /// memberships, compute, write group_features.parquet and account_features.parquet.
    #[command(
        after_help = "Example:\n  groupwatch features --input data/small/input --out /tmp/features --as-of 2026-11-24"
    )]
    Features(FeaturesArgs),
    /// Train the group and account models on the input's labels with time-ordered
    /// cross-validation; write the model file and its evaluation (JSON and Markdown) beside it.
    #[command(
        after_help = "Example:\n  groupwatch train --input data/small/input --model-out models/model.json --as-of 2026-11-24\n\n\
Writes FILE, FILE.evaluation.json and FILE.evaluation.md (and with --oof-out, the folds and out-of-fold scores)."
    )]
    Train(TrainArgs),
    /// The nightly job: validate, ingest, graphs, features, score (with --model, or a model
    /// trained on the input's labels), policy; outputs into OUT/run=<as-of>/ atomically.
    #[command(
        after_help = "Example:\n  groupwatch run --input data/small/input --out runs --as-of 2026-11-24\n  \
groupwatch run --input data/small/input --out runs --model models/model.json --policy policies/default.toml"
    )]
    Run(RunArgs),
    /// For thresholds across the score range: groups and accounts flagged, precision and
    /// recall on labelled data (Wilson intervals), review hours; the threshold that fills the
    /// daily capacity. Writes sweep.parquet, sweep.csv and sweep.svg; with --compare, the
    /// entities each of two policies would flag that the other would not (compare.csv).
    #[command(
        after_help = "Example:\n  groupwatch sweep --run runs/run=2026-11-24\n  \
groupwatch sweep --run runs/run=2026-11-24 --policy policies/default.toml --compare policies/strict.toml"
    )]
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
groupwatch train --input a/input --model-out m.json --as-of 2026-11-24\n  \
groupwatch run --input b/input --out b/runs --model m.json --as-of 2026-11-24\n  \
groupwatch evaluate --run b/runs/run=2026-11-24 --truth b/truth")]
    Evaluate(EvaluateArgs),
    /// The evidence behind a cluster, group or account of a finished run, in the terminal:
    /// rank, risk, reasons with values, hash matches, reports, the timeline, key accounts by
    /// centrality. Reads only the run folder. Exit 2 when the id is not in the run.
    #[command(
        after_help = "Example:\n  groupwatch explain --run runs/run=2026-11-24 --cluster 20261124000001\n  \
groupwatch explain --run runs/run=2026-11-24 --group 1234\n  groupwatch explain --run runs/run=2026-11-24 --account 5678"
    )]
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
pub struct ReportArgs {
    /// A run folder written by `groupwatch run`; report.html is written into it.
    #[arg(long)]
    pub run: PathBuf,
}

#[derive(Args, Debug)]
#[group(required = true, multiple = false, id = "target")]
pub struct ExplainTarget {
    /// A cluster id (clusters.parquet).
    #[arg(long)]
    pub cluster: Option<u64>,
    /// A group id.
    #[arg(long)]
    pub group: Option<u64>,
    /// An account id.
    #[arg(long)]
    pub account: Option<u64>,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// A run folder written by `groupwatch run`.
    #[arg(long)]
    pub run: PathBuf,
    #[command(flatten)]
    pub target: ExplainTarget,
}

#[derive(Args, Debug)]
pub struct ConvertRedditArgs {
    /// CSV with columns user,subreddit (one row per pair).
    #[arg(long)]
    pub edges: PathBuf,
    /// CSV with columns user,banned (0 or 1; one row per user).
    #[arg(long)]
    pub labels: PathBuf,
    /// Dataset folder to create (must not exist or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// The invented times fall in the 30 days ending with this UTC day.
    #[arg(long, default_value = DEFAULT_AS_OF)]
    pub as_of: NaiveDate,
    /// Seed of the invented join and label times (and of which labels are revealed).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of users whose label is written (0..1); all users' truth goes to OUT/_truth/.
    #[arg(long, default_value_t = 1.0, value_parser = reveal_share)]
    pub reveal: f64,
}

pub fn reveal_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a share between 0 and 1, got {s}")),
    }
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// A run folder written by `groupwatch run`.
    #[arg(long)]
    pub run: PathBuf,
    /// Policy to replay (default: the policy the run applied, from its manifest).
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// A second policy to compare against --policy.
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// Output folder (default: the run folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Threshold steps between 0 and 1.
    #[arg(long, default_value_t = groupwatch::sweep::DEFAULT_STEPS)]
    pub steps: usize,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub window: WindowArgs,
    /// Output folder: the run is written to OUT/run=<as-of>/.
    #[arg(long)]
    pub out: PathBuf,
    /// Policy file (TOML); the built-in default policy when absent.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Model file from `groupwatch train`; when absent a model is trained on the input's labels.
    #[arg(long)]
    pub model: Option<PathBuf>,
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    pub seed: u64,
    /// Without --model: fewer violating labels of a kind than this and that kind is ranked
    /// by the unsupervised score instead of a model.
    #[arg(long, default_value_t = TrainConfig::default().min_positives)]
    pub min_positives: usize,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The input (its labels table is the training signal: labels decided by the end of the
    /// as-of day) and its window.
    #[command(flatten)]
    pub window: WindowArgs,
    /// Model file to write (JSON).
    #[arg(long)]
    pub model_out: PathBuf,
    /// Reviews per day: precision is reported in the top this many.
    #[arg(long, default_value_t = TrainConfig::default().capacity)]
    pub capacity: usize,
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    pub seed: u64,
    /// Fewer violating labels of a kind than this and no model is trained for that kind.
    #[arg(long, default_value_t = TrainConfig::default().min_positives)]
    pub min_positives: usize,
    /// Also write every labelled entity's fold and out-of-fold scores (Parquet, the
    /// oof_scores table of data-schemas/), to evaluate other models on the same folds.
    #[arg(long)]
    pub oof_out: Option<PathBuf>,
    /// Train on the tabular features only (no graph features): a baseline model.
    #[arg(long)]
    pub tabular_only: bool,
}

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// A run folder written by `groupwatch run` on a synthetic dataset.
    #[arg(long)]
    pub run: PathBuf,
    /// The dataset's truth folder, written by `groupwatch synth` beside its input (DIR/truth).
    #[arg(long)]
    pub truth: PathBuf,
    /// Review capacity: precision, recall and network recall are measured in the top K.
    #[arg(long, default_value_t = 200)]
    pub k: usize,
    /// Also evaluate entities the run's input labels (their labels are seeds there: leaky).
    #[arg(long)]
    pub include_labelled: bool,
    /// Also write the figures as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct FeaturesArgs {
    #[command(flatten)]
    pub window: WindowArgs,
    /// Output folder (the feature tables and features.json are written atomically into it).
    #[arg(long)]
    pub out: PathBuf,
}

/// The input and window every command that computes features reads (`features`, `train`,
/// `run`), and their configuration file.
#[derive(Args, Debug)]
pub struct WindowArgs {
    /// Input dataset folder.
    #[arg(long)]
    pub input: PathBuf,
    /// Settings file (TOML): as_of, window_days, hamming_threshold, policy and [train]
    /// capacity, seed, min_positives, max_negatives, tabular_only. Flags given on the command
    /// line win over it; unknown keys are an error (docs/data-scientists.md).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// As-of date: the window ends at the end of this UTC day ("now" for every feature;
    /// labels decided by then are used). Defaults to yesterday (UTC), as for every command
    /// that reads a dataset.
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// Days in the window.
    #[arg(long, default_value_t = config::DEFAULT_WINDOW_DAYS)]
    pub window_days: u32,
    /// PDQ Hamming distance at or below which a photo matches the hash bank.
    #[arg(long, default_value_t = FeatureConfig::default().hamming_threshold)]
    pub hamming_threshold: u32,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Folder for the demo's dataset and outputs.
    #[arg(long, default_value = "groupwatch-demo")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = Scale::Small)]
    pub scale: Scale,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Generator world model: `hard` adds benign multi-group families, loud decoys, quiet
    /// and unlabelled networks.
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    pub preset: Preset,
}

#[derive(Args, Debug)]
pub struct SynthArgs {
    /// Output folder (must not already hold a dataset).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = Scale::Tiny)]
    pub scale: Scale,
    /// Generator world model: `default`, or `hard` (benign multi-group families with shared
    /// admins, loud benign decoys, networks with many creators, quiet networks, and labels on
    /// only about half of the networks).
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    pub preset: Preset,
    /// Override the scale's number of accounts.
    #[arg(long)]
    pub accounts: Option<usize>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Last day of generated data (UTC).
    #[arg(long, default_value = DEFAULT_AS_OF)]
    pub as_of: NaiveDate,
    /// Days of forwards, reports and blocks to generate (memberships keep full history).
    #[arg(long, default_value_t = 60)]
    pub window_days: u32,
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Input dataset folder (one sub-folder or file per table).
    #[arg(long)]
    pub input: PathBuf,
    /// Where to write the quarantined rows (Parquet, the contract's quarantine table).
    #[arg(long, default_value = "quarantine.parquet")]
    pub quarantine: PathBuf,
    /// As-of date: times more than a century after the end of this day are quarantined (the
    /// same rule as `run`; a later time is only outside a run's window). Defaults to
    /// yesterday (UTC), as for every command that reads a dataset.
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub report_json: Option<PathBuf>,
}
