//! One set of mechanics for every group of the `hard` world, benign or planted.
//!
//! A unit describes its groups (who created them, who administers them, who joins when, how
//! links rotate) and its forwarders; the functions here turn those descriptions into rows the
//! same way for every kind. Kinds differ only in their parameters, which overlap, so no row
//! carries a value that only one kind produces (the default generator's planted groups had
//! several: reporters who were not members, forwards by non-members, forwards from a group
//! into itself, a fixed promotion delay).

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::super::groups::{carries_object, weighted};
use super::super::sink::Ms;
use super::super::vocab::mixed_phrase;
use super::super::{exp, object_id, pdq_hex, perturb_pdq, poisson, random_pdq, MS_PER_DAY, MS_PER_HOUR};
use super::Ctx;

/// Object id namespaces for [`object_id`] (4 is the default generator's viral pool, shared).
const OBJ_LINK: u64 = 11;
const OBJ_ACTION: u64 = 12;
const OBJ_MEDIA: u64 = 13;
pub(crate) const OBJ_VIRAL: u64 = 4;
const OBJ_UNIT_MEDIA: u64 = 15;
const OBJ_HUB_ACTION: u64 = 16;

/// Something a reviewer may have looked at: a benign entity that drew a child-safety report.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Suspect {
    Group(u32, i64),
    Account(u32, i64),
}

/// Rows produced by a run of units.
#[derive(Default)]
pub(crate) struct Out {
    pub rows: super::super::groups::Out,
    /// Creation time of each group written, in slot order.
    pub created: Vec<i64>,
    pub suspects: Vec<Suspect>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    pub acc: u32,
    pub join: i64,
    pub leave: Option<i64>,
}

impl Member {
    fn present(&self, t: i64) -> bool {
        self.join <= t && self.leave.is_none_or(|l| t < l)
    }
}

/// A group photo: random with some probability, or a near-duplicate of a hash-bank entry.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Photo {
    Random(f64),
    Bank(usize, u32),
}

/// How one group comes about. Joins are given separately (account, time).
pub(crate) struct GroupSpec {
    pub slot: u32,
    pub created: i64,
    /// Activity stops here (a takedown, or the end of the data).
    pub end: i64,
    pub creator: u32,
    /// Members promoted to admin; they must be among the joins.
    pub admins: Vec<u32>,
    pub coded: f64,
    pub photo: Photo,
    pub admins_only_add: bool,
    pub join_approval: bool,
    /// Link creation times (sorted); each link revokes the previous one. Empty: no links.
    pub link_times: Vec<i64>,
    /// When the last link is revoked, if it is.
    pub links_close: Option<i64>,
    /// Probability that a join while a link is live goes through it.
    pub link_share: f64,
    /// (leave probability, mean days to leave, removal probability)
    pub churn: (f64, f64, f64),
    pub demote_p: f64,
}

/// A written group, as later passes need it.
pub(crate) struct Written {
    pub slot: u32,
    pub gid: u64,
    pub created: i64,
    pub end: i64,
    pub members: Vec<Member>,
}

impl Written {
    fn live_in_window(&self, lo: i64, hi: i64) -> bool {
        self.created < hi && self.end > lo
    }

    fn present(&self, acc: u32, t: i64) -> bool {
        t < self.end && self.members.iter().any(|m| m.acc == acc && m.present(t))
    }

    /// A member present at a random time in `[lo, hi)`, if any.
    fn present_member(&self, rng: &mut ChaCha8Rng, lo: i64, hi: i64) -> Option<(u32, i64)> {
        let m = self.members.choose(rng)?;
        let a = m.join.max(lo).max(self.created);
        let b = m.leave.unwrap_or(hi).min(hi).min(self.end);
        (a < b).then(|| (m.acc, rng.gen_range(a..b)))
    }
}

/// Link resets as a Poisson process after a first link minutes after creation.
pub(crate) fn link_times(rng: &mut impl Rng, created: i64, end: i64, mean_days: f64) -> Vec<i64> {
    let mut times = vec![created + rng.gen_range(60_000..30 * 60_000)];
    loop {
        let t = *times.last().expect("non-empty") + (exp(rng, mean_days * MS_PER_DAY as f64) as i64).max(MS_PER_HOUR);
        if t >= end {
            return times;
        }
        times.push(t);
    }
}

/// A join time for `acc` at about `t`: after the group's creation and the account's, before
/// `end`.
pub(crate) fn join_at(ctx: &Ctx, acc: u32, t: i64, created: i64, end: i64, rng: &mut impl Rng) -> Option<i64> {
    let mut j = t.max(created + 60_000);
    if j <= ctx.created(acc) {
        j = ctx.created(acc) + 60_000 + exp(rng, MS_PER_DAY as f64) as i64;
    }
    (j < end).then_some(j)
}

/// Joins of `admins` soon after the group's creation (mean delay `mean_ms`): its first members.
pub(crate) fn admin_joins(ctx: &Ctx, rng: &mut impl Rng, admins: &[u32], created: i64, end: i64, mean_ms: f64) -> Vec<(u32, i64)> {
    let mut joins = Vec::new();
    for &a in admins {
        if let Some(t) = join_at(ctx, a, created + exp(rng, mean_ms) as i64, created, end, rng) {
            joins.push((a, t));
        }
    }
    joins
}

/// Writes the group row, its links and its membership history.
pub(crate) fn write_group(ctx: &Ctx, rng: &mut ChaCha8Rng, spec: &GroupSpec, joins: &[(u32, i64)], out: &mut Out) -> Written {
    let w = ctx.w;
    let gid = w.group_id(spec.slot);
    let creator_id = w.account_id(spec.creator);
    let subject = Some(mixed_phrase(rng, spec.coded, 1, 4));
    let description = rng.gen_bool(0.45).then(|| mixed_phrase(rng, spec.coded, 3, 12));
    let photo = match spec.photo {
        Photo::Bank(i, bits) => Some(pdq_hex(&perturb_pdq(&ctx.bank[i % ctx.bank.len()], bits, rng))),
        Photo::Random(p) => rng.gen_bool(p).then(|| pdq_hex(&random_pdq(rng))),
    };
    out.rows.groups.push(
        gid,
        Ms(spec.created),
        creator_id,
        subject,
        description,
        photo,
        Some(spec.admins_only_add),
        Some(spec.join_approval),
    );
    out.created.push(spec.created);

    let admin_ids: Vec<u64> =
        std::iter::once(creator_id).chain(spec.admins.iter().map(|&a| w.account_id(a))).collect();
    // Links: each reset revokes the previous one.
    let mut links: Vec<(u64, i64, Option<i64>)> = Vec::with_capacity(spec.link_times.len());
    for (k, &t) in spec.link_times.iter().enumerate() {
        if t >= spec.end {
            break;
        }
        let id = object_id(w.seed, OBJ_LINK, gid, k as u64);
        let revoked = spec.link_times.get(k + 1).copied().filter(|&n| n < spec.end).or(spec.links_close).or(
            // A taken-down group's link dies with it.
            (spec.end < w.end_ms).then_some(spec.end),
        );
        let by = *admin_ids.choose(rng).expect("a group has an admin");
        out.rows.links.push(id, gid, by, Ms(t), revoked.map(Ms));
        links.push((id, t, revoked));
    }
    let link_at = |t: i64| {
        let i = links.partition_point(|l| l.1 <= t);
        i.checked_sub(1).map(|i| links[i]).filter(|l| l.2.is_none_or(|r| t < r)).map(|l| l.0)
    };

    let mut members = vec![Member { acc: spec.creator, join: spec.created, leave: None }];
    out.rows.memberships.push(Ms(spec.created), gid, creator_id, "join", Some("creator"), None, None);
    let mut sorted: Vec<(u32, i64)> = joins.to_vec();
    sorted.sort_by_key(|j| j.1);
    let mut seen = std::collections::HashSet::from([spec.creator]);
    let (leave_p, leave_days, remove_p) = spec.churn;
    for &(a, t) in &sorted {
        if t >= spec.end || t <= spec.created || !seen.insert(a) {
            continue;
        }
        let acc = w.account_id(a);
        match link_at(t).filter(|_| rng.gen_bool(spec.link_share)) {
            Some(link) if spec.join_approval => {
                let by = *admin_ids.choose(rng).expect("admin");
                out.rows.memberships.push(Ms(t), gid, acc, "join", Some("approval"), Some(link), Some(by))
            }
            Some(link) => out.rows.memberships.push(Ms(t), gid, acc, "join", Some("invite_link"), Some(link), None),
            None => {
                let by = *admin_ids.choose(rng).expect("admin");
                out.rows.memberships.push(Ms(t), gid, acc, "join", Some("added"), None, Some(by))
            }
        }
        let mut leave = None;
        let is_admin = spec.admins.contains(&a);
        if !is_admin && rng.gen_bool(leave_p + remove_p) {
            let at = t + exp(rng, leave_days * MS_PER_DAY as f64) as i64 + 1;
            if at < spec.end {
                let removed = rng.gen_bool(remove_p / (leave_p + remove_p));
                let by = removed.then(|| *admin_ids.choose(rng).expect("admin"));
                out.rows.memberships.push(Ms(at), gid, acc, if removed { "removed" } else { "leave" }, None, None, by);
                leave = Some(at);
            }
        }
        members.push(Member { acc: a, join: t, leave });
    }
    // Promotions a day or two after joining, the same for every kind; a few demotions.
    for &a in &spec.admins {
        let Some(m) = members.iter().find(|m| m.acc == a).copied() else { continue };
        let t = m.join + exp(rng, 1.5 * MS_PER_DAY as f64) as i64 + 1;
        if t < m.leave.unwrap_or(spec.end).min(spec.end) {
            out.rows.memberships.push(Ms(t), gid, w.account_id(a), "promote", None, None, Some(creator_id));
            if rng.gen_bool(spec.demote_p) {
                let d = t + exp(rng, 30.0 * MS_PER_DAY as f64) as i64 + 1;
                if d < spec.end {
                    out.rows.memberships.push(Ms(d), gid, w.account_id(a), "demote", None, None, Some(creator_id));
                }
            }
        }
    }
    // Noise the contract tolerates: an exact duplicate row, a leave by a non-member.
    if rng.gen_bool(0.01) {
        let m = &mut out.rows.memberships;
        let i = m.ts.len() - 1;
        let row = (m.ts[i], m.group_id[i], m.account_id[i], m.event[i], m.method[i], m.invite_link_id[i], m.actor_id[i]);
        m.push(row.0, row.1, row.2, row.3, row.4, row.5, row.6);
    }
    if rng.gen_bool(0.002) {
        let stray = rng.gen_range(0..w.n_accounts as u32);
        if !seen.contains(&stray) {
            out.rows.memberships.push(Ms(spec.end - rng.gen_range(1..MS_PER_HOUR)), gid, w.account_id(stray), "leave", None, None, None);
        }
    }
    Written { slot: spec.slot, gid, created: spec.created, end: spec.end, members }
}

/// Members' ordinary forwarding: into the group (from a 1:1 chat, a sibling group the sender
/// is in, or a broadcast) and out of it to 1:1 chats.
pub(crate) struct Chatter {
    /// Forwards into the group and out of it, per member per 60 days.
    pub rate_in: f64,
    pub rate_out: f64,
    pub media: &'static [(&'static str, u32)],
    pub viral: f64,
    /// Share of in-forwards taken from a sibling group the sender is in.
    pub from_sibling: f64,
    /// Largest batch (camouflaged networks never reach the client's cap of five).
    pub max_batch: u8,
}

pub(crate) fn chatter(ctx: &Ctx, rng: &mut ChaCha8Rng, groups: &[Written], c: &Chatter, out: &mut Out) {
    let w = ctx.w;
    let scale = (w.end_ms - w.window_start_ms) as f64 / (60 * MS_PER_DAY) as f64;
    for (gi, g) in groups.iter().enumerate() {
        if !g.live_in_window(w.window_start_ms, w.end_ms) {
            continue;
        }
        let mut k_action = 0u64;
        for dir_in in [true, false] {
            let rate = if dir_in { c.rate_in } else { c.rate_out };
            for _ in 0..poisson(rng, rate * g.members.len() as f64 * scale) {
                let Some((sender, ts)) = g.present_member(rng, w.window_start_ms, w.end_ms) else { continue };
                let media = weighted(rng, c.media);
                let viral = rng.gen_bool(c.viral);
                let fp = carries_object(media).then(|| {
                    if viral {
                        ctx.viral_object(rng)
                    } else {
                        object_id(w.seed, OBJ_MEDIA, g.gid, k_action)
                    }
                });
                let freq = viral && rng.gen_bool(0.4);
                let src = if dir_in {
                    let sib = (groups.len() > 1 && rng.gen_bool(c.from_sibling))
                        .then(|| groups.iter().enumerate().filter(|(j, s)| *j != gi && s.present(sender, ts)).map(|(_, s)| s.gid).next())
                        .flatten();
                    sib.or_else(|| {
                        (!ctx.broadcasts.is_empty() && rng.gen_bool(if viral { 0.3 } else { 0.03 }))
                            .then(|| *ctx.broadcasts.choose(rng).expect("non-empty"))
                            .filter(|&b| b != g.slot)
                            .map(|b| w.group_id(b))
                    })
                } else {
                    Some(g.gid)
                };
                let k: usize = if freq {
                    1
                } else {
                    weighted(rng, &[(1u8, 80), (2, 10), (3, 5), (4, 3), (5, 2)]).min(c.max_batch) as usize
                };
                // Out: k 1:1 chats; in: the group and k - 1 1:1 chats (co-members or friends).
                let mut dsts: Vec<u32> = Vec::with_capacity(k);
                let want = k - usize::from(dir_in);
                for _ in 0..4 * k {
                    if dsts.len() >= want {
                        break;
                    }
                    let to = if rng.gen_bool(0.7) {
                        g.members.choose(rng).expect("creator").acc
                    } else {
                        ctx.friend_of(rng, sender)
                    };
                    if to != sender && !dsts.contains(&to) {
                        dsts.push(to);
                    }
                }
                let batch = (dsts.len() + usize::from(dir_in)) as u8;
                if batch == 0 {
                    continue;
                }
                let action = object_id(w.seed, OBJ_ACTION, g.gid, k_action);
                k_action += 1;
                let sender_id = w.account_id(sender);
                if dir_in {
                    out.rows.forwards.push(Ms(ts), sender_id, src, Some(g.gid), None, media, fp, freq, Some(action), batch);
                }
                for to in dsts {
                    out.rows.forwards.push(Ms(ts), sender_id, src, None, Some(w.account_id(to)), media, fp, freq, Some(action), batch);
                }
            }
        }
    }
}

/// Hub forwarding: a unit's key accounts (distributors, organisers, sellers, publishers,
/// spammers, school admins) post objects from the unit's own media pool into several of the
/// unit's groups at once, only where they are members, and to members 1:1.
pub(crate) struct Hubs<'a> {
    pub accounts: &'a [u32],
    /// Forward actions a day while the unit has a live group in the window.
    pub per_day: f64,
    pub media: &'static [(&'static str, u32)],
    /// Distinct objects in the unit's pool.
    pub pool: u64,
    /// Share of objects taken from the platform-wide viral pool instead.
    pub viral: f64,
    /// Probability that an action goes to the client's cap of five chats.
    pub cap: f64,
    pub freq: f64,
    /// Share of actions forwarded out of one of the sender's groups (else from a 1:1 chat).
    pub from_group: f64,
    /// Whether chats past the groups are filled with members 1:1.
    pub direct: bool,
}

pub(crate) fn hub_forwards(ctx: &Ctx, rng: &mut ChaCha8Rng, unit: u64, groups: &[Written], h: &Hubs, out: &mut Out) {
    let w = ctx.w;
    if h.accounts.is_empty() || h.per_day <= 0.0 {
        return;
    }
    let days = ((w.end_ms - w.window_start_ms) / MS_PER_DAY) as usize;
    let mut k_action = 0u64;
    for day in 0..days {
        let lo = w.window_start_ms + day as i64 * MS_PER_DAY;
        if !groups.iter().any(|g| g.live_in_window(lo, lo + MS_PER_DAY)) {
            continue;
        }
        for _ in 0..poisson(rng, h.per_day) {
            let sender = *h.accounts.choose(rng).expect("non-empty");
            let ts = lo + rng.gen_range(0..MS_PER_DAY);
            let mut mine: Vec<u64> = groups.iter().filter(|g| g.present(sender, ts)).map(|g| g.gid).collect();
            if mine.is_empty() {
                continue;
            }
            mine.shuffle(rng);
            let media = weighted(rng, h.media);
            let fp = carries_object(media).then(|| {
                if rng.gen_bool(h.viral) {
                    ctx.viral_object(rng)
                } else {
                    object_id(w.seed, OBJ_UNIT_MEDIA, unit, rng.gen_range(0..h.pool.max(1)))
                }
            });
            let freq = rng.gen_bool(h.freq);
            let k = if freq {
                1
            } else if rng.gen_bool(h.cap) {
                5
            } else {
                weighted(rng, &[(1usize, 50), (2, 25), (3, 15), (4, 10)])
            };
            let src = (mine.len() > 1 && rng.gen_bool(h.from_group)).then(|| mine.pop().expect("non-empty"));
            let mut dst_groups: Vec<u64> = mine.into_iter().take(k).collect();
            let mut direct: Vec<u32> = Vec::new();
            if h.direct {
                for _ in 0..4 * k {
                    if dst_groups.len() + direct.len() >= k {
                        break;
                    }
                    let g = groups.choose(rng).expect("non-empty");
                    let to = g.members.choose(rng).expect("creator").acc;
                    if to != sender && !direct.contains(&to) {
                        direct.push(to);
                    }
                }
            }
            if dst_groups.is_empty() && direct.is_empty() {
                continue;
            }
            dst_groups.sort_unstable();
            let batch = (dst_groups.len() + direct.len()) as u8;
            let action = object_id(w.seed, OBJ_HUB_ACTION, unit, k_action);
            k_action += 1;
            let sender_id = w.account_id(sender);
            for g in dst_groups {
                out.rows.forwards.push(Ms(ts), sender_id, src, Some(g), None, media, fp, freq, Some(action), batch);
            }
            for a in direct {
                out.rows.forwards.push(Ms(ts), sender_id, src, None, Some(w.account_id(a)), media, fp, freq, Some(action), batch);
            }
        }
    }
}

/// Reports and blocks raised by a group's members.
pub(crate) struct Complaints<'a> {
    /// Reports per member in the window.
    pub reports: f64,
    pub reasons: &'static [(&'static str, u32)],
    /// Accounts reported instead of the group (and blocked), if any.
    pub targets: &'a [u32],
    pub on_account: f64,
    /// Blocks per member in the window, and the share by strangers.
    pub blocks: f64,
    pub unknown: f64,
    /// Extra child-safety reports on the unit (false ones for benign units).
    pub extra_child_safety: u32,
}

pub(crate) fn complaints(ctx: &Ctx, rng: &mut ChaCha8Rng, groups: &[Written], c: &Complaints, benign: bool, out: &mut Out) {
    let w = ctx.w;
    let window = (w.end_ms - w.window_start_ms) as f64;
    let live: Vec<&Written> = groups.iter().filter(|g| g.live_in_window(w.window_start_ms, w.end_ms)).collect();
    if live.is_empty() {
        return;
    }
    let report = |rng: &mut ChaCha8Rng, g: &Written, reason: &'static str, out: &mut Out| {
        let Some((reporter, ts)) = g.present_member(rng, w.window_start_ms, w.end_ms) else { return };
        let target = (!c.targets.is_empty() && rng.gen_bool(c.on_account)).then(|| *c.targets.choose(rng).expect("non-empty"));
        if target == Some(reporter) {
            return;
        }
        match target {
            Some(a) => {
                out.rows.reports.push(Ms(ts), w.account_id(reporter), "account", w.account_id(a), reason);
                if benign && reason == "child_safety" {
                    out.suspects.push(Suspect::Account(a, ts));
                }
            }
            None => {
                out.rows.reports.push(Ms(ts), w.account_id(reporter), "group", g.gid, reason);
                if benign && reason == "child_safety" {
                    out.suspects.push(Suspect::Group(g.slot, ts));
                }
            }
        }
    };
    for g in &live {
        let lo = g.created.max(w.window_start_ms);
        let frac = (g.end.min(w.end_ms) - lo).max(0) as f64 / window;
        let n = g.members.len() as f64;
        for _ in 0..poisson(rng, c.reports * n * frac) {
            let reason = weighted(rng, c.reasons);
            report(rng, g, reason, out);
        }
        for _ in 0..poisson(rng, c.blocks * n * frac) {
            let Some((blocker, ts)) = g.present_member(rng, w.window_start_ms, w.end_ms) else { continue };
            let blocked = if !c.targets.is_empty() && rng.gen_bool(0.7) {
                *c.targets.choose(rng).expect("non-empty")
            } else {
                g.members.choose(rng).expect("creator").acc
            };
            if blocker != blocked {
                out.rows.blocks.push(Ms(ts), w.account_id(blocker), w.account_id(blocked), rng.gen_bool(c.unknown));
            }
        }
    }
    for _ in 0..c.extra_child_safety {
        let g = live.choose(rng).expect("non-empty");
        report(rng, g, "child_safety", out);
    }
}
