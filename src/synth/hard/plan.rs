//! The `hard` world's plan, decided before any row is written: social communities, the units
//! that own groups (single groups, benign families, decoy series, planted networks), the
//! order of the units in the group tables, and every planted account.

use std::collections::{BTreeMap, HashSet};

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::super::groups::Kind;
use super::super::networks::{account_stream, bank_size, Role};
use super::super::{lognormal, poisson, rng_for, Stream, MS_PER_DAY, MS_PER_HOUR};

/// Social communities: contiguous blocks of account indices (ids are hashed, so the blocks are
/// invisible in the data). Ordinary groups draw their members from one community and its
/// neighbours, so everyone's benign footprint is local, planted members included.
#[derive(Debug, Clone)]
pub(crate) struct Communities {
    starts: Vec<u32>,
    n: u32,
}

impl Communities {
    /// Community sizes are log-normal around 220 accounts (40..=3000).
    pub fn draw(seed: u64, n_accounts: usize) -> Self {
        let mut rng = rng_for(seed, Stream::HardPlan, 0);
        let mut starts = Vec::new();
        let mut s = 0u64;
        while s < n_accounts as u64 {
            starts.push(s as u32);
            s += lognormal(&mut rng, 220.0, 0.7).clamp(40.0, 3000.0) as u64;
        }
        Communities { starts, n: n_accounts as u32 }
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// The community of account `a`.
    pub fn of(&self, a: u32) -> u32 {
        (self.starts.partition_point(|&s| s <= a) - 1) as u32
    }

    /// Accounts of community `c`, as an index range.
    pub fn range(&self, c: u32) -> (u32, u32) {
        let c = c as usize;
        (self.starts[c], self.starts.get(c + 1).copied().unwrap_or(self.n))
    }

    /// A community within `reach` of `c` (the ring of communities wraps around).
    pub fn near(&self, rng: &mut impl Rng, c: u32, reach: i64) -> u32 {
        let k = self.len() as i64;
        (c as i64 + rng.gen_range(-reach..=reach)).rem_euclid(k) as u32
    }
}

/// Benign multi-group organisations (item 1 of the realism list).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrgKind {
    /// Class and year groups of a school: created in bursts at the start of a term.
    School,
    /// Teams and committees of a sports club.
    Club,
    /// Departments and projects of a company.
    Company,
    /// An extended family's groups (holidays, cousins, parents).
    Kin,
}

impl OrgKind {
    pub fn name(self) -> &'static str {
        match self {
            OrgKind::School => "org_school",
            OrgKind::Club => "org_club",
            OrgKind::Company => "org_company",
            OrgKind::Kin => "org_kin",
        }
    }

    /// (median group size, fewest groups, most groups)
    pub fn shape(self) -> (f64, u32, u32) {
        match self {
            OrgKind::School => (25.0, 5, 15),
            OrgKind::Club => (20.0, 3, 8),
            OrgKind::Company => (15.0, 3, 12),
            OrgKind::Kin => (10.0, 3, 5),
        }
    }
}

/// What owns a run of consecutive group slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnitKind {
    /// One benign group of a default kind.
    Single(Kind),
    Org(OrgKind),
    /// An organiser's series of event groups (loud decoy).
    EventSeries,
    /// A publisher's broadcast channels (loud decoy).
    Publisher,
    /// Sellers who run and cross-post between several marketplace groups (loud decoy).
    MarketRing,
    /// Spammers who add strangers to several groups (loud decoy).
    SpamOp,
    /// A planted violating network (index into [`Plan::networks`]).
    Network(u32),
}

impl UnitKind {
    /// The truth's `kind` of every group the unit owns.
    pub fn group_kind(self) -> &'static str {
        match self {
            UnitKind::Single(k) => k.name(),
            UnitKind::Org(o) => o.name(),
            UnitKind::EventSeries => "event",
            UnitKind::Publisher => "broadcast",
            UnitKind::MarketRing => "marketplace",
            UnitKind::SpamOp => "spam_ring",
            UnitKind::Network(_) => "violating",
        }
    }
}

/// A unit: its kind, its slots (group indices `first_slot..first_slot + n_groups`), its home
/// community and the index of its RNG stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unit {
    pub kind: UnitKind,
    pub first_slot: u32,
    pub n_groups: u32,
    pub community: u32,
    pub stream: u32,
}

/// One planted network's parameters.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    pub id: u32,
    pub strength: f64,
    pub camouflaged: bool,
    /// Whether enforcement has found it (some of its entities carry violating labels).
    pub labelled: bool,
    pub start_ms: i64,
    /// Communities it recruits from.
    pub homes: Vec<u32>,
    /// Core members: each creates or administers one or two groups, none all of them.
    pub core: Vec<u32>,
    pub distributors: Vec<u32>,
    pub consumers: Vec<u32>,
    pub groups: Vec<NetGroup>,
    /// Share of each group's members taken from the consumer pool.
    pub pool_share: f64,
    /// Probability that a distributor is in a given group.
    pub dist_join: f64,
    /// Index of the network's unit.
    pub unit: usize,
}

/// A planted group before its events are generated.
#[derive(Debug, Clone)]
pub(crate) struct NetGroup {
    pub slot: u32,
    pub created_ms: i64,
    pub creator: u32,
    /// Promoted members besides the creator (sparse overlap between groups).
    pub admins: Vec<u32>,
    pub size: usize,
    pub bank_photo: Option<(usize, u32)>,
    /// Share of coded tokens in the subject and description.
    pub coded: f64,
    pub join_approval: bool,
    pub admins_only_add: bool,
    /// Taken down by the platform (labelled networks only; activity stops).
    pub taken_down_ms: Option<i64>,
}

/// Facts the plan imposes on a planted account's row.
#[derive(Debug, Clone)]
pub(crate) struct Planted {
    pub network: u32,
    pub role: Role,
    /// Throwaway accounts are created shortly before use.
    pub created_ms: Option<i64>,
    pub bank_photo: Option<(usize, u32)>,
    /// Share of coded tokens in the about text (0: ordinary text).
    pub coded_about: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub communities: Communities,
    pub units: Vec<Unit>,
    pub networks: Vec<Net>,
    pub accounts: BTreeMap<u32, Planted>,
    pub n_slots: usize,
    pub bank_size: usize,
}

/// Unit mix: (share of benign groups, mean groups per unit) for each unit kind.
const MIX: &[(UnitKind, f64, f64)] = &[
    (UnitKind::Single(Kind::Family), 0.34, 1.0),
    (UnitKind::Single(Kind::Friends), 0.24, 1.0),
    (UnitKind::Single(Kind::WorkSchool), 0.07, 1.0),
    (UnitKind::Single(Kind::Community), 0.05, 1.0),
    (UnitKind::Single(Kind::Marketplace), 0.01, 1.0),
    (UnitKind::Single(Kind::Event), 0.015, 1.0),
    (UnitKind::Single(Kind::Broadcast), 0.01, 1.0),
    (UnitKind::Single(Kind::SpamRing), 0.007, 1.0),
    (UnitKind::Org(OrgKind::School), 0.06, 8.0),
    (UnitKind::Org(OrgKind::Club), 0.05, 4.5),
    (UnitKind::Org(OrgKind::Company), 0.04, 5.5),
    (UnitKind::Org(OrgKind::Kin), 0.04, 3.5),
    (UnitKind::EventSeries, 0.025, 3.4),
    (UnitKind::Publisher, 0.012, 2.4),
    (UnitKind::MarketRing, 0.015, 3.9),
    (UnitKind::SpamOp, 0.008, 3.4),
];

fn unit_groups(rng: &mut impl Rng, kind: UnitKind) -> u32 {
    match kind {
        UnitKind::Single(_) => 1,
        UnitKind::Org(o) => {
            let (_, lo, hi) = o.shape();
            let mean = MIX.iter().find(|m| m.0 == kind).map_or(4.0, |m| m.2);
            (lo + poisson(rng, mean - lo as f64)).min(hi)
        }
        UnitKind::EventSeries => (2 + poisson(rng, 1.4)).min(5),
        UnitKind::Publisher => (1 + poisson(rng, 1.4)).min(4),
        UnitKind::MarketRing => (2 + poisson(rng, 1.9)).min(6),
        UnitKind::SpamOp => (2 + poisson(rng, 1.4)).min(5),
        UnitKind::Network(_) => unreachable!("networks are planned apart"),
    }
}

/// Plans the world. `n_benign` is the number of benign groups wanted.
pub(crate) fn plan(seed: u64, n_accounts: usize, n_benign: usize, end_ms: i64) -> Plan {
    let communities = Communities::draw(seed, n_accounts);
    let mut rng = rng_for(seed, Stream::HardPlan, 1);
    // Benign units until the benign groups are there.
    let weights: Vec<f64> = MIX.iter().map(|m| m.1 / m.2).collect();
    let total: f64 = weights.iter().sum();
    let mut units = Vec::new();
    let mut benign = 0usize;
    while benign < n_benign {
        let mut x = rng.gen::<f64>() * total;
        let mut kind = MIX[0].0;
        for (m, w) in MIX.iter().zip(&weights) {
            if x < *w {
                kind = m.0;
                break;
            }
            x -= w;
        }
        let n = unit_groups(&mut rng, kind);
        // Size-weighted: a community draws units in proportion to its accounts.
        let community = communities.of(rng.gen_range(0..n_accounts as u32));
        units.push(Unit { kind, first_slot: 0, n_groups: n, community, stream: units.len() as u32 });
        benign += n as usize;
    }
    let mut networks = plan_networks(seed, n_accounts, n_benign, end_ms, &communities);
    for net in &mut networks {
        net.unit = units.len();
        let community = net.homes[0];
        units.push(Unit {
            kind: UnitKind::Network(net.id),
            first_slot: 0,
            n_groups: net.groups.len() as u32,
            community,
            stream: units.len() as u32,
        });
    }
    // Units are laid out in a random order, so neither row position nor slot says which
    // unit (or kind) a group belongs to.
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.shuffle(&mut rng);
    let mut laid = Vec::with_capacity(units.len());
    let mut slot = 0u32;
    let mut unit_of_net = vec![0usize; networks.len()];
    for &u in &order {
        let mut unit = units[u];
        unit.first_slot = slot;
        slot += unit.n_groups;
        if let UnitKind::Network(id) = unit.kind {
            unit_of_net[id as usize] = laid.len();
        }
        laid.push(unit);
    }
    for net in &mut networks {
        net.unit = unit_of_net[net.id as usize];
        let first = laid[net.unit].first_slot;
        for (k, g) in net.groups.iter_mut().enumerate() {
            g.slot = first + k as u32;
        }
    }
    let mut accounts = BTreeMap::new();
    for net in &networks {
        plan_accounts(seed, net, n_accounts, end_ms, &mut accounts);
    }
    Plan { communities, units: laid, networks, accounts, n_slots: slot as usize, bank_size: bank_size(n_accounts) }
}

/// `k` of `n` entries true, in a random order.
fn flags(rng: &mut impl Rng, n: usize, k: usize) -> Vec<bool> {
    let mut v: Vec<bool> = (0..n).map(|i| i < k).collect();
    v.shuffle(rng);
    v
}

fn plan_networks(seed: u64, n_accounts: usize, n_benign: usize, end_ms: i64, comm: &Communities) -> Vec<Net> {
    let mut rng = rng_for(seed, Stream::HardPlan, 2);
    let n = ((n_benign as f64 / 700.0).round() as usize).max(4);
    // Fixed counts (shuffled) so every dataset has camouflaged and loud, labelled and new,
    // quiet and strong networks: about a third camouflaged, about half labelled, three in ten
    // very quiet, independently.
    let camo = flags(&mut rng, n, ((n as f64 / 3.0).round() as usize).max(1));
    let labelled = flags(&mut rng, n, ((n as f64 / 2.0).round() as usize).clamp(1, n - 1));
    // Three in ten networks are very quiet, whatever their kind.
    let quiet = flags(&mut rng, n, ((n as f64 * 0.3).round() as usize).max(1));
    let mut taken: HashSet<u32> = HashSet::new();
    let mut nets = Vec::with_capacity(n);
    for id in 0..n {
        let camouflaged = camo[id];
        let strength = if quiet[id] { rng.gen_range(0.03..0.2) } else { rng.gen_range(0.2..1.0) };
        let start_ms = end_ms - rng.gen_range(20..700) * MS_PER_DAY - rng.gen_range(0..MS_PER_DAY);
        let n_groups = (2 + poisson(&mut rng, 3.5) as usize).min(12);
        let n_core = ((n_groups as f64 * rng.gen_range(0.5..1.0)).round() as usize).max(2);
        let n_dist = rng.gen_range(1..=6);
        let size_median: f64 = rng.gen_range(15.0..90.0);
        let pool_size = ((size_median * rng.gen_range(0.8..1.8)) as usize).clamp(8, n_accounts / 10);
        let homes: Vec<u32> =
            (0..rng.gen_range(1..=5)).map(|_| comm.of(rng.gen_range(0..n_accounts as u32))).collect();
        // Core members existed before the network (they create its first groups).
        let mut pick = |rng: &mut ChaCha8Rng, older_than: Option<i64>| loop {
            let a = if rng.gen_bool(0.5) {
                let (lo, hi) = comm.range(*homes.choose(rng).expect("homes"));
                rng.gen_range(lo..hi)
            } else {
                rng.gen_range(0..n_accounts as u32)
            };
            if older_than.is_some_and(|t| account_stream(seed, a, end_ms).0 >= t) {
                continue;
            }
            if taken.insert(a) {
                return a;
            }
        };
        let core: Vec<u32> = (0..n_core).map(|_| pick(&mut rng, Some(start_ms - MS_PER_DAY))).collect();
        let distributors: Vec<u32> = (0..n_dist).map(|_| pick(&mut rng, None)).collect();
        let consumers: Vec<u32> = (0..pool_size).map(|_| pick(&mut rng, None)).collect();

        // Groups appear at random times over the network's life.
        let last = (end_ms - 2 * MS_PER_DAY).max(start_ms + MS_PER_HOUR);
        let mut times: Vec<i64> = (1..n_groups).map(|_| rng.gen_range(start_ms..last)).collect();
        times.push(start_ms);
        times.sort_unstable();
        // Creators: a different core member for each group while there are some left, then
        // core members again; nobody creates or administers them all.
        let mut creators = core.clone();
        creators.shuffle(&mut rng);
        let approval_p = rng.gen_range(0.05..0.4);
        let mut groups = Vec::with_capacity(n_groups);
        for (k, &created_ms) in times.iter().enumerate() {
            let creator = if k < creators.len() { creators[k] } else { *core.choose(&mut rng).expect("core") };
            let mut admins = Vec::new();
            if rng.gen_bool(0.3) {
                let a = *core.choose(&mut rng).expect("core");
                if a != creator {
                    admins.push(a);
                }
            }
            if rng.gen_bool(0.15) {
                let a = *distributors.choose(&mut rng).expect("distributors");
                if a != creator && !admins.contains(&a) {
                    admins.push(a);
                }
            }
            let taken_down_ms = (labelled[id]
                && rng.gen_bool(if camouflaged { 0.1 } else { 0.3 })
                && created_ms + 10 * MS_PER_DAY < end_ms)
                .then(|| rng.gen_range(created_ms + 5 * MS_PER_DAY..end_ms - MS_PER_HOUR));
            groups.push(NetGroup {
                slot: 0,
                created_ms,
                creator,
                admins,
                size: lognormal(&mut rng, size_median, 0.5).clamp(6.0, 900.0) as usize,
                bank_photo: (!camouflaged && rng.gen_bool(0.4 * strength))
                    .then(|| (rng.gen_range(0..bank_size(n_accounts)), rng.gen_range(0..=30))),
                coded: if !camouflaged && rng.gen_bool(0.2 + 0.6 * strength) { rng.gen_range(0.1..0.5) } else { 0.0 },
                join_approval: rng.gen_bool(approval_p),
                admins_only_add: rng.gen_bool(0.4),
                taken_down_ms,
            });
        }
        // Nobody administers every group of a network: an extra admin who would is dropped.
        for a in core.iter().chain(&distributors) {
            let everywhere = groups.iter().all(|g| g.creator == *a || g.admins.contains(a));
            if everywhere {
                if let Some(g) = groups.iter_mut().find(|g| g.creator != *a) {
                    g.admins.retain(|x| x != a);
                }
            }
        }
        nets.push(Net {
            id: id as u32,
            strength,
            camouflaged,
            labelled: labelled[id],
            start_ms,
            homes,
            core,
            distributors,
            consumers,
            groups,
            pool_share: rng.gen_range(0.4..0.85),
            dist_join: rng.gen_range(0.4..0.9),
            unit: 0,
        });
    }
    nets
}

fn plan_accounts(seed: u64, net: &Net, n_accounts: usize, end_ms: i64, out: &mut BTreeMap<u32, Planted>) {
    let mut rng = rng_for(seed, Stream::HardPlan, 1000 + net.id as u64);
    let s = net.strength;
    let loud = !net.camouflaged;
    let fresh_share = if loud { 0.1 + 0.5 * s } else { 0.03 };
    let recent_from = (end_ms - 60 * MS_PER_DAY).max(net.start_ms);
    let roles = [(Role::Operator, &net.core), (Role::Distributor, &net.distributors), (Role::Consumer, &net.consumers)];
    for (role, list) in roles {
        for &a in list {
            // Throwaways are consumers or distributors; an account older than the network
            // keeps its own creation time.
            let throwaway = role != Role::Operator && rng.gen_bool(fresh_share);
            let created_ms = throwaway.then(|| rng.gen_range(recent_from..end_ms - 2 * MS_PER_HOUR));
            let p_bank = if role == Role::Consumer { 0.03 * s } else { 0.25 * s };
            let bank_photo =
                (loud && rng.gen_bool(p_bank)).then(|| (rng.gen_range(0..bank_size(n_accounts)), rng.gen_range(0..=30)));
            let coded_about = if loud && rng.gen_bool(0.3 * s) { rng.gen_range(0.3..0.6) } else { 0.0 };
            out.insert(a, Planted { network: net.id, role, created_ms, bank_photo, coded_about });
        }
    }
}
