//! Account features: age, joins and how, groups and links created, forwarding and fan-out,
//! media spread, reports and blocks received, profile surfaces. Definitions are in
//! `data-schemas/feature_catalog.toml`.

use crate::ingest::{ev, method, Window, MS_PER_DAY, NONE};
use crate::replay::MembershipState;
use crate::schema::{EntityKind, MediaType, ReportReason};

use super::group::{reach_of, Index};
use super::{add_photo_features, capped_actions, ratio, Context, FeatureTable, TableBuilder};

/// Accounts "seen in the window": a current member of a group, or named by any event in the
/// window (membership, link, forward, report, block).
pub fn seen_accounts(w: &Window, st: &MembershipState) -> Vec<u32> {
    let mut seen = vec![false; w.accounts.ids.len()];
    let mut mark = |a: u32| {
        if a != NONE {
            seen[a as usize] = true;
        }
    };
    st.members.iter().for_each(|m| mark(m.account));
    let in_window = |ts: i64| ts >= w.start_ms && ts < w.now_ms;
    for e in w.memberships.iter().filter(|e| in_window(e.ts)) {
        mark(e.account);
        mark(e.actor);
    }
    w.links.iter().filter(|l| in_window(l.created_ms)).for_each(|l| mark(l.created_by));
    for f in &w.forwards {
        mark(f.sender);
        mark(f.dst_account);
    }
    for r in &w.reports {
        mark(r.reporter);
        if !r.on_group {
            mark(r.target);
        }
    }
    for b in &w.blocks {
        mark(b.blocker);
        mark(b.blocked);
    }
    (0..seen.len() as u32).filter(|&a| seen[a as usize]).collect()
}

pub fn compute(w: &Window, st: &MembershipState, ctx: &Context) -> FeatureTable {
    let na = w.accounts.ids.len();
    let now = w.now_ms;
    let start = w.start_ms;
    let in_window = |ts: i64| ts >= start && ts < now;
    let events = Index::build(na, w.memberships.len(), |i| w.memberships[i].account);
    let sent = Index::build(na, w.forwards.len(), |i| w.forwards[i].sender);
    let links = Index::build(na, w.links.len(), |i| w.links[i].created_by);
    let reports = Index::build(na, w.reports.len(), |i| if w.reports[i].on_group { NONE } else { w.reports[i].target });
    let blocks = Index::build(na, w.blocks.len(), |i| w.blocks[i].blocked);
    let created = Index::build(na, w.groups.ids.len(), |g| if w.groups.known[g] { w.groups.creator[g] } else { NONE });
    // Current memberships per account.
    let member_of = Index::build(na, st.members.len(), |i| st.members[i].account);
    let reach = &ctx.media_reach;
    let acc = &w.accounts;
    let joins = |a: usize, keep: &dyn Fn(&crate::ingest::MembershipEvent) -> bool| {
        events
            .of(a)
            .iter()
            .map(|&i| &w.memberships[i as usize])
            .filter(|e| e.event == ev::JOIN && in_window(e.ts) && keep(e))
            .count() as f64
    };

    let mut t = TableBuilder::new(w, seen_accounts(w, st));
    let mem = &["memberships"];
    t.add("account_age_days", &["accounts"], |a| acc.created_ms[a].map(|c| (now - c) as f64 / MS_PER_DAY as f64));
    t.add("has_photo", &["accounts"], |a| acc.known[a].then(|| f64::from(u8::from(acc.photo[a].is_some()))));
    t.add("is_business", &["accounts"], |a| acc.is_business[a].map(|b| f64::from(u8::from(b))));
    t.add("groups_now", mem, |a| Some(member_of.of(a).len() as f64));
    t.add("admin_of_groups_now", mem, |a| Some(member_of.of(a).iter().filter(|&&i| st.members[i as usize].admin).count() as f64));
    t.add("groups_joined_window", mem, |a| Some(joins(a, &|_| true)));
    // Through a link: a self-join by link, or an approval of a join that came through one.
    t.add("groups_joined_by_link_window", mem, |a| {
        Some(joins(a, &|e| e.method == method::INVITE_LINK || (e.method == method::APPROVAL && e.link != NONE)))
    });
    t.add("groups_added_window", mem, |a| Some(joins(a, &|e| e.method == method::ADDED)));
    t.add("groups_created_total", &["groups"], |a| Some(created.of(a).len() as f64));
    t.add("groups_created_window", &["groups"], |a| {
        Some(created.of(a).iter().filter(|&&g| w.groups.created_ms[g as usize].is_some_and(in_window)).count() as f64)
    });
    t.add("links_created_window", &["invite_links"], |a| Some(links.of(a).iter().filter(|&&i| in_window(w.links[i as usize].created_ms)).count() as f64));
    let fw = &["forwards"];
    let rows = |a: usize| sent.of(a).iter().map(|&i| &w.forwards[i as usize]);
    t.add("fwd_sent_window", fw, |a| Some(sent.of(a).len() as f64));
    t.add("fwd_fanout_window", fw, |a| {
        let mut d: Vec<(bool, u32)> = rows(a)
            .map(|f| if f.dst_group != NONE { (true, f.dst_group) } else { (false, f.dst_account) })
            .collect();
        d.sort_unstable();
        d.dedup();
        Some(d.len() as f64)
    });
    t.add("fwd_image_video_share", fw, |a| {
        ratio(rows(a).filter(|f| f.media.is_some_and(MediaType::is_image_or_video)).count() as u64, sent.of(a).len() as u64)
    });
    t.add("fwd_to_groups_share", fw, |a| ratio(rows(a).filter(|f| f.dst_group != NONE).count() as u64, sent.of(a).len() as u64));
    t.add("media_multi_group_objects", fw, |a| {
        let mut v: Vec<u64> = rows(a).filter_map(|f| f.media_fp()).collect();
        v.sort_unstable();
        v.dedup();
        Some(v.iter().filter(|&&fp| reach_of(reach, fp) >= 3).count() as f64)
    });
    t.add("batch_cap_actions_window", fw, |a| Some(capped_actions(rows(a))));
    let rp = &["reports"];
    t.add("reports_received_window", rp, |a| Some(reports.of(a).len() as f64));
    t.add("child_safety_reports_received_window", rp, |a| Some(reports.of(a).iter().filter(|&&i| w.reports[i as usize].reason == Some(ReportReason::ChildSafety)).count() as f64));
    t.add("stranger_blocks_received_window", &["blocks"], |a| Some(blocks.of(a).iter().filter(|&&i| w.blocks[i as usize].unknown_contact).count() as f64));
    let hb = &["hash_bank", "accounts"];
    add_photo_features(&mut t, hb, &acc.photo, &ctx.account_photo_match);
    t.finish(EntityKind::Account, &acc.ids)
}
