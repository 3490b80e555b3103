//! Lockstep joining (CopyCatch-style): accounts that join the same groups at the same times.
//!
//! Networks spreading abusive imagery move together: when a group is taken down, the same
//! accounts reappear in its replacement within minutes of each other, again and again.
//! Joining one group at about the same time as another account is common and innocent;
//! doing it in several distinct groups with the *same* partner is not. CopyCatch (Beutel et
//! al., WWW 2013) formalises this as lockstep behaviour; here we compute its pairwise core:
//! two accounts are in lockstep on a group if they joined it within `window_ms` of each
//! other, and for each account we report the largest number of distinct groups it shares in
//! lockstep with any single other account, and how many partners reach `min_groups`.
//!
//! Cost: per group, joins are sorted by time and each join is paired with the joins that
//! follow it within the window, at most `max_partners_per_join` of them. Without that cap a
//! burst of 1000 joins inside one window would give ~500k pairs in one group; with it the
//! pair count is at most `joins × cap`, so the run is near-linear in the number of joins.
//! The cap's effect: two joins are paired only if fewer than `cap` other joins of the same
//! group fall between them in time order; in a dense burst each account is matched with its
//! `2 × cap` nearest joins in time (cap before, cap after), not with the whole burst.
//!
//! Determinism: pairs are generated per group (in parallel), encoded as `u64` keys, deduped
//! per group, then sorted globally and counted; sorting integers has a single result, so
//! the output does not depend on thread count or on the input order of the joins.

use rayon::prelude::*;

/// Join events grouped by group: group `g`'s joins are
/// `accounts[offsets[g]..offsets[g + 1]]` with their `times_ms`, sorted by time, then account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joins {
    pub offsets: Vec<u64>,
    pub accounts: Vec<u32>,
    pub times_ms: Vec<i64>,
}

impl Joins {
    /// Builds from `(group, account, join_time_ms)` events in any order. An account that
    /// joined a group several times keeps every join.
    ///
    /// Panics if a group index is `>= n_groups`.
    pub fn from_triples(n_groups: usize, mut joins: Vec<(u32, u32, i64)>) -> Joins {
        joins.par_sort_unstable_by_key(|&(g, a, t)| (g, t, a));
        let mut offsets = vec![0u64; n_groups + 1];
        for &(g, _, _) in &joins {
            assert!((g as usize) < n_groups, "group {g} out of range");
            offsets[g as usize + 1] += 1;
        }
        for g in 0..n_groups {
            offsets[g + 1] += offsets[g];
        }
        let accounts = joins.iter().map(|j| j.1).collect();
        let times_ms = joins.iter().map(|j| j.2).collect();
        Joins { offsets, accounts, times_ms }
    }

    pub fn n_groups(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Accounts and join times of group `g`, by time.
    pub fn group(&self, g: usize) -> (&[u32], &[i64]) {
        let r = self.offsets[g] as usize..self.offsets[g + 1] as usize;
        (&self.accounts[r.clone()], &self.times_ms[r])
    }
}

/// Lockstep settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LockstepParams {
    /// Two joins of a group are in lockstep if their times differ by at most this.
    pub window_ms: i64,
    /// A partner counts in [`Lockstep::partners`] if it shares at least this many groups.
    pub min_groups: u32,
    /// Each join is paired with at most this many following joins of the same group.
    pub max_partners_per_join: usize,
}

impl Default for LockstepParams {
    fn default() -> Self {
        LockstepParams { window_ms: 3_600_000, min_groups: 3, max_partners_per_join: 50 }
    }
}

/// Two accounts (`a < b`) in lockstep on `groups` distinct groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockstepPair {
    pub a: u32,
    pub b: u32,
    pub groups: u32,
}

/// Per-account lockstep scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockstep {
    /// Largest number of distinct groups the account shares in lockstep with one other
    /// account (0 if never in lockstep).
    pub max_shared_groups: Vec<u32>,
    /// Number of other accounts sharing at least `min_groups` lockstep groups with it.
    pub partners: Vec<u32>,
    /// The pairs with at least `min_groups` shared lockstep groups, by `(a, b)`: the edges
    /// to tie suspected networks together.
    pub pairs: Vec<LockstepPair>,
}

/// Appends the lockstep pairs of one group, deduplicated, as `a << 32 | b` with `a < b`.
fn group_pairs(accounts: &[u32], times: &[i64], window: i64, cap: usize) -> Vec<u64> {
    let mut out = Vec::new();
    for i in 0..accounts.len() {
        for j in i + 1..accounts.len().min(i + 1 + cap) {
            if times[j] - times[i] > window {
                break;
            }
            let (a, b) = (accounts[i], accounts[j]);
            if a != b {
                out.push((a.min(b) as u64) << 32 | a.max(b) as u64);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Lockstep scores of every account.
///
/// # Arguments
/// - `n_accounts`: number of accounts; account ids in `joins` must be below it.
/// - `joins`: join events per group (see [`Joins::from_triples`]).
/// - `params`: time window, partner threshold and per-join pair cap.
///
/// # Returns
/// Per account the largest number of groups shared in lockstep with a single other
/// account, and the number of partners with at least `min_groups` such groups; plus the
/// list of those pairs.
///
/// # Panics
/// If an account id is `>= n_accounts`, `window_ms < 0` or `max_partners_per_join == 0`.
///
/// # Complexity
/// Time O(J · cap) to generate at most `J · cap` pairs (J joins; far fewer in practice,
/// since the window ends most scans early), then O(P log P) to sort the P pairs;
/// parallel over groups and in the sort. Space O(P + n_accounts).
///
/// # Example
/// ```
/// use groupwatch::graph::lockstep::{lockstep, Joins, LockstepParams};
/// let min = 60_000;
/// // Accounts 0 and 1 join groups 0, 1, 2 a minute apart; account 2 joins group 0 a day later.
/// let mut events = vec![(0, 2, 24 * 60 * min)];
/// for g in 0..3 {
///     events.push((g, 0, g as i64 * 100 * min));
///     events.push((g, 1, g as i64 * 100 * min + min));
/// }
/// let r = lockstep(3, &Joins::from_triples(3, events), &LockstepParams::default());
/// assert_eq!(r.max_shared_groups, vec![3, 3, 0]);
/// assert_eq!(r.partners, vec![1, 1, 0]);
/// ```
pub fn lockstep(n_accounts: usize, joins: &Joins, params: &LockstepParams) -> Lockstep {
    assert!(params.window_ms >= 0, "window_ms must be non-negative");
    assert!(params.max_partners_per_join > 0, "max_partners_per_join must be positive");
    assert!(n_accounts <= u32::MAX as usize, "too many accounts");
    if let Some(&a) = joins.accounts.iter().max() {
        assert!((a as usize) < n_accounts, "account {a} out of range");
    }
    let mut keys: Vec<u64> = (0..joins.n_groups())
        .into_par_iter()
        .flat_map_iter(|g| {
            let (accounts, times) = joins.group(g);
            group_pairs(accounts, times, params.window_ms, params.max_partners_per_join)
        })
        .collect();
    keys.par_sort_unstable();
    let mut max_shared_groups = vec![0u32; n_accounts];
    let mut partners = vec![0u32; n_accounts];
    let mut pairs = Vec::new();
    for run in keys.chunk_by(|x, y| x == y) {
        let (a, b) = ((run[0] >> 32) as usize, (run[0] & 0xffff_ffff) as usize);
        let shared = run.len() as u32;
        for x in [a, b] {
            max_shared_groups[x] = max_shared_groups[x].max(shared);
        }
        if shared >= params.min_groups {
            partners[a] += 1;
            partners[b] += 1;
            pairs.push(LockstepPair { a: a as u32, b: b as u32, groups: shared });
        }
    }
    Lockstep { max_shared_groups, partners, pairs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const MIN: i64 = 60_000;
    const DAY: i64 = 24 * 60 * MIN;

    /// 2000 accounts joining 300 groups at random times over 90 days; accounts 0..8 also
    /// join groups 10, 50, 90, 130, 170 within a few minutes of each other.
    fn planted(seed: u64) -> Vec<(u32, u32, i64)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut events = Vec::new();
        for a in 0..2000u32 {
            for _ in 0..rng.gen_range(1..8) {
                events.push((rng.gen_range(0..300), a, rng.gen_range(0..90 * DAY)));
            }
        }
        for (k, g) in [10u32, 50, 90, 130, 170].into_iter().enumerate() {
            let start = (k as i64 * 11 + 3) * DAY;
            for a in 0..8u32 {
                events.push((g, a, start + rng.gen_range(0..10 * MIN)));
            }
        }
        events
    }

    #[test]
    fn finds_the_planted_lockstep_accounts() {
        let events = planted(1);
        let r = lockstep(2000, &Joins::from_triples(300, events), &LockstepParams::default());
        for a in 0..8 {
            assert_eq!(r.max_shared_groups[a], 5, "account {a}");
            assert_eq!(r.partners[a], 7, "account {a}");
        }
        let worst_other = *r.max_shared_groups[8..].iter().max().unwrap();
        assert!(worst_other <= 2, "a random account shares {worst_other} groups in lockstep");
        assert!(r.partners[8..].iter().all(|&p| p == 0));
        assert_eq!(r.pairs.len(), 28);
    }

    #[test]
    fn input_order_and_threads_do_not_matter() {
        let events = planted(2);
        let mut reversed = events.clone();
        reversed.reverse();
        let params = LockstepParams::default();
        let pool = |k| rayon::ThreadPoolBuilder::new().num_threads(k).build().unwrap();
        let a = pool(1).install(|| lockstep(2000, &Joins::from_triples(300, events), &params));
        let b = pool(3).install(|| lockstep(2000, &Joins::from_triples(300, reversed), &params));
        assert_eq!(a, b);
    }

    #[test]
    fn a_burst_is_capped() {
        // 1000 accounts join one group in the same minute.
        let events: Vec<_> = (0..1000u32).map(|a| (0, a, (a % 60) as i64 * 1000)).collect();
        let joins = Joins::from_triples(1, events);
        let (accounts, times) = joins.group(0);
        let pairs = group_pairs(accounts, times, 3_600_000, 50);
        assert!(pairs.len() <= 1000 * 50, "{}", pairs.len());
        assert!(pairs.len() >= 900 * 50);
    }

    #[test]
    fn window_is_inclusive_and_self_pairs_ignored() {
        let events = vec![(0, 0, 0), (0, 0, 5), (0, 1, 10), (0, 2, 11)];
        let r = lockstep(
            3,
            &Joins::from_triples(1, events),
            &LockstepParams { window_ms: 10, min_groups: 1, max_partners_per_join: 10 },
        );
        let got: Vec<_> = r.pairs.iter().map(|p| (p.a, p.b)).collect();
        assert_eq!(got, vec![(0, 1), (0, 2), (1, 2)]);
    }
}
