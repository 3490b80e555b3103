//! Connected components: the coarsest split of a graph into pieces that share nothing.
//!
//! Suspected networks are built from shared members, admins, link creators and forwards;
//! nothing can tie two components together, so components bound every later clustering and
//! let it run per piece. Union–find (petgraph's [`UnionFind`]) over the edge list, then
//! labels renumbered in order of each component's smallest node, so the labelling is a pure
//! function of the graph: the same for any input edge order and any run.

use petgraph::unionfind::UnionFind;

use super::Csr;

/// A partition of the nodes into connected components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Components {
    /// Component of each node. Ids are dense, and component `i`'s smallest node is smaller
    /// than component `i + 1`'s; in particular node 0 is in component 0.
    pub labels: Vec<u32>,
    /// Number of nodes in each component, by id.
    pub sizes: Vec<u32>,
}

impl Components {
    /// Number of components.
    pub fn count(&self) -> usize {
        self.sizes.len()
    }

    fn from_union_find(uf: UnionFind<u32>) -> Components {
        let roots = uf.into_labeling();
        let mut id_of_root = vec![u32::MAX; roots.len()];
        let mut sizes = Vec::new();
        let labels = roots
            .iter()
            .map(|&r| {
                let id = &mut id_of_root[r as usize];
                if *id == u32::MAX {
                    *id = sizes.len() as u32;
                    sizes.push(0);
                }
                sizes[*id as usize] += 1;
                *id
            })
            .collect();
        Components { labels, sizes }
    }
}

fn union_find(n: usize) -> UnionFind<u32> {
    assert!(n < u32::MAX as usize, "too many nodes for u32 labels");
    UnionFind::new(n)
}

/// Connected components of an undirected graph.
///
/// # Arguments
/// - `graph`: a square [`Csr`]; every stored entry `(u, v)` joins `u` and `v` whatever its
///   weight. A symmetric matrix (see [`Csr::from_undirected_edges`]) is the intended input;
///   for a directed one the result is its weakly connected components.
///
/// # Returns
/// Component labels, numbered by smallest node, and sizes. Isolated nodes are components
/// of size 1.
///
/// # Complexity
/// Time O(E α(n) + n), sequential; space O(n).
///
/// # Example
/// ```
/// use groupwatch::graph::{components::connected_components, Csr};
/// let g = Csr::from_undirected_edges(5, vec![(3, 1, 1.0), (2, 4, 1.0)]);
/// let c = connected_components(&g);
/// assert_eq!(c.labels, vec![0, 1, 2, 1, 2]);
/// assert_eq!(c.sizes, vec![1, 2, 2]);
/// ```
pub fn connected_components(graph: &Csr) -> Components {
    let n = graph.n_rows();
    assert_eq!(graph.n_cols, n, "components need a square matrix");
    let mut uf = union_find(n);
    for u in 0..n {
        for &v in graph.neighbors(u) {
            uf.union(u as u32, v);
        }
    }
    Components::from_union_find(uf)
}

/// Connected components of the bipartite account–group graph.
///
/// # Arguments
/// - `members`: the account→group matrix (rows = accounts, columns = groups).
///
/// # Returns
/// Components over `n_accounts + n_groups` nodes: account `a` is node `a`, group `g` is node
/// `n_accounts + g`. Numbered by smallest node, so components holding accounts come first.
///
/// # Complexity
/// Time O(E α(n) + n), space O(n), with n = accounts + groups.
///
/// # Example
/// ```
/// use groupwatch::graph::{components::bipartite_components, Csr};
/// // Accounts 0 and 2 share group 1; account 1 is alone in group 0.
/// let m = Csr::from_edges(3, 2, vec![(0, 1, 1.0), (2, 1, 1.0), (1, 0, 1.0)]);
/// let c = bipartite_components(&m);
/// assert_eq!(c.labels, vec![0, 1, 0, 1, 0]); // accounts 0..3, then groups 0..2
/// ```
pub fn bipartite_components(members: &Csr) -> Components {
    let na = members.n_rows();
    let mut uf = union_find(na + members.n_cols);
    for a in 0..na {
        for &g in members.neighbors(a) {
            uf.union(a as u32, (na + g as usize) as u32);
        }
    }
    Components::from_union_find(uf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_smallest_node() {
        let g = Csr::from_undirected_edges(7, vec![(6, 0, 1.0), (5, 2, 1.0), (2, 3, 1.0), (4, 4, 1.0)]);
        let c = connected_components(&g);
        assert_eq!(c.labels, vec![0, 1, 2, 2, 3, 2, 0]);
        assert_eq!(c.sizes, vec![2, 1, 3, 1]);
        assert_eq!(c.count(), 4);
    }

    #[test]
    fn directed_input_gives_weak_components() {
        let g = Csr::from_edges(3, 3, vec![(2, 0, 1.0)]);
        assert_eq!(connected_components(&g).labels, vec![0, 1, 0]);
    }

    #[test]
    fn empty() {
        let c = connected_components(&Csr::from_edges(0, 0, vec![]));
        assert!(c.labels.is_empty() && c.count() == 0);
    }
}
