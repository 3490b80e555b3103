//! The stages every command shares, in data-flow order: validate → ingest (with reviewers'
//! decisions) → replay → graphs, then the `features` and `train` jobs built on them.
//!
//! Why one module: `run`, `features` and `train` used to prepare the window each in its own
//! way, and drifted apart (only `run` appended `review_decisions`, so a model trained with
//! `train` disagreed with the same data's `run`). Each now calls [`prepare`], which applies
//! one validation rule set, one window, the same labels and the same graphs; the nightly job
//! ([`crate::run`]) carries on from there to scores, policy, networks and the run folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use serde::Serialize;

use crate::clusters::{self, PreviousClusters};
use crate::features::{self, graph::Seeds, Context, FeatureConfig, SeedCounts};
use crate::ingest::{self, ReviewStats, Window, WindowSpec};
use crate::layout::Dataset;
use crate::model::{self, crossfit, ModelFile, TrainConfig};
use crate::replay::{self, MembershipState};
use crate::run::{peak_rss_mib, release_freed_memory, RunError};
use crate::run_folder::StageFigures;
use crate::validate::{self, ValidateConfig, ValidationReport};

/// Wall time and peak memory of each stage, for logs and manifests.
pub struct Clock {
    start: Instant,
    pub stages: Vec<StageFigures>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            start: Instant::now(),
            stages: Vec::new(),
        }
    }
}

impl Clock {
    /// Ends the current stage: hands freed memory back, logs and records its figures.
    pub fn lap(&mut self, stage: &str) {
        release_freed_memory();
        let seconds = self.start.elapsed().as_secs_f64();
        let peak = peak_rss_mib();
        tracing::info!(stage, seconds, peak_rss_mib = peak, "stage finished");
        self.stages.push(StageFigures {
            stage: stage.into(),
            seconds,
            peak_rss_mib: peak,
        });
        self.start = Instant::now();
    }

    /// Seconds per stage, by name.
    pub fn seconds(&self) -> BTreeMap<String, f64> {
        self.stages
            .iter()
            .map(|s| (s.stage.clone(), s.seconds))
            .collect()
    }
}

/// The input dataset's files, found on disk (a missing or unreadable folder is bad input).
pub fn discover(input: &Path) -> Result<Dataset, RunError> {
    Ok(crate::layout::discover(input).map_err(validate::ValidateError::from)?)
}

/// What the shared stages read: the window and where earlier run folders live.
#[derive(Debug, Clone)]
pub struct Source<'a> {
    pub spec: WindowSpec,
    pub hamming_threshold: u32,
    /// The output folder holding earlier `run=<date>` folders: cluster ids are kept from the
    /// latest one before as-of, and reviewers' decisions on its clusters resolve there. None
    /// for jobs without one (`features`, `train`): cluster decisions are then counted as
    /// unresolved; decisions on groups and accounts apply as in `run`.
    pub runs: Option<&'a Path>,
}

/// The validated, ingested and replayed window with its graphs: every command's starting point.
pub struct Prepared {
    pub report: ValidationReport,
    pub w: Window,
    pub st: MembershipState,
    pub ctx: Context,
    pub review: ReviewStats,
    /// The earlier run folder the clusters continue from, and its clusters.
    pub previous_run: Option<PathBuf>,
    pub previous: PreviousClusters,
    /// For the operator: quarantined rows, rows outside their dt= folder, decisions not applied.
    pub warnings: Vec<String>,
}

/// Validates `ds`, ingests the window with reviewers' decisions as labels, replays the
/// memberships and builds the graphs. An unusable input is [`RunError::BadInput`] with the
/// validation report.
pub fn prepare(
    ds: Dataset,
    src: &Source,
    clock: &mut Clock,
    progress: &dyn Fn(&str),
) -> Result<Prepared, RunError> {
    let mut warnings = Vec::new();
    progress("validating");
    let vcfg = ValidateConfig::new(ds.root.clone(), src.spec.as_of);
    let report = validate::validate_dataset(&vcfg, &ds);
    if !report.is_usable() {
        return Err(RunError::BadInput(report.to_string()));
    }
    if !report.quarantine.is_empty() {
        warnings.push(format!(
            "{} input rows quarantined (see quarantine.parquet)",
            report.quarantine.len()
        ));
    }
    // Rows outside their dt= folder are read by their time; the run says where they were.
    for t in &report.tables {
        warnings.extend(t.warnings.iter().map(|w| format!("{}: {w}", t.table)));
    }
    clock.lap("validate");

    progress("ingesting the window");
    let mut w = ingest::ingest(&ds, &report, src.spec)?;
    // The previous run's clusters: stable cluster ids, and the groups a cluster decision names.
    let previous_run = src
        .runs
        .and_then(|out| clusters::previous_run(out, src.spec.as_of));
    let previous = match &previous_run {
        Some(p) => clusters::previous_clusters(p).map_err(anyhow::Error::from)?,
        None => PreviousClusters::new(),
    };
    let review = ingest::append_review_decisions(&mut w, &ds, &report, &previous)
        .map_err(anyhow::Error::from)?;
    if review.unresolved_clusters > 0 {
        warnings.push(format!(
            "{} review decision(s) on clusters not in the previous run's cluster_members ({}) were not applied",
            review.unresolved_clusters,
            previous_run.as_ref().map_or("no earlier run folder".to_string(), |p| p.display().to_string())
        ));
    }
    if review.unknown_entities > 0 {
        warnings.push(format!(
            "{} review decision(s) on accounts or groups outside the window were not applied",
            review.unknown_entities
        ));
    }
    if let Some(stale) = stale_window(&w, src.spec) {
        tracing::warn!(as_of = %src.spec.as_of, window_days = src.spec.window_days, "no membership event in the window");
        warnings.push(stale);
    }
    clock.lap("ingest");

    progress("replaying memberships");
    let st = replay::replay(&w);
    clock.lap("replay");

    progress("building graphs");
    let ctx = Context::build(
        &w,
        &st,
        &FeatureConfig {
            hamming_threshold: src.hamming_threshold,
        },
    );
    // The texts are vectorised now; nothing reads them again.
    w.release_text();
    clock.lap("graphs");
    Ok(Prepared {
        report,
        w,
        st,
        ctx,
        review,
        previous_run,
        previous,
        warnings,
    })
}

/// A warning when the window holds no membership event: the as-of date (yesterday by
/// default) lies after the export's last day, so every activity feature (joins, bursts,
/// forwards in the window) is zero and the queue ranks stale structure alone. Not an error:
/// the contract only stops a run whose required tables have no row up to as-of.
fn stale_window(w: &Window, spec: WindowSpec) -> Option<String> {
    let latest = w.memberships.iter().map(|m| m.ts).max()?;
    (latest < w.start_ms).then(|| {
        let day = chrono::DateTime::from_timestamp_millis(latest).map_or_else(|| latest.to_string(), |t| t.date_naive().to_string());
        let gap = (w.start_ms - latest + crate::units::MS_PER_DAY - 1) / crate::units::MS_PER_DAY;
        format!(
            "no membership event in the {}-day window ending {}: the latest is on {day}, {gap} day(s) before the window starts, so every activity feature is zero; \
             set --as-of to the export's last day (it defaults to yesterday, UTC)",
            spec.window_days, spec.as_of
        )
    })
}

/// [`prepare`] for a job without earlier run folders (`features`, `train`).
fn prepare_job(input: &Path, spec: WindowSpec, hamming_threshold: u32, clock: &mut Clock, progress: &dyn Fn(&str)) -> Result<Prepared, RunError> {
    prepare(discover(input)?, &Source { spec, hamming_threshold, runs: None }, clock, progress)
}

/// The feature tables alone (`groupwatch features`).
#[derive(Debug, Clone)]
pub struct FeaturesJob {
    pub input: PathBuf,
    /// Folder the tables and `features.json` are written into.
    pub out: PathBuf,
    pub as_of: NaiveDate,
    pub window_days: u32,
    pub hamming_threshold: u32,
}

/// What [`features`] wrote; also `features.json`.
#[derive(Debug, Clone, Serialize)]
pub struct FeaturesSummary {
    pub as_of: NaiveDate,
    pub window_days: u32,
    pub feature_catalog_version: u32,
    pub quarantined_rows: usize,
    pub ingest: ingest::IngestStats,
    pub replay: replay::ReplayStats,
    pub review_decisions: ReviewStats,
    pub seeds: SeedCounts,
    pub group_rows: usize,
    pub account_rows: usize,
    /// Features whose input table is absent, as `table.feature`.
    pub unavailable_features: Vec<String>,
    pub warnings: Vec<String>,
    pub stage_seconds: BTreeMap<String, f64>,
}


/// Computes every feature of the window (seed-based ones from every label) and writes
/// `group_features.parquet`, `account_features.parquet` and `features.json` into `job.out`.
pub fn features(job: &FeaturesJob, progress: &dyn Fn(&str)) -> Result<FeaturesSummary, RunError> {
    let mut clock = Clock::default();
    let p = prepare_job(&job.input, WindowSpec { as_of: job.as_of, window_days: job.window_days }, job.hamming_threshold, &mut clock, progress)?;
    progress("computing features");
    let seeds = SeedCounts::of(&Seeds::visible(&p.w, &p.ctx, p.w.now_ms, &[], &[]));
    let out = crossfit::run(&p.w, &p.st, &p.ctx, crossfit::Mode::Features, &mut |_| {})?;
    let (groups, accounts) = (out.groups, out.accounts);
    clock.lap("features");
    // Only the tables are written from here: the window and graphs go first (on `large` they
    // are most of the memory).
    let Prepared {
        report,
        w,
        st,
        ctx,
        review,
        warnings,
        ..
    } = p;
    let (ingest, replay, quarantined_rows) =
        (w.stats.clone(), st.stats.clone(), report.quarantine.len());
    drop((w, st, ctx));
    progress("writing");
    features::write(&job.out, &groups, &accounts)?;
    clock.lap("write");
    let summary = FeaturesSummary {
        as_of: job.as_of,
        window_days: job.window_days,
        feature_catalog_version: features::catalog().0,
        quarantined_rows,
        ingest,
        replay,
        review_decisions: review,
        seeds,
        group_rows: groups.ids.len(),
        account_rows: accounts.ids.len(),
        unavailable_features: unavailable(&groups, &accounts),
        warnings,
        stage_seconds: clock.seconds(),
    };
    let path = job.out.join("features.json");
    crate::io::write_bytes(
        &path,
        &serde_json::to_vec_pretty(&summary).map_err(anyhow::Error::from)?,
    )
    .map_err(|e| e.context(format!("writing {}", path.display())))?;
    Ok(summary)
}

/// Features absent because their input table is, as `table.feature`.
pub fn unavailable(
    groups: &features::FeatureTable,
    accounts: &features::FeatureTable,
) -> Vec<String> {
    let g = groups
        .unavailable
        .iter()
        .map(|f| format!("group_features.{f}"));
    g.chain(
        accounts
            .unavailable
            .iter()
            .map(|f| format!("account_features.{f}")),
    )
    .collect()
}

/// A model trained on the input's labels (`groupwatch train`), for `run --model`.
#[derive(Debug, Clone)]
pub struct TrainJob {
    pub input: PathBuf,
    /// The model file (JSON); `<model_out>.evaluation.md` and `.evaluation.json` beside it.
    pub model_out: PathBuf,
    pub as_of: NaiveDate,
    pub window_days: u32,
    pub hamming_threshold: u32,
    pub train: TrainConfig,
    /// Also write every labelled entity's fold and out-of-fold scores (the `oof_scores` table).
    pub oof_out: Option<PathBuf>,
}

/// What [`train`] wrote.
pub struct TrainSummary {
    /// The evaluation in Markdown, as written to `<model_out>.evaluation.md`.
    pub evaluation: String,
    pub oof_rows: Option<usize>,
    pub warnings: Vec<String>,
}

/// Trains both kinds' models with cross-fitting and writes the model file, its evaluation
/// (Markdown and JSON) and, when asked, the out-of-fold scores.
pub fn train(job: &TrainJob, progress: &dyn Fn(&str)) -> Result<TrainSummary, RunError> {
    let mut clock = Clock::default();
    let p = prepare_job(&job.input, WindowSpec { as_of: job.as_of, window_days: job.window_days }, job.hamming_threshold, &mut clock, progress)?;
    progress("training with cross-validation");
    let out = crossfit::run(
        &p.w,
        &p.st,
        &p.ctx,
        crossfit::Mode::Train(&job.train),
        &mut |stage| {
            tracing::debug!(stage, "training step finished");
        },
    )?;
    clock.lap("train");
    let m = ModelFile::new(
        out.group.model,
        out.account.model,
        model::label_range_ms(&p.w),
        job.as_of,
        job.window_days,
        job.train.clone(),
    );
    m.save(&job.model_out)?;
    let base = job.model_out.display().to_string();
    let (json_path, md_path) = (
        PathBuf::from(format!("{base}.evaluation.json")),
        PathBuf::from(format!("{base}.evaluation.md")),
    );
    let evaluation = EvaluationFile {
        group: m.group.as_ref().map(KindEvaluation::of),
        account: m.account.as_ref().map(KindEvaluation::of),
        skipped: &m.skipped,
        quarantined_rows: p.report.quarantine.len(),
        review_decisions: &p.review,
    };
    let write = |path: &Path, bytes: &[u8]| {
        crate::io::write_bytes(path, bytes)
            .map_err(|e| e.context(format!("writing {}", path.display())))
    };
    write(
        &json_path,
        &serde_json::to_vec_pretty(&evaluation).map_err(anyhow::Error::from)?,
    )?;
    let summary = m.summary();
    write(&md_path, summary.as_bytes())?;
    let oof_rows = match &job.oof_out {
        Some(path) => {
            let mut df = m.oof_frame().map_err(anyhow::Error::from)?;
            let problems = crate::schema::Contract::get()
                .table("oof_scores")
                .check_output(&df);
            if !problems.is_empty() {
                return Err(anyhow::anyhow!(
                    "out-of-fold table does not match its schema: {problems:?}"
                )
                .into());
            }
            crate::io::write_parquet(&mut df, path)?;
            Some(df.height())
        }
        None => None,
    };
    Ok(TrainSummary {
        evaluation: summary,
        oof_rows,
        warnings: p.warnings,
    })
}

/// `<model>.evaluation.json`: every candidate's cross-validated figures per kind.
#[derive(Serialize)]
struct EvaluationFile<'a> {
    group: Option<KindEvaluation<'a>>,
    account: Option<KindEvaluation<'a>>,
    skipped: &'a [model::Skipped],
    quarantined_rows: usize,
    review_decisions: &'a ReviewStats,
}

#[derive(Serialize)]
struct KindEvaluation<'a> {
    first_stage: Option<String>,
    chosen: String,
    calibration: &'a model::train::Calibration,
    labels: LabelCounts,
    estimated_prevalence: f64,
    all_features: &'a model::train::VariantEvaluation,
    tabular_only: &'a Option<model::train::VariantEvaluation>,
    importance: &'a [(String, f64)],
}

#[derive(Serialize)]
struct LabelCounts {
    violating: usize,
    benign: usize,
    unlabelled: usize,
}

impl<'a> KindEvaluation<'a> {
    fn of(k: &'a model::KindModel) -> Self {
        KindEvaluation {
            first_stage: k.first.as_ref().map(|f| f.learner.describe()),
            chosen: k.second.learner.describe(),
            calibration: &k.calibration,
            labels: LabelCounts {
                violating: k.labels_violating,
                benign: k.labels_benign,
                unlabelled: k.unlabelled,
            },
            estimated_prevalence: k.estimated_prevalence,
            all_features: &k.evaluation,
            tabular_only: &k.tabular_only,
            importance: &k.importance,
        }
    }
}
