//! Group features: size and growth, arrival, members, admins, churn, media flow, reports and
//! blocks, photo hash matches. Definitions are in `data-schemas/feature_catalog.toml`.

use crate::ingest::{ev, method, Window, MS_PER_DAY, MS_PER_HOUR, NONE};
use crate::replay::MembershipState;
use crate::schema::{EntityKind, MediaType, ReportReason};

use super::{add_photo_features, capped_actions, median, ratio, Context, FeatureTable, TableBuilder};

/// Row offsets of a per-entity grouping (CSR of row indices).
pub(crate) struct Index {
    offsets: Vec<usize>,
    items: Vec<u32>,
}

impl Index {
    /// Groups `items` by `key(item)` for keys in `0..n` (NONE keys dropped); items keep
    /// their order within a key.
    pub fn build(n: usize, len: usize, key: impl Fn(usize) -> u32) -> Index {
        let mut counts = vec![0usize; n + 1];
        for i in 0..len {
            let k = key(i);
            if k != NONE {
                counts[k as usize + 1] += 1;
            }
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let mut next = counts.clone();
        let mut items = vec![0u32; counts[n]];
        for i in 0..len {
            let k = key(i);
            if k != NONE {
                items[next[k as usize]] = i as u32;
                next[k as usize] += 1;
            }
        }
        Index { offsets: counts, items }
    }

    pub fn of(&self, k: usize) -> &[u32] {
        &self.items[self.offsets[k]..self.offsets[k + 1]]
    }
}

/// Distinct groups each media object touched in the window, as a sorted (fp, reach) list.
pub(crate) fn media_reach(w: &Window) -> Vec<(u64, u32)> {
    let mut pairs: Vec<(u64, u32)> = Vec::new();
    for f in &w.forwards {
        if let Some(fp) = f.media_fp() {
            for g in [f.src_group, f.dst_group] {
                if g != NONE {
                    pairs.push((fp, g));
                }
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    let mut out: Vec<(u64, u32)> = Vec::new();
    for (fp, _) in pairs {
        match out.last_mut() {
            Some(last) if last.0 == fp => last.1 += 1,
            _ => out.push((fp, 1)),
        }
    }
    out
}

pub(crate) fn reach_of(reach: &[(u64, u32)], fp: u64) -> u32 {
    reach.binary_search_by_key(&fp, |r| r.0).map(|i| reach[i].1).unwrap_or(0)
}

pub fn compute(w: &Window, st: &MembershipState, ctx: &Context) -> FeatureTable {
    let n = w.groups.ids.len();
    let now = w.now_ms;
    let start = w.start_ms;
    let in_window = |ts: i64| ts >= start && ts < now;
    let events = Index::build(n, w.memberships.len(), |i| w.memberships[i].group);
    let fwd_in = Index::build(n, w.forwards.len(), |i| w.forwards[i].dst_group);
    let fwd_out = Index::build(n, w.forwards.len(), |i| w.forwards[i].src_group);
    let links = Index::build(n, w.links.len(), |i| w.links[i].group);
    let reports = Index::build(n, w.reports.len(), |i| if w.reports[i].on_group { w.reports[i].target } else { NONE });
    let na = w.accounts.ids.len();
    let cs_on_account = {
        let mut v = vec![0u32; na];
        for r in &w.reports {
            if !r.on_group && r.reason == Some(ReportReason::ChildSafety) && r.target != NONE {
                v[r.target as usize] += 1;
            }
        }
        v
    };
    let stranger_blocks = {
        let mut v = vec![0u32; na];
        for b in &w.blocks {
            if b.unknown_contact && b.blocked != NONE {
                v[b.blocked as usize] += 1;
            }
        }
        v
    };
    let created_by = {
        let mut v = vec![0u32; na];
        for (g, &c) in w.groups.creator.iter().enumerate() {
            if c != NONE && w.groups.known[g] {
                v[c as usize] += 1;
            }
        }
        v
    };
    let reach = &ctx.media_reach;
    let joins = |g: usize, from: i64| {
        events.of(g).iter().filter(|&&i| {
            let e = &w.memberships[i as usize];
            e.event == ev::JOIN && e.ts >= from && e.ts < now
        }).count() as u64
    };
    let count_events = |g: usize, kinds: &[u8]| {
        events.of(g).iter().filter(|&&i| {
            let e = &w.memberships[i as usize];
            kinds.contains(&e.event) && in_window(e.ts)
        }).count() as u64
    };
    // Rows into or out of the group, each once (a forward from the group into itself is both).
    let fwd_rows = |g: usize| {
        let out_only = fwd_out.of(g).iter().filter(move |&&i| w.forwards[i as usize].dst_group as usize != g);
        fwd_in.of(g).iter().chain(out_only).map(|&i| &w.forwards[i as usize])
    };
    let member_accounts = |g: usize| st.of(g).iter().map(|m| m.account as usize);

    let mut t = TableBuilder::new(w, (0..n as u32).collect());
    let mem = &["memberships"];
    t.add("members_now", mem, |g| Some(st.of(g).len() as f64));
    t.add("members_peak", mem, |g| Some(st.peak[g] as f64));
    t.add("joins_1d", mem, |g| Some(joins(g, now - MS_PER_DAY) as f64));
    t.add("joins_7d", mem, |g| Some(joins(g, now - 7 * MS_PER_DAY) as f64));
    t.add("joins_window", mem, |g| Some(joins(g, start) as f64));
    t.add("join_burst_ratio", mem, |g| {
        let mut hours: Vec<i64> = events
            .of(g)
            .iter()
            .map(|&i| &w.memberships[i as usize])
            .filter(|e| e.event == ev::JOIN && in_window(e.ts))
            .map(|e| e.ts.div_euclid(MS_PER_HOUR))
            .collect();
        if hours.is_empty() {
            return None;
        }
        hours.sort_unstable();
        let max = hours.chunk_by(|a, b| a == b).map(|c| c.len()).max().unwrap_or(0);
        let mean = hours.len() as f64 / ((now - start) / MS_PER_HOUR) as f64;
        Some(max as f64 / mean)
    });
    t.add("busiest_hour_share", mem, |g| {
        let mut hours: Vec<i64> = st.of(g).iter().map(|m| m.joined_ms.div_euclid(MS_PER_HOUR)).collect();
        if hours.is_empty() {
            return None;
        }
        hours.sort_unstable();
        let max = hours.chunk_by(|a, b| a == b).map(|c| c.len()).max().unwrap_or(0);
        Some(max as f64 / hours.len() as f64)
    });
    t.add("group_age_days", &["groups"], |g| w.groups.created_ms[g].map(|c| (now - c) as f64 / MS_PER_DAY as f64));
    for (name, m) in [("join_share_invite_link", method::INVITE_LINK), ("join_share_approval", method::APPROVAL), ("join_share_added", method::ADDED)] {
        let events = &events;
        t.add(name, mem, move |g| {
            let (mut hit, mut all) = (0u64, 0u64);
            for &i in events.of(g) {
                let e = &w.memberships[i as usize];
                if e.event == ev::JOIN && e.method != method::CREATOR {
                    all += 1;
                    hit += u64::from(e.method == m);
                }
            }
            ratio(hit, all)
        });
    }
    t.add("links_used_window", mem, |g| {
        let mut l: Vec<u32> = events
            .of(g)
            .iter()
            .map(|&i| &w.memberships[i as usize])
            .filter(|e| e.event == ev::JOIN && e.link != NONE && in_window(e.ts))
            .map(|e| e.link)
            .collect();
        l.sort_unstable();
        l.dedup();
        Some(l.len() as f64)
    });
    let lk = &["invite_links"];
    t.add("links_created_window", lk, |g| Some(links.of(g).iter().filter(|&&i| in_window(w.links[i as usize].created_ms)).count() as f64));
    t.add("links_revoked_window", lk, |g| {
        Some(links.of(g).iter().filter(|&&i| w.links[i as usize].revoked_ms.is_some_and(in_window)).count() as f64)
    });
    t.add("link_median_lifetime_hours", lk, |g| {
        let mut v: Vec<f64> = links
            .of(g)
            .iter()
            .filter_map(|&i| {
                let l = &w.links[i as usize];
                l.revoked_ms.map(|r| (r - l.created_ms) as f64 / MS_PER_HOUR as f64)
            })
            .collect();
        median(&mut v)
    });
    let acc = &w.accounts;
    let member_share = |g: usize, pred: &dyn Fn(usize) -> Option<bool>| {
        let (mut hit, mut all) = (0u64, 0u64);
        for a in member_accounts(g) {
            if let Some(p) = pred(a) {
                all += 1;
                hit += u64::from(p);
            }
        }
        ratio(hit, all)
    };
    let age_days = |a: usize| acc.created_ms[a].map(|c| (now - c) as f64 / MS_PER_DAY as f64);
    t.add("members_young_7d_share", mem, |g| member_share(g, &|a| age_days(a).map(|d| d < 7.0)));
    t.add("members_young_30d_share", mem, |g| member_share(g, &|a| age_days(a).map(|d| d < 30.0)));
    t.add("members_no_photo_share", mem, |g| member_share(g, &|a| acc.known[a].then(|| acc.photo[a].is_none())));
    t.add("members_business_share", mem, |g| member_share(g, &|a| acc.is_business[a]));
    t.add("members_median_age_days", mem, |g| median(&mut member_accounts(g).filter_map(age_days).collect::<Vec<_>>()));
    t.add("admins_now", mem, |g| Some(st.of(g).iter().filter(|m| m.admin).count() as f64));
    t.add("admin_changes_window", mem, |g| Some(count_events(g, &[ev::PROMOTE, ev::DEMOTE]) as f64));
    t.add("creator_groups_created", &["groups"], |g| {
        let c = w.groups.creator[g];
        (c != NONE).then(|| created_by[c as usize] as f64)
    });
    t.add("leaves_per_join_window", mem, |g| ratio(count_events(g, &[ev::LEAVE]), joins(g, start)));
    t.add("removals_per_join_window", mem, |g| ratio(count_events(g, &[ev::REMOVED]), joins(g, start)));
    let fw = &["forwards"];
    t.add("fwd_in_window", fw, |g| Some(fwd_in.of(g).len() as f64));
    t.add("fwd_out_window", fw, |g| Some(fwd_out.of(g).len() as f64));
    t.add("fwd_in_image_video_share", fw, |g| {
        let hit = fwd_in.of(g).iter().filter(|&&i| w.forwards[i as usize].media.is_some_and(MediaType::is_image_or_video)).count();
        ratio(hit as u64, fwd_in.of(g).len() as u64)
    });
    t.add("fwd_out_image_video_share", fw, |g| {
        let hit = fwd_out.of(g).iter().filter(|&&i| w.forwards[i as usize].media.is_some_and(MediaType::is_image_or_video)).count();
        ratio(hit as u64, fwd_out.of(g).len() as u64)
    });
    t.add("fwd_frequently_forwarded_share", fw, |g| {
        let (mut hit, mut all) = (0u64, 0u64);
        for f in fwd_rows(g) {
            all += 1;
            hit += u64::from(f.frequently_forwarded);
        }
        ratio(hit, all)
    });
    let objects = |g: usize| {
        let mut v: Vec<u64> = fwd_rows(g).filter_map(|f| f.media_fp()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    t.add("media_objects_window", fw, |g| Some(objects(g).len() as f64));
    t.add("media_max_group_reach", fw, |g| objects(g).iter().map(|&fp| reach_of(reach, fp) as f64).reduce(f64::max));
    t.add("batch_cap_actions_window", fw, |g| Some(capped_actions(fwd_rows(g))));
    let rp = &["reports"];
    t.add("reports_window", rp, |g| Some(reports.of(g).len() as f64));
    t.add("child_safety_reports_window", rp, |g| Some(reports.of(g).iter().filter(|&&i| w.reports[i as usize].reason == Some(ReportReason::ChildSafety)).count() as f64));
    t.add("member_child_safety_reports_per_member", &["reports", "memberships"], |g| {
        ratio(member_accounts(g).map(|a| cs_on_account[a] as u64).sum(), st.of(g).len() as u64)
    });
    t.add("member_stranger_blocks_per_member", &["blocks", "memberships"], |g| {
        ratio(member_accounts(g).map(|a| stranger_blocks[a] as u64).sum(), st.of(g).len() as u64)
    });
    let hb = &["hash_bank", "groups"];
    add_photo_features(&mut t, hb, &w.groups.photo, &ctx.group_photo_match);
    t.finish(EntityKind::Group, &w.groups.ids)
}
