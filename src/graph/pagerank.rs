//! Personalized PageRank: how risk flows from known-violating seeds.
//!
//! A random walker follows weighted edges and, with probability `1 - damping` at each step
//! (and always from a node without out-edges), jumps back to the restart distribution. With
//! the restart on known-violating accounts and groups, a node's stationary probability
//! measures how close it sits to them through many short, heavy paths; this is the
//! "risk propagation" feature of the detection spec, on the account–group membership graph
//! ([`bipartite_seeded_pagerank`]) and on the directed group–group forwarding graph
//! ([`personalized_pagerank`]).
//!
//! Conventions follow networkx's `pagerank` exactly (dangling mass goes to the restart
//! distribution, start from the uniform vector, stop when the L1 change is below `n * tol`),
//! so the Python oracle can compare node by node. One difference in method, not in result:
//! the membership walk updates accounts and then groups from the accounts' new values
//! (Gauss–Seidel order, [`iterate_bipartite`]), which reaches the same fixed point in fewer
//! than half the iterations (43 → 17 at a million accounts).
//!
//! Determinism: each iteration *pulls* along the transposed matrix, so a node's new value is
//! a sum over its in-neighbours in ascending order, computed by one rayon task; the global
//! sums (dangling mass, L1 change) are taken over fixed blocks of nodes and then added in
//! block order. Results are bitwise identical for any thread count, and the [`Csr`] is
//! canonical (sorted, merged), so they do not depend on the input edge order either.
//!
//! Leakage: the seeds are an argument. A score used to train or evaluate a model on an
//! entity must be computed with that entity's label hidden, i.e. with seeds drawn only from
//! the other folds; run once per fold.

use rayon::prelude::*;

use super::Csr;

/// Nodes per block in the fixed-order reductions.
const BLOCK: usize = 4096;

/// The outcome of a power iteration, for callers that want to know whether it converged.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRankRun {
    /// Stationary probability per node (sums to 1 up to the tolerance).
    pub scores: Vec<f64>,
    /// Iterations performed.
    pub iterations: usize,
    /// Whether the L1 change fell below `n * tol` within `max_iter` iterations; if not,
    /// `scores` is the last iterate (networkx raises instead).
    pub converged: bool,
}

/// Checks and normalises a restart vector; `None` if it sums to zero.
fn normalised_restart(restart: &[f64], n: usize) -> Option<Vec<f64>> {
    assert_eq!(restart.len(), n, "restart vector has {} entries for {n} nodes", restart.len());
    assert!(restart.iter().all(|&r| r.is_finite() && r >= 0.0), "restart weights must be finite and non-negative");
    let total: f64 = restart.iter().sum();
    (total > 0.0).then(|| restart.iter().map(|&r| r / total).collect())
}

fn check_params(damping: f64, tol: f64) {
    assert!((0.0..1.0).contains(&damping), "damping must be in [0, 1), got {damping}");
    assert!(tol > 0.0, "tol must be positive, got {tol}");
}

fn check_weights(g: &Csr) {
    assert!(g.weights.iter().all(|&w| w.is_finite() && w >= 0.0), "edge weights must be finite and non-negative");
}

/// Where a node's in-edges are read from: one transposed matrix, or the two sides of the
/// membership graph (accounts first, then groups, with no copy of either).
#[derive(Clone, Copy)]
enum Incoming<'a> {
    One(&'a Csr),
    Bipartite { members: &'a Csr, groups_members: &'a Csr },
}

/// Lanes run together in one iteration, at most; more restart vectors run in groups of about
/// equal size. Five: at 1M accounts ten lanes (80 bytes per neighbour, two cache lines) took
/// 14.0 s where two runs of five took 11.5 s.
const MAX_LANES: usize = 5;

/// The shared power iteration, over one or more restart vectors at once (*lanes*: one per
/// cross-validation pass, so each iteration reads the graph once for every pass).
/// `inv_strength[u]` is 0 for dangling nodes (no out-weight).
///
/// Each lane is computed exactly as if it ran alone (the same additions in the same order,
/// and a lane stops changing at the iteration it converges), so one run of `k` lanes gives
/// the same bits as `k` runs of one. The lane count is a compile-time constant inside
/// ([`iterate`]), which lets the compiler keep a node's lanes in registers and vectorise the
/// pull; this dispatch picks the instance.
fn power_iteration(p: &[Vec<f64>], inv_strength: &[f64], damping: f64, tol: f64, max_iter: usize, incoming: Incoming) -> Vec<PageRankRun> {
    let mut runs = Vec::with_capacity(p.len());
    let width = p.len().div_ceil(p.len().div_ceil(MAX_LANES).max(1)).max(1);
    for group in p.chunks(width) {
        macro_rules! dispatch {
            ($($l:literal)*) => {
                match (group.len(), incoming) {
                    $(($l, Incoming::One(g)) => iterate::<$l>(group, inv_strength, damping, tol, max_iter, g),)*
                    $(($l, Incoming::Bipartite { members, groups_members }) => iterate_bipartite::<$l>(group, inv_strength, damping, tol, max_iter, members, groups_members),)*
                    _ => unreachable!("chunks of at most MAX_LANES"),
                }
            };
        }
        runs.extend(dispatch!(1 2 3 4 5));
    }
    runs
}

/// [`power_iteration`] for exactly `L` lanes, stored node-major (`x[u][l]`) so that a pull
/// reads each neighbour's lanes once.
fn iterate<const L: usize>(p: &[Vec<f64>], inv_strength: &[f64], damping: f64, tol: f64, max_iter: usize, incoming: &Csr) -> Vec<PageRankRun> {
    let n = inv_strength.len();
    let mut runs: Vec<PageRankRun> = (0..L).map(|_| PageRankRun { scores: Vec::new(), iterations: max_iter, converged: false }).collect();
    let mut x = vec![[1.0 / n as f64; L]; n];
    let mut y = vec![[0.0; L]; n];
    let mut next = vec![[0.0; L]; n];
    let mut active = [true; L];
    for it in 1..=max_iter {
        let dangling = lane_sums(n, L, |u, l| if inv_strength[u] == 0.0 { x[u][l] } else { 0.0 });
        y.par_iter_mut().zip(&x).enumerate().for_each(|(u, (yu, xu))| {
            for l in 0..L {
                yu[l] = xu[l] * inv_strength[u];
            }
        });
        next.par_iter_mut().zip(&x).enumerate().for_each(|(v, (nv, xv))| {
            let mut acc = [0.0; L];
            pull_row(incoming, v, &y, &mut acc);
            for l in 0..L {
                let pv = p[l][v];
                nv[l] = if active[l] { damping * (acc[l] + dangling[l] * pv) + (1.0 - damping) * pv } else { xv[l] };
            }
        });
        let err = lane_sums(n, L, |u, l| (next[u][l] - x[u][l]).abs());
        std::mem::swap(&mut x, &mut next);
        if !settle(&err, n as f64 * tol, it, &mut active, &mut runs) {
            break;
        }
    }
    lane_scores(&x, &mut runs);
    runs
}

/// The bipartite walk in Gauss–Seidel order, for `L` lanes: each iteration first updates every
/// account from the groups' current values, then every group from the accounts' *new* ones.
/// Every edge joins an account to a group, so the plain (Jacobi) iteration moves the error
/// one side at a time and contracts it by `damping` per iteration; this order takes both
/// half-steps in one, `damping²` per iteration, for the same reads of the graph. The fixed
/// point is the same PageRank (at it both updates are the Jacobi equations); the iterate
/// stops when an iteration's L1 change is below `n * tol`, as in [`iterate`].
///
/// Lanes are independent (a lane's additions are the same whatever runs beside it, and it
/// stops changing at the iteration it converges), and every sum runs in a fixed order, so
/// the result does not depend on the thread count or on the other lanes.
fn iterate_bipartite<const L: usize>(p: &[Vec<f64>], inv_strength: &[f64], damping: f64, tol: f64, max_iter: usize, members: &Csr, groups_members: &Csr) -> Vec<PageRankRun> {
    let (na, n) = (members.n_rows(), inv_strength.len());
    let mut runs: Vec<PageRankRun> = (0..L).map(|_| PageRankRun { scores: Vec::new(), iterations: max_iter, converged: false }).collect();
    let mut x = vec![[1.0 / n as f64; L]; n];
    // `y[u] = x[u] * inv_strength[u]`: what a neighbour pulls, kept in step with `x`.
    let mut y: Vec<[f64; L]> = x.iter().zip(inv_strength).map(|(xu, &s)| xu.map(|v| v * s)).collect();
    let mut active = [true; L];
    // One side's update: new values from the other side's `y`, the side's own `y` refreshed,
    // and per block of nodes the L1 change of each lane (added in block order by the caller).
    let update = |start: usize, x: &mut [[f64; L]], y: &mut [[f64; L]], other: &[[f64; L]], incoming: &Csr, dangling: &[f64; L], active: &[bool; L]| -> Vec<[f64; L]> {
        x.par_chunks_mut(BLOCK)
            .zip(y.par_chunks_mut(BLOCK))
            .enumerate()
            .map(|(b, (xs, ys))| {
                let mut err = [0.0; L];
                for (i, (xv, yv)) in xs.iter_mut().zip(ys.iter_mut()).enumerate() {
                    let v = start + b * BLOCK + i;
                    let mut acc = [0.0; L];
                    pull_row(incoming, v - start, other, &mut acc);
                    for l in 0..L {
                        if active[l] {
                            let pv = p[l][v];
                            let new = damping * (acc[l] + dangling[l] * pv) + (1.0 - damping) * pv;
                            err[l] += (new - xv[l]).abs();
                            xv[l] = new;
                            yv[l] = new * inv_strength[v];
                        }
                    }
                }
                err
            })
            .collect()
    };
    // Nodes without edges send their mass to the restart; summed in node order.
    let dangling_nodes: Vec<usize> = (0..n).filter(|&u| inv_strength[u] == 0.0).collect();
    let dangling_of = |x: &[[f64; L]]| {
        let mut d = [0.0; L];
        for &u in &dangling_nodes {
            for l in 0..L {
                d[l] += x[u][l];
            }
        }
        d
    };
    for it in 1..=max_iter {
        let mut err = [0.0; L];
        let dangling = dangling_of(&x);
        let (ya, yg) = y.split_at_mut(na);
        let blocks = update(0, &mut x[..na], ya, yg, members, &dangling, &active);
        let dangling = dangling_of(&x);
        let blocks_g = update(na, &mut x[na..], yg, ya, groups_members, &dangling, &active);
        for e in blocks.iter().chain(&blocks_g) {
            for l in 0..L {
                err[l] += e[l];
            }
        }
        if !settle(&err, n as f64 * tol, it, &mut active, &mut runs) {
            break;
        }
    }
    lane_scores(&x, &mut runs);
    runs
}

/// Marks each active lane whose iteration `it` changed it by less than `limit` (L1) as
/// converged there; whether any lane is still active.
fn settle<const L: usize>(err: &[f64], limit: f64, it: usize, active: &mut [bool; L], runs: &mut [PageRankRun]) -> bool {
    for l in 0..L {
        if active[l] && err[l] < limit {
            active[l] = false;
            runs[l].iterations = it;
            runs[l].converged = true;
        }
    }
    active.contains(&true)
}

/// Each lane's scores, out of the node-major iterate.
fn lane_scores<const L: usize>(x: &[[f64; L]], runs: &mut [PageRankRun]) {
    for (l, run) in runs.iter_mut().enumerate() {
        run.scores = x.iter().map(|xu| xu[l]).collect();
    }
}

/// Per lane, the sum of `f(u, lane)` for `u in 0..n`: blocks in parallel, block sums added in
/// block order, so the result does not depend on how rayon splits the work.
fn lane_sums(n: usize, lanes: usize, f: impl Fn(usize, usize) -> f64 + Sync) -> Vec<f64> {
    let blocks: Vec<Vec<f64>> = (0..n.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| (0..lanes).map(|l| (b * BLOCK..n.min((b + 1) * BLOCK)).map(|u| f(u, l)).sum()).collect())
        .collect();
    (0..lanes).map(|l| blocks.iter().map(|b| b[l]).sum()).collect()
}

fn inverse_strengths(g: &Csr) -> Vec<f64> {
    (0..g.n_rows())
        .into_par_iter()
        .map(|u| {
            let s = g.strength(u);
            if s > 0.0 {
                1.0 / s
            } else {
                0.0
            }
        })
        .collect()
}

/// Pulls along `incoming` row `v` into every lane: `acc[l] += w * y[src][l]` in
/// ascending source order.
#[inline]
fn pull_row<const L: usize>(incoming: &Csr, v: usize, y: &[[f64; L]], acc: &mut [f64; L]) {
    for (&u, &w) in incoming.neighbors(v).iter().zip(incoming.edge_weights(v)) {
        let src = &y[u as usize];
        let w = f64::from(w);
        for l in 0..L {
            acc[l] += w * src[l];
        }
    }
}

/// Personalized PageRank of a weighted directed graph, by power iteration.
///
/// # Arguments
/// - `out`: the graph, rows = sources (`out.neighbors(u)` are `u`'s out-neighbours); square;
///   weights finite and non-negative. A node whose out-weights sum to 0 is dangling.
/// - `restart`: non-negative restart weights, one per node, normalised inside; the walker
///   jumps here with probability `1 - damping`, and always from dangling nodes.
/// - `damping`: probability of following an edge, in `[0, 1)` (networkx's `alpha`; 0.85).
/// - `tol`, `max_iter`: stop when the L1 change of an iteration is below `n * tol`, or after
///   `max_iter` iterations (the last iterate is returned; see [`personalized_pagerank_with`]
///   to learn whether it converged).
///
/// # Returns
/// The stationary probability of each node, summing to 1 (up to `tol`); equal to networkx's
/// `pagerank(G, alpha=damping, personalization=restart, dangling=None)` within the tolerance.
///
/// # Panics
/// If `out` is not square, a weight or restart entry is negative or not finite, the restart
/// sums to 0, `damping` is outside `[0, 1)` or `tol <= 0`.
///
/// # Complexity
/// Time O(E + n) to transpose, then O(E + n) per iteration, parallel over nodes; iterations
/// grow like `log(tol) / log(damping)`. Space O(E + n) (the transposed matrix and four
/// vectors of n `f64`).
///
/// # Example
/// ```
/// use groupwatch::graph::{pagerank::personalized_pagerank, Csr};
/// // 0 -> 1 -> 2, and 2 is dangling; restart everything at node 0.
/// let g = Csr::from_edges(3, 3, vec![(0, 1, 1.0), (1, 2, 1.0)]);
/// let pr = personalized_pagerank(&g, &[1.0, 0.0, 0.0], 0.85, 1e-12, 1000);
/// assert!((pr.iter().sum::<f64>() - 1.0).abs() < 1e-9);
/// assert!(pr[0] > pr[1] && pr[1] > pr[2]);
/// ```
pub fn personalized_pagerank(out: &Csr, restart: &[f64], damping: f64, tol: f64, max_iter: usize) -> Vec<f64> {
    personalized_pagerank_with(out, &out.transpose(), restart, damping, tol, max_iter).scores
}

/// Plain PageRank: [`personalized_pagerank`] with the uniform restart distribution.
///
/// # Arguments
/// As [`personalized_pagerank`], without `restart`.
///
/// # Returns
/// networkx's `pagerank(G, alpha=damping)` within the tolerance.
///
/// # Complexity
/// As [`personalized_pagerank`].
///
/// # Example
/// ```
/// use groupwatch::graph::{pagerank::pagerank, Csr};
/// let cycle = Csr::from_edges(3, 3, vec![(0, 1, 1.0), (1, 2, 1.0), (2, 0, 1.0)]);
/// let pr = pagerank(&cycle, 0.85, 1e-12, 1000);
/// assert!(pr.iter().all(|&p| (p - 1.0 / 3.0).abs() < 1e-12));
/// ```
pub fn pagerank(out: &Csr, damping: f64, tol: f64, max_iter: usize) -> Vec<f64> {
    personalized_pagerank(out, &vec![1.0; out.n_rows()], damping, tol, max_iter)
}

/// [`personalized_pagerank`] with a precomputed transpose (reuse it across restart vectors,
/// e.g. one run per cross-validation fold) and the convergence report.
///
/// # Arguments
/// - `out`: as in [`personalized_pagerank`].
/// - `incoming`: `out.transpose()`.
/// - the rest as in [`personalized_pagerank`].
///
/// # Returns
/// The scores, the number of iterations and whether the iteration converged.
///
/// # Panics
/// As [`personalized_pagerank`], and if `incoming` does not have the transpose's shape.
///
/// # Complexity
/// O(E + n) time per iteration, O(n) extra space.
///
/// # Example
/// ```
/// use groupwatch::graph::{pagerank::personalized_pagerank_with, Csr};
/// let g = Csr::from_edges(2, 2, vec![(0, 1, 1.0), (1, 0, 1.0)]);
/// let run = personalized_pagerank_with(&g, &g.transpose(), &[1.0, 1.0], 0.85, 1e-10, 100);
/// assert!(run.converged && run.iterations <= 2);
/// ```
pub fn personalized_pagerank_with(
    out: &Csr,
    incoming: &Csr,
    restart: &[f64],
    damping: f64,
    tol: f64,
    max_iter: usize,
) -> PageRankRun {
    personalized_pagerank_many(out, incoming, std::slice::from_ref(&restart.to_vec()), damping, tol, max_iter).pop().expect("one run per restart vector")
}

/// [`personalized_pagerank_with`] for several restart vectors at once: the graph is read once
/// per iteration for up to five of them (one per cross-validation pass), and each result is bit for
/// bit what a run of its restart vector alone gives.
///
/// # Panics
/// As [`personalized_pagerank_with`], for any restart vector.
///
/// # Complexity
/// O(E + n) time per iteration for every five vectors together (the inner loop over vectors is
/// contiguous), O(n) space per vector.
pub fn personalized_pagerank_many(out: &Csr, incoming: &Csr, restarts: &[Vec<f64>], damping: f64, tol: f64, max_iter: usize) -> Vec<PageRankRun> {
    let n = out.n_rows();
    assert_eq!(out.n_cols, n, "PageRank needs a square matrix");
    assert!(
        incoming.n_rows() == n && incoming.n_cols == n && incoming.n_edges() == out.n_edges(),
        "`incoming` must be `out.transpose()`"
    );
    check_params(damping, tol);
    check_weights(out);
    if n == 0 {
        return restarts.iter().map(|_| PageRankRun { scores: Vec::new(), iterations: 0, converged: true }).collect();
    }
    let p: Vec<Vec<f64>> = restarts.iter().map(|r| normalised_restart(r, n).expect("restart weights sum to 0")).collect();
    let inv = inverse_strengths(out);
    power_iteration(&p, &inv, damping, tol, max_iter, Incoming::One(incoming))
}

/// Risk scores of both sides of the account–group membership graph.
#[derive(Debug, Clone, PartialEq)]
pub struct BipartiteScores {
    /// Stationary probability of each account.
    pub accounts: Vec<f64>,
    /// Stationary probability of each group. Accounts and groups together sum to 1.
    pub groups: Vec<f64>,
    pub iterations: usize,
    pub converged: bool,
}

/// Personalized PageRank on the undirected account–group membership graph, restarting
/// uniformly at the seed accounts and groups: how risk propagates from known-violating
/// seeds (the seed set is an argument, so callers can hide labels for leakage control).
///
/// The graph has `n_accounts + n_groups` nodes (accounts first) and each membership edge in
/// both directions with its weight, so a walker alternates between accounts and groups.
/// Matches networkx's `pagerank` on the corresponding undirected `nx.Graph` (nodes
/// `0..n_accounts` for accounts, `n_accounts + g` for group `g`) with personalization 1 on
/// each seed.
///
/// # Arguments
/// - `members`: the account→group matrix (rows = accounts, columns = groups), weights
///   non-negative (1.0 for plain membership).
/// - `groups_members`: `members.transpose()`.
/// - `seed_accounts`, `seed_groups`: seed indices; each distinct seed gets restart weight 1
///   (duplicates count once, order is irrelevant).
/// - `damping`, `tol`, `max_iter`: as in [`personalized_pagerank`], with `n` the total node
///   count.
///
/// # Returns
/// Scores per account and per group. With no seeds at all, every score is 0 (no known risk
/// to propagate), `iterations` is 0 and `converged` is true.
///
/// # Panics
/// If `groups_members` is not shaped like the transpose, a seed is out of range, or as
/// [`personalized_pagerank`].
///
/// # Complexity
/// Time O(E + n) per iteration (each membership edge is pulled once from each side), no
/// transposition or graph copy; space O(n) for the iteration vectors.
///
/// # Example
/// ```
/// use groupwatch::graph::{pagerank::bipartite_seeded_pagerank, Csr};
/// // Accounts 0, 1 in group 0; accounts 1, 2 in group 1; account 3 in group 2.
/// let m = Csr::from_edges(4, 3, vec![(0, 0, 1.0), (1, 0, 1.0), (1, 1, 1.0), (2, 1, 1.0), (3, 2, 1.0)]);
/// let s = bipartite_seeded_pagerank(&m, &m.transpose(), &[], &[0], 0.85, 1e-12, 1000);
/// assert!(s.groups[0] > s.groups[1] && s.groups[1] > s.groups[2]);
/// assert!(s.accounts[0] > s.accounts[2] && s.accounts[3] < 1e-9); // unreachable from the seed
/// ```
pub fn bipartite_seeded_pagerank(
    members: &Csr,
    groups_members: &Csr,
    seed_accounts: &[u32],
    seed_groups: &[u32],
    damping: f64,
    tol: f64,
    max_iter: usize,
) -> BipartiteScores {
    let seeds = [(seed_accounts, seed_groups)];
    bipartite_seeded_pagerank_many(members, groups_members, &seeds, damping, tol, max_iter).pop().expect("one result per seed set")
}

/// [`bipartite_seeded_pagerank`] for several seed sets at once (one per cross-validation
/// pass): one read of the graph per iteration for up to five of them, each result bit for bit what
/// its seed set alone gives.
///
/// # Panics
/// As [`bipartite_seeded_pagerank`], for any seed set.
///
/// # Complexity
/// O(E + n) time per iteration for every five seed sets together, O(n) space per set.
pub fn bipartite_seeded_pagerank_many(
    members: &Csr,
    groups_members: &Csr,
    seed_sets: &[(&[u32], &[u32])],
    damping: f64,
    tol: f64,
    max_iter: usize,
) -> Vec<BipartiteScores> {
    let (na, ng) = (members.n_rows(), members.n_cols);
    assert!(
        groups_members.n_rows() == ng && groups_members.n_cols == na && groups_members.n_edges() == members.n_edges(),
        "`groups_members` must be `members.transpose()`"
    );
    check_params(damping, tol);
    check_weights(members);
    // The normalised restart of each seed set that has any seed.
    let restarts: Vec<Option<Vec<f64>>> = seed_sets
        .iter()
        .map(|&(seed_accounts, seed_groups)| {
            let mut restart = vec![0.0; na + ng];
            for &a in seed_accounts {
                assert!((a as usize) < na, "seed account {a} out of range");
                restart[a as usize] = 1.0;
            }
            for &g in seed_groups {
                assert!((g as usize) < ng, "seed group {g} out of range");
                restart[na + g as usize] = 1.0;
            }
            normalised_restart(&restart, na + ng)
        })
        .collect();
    let seeded: Vec<bool> = restarts.iter().map(Option::is_some).collect();
    let p: Vec<Vec<f64>> = restarts.into_iter().flatten().collect();
    let mut runs = if p.is_empty() {
        Vec::new()
    } else {
        let mut inv = inverse_strengths(members);
        inv.extend(inverse_strengths(groups_members));
        power_iteration(&p, &inv, damping, tol, max_iter, Incoming::Bipartite { members, groups_members })
    }
    .into_iter();
    seeded
        .into_iter()
        .map(|seeded| {
            if !seeded {
                return BipartiteScores { accounts: vec![0.0; na], groups: vec![0.0; ng], iterations: 0, converged: true };
            }
            let run = runs.next().expect("one run per seeded set");
            let mut accounts = run.scores;
            let groups = accounts.split_off(na);
            BipartiteScores { accounts, groups, iterations: run.iterations, converged: run.converged }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
        rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn dangling_mass_goes_to_the_restart() {
        // 0 -> 1, 1 dangling, restart only at 0: the walk is 0 -> 1 -> back to 0.
        let g = Csr::from_edges(2, 2, vec![(0, 1, 1.0)]);
        let pr = personalized_pagerank(&g, &[2.0, 0.0], 0.5, 1e-14, 1000);
        // x0 = 0.5 (1 - d) + d x1 (dangling), x1 = d x0  =>  x0 = 1 / (1 + d).
        assert!((pr[0] - 1.0 / 1.5).abs() < 1e-12 && (pr[1] - 0.5 / 1.5).abs() < 1e-12);
    }

    #[test]
    fn empty_graph_and_empty_seed_set() {
        let g = Csr::from_edges(0, 0, vec![]);
        assert!(pagerank(&g, 0.85, 1e-9, 10).is_empty());
        let m = Csr::from_edges(2, 1, vec![(0, 0, 1.0)]);
        let s = bipartite_seeded_pagerank(&m, &m.transpose(), &[], &[], 0.85, 1e-9, 10);
        assert_eq!((s.accounts, s.groups), (vec![0.0; 2], vec![0.0]));
    }

    #[test]
    fn bipartite_equals_pagerank_on_the_symmetrised_graph() {
        let m = Csr::from_edges(4, 3, vec![(0, 0, 1.0), (1, 0, 2.0), (1, 1, 1.0), (2, 1, 1.0), (3, 2, 0.5)]);
        let mut both = Vec::new();
        for (a, g, w) in m.edges() {
            both.push((a, 4 + g, w));
            both.push((4 + g, a, w));
        }
        let full = Csr::from_edges(7, 7, both);
        let mut restart = vec![0.0; 7];
        restart[1] = 1.0;
        restart[4 + 2] = 1.0;
        let want = personalized_pagerank(&full, &restart, 0.85, 1e-13, 1000);
        let got = bipartite_seeded_pagerank(&m, &m.transpose(), &[1, 1], &[2], 0.85, 1e-13, 1000);
        for (x, y) in got.accounts.iter().chain(&got.groups).zip(&want) {
            assert!((x - y).abs() < 1e-12, "{x} vs {y}");
        }
    }

    #[test]
    fn bipartite_walk_converges_in_half_the_iterations_to_the_same_scores_on_any_thread_count() {
        // Random memberships, large enough for several reduction blocks on each side.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (na, ng) = (9_000u32, 1_500u32);
        let m = Csr::from_edges(na as usize, ng as usize, (0..30_000).map(|_| (rng.gen_range(0..na), rng.gen_range(0..ng), 1.0)).collect());
        let mt = m.transpose();
        let (seed_a, seed_g): (Vec<u32>, Vec<u32>) = ((0..na).step_by(301).collect(), (0..ng).step_by(97).collect());
        let runs: Vec<BipartiteScores> = [1, 2, 3].into_iter().map(|t| in_pool(t, || bipartite_seeded_pagerank(&m, &mt, &seed_a, &seed_g, 0.85, 1e-12, 1000))).collect();
        for r in &runs[1..] {
            assert_eq!((bits(&r.accounts), bits(&r.groups)), (bits(&runs[0].accounts), bits(&runs[0].groups)));
        }
        // The plain (Jacobi) iteration on the symmetrised graph: the same scores, twice the work.
        let n = (na + ng) as usize;
        let both: Vec<(u32, u32, f32)> = m.edges().flat_map(|(a, g, w)| [(a, na + g, w), (na + g, a, w)]).collect();
        let full = Csr::from_edges(n, n, both);
        let mut restart = vec![0.0; n];
        seed_a.iter().for_each(|&a| restart[a as usize] = 1.0);
        seed_g.iter().for_each(|&g| restart[(na + g) as usize] = 1.0);
        let plain = personalized_pagerank_with(&full, &full.transpose(), &restart, 0.85, 1e-12, 1000);
        let gs = &runs[0];
        assert!(plain.converged && gs.converged);
        assert!(gs.iterations * 2 <= plain.iterations + 2, "{} vs {} iterations", gs.iterations, plain.iterations);
        let diff: f64 = gs.accounts.iter().chain(&gs.groups).zip(&plain.scores).map(|(a, b)| (a - b).abs()).sum();
        assert!(diff < 10.0 * n as f64 * 1e-12, "L1 distance {diff}");
    }

    #[test]
    fn reports_non_convergence() {
        let g = Csr::from_edges(3, 3, vec![(0, 1, 1.0), (1, 2, 1.0)]);
        let run = personalized_pagerank_with(&g, &g.transpose(), &[1.0, 0.0, 0.0], 0.85, 1e-15, 2);
        assert!(!run.converged && run.iterations == 2);
    }

    fn graphs() -> impl Strategy<Value = (usize, Vec<(u32, u32, f32)>)> {
        (1usize..60).prop_flat_map(|n| {
            let e = (0..n as u32, 0..n as u32, 1u32..100).prop_map(|(a, b, w)| (a, b, w as f32 / 7.0));
            (Just(n), proptest::collection::vec(e, 0..300))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn sums_to_one_whatever_the_threads_or_edge_order((n, edges) in graphs(), seed in any::<u64>()) {
            use rand::seq::SliceRandom;
            use rand::SeedableRng;
            let restart: Vec<f64> = (0..n).map(|i| (i % 3) as f64).collect();
            let restart = if restart.iter().sum::<f64>() == 0.0 { vec![1.0; n] } else { restart };
            let g = Csr::from_edges(n, n, edges.clone());
            let one = in_pool(1, || personalized_pagerank(&g, &restart, 0.85, 1e-12, 1000));
            prop_assert!((one.iter().sum::<f64>() - 1.0).abs() < 1e-9);
            let two = in_pool(2, || personalized_pagerank(&g, &restart, 0.85, 1e-12, 1000));
            prop_assert_eq!(bits(&one), bits(&two));
            let mut shuffled = edges;
            shuffled.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
            let g2 = Csr::from_edges(n, n, shuffled);
            let three = in_pool(3, || personalized_pagerank(&g2, &restart, 0.85, 1e-12, 1000));
            prop_assert_eq!(bits(&one), bits(&three));
            let plain = pagerank(&g, 0.85, 1e-12, 1000);
            prop_assert!((plain.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }

        #[test]
        fn lanes_give_the_bits_of_separate_runs((n, edges) in graphs(), k in 1usize..12) {
            // Restart vectors that converge at different iterations; the first bipartite lane has
            // no seed account (and may have no seed at all).
            let g = Csr::from_edges(n, n, edges.clone());
            let gt = g.transpose();
            let restarts: Vec<Vec<f64>> = (0..k).map(|j| (0..n).map(|i| f64::from(u8::from((i + j) % (j + 2) == 0 || i == j % n))).collect()).collect();
            let many = personalized_pagerank_many(&g, &gt, &restarts, 0.85, 1e-12, 1000);
            for (r, run) in restarts.iter().zip(&many) {
                let alone = personalized_pagerank_with(&g, &gt, r, 0.85, 1e-12, 1000);
                prop_assert_eq!(bits(&alone.scores), bits(&run.scores));
                prop_assert_eq!(alone.iterations, run.iterations);
            }
            let m = Csr::from_edges(n, n.div_ceil(2), edges.iter().map(|&(a, b, w)| (a, b / 2, w)).collect());
            let mt = m.transpose();
            let sets: Vec<(Vec<u32>, Vec<u32>)> = (0..k).map(|j| ((0..n as u32).filter(|i| (*i as usize + j) % 3 == 0 && j > 0).collect(), (0..m.n_cols as u32).filter(|i| (*i as usize) % (j + 2) == 1).collect())).collect();
            let refs: Vec<(&[u32], &[u32])> = sets.iter().map(|(a, g)| (&a[..], &g[..])).collect();
            let many = bipartite_seeded_pagerank_many(&m, &mt, &refs, 0.85, 1e-12, 1000);
            for ((a, gs), run) in sets.iter().zip(&many) {
                let alone = bipartite_seeded_pagerank(&m, &mt, a, gs, 0.85, 1e-12, 1000);
                prop_assert_eq!(bits(&alone.accounts), bits(&run.accounts));
                prop_assert_eq!(bits(&alone.groups), bits(&run.groups));
                prop_assert_eq!(alone.iterations, run.iterations);
            }
        }
    }

    #[test]
    fn large_graph_is_thread_count_independent() {
        // Big enough that rayon splits the work and several reduction blocks exist.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let n = 20_000;
        let edges: Vec<_> =
            (0..80_000).map(|_| (rng.gen_range(0..n), rng.gen_range(0..n), rng.gen_range(0.1..2.0))).collect();
        let g = Csr::from_edges(n as usize, n as usize, edges);
        let runs: Vec<Vec<u64>> =
            [1, 2, 4].into_iter().map(|t| bits(&in_pool(t, || pagerank(&g, 0.85, 1e-10, 200)))).collect();
        assert_eq!(runs[0], runs[1]);
        assert_eq!(runs[0], runs[2]);
    }
}
