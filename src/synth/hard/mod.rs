//! The `hard` preset: a world in which a detector has to find networks by their structure,
//! because the generator leaves nothing else that separates them.
//!
//! The default generator is easy in ways a model learns instead of the problem: planted
//! networks are the only multi-group structures with shared admins and members, one operator
//! creates every group of a network, every network is loud and labelled, and several row
//! values occur only in planted groups. Here:
//!
//! 1. **Benign families** (schools, clubs, companies, extended families) run 3–15 groups with
//!    overlapping admins and link creators and a shared member pool, with lockstep cohorts
//!    when a group is created, and cross-post announcements to all their groups.
//! 2. **Planted networks** have many creators: each group is created by a different core
//!    member while there are some, and admins overlap sparsely; no account ties the groups.
//! 3. **Strength** varies per network; three in ten are very quiet (few bursts, reports, forwards).
//! 4. **Labels** reveal about half of the networks (`truth/networks.parquet` says which); the
//!    others carry no label at all, as new networks do. Benign review outcomes (mostly on
//!    decoys that drew child-safety reports) and upheld appeals remain.
//! 5. **Camouflaged networks** have no bursts, batch-cap hits, hash matches or coded text;
//!    their members are ordinary members of their own communities' groups.
//! 6. **Decoys** are loud and benign: event series (bursts of fresh accounts through links,
//!    photos forwarded among the events' groups), publishers, marketplace rings whose sellers
//!    cross-post and rotate links every few days, spam operations; some draw false
//!    child-safety reports and stranger blocks. Each shares some loud traits with abuse.
//!
//! Quirks of the default generator that this preset removes: planted groups were the last
//! rows of the groups table (units are laid out in a random order and each chunk's rows are
//! sorted by id); planted groups were created at evenly spaced times; reporters and blockers
//! of planted groups were random non-members; distributors forwarded into groups they were not
//! in and from a group into itself; every planted in-forward had a source group; promotions
//! came 6 hours after joining in planted groups and 5 days in benign ones; `admins_only_add`
//! was 60 % in planted groups and 0 or 100 % by benign kind; the violating text register
//! was used by violating entities only; only planted accounts matched the hash bank. Every
//! group here goes through the same mechanics (`group`), with kind parameters that overlap.
//!
//! Membership follows communities (contiguous blocks of account indices; ids are hashed), so
//! everyone's ordinary groups are local. Determinism and memory are as in the default
//! generator: per-unit RNG streams, fixed chunks of units, bounded sinks.

mod accounts;
mod group;
mod network;
mod plan;
mod units;

use std::path::Path;

use rand::seq::SliceRandom;
use rand::Rng;

use super::networks::NetworkPlan;
use super::{activity, day_start_ms, object_id, sink, SynthConfig, SynthError, SynthSummary, World, MS_PER_DAY};
use plan::Plan;

/// Shared, read-only facts the unit generators need.
pub(crate) struct Ctx<'a> {
    pub w: &'a World,
    pub plan: &'a Plan,
    pub bank: &'a [[u8; 32]],
    /// Unplanted accounts created in the last 60 days (event attendees, spammers).
    pub fresh: Vec<u32>,
    /// Slots of broadcast groups (sources of forwarded news).
    pub broadcasts: Vec<u32>,
    pub viral_pool: u64,
    /// Planted throwaway accounts, a bit each: they have no ordinary life.
    throwaway: Vec<u64>,
}

/// Where a unit recruits its members: its own community, neighbouring ones (within `reach`),
/// new accounts, and the rest from anywhere.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mix {
    pub own: f64,
    pub near: f64,
    pub reach: i64,
    pub fresh: f64,
}

impl Mix {
    pub const LOCAL: Mix = Mix { own: 0.85, near: 0.1, reach: 2, fresh: 0.0 };
}

impl Ctx<'_> {
    pub fn created(&self, a: u32) -> i64 {
        self.w.account_created[a as usize]
    }

    fn is_throwaway(&self, a: u32) -> bool {
        self.throwaway[a as usize / 64] >> (a % 64) & 1 == 1
    }

    pub fn is_planted(&self, a: u32) -> bool {
        self.plan.accounts.contains_key(&a)
    }

    /// A viral object id drawn from a Zipf-like pool shared by all groups.
    pub fn viral_object(&self, rng: &mut impl Rng) -> u64 {
        let u: f64 = rng.gen();
        let rank = ((self.viral_pool as f64).powf(u) as u64).min(self.viral_pool - 1);
        object_id(self.w.seed, group::OBJ_VIRAL, 0, rank)
    }

    /// A member of community `c` (never a planted throwaway).
    pub fn in_community(&self, rng: &mut impl Rng, c: u32) -> u32 {
        let (lo, hi) = self.plan.communities.range(c);
        let mut a = rng.gen_range(lo..hi);
        for _ in 0..8 {
            if !self.is_throwaway(a) {
                break;
            }
            a = rng.gen_range(lo..hi);
        }
        a
    }

    /// Anyone (never a planted throwaway).
    pub fn anyone(&self, rng: &mut impl Rng) -> u32 {
        let c = self.plan.communities.of(rng.gen_range(0..self.w.n_accounts as u32));
        self.in_community(rng, c)
    }

    /// A friend of `a`: someone of the same community, sometimes anyone.
    pub fn friend_of(&self, rng: &mut impl Rng, a: u32) -> u32 {
        if rng.gen_bool(0.9) {
            self.in_community(rng, self.plan.communities.of(a))
        } else {
            self.anyone(rng)
        }
    }

    /// A new account that existed before `t`, if one is found quickly.
    pub fn fresh_before(&self, rng: &mut impl Rng, t: i64) -> Option<u32> {
        for _ in 0..6 {
            let a = *self.fresh.choose(rng)?;
            if self.created(a) < t {
                return Some(a);
            }
        }
        None
    }

    /// A member drawn by `mix` around community `c`.
    pub fn draw(&self, rng: &mut impl Rng, c: u32, mix: Mix) -> u32 {
        let u: f64 = rng.gen();
        if u < mix.own {
            self.in_community(rng, c)
        } else if u < mix.own + mix.near {
            let n = self.plan.communities.near(rng, c, mix.reach);
            self.in_community(rng, n)
        } else if u < mix.own + mix.near + mix.fresh && !self.fresh.is_empty() {
            *self.fresh.choose(rng).expect("non-empty")
        } else {
            self.anyone(rng)
        }
    }
}

pub(crate) fn generate_into(cfg: &SynthConfig, staging: &Path) -> Result<SynthSummary, SynthError> {
    let input = staging.join("input");
    let truth = staging.join("truth");
    let end_ms = day_start_ms(cfg.as_of) + MS_PER_DAY;
    let n_accounts = cfg.accounts;
    let n_benign = (n_accounts / 8).max(60);
    let plan = plan::plan(cfg.seed, n_accounts, n_benign, end_ms);
    tracing::info!(
        accounts = n_accounts,
        groups = plan.n_slots,
        communities = plan.communities.len(),
        units = plan.units.len(),
        networks = plan.networks.len(),
        "generating synthetic platform (hard preset)"
    );
    let mut world = World::new(cfg, plan.n_slots, NetworkPlan { bank_size: plan.bank_size, ..Default::default() });
    let mut counts = sink::Counts::default();
    let bank = activity::write_hash_bank(&world, &input, &mut counts)?;
    accounts::write_accounts(&mut world, &plan, &bank, &input, &mut counts)?;
    let stats = units::write_units(&world, &plan, &bank, &input, &mut counts)?;
    let group_stats = super::groups::GroupStats {
        kinds: Vec::new(),
        created: Vec::new(),
        group_forward_rows: stats.group_forward_rows,
        forward_rows: stats.forward_rows,
    };
    activity::write_account_activity(&world, &group_stats, &input, &mut counts)?;
    let labels = accounts::write_labels(&world, &plan, &stats, &input, &mut counts)?;
    accounts::write_truth(&world, &plan, &stats, &labels, &truth)?;
    let violating_groups = plan.networks.iter().map(|n| n.groups.len()).sum();
    Ok(SynthSummary {
        config: cfg.clone(),
        rows: counts.rows,
        files: counts.files,
        networks: plan.networks.len(),
        labelled_networks: Some(labels.labelled.iter().filter(|&&l| l).count()),
        violating_groups,
        violating_group_labels: Some(labels.violating_groups),
        groups: plan.n_slots,
        seconds: 0.0,
    })
}
