//! `groupwatch synth`: a synthetic messaging platform in the data contract's layout.
//!
//! The generator exists so that every stage can be run, tested and benchmarked end to end
//! without real data, and so that a detector has something with known truth to be measured
//! on. It is built to be hard to overfit: the benign background has the platform's shape
//! (mostly 1:1 forwarding, small groups with a heavy tail, accounts spread over years) and
//! contains look-alikes that share single traits with abuse (event groups filled in a burst by
//! new accounts, broadcast groups that forward heavily, spam rings that collect reports). The
//! planted violating networks show the behaviours of `detection.md` with a per-network
//! strength, and some are camouflaged (no bursts, no hash matches, members with ordinary lives
//! elsewhere) so that only the graph gives them away.
//!
//! Determinism: every entity draws from its own RNG stream seeded by `(seed, stream, index)`,
//! and work is split into fixed index ranges, so output is byte-identical for a seed whatever
//! the thread count. Memory: entities are generated and written in bounded chunks; the only
//! per-account state kept for the whole run is the creation time (8 bytes an account).
//!
//! Layout written under `--out DIR`:
//! - `DIR/input/`: the dataset (every contract table; event tables partitioned by day);
//! - `DIR/truth/`: ground truth *beside* the dataset (`groups`, `accounts`, `networks`);
//! - `DIR/synth.json`: parameters and row counts.

mod activity;
mod groups;
mod hard;
mod networks;
mod sink;
mod vocab;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::NaiveDate;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

pub use networks::{NetworkPlan, Role};

/// Size presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// About 5 thousand accounts (tests, seconds).
    Tiny,
    /// About 100 thousand accounts.
    Small,
    /// About 1 million accounts.
    Medium,
    /// About 10 million accounts.
    Large,
}

impl Scale {
    pub fn accounts(self) -> usize {
        match self {
            Scale::Tiny => 5_000,
            Scale::Small => 100_000,
            Scale::Medium => 1_000_000,
            Scale::Large => 10_000_000,
        }
    }
}

/// Difficulty presets: which world model generates the data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The original generator: look-alikes share single traits with abuse; planted networks
    /// are run by a few operators who create and administer all their groups.
    #[default]
    Default,
    /// A world built not to be learnable from generator quirks: benign multi-group families
    /// with shared admins, decoy series (events, publishers, marketplaces, spam operations),
    /// planted networks with many creators and sparse admin overlap, very quiet networks,
    /// and labels revealed for only about half of the networks (see `hard`).
    Hard,
}

impl Preset {
    fn is_default(&self) -> bool {
        *self == Preset::Default
    }
}

/// Validated generator settings.
#[derive(Debug, Clone, Serialize)]
pub struct SynthConfig {
    pub scale: Scale,
    /// World model; `default` is left out of `synth.json` so its files stay as they were.
    #[serde(skip_serializing_if = "Preset::is_default")]
    pub preset: Preset,
    /// Overrides the preset's account count (tests use odd sizes).
    pub accounts: usize,
    pub seed: u64,
    /// Last day of data; events run up to the end of this UTC day.
    pub as_of: NaiveDate,
    /// Days of history kept for forwards, reports and blocks (memberships keep everything).
    pub window_days: u32,
    pub out: PathBuf,
}

impl SynthConfig {
    pub fn new(scale: Scale, seed: u64, as_of: NaiveDate, out: PathBuf) -> Self {
        SynthConfig { scale, preset: Preset::Default, accounts: scale.accounts(), seed, as_of, window_days: 60, out }
    }
}

/// What a generation run produced.
#[derive(Debug, Clone, Serialize)]
pub struct SynthSummary {
    pub config: SynthConfig,
    pub rows: BTreeMap<String, u64>,
    pub files: BTreeMap<String, u64>,
    pub networks: usize,
    /// Networks with at least one violating label (written by the `hard` preset only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labelled_networks: Option<usize>,
    pub violating_groups: usize,
    /// Violating labels on groups (written by the `hard` preset only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violating_group_labels: Option<usize>,
    pub groups: usize,
    pub seconds: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("output folder {0} already holds a dataset; remove it or choose another")]
    OutputExists(PathBuf),
    #[error("--accounts must be at least 500 (got {0})")]
    TooSmall(usize),
    #[error("writing the dataset: {0:#}")]
    Write(#[from] anyhow::Error),
}

impl crate::ExitCode for SynthError {
    fn is_bad_input(&self) -> bool {
        !matches!(self, SynthError::Write(_))
    }
}

pub use crate::units::{day_start_ms, mix64, MS_PER_DAY, MS_PER_HOUR};

/// Shared, read-only facts every generator stage needs.
pub(crate) struct World {
    pub seed: u64,
    pub n_accounts: usize,
    pub n_groups: usize,
    /// End of the as-of day, epoch ms (exclusive).
    pub end_ms: i64,
    /// Start of the window for forwards, reports and blocks.
    pub window_start_ms: i64,
    /// Account creation times, epoch ms.
    pub account_created: Vec<i64>,
    pub account_salt: u64,
    pub group_salt: u64,
    pub plan: NetworkPlan,
}

impl World {
    /// The world of `cfg` with `n_groups` groups (account creation times are filled later).
    pub fn new(cfg: &SynthConfig, n_groups: usize, plan: NetworkPlan) -> Self {
        let end_ms = day_start_ms(cfg.as_of) + MS_PER_DAY;
        World {
            seed: cfg.seed,
            n_accounts: cfg.accounts,
            n_groups,
            end_ms,
            window_start_ms: end_ms - cfg.window_days as i64 * MS_PER_DAY,
            account_created: Vec::new(),
            account_salt: mix64(cfg.seed ^ 0xA11CE),
            group_salt: mix64(cfg.seed ^ 0x6_0_0_9),
            plan,
        }
    }

    pub fn account_id(&self, idx: u32) -> u64 {
        mix64((idx as u64).wrapping_add(self.account_salt))
    }
    pub fn group_id(&self, idx: u32) -> u64 {
        mix64((idx as u64).wrapping_add(self.group_salt))
    }
}

/// RNG streams: one per kind of entity, so adding draws to one kind never shifts another.
#[derive(Clone, Copy)]
#[repr(u64)]
pub(crate) enum Stream {
    Account = 1,
    Group = 2,
    Network = 3,
    Activity = 4,
    HashBank = 5,
    Labels = 6,
    /// The `hard` preset's plan (communities, units, networks).
    HardPlan = 7,
    /// One `hard` unit (a group, a family of groups, a decoy series or a network).
    HardUnit = 8,
    /// `hard` account rows (drawn after the creation time of `Account`).
    HardAccount = 9,
}

pub(crate) fn rng_for(seed: u64, stream: Stream, index: u64) -> ChaCha8Rng {
    let s = mix64(seed ^ mix64((stream as u64) << 56 ^ index));
    ChaCha8Rng::seed_from_u64(s)
}

/// A pseudonymous id for an event-level object (links, actions, media) from its owner and a
/// per-owner counter. Collisions are as likely as for any random 64-bit id.
pub(crate) fn object_id(seed: u64, kind: u64, owner: u64, k: u64) -> u64 {
    mix64(mix64(seed ^ (kind << 48)) ^ mix64(owner.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ k))
}

/// A uniformly random 256-bit PDQ hash.
pub(crate) fn random_pdq(rng: &mut impl Rng) -> [u8; 32] {
    let mut h = [0u8; 32];
    rng.fill(&mut h);
    h
}

/// Flips `bits` distinct bits: a near-duplicate at exactly that Hamming distance.
pub(crate) fn perturb_pdq(h: &[u8; 32], bits: u32, rng: &mut impl Rng) -> [u8; 32] {
    let mut out = *h;
    let picks = rand::seq::index::sample(rng, 256, bits as usize);
    for b in picks.iter() {
        out[b / 8] ^= 1 << (b % 8);
    }
    out
}

pub fn pdq_hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Generates a dataset. Fails if `out` already holds one (never overwrites data).
pub fn generate(cfg: &SynthConfig) -> Result<SynthSummary, SynthError> {
    let started = Instant::now();
    if cfg.accounts < 500 {
        return Err(SynthError::TooSmall(cfg.accounts));
    }
    if cfg.out.join("input").exists() || cfg.out.join("synth.json").exists() {
        return Err(SynthError::OutputExists(cfg.out.clone()));
    }
    // Everything is written under a hidden staging folder and renamed at the end, so a
    // killed generator never leaves something that looks like a dataset.
    let staging = cfg.out.join(format!(".synth-staging-{}", std::process::id()));
    let result = match cfg.preset {
        Preset::Default => generate_into(cfg, &staging),
        Preset::Hard => hard::generate_into(cfg, &staging),
    };
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let finish = || -> anyhow::Result<()> {
        std::fs::rename(staging.join("input"), cfg.out.join("input"))?;
        std::fs::rename(staging.join("truth"), cfg.out.join("truth"))?;
        std::fs::remove_dir_all(&staging)?;
        Ok(())
    };
    finish().map_err(SynthError::Write)?;
    let mut summary = summary;
    summary.seconds = started.elapsed().as_secs_f64();
    let json = serde_json::to_vec_pretty(&summary).map_err(|e| SynthError::Write(e.into()))?;
    crate::io::write_bytes(&cfg.out.join("synth.json"), &json)?;
    Ok(summary)
}

fn generate_into(cfg: &SynthConfig, staging: &Path) -> Result<SynthSummary, SynthError> {
    let input = staging.join("input");
    let truth = staging.join("truth");
    let end_ms = day_start_ms(cfg.as_of) + MS_PER_DAY;
    let n_accounts = cfg.accounts;
    // Mean group size is about 37 with a median near 8; one group per 8 accounts gives about
    // 4.5 memberships an account.
    let n_groups = (n_accounts / 8).max(60);
    let plan = networks::plan(cfg.seed, n_accounts, n_groups, end_ms);
    tracing::info!(
        accounts = n_accounts,
        groups = n_groups,
        networks = plan.networks.len(),
        "generating synthetic platform"
    );
    let mut world = World::new(cfg, n_groups, plan);
    let mut counts = sink::Counts::default();
    let bank = activity::write_hash_bank(&world, &input, &mut counts)?;
    activity::write_accounts(&mut world, &bank, &input, &mut counts)?;
    let group_stats = groups::write_groups(&world, &bank, &input, &mut counts)?;
    activity::write_account_activity(&world, &group_stats, &input, &mut counts)?;
    activity::write_labels(&world, &group_stats, &input, &mut counts)?;
    networks::write_truth(&world, &group_stats.kinds, &truth)?;
    Ok(SynthSummary {
        config: cfg.clone(),
        rows: counts.rows,
        files: counts.files,
        networks: world.plan.networks.len(),
        labelled_networks: None,
        violating_groups: world.plan.groups.len(),
        violating_group_labels: None,
        groups: n_groups + world.plan.groups.len(),
        seconds: 0.0,
    })
}

/// Exponential draw with the given mean.
pub(crate) fn exp(rng: &mut impl Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.gen::<f64>()).ln()
}

/// Log-normal draw with the given median and shape.
pub(crate) fn lognormal(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    let n: f64 = rand_distr::Distribution::sample(&rand_distr::StandardNormal, rng);
    median * (sigma * n).exp()
}

/// Poisson draw (Knuth for small means, normal approximation above 30).
pub(crate) fn poisson(rng: &mut impl Rng, mean: f64) -> u32 {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        let n: f64 = rand_distr::Distribution::sample(&rand_distr::StandardNormal, rng);
        return (mean + mean.sqrt() * n).round().max(0.0) as u32;
    }
    let l = (-mean).exp();
    let (mut k, mut p) = (0u32, 1.0f64);
    loop {
        p *= rng.gen::<f64>();
        if p <= l {
            return k;
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix64_is_injective_on_a_range() {
        let mut v: Vec<u64> = (0..100_000u64).map(mix64).collect();
        v.sort_unstable();
        v.dedup();
        assert_eq!(v.len(), 100_000);
    }

    #[test]
    fn perturb_gives_exact_distance() {
        let mut rng = rng_for(1, Stream::HashBank, 0);
        let h = random_pdq(&mut rng);
        for bits in [0, 1, 17, 31, 64] {
            let p = perturb_pdq(&h, bits, &mut rng);
            let d: u32 = h.iter().zip(&p).map(|(a, b)| (a ^ b).count_ones()).sum();
            assert_eq!(d, bits);
        }
    }
}
