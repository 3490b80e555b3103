//! Neutral placeholder vocabularies for the text surfaces (group subject and description,
//! account about). Tokens are made-up syllable words with no meaning in any language. Violating
//! entities draw from a different (overlapping) distribution, which is all a text model can
//! learn from; camouflaged networks use the benign one.

use rand::Rng;

const ONSETS: &[&str] = &["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z"];
const VOWELS: &[&str] = &["a", "e", "i", "o", "u"];
const CODAS: &[&str] = &["", "", "n", "l", "r", "s", "x"];

/// Token `k` of the shared syllable space (deterministic, no RNG).
fn token(k: usize) -> String {
    let mut s = String::new();
    let mut x = k;
    for _ in 0..2 {
        s.push_str(ONSETS[x % ONSETS.len()]);
        x /= ONSETS.len();
        s.push_str(VOWELS[x % VOWELS.len()]);
        x /= VOWELS.len();
    }
    s.push_str(CODAS[x % CODAS.len()]);
    s
}

/// Which token distribution to draw from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Register {
    Benign,
    Violating,
}

/// Vocabulary size; tokens are ranked for a Zipf draw.
const VOCAB: usize = 600;

/// Draws one token: Zipf over ranks, with the violating register using a shifted ranking so
/// that its frequent tokens are rare in benign text (and vice versa) without being disjoint.
fn draw_token(rng: &mut impl Rng, reg: Register) -> String {
    // Inverse-CDF approximation of a Zipf(1) over 1..=VOCAB.
    let u: f64 = rng.gen();
    let rank = ((VOCAB as f64).powf(u) as usize).clamp(1, VOCAB) - 1;
    let k = match reg {
        Register::Benign => rank,
        Register::Violating => (rank * 7 + 311) % VOCAB,
    };
    token(k)
}

/// A phrase of `lo..=hi` tokens.
pub fn phrase(rng: &mut impl Rng, reg: Register, lo: usize, hi: usize) -> String {
    let n = rng.gen_range(lo..=hi);
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&draw_token(rng, reg));
    }
    out
}

/// A phrase of `lo..=hi` tokens, each drawn from the violating register with probability
/// `coded` and from the benign one otherwise. The `hard` preset gives every kind of entity a
/// share (spam, marketplaces and events use the "coded" ranking too), so no token and no
/// register belongs to violating entities alone.
pub fn mixed_phrase(rng: &mut impl Rng, coded: f64, lo: usize, hi: usize) -> String {
    let n = rng.gen_range(lo..=hi);
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push(' ');
        }
        let reg = if coded > 0.0 && rng.gen_bool(coded.min(1.0)) { Register::Violating } else { Register::Benign };
        out.push_str(&draw_token(rng, reg));
    }
    out
}

/// Registration countries (ISO 3166-1 alpha-2) with rough weights.
const COUNTRIES: &[(&str, u32)] = &[
    ("IN", 30), ("BR", 14), ("ID", 9), ("US", 7), ("MX", 6), ("NG", 5), ("DE", 4),
    ("GB", 4), ("ES", 3), ("IT", 3), ("ZA", 3), ("AR", 3), ("CO", 3), ("TR", 2),
    ("FR", 2), ("KE", 2), ("PK", 2), ("EG", 2), ("PH", 1), ("NL", 1),
];

pub fn country(rng: &mut impl Rng) -> &'static str {
    let total: u32 = COUNTRIES.iter().map(|c| c.1).sum();
    let mut x = rng.gen_range(0..total);
    for (c, w) in COUNTRIES {
        if x < *w {
            return c;
        }
        x -= w;
    }
    COUNTRIES[0].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_distinct_and_lowercase_ascii() {
        let mut v: Vec<String> = (0..VOCAB).map(token).collect();
        assert!(v.iter().all(|t| t.chars().all(|c| c.is_ascii_lowercase())));
        v.sort();
        v.dedup();
        assert_eq!(v.len(), VOCAB);
    }
}
