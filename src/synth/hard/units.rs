//! The benign units of the `hard` world (single groups, families, decoy series) and the pass
//! that writes every unit's rows in fixed chunks.

use std::path::Path;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::super::groups::{GroupSinks, Kind, MEDIA_BENIGN, MEDIA_MARKET};
use super::super::sink::Counts;
use super::super::{exp, lognormal, poisson, rng_for, Stream, World, MS_PER_DAY, MS_PER_HOUR};
use super::group::{
    admin_joins, chatter, complaints, hub_forwards, join_at, link_times, write_group, Chatter, Complaints, GroupSpec, Hubs, Out,
    Photo, Suspect,
};
use super::plan::{OrgKind, Plan, Unit, UnitKind};
use super::{Ctx, Mix};

/// What the unit pass tells the later passes.
pub(crate) struct UnitStats {
    /// Truth kind of every slot.
    pub kinds: Vec<&'static str>,
    /// Creation time of every slot.
    pub created: Vec<i64>,
    pub group_forward_rows: u64,
    pub forward_rows: u64,
    /// Benign entities that drew child-safety reports (what reviewers look at).
    pub suspects: Vec<Suspect>,
}

pub(crate) const BENIGN_REASONS: &[(&str, u32)] =
    &[("spam", 40), ("scam", 20), ("harassment", 15), ("other", 20), ("child_safety", 5)];
const MARKET_REASONS: &[(&str, u32)] = &[("scam", 45), ("spam", 35), ("other", 15), ("child_safety", 5)];
const SPAM_REASONS: &[(&str, u32)] = &[("spam", 70), ("scam", 25), ("other", 4), ("child_safety", 1)];
const ORG_MEDIA: &[(&str, u32)] = &[("image", 40), ("document", 30), ("text", 20), ("video", 10)];
const EVENT_MEDIA: &[(&str, u32)] = &[("image", 60), ("video", 20), ("text", 15), ("sticker", 5)];
const EVENT_PHOTOS: &[(&str, u32)] = &[("image", 70), ("video", 25), ("document", 5)];
const PUBLISHER_MEDIA: &[(&str, u32)] = &[("image", 40), ("video", 30), ("link", 20), ("text", 10)];
const SPAM_MEDIA: &[(&str, u32)] = &[("link", 40), ("image", 40), ("text", 20)];

/// Writes groups, memberships, invite links and group-side activity of every unit.
pub(crate) fn write_units(w: &World, plan: &Plan, bank: &[[u8; 32]], input: &Path, counts: &mut Counts) -> anyhow::Result<UnitStats> {
    let fresh_from = w.end_ms - 60 * MS_PER_DAY;
    let mut throwaway = vec![0u64; w.n_accounts.div_ceil(64)];
    for (&a, p) in &plan.accounts {
        if p.created_ms.is_some() {
            throwaway[a as usize / 64] |= 1 << (a % 64);
        }
    }
    let broadcasts = plan
        .units
        .iter()
        .filter(|u| matches!(u.kind, UnitKind::Publisher | UnitKind::Single(Kind::Broadcast)))
        .flat_map(|u| u.first_slot..u.first_slot + u.n_groups)
        .collect();
    let ctx = Ctx {
        w,
        plan,
        bank,
        fresh: (0..w.n_accounts as u32)
            .filter(|&a| w.account_created[a as usize] >= fresh_from && !plan.accounts.contains_key(&a))
            .collect(),
        broadcasts,
        viral_pool: (w.n_accounts as u64 / 20).max(100),
        throwaway,
    };
    let mut sinks = GroupSinks::new(input);
    let mut stats = UnitStats {
        kinds: plan.units.iter().flat_map(|u| std::iter::repeat_n(u.kind.group_kind(), u.n_groups as usize)).collect(),
        created: Vec::with_capacity(plan.n_slots),
        group_forward_rows: 0,
        forward_rows: 0,
        suspects: Vec::new(),
    };

    // Fixed chunks of about 2,000 groups keep the output independent of the thread count.
    let mut ranges = Vec::new();
    let (mut start, mut acc) = (0usize, 0u32);
    for (i, u) in plan.units.iter().enumerate() {
        acc += u.n_groups;
        if acc >= 2_000 {
            ranges.push((start, i + 1));
            (start, acc) = (i + 1, 0);
        }
    }
    if start < plan.units.len() {
        ranges.push((start, plan.units.len()));
    }
    for batch in ranges.chunks(16) {
        let mut outs: Vec<Out> = batch
            .par_iter()
            .map(|&(s, e)| {
                let mut out = Out::default();
                for u in &plan.units[s..e] {
                    unit(&ctx, u, &mut out);
                }
                out
            })
            .collect();
        for out in &mut outs {
            stats.created.append(&mut out.created);
            stats.suspects.append(&mut out.suspects);
            // Rows of a chunk in id order: the position of a row says nothing of its unit.
            let g = &out.rows.groups;
            let mut idx: Vec<usize> = (0..g.group_id.len()).collect();
            idx.sort_by_key(|&i| g.group_id[i]);
            out.rows.groups = g.select(&idx);
            sinks.extend(&mut out.rows)?;
        }
    }
    (stats.group_forward_rows, stats.forward_rows) = sinks.finish(counts)?;
    Ok(stats)
}

fn unit(ctx: &Ctx, u: &Unit, out: &mut Out) {
    let mut rng = rng_for(ctx.w.seed, Stream::HardUnit, u.stream as u64);
    match u.kind {
        UnitKind::Single(k) => single(ctx, &mut rng, u, k, out),
        UnitKind::Org(o) => org(ctx, &mut rng, u, o, out),
        UnitKind::EventSeries => event_series(ctx, &mut rng, u, out),
        UnitKind::Publisher => publisher(ctx, &mut rng, u, out),
        UnitKind::MarketRing => market_ring(ctx, &mut rng, u, out),
        UnitKind::SpamOp => spam_op(ctx, &mut rng, u, out),
        UnitKind::Network(id) => super::network::network(ctx, &mut rng, &ctx.plan.networks[id as usize], out),
    }
}

/// A creation time in `[max(earliest, creator's creation + 1 h), end)`.
fn created_after(ctx: &Ctx, rng: &mut impl Rng, creator: u32, earliest: i64, latest: i64) -> i64 {
    let end = ctx.w.end_ms - MS_PER_HOUR;
    let lo = (ctx.created(creator) + MS_PER_HOUR).max(earliest).min(end - 1);
    let hi = latest.min(end).max(lo + 1);
    rng.gen_range(lo..hi)
}

/// Share of coded tokens in a benign group's text (some kinds use the "coded" ranking too).
fn coded_for(rng: &mut impl Rng, kind: Kind) -> f64 {
    let (p, lo, hi) = match kind {
        Kind::SpamRing => (0.6, 0.1, 0.4),
        Kind::Marketplace => (0.3, 0.05, 0.3),
        Kind::Event => (0.2, 0.05, 0.2),
        Kind::Broadcast => (0.1, 0.05, 0.2),
        _ => (0.03, 0.05, 0.15),
    };
    if rng.gen_bool(p) {
        rng.gen_range(lo..hi)
    } else {
        0.0
    }
}

fn admins_only_add_p(kind: Kind) -> f64 {
    match kind {
        Kind::Family | Kind::Friends => 0.05,
        Kind::WorkSchool => 0.3,
        Kind::Community => 0.6,
        Kind::Marketplace => 0.5,
        Kind::Event => 0.4,
        Kind::Broadcast => 0.9,
        Kind::SpamRing => 0.3,
    }
}

/// A group photo; look-alike kinds sometimes use a picture the hash bank holds by mistake.
fn photo_for(rng: &mut impl Rng, ctx: &Ctx, kind: Kind, p_photo: f64) -> Photo {
    let false_match = match kind {
        Kind::Event | Kind::Marketplace => 0.01,
        Kind::Broadcast => 0.02,
        _ => 0.0,
    };
    if false_match > 0.0 && rng.gen_bool(false_match) {
        Photo::Bank(rng.gen_range(0..ctx.bank.len()), rng.gen_range(8..=31))
    } else {
        Photo::Random(p_photo)
    }
}

/// `n` distinct members drawn by `f` (fewer if draws keep colliding).
fn distinct(rng: &mut ChaCha8Rng, n: usize, mut f: impl FnMut(&mut ChaCha8Rng) -> u32) -> Vec<u32> {
    let mut seen = std::collections::HashSet::new();
    let mut v = Vec::with_capacity(n);
    for _ in 0..3 * n + 10 {
        if v.len() >= n {
            break;
        }
        let a = f(rng);
        if seen.insert(a) {
            v.push(a);
        }
    }
    v
}

fn background_complaints(extra: u32) -> Complaints<'static> {
    Complaints {
        reports: 0.0005,
        reasons: BENIGN_REASONS,
        targets: &[],
        on_account: 0.0,
        blocks: 0.001,
        unknown: 0.3,
        extra_child_safety: extra,
    }
}

/// One benign group of a default kind, its members drawn from its community.
fn single(ctx: &Ctx, rng: &mut ChaCha8Rng, u: &Unit, kind: Kind, out: &mut Out) {
    let w = ctx.w;
    let (_, median, sigma, min) = kind.shape();
    let size = (lognormal(rng, median, sigma) as usize).clamp(min, 1024);
    let c = u.community;
    let creator = if kind == Kind::SpamRing && rng.gen_bool(0.6) {
        ctx.fresh_before(rng, w.end_ms - MS_PER_DAY).unwrap_or_else(|| ctx.in_community(rng, c))
    } else {
        ctx.in_community(rng, c)
    };
    let recent = (kind == Kind::Event && rng.gen_bool(0.5)) || kind == Kind::SpamRing;
    let earliest = w.end_ms - (if recent { 60 } else { 730 }) * MS_PER_DAY;
    let created = created_after(ctx, rng, creator, earliest, w.end_ms);
    let life = (w.end_ms - created) as f64;
    let mix = match kind {
        Kind::Family | Kind::Friends | Kind::WorkSchool => Mix::LOCAL,
        Kind::Community => Mix { own: 0.4, near: 0.4, reach: 6, fresh: 0.0 },
        Kind::Marketplace | Kind::Broadcast => Mix { own: 0.15, near: 0.45, reach: 10, fresh: 0.0 },
        Kind::Event if recent => Mix { own: 0.3, near: 0.3, reach: 5, fresh: 0.3 },
        Kind::Event => Mix { own: 0.4, near: 0.4, reach: 5, fresh: 0.0 },
        Kind::SpamRing => Mix { own: 0.0, near: 0.0, reach: 0, fresh: 0.0 },
    };
    let event_ms = created + rng.gen_range(0..3 * MS_PER_DAY);
    let sessions: Vec<i64> = (0..rng.gen_range(1..=4)).map(|_| created + (rng.gen::<f64>() * life * 0.5) as i64).collect();
    let mut joins = Vec::with_capacity(size);
    for _ in 1..size {
        let a = ctx.draw(rng, c, mix);
        let offset = match kind {
            Kind::Family if rng.gen_bool(0.8) => exp(rng, 6.0 * MS_PER_HOUR as f64),
            Kind::Friends if rng.gen_bool(0.6) => exp(rng, 48.0 * MS_PER_HOUR as f64),
            Kind::WorkSchool if rng.gen_bool(0.7) => exp(rng, 72.0 * MS_PER_HOUR as f64),
            Kind::Community | Kind::Marketplace | Kind::Broadcast => life * rng.gen::<f64>().powf(1.5),
            Kind::Event if rng.gen_bool(0.85) => (event_ms - created) as f64 + exp(rng, 2.0 * MS_PER_HOUR as f64),
            Kind::SpamRing => {
                (*sessions.choose(rng).expect("non-empty") - created) as f64 + rng.gen_range(0.0..20.0 * 60_000.0)
            }
            _ => life * rng.gen::<f64>(),
        };
        if let Some(t) = join_at(ctx, a, created + offset as i64, created, w.end_ms, rng) {
            joins.push((a, t));
        }
    }
    let n_admins = match kind {
        Kind::Family | Kind::Friends => rng.gen_range(0..=1),
        Kind::WorkSchool | Kind::Event | Kind::SpamRing => rng.gen_range(0..=2),
        _ => rng.gen_range(1..=4),
    };
    let admins: Vec<u32> = joins.choose_multiple(rng, n_admins).map(|j| j.0).filter(|&a| a != creator).collect();
    let (link_p, approval_p) = kind.arrival();
    let reset_days = match kind {
        Kind::Community | Kind::Marketplace | Kind::Broadcast => 150.0,
        Kind::Event => 200.0,
        _ => 400.0,
    };
    let spec = GroupSpec {
        slot: u.first_slot,
        created,
        end: w.end_ms,
        creator,
        admins,
        coded: coded_for(rng, kind),
        photo: photo_for(rng, ctx, kind, 0.55),
        admins_only_add: rng.gen_bool(admins_only_add_p(kind)),
        join_approval: link_p > 0.0 && rng.gen_bool(approval_p),
        link_times: if link_p > 0.0 { link_times(rng, created, w.end_ms, reset_days) } else { Vec::new() },
        links_close: (kind == Kind::Event && rng.gen_bool(0.5))
            .then(|| event_ms + 7 * MS_PER_DAY)
            .filter(|&t| t < w.end_ms),
        link_share: link_p,
        churn: kind.churn(),
        demote_p: 0.05,
    };
    let written = [write_group(ctx, rng, &spec, &joins, out)];
    let (rate_in, rate_out) = kind.forward_rates();
    let c_chat = Chatter {
        rate_in,
        rate_out,
        media: if kind == Kind::Marketplace { MEDIA_MARKET } else { MEDIA_BENIGN },
        viral: if kind == Kind::Broadcast { 0.7 } else { 0.35 },
        from_sibling: 0.0,
        max_batch: 5,
    };
    chatter(ctx, rng, &written, &c_chat, out);
    let look_alike = matches!(kind, Kind::Event | Kind::Marketplace | Kind::Broadcast | Kind::SpamRing);
    let extra = if look_alike && rng.gen_bool(0.05) { 1 + poisson(rng, 0.5) } else { 0 };
    let targets = [creator];
    let comp = match kind {
        Kind::SpamRing => Complaints {
            reports: 0.05,
            reasons: SPAM_REASONS,
            targets: &targets,
            on_account: 0.5,
            blocks: 0.1,
            unknown: 0.9,
            extra_child_safety: extra,
        },
        Kind::Marketplace | Kind::Event => Complaints {
            reports: 0.004,
            reasons: BENIGN_REASONS,
            targets: &targets,
            on_account: 0.2,
            blocks: 0.005,
            unknown: 0.6,
            extra_child_safety: extra,
        },
        _ => background_complaints(extra),
    };
    complaints(ctx, rng, &written, &comp, true, out);
}

/// A school, club, company or extended family: several groups with overlapping admins, link
/// creators and members, created in bursts, with announcements cross-posted to all of them.
fn org(ctx: &Ctx, rng: &mut ChaCha8Rng, u: &Unit, o: OrgKind, out: &mut Out) {
    let w = ctx.w;
    let c = u.community;
    let (median, _, _) = o.shape();
    let pool_size = (median * rng.gen_range(1.0..1.6)) as usize;
    let pool = distinct(rng, pool_size, |r| ctx.draw(r, c, Mix { own: 0.85, near: 0.15, reach: 2, fresh: 0.0 }));
    let n_adm = rng.gen_range(2..=5).min(pool.len());
    let admin_pool = &pool[..n_adm];
    let admins_ready = admin_pool.iter().map(|&a| ctx.created(a)).max().unwrap_or(0) + MS_PER_HOUR;
    let t0 = created_after(ctx, rng, admin_pool[0], admins_ready.max(w.end_ms - 730 * MS_PER_DAY), w.end_ms - 20 * MS_PER_DAY);
    let mut written = Vec::with_capacity(u.n_groups as usize);
    for k in 0..u.n_groups {
        let burst = rng.gen_bool(if o == OrgKind::School { 0.6 } else { 0.3 });
        let created = if burst {
            t0 + rng.gen_range(0..3 * MS_PER_DAY)
        } else {
            rng.gen_range(t0..(w.end_ms - MS_PER_HOUR).max(t0 + 1))
        }
        .min(w.end_ms - MS_PER_HOUR);
        let creator = *admin_pool.choose(rng).expect("admins");
        let n_adm = rng.gen_range(0..=2);
        let admins: Vec<u32> = admin_pool.choose_multiple(rng, n_adm).copied().filter(|&a| a != creator).collect();
        let size = lognormal(rng, median, 0.5).clamp(4.0, 400.0) as usize;
        let p_pool = rng.gen_range(0.6..0.95);
        let lockstep = rng.gen_bool(0.5);
        let life = (w.end_ms - created) as f64;
        let mut joins = admin_joins(ctx, rng, &admins, created, w.end_ms, MS_PER_HOUR as f64);
        joins.reserve(size);
        let others = size.saturating_sub(1 + admins.len());
        let n_pool = ((others as f64 * p_pool).round() as usize).min(pool.len());
        let mut from_pool: Vec<u32> = pool.choose_multiple(rng, n_pool).copied().collect();
        from_pool.extend((n_pool..others).map(|_| ctx.draw(rng, c, Mix::LOCAL)));
        for (i, a) in from_pool.into_iter().enumerate() {
            let from_pool = i < n_pool;
            let offset = if from_pool && lockstep {
                exp(rng, 2.0 * MS_PER_HOUR as f64)
            } else if rng.gen_bool(0.7) {
                exp(rng, 72.0 * MS_PER_HOUR as f64)
            } else {
                life * rng.gen::<f64>()
            };
            if let Some(t) = join_at(ctx, a, created + offset as i64, created, w.end_ms, rng) {
                joins.push((a, t));
            }
        }
        let spec = GroupSpec {
            slot: u.first_slot + k,
            created,
            end: w.end_ms,
            creator,
            admins,
            coded: coded_for(rng, Kind::WorkSchool),
            photo: Photo::Random(0.6),
            admins_only_add: rng.gen_bool(0.5),
            join_approval: rng.gen_bool(if o == OrgKind::Club { 0.2 } else { 0.05 }),
            link_times: link_times(rng, created, w.end_ms, if o == OrgKind::School { 90.0 } else { 300.0 }),
            links_close: None,
            link_share: 0.6,
            churn: (0.08, 120.0, 0.03),
            demote_p: 0.05,
        };
        written.push(write_group(ctx, rng, &spec, &joins, out));
    }
    let c_chat =
        Chatter { rate_in: 0.3, rate_out: 0.15, media: MEDIA_BENIGN, viral: 0.35, from_sibling: 0.3, max_batch: 5 };
    chatter(ctx, rng, &written, &c_chat, out);
    let hubs = Hubs {
        accounts: admin_pool,
        per_day: rng.gen_range(0.05..0.5),
        media: ORG_MEDIA,
        pool: rng.gen_range(20..100),
        viral: 0.05,
        cap: 0.25,
        freq: 0.02,
        from_group: 0.3,
        direct: false,
    };
    hub_forwards(ctx, rng, u.stream as u64, &written, &hubs, out);
    let extra = if rng.gen_bool(0.01) { 1 } else { 0 };
    complaints(ctx, rng, &written, &background_complaints(extra), true, out);
}

/// An organiser's event series: each event's group fills in a burst through a link, largely
/// with new accounts (many without a photo); organisers administer all the groups and forward
/// the events' photos among them. Some series draw false child-safety reports.
fn event_series(ctx: &Ctx, rng: &mut ChaCha8Rng, u: &Unit, out: &mut Out) {
    let w = ctx.w;
    let c = u.community;
    let n_org = rng.gen_range(1..=3);
    let organisers = distinct(rng, n_org, |r| ctx.draw(r, c, Mix { own: 0.7, near: 0.3, reach: 3, fresh: 0.0 }));
    let days_ago: i64 = if rng.gen_bool(0.7) { rng.gen_range(10..100) } else { rng.gen_range(100..700) };
    let start = w.end_ms - days_ago * MS_PER_DAY - rng.gen_range(0..MS_PER_DAY);
    let n = u.n_groups as usize;
    let regulars = distinct(rng, (0.3 * 80.0 * n as f64) as usize, |r| ctx.draw(r, c, Mix { own: 0.3, near: 0.4, reach: 5, fresh: 0.3 }));
    let mut t = start;
    let mut written = Vec::with_capacity(n);
    for k in 0..u.n_groups {
        let creator = if rng.gen_bool(0.7) { organisers[0] } else { *organisers.choose(rng).expect("organiser") };
        let created = t.max(ctx.created(creator) + MS_PER_HOUR).min(w.end_ms - 2 * MS_PER_HOUR);
        t += rng.gen_range(3 * MS_PER_DAY..25 * MS_PER_DAY);
        let admins: Vec<u32> = organisers.iter().copied().filter(|&a| a != creator).collect();
        let event_ms = created + rng.gen_range(0..3 * MS_PER_DAY);
        let size = lognormal(rng, 80.0, 0.7).clamp(15.0, 1024.0) as usize;
        let life = (w.end_ms - created) as f64;
        let mut joins = admin_joins(ctx, rng, &admins, created, w.end_ms, MS_PER_HOUR as f64);
        joins.reserve(size);
        for _ in 0..size.saturating_sub(1 + admins.len()) {
            let r: f64 = rng.gen();
            let a = if r < 0.3 && !regulars.is_empty() {
                *regulars.choose(rng).expect("non-empty")
            } else if r < 0.55 {
                ctx.fresh_before(rng, event_ms).unwrap_or_else(|| ctx.anyone(rng))
            } else if r < 0.85 {
                ctx.draw(rng, c, Mix { own: 0.3, near: 0.7, reach: 5, fresh: 0.0 })
            } else {
                ctx.anyone(rng)
            };
            let at = if rng.gen_bool(0.85) {
                event_ms + exp(rng, 2.0 * MS_PER_HOUR as f64) as i64
            } else {
                created + (life * rng.gen::<f64>()) as i64
            };
            if let Some(j) = join_at(ctx, a, at, created, w.end_ms, rng) {
                joins.push((a, j));
            }
        }
        let mut links = link_times(rng, created, created + MS_PER_HOUR, 1.0);
        let reset = event_ms - rng.gen_range(MS_PER_HOUR..MS_PER_DAY);
        if rng.gen_bool(0.5) && reset > links[0] && reset < w.end_ms {
            links.push(reset);
        }
        let spec = GroupSpec {
            slot: u.first_slot + k,
            created,
            end: w.end_ms,
            creator,
            admins,
            coded: coded_for(rng, Kind::Event),
            photo: photo_for(rng, ctx, Kind::Event, 0.8),
            admins_only_add: rng.gen_bool(0.4),
            join_approval: false,
            link_times: links,
            links_close: rng.gen_bool(0.6).then(|| event_ms + 7 * MS_PER_DAY).filter(|&c| c < w.end_ms),
            link_share: 0.95,
            churn: (0.5, 10.0, 0.01),
            demote_p: 0.1,
        };
        written.push(write_group(ctx, rng, &spec, &joins, out));
    }
    let c_chat =
        Chatter { rate_in: 0.15, rate_out: 0.05, media: EVENT_MEDIA, viral: 0.2, from_sibling: 0.5, max_batch: 5 };
    chatter(ctx, rng, &written, &c_chat, out);
    let hubs = Hubs {
        accounts: &organisers,
        per_day: rng.gen_range(0.5..2.5),
        media: EVENT_PHOTOS,
        pool: rng.gen_range(30..200),
        viral: 0.05,
        cap: 0.3,
        freq: 0.05,
        from_group: 0.4,
        direct: true,
    };
    hub_forwards(ctx, rng, u.stream as u64, &written, &hubs, out);
    let extra = if rng.gen_bool(0.1) { 1 + poisson(rng, 0.5) } else { 0 };
    let comp = Complaints {
        reports: 0.004,
        reasons: BENIGN_REASONS,
        targets: &organisers,
        on_account: 0.2,
        blocks: 0.01,
        unknown: 0.85,
        extra_child_safety: extra,
    };
    complaints(ctx, rng, &written, &comp, true, out);
}

/// A publisher's broadcast channels: large, shared admins, heavy forwarding of viral and
/// frequently-forwarded media into the channels and out of them.
fn publisher(ctx: &Ctx, rng: &mut ChaCha8Rng, u: &Unit, out: &mut Out) {
    let w = ctx.w;
    let c = u.community;
    let region = Mix { own: 0.2, near: 0.4, reach: 10, fresh: 0.0 };
    let n_admins = rng.gen_range(1..=3);
    let admins_all = distinct(rng, n_admins, |r| ctx.draw(r, c, region));
    let n_followers = rng.gen_range(100..400);
    let followers = distinct(rng, n_followers, |r| ctx.draw(r, c, region));
    let mut written = Vec::with_capacity(u.n_groups as usize);
    for k in 0..u.n_groups {
        let creator = *admins_all.choose(rng).expect("admins");
        let created = created_after(ctx, rng, creator, w.end_ms - 730 * MS_PER_DAY, w.end_ms - 30 * MS_PER_DAY);
        let admins: Vec<u32> = admins_all.iter().copied().filter(|&a| a != creator).collect();
        let size = lognormal(rng, 300.0, 0.7).clamp(50.0, 1024.0) as usize;
        let life = (w.end_ms - created) as f64;
        let mut joins = admin_joins(ctx, rng, &admins, created, w.end_ms, MS_PER_DAY as f64);
        joins.reserve(size);
        for _ in 0..size.saturating_sub(1 + admins.len()) {
            let a = if rng.gen_bool(0.3) { *followers.choose(rng).expect("followers") } else { ctx.draw(rng, c, region) };
            let at = created + (life * rng.gen::<f64>().powf(1.5)) as i64;
            if let Some(j) = join_at(ctx, a, at, created, w.end_ms, rng) {
                joins.push((a, j));
            }
        }
        let spec = GroupSpec {
            slot: u.first_slot + k,
            created,
            end: w.end_ms,
            creator,
            admins,
            coded: coded_for(rng, Kind::Broadcast),
            photo: photo_for(rng, ctx, Kind::Broadcast, 0.9),
            admins_only_add: rng.gen_bool(0.9),
            join_approval: rng.gen_bool(0.05),
            link_times: link_times(rng, created, w.end_ms, 60.0),
            links_close: None,
            link_share: 0.9,
            churn: Kind::Broadcast.churn(),
            demote_p: 0.05,
        };
        written.push(write_group(ctx, rng, &spec, &joins, out));
    }
    let (rate_in, rate_out) = Kind::Broadcast.forward_rates();
    let c_chat = Chatter { rate_in, rate_out, media: MEDIA_BENIGN, viral: 0.7, from_sibling: 0.1, max_batch: 5 };
    chatter(ctx, rng, &written, &c_chat, out);
    let hubs = Hubs {
        accounts: &admins_all,
        per_day: rng.gen_range(1.0..4.0),
        media: PUBLISHER_MEDIA,
        pool: rng.gen_range(100..500),
        viral: 0.6,
        cap: 0.5,
        freq: 0.3,
        from_group: 0.1,
        direct: true,
    };
    hub_forwards(ctx, rng, u.stream as u64, &written, &hubs, out);
    let extra = if rng.gen_bool(0.05) { 1 } else { 0 };
    complaints(ctx, rng, &written, &background_complaints(extra), true, out);
}

/// Sellers who run several marketplace groups between them (different creators, shared
/// admins), rotate links against spam and cross-post the same images to several groups.
fn market_ring(ctx: &Ctx, rng: &mut ChaCha8Rng, u: &Unit, out: &mut Out) {
    let w = ctx.w;
    let c = u.community;
    let region = Mix { own: 0.2, near: 0.5, reach: 10, fresh: 0.0 };
    let n_sellers = rng.gen_range(3..=10);
    let sellers = distinct(rng, n_sellers, |r| ctx.draw(r, c, Mix { own: 0.4, near: 0.6, reach: 8, fresh: 0.0 }));
    let mut written = Vec::with_capacity(u.n_groups as usize);
    for k in 0..u.n_groups {
        let creator = sellers[k as usize % sellers.len()];
        let created = created_after(ctx, rng, creator, w.end_ms - 730 * MS_PER_DAY, w.end_ms - 10 * MS_PER_DAY);
        let n_adm = rng.gen_range(0..=2);
        let admins: Vec<u32> = sellers.choose_multiple(rng, n_adm).copied().filter(|&a| a != creator).collect();
        let size = lognormal(rng, 150.0, 0.8).clamp(20.0, 1024.0) as usize;
        let life = (w.end_ms - created) as f64;
        let mut joins: Vec<(u32, i64)> = Vec::with_capacity(size);
        for &a in &sellers {
            if a != creator && (admins.contains(&a) || rng.gen_bool(0.6)) {
                let at = created + (life * rng.gen::<f64>() * 0.3) as i64;
                if let Some(j) = join_at(ctx, a, at, created, w.end_ms, rng) {
                    joins.push((a, j));
                }
            }
        }
        for _ in 0..size.saturating_sub(1 + joins.len()) {
            let a = ctx.draw(rng, c, region);
            let at = created + (life * rng.gen::<f64>().powf(1.5)) as i64;
            if let Some(j) = join_at(ctx, a, at, created, w.end_ms, rng) {
                joins.push((a, j));
            }
        }
        let spec = GroupSpec {
            slot: u.first_slot + k,
            created,
            end: w.end_ms,
            creator,
            admins,
            coded: coded_for(rng, Kind::Marketplace),
            photo: photo_for(rng, ctx, Kind::Marketplace, 0.6),
            admins_only_add: rng.gen_bool(0.5),
            join_approval: rng.gen_bool(0.1),
            // Marketplaces reset their links against spam, some every few days.
            link_times: {
                let mean_days = rng.gen_range(3.0..30.0);
                link_times(rng, created, w.end_ms, mean_days)
            },
            links_close: None,
            link_share: 0.95,
            churn: (0.35, 30.0, 0.05),
            demote_p: 0.1,
        };
        written.push(write_group(ctx, rng, &spec, &joins, out));
    }
    let (rate_in, rate_out) = Kind::Marketplace.forward_rates();
    let c_chat = Chatter { rate_in, rate_out, media: MEDIA_MARKET, viral: 0.2, from_sibling: 0.4, max_batch: 5 };
    chatter(ctx, rng, &written, &c_chat, out);
    let hubs = Hubs {
        accounts: &sellers,
        per_day: rng.gen_range(0.5..3.0),
        media: MEDIA_MARKET,
        pool: rng.gen_range(100..600),
        viral: 0.02,
        cap: 0.35,
        freq: 0.03,
        from_group: 0.3,
        direct: true,
    };
    hub_forwards(ctx, rng, u.stream as u64, &written, &hubs, out);
    let extra = if rng.gen_bool(0.06) { 1 + poisson(rng, 0.5) } else { 0 };
    let comp = Complaints {
        reports: 0.004,
        reasons: MARKET_REASONS,
        targets: &sellers,
        on_account: 0.4,
        blocks: 0.005,
        unknown: 0.7,
        extra_child_safety: extra,
    };
    complaints(ctx, rng, &written, &comp, true, out);
}

/// A spam operation: new accounts add strangers to several groups in sessions, forward links
/// and images to the cap of five chats, and collect reports and stranger blocks.
fn spam_op(ctx: &Ctx, rng: &mut ChaCha8Rng, u: &Unit, out: &mut Out) {
    let w = ctx.w;
    let n_spammers = rng.gen_range(1..=3);
    let spammers = distinct(rng, n_spammers, |r| {
        ctx.fresh_before(r, w.end_ms - 5 * MS_PER_DAY).unwrap_or_else(|| ctx.anyone(r))
    });
    let mut written = Vec::with_capacity(u.n_groups as usize);
    for k in 0..u.n_groups {
        let creator = spammers[k as usize % spammers.len()];
        let created = created_after(ctx, rng, creator, w.end_ms - 90 * MS_PER_DAY, w.end_ms - MS_PER_DAY);
        let admins: Vec<u32> = spammers.iter().copied().filter(|&a| a != creator).collect();
        let size = lognormal(rng, 150.0, 0.6).clamp(30.0, 1024.0) as usize;
        let life = (w.end_ms - created) as f64;
        let sessions: Vec<i64> = (0..rng.gen_range(1..=4)).map(|_| created + (rng.gen::<f64>() * life * 0.5) as i64).collect();
        let mut joins = admin_joins(ctx, rng, &admins, created, w.end_ms, MS_PER_HOUR as f64);
        joins.reserve(size);
        for _ in 0..size.saturating_sub(1 + admins.len()) {
            let a = ctx.anyone(rng);
            let at = *sessions.choose(rng).expect("sessions") + rng.gen_range(0..20 * 60_000);
            if let Some(j) = join_at(ctx, a, at, created, w.end_ms, rng) {
                joins.push((a, j));
            }
        }
        // Some spam groups are joined through links that are replaced every few days.
        let with_link = rng.gen_bool(0.4);
        let link_days = rng.gen_range(1.0..7.0);
        let spec = GroupSpec {
            slot: u.first_slot + k,
            created,
            end: w.end_ms,
            creator,
            admins,
            coded: coded_for(rng, Kind::SpamRing),
            photo: Photo::Random(0.5),
            admins_only_add: rng.gen_bool(0.3),
            join_approval: false,
            link_times: if with_link { link_times(rng, created, w.end_ms, link_days) } else { Vec::new() },
            links_close: None,
            link_share: 0.3,
            churn: Kind::SpamRing.churn(),
            demote_p: 0.0,
        };
        written.push(write_group(ctx, rng, &spec, &joins, out));
    }
    let c_chat = Chatter { rate_in: 0.02, rate_out: 0.0, media: MEDIA_BENIGN, viral: 0.35, from_sibling: 0.0, max_batch: 5 };
    chatter(ctx, rng, &written, &c_chat, out);
    let hubs = Hubs {
        accounts: &spammers,
        per_day: rng.gen_range(1.5..5.0),
        media: SPAM_MEDIA,
        pool: rng.gen_range(5..30),
        viral: 0.0,
        cap: 0.7,
        freq: 0.0,
        from_group: 0.2,
        direct: true,
    };
    hub_forwards(ctx, rng, u.stream as u64, &written, &hubs, out);
    let extra = if rng.gen_bool(0.1) { 1 + poisson(rng, 0.5) } else { 0 };
    let comp = Complaints {
        reports: 0.05,
        reasons: SPAM_REASONS,
        targets: &spammers,
        on_account: 0.5,
        blocks: 0.1,
        unknown: 0.9,
        extra_child_safety: extra,
    };
    complaints(ctx, rng, &written, &comp, true, out);
}
