//! Groups: their rows, membership histories, invite links, and the activity that only makes
//! sense from a group's side (forwards into and out of it, reports on it, blocks of its
//! members). Benign groups are generated one per index in fixed chunks in parallel; each
//! violating network is generated as a whole, since its distributors move media between its
//! groups.

use std::collections::HashSet;
use std::path::Path;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::networks::{Network, PlannedGroup};
use super::sink::{
    BlockRows, Counts, ForwardRows, GroupRows, Layout, LinkRows, MembershipRows, Ms, ReportRows,
    Sink,
};
use super::vocab::{phrase, Register};
use super::{
    exp, lognormal, object_id, pdq_hex, perturb_pdq, poisson, random_pdq, rng_for, Stream, World,
    MS_PER_DAY, MS_PER_HOUR,
};

/// Kinds of benign group, each with the traits it shares with abuse noted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Family,
    Friends,
    WorkSchool,
    /// Clubs and interest communities: invite links, steady growth, churn.
    Community,
    /// Buy-and-sell: heavy image forwarding, high churn.
    Marketplace,
    /// Look-alike: filled in a burst through one link, many new accounts.
    Event,
    /// Look-alike: heavy forwarding out, frequently-forwarded media, large.
    Broadcast,
    /// Look-alike: members added en masse, reports and blocks by strangers.
    SpamRing,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Family => "family",
            Kind::Friends => "friends",
            Kind::WorkSchool => "work_school",
            Kind::Community => "community",
            Kind::Marketplace => "marketplace",
            Kind::Event => "event",
            Kind::Broadcast => "broadcast",
            Kind::SpamRing => "spam_ring",
        }
    }

    /// (share of groups, median size, log-normal sigma, min size)
    pub(crate) fn shape(self) -> (f64, f64, f64, usize) {
        match self {
            Kind::Family => (0.40, 6.0, 0.45, 3),
            Kind::Friends => (0.28, 8.0, 0.55, 3),
            Kind::WorkSchool => (0.12, 25.0, 0.6, 6),
            Kind::Community => (0.09, 60.0, 0.9, 10),
            Kind::Marketplace => (0.03, 150.0, 0.8, 20),
            Kind::Event => (0.04, 80.0, 0.7, 15),
            Kind::Broadcast => (0.025, 300.0, 0.7, 50),
            Kind::SpamRing => (0.015, 150.0, 0.6, 30),
        }
    }

    /// Probabilities of (invite link, approval | link) for a non-creator join.
    pub(crate) fn arrival(self) -> (f64, f64) {
        match self {
            Kind::Family => (0.15, 0.0),
            Kind::Friends => (0.5, 0.0),
            Kind::WorkSchool => (0.7, 0.05),
            Kind::Community => (0.85, 0.25),
            Kind::Marketplace => (0.95, 0.1),
            Kind::Event => (0.95, 0.0),
            Kind::Broadcast => (0.9, 0.05),
            Kind::SpamRing => (0.0, 0.0),
        }
    }

    /// (leave probability, mean days to leave, removal probability)
    pub(crate) fn churn(self) -> (f64, f64, f64) {
        match self {
            Kind::Family => (0.03, 200.0, 0.01),
            Kind::Friends => (0.08, 120.0, 0.02),
            Kind::WorkSchool => (0.15, 90.0, 0.03),
            Kind::Community => (0.2, 60.0, 0.04),
            Kind::Marketplace => (0.35, 30.0, 0.05),
            Kind::Event => (0.5, 10.0, 0.01),
            Kind::Broadcast => (0.15, 60.0, 0.01),
            Kind::SpamRing => (0.6, 3.0, 0.0),
        }
    }

    /// Forwards into the group and out of it (to 1:1 chats), per member per 60 days.
    pub(crate) fn forward_rates(self) -> (f64, f64) {
        match self {
            Kind::Family => (0.6, 0.3),
            Kind::Friends => (0.5, 0.3),
            Kind::WorkSchool => (0.2, 0.1),
            Kind::Community => (0.08, 0.1),
            Kind::Marketplace => (0.12, 0.1),
            Kind::Event => (0.05, 0.05),
            Kind::Broadcast => (0.04, 0.4),
            Kind::SpamRing => (0.02, 0.0),
        }
    }

    const ALL: [Kind; 8] = [
        Kind::Family,
        Kind::Friends,
        Kind::WorkSchool,
        Kind::Community,
        Kind::Marketplace,
        Kind::Event,
        Kind::Broadcast,
        Kind::SpamRing,
    ];
}

/// A benign group's kind: the first draw of its stream.
pub fn kind_of(seed: u64, idx: u32) -> Kind {
    let mut rng = rng_for(seed, Stream::Group, idx as u64);
    let mut u: f64 = rng.gen();
    for k in Kind::ALL {
        let share = k.shape().0;
        if u < share {
            return k;
        }
        u -= share;
    }
    Kind::Family
}

/// Rows produced for a range of groups.
#[derive(Default)]
pub(crate) struct Out {
    pub groups: GroupRows,
    pub memberships: MembershipRows,
    pub links: LinkRows,
    pub forwards: ForwardRows,
    pub reports: ReportRows,
    pub blocks: BlockRows,
}

/// The bounded writers of the group pass's six tables, and its forward-row counts.
pub(crate) struct GroupSinks {
    groups: Sink<GroupRows>,
    memberships: Sink<MembershipRows>,
    links: Sink<LinkRows>,
    forwards: Sink<ForwardRows>,
    reports: Sink<ReportRows>,
    blocks: Sink<BlockRows>,
    group_forward_rows: u64,
    forward_rows: u64,
}

impl GroupSinks {
    pub fn new(input: &Path) -> Self {
        let budget = 4_000_000;
        GroupSinks {
            groups: Sink::new(input, "g", Layout::Parts, 1_000_000),
            // Memberships span two years of days: a larger budget keeps `large` at a few files
            // a day.
            memberships: Sink::new(input, "g", Layout::DayPartitions, 3 * budget),
            links: Sink::new(input, "g", Layout::DayPartitions, budget),
            forwards: Sink::new(input, "g", Layout::DayPartitions, budget),
            reports: Sink::new(input, "g", Layout::DayPartitions, budget),
            blocks: Sink::new(input, "g", Layout::DayPartitions, budget),
            group_forward_rows: 0,
            forward_rows: 0,
        }
    }

    /// Moves `out`'s rows into the writers.
    pub fn extend(&mut self, out: &mut Out) -> anyhow::Result<()> {
        self.forward_rows += out.forwards.dst_group_id.len() as u64;
        self.group_forward_rows += out.forwards.dst_group_id.iter().filter(|g| g.is_some()).count() as u64;
        self.groups.extend(&mut out.groups)?;
        self.memberships.extend(&mut out.memberships)?;
        self.links.extend(&mut out.links)?;
        self.forwards.extend(&mut out.forwards)?;
        self.reports.extend(&mut out.reports)?;
        self.blocks.extend(&mut out.blocks)
    }

    /// Flushes every table; returns (forward rows into groups, all forward rows).
    pub fn finish(self, counts: &mut Counts) -> anyhow::Result<(u64, u64)> {
        self.groups.finish(counts)?;
        self.memberships.finish(counts)?;
        self.links.finish(counts)?;
        self.forwards.finish(counts)?;
        self.reports.finish(counts)?;
        self.blocks.finish(counts)?;
        Ok((self.group_forward_rows, self.forward_rows))
    }
}

struct Member {
    acc: u32,
    join: i64,
    leave: Option<i64>,
}

/// Context shared by all group generators.
struct Ctx<'a> {
    w: &'a World,
    bank: &'a [[u8; 32]],
    /// Accounts created in the last 60 days (event groups and outsiders draw from them).
    fresh: Vec<u32>,
    /// Benign broadcast groups (sources of forwarded news in other groups).
    broadcasts: Vec<u32>,
    /// Size of the pool of viral media objects.
    viral_pool: u64,
}

pub(crate) const MEDIA_BENIGN: &[(&str, u32)] =
    &[("text", 35), ("image", 25), ("video", 12), ("link", 10), ("sticker", 10), ("audio", 5), ("document", 3)];
pub(crate) const MEDIA_MARKET: &[(&str, u32)] = &[("image", 60), ("text", 20), ("video", 10), ("link", 10)];
pub(crate) const MEDIA_VIOLATING: &[(&str, u32)] = &[("image", 55), ("video", 35), ("document", 5), ("text", 5)];
const MEDIA_CAMO: &[(&str, u32)] =
    &[("image", 30), ("video", 20), ("text", 20), ("sticker", 10), ("document", 10), ("link", 10)];

pub(crate) fn weighted<T: Copy>(rng: &mut impl Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|i| i.1).sum();
    let mut x = rng.gen_range(0..total);
    for (t, w) in items {
        if x < *w {
            return *t;
        }
        x -= w;
    }
    items[0].0
}

pub(crate) fn carries_object(media: &str) -> bool {
    media != "text" && media != "link"
}

/// Media object id namespaces for [`object_id`].
const OBJ_LINK: u64 = 1;
const OBJ_ACTION: u64 = 2;
const OBJ_MEDIA: u64 = 3;
const OBJ_VIRAL: u64 = 4;
const OBJ_NET_MEDIA: u64 = 5;

impl Ctx<'_> {
    fn created(&self, acc: u32) -> i64 {
        self.w.account_created[acc as usize]
    }

    /// A member near `center` in account-index space (friend circles overlap), sometimes
    /// anyone.
    fn local_account(&self, rng: &mut impl Rng, center: u32, spread: f64) -> u32 {
        let n = self.w.n_accounts as i64;
        if rng.gen_bool(0.85) {
            let off: f64 = rand_distr::Distribution::sample(&rand_distr::StandardNormal, rng);
            ((center as i64 + (off * spread) as i64).rem_euclid(n)) as u32
        } else {
            rng.gen_range(0..n) as u32
        }
    }

    /// A viral object id drawn from a Zipf-like pool shared by all groups.
    fn viral_object(&self, rng: &mut impl Rng) -> u64 {
        let u: f64 = rng.gen();
        let rank = ((self.viral_pool as f64).powf(u) as u64).min(self.viral_pool - 1);
        object_id(self.w.seed, OBJ_VIRAL, 0, rank)
    }

    fn photo(&self, rng: &mut impl Rng, bank_photo: Option<(usize, u32)>, p_photo: f64) -> Option<String> {
        match bank_photo {
            Some((i, bits)) => Some(pdq_hex(&perturb_pdq(&self.bank[i % self.bank.len()], bits, rng))),
            None => rng.gen_bool(p_photo).then(|| pdq_hex(&random_pdq(rng))),
        }
    }
}

/// One group's membership history and links, in the making.
struct History<'a> {
    gid: u64,
    out: &'a mut Out,
    links: Vec<(u64, i64)>,
}

impl History<'_> {
    fn join(&mut self, ts: i64, acc: u64, method: &'static str, link: Option<u64>, actor: Option<u64>) {
        self.out.memberships.push(Ms(ts), self.gid, acc, "join", Some(method), link, actor);
    }

    fn event(&mut self, ts: i64, acc: u64, event: &'static str, actor: Option<u64>) {
        self.out.memberships.push(Ms(ts), self.gid, acc, event, None, None, actor);
    }

    /// The link live at `ts` (links rotate: each reset revokes the previous one).
    fn link_at(&self, ts: i64) -> Option<u64> {
        let i = self.links.partition_point(|l| l.1 <= ts);
        i.checked_sub(1).map(|i| self.links[i].0)
    }

    /// Creates links at the given times (sorted), each revoking the previous one; the last
    /// stays live unless `close_ms` is given.
    fn rotate_links(&mut self, seed: u64, times: &[i64], creators: &[u64], close_ms: Option<i64>, rng: &mut impl Rng) {
        for (k, &t) in times.iter().enumerate() {
            let id = object_id(seed, OBJ_LINK, self.gid, k as u64);
            let revoked = times.get(k + 1).copied().or(close_ms);
            let by = *creators.choose(rng).expect("a group has an admin");
            self.out.links.push(id, self.gid, by, Ms(t), revoked.map(Ms));
            self.links.push((id, t));
        }
    }
}

/// What the group pass tells the later passes.
pub(crate) struct GroupStats {
    /// Kind name of every group (benign first, then planted), for the truth and the labels.
    pub kinds: Vec<&'static str>,
    /// Creation time of every group, same order.
    pub created: Vec<i64>,
    /// Forward rows into groups, and all forward rows, written by this pass.
    pub group_forward_rows: u64,
    pub forward_rows: u64,
}

/// Writes groups, memberships, invite links and group-side activity.
pub(crate) fn write_groups(
    w: &World,
    bank: &[[u8; 32]],
    input: &Path,
    counts: &mut Counts,
) -> anyhow::Result<GroupStats> {
    let kinds: Vec<Kind> = (0..w.n_groups as u32).into_par_iter().map(|g| kind_of(w.seed, g)).collect();
    let fresh_from = w.end_ms - 60 * MS_PER_DAY;
    let ctx = Ctx {
        w,
        bank,
        fresh: (0..w.n_accounts as u32).filter(|&a| w.account_created[a as usize] >= fresh_from).collect(),
        broadcasts: (0..w.n_groups as u32).filter(|&g| kinds[g as usize] == Kind::Broadcast).collect(),
        viral_pool: (w.n_accounts as u64 / 20).max(100),
    };
    let mut sinks = GroupSinks::new(input);
    let mut created = Vec::with_capacity(w.n_groups + w.plan.groups.len());
    let mut sink_all = |out: &mut Out| -> anyhow::Result<()> {
        created.extend(out.groups.created_at.iter().map(|m| m.0));
        sinks.extend(out)
    };

    // Fixed chunks keep the output independent of the thread count.
    const CHUNK: usize = 2_000;
    let ranges: Vec<(usize, usize)> =
        (0..w.n_groups).step_by(CHUNK).map(|s| (s, (s + CHUNK).min(w.n_groups))).collect();
    for batch in ranges.chunks(16) {
        let mut outs: Vec<Out> = batch
            .par_iter()
            .map(|&(s, e)| {
                let mut out = Out::default();
                for g in s..e {
                    benign_group(&ctx, g as u32, kinds[g], &mut out);
                }
                out
            })
            .collect();
        for out in &mut outs {
            sink_all(out)?;
        }
    }
    let mut outs: Vec<Out> = w
        .plan
        .networks
        .par_iter()
        .map(|net| {
            let mut out = Out::default();
            network_groups(&ctx, net, &mut out);
            out
        })
        .collect();
    for out in &mut outs {
        sink_all(out)?;
    }
    let (group_forward_rows, forward_rows) = sinks.finish(counts)?;

    let mut names: Vec<&'static str> = kinds.iter().map(|k| k.name()).collect();
    names.extend(std::iter::repeat_n("violating", w.plan.groups.len()));
    Ok(GroupStats { kinds: names, created, group_forward_rows, forward_rows })
}

fn benign_group(ctx: &Ctx, g: u32, kind: Kind, out: &mut Out) {
    let w = ctx.w;
    let mut rng = rng_for(w.seed, Stream::Group, g as u64);
    let _kind_draw: f64 = rng.gen(); // consumed by kind_of
    let gid = w.group_id(g);
    let (_, median, sigma, min) = kind.shape();
    let mut size = (lognormal(&mut rng, median, sigma) as usize).clamp(min, 1024);
    let center = rng.gen_range(0..w.n_accounts as u32);
    let spread = (4.0 * size as f64).max(40.0);

    // The creator must exist before the group; groups are up to two years old.
    let creator = ctx.local_account(&mut rng, center, spread);
    let recent_event = kind == Kind::Event && rng.gen_bool(0.5);
    let earliest = if recent_event { w.end_ms - 60 * MS_PER_DAY } else { w.end_ms - 730 * MS_PER_DAY };
    let lo = ctx.created(creator).max(earliest) + MS_PER_HOUR;
    if lo >= w.end_ms - MS_PER_HOUR {
        size = 1; // a brand-new account's empty group
    }
    let created = rng.gen_range(lo.min(w.end_ms - MS_PER_HOUR)..w.end_ms);
    let life = (w.end_ms - created) as f64;
    let creator_id = w.account_id(creator);
    let (link_p, approval_p) = kind.arrival();
    let join_approval = link_p > 0.0 && rng.gen_bool(approval_p);
    let text = |rng: &mut ChaCha8Rng| phrase(rng, Register::Benign, 1, 4);
    let subject = Some(text(&mut rng));
    let description = rng.gen_bool(0.4).then(|| phrase(&mut rng, Register::Benign, 3, 12));
    let photo = ctx.photo(&mut rng, None, 0.55);
    let admins_only_add = Some(matches!(kind, Kind::Broadcast | Kind::Community) || rng.gen_bool(0.1));
    out.groups.push(gid, Ms(created), creator_id, subject, description, photo, admins_only_add, Some(join_approval));

    // Members and their join times.
    let mut seen = HashSet::from([creator]);
    let mut members = vec![Member { acc: creator, join: created, leave: None }];
    let event_ms = created + rng.gen_range(0..3 * MS_PER_DAY);
    let spam_sessions: Vec<i64> = (0..rng.gen_range(1..=4)).map(|_| created + (rng.gen::<f64>() * life * 0.5) as i64).collect();
    for _ in 1..size {
        let acc = if kind == Kind::SpamRing {
            rng.gen_range(0..w.n_accounts as u32)
        } else if recent_event && !ctx.fresh.is_empty() && rng.gen_bool(0.4) {
            *ctx.fresh.choose(&mut rng).expect("non-empty")
        } else {
            ctx.local_account(&mut rng, center, spread)
        };
        if !seen.insert(acc) {
            continue;
        }
        let offset = match kind {
            Kind::Family if rng.gen_bool(0.8) => exp(&mut rng, 6.0 * MS_PER_HOUR as f64),
            Kind::Friends if rng.gen_bool(0.6) => exp(&mut rng, 48.0 * MS_PER_HOUR as f64),
            Kind::WorkSchool if rng.gen_bool(0.7) => exp(&mut rng, 72.0 * MS_PER_HOUR as f64),
            Kind::Community | Kind::Marketplace | Kind::Broadcast => life * rng.gen::<f64>().powf(1.5),
            Kind::Event if rng.gen_bool(0.85) => {
                (event_ms - created) as f64 + exp(&mut rng, 2.0 * MS_PER_HOUR as f64)
            }
            Kind::SpamRing => {
                (*spam_sessions.choose(&mut rng).expect("non-empty") - created) as f64
                    + rng.gen_range(0.0..20.0 * 60_000.0)
            }
            _ => life * rng.gen::<f64>(),
        };
        let mut join = created + 60_000 + offset as i64;
        if join <= ctx.created(acc) {
            join = ctx.created(acc) + exp(&mut rng, 2.0 * MS_PER_DAY as f64) as i64;
        }
        if join >= w.end_ms {
            continue;
        }
        members.push(Member { acc, join, leave: None });
    }

    // Invite links: one at creation, reset now and then by an admin.
    let mut hist = History { gid, out, links: Vec::new() };
    let n_admins = match kind {
        Kind::Family | Kind::Friends => rng.gen_range(0..=1),
        Kind::WorkSchool | Kind::Event | Kind::SpamRing => rng.gen_range(0..=2),
        _ => rng.gen_range(1..=4),
    }
    .min(members.len() - 1);
    let admins: Vec<usize> = {
        let mut idx: Vec<usize> = (1..members.len()).collect();
        idx.shuffle(&mut rng);
        idx.truncate(n_admins);
        idx
    };
    let admin_ids: Vec<u64> = std::iter::once(creator_id)
        .chain(admins.iter().map(|&i| w.account_id(members[i].acc)))
        .collect();
    if link_p > 0.0 && members.len() > 1 {
        let resets_per_day = match kind {
            Kind::Community | Kind::Marketplace | Kind::Broadcast => 1.0 / 150.0,
            _ => 1.0 / 400.0,
        };
        let n_links = 1 + poisson(&mut rng, resets_per_day * life / MS_PER_DAY as f64) as usize;
        let mut times: Vec<i64> = (1..n_links).map(|_| rng.gen_range(created..w.end_ms)).collect();
        times.push(created + rng.gen_range(60_000..30 * 60_000));
        times.sort_unstable();
        let close = (kind == Kind::Event && rng.gen_bool(0.5)).then(|| (event_ms + 7 * MS_PER_DAY).min(w.end_ms - 1));
        hist.rotate_links(w.seed, &times, &admin_ids[..1], close, &mut rng);
    }

    members.sort_by_key(|m| m.join);
    let (leave_p, leave_days, remove_p) = kind.churn();
    for (i, m) in members.iter_mut().enumerate() {
        let acc = w.account_id(m.acc);
        if i == 0 {
            hist.join(m.join, acc, "creator", None, None);
            continue;
        }
        let by_link = hist.link_at(m.join).filter(|_| rng.gen_bool(link_p));
        match by_link {
            Some(link) if join_approval || rng.gen_bool(approval_p * 0.2) => {
                hist.join(m.join, acc, "approval", Some(link), Some(creator_id))
            }
            Some(link) => hist.join(m.join, acc, "invite_link", Some(link), None),
            None => {
                let actor = if kind == Kind::SpamRing { creator_id } else { *admin_ids.choose(&mut rng).expect("creator") };
                hist.join(m.join, acc, "added", None, Some(actor))
            }
        }
        if rng.gen_bool(leave_p) {
            let t = m.join + exp(&mut rng, leave_days * MS_PER_DAY as f64) as i64 + 1;
            if t < w.end_ms {
                m.leave = Some(t);
                hist.event(t, acc, "leave", None);
            }
        } else if rng.gen_bool(remove_p) {
            let t = m.join + exp(&mut rng, leave_days * MS_PER_DAY as f64) as i64 + 1;
            if t < w.end_ms {
                m.leave = Some(t);
                hist.event(t, acc, "removed", Some(creator_id));
            }
        }
    }
    for &i in &admins {
        let m = &members[i];
        let t = m.join + exp(&mut rng, 5.0 * MS_PER_DAY as f64) as i64 + 1;
        if t < m.leave.unwrap_or(w.end_ms) {
            hist.event(t, w.account_id(m.acc), "promote", Some(creator_id));
            if rng.gen_bool(0.05) {
                let d = t + exp(&mut rng, 30.0 * MS_PER_DAY as f64) as i64 + 1;
                if d < m.leave.unwrap_or(w.end_ms) {
                    hist.event(d, w.account_id(m.acc), "demote", Some(creator_id));
                }
            }
        }
    }
    // Noise the contract tolerates: an exact duplicate row, a leave by a non-member.
    if rng.gen_bool(0.01) {
        let m = &members[members.len() - 1];
        hist.join(m.join, w.account_id(m.acc), "added", None, Some(creator_id));
        hist.join(m.join, w.account_id(m.acc), "added", None, Some(creator_id));
    }
    if rng.gen_bool(0.002) {
        let stray = rng.gen_range(0..w.n_accounts as u32);
        if !seen.contains(&stray) {
            hist.event(w.end_ms - rng.gen_range(1..MS_PER_DAY), w.account_id(stray), "leave", None);
        }
    }

    group_activity(ctx, &mut rng, kind, gid, &members, center, spread, out);
}

/// Forwards into and out of a benign group, reports on it and blocks of its members, inside
/// the activity window.
#[allow(clippy::too_many_arguments)]
fn group_activity(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    kind: Kind,
    gid: u64,
    members: &[Member],
    center: u32,
    spread: f64,
    out: &mut Out,
) {
    let w = ctx.w;
    let (rate_in, rate_out) = kind.forward_rates();
    let n = members.len() as f64;
    let media_table = if kind == Kind::Marketplace { MEDIA_MARKET } else { MEDIA_BENIGN };
    let mut k_action = 0u64;
    // A member present at a random time in the window, if any.
    let present = |rng: &mut ChaCha8Rng| -> Option<(u32, i64)> {
        let m = members.choose(rng)?;
        let lo = m.join.max(w.window_start_ms);
        let hi = m.leave.unwrap_or(w.end_ms);
        (lo < hi).then(|| (m.acc, rng.gen_range(lo..hi)))
    };
    for dir_in in [true, false] {
        let rate = if dir_in { rate_in } else { rate_out };
        for _ in 0..poisson(rng, rate * n) {
            let Some((sender, ts)) = present(rng) else { continue };
            let media = weighted(rng, media_table);
            let viral = rng.gen_bool(if kind == Kind::Broadcast { 0.7 } else { 0.35 });
            let fp = carries_object(media).then(|| {
                if viral {
                    ctx.viral_object(rng)
                } else {
                    object_id(w.seed, OBJ_MEDIA, gid, k_action)
                }
            });
            let freq = viral && rng.gen_bool(0.4);
            let src = if dir_in {
                let from_bc = !ctx.broadcasts.is_empty() && rng.gen_bool(if viral { 0.4 } else { 0.05 });
                from_bc.then(|| w.group_id(*ctx.broadcasts.choose(rng).expect("non-empty")))
            } else {
                Some(gid)
            };
            // Most actions go to one chat; a few to several, at most five.
            let k = if freq { 1 } else { weighted(rng, &[(1u8, 80), (2, 10), (3, 5), (4, 3), (5, 2)]) };
            let action = object_id(w.seed, OBJ_ACTION, gid, k_action);
            k_action += 1;
            let mut dsts: Vec<u32> = Vec::with_capacity(k as usize);
            while dsts.len() < k as usize - usize::from(dir_in) {
                let to = ctx.local_account(rng, center, spread);
                if to != sender && !dsts.contains(&to) {
                    dsts.push(to);
                }
            }
            for d in 0..k {
                let to_group = dir_in && d == 0;
                let dst_acc = (!to_group).then(|| w.account_id(dsts[d as usize - usize::from(dir_in)]));
                out.forwards.push(
                    Ms(ts),
                    w.account_id(sender),
                    src,
                    to_group.then_some(gid),
                    dst_acc,
                    media,
                    fp,
                    freq,
                    Some(action),
                    k,
                );
            }
        }
    }
    // Reports on the group and blocks of its members.
    let (reports_per_member, blocks_per_member) = match kind {
        Kind::SpamRing => (0.05, 0.1),
        Kind::Marketplace | Kind::Event => (0.004, 0.005),
        _ => (0.0005, 0.001),
    };
    let creator = members[0].acc;
    for _ in 0..poisson(rng, reports_per_member * n) {
        let ts = rng.gen_range(w.window_start_ms..w.end_ms);
        let reporter = members.choose(rng).expect("creator").acc;
        let reason = match kind {
            Kind::SpamRing => weighted(rng, &[("spam", 70), ("scam", 25), ("other", 5)]),
            _ => weighted(rng, &[("spam", 40), ("scam", 20), ("harassment", 15), ("other", 20), ("child_safety", 5)]),
        };
        let on_account = kind == Kind::SpamRing && rng.gen_bool(0.5);
        let (tk, target) = if on_account { ("account", w.account_id(creator)) } else { ("group", gid) };
        out.reports.push(Ms(ts), w.account_id(reporter), tk, target, reason);
    }
    for _ in 0..poisson(rng, blocks_per_member * n) {
        let ts = rng.gen_range(w.window_start_ms..w.end_ms);
        let blocker = members.choose(rng).expect("creator").acc;
        let blocked = if kind == Kind::SpamRing { creator } else { members.choose(rng).expect("creator").acc };
        if blocker != blocked {
            let unknown = rng.gen_bool(if kind == Kind::SpamRing { 0.9 } else { 0.3 });
            out.blocks.push(Ms(ts), w.account_id(blocker), w.account_id(blocked), unknown);
        }
    }
}

/// Consumers per coordinated cohort.
const COHORT: usize = 8;

/// All groups of one planted network, and the network's forwarding, reports and blocks.
fn network_groups(ctx: &Ctx, net: &Network, out: &mut Out) {
    let w = ctx.w;
    let s = net.strength;
    let mut rng = rng_for(w.seed, Stream::Network, 1 + net.id as u64);
    let groups: Vec<(usize, &PlannedGroup)> = net.groups.iter().map(|&i| (i, &w.plan.groups[i])).collect();
    // Members per group, for the network's forwarding below.
    let mut rosters: Vec<(u64, i64, i64, Vec<Member>)> = Vec::new();
    for &(pi, pg) in &groups {
        let gidx = (w.n_groups + pi) as u32;
        let gid = w.group_id(gidx);
        let mut grng = rng_for(w.seed, Stream::Group, gidx as u64);
        let end = pg.taken_down_ms.unwrap_or(w.end_ms);
        let reg = if pg.violating_text { Register::Violating } else { Register::Benign };
        let subject = Some(phrase(&mut grng, reg, 1, 4));
        let description = grng.gen_bool(0.5).then(|| phrase(&mut grng, reg, 3, 12));
        let photo = ctx.photo(&mut grng, pg.bank_photo, 0.5);
        let creator_id = w.account_id(pg.creator);
        out.groups.push(
            gid,
            Ms(pg.created_ms),
            creator_id,
            subject,
            description,
            photo,
            Some(grng.gen_bool(0.6)),
            Some(pg.join_approval),
        );

        // Links: strong networks rotate them every few days to evade takedowns.
        let period_days = if net.camouflaged { grng.gen_range(20.0..60.0) } else { grng.gen_range(1.0..10.0) / (0.5 + s) };
        let mut times = vec![pg.created_ms + grng.gen_range(60_000..30 * 60_000)];
        loop {
            let t = *times.last().expect("non-empty") + (exp(&mut grng, period_days * MS_PER_DAY as f64) as i64).max(MS_PER_HOUR);
            if t >= end {
                break;
            }
            times.push(t);
        }
        let link_creators: Vec<u64> = net.operators.iter().map(|&a| w.account_id(a)).collect();
        let mut hist = History { gid, out, links: Vec::new() };
        hist.rotate_links(w.seed, &times, &link_creators, pg.taken_down_ms, &mut grng);

        // Roster: the creator, the other operators (admins), some distributors, consumers from
        // the shared pool, and a few outsiders.
        let mut seen = HashSet::from([pg.creator]);
        let mut roster: Vec<(u32, bool)> = vec![(pg.creator, true)];
        for &a in net.operators.iter().filter(|&&a| a != pg.creator) {
            if grng.gen_bool(0.8) && seen.insert(a) {
                roster.push((a, true));
            }
        }
        for &a in &net.distributors {
            if grng.gen_bool(0.7) && seen.insert(a) {
                roster.push((a, false));
            }
        }
        let from_pool = ((pg.size as f64) * grng.gen_range(0.7..0.9)) as usize;
        let mut pool = net.consumers.clone();
        pool.shuffle(&mut grng);
        for &a in pool.iter().take(from_pool) {
            if seen.insert(a) {
                roster.push((a, false));
            }
        }
        while roster.len() < pg.size {
            let a = if !ctx.fresh.is_empty() && grng.gen_bool(0.3) {
                *ctx.fresh.choose(&mut grng).expect("non-empty")
            } else {
                grng.gen_range(0..w.n_accounts as u32)
            };
            if w.plan.accounts.contains_key(&a) || !seen.insert(a) {
                continue;
            }
            roster.push((a, false));
        }

        // Join times: bursts after each link appears (strong), or spread evenly (camouflaged).
        let mut members = vec![Member { acc: pg.creator, join: pg.created_ms, leave: None }];
        hist.join(pg.created_ms, creator_id, "creator", None, None);
        let mut admins = Vec::new();
        // Cohorts of consumers move together (CopyCatch's lockstep): each cohort enters this
        // group in one wave, after its newest account exists. Camouflaged networks do not.
        let cohort_of = |a: u32| net.consumers.iter().position(|&c| c == a).map(|p| p / COHORT);
        let n_cohorts = net.consumers.len().div_ceil(COHORT);
        let waves: Vec<i64> = (0..n_cohorts)
            .map(|c| {
                let ready = net.consumers[c * COHORT..((c + 1) * COHORT).min(net.consumers.len())]
                    .iter()
                    .map(|&a| ctx.created(a))
                    .max()
                    .unwrap_or(0);
                let t = if grng.gen_bool(0.5) { pg.created_ms } else { *times.choose(&mut grng).expect("non-empty") };
                t.max(ready) + exp(&mut grng, 1.5 * MS_PER_HOUR as f64) as i64
            })
            .collect();
        let coordinated = !net.camouflaged && grng.gen_bool(0.6 + 0.4 * s);
        for &(a, is_admin) in &roster[1..] {
            let base = match cohort_of(a) {
                Some(c) if coordinated => waves[c] + exp(&mut grng, 15.0 * 60_000.0) as i64,
                _ if net.camouflaged || !grng.gen_bool(0.3 + 0.6 * s) => grng.gen_range(pg.created_ms..end),
                _ => {
                    let t = *times.choose(&mut grng).expect("non-empty");
                    t + exp(&mut grng, 3.0 * (1.2 - s) * MS_PER_HOUR as f64) as i64
                }
            };
            let mut join = base.max(pg.created_ms + 60_000);
            if join <= ctx.created(a) {
                join = ctx.created(a) + exp(&mut grng, 6.0 * MS_PER_HOUR as f64) as i64;
            }
            if join >= end {
                continue;
            }
            let acc = w.account_id(a);
            let link = hist.link_at(join);
            let by_link = link.is_some() && grng.gen_bool(if net.camouflaged { 0.6 } else { 0.8 + 0.2 * s });
            if by_link && pg.join_approval {
                let approver = *link_creators.choose(&mut grng).expect("an operator");
                hist.join(join, acc, "approval", link, Some(approver));
            } else if by_link {
                hist.join(join, acc, "invite_link", link, None);
            } else {
                hist.join(join, acc, "added", None, Some(*link_creators.choose(&mut grng).expect("an operator")));
            }
            let mut leave = None;
            let churn = if net.camouflaged { 0.1 } else { 0.15 + 0.35 * s };
            if !is_admin && grng.gen_bool(churn) {
                let t = join + exp(&mut grng, 10.0 * MS_PER_DAY as f64) as i64 + 1;
                if t < end {
                    let removed = grng.gen_bool(0.3);
                    let actor = removed.then_some(creator_id);
                    hist.event(t, acc, if removed { "removed" } else { "leave" }, actor);
                    leave = Some(t);
                }
            }
            if is_admin {
                admins.push(members.len());
            }
            members.push(Member { acc: a, join, leave });
        }
        // Admin turnover: operators promoted soon after joining, some demoted later.
        for &i in &admins {
            let m = &members[i];
            let t = m.join + exp(&mut grng, 6.0 * MS_PER_HOUR as f64) as i64 + 1;
            if t < end {
                hist.event(t, w.account_id(m.acc), "promote", Some(creator_id));
                if grng.gen_bool(0.4 * s) {
                    let d = t + exp(&mut grng, 10.0 * MS_PER_DAY as f64) as i64 + 1;
                    if d < end {
                        hist.event(d, w.account_id(m.acc), "demote", Some(creator_id));
                    }
                }
            }
        }
        rosters.push((gid, pg.created_ms, end, members));
    }
    network_activity(ctx, net, &mut rng, &rosters, out);
}

/// Distributors move media objects between the network's groups (often to the client's cap of
/// five chats at once) and to consumers 1:1; members are reported and blocked by strangers.
fn network_activity(ctx: &Ctx, net: &Network, rng: &mut ChaCha8Rng, rosters: &[(u64, i64, i64, Vec<Member>)], out: &mut Out) {
    let w = ctx.w;
    let s = net.strength;
    let media_table = if net.camouflaged { MEDIA_CAMO } else { MEDIA_VIOLATING };
    let pool = rng.gen_range(50..300u64);
    let days = ((w.end_ms - w.window_start_ms) / MS_PER_DAY) as usize;
    let mut k_action = 0u64;
    for day in 0..days {
        let day_start = w.window_start_ms + day as i64 * MS_PER_DAY;
        let live: Vec<&(u64, i64, i64, Vec<Member>)> =
            rosters.iter().filter(|r| r.1 < day_start + MS_PER_DAY && r.2 > day_start).collect();
        if live.is_empty() {
            continue;
        }
        for _ in 0..poisson(rng, 2.0 + 6.0 * s) {
            let sender = w.account_id(*net.distributors.choose(rng).expect("distributors"));
            let ts = day_start + rng.gen_range(0..MS_PER_DAY);
            let media = weighted(rng, media_table);
            let fp = carries_object(media).then(|| object_id(w.seed, OBJ_NET_MEDIA, net.id as u64, rng.gen_range(0..pool)));
            let freq = rng.gen_bool(0.05 + 0.25 * s);
            let cap_hit = !net.camouflaged && rng.gen_bool(0.3 + 0.6 * s);
            let k = if freq {
                1
            } else if cap_hit {
                5
            } else {
                rng.gen_range(1..=if net.camouflaged { 2 } else { 3 })
            };
            let src = live.choose(rng).expect("non-empty").0;
            let action = object_id(w.seed, OBJ_ACTION, net.id as u64 | 1 << 40, k_action);
            k_action += 1;
            let mut dsts: Vec<&(u64, i64, i64, Vec<Member>)> = live.clone();
            dsts.shuffle(rng);
            // Past the live groups, the rest of a batch goes to distinct consumers 1:1.
            let n_direct = (k as usize).saturating_sub(dsts.len());
            let direct: Vec<u32> = net.consumers.choose_multiple(rng, n_direct).copied().collect();
            for d in 0..k as usize {
                let (dg, da) = match dsts.get(d) {
                    Some(r) => (Some(r.0), None),
                    None => match direct.get(d - dsts.len()) {
                        Some(&c) => (None, Some(w.account_id(c))),
                        None => continue,
                    },
                };
                out.forwards.push(Ms(ts), sender, Some(src), dg, da, media, fp, freq, Some(action), k);
            }
        }
    }
    // Child-safety reports on groups and distributors; blocks of members by strangers.
    let damp = if net.camouflaged { 0.15 } else { 1.0 };
    let window_days = days as f64;
    for (gid, created, end, members) in rosters {
        let lo = (*created).max(w.window_start_ms);
        if lo >= *end {
            continue;
        }
        let frac = (*end - lo) as f64 / (window_days * MS_PER_DAY as f64);
        let n = members.len() as f64;
        for _ in 0..poisson(rng, 0.03 * s * damp * n * frac) {
            let reporter = w.account_id(rng.gen_range(0..w.n_accounts as u32));
            let reason = weighted(rng, &[("child_safety", 80), ("other", 15), ("spam", 5)]);
            out.reports.push(Ms(rng.gen_range(lo..*end)), reporter, "group", *gid, reason);
        }
        for _ in 0..poisson(rng, 0.04 * s * damp * n * frac) {
            let m = members.choose(rng).expect("creator");
            let stranger = w.account_id(rng.gen_range(0..w.n_accounts as u32));
            let t = rng.gen_range(lo..*end);
            if rng.gen_bool(0.3) {
                out.reports.push(Ms(t), stranger, "account", w.account_id(m.acc), "child_safety");
            } else {
                out.blocks.push(Ms(t), stranger, w.account_id(m.acc), rng.gen_bool(0.85));
            }
        }
    }
}
