//! The nightly job: validate → ingest → replay → graphs → features → score → policy →
//! outputs, into `<out>/run=<as-of>/`.
//!
//! **Atomic and idempotent.** Everything is written into a hidden staging folder beside the
//! run folder (`.run=<date>.staging-<pid>`), fsynced, and then swapped into place with one
//! `renameat2(RENAME_EXCHANGE)` on Linux (or a plain rename when there is no previous run;
//! two renames on other systems, see `replace_dir`): a reader sees the previous complete run
//! or the new complete run, never a mixture, and a run killed at any point leaves the previous
//! run untouched. Stale staging folders of killed runs are removed by the next run.
//!
//! **One run at a time per output folder.** A scheduler's retry can start while the first
//! attempt still runs; two runs writing one `--out` would delete each other's staging folders.
//! So a run first takes an exclusive lock, [`lock_out`] (`flock` on `OUT/.groupwatch.lock`),
//! and a second run fails at once with [`RunError::Locked`] (exit 3) before reading anything.
//! The kernel drops the lock when its process dies, so a killed run leaves no stale lock.
//!
//! **Stopped by a signal.** SIGKILL leaves a staging folder that the next run removes; a
//! scheduler's SIGTERM (or a Ctrl-C) should leave nothing. [`stop_on_signals`] starts a thread
//! that waits for SIGTERM and SIGINT, removes the staging folder of the run in progress and
//! exits with 128 + the signal number (143, 130), as a shell reports a process the signal
//! killed. The thread holds the staging slot's mutex until the process ends, and the publish
//! step holds the same mutex, so a signal either stops the run before the swap (previous run
//! intact) or comes after it (the new run complete); never in between.
//!
//! Every table is sorted by id and written without timestamps, so the
//! same inputs, config and seed give byte-identical tables; `manifest.json` alone records wall
//! times.
//!
//! **Scores.** With `--model` the given model scores the window (its features must be present);
//! without one, a model is trained on the input's labels. A kind with too few labels to train
//! falls back to the unsupervised rank score of [`crate::model::score::unsupervised`], and the
//! manifest says so.
//!
//! **Networks.** After the policy, [`crate::clusters`] ties the flagged groups and accounts
//! into clusters (`clusters`, `cluster_members`, `cluster_timeline`, `cluster_edges`, and
//! `cluster_id` in the scores), keeping the ids of the most recent earlier run folder's
//! clusters where the networks persist. Reviewer decisions (`review_decisions`, optional) join
//! the labels before training; a cluster decision applies to that cluster's groups in the same
//! earlier run folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use chrono::NaiveDate;
use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clusters;
use crate::config::Config;
use crate::pipeline;
use crate::features::{self, graph::Seeds, Context, FeatureTable, SeedCounts};
use crate::ingest::{self, Window, WindowSpec};
use crate::io::col;
use crate::model::score::{self, Scores};
use crate::model::{crossfit, ModelFile};
use crate::policy::{Decision, Facts, Policy};
use crate::replay::MembershipState;
use crate::run_folder::manifest::{InputTable, Manifest, ModelRecord, NetworksRecord, PolicyRecord, ReviewRecord, RowCounts, Scoring, REVIEW_DECISIONS_RULE};
use crate::run_folder::StageFigures;
use crate::schema::EntityKind;
use crate::spill::Spilled;
use crate::validate;

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub input: PathBuf,
    pub out: PathBuf,
    /// Model file from `groupwatch train`; without one a model is trained on the input's labels.
    pub model: Option<PathBuf>,
    /// As-of, window, Hamming threshold, policy file and training settings.
    pub config: Config,
    /// Reasons kept per scored entity.
    pub top_reasons: usize,
    /// Forward rows taking more bytes than this wait on disk while the models train
    /// ([`crate::spill`]); below it they stay in memory (a small table saves nothing worth a
    /// file).
    pub spill_forwards_above: u64,
}

/// The default [`RunConfig::spill_forwards_above`]: 64 MiB, about 1.4M forward rows.
pub const SPILL_FORWARDS_ABOVE: u64 = 64 << 20;

impl RunConfig {
    /// Every default, for the window ending on `as_of`.
    pub fn new(input: PathBuf, out: PathBuf, as_of: NaiveDate) -> RunConfig {
        RunConfig { input, out, model: None, config: Config::defaults(as_of), top_reasons: 5, spill_forwards_above: SPILL_FORWARDS_ABOVE }
    }

    /// The run folder this config writes.
    pub fn run_dir(&self) -> PathBuf {
        self.out.join(format!("run={}", self.config.as_of))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("input is unusable:\n{0}")]
    BadInput(String),
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Validate(#[from] validate::ValidateError),
    #[error(transparent)]
    Ingest(#[from] ingest::IngestError),
    /// Another run holds the output folder's lock (exit 3: nothing was read or written).
    #[error(
        "another groupwatch run{} is writing into {}: it holds the lock {}; this run stopped before reading anything, retry when that one has finished",
        holder.map_or(String::new(), |p| format!(" (process {p})")),
        out.display(),
        path.display()
    )]
    Locked { out: PathBuf, path: PathBuf, holder: Option<u32> },
    /// Printed with its causes by the caller (`{:#}` here would repeat a cause that is both
    /// quoted in a message and returned as its source).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl crate::ExitCode for RunError {
    fn is_bad_input(&self) -> bool {
        match self {
            RunError::Ingest(e) => crate::ExitCode::is_bad_input(e),
            RunError::Internal(_) | RunError::Locked { .. } => false,
            _ => true,
        }
    }

    /// 2 bad input, 3 the output folder is locked by another run, 1 an internal failure.
    fn exit_code(&self) -> u8 {
        match self {
            RunError::Locked { .. } => 3,
            e if e.is_bad_input() => 2,
            _ => 1,
        }
    }
}

/// What a run did, for the caller and the manifest.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub run_dir: PathBuf,
    pub groups_scored: usize,
    pub accounts_scored: usize,
    pub groups_flagged: usize,
    pub accounts_flagged: usize,
    /// Suspected networks written, and the id of the highest-ranked one.
    pub clusters: usize,
    pub top_cluster: Option<u64>,
    pub warnings: Vec<String>,
    pub stages: Vec<StageFigures>,
}

/// Peak resident set size of this process (Linux), MiB.
pub fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Hands memory freed by the finished stage back to the kernel when the allocator holds a
/// lot of it. glibc's allocator keeps freed chunks in its per-thread arenas, so without this
/// the resident size after ingest stays at ingest's peak (its scanned frames and row arrays)
/// for the rest of the run: on `large` the run's peak was 22+ GiB and killed, with it 16 GiB.
/// Below [`TRIM_ABOVE_BYTES`] free, keeping the memory is cheaper (trimmed pages are faulted
/// in and zeroed again by the next stage, a second or so on `medium`).
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallinfo2 reads and malloc_trim trims the allocator's own free lists.
    unsafe {
        if libc::mallinfo2().fordblks > TRIM_ABOVE_BYTES {
            libc::malloc_trim(0);
        }
    }
}

/// Free bytes held by the allocator above which a stage boundary returns them.
pub const TRIM_ABOVE_BYTES: usize = 2 << 30;

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs the whole job. `progress` is told each stage's name as it starts.
pub fn run(cfg: &RunConfig, progress: &dyn Fn(&str)) -> Result<RunSummary, RunError> {
    // First, before any work: one run at a time per output folder.
    let _lock = lock_out(&cfg.out)?;
    let mut clock = pipeline::Clock::default();
    let mut warnings: Vec<String> = Vec::new();

    // Policy first: a bad policy file should fail before any heavy work.
    let (policy, policy_text, policy_origin) = match &cfg.config.policy {
        Some(p) => {
            let (pol, text) = Policy::load_with_text(p)?;
            (pol, text, p.display().to_string())
        }
        None => (Policy::default_policy(), crate::policy::DEFAULT_POLICY_TEXT.to_string(), "built-in default".into()),
    };
    let given_model = cfg.model.as_deref().map(ModelFile::load).transpose()?;

    let ds = pipeline::discover(&cfg.input)?;
    let inputs = input_manifest(&ds)?;
    let src = pipeline::Source { spec: WindowSpec { as_of: cfg.config.as_of, window_days: cfg.config.window_days }, hamming_threshold: cfg.config.hamming_threshold, runs: Some(&cfg.out) };
    let pipeline::Prepared { report, mut w, st, mut ctx, review, previous_run, previous, warnings: prepared, .. } = pipeline::prepare(ds, &src, &mut clock, progress)?;
    warnings.extend(prepared);
    progress("computing features and scores");
    // Seeds with every label visible: the policy's rules and the clusters read them.
    let seeds = Seeds::visible(&w, &ctx, w.now_ms, &[], &[]);
    // Precision is reported at the policy's daily capacity unless the configuration sets one.
    let tcfg = cfg.config.train(policy.review.daily_capacity);
    let mode = match &given_model {
        Some(m) => crossfit::Mode::Apply(m),
        None => {
            progress("training on the input's labels");
            crossfit::Mode::Train(&tcfg)
        }
    };
    let tables = features::tabular(&w, &st, &ctx);
    clock.lap("features");
    // Large forward tables wait on disk until the networks read them (they are the largest
    // table, and the model stages below are where the run's memory peaks).
    let spilled = if std::mem::size_of_val(&w.forwards[..]) as u64 > cfg.spill_forwards_above {
        let rows = std::mem::take(&mut w.forwards);
        Some(Spilled::write(rows, &cfg.out).map_err(|e| anyhow::Error::from(e).context(format!("setting the forward rows aside in {}", cfg.out.display())))?)
    } else {
        None
    };
    let outcome = crossfit::run_with_tables(&w, &st, &ctx, tables, mode, &mut |stage| clock.lap(stage))?;
    let crossfit::Outcome { groups: gtab, accounts: atab, group: gres, account: ares } = outcome;
    let unavailable = pipeline::unavailable(&gtab, &atab);
    for f in &unavailable {
        warnings.push(format!("feature unavailable (input table absent or too few labels): {f}"));
    }
    let (model, model_origin) = match given_model {
        Some(m) => (m, cfg.model.as_ref().map(|p| p.display().to_string()).unwrap_or_default()),
        None => (
            ModelFile::new(gres.model.clone(), ares.model.clone(), crate::model::label_range_ms(&w), cfg.config.as_of, cfg.config.window_days, tcfg),
            "trained in this run".into(),
        ),
    };
    let model_json = serde_json::to_vec(&model).map_err(anyhow::Error::from)?;
    let model_version = format!("{}-{}", model.trained_as_of, &sha256_hex(&model_json)[..12]);
    let score_kind = |entity: EntityKind, table: &FeatureTable, res: &crossfit::KindResult, warnings: &mut Vec<String>| -> Scores {
        match score::from_crossfit(table, res, cfg.top_reasons) {
            Some(s) => s,
            None => {
                let why = res.model.as_ref().err().map_or("no model for this kind".to_string(), |s| s.reason.clone());
                warnings.push(format!("{entity} scores are unsupervised rank scores, not probabilities: {why}"));
                score::unsupervised(table, entity, cfg.top_reasons)
            }
        }
    };
    ctx.release_text();
    let gscores = score_kind(EntityKind::Group, &gtab, &gres, &mut warnings);
    let ascores = score_kind(EntityKind::Account, &atab, &ares, &mut warnings);
    drop((gres, ares));
    clock.lap("score");

    progress("applying the policy");
    // An unsupervised rank score is not a probability, so a probability threshold means
    // nothing for it: such a kind is flagged down to half the daily capacity instead.
    let mut effective = policy.clone();
    for (s, threshold, entity) in [
        (&gscores, &mut effective.review.group_threshold, EntityKind::Group),
        (&ascores, &mut effective.review.account_threshold, EntityKind::Account),
    ] {
        if s.method == score::ScoreMethod::Unsupervised {
            let mut v = s.score.clone();
            v.sort_unstable_by(|a, b| b.total_cmp(a));
            let k = (policy.review.daily_capacity / 2).max(1).min(v.len());
            if k > 0 {
                *threshold = threshold.max(v[k - 1]).min(1.0);
                warnings.push(format!(
                    "{entity}s flagged by rank (top {k} of the unsupervised score, threshold {:.3}) instead of the policy's probability threshold",
                    *threshold
                ));
            }
        }
    }
    let (gdec, adec, gfacts, afacts) = decide(&w, &st, &ctx, &seeds, &effective, &gtab, &atab, &gscores, &ascores);
    let (gflag, aflag) = (gdec.iter().filter(|d| d.flagged).count(), adec.iter().filter(|d| d.flagged).count());
    if gflag + aflag > policy.review.daily_capacity {
        warnings.push(format!(
            "{} entities flagged against a daily review capacity of {}: see the sweep for the threshold that fits",
            gflag + aflag,
            policy.review.daily_capacity
        ));
    }
    clock.lap("policy");

    progress("tying networks");
    if let Some(spilled) = spilled {
        w.forwards = spilled.read().map_err(|e| anyhow::Error::from(e).context("reading the forward rows back"))?;
    }
    let gflags: Vec<bool> = gdec.iter().map(|d| d.flagged).collect();
    let aflags: Vec<bool> = adec.iter().map(|d| d.flagged).collect();
    let cin = clusters::Input {
        w: &w, st: &st, ctx: &ctx, gtab: &gtab, atab: &atab, gscores: &gscores, ascores: &ascores,
        group_flagged: &gflags, account_flagged: &aflags, account_threshold: effective.review.account_threshold,
    };
    let nets = clusters::networks(&cin, previous_run.clone(), &previous, cfg.config.as_of);
    let group_rows = clusters::row_index(w.groups.ids.len(), &gtab.rows);
    let account_rows = clusters::row_index(w.accounts.ids.len(), &atab.rows);
    let gcluster: Vec<Option<u64>> = gtab.rows.iter().map(|&g| nets.group_cluster[g as usize]).collect();
    let acluster: Vec<Option<u64>> = atab.rows.iter().map(|&a| nets.account_cluster[a as usize]).collect();
    clock.lap("networks");

    progress("writing outputs");
    let run_dir = cfg.run_dir();
    let staging = stage_dir(&cfg.out, cfg.config.as_of).map_err(|e| e.context(format!("preparing a staging folder in {}", cfg.out.display())))?;
    let write = || -> anyhow::Result<()> {
        // Each table is built, written and dropped in turn (holding them all at once would
        // raise the run's peak memory); the files are made durable together at the end.
        let table = |name: &str, build: &dyn Fn() -> anyhow::Result<DataFrame>| -> anyhow::Result<()> {
            let t = Instant::now();
            let mut df = build()?;
            let built = t.elapsed().as_secs_f64();
            crate::io::write_parquet_staged(&mut df, &staging.join(name))?;
            tracing::debug!(file = name, built, seconds = t.elapsed().as_secs_f64(), "written");
            Ok(())
        };
        // The four tables with a row per entity are built a row group at a time.
        let parts = |name: &str, rows: usize, part: &(dyn Fn(usize, usize) -> PolarsResult<DataFrame> + Sync)| -> anyhow::Result<()> {
            let t = Instant::now();
            crate::io::write_parquet_parts(&staging.join(name), rows, false, part)?;
            tracing::debug!(file = name, seconds = t.elapsed().as_secs_f64(), "written");
            Ok(())
        };
        gtab.write(&staging.join("group_features.parquet"), false)?;
        atab.write(&staging.join("account_features.parquet"), false)?;
        parts("group_scores.parquet", gscores.ids.len(), &|lo, hi| scores_frame(&gscores, &gdec, &gcluster, &model_version, lo, hi))?;
        parts("account_scores.parquet", ascores.ids.len(), &|lo, hi| scores_frame(&ascores, &adec, &acluster, &model_version, lo, hi))?;
        table("clusters.parquet", &|| Ok(clusters::clusters_frame(&nets)?))?;
        table("cluster_members.parquet", &|| Ok(clusters::members_frame(&nets, &w, (&gscores, &ascores), (&group_rows, &account_rows))?))?;
        table("cluster_timeline.parquet", &|| Ok(clusters::timeline_frame(&nets)?))?;
        table("cluster_edges.parquet", &|| Ok(clusters::edges_frame(&nets, &w)?))?;
        table("hash_matches.parquet", &|| Ok(hash_matches_frame(&w, &ctx, cfg.config.hamming_threshold)?))?;
        table("quarantine.parquet", &|| Ok(report.quarantine_frame()?))?;
        table("policy_facts.parquet", &|| Ok(facts_frame(&gtab, &atab, &gfacts, &afacts)?))?;
        table("labels.parquet", &|| Ok(labels_frame(&w)?))?;
        model.save(&staging.join("model.json"))?;
        let t = Instant::now();
        crate::io::sync_dir_files(&staging)?;
        tracing::debug!(seconds = t.elapsed().as_secs_f64(), "outputs synced");
        Ok(())
    };
    if let Err(e) = write() {
        discard_staging(&staging);
        return Err(e.into());
    }
    clock.lap("write");
    let summary = RunSummary {
        run_dir: run_dir.clone(),
        groups_scored: gscores.ids.len(),
        accounts_scored: ascores.ids.len(),
        groups_flagged: gflag,
        accounts_flagged: aflag,
        clusters: nets.clusters.len(),
        top_cluster: nets.clusters.first().map(|c| c.id),
        warnings: warnings.clone(),
        stages: clock.stages.clone(),
    };
    let manifest = Manifest {
        as_of: cfg.config.as_of,
        effective_policy: Some(effective),
        extra_columns: report.tables.iter().filter(|t| !t.extra_columns.is_empty()).map(|t| (t.table.clone(), t.extra_columns.clone())).collect(),
        feature_catalog_version: features::catalog().0,
        groupwatch_version: env!("CARGO_PKG_VERSION").into(),
        hamming_threshold: cfg.config.hamming_threshold,
        ingest: w.stats.clone(),
        inputs,
        model: ModelRecord {
            account: model.account.as_ref().map(|k| k.second.learner.describe()),
            group: model.group.as_ref().map(|k| k.second.learner.describe()),
            origin: model_origin,
            sha256: sha256_hex(&model_json),
            skipped: model.skipped.clone(),
            version: model_version,
        },
        networks: NetworksRecord {
            accounts_in_clusters: nets.clusters.iter().map(|c| c.accounts.len()).sum(),
            clusters: nets.clusters.len(),
            groups_in_clusters: nets.clusters.iter().map(|c| c.groups.len()).sum(),
            ids_kept_from_previous_run: nets.ids_kept,
            ids_new: nets.ids_new,
            previous_run: nets.previous_run.as_ref().map(|p| p.display().to_string()),
        },
        policy: PolicyRecord { name: policy.name.clone(), origin: policy_origin, sha256: sha256_hex(policy_text.as_bytes()), version: policy.version, settings: policy },
        replay: st.stats.clone(),
        review_decisions: ReviewRecord {
            applied: review,
            clusters_resolved_in: previous_run.as_ref().map(|p| p.display().to_string()),
            rule: REVIEW_DECISIONS_RULE.into(),
        },
        rows: RowCounts { account_features: atab.ids.len(), accounts_flagged: aflag, group_features: gtab.ids.len(), groups_flagged: gflag, quarantine: report.quarantine.len() },
        rows_outside_their_dt_folder: report.tables.iter().filter(|t| !t.rows_outside_their_dt_folder.is_empty()).map(|t| (t.table.clone(), t.rows_outside_their_dt_folder.clone())).collect(),
        schema_versions: crate::schema::Contract::get().versions(),
        scoring: Scoring { account: ascores.method, group: gscores.method },
        seed: cfg.config.seed,
        seeds: SeedCounts::of(&seeds),
        stages: clock.stages,
        unavailable_features: unavailable,
        warnings,
        window_days: cfg.config.window_days,
    };
    let publish = || -> anyhow::Result<()> {
        let path = staging.join("manifest.json");
        crate::io::write_bytes(&path, &manifest.to_json()?).map_err(|e| e.context(format!("writing {}", path.display())))?;
        // The investigators' page is rendered from the finished tables, so it shows exactly
        // what the run wrote.
        crate::report::write_report(&staging).map_err(|e| anyhow::anyhow!("{e}"))?;
        // The swap under the staging slot's mutex: a signal stops the run before it or after.
        let mut slot = staging_slot();
        publish_dir(&staging, &run_dir).map_err(|e| e.context(format!("publishing {} as {}", staging.display(), run_dir.display())))?;
        *slot = None;
        Ok(())
    };
    if let Err(e) = publish() {
        discard_staging(&staging);
        return Err(e.into());
    }
    Ok(summary)
}

/// Per input table: its files' count, bytes and SHA-256 sums.
fn input_manifest(ds: &crate::layout::Dataset) -> anyhow::Result<BTreeMap<String, InputTable>> {
    let mut out = BTreeMap::new();
    for (table, loc) in &ds.tables {
        let files: Vec<crate::layout::DataFile> = match loc {
            crate::layout::TableLocation::Files(f) => f.clone(),
            _ => continue,
        };
        let sums: Vec<(String, String, u64)> = files
            .par_iter()
            .map(|f| -> anyhow::Result<_> {
                let bytes = std::fs::read(&f.path)?;
                Ok((f.rel.clone(), sha256_hex(&bytes), bytes.len() as u64))
            })
            .collect::<anyhow::Result<_>>()?;
        let mut h = Sha256::new();
        for (rel, sum, _) in &sums {
            h.update(rel.as_bytes());
            h.update(sum.as_bytes());
        }
        out.insert(
            table.clone(),
            InputTable {
                bytes: sums.iter().map(|s| s.2).sum::<u64>(),
                file_sha256: sums.iter().map(|(r, s, _)| (r.clone(), s.clone())).collect(),
                files: sums.len(),
                sha256_of_file_sums: h.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>(),
            },
        );
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn decide(
    w: &Window,
    st: &MembershipState,
    ctx: &Context,
    seeds: &Seeds,
    policy: &Policy,
    gtab: &FeatureTable,
    atab: &FeatureTable,
    gs: &Scores,
    ascores: &Scores,
) -> (Vec<Decision>, Vec<Decision>, Vec<Facts>, Vec<Facts>) {
    let mut seed_account = vec![false; w.accounts.ids.len()];
    seeds.accounts.iter().for_each(|&a| seed_account[a as usize] = true);
    let count = |t: &FeatureTable, name: &str, r: usize| t.column(name).and_then(|c| c.get(r)).unwrap_or(0.0) as u32;
    let gfacts: Vec<Facts> = (0..gtab.rows.len())
        .into_par_iter()
        .map(|r| {
            let g = gtab.rows[r] as usize;
            Facts {
                score: gs.score[r],
                members_now: Some(st.of(g).len() as u32),
                hash_match: ctx.group_photo_match[g].is_some(),
                violating_admin: st.of(g).iter().any(|m| m.admin && seed_account[m.account as usize]),
                child_safety_reports: count(gtab, "child_safety_reports_window", r),
            }
        })
        .collect();
    let afacts: Vec<Facts> = (0..atab.rows.len())
        .into_par_iter()
        .map(|r| {
            let a = atab.rows[r] as usize;
            Facts {
                score: ascores.score[r],
                members_now: None,
                hash_match: ctx.account_photo_match[a].is_some(),
                violating_admin: false,
                child_safety_reports: count(atab, "child_safety_reports_received_window", r),
            }
        })
        .collect();
    let gdec = gfacts.par_iter().map(|f| policy.decide(EntityKind::Group, f)).collect();
    let adec = afacts.par_iter().map(|f| policy.decide(EntityKind::Account, f)).collect();
    (gdec, adec, gfacts, afacts)
}

/// What a policy decides on, per entity, so `sweep` can replay any policy on this run:
/// `policy_facts.parquet` (beside the contract's tables).
fn facts_frame(gtab: &FeatureTable, atab: &FeatureTable, gf: &[Facts], af: &[Facts]) -> PolarsResult<DataFrame> {
    let mut kind = Vec::new();
    let mut id = Vec::new();
    let mut score = Vec::new();
    let mut members = Vec::new();
    let mut hash = Vec::new();
    let mut admin = Vec::new();
    let mut cs = Vec::new();
    for (k, t, facts) in [(EntityKind::Group, gtab, gf), (EntityKind::Account, atab, af)] {
        for (i, f) in facts.iter().enumerate() {
            kind.push(k.as_str());
            id.push(t.ids[i]);
            score.push(f.score);
            members.push(f.members_now.map(u64::from));
            hash.push(f.hash_match);
            admin.push(f.violating_admin);
            cs.push(u64::from(f.child_safety_reports));
        }
    }
    crate::io::frame(vec![
        col::static_strs("entity_kind", kind),
        col::u64s("entity_id", id),
        col::f64s("score", score),
        col::opt_u64s("members_now", members),
        col::bools("hash_match", hash),
        col::bools("violating_admin", admin),
        col::u64s("child_safety_reports", cs),
    ])
}

/// The latest label per entity decided before as-of: `labels.parquet` (beside the contract's
/// tables), so sweeps and notebooks measure precision and recall without re-reading inputs.
fn labels_frame(w: &Window) -> PolarsResult<DataFrame> {
    let (acc, grp) = w.latest_labels_with_time(w.now_ms);
    let mut kind = Vec::new();
    let mut id = Vec::new();
    let mut label = Vec::new();
    let mut ts = Vec::new();
    for (k, v, ids) in [(EntityKind::Group, &grp, &w.groups.ids), (EntityKind::Account, &acc, &w.accounts.ids)] {
        for (i, l) in v.iter().enumerate() {
            if let Some((violating, t)) = l {
                kind.push(k.as_str());
                id.push(ids[i]);
                label.push(if *violating { "violating" } else { "benign" });
                ts.push(*t);
            }
        }
    }
    crate::io::frame(vec![col::static_strs("entity_kind", kind), col::u64s("entity_id", id), col::static_strs("label", label), col::times("ts", ts)?])
}

/// A list column from a flat series and per-row lengths (one O(n) pass; building a series
/// per row costs gigabytes at a million rows).
fn list_column(name: &str, flat: Series, lengths: impl Iterator<Item = usize>) -> PolarsResult<Series> {
    let mut offsets = vec![0i64];
    for n in lengths {
        offsets.push(offsets.last().copied().unwrap_or(0) + n as i64);
    }
    let values = flat.rechunk().chunks()[0].clone();
    let dtype = LargeListArray::default_datatype(values.dtype().clone());
    let offsets = offsets.try_into().map_err(|e| polars_err!(ComputeError: "list offsets: {e}"))?;
    let arr = LargeListArray::new(dtype, offsets, values, None);
    Ok(ListChunked::with_chunk(name.into(), arr).into_series())
}

/// The contract's `<kind>_scores` table.
fn scores_frame(s: &Scores, d: &[Decision], cluster: &[Option<u64>], model_version: &str, lo: usize, hi: usize) -> PolarsResult<DataFrame> {
    let n = hi - lo;
    let reasons_of = &s.reasons[lo..hi];
    let d = &d[lo..hi];
    // reasons: the policy's codes, then the features behind the score ("feature:<name>",
    // each code built once and borrowed by every row that has it).
    let feature_codes: Vec<String> = s.features.iter().map(|f| format!("feature:{f}")).collect();
    let mut flat_codes: Vec<&str> = Vec::new();
    let mut code_lengths = Vec::with_capacity(n);
    for (rs, dec) in reasons_of.iter().zip(d) {
        flat_codes.extend(dec.reasons.iter().map(String::as_str));
        flat_codes.extend(rs.iter().map(|r| feature_codes[r.feature as usize].as_str()));
        code_lengths.push(dec.reasons.len() + rs.len());
    }
    let reasons = list_column("reasons", Series::new("".into(), flat_codes), code_lengths.into_iter())?;
    let all = reasons_of.iter().flatten();
    let f = Series::new("feature".into(), all.clone().map(|r| s.feature_name(r)).collect::<Vec<_>>());
    let v = Series::new("value".into(), all.clone().map(|r| r.value()).collect::<Vec<_>>());
    let c = Series::new("contribution".into(), all.map(|r| r.contribution).collect::<Vec<_>>());
    let flat = StructChunked::from_series("".into(), f.len(), [f, v, c].iter())?.into_series();
    let top = list_column("top_features", flat, reasons_of.iter().map(Vec::len))?;
    DataFrame::new(n, vec![
        col::u64s(s.entity.id_column(), s.ids[lo..hi].to_vec()),
        col::f64s("score", s.score[lo..hi].to_vec()),
        col::bools("flagged", d.iter().map(|x| x.flagged).collect()),
        reasons.into(),
        top.into(),
        col::opt_u64s("cluster_id", cluster[lo..hi].to_vec()),
        Column::new("model_version".into(), vec![model_version; n]),
    ])
}

/// The contract's `hash_matches` table: every photo within the threshold of a bank hash.
fn hash_matches_frame(w: &Window, ctx: &Context, threshold: u32) -> PolarsResult<DataFrame> {
    let bank = features::pdq::PdqIndex::new(w.hash_bank.iter().map(|e| e.0).collect());
    let mut kind = Vec::new();
    let mut id = Vec::new();
    let mut bank_name = Vec::new();
    let mut dist = Vec::new();
    for (k, photos, matches, ids) in [
        (EntityKind::Group, &w.groups.photo, &ctx.group_photo_match, &w.groups.ids),
        (EntityKind::Account, &w.accounts.photo, &ctx.account_photo_match, &w.accounts.ids),
    ] {
        for i in 0..ids.len() {
            if matches[i].is_none() {
                continue;
            }
            let Some((j, d)) = photos[i].and_then(|h| bank.nearest(&h, threshold)) else { continue };
            kind.push(k.as_str());
            id.push(ids[i]);
            bank_name.push(w.banks[w.hash_bank[j].1 as usize].clone());
            dist.push(u64::from(d));
        }
    }
    crate::io::frame(vec![col::static_strs("entity_kind", kind), col::u64s("entity_id", id), col::strs("bank", bank_name), col::u64s("distance", dist)])
}

/// The lock file in the output folder (hidden: the layout rules and run listings skip names
/// starting with `.`).
pub const LOCK_FILE: &str = ".groupwatch.lock";

/// An exclusive lock on an output folder, held while this value lives.
///
/// It is `flock(2)` on `OUT/.groupwatch.lock`, taken without waiting. The kernel releases a
/// flock when its holder's descriptor closes, and a process's descriptors close however it
/// ends (SIGKILL, a crash, the OOM killer), so a killed run never leaves a stale lock behind:
/// the file stays, the lock does not, and the next run takes it. The file holds the last
/// holder's process id, shown when another run finds the lock taken. Not for network file
/// systems whose flock is local to one machine (keep `--out` on a local disk or see the
/// mount's documentation).
#[derive(Debug)]
pub struct OutLock {
    _file: std::fs::File,
}

/// Takes the lock of output folder `out` (created if absent), or fails at once with
/// [`RunError::Locked`] when another process holds it.
pub fn lock_out(out: &Path) -> Result<OutLock, RunError> {
    use std::io::{Read, Seek, Write};
    use std::os::unix::io::AsRawFd;
    let path = out.join(LOCK_FILE);
    let io = |what: &str, e: std::io::Error| RunError::Internal(anyhow::anyhow!("{what} {}: {e}", path.display()));
    std::fs::create_dir_all(out).map_err(|e| io("creating the output folder for", e))?;
    let mut file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(|e| io("opening", e))?;
    // SAFETY: flock on a descriptor this function owns; LOCK_NB makes it return at once.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::WouldBlock {
            let mut text = String::new();
            let holder = file.read_to_string(&mut text).ok().and_then(|_| text.trim().parse().ok());
            return Err(RunError::Locked { out: out.to_path_buf(), path, holder });
        }
        return Err(io("locking", e));
    }
    let wrote = file.set_len(0).and_then(|()| file.rewind()).and_then(|_| writeln!(file, "{}", std::process::id()));
    wrote.map_err(|e| io("writing", e))?;
    Ok(OutLock { _file: file })
}

/// The staging folder of the run in progress in this process, for [`stop_on_signals`].
static STAGING: Mutex<Option<PathBuf>> = Mutex::new(None);

fn staging_slot() -> MutexGuard<'static, Option<PathBuf>> {
    STAGING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the staging folder after a failure and forgets it.
fn discard_staging(staging: &Path) {
    let mut slot = staging_slot();
    let _ = std::fs::remove_dir_all(staging);
    *slot = None;
}

/// The exit code of a run stopped by `signal`: 128 + its number (143 for SIGTERM, 130 for
/// SIGINT), the shell's convention for a process a signal ended.
pub fn signal_exit_code(signal: i32) -> i32 {
    128 + signal
}

/// Makes SIGTERM and SIGINT stop this process cleanly: a thread waits for either, removes the
/// staging folder of a run in progress (the output folder's lock goes with the process), says
/// so on stderr and exits with [`signal_exit_code`]. For the CLI; call once, before the run.
pub fn stop_on_signals() -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            // Held until the process ends: no publish can start after this point.
            let slot = staging_slot();
            let name = if signal == SIGTERM { "SIGTERM" } else { "SIGINT" };
            match slot.as_deref() {
                // Between this removal and the exit, a writer could still recreate the folder
                // (io.rs creates parents); the next run's stage_dir removes such a leftover.
                Some(dir) => match std::fs::remove_dir_all(dir) {
                    Ok(()) => eprintln!("error: stopped by {name}: staging folder {} removed; the previous run folder is untouched", dir.display()),
                    Err(e) => eprintln!("error: stopped by {name}: staging folder {} not removed ({e}); the next run removes it", dir.display()),
                },
                None => eprintln!("error: stopped by {name}; no staging folder existed (the run folder is the previous run, or this run's if it was already published)"),
            }
            tracing::warn!(signal, "run stopped by a signal");
            std::process::exit(signal_exit_code(signal));
        }
    })?;
    Ok(())
}

/// A fresh hidden staging folder beside the run folders. The caller holds the output
/// folder's lock, so any staging or old folder of this date is a killed run's, and goes; a
/// run folder that a killed portable publish (see [`publish_dir`]) left moved aside is put
/// back first.
fn stage_dir(out: &Path, as_of: NaiveDate) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out)?;
    let prefix = format!(".run={as_of}.staging-");
    let old = format!(".run={as_of}.old-");
    let run_dir = out.join(format!("run={as_of}"));
    for e in std::fs::read_dir(out)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(&old) && !run_dir.exists() {
            std::fs::rename(e.path(), &run_dir)?;
        } else if name.starts_with(&prefix) || name.starts_with(&old) {
            std::fs::remove_dir_all(e.path())?;
        }
    }
    let dir = out.join(format!("{prefix}{}", std::process::id()));
    // Created and recorded in one step, so a signal never misses a folder that exists.
    let mut slot = staging_slot();
    std::fs::create_dir_all(&dir)?;
    *slot = Some(dir.clone());
    Ok(dir)
}

/// Makes `staging` the run folder `dest`: in one atomic step on Linux; elsewhere in two
/// renames (see [`replace_dir`]).
fn publish_dir(staging: &Path, dest: &Path) -> anyhow::Result<()> {
    // Every file was fsynced (by its writer or by `sync_dir_files`); the folder entries too.
    std::fs::File::open(staging)?.sync_all()?;
    if dest.exists() {
        replace_dir(staging, dest)?;
    } else {
        std::fs::rename(staging, dest)?;
    }
    if let Some(parent) = dest.parent() {
        std::fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Replaces the existing folder `dest` with `staging` in one atomic swap.
#[cfg(target_os = "linux")]
fn replace_dir(staging: &Path, dest: &Path) -> anyhow::Result<()> {
    exchange(staging, dest)?;
    // `staging` now holds the previous run; it is no longer visible under the run name.
    std::fs::remove_dir_all(staging)?;
    Ok(())
}

/// Replaces the existing folder `dest` with `staging` where no atomic swap of two folders
/// exists (macOS has `renamex_np(RENAME_SWAP)`, not used yet): the previous run is renamed
/// aside to `.run=<date>.old-<pid>`, then the new one into place. A reader never sees a
/// mixture, but between the two renames there is briefly no run folder; a run killed there
/// leaves the previous one aside, and the next run puts it back ([`stage_dir`]).
#[cfg(not(target_os = "linux"))]
fn replace_dir(staging: &Path, dest: &Path) -> anyhow::Result<()> {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let aside = dest.with_file_name(format!(".{name}.old-{}", std::process::id()));
    std::fs::rename(dest, &aside)?;
    if let Err(e) = std::fs::rename(staging, dest) {
        let _ = std::fs::rename(&aside, dest);
        return Err(anyhow::anyhow!("moving the new run into {}: {e}", dest.display()));
    }
    std::fs::remove_dir_all(&aside)?;
    Ok(())
}

/// Atomically swaps two paths (Linux `renameat2` with `RENAME_EXCHANGE`).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> anyhow::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let ca = CString::new(a.as_os_str().as_bytes())?;
    let cb = CString::new(b.as_os_str().as_bytes())?;
    // SAFETY: both are valid NUL-terminated paths; AT_FDCWD resolves them like rename(2).
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, ca.as_ptr(), libc::AT_FDCWD, cb.as_ptr(), libc::RENAME_EXCHANGE) };
    if rc != 0 {
        return Err(anyhow::anyhow!("swapping {} into place: {}", b.display(), std::io::Error::last_os_error()));
    }
    Ok(())
}
