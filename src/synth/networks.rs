//! The planted violating networks: who runs them, which groups they have, how hard they hide.
//!
//! A network is a handful of groups run by a few operators (who create the groups and rotate
//! the invite links), fed by distributors (who forward media between the groups, often to the
//! client's cap of five chats at once) and populated from a shared pool of consumers, so the
//! network's groups overlap heavily in membership: the dense account×group block that
//! coordination features look for. Each network has a strength in 0..1 that scales every
//! behaviour; camouflaged networks switch off the loud ones (bursts, fresh accounts, hash
//! matches, distinct text, batch-cap hits, most reports) and their members keep ordinary
//! memberships in benign groups.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rand::seq::SliceRandom;
use rand::Rng;

use super::{rng_for, Stream, World, MS_PER_DAY, MS_PER_HOUR};
use crate::io::{col, frame, write_parquet_staged as write_parquet};

/// An account's part in a network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Operator,
    Distributor,
    Consumer,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Distributor => "distributor",
            Role::Consumer => "consumer",
        }
    }
}

/// One network's parameters.
#[derive(Debug, Clone)]
pub struct Network {
    pub id: u32,
    pub strength: f64,
    pub camouflaged: bool,
    pub start_ms: i64,
    /// Indices into [`NetworkPlan::groups`].
    pub groups: Vec<usize>,
    pub operators: Vec<u32>,
    pub distributors: Vec<u32>,
    pub consumers: Vec<u32>,
}

/// A violating group before its events are generated.
#[derive(Debug, Clone)]
pub struct PlannedGroup {
    pub network: u32,
    pub created_ms: i64,
    pub creator: u32,
    pub size: usize,
    /// Hash-bank entry and Hamming distance of a near-duplicate group photo.
    pub bank_photo: Option<(usize, u32)>,
    pub violating_text: bool,
    pub join_approval: bool,
    /// When the platform took it down (activity stops; an enforcement label may follow).
    pub taken_down_ms: Option<i64>,
}

/// Per-account facts the plan imposes on the account table.
#[derive(Debug, Clone)]
pub struct AccountPlan {
    pub network: u32,
    pub role: Role,
    /// Throwaway accounts are created shortly before they are used.
    pub created_ms: Option<i64>,
    pub bank_photo: Option<(usize, u32)>,
    pub violating_text: bool,
    pub no_photo: bool,
}

/// Everything planted, decided before any row is written.
#[derive(Debug, Clone, Default)]
pub struct NetworkPlan {
    pub networks: Vec<Network>,
    pub groups: Vec<PlannedGroup>,
    pub accounts: BTreeMap<u32, AccountPlan>,
    /// Size of the hash bank (entries are generated from their own stream).
    pub bank_size: usize,
}

impl NetworkPlan {
    pub fn network(&self, g: &PlannedGroup) -> &Network {
        &self.networks[g.network as usize]
    }
}

/// Hash-bank size for a population.
pub fn bank_size(n_accounts: usize) -> usize {
    (n_accounts / 300).max(300)
}

/// Base creation time of an account: the first draw of its own stream, so it can be known
/// before the account table is written. Ages are spread over eight years with more recent
/// accounts (the platform grows), plus 4 % created in the last 30 days.
/// Returns the creation time and the account's RNG stream positioned after that draw.
pub(crate) fn account_stream(seed: u64, idx: u32, end_ms: i64) -> (i64, rand_chacha::ChaCha8Rng) {
    let mut rng = rng_for(seed, Stream::Account, idx as u64);
    let u: f64 = rng.gen();
    let age_days = if u < 0.04 { u / 0.04 * 30.0 } else { 2920.0 * ((u - 0.04) / 0.96).powf(1.6) };
    let created = end_ms - (age_days * MS_PER_DAY as f64) as i64 - rng.gen_range(0..MS_PER_HOUR);
    (created, rng)
}

pub fn plan(seed: u64, n_accounts: usize, n_groups: usize, end_ms: i64) -> NetworkPlan {
    let mut rng = rng_for(seed, Stream::Network, 0);
    let n_networks = ((n_groups as f64 * 0.004 / 6.0).round() as usize).max(3);
    let bank = bank_size(n_accounts);
    let mut plan = NetworkPlan { bank_size: bank, ..Default::default() };
    let mut taken: HashSet<u32> = HashSet::new();
    let mut pick = |rng: &mut rand_chacha::ChaCha8Rng| loop {
        let a = rng.gen_range(0..n_accounts as u32);
        if taken.insert(a) {
            return a;
        }
    };
    for id in 0..n_networks as u32 {
        // Every third network is camouflaged, so small datasets always have both kinds.
        let camouflaged = id % 3 == 2;
        let strength: f64 = if camouflaged { rng.gen_range(0.1..0.4) } else { rng.gen_range(0.3..1.0) };
        let start_ms = end_ms - rng.gen_range(25..400) * MS_PER_DAY - rng.gen_range(0..MS_PER_DAY);
        let n_ops = rng.gen_range(1..=4);
        let n_dist = rng.gen_range(2..=8);
        let n_grp = (2 + super::poisson(&mut rng, 3.5) as usize).min(14);
        let size_median = rng.gen_range(25.0..120.0);
        let pool_size = ((size_median * rng.gen_range(1.3..2.5)) as usize).min(n_accounts / 10);
        let fresh_share = if camouflaged { 0.05 } else { 0.25 + 0.6 * strength };
        let recent_from = (end_ms - 45 * MS_PER_DAY).max(start_ms);

        let mut account = |rng: &mut rand_chacha::ChaCha8Rng, role: Role| {
            let idx = pick(rng);
            let throwaway = role != Role::Operator && rng.gen_bool(fresh_share);
            let created_ms = throwaway.then(|| rng.gen_range(recent_from..end_ms - MS_PER_HOUR));
            let bank_photo = (!camouflaged && role != Role::Consumer && rng.gen_bool(0.2 * strength))
                .then(|| (rng.gen_range(0..bank), rng.gen_range(0..=28)));
            let ap = AccountPlan {
                network: id,
                role,
                created_ms,
                bank_photo,
                violating_text: !camouflaged && rng.gen_bool(0.5 * strength),
                no_photo: throwaway && rng.gen_bool(0.8),
            };
            (idx, ap)
        };
        let mut net = Network {
            id,
            strength,
            camouflaged,
            start_ms,
            groups: Vec::new(),
            operators: Vec::new(),
            distributors: Vec::new(),
            consumers: Vec::new(),
        };
        for (role, n) in [(Role::Operator, n_ops), (Role::Distributor, n_dist), (Role::Consumer, pool_size)] {
            for _ in 0..n {
                let (idx, ap) = account(&mut rng, role);
                plan.accounts.insert(idx, ap);
                match role {
                    Role::Operator => net.operators.push(idx),
                    Role::Distributor => net.distributors.push(idx),
                    Role::Consumer => net.consumers.push(idx),
                }
            }
        }
        // Groups appear over the network's life; strong networks replace taken-down groups.
        let span = (end_ms - 2 * MS_PER_DAY - start_ms).max(MS_PER_DAY);
        for k in 0..n_grp {
            let created_ms = start_ms + span * k as i64 / n_grp as i64 + rng.gen_range(0..MS_PER_DAY);
            let size = super::lognormal(&mut rng, size_median, 0.5).clamp(8.0, 1000.0) as usize;
            let taken_down_ms = (rng.gen_bool(0.3) && created_ms + 10 * MS_PER_DAY < end_ms)
                .then(|| rng.gen_range(created_ms + 5 * MS_PER_DAY..end_ms));
            plan.groups.push(PlannedGroup {
                network: id,
                created_ms,
                creator: *net.operators.choose(&mut rng).expect("at least one operator"),
                size,
                bank_photo: (!camouflaged && rng.gen_bool(0.35 * strength))
                    .then(|| (rng.gen_range(0..bank), rng.gen_range(0..=30))),
                violating_text: !camouflaged && rng.gen_bool(0.3 + 0.6 * strength),
                join_approval: rng.gen_bool(if camouflaged { 0.2 } else { 0.5 }),
                taken_down_ms,
            });
            net.groups.push(plan.groups.len() - 1);
        }
        plan.networks.push(net);
    }
    plan
}

/// Writes the ground truth beside the dataset: every group with its kind, the planted
/// accounts with their roles, and the networks.
pub(crate) fn write_truth(world: &World, group_kinds: &[&'static str], dir: &Path) -> anyhow::Result<()> {
    let plan = &world.plan;
    let n_total = world.n_groups + plan.groups.len();
    let mut t = Truth::default();
    for g in 0..n_total {
        let planned = g.checked_sub(world.n_groups).map(|v| &plan.groups[v]);
        t.group(world.group_id(g as u32), group_kinds[g], planned.map(|p| (p.network as u64, plan.network(p).camouflaged)));
    }
    for (&idx, ap) in &plan.accounts {
        let camo = plan.networks[ap.network as usize].camouflaged;
        t.account(world.account_id(idx), ap.network as u64, ap.role, ap.created_ms.is_some(), camo);
    }
    t.networks = plan
        .networks
        .iter()
        .map(|n| TruthNetwork {
            id: n.id as u64,
            strength: n.strength,
            camouflaged: n.camouflaged,
            start_ms: n.start_ms,
            n_groups: n.groups.len() as u64,
            n_accounts: (n.operators.len() + n.distributors.len() + n.consumers.len()) as u64,
        })
        .collect();
    t.write(dir)
}

/// One row of `truth/networks.parquet`.
pub(crate) struct TruthNetwork {
    pub id: u64,
    pub strength: f64,
    pub camouflaged: bool,
    pub start_ms: i64,
    pub n_groups: u64,
    pub n_accounts: u64,
}

/// The truth tables' columns, filled by either preset and written by [`Truth::write`].
#[derive(Default)]
pub(crate) struct Truth {
    group_id: Vec<u64>,
    kind: Vec<&'static str>,
    network: Vec<Option<u64>>,
    camouflaged: Vec<bool>,
    account_id: Vec<u64>,
    account_network: Vec<u64>,
    role: Vec<&'static str>,
    throwaway: Vec<bool>,
    account_camouflaged: Vec<bool>,
    pub networks: Vec<TruthNetwork>,
    /// Whether labels revealed each network: a `labelled` column when given (`hard` preset).
    pub labelled: Option<Vec<bool>>,
}

impl Truth {
    /// A group; `network` is `(network, camouflaged)` for a planted one.
    pub fn group(&mut self, id: u64, kind: &'static str, network: Option<(u64, bool)>) {
        self.group_id.push(id);
        self.kind.push(kind);
        self.network.push(network.map(|n| n.0));
        self.camouflaged.push(network.is_some_and(|n| n.1));
    }

    /// A planted account.
    pub fn account(&mut self, id: u64, network: u64, role: Role, throwaway: bool, camouflaged: bool) {
        self.account_id.push(id);
        self.account_network.push(network);
        self.role.push(role.name());
        self.throwaway.push(throwaway);
        self.account_camouflaged.push(camouflaged);
    }

    /// Writes `groups.parquet`, `accounts.parquet` and `networks.parquet` into `dir`.
    pub fn write(self, dir: &Path) -> anyhow::Result<()> {
        let violating = self.network.iter().map(|n| n.is_some()).collect();
        let mut df = frame(vec![
            col::u64s("group_id", self.group_id),
            col::static_strs("kind", self.kind),
            col::bools("violating", violating),
            col::opt_u64s("network", self.network),
            col::bools("camouflaged", self.camouflaged),
        ])?;
        write_parquet(&mut df, &dir.join("groups.parquet"))?;
        let mut df = frame(vec![
            col::u64s("account_id", self.account_id),
            col::u64s("network", self.account_network),
            col::static_strs("role", self.role),
            col::bools("throwaway", self.throwaway),
            col::bools("camouflaged", self.account_camouflaged),
        ])?;
        write_parquet(&mut df, &dir.join("accounts.parquet"))?;
        let nets = &self.networks;
        let mut columns = vec![
            col::u64s("network", nets.iter().map(|n| n.id).collect()),
            col::f64s("strength", nets.iter().map(|n| n.strength).collect()),
            col::bools("camouflaged", nets.iter().map(|n| n.camouflaged).collect()),
            col::times("start", nets.iter().map(|n| n.start_ms).collect())?,
            col::u64s("n_groups", nets.iter().map(|n| n.n_groups).collect()),
            col::u64s("n_accounts", nets.iter().map(|n| n.n_accounts).collect()),
        ];
        if let Some(labelled) = self.labelled {
            columns.push(col::bools("labelled", labelled));
        }
        let mut df = frame(columns)?;
        write_parquet(&mut df, &dir.join("networks.parquet"))?;
        Ok(())
    }
}
