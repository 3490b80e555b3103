//! Membership state at as-of: the replay of each group's events.
//!
//! Rules (the contract tolerates noise, so none of these is an error): a `join` makes the
//! account a member (a join of a current member is counted and ignored); `leave` and `removed`
//! end membership (of a non-member: counted and ignored); the creator join makes the creator an
//! admin; `promote`/`demote` set admin rights of current members; leaving drops them.
//! Events are replayed in (time, account, event) order, which ingest's sort provides.
//!
//! Complexity: O(E) over the sorted events, with one small per-group map at a time.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::ingest::{ev, method, MembershipEvent, Window, NONE};

/// One current membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub account: u32,
    /// Time of the join that made it a member.
    pub joined_ms: i64,
    pub method: u8,
    pub link: u32,
    pub admin: bool,
}

/// Noise counted during replay, for the manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReplayStats {
    pub leaves_of_non_members: u64,
    pub joins_of_members: u64,
    pub admin_changes_of_non_members: u64,
}

/// Per group: current members (sorted by account) and the peak member count.
#[derive(Debug, Clone, Default)]
pub struct MembershipState {
    /// `offsets[g]..offsets[g + 1]` indexes `members`.
    pub offsets: Vec<usize>,
    pub members: Vec<Member>,
    pub peak: Vec<u32>,
    pub stats: ReplayStats,
}

impl MembershipState {
    pub fn of(&self, g: usize) -> &[Member] {
        &self.members[self.offsets[g]..self.offsets[g + 1]]
    }
}

/// Replays every group's history (events must be sorted by group, then time).
pub fn replay(w: &Window) -> MembershipState {
    let n = w.groups.ids.len();
    let mut st = MembershipState { offsets: Vec::with_capacity(n + 1), peak: vec![0; n], ..Default::default() };
    st.offsets.push(0);
    let events = &w.memberships;
    let mut i = 0;
    let mut current: HashMap<u32, Member> = HashMap::new();
    for g in 0..n as u32 {
        current.clear();
        let mut peak = 0usize;
        while i < events.len() && events[i].group == g {
            apply(&events[i], &mut current, &mut st.stats);
            peak = peak.max(current.len());
            i += 1;
        }
        // Events of an unknown group (NONE) sort last and are skipped.
        let mut members: Vec<Member> = current.values().copied().collect();
        members.sort_unstable_by_key(|m| m.account);
        st.members.extend(members);
        st.offsets.push(st.members.len());
        st.peak[g as usize] = peak as u32;
    }
    st
}

fn apply(e: &MembershipEvent, current: &mut HashMap<u32, Member>, stats: &mut ReplayStats) {
    if e.account == NONE {
        return;
    }
    match e.event {
        ev::JOIN => {
            if current.contains_key(&e.account) {
                stats.joins_of_members += 1;
            } else {
                current.insert(
                    e.account,
                    Member { account: e.account, joined_ms: e.ts, method: e.method, link: e.link, admin: e.method == method::CREATOR },
                );
            }
        }
        ev::LEAVE | ev::REMOVED => {
            if current.remove(&e.account).is_none() {
                stats.leaves_of_non_members += 1;
            }
        }
        ev::PROMOTE | ev::DEMOTE => match current.get_mut(&e.account) {
            Some(m) => m.admin = e.event == ev::PROMOTE,
            None => stats.admin_changes_of_non_members += 1,
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(ts: i64, account: u32, event: u8, m: u8) -> MembershipEvent {
        MembershipEvent { group: 0, ts, account, event, method: m, link: NONE, actor: NONE }
    }

    #[test]
    fn replay_follows_the_rules() {
        let mut w = Window::default();
        w.groups.ids = vec![10];
        w.memberships = vec![
            e(1, 0, ev::JOIN, method::CREATOR),
            e(2, 1, ev::JOIN, method::ADDED),
            e(3, 2, ev::JOIN, method::INVITE_LINK),
            e(4, 1, ev::PROMOTE, method::NONE),
            e(5, 2, ev::LEAVE, method::NONE),
            e(6, 2, ev::LEAVE, method::NONE),
            e(7, 1, ev::JOIN, method::ADDED),
            e(8, 3, ev::DEMOTE, method::NONE),
        ];
        let st = replay(&w);
        let m = st.of(0);
        assert_eq!(m.iter().map(|m| (m.account, m.admin)).collect::<Vec<_>>(), vec![(0, true), (1, true)]);
        assert_eq!(st.peak[0], 3);
        assert_eq!(st.stats.leaves_of_non_members, 1);
        assert_eq!(st.stats.joins_of_members, 1);
        assert_eq!(st.stats.admin_changes_of_non_members, 1);
    }
}
