//! Compressed sparse rows: the adjacency layout of every hot loop.
//!
//! Rows and columns are dense `u32` indices assigned at ingest. Row `i`'s neighbours are
//! `targets[offsets[i]..offsets[i + 1]]`, sorted ascending, with parallel `weights`.
//! Memory: 8 bytes per edge (u32 target + f32 weight) plus 8 bytes per row.
//! Building sorts the edge list: O(E log E) time, O(E) extra space.

/// A weighted sparse adjacency matrix with `n_rows` rows and `n_cols` columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Csr {
    pub n_cols: usize,
    pub offsets: Vec<u64>,
    pub targets: Vec<u32>,
    pub weights: Vec<f32>,
}

impl Csr {
    /// Builds from `(row, col, weight)` edges in any order; parallel edges are merged by
    /// summing their weights, so the result does not depend on the input order.
    ///
    /// Panics if an index is out of range (indices come from ingest's interning).
    pub fn from_edges(n_rows: usize, n_cols: usize, mut edges: Vec<(u32, u32, f32)>) -> Csr {
        use rayon::prelude::*;
        // A total order on every field (weights bitwise): edges that compare equal are
        // identical, so the parallel sort's result does not depend on the thread count.
        edges.par_sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
        let mut offsets = vec![0u64; n_rows + 1];
        let mut targets = Vec::with_capacity(edges.len());
        let mut weights = Vec::with_capacity(edges.len());
        let mut last: Option<(u32, u32)> = None;
        for (r, c, w) in edges {
            assert!((r as usize) < n_rows && (c as usize) < n_cols, "edge ({r}, {c}) out of range");
            if last == Some((r, c)) {
                *weights.last_mut().expect("merged edge follows its first copy") += w;
                continue;
            }
            last = Some((r, c));
            offsets[r as usize + 1] += 1;
            targets.push(c);
            weights.push(w);
        }
        for i in 0..n_rows {
            offsets[i + 1] += offsets[i];
        }
        Csr { n_cols, offsets, targets, weights }
    }

    /// Builds the symmetric matrix of an undirected graph on `n` nodes: each edge `{u, v}`
    /// with `u != v` is stored in both rows, a self-loop `(u, u)` once (the convention
    /// [`crate::graph::louvain`] and [`crate::graph::components`] expect). Repeated edges,
    /// in either orientation, are merged by summing their weights.
    ///
    /// Panics if an index is `>= n`.
    pub fn from_undirected_edges(n: usize, edges: Vec<(u32, u32, f32)>) -> Csr {
        let mut both = Vec::with_capacity(edges.len() * 2);
        for (u, v, w) in edges {
            both.push((u, v, w));
            if u != v {
                both.push((v, u, w));
            }
        }
        Csr::from_edges(n, n, both)
    }

    /// Whether the matrix is square and every entry `(r, c, w)` has a mirror `(c, r, w)` with
    /// the same weight (bitwise). O(E log d) time, parallel over rows, no allocation.
    pub fn is_symmetric(&self) -> bool {
        use rayon::prelude::*;
        if self.n_rows() != self.n_cols {
            return false;
        }
        (0..self.n_rows()).into_par_iter().all(|r| {
            self.neighbors(r).iter().zip(self.edge_weights(r)).all(|(&c, &w)| {
                let c = c as usize;
                match self.neighbors(c).binary_search(&(r as u32)) {
                    Ok(k) => self.edge_weights(c)[k].to_bits() == w.to_bits(),
                    Err(_) => false,
                }
            })
        })
    }

    pub fn n_rows(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn n_edges(&self) -> usize {
        self.targets.len()
    }

    fn range(&self, i: usize) -> std::ops::Range<usize> {
        self.offsets[i] as usize..self.offsets[i + 1] as usize
    }

    /// Neighbours of row `i`, ascending.
    pub fn neighbors(&self, i: usize) -> &[u32] {
        &self.targets[self.range(i)]
    }

    /// Weights of row `i`'s edges, in the order of [`Csr::neighbors`].
    pub fn edge_weights(&self, i: usize) -> &[f32] {
        &self.weights[self.range(i)]
    }

    pub fn degree(&self, i: usize) -> usize {
        self.range(i).len()
    }

    /// Sum of row `i`'s edge weights.
    pub fn strength(&self, i: usize) -> f64 {
        self.edge_weights(i).iter().map(|&w| w as f64).sum()
    }

    /// The transposed matrix (columns become rows). O(E + n) time.
    pub fn transpose(&self) -> Csr {
        let mut counts = vec![0u64; self.n_cols + 1];
        for &t in &self.targets {
            counts[t as usize + 1] += 1;
        }
        for i in 0..self.n_cols {
            counts[i + 1] += counts[i];
        }
        let offsets = counts.clone();
        let mut next = counts;
        let mut targets = vec![0u32; self.n_edges()];
        let mut weights = vec![0f32; self.n_edges()];
        // Rows are visited in ascending order, so each transposed row comes out sorted.
        for r in 0..self.n_rows() {
            for (k, &c) in self.range(r).zip(self.neighbors(r)) {
                let slot = next[c as usize] as usize;
                targets[slot] = r as u32;
                weights[slot] = self.weights[k];
                next[c as usize] += 1;
            }
        }
        Csr { n_cols: self.n_rows(), offsets, targets, weights }
    }

    /// All edges as `(row, col, weight)`, row-major.
    pub fn edges(&self) -> impl Iterator<Item = (u32, u32, f32)> + '_ {
        (0..self.n_rows()).flat_map(move |r| {
            self.neighbors(r).iter().zip(self.edge_weights(r)).map(move |(&c, &w)| (r as u32, c, w))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_parallel_edges_and_transposes() {
        let g = Csr::from_edges(3, 2, vec![(2, 1, 1.0), (0, 1, 2.0), (0, 1, 0.5), (1, 0, 1.0)]);
        assert_eq!(g.offsets, vec![0, 1, 2, 3]);
        assert_eq!(g.neighbors(0), &[1]);
        assert_eq!(g.edge_weights(0), &[2.5]);
        let t = g.transpose();
        assert_eq!(t.n_rows(), 2);
        assert_eq!(t.neighbors(1), &[0, 2]);
        assert_eq!(t.transpose(), g);
    }

    #[test]
    fn undirected_edges_are_mirrored_once() {
        let g = Csr::from_undirected_edges(3, vec![(0, 1, 1.0), (1, 0, 0.5), (2, 2, 3.0)]);
        assert_eq!(g.neighbors(0), &[1]);
        assert_eq!(g.edge_weights(1), &[1.5]);
        assert_eq!(g.neighbors(2), &[2]);
        assert_eq!(g.edge_weights(2), &[3.0]);
        assert!(g.is_symmetric());
        assert!(!Csr::from_edges(2, 2, vec![(0, 1, 1.0)]).is_symmetric());
        assert!(!Csr::from_edges(2, 2, vec![(0, 1, 1.0), (1, 0, 2.0)]).is_symmetric());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// (n_rows, n_cols, edges) with repeated edges and empty rows likely.
        fn edge_lists() -> impl Strategy<Value = (usize, usize, Vec<(u32, u32, f32)>)> {
            (1usize..40, 1usize..40).prop_flat_map(|(r, c)| {
                let edge = (0..r as u32, 0..c as u32, 1u8..8).prop_map(|(a, b, w)| (a, b, w as f32 * 0.5));
                (Just(r), Just(c), proptest::collection::vec(edge, 0..200))
            })
        }

        proptest! {
            #[test]
            fn degrees_sum_to_the_edge_count((r, c, edges) in edge_lists()) {
                let g = Csr::from_edges(r, c, edges);
                prop_assert_eq!((0..r).map(|i| g.degree(i)).sum::<usize>(), g.n_edges());
                prop_assert_eq!(*g.offsets.last().unwrap() as usize, g.n_edges());
            }

            #[test]
            fn edges_round_trip((r, c, edges) in edge_lists()) {
                let g = Csr::from_edges(r, c, edges);
                let again = Csr::from_edges(r, c, g.edges().collect());
                prop_assert_eq!(again, g);
            }

            #[test]
            fn transpose_twice_is_identity((r, c, edges) in edge_lists()) {
                let g = Csr::from_edges(r, c, edges);
                let t = g.transpose();
                prop_assert_eq!(t.n_rows(), c);
                prop_assert_eq!(t.n_edges(), g.n_edges());
                prop_assert_eq!(t.transpose(), g);
            }

            #[test]
            fn input_order_does_not_matter((r, c, edges) in edge_lists(), seed in any::<u64>()) {
                use rand::seq::SliceRandom;
                use rand::SeedableRng;
                let mut shuffled = edges.clone();
                shuffled.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
                prop_assert_eq!(Csr::from_edges(r, c, shuffled), Csr::from_edges(r, c, edges));
            }

            #[test]
            fn undirected_is_symmetric((r, _c, edges) in edge_lists()) {
                let edges = edges.into_iter().filter(|e| (e.1 as usize) < r).collect();
                prop_assert!(Csr::from_undirected_edges(r, edges).is_symmetric());
            }
        }
    }
}
