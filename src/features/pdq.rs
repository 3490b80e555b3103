//! Matching photos against the hash bank without comparing every photo with every entry.
//!
//! Multi-index hashing (Norouzi, Punjani and Fleet, 2012): the 256-bit hash is cut into 16
//! chunks of 16 bits and each chunk indexes the bank (a direct-address table per chunk). Two hashes within Hamming distance
//! `d <= 31` differ in at most one bit in at least one chunk (pigeonhole: 16 chunks × 2 bits
//! = 32 > 31), so probing each chunk's exact value and its 16 one-bit neighbours finds every
//! candidate; candidates are then verified with the full distance.
//!
//! Complexity: building O(B + 2^16) for B bank entries (16 tables of 65,537 offsets, 4 MiB,
//! plus 64 bytes an entry); a query costs 16 × 17 constant-time probes plus the candidates
//! found, instead of B comparisons. Thresholds above 31 fall back to a scan.

/// Hamming distance between two 256-bit hashes.
pub fn hamming(a: &[u8; 32], b: &[u8; 32]) -> u32 {
    let mut d = 0;
    for i in 0..4 {
        let x = u64::from_le_bytes(a[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        let y = u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        d += (x ^ y).count_ones();
    }
    d
}

fn chunk(h: &[u8; 32], c: usize) -> u16 {
    u16::from_le_bytes([h[2 * c], h[2 * c + 1]])
}

/// An index over the hash bank.
pub struct PdqIndex {
    entries: Vec<[u8; 32]>,
    /// Per chunk, a direct-address table: entries whose chunk has value `v` are
    /// `items[c][starts[c][v]..starts[c][v + 1]]`.
    starts: Vec<Vec<u32>>,
    items: Vec<Vec<u32>>,
}

impl PdqIndex {
    pub fn new(entries: Vec<[u8; 32]>) -> Self {
        let mut starts = Vec::with_capacity(16);
        let mut items = Vec::with_capacity(16);
        for c in 0..16 {
            let mut s = vec![0u32; 65_537];
            for h in &entries {
                s[chunk(h, c) as usize + 1] += 1;
            }
            for v in 0..65_536 {
                s[v + 1] += s[v];
            }
            let mut next = s.clone();
            let mut it = vec![0u32; entries.len()];
            for (i, h) in entries.iter().enumerate() {
                let v = chunk(h, c) as usize;
                it[next[v] as usize] = i as u32;
                next[v] += 1;
            }
            starts.push(s);
            items.push(it);
        }
        PdqIndex { entries, starts, items }
    }

    /// The closest bank entry within `max_distance`, as (entry index, distance); ties go to
    /// the lowest index.
    pub fn nearest(&self, h: &[u8; 32], max_distance: u32) -> Option<(usize, u32)> {
        let mut best: Option<(u32, usize)> = None;
        let mut consider = |i: usize| {
            let d = hamming(h, &self.entries[i]);
            if d <= max_distance && best.is_none_or(|b| (d, i) < b) {
                best = Some((d, i));
            }
        };
        if max_distance > 31 {
            (0..self.entries.len()).for_each(&mut consider);
        } else {
            for c in 0..16 {
                let v = chunk(h, c);
                for probe in std::iter::once(v).chain((0..16).map(|b| v ^ (1 << b))) {
                    let (lo, hi) = (self.starts[c][probe as usize] as usize, self.starts[c][probe as usize + 1] as usize);
                    for &e in &self.items[c][lo..hi] {
                        consider(e as usize);
                    }
                }
            }
        }
        best.map(|(d, i)| (i, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn index_agrees_with_a_scan() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let bank: Vec<[u8; 32]> = (0..500).map(|_| rng.gen()).collect();
        let idx = PdqIndex::new(bank.clone());
        for q in 0..400 {
            let mut h = bank[q % bank.len()];
            let flips = rng.gen_range(0..=40);
            for b in rand::seq::index::sample(&mut rng, 256, flips).iter() {
                h[b / 8] ^= 1 << (b % 8);
            }
            let scan = bank.iter().enumerate().map(|(i, e)| (hamming(&h, e), i)).filter(|x| x.0 <= 31).min();
            assert_eq!(idx.nearest(&h, 31), scan.map(|(d, i)| (i, d)), "query {q} with {flips} flips");
        }
    }
}
