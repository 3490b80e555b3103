//! Seeded synthetic inputs for benchmarks and scale tests of the graph algorithms.
//!
//! Criterion lives in dev-dependencies, so the benchmarks themselves sit in `benches/`;
//! this module only builds their inputs, the same for any thread count.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::lockstep::Joins;
use super::Csr;

/// A random account→group membership matrix with about `n_edges` edges (duplicates are
/// merged, so slightly fewer). Accounts are drawn uniformly; group popularity is skewed
/// (group `g` is drawn with density ∝ 1/√g), so a few groups have many thousands of
/// members, as public groups do.
///
/// O(E log E) time, O(E) space.
pub fn memberships(n_accounts: usize, n_groups: usize, n_edges: usize, seed: u64) -> Csr {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let edges = (0..n_edges)
        .map(|_| {
            let a = rng.gen_range(0..n_accounts as u32);
            let g = ((n_groups as f64 * rng.gen::<f64>().powi(2)) as usize).min(n_groups - 1);
            (a, g as u32, 1.0)
        })
        .collect();
    Csr::from_edges(n_accounts, n_groups, edges)
}

/// One join event per membership of `members`, at a uniformly random time within
/// `span_days` days.
pub fn joins(members: &Csr, span_days: i64, seed: u64) -> Joins {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let span = span_days * 86_400_000;
    let triples = members.edges().map(|(a, g, _)| (g, a, rng.gen_range(0..span))).collect();
    Joins::from_triples(members.n_cols, triples)
}

/// The membership graph as one undirected graph on `accounts + groups` nodes (group `g` is
/// node `n_accounts + g`), for Louvain and components.
pub fn undirected_bipartite(members: &Csr) -> Csr {
    let na = members.n_rows() as u32;
    let edges = members.edges().map(|(a, g, w)| (a, na + g, w)).collect();
    Csr::from_undirected_edges(members.n_rows() + members.n_cols, edges)
}
