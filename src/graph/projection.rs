//! The group projection: groups tied by what they share.
//!
//! A violating network is many groups run by overlapping people: members who sit in several
//! of its groups, admins and link creators who serve several of them, media objects that
//! move between them. Each is a *relation*; a *connector* is one account or media object
//! and the set of groups it touches in that relation. The projection weighs every pair of
//! groups by the connectors they share, so that:
//!
//! - a connector touching `k` groups adds `1 / (k - 1)` to each of its pairs (a member of
//!   two groups ties them fully, one of forty barely), and connectors touching more than
//!   [`MAX_GROUPS_PER_CONNECTOR`] groups (hyperactive accounts, viral media) add nothing;
//! - each relation's pair weight is divided by `sqrt(n(g) * n(h))`, `n` being the number of
//!   connectors the group has in that relation (a cosine), so a popular benign group that
//!   shares a handful of its thousand members with a small group glues nothing;
//! - group-to-group forwarding is a fifth relation: forward rows between the two groups over
//!   `sqrt` of each group's forwarding rows.
//!
//! The combined tie is the sum of the five normalised relations (each at most about 1). It
//! is label-free: the same graph serves the communities, the neighbourhood features and the
//! score smoothing of [`crate::features::network`].
//!
//! Complexity: O(Σ_c k_c²) pairs over connectors (bounded by the cap), sorted once per
//! relation: O(P log P) time and O(P) memory for P pairs. Sums are over sorted pairs, so the
//! result is identical for any thread count.

use rayon::prelude::*;

use super::Csr;

/// Connectors touching more groups than this add no tie.
pub const MAX_GROUPS_PER_CONNECTOR: usize = 50;

/// The relations, in the order of [`Projection::strongest`].
pub const RELATIONS: [&str; 5] = ["members", "admins", "link_creators", "media", "forwarding"];

/// The projection and, per relation, each group's strongest tie and total tie weight.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Symmetric, no self-loops; weight = sum of the normalised relations.
    pub ties: Csr,
    /// `strongest[r][g]`: the largest normalised weight of relation `r` from group `g`.
    pub strongest: Vec<Vec<f32>>,
    /// `total[r][g]`: the sum of group `g`'s normalised weights in relation `r` (what the
    /// group's ties are made of: a club's groups share admins, a network's share members).
    pub total: Vec<Vec<f64>>,
}

/// Normalised pair weights of one relation from its `n` connectors' group sets (`groups_of(c)`,
/// each sorted and deduplicated): upper-triangle `(g, h, w)` with `g < h`, sorted.
pub fn relation_pairs<'a>(n_groups: usize, n: usize, groups_of: impl Fn(usize) -> &'a [u32] + Sync) -> Vec<(u32, u32, f32)> {
    let mut count = vec![0u32; n_groups];
    for c in 0..n {
        for &g in groups_of(c) {
            count[g as usize] += 1;
        }
    }
    let mut pairs: Vec<(u32, u32, f32)> = (0..n)
        .into_par_iter()
        .flat_map_iter(|c| {
            let gs = groups_of(c);
            let k = gs.len();
            let mut out = Vec::new();
            if (2..=MAX_GROUPS_PER_CONNECTOR).contains(&k) {
                let w = 1.0 / (k - 1) as f32;
                for i in 0..k {
                    for j in i + 1..k {
                        out.push((gs[i], gs[j], w));
                    }
                }
            }
            out
        })
        .collect();
    pairs.par_sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    merge_and_normalise(pairs, &count)
}

/// Sums runs of equal `(g, h)` (input sorted) and divides by `sqrt(n(g) n(h))`.
fn merge_and_normalise(pairs: Vec<(u32, u32, f32)>, n: &[u32]) -> Vec<(u32, u32, f32)> {
    let mut out: Vec<(u32, u32, f32)> = Vec::new();
    for (g, h, w) in pairs {
        match out.last_mut() {
            Some(last) if (last.0, last.1) == (g, h) => last.2 += w,
            _ => out.push((g, h, w)),
        }
    }
    for e in &mut out {
        let d = (n[e.0 as usize] as f64 * n[e.1 as usize] as f64).sqrt();
        e.2 = if d > 0.0 { (e.2 as f64 / d) as f32 } else { 0.0 };
    }
    out
}

/// Forward rows between two different groups as a relation: rows in both directions over
/// `sqrt` of each group's forwarding rows (to and from other groups).
pub fn forwarding_pairs(forwarding: &Csr) -> Vec<(u32, u32, f32)> {
    let n = forwarding.n_rows();
    let mut rows = vec![0u32; n];
    let mut pairs: Vec<(u32, u32, f32)> = Vec::new();
    for (s, d, w) in forwarding.edges() {
        if s == d {
            continue;
        }
        rows[s as usize] += w as u32;
        rows[d as usize] += w as u32;
        pairs.push((s.min(d), s.max(d), w));
    }
    pairs.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    merge_and_normalise(pairs, &rows)
}

/// Builds the projection from the relations in [`RELATIONS`] order: members as the account →
/// group matrix, admins, link creators and media objects as group sets per connector, and
/// the group → group forwarding matrix.
pub fn project(members: &Csr, admins: &[Vec<u32>], link_creators: &[Vec<u32>], media: &[Vec<u32>], forwarding: &Csr) -> Projection {
    let n_groups = members.n_cols;
    let sets = |c: &'_ [Vec<u32>]| relation_pairs(n_groups, c.len(), |i| &c[i][..]);
    let relations: Vec<Vec<(u32, u32, f32)>> = vec![
        relation_pairs(n_groups, members.n_rows(), |a| members.neighbors(a)),
        sets(admins),
        sets(link_creators),
        sets(media),
        forwarding_pairs(forwarding),
    ];
    let (strongest, total) = relations
        .iter()
        .map(|pairs| {
            let mut best = vec![0.0f32; n_groups];
            let mut sum = vec![0.0f64; n_groups];
            for &(g, h, w) in pairs {
                for x in [g as usize, h as usize] {
                    best[x] = best[x].max(w);
                    sum[x] += f64::from(w);
                }
            }
            (best, sum)
        })
        .unzip();
    let all: Vec<(u32, u32, f32)> = relations.into_iter().flatten().filter(|e| e.2 > 0.0).collect();
    Projection { ties: Csr::from_undirected_edges(n_groups, all), strongest, total }
}

/// Groups per connector from `(connector, group)` pairs: sorts, deduplicates and groups them
/// (connectors in ascending order; the connector's own id is dropped).
pub fn connectors_from_pairs<K: Ord + Copy + Send>(mut pairs: Vec<(K, u32)>) -> Vec<Vec<u32>> {
    pairs.par_sort_unstable();
    pairs.dedup();
    let mut out: Vec<Vec<u32>> = Vec::new();
    let mut last: Option<K> = None;
    for (c, g) in pairs {
        if last != Some(c) {
            out.push(Vec::new());
            last = Some(c);
        }
        out.last_mut().expect("pushed above").push(g);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_popular_group_glues_nothing() {
        // Group 0 has 100 members; groups 1 and 2 have 3 each. Account 0 is in 0 and 1; accounts
        // 1..3 are in 1 and 2 together.
        let mut members: Vec<Vec<u32>> = (0..100).map(|_| vec![0]).collect();
        members[0] = vec![0, 1];
        members.push(vec![1, 2]);
        members.push(vec![1, 2]);
        members.push(vec![2]);
        let p = relation_pairs(3, members.len(), |i| &members[i][..]);
        let w = |g, h| p.iter().find(|e| (e.0, e.1) == (g, h)).map_or(0.0, |e| e.2);
        assert!(w(1, 2) > 0.5, "{p:?}");
        assert!(w(0, 1) < 0.2, "{p:?}");
    }

    #[test]
    fn connectors_of_many_groups_add_nothing() {
        let big: Vec<u32> = (0..=MAX_GROUPS_PER_CONNECTOR as u32).collect();
        assert!(relation_pairs(big.len(), 1, |_| &big[..]).is_empty());
        let small: Vec<u32> = (0..MAX_GROUPS_PER_CONNECTOR as u32).collect();
        assert_eq!(relation_pairs(small.len(), 1, |_| &small[..]).len(), small.len() * (small.len() - 1) / 2);
    }

    #[test]
    fn projection_is_symmetric_and_sums_relations() {
        let members = Csr::from_edges(1, 3, vec![(0, 0, 1.0), (0, 1, 1.0)]);
        let admins = vec![vec![0, 1]];
        let fwd = Csr::from_edges(3, 3, vec![(1, 2, 4.0)]);
        let p = project(&members, &admins, &[], &[], &fwd);
        assert!(p.ties.is_symmetric());
        let w01 = p.ties.edge_weights(0)[0];
        assert!((w01 - 2.0).abs() < 1e-6, "members and admins each tie 0 and 1 fully: {w01}");
        assert!((p.strongest[4][2] - 1.0).abs() < 1e-6);
        assert_eq!(p.ties.degree(2), 1);
    }

    #[test]
    fn connectors_group_pairs() {
        let c = connectors_from_pairs(vec![(7u64, 2), (3, 1), (7, 0), (3, 1), (9, 4)]);
        assert_eq!(c, vec![vec![1], vec![0, 2], vec![4]]);
    }
}
