//! Graph layouts and algorithms over dense `u32` indices.
//!
//! The detection spec's graph level, one file per algorithm:
//!
//! | module | what it finds | on |
//! |---|---|---|
//! | [`pagerank`] | risk propagated from known-violating seeds (personalized PageRank) | membership graph, forwarding graph |
//! | [`components`] | pieces of the graph nothing ties together | any undirected graph, membership graph |
//! | [`projection`] | groups tied by shared members, admins, link creators, media and forwards | membership, links, forwards |
//! | [`louvain`] | communities (and their modularity) | group projection, any weighted undirected graph |
//! | [`fraudar`] | dense account × group blocks that survive camouflage | membership graph |
//! | [`lockstep`] | accounts joining the same groups at the same times | join events per group |
//! | [`layout`] | positions for drawing a cluster (force-directed, deterministic) | a cluster's ties |
//!
//! Every algorithm takes a [`Csr`] (for the bipartite account × group graph: the
//! account→group matrix and its transpose), runs in parallel over node ranges with rayon
//! where it pays, and reduces in a fixed order (fixed blocks, integer or fixed-point
//! accumulation, sorted keys), so results are bitwise identical whatever the thread count
//! and whatever the order of the input edges. Randomness, where used, is a seeded ChaCha RNG.
//!
//! ```
//! use groupwatch::graph::{components, pagerank, Csr};
//! // Accounts 0..3 and groups 0..2: account 0 and 1 share group 0, account 2 is in group 1.
//! let members = Csr::from_edges(3, 2, vec![(0, 0, 1.0), (1, 0, 1.0), (2, 1, 1.0)]);
//! let groups_members = members.transpose();
//! // Risk from a known-violating account 0 reaches account 1, not account 2.
//! let risk = pagerank::bipartite_seeded_pagerank(&members, &groups_members, &[0], &[], 0.85, 1e-12, 1000);
//! assert!(risk.accounts[1] > 1e-3 && risk.accounts[2] < 1e-9);
//! assert_eq!(components::bipartite_components(&members).count(), 2);
//! ```

pub mod bench_support;
pub mod components;
pub mod csr;
pub mod fraudar;
pub mod layout;
pub mod lockstep;
pub mod louvain;
pub mod pagerank;
pub mod projection;

pub use csr::Csr;
