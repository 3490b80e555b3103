//! A planted network's groups and activity in the `hard` world.
//!
//! Each group has its own creator and one or two admins; distributors sit in some of the
//! groups and forward the network's media objects between the ones they are in; consumers
//! come from a shared pool, the rest of each group are ordinary accounts of the communities
//! the network recruits from. Strength scales every loud behaviour; camouflaged networks have
//! none (no bursts, no batch-cap hits, no hash matches, no coded text, few reports).

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::super::groups::{MEDIA_BENIGN, MEDIA_VIOLATING};
use super::super::{exp, MS_PER_HOUR};
use super::group::{
    admin_joins, chatter, complaints, hub_forwards, join_at, link_times, write_group, Chatter, Complaints, GroupSpec, Hubs, Out,
    Photo,
};
use super::plan::Net;
use super::{Ctx, Mix};

const NET_CHATTER: &[(&str, u32)] = &[("image", 40), ("video", 25), ("text", 25), ("sticker", 10)];
const NET_REASONS: &[(&str, u32)] = &[("child_safety", 70), ("other", 20), ("spam", 10)];

pub(crate) fn network(ctx: &Ctx, rng: &mut ChaCha8Rng, net: &Net, out: &mut Out) {
    let w = ctx.w;
    let s = net.strength;
    let loud = !net.camouflaged;
    let mut written = Vec::with_capacity(net.groups.len());
    for ng in &net.groups {
        let created = ng.created_ms.max(ctx.created(ng.creator) + MS_PER_HOUR).min(w.end_ms - MS_PER_HOUR);
        let end = ng.taken_down_ms.unwrap_or(w.end_ms).max(created + MS_PER_HOUR);
        // Loud networks rotate links every few days; quiet and camouflaged ones as benign
        // groups do.
        let mean_days = if loud && s >= 0.2 { rng.gen_range(1.0..10.0) / (0.5 + s) } else { rng.gen_range(60.0..300.0) };
        let links = link_times(rng, created, end, mean_days);
        let life = (end - created) as f64;
        let uniform = |rng: &mut ChaCha8Rng| created + (life * rng.gen::<f64>()) as i64;
        let after_link = |rng: &mut ChaCha8Rng| *links.choose(rng).expect("a first link");

        let mut joins = admin_joins(ctx, rng, &ng.admins, created, end, 2.0 * MS_PER_HOUR as f64);
        joins.reserve(ng.size);
        let mut seen = std::collections::HashSet::from([ng.creator]);
        seen.extend(&ng.admins);
        for &a in &net.distributors {
            if rng.gen_bool(net.dist_join) && seen.insert(a) {
                let at = if rng.gen_bool(0.5) { created + exp(rng, MS_PER_HOUR as f64 * 12.0) as i64 } else { uniform(rng) };
                if let Some(t) = join_at(ctx, a, at, created, end, rng) {
                    joins.push((a, t));
                }
            }
        }
        // Consumers: coordinated cohorts (lockstep), bursts after a link appears, or spread.
        let coordinated = loud && rng.gen_bool((0.3 + 0.6 * s).min(1.0));
        let bursty = loud && rng.gen_bool((0.2 + 0.6 * s).min(1.0));
        let from_pool = ((ng.size as f64) * net.pool_share) as usize;
        let mut pool = net.consumers.clone();
        pool.shuffle(rng);
        let cohort = rng.gen_range(5..=12);
        let mut wave = 0i64;
        for (i, &a) in pool.iter().take(from_pool).enumerate() {
            if !seen.insert(a) {
                continue;
            }
            let at = if coordinated {
                if i % cohort == 0 {
                    let base = if rng.gen_bool(0.5) { created } else { after_link(rng) };
                    wave = base + exp(rng, 1.5 * MS_PER_HOUR as f64) as i64;
                }
                wave + exp(rng, 15.0 * 60_000.0) as i64
            } else if bursty && rng.gen_bool((0.3 + 0.6 * s).min(1.0)) {
                after_link(rng) + exp(rng, 3.0 * (1.2 - s) * MS_PER_HOUR as f64) as i64
            } else {
                uniform(rng)
            };
            if let Some(t) = join_at(ctx, a, at, created, end, rng) {
                joins.push((a, t));
            }
        }
        // The rest are ordinary accounts of the communities the network recruits from.
        let mut tries = 0;
        while joins.len() + 1 < ng.size && tries < 4 * ng.size {
            tries += 1;
            let r: f64 = rng.gen();
            let a = if r < 0.5 {
                {
                let home = *net.homes.choose(rng).expect("homes");
                ctx.in_community(rng, home)
            }
            } else if r < 0.85 {
                ctx.anyone(rng)
            } else {
                ctx.draw(rng, net.homes[0], Mix { own: 0.0, near: 0.0, reach: 0, fresh: 1.0 })
            };
            if ctx.is_planted(a) || !seen.insert(a) {
                continue;
            }
            if let Some(t) = join_at(ctx, a, uniform(rng), created, end, rng) {
                joins.push((a, t));
            }
        }
        let spec = GroupSpec {
            slot: ng.slot,
            created,
            end,
            creator: ng.creator,
            admins: ng.admins.clone(),
            coded: ng.coded,
            photo: match ng.bank_photo {
                Some((i, bits)) => Photo::Bank(i, bits),
                None => Photo::Random(0.55),
            },
            admins_only_add: ng.admins_only_add,
            join_approval: ng.join_approval,
            link_times: links.clone(),
            links_close: None,
            link_share: if loud { 0.8 + 0.15 * s } else { 0.6 },
            churn: if loud { (0.1 + 0.25 * s, 15.0, 0.05 + 0.1 * s) } else { (0.08, 60.0, 0.02) },
            demote_p: if loud { 0.05 + 0.2 * s } else { 0.05 },
        };
        written.push(write_group(ctx, rng, &spec, &joins, out));
    }
    let c_chat = Chatter {
        rate_in: 0.2,
        rate_out: 0.1,
        media: if loud { NET_CHATTER } else { MEDIA_BENIGN },
        viral: 0.3,
        from_sibling: 0.3,
        max_batch: if loud { 5 } else { 4 },
    };
    chatter(ctx, rng, &written, &c_chat, out);
    let mut hubs: Vec<u32> = net.distributors.clone();
    hubs.extend(net.core.iter().copied().filter(|_| rng.gen_bool(0.3)));
    let h = Hubs {
        accounts: &hubs,
        per_day: (0.3 + 8.0 * s) * if loud { 1.0 } else { 0.5 },
        media: if loud { MEDIA_VIOLATING } else { MEDIA_BENIGN },
        pool: rng.gen_range(30..300),
        viral: 0.05,
        cap: if loud { 0.1 + 0.5 * s } else { 0.0 },
        freq: 0.05 + 0.2 * s,
        from_group: 0.5,
        direct: true,
    };
    hub_forwards(ctx, rng, 1 << 40 | net.id as u64, &written, &h, out);
    let damp = if loud { 1.0 } else { 0.1 };
    let comp = Complaints {
        reports: 0.05 * s * damp,
        reasons: NET_REASONS,
        targets: &hubs,
        on_account: 0.3,
        blocks: 0.05 * s * damp,
        unknown: 0.85,
        extra_child_safety: 0,
    };
    complaints(ctx, rng, &written, &comp, false, out);
}
