//! Text-surface score: how much a group's subject and description, or an account's about
//! text, reads like the texts of entities labelled violating.
//!
//! Texts are turned into sparse vectors by a signed hashing vectoriser (no vocabulary to
//! store or drift: a new word simply lands in a bucket) over lower-cased word unigrams,
//! word bigrams and single symbol characters (emoji carry meaning in group names), then
//! L2-normalised. An L2-regularised logistic regression (linfa) learns the score.
//!
//! The score is a trained quantity, so it obeys the same leakage rule as the seed-based
//! graph features: it learns only from the labels the caller makes visible, and every entity's
//! score comes from a model fitted on the other folds of a cross-fitting split (its own label
//! never trains the model that scores it). Unlabelled entities enter training as presumed
//! benign (the positive–unlabelled setting of `detection.md`), subsampled so positives are
//! not drowned; the score is therefore a ranking, not a calibrated probability.

use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ShapeBuilder};
use rayon::prelude::*;

use crate::units::mix64;

/// Hash buckets (2^10). Small enough for dense training matrices, large enough for the
/// few hundred distinctive words a surface vocabulary has.
pub const DIMS: usize = 1 << 10;
/// Training rows per fold: all visible positives plus negatives, at most this many per
/// positive and never more than [`MAX_NEGATIVES`] (the matrix is dense: rows × 1,024).
const NEGATIVES_PER_POSITIVE: usize = 20;
const MAX_NEGATIVES: usize = 2_000;
/// Fewer visible violating entities than this and no text model is trained.
pub const MIN_POSITIVES: usize = 5;

/// FNV-1a: a fixed hash, so vectors are identical on every machine and run.
fn fnv(bytes: impl Iterator<Item = u8>, seed: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ seed;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Tokens: maximal runs of alphanumeric characters, lower-cased, and every other
/// non-whitespace character on its own.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            if !c.is_whitespace() && !c.is_ascii_punctuation() {
                out.push(c.to_string());
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Sparse, L2-normalised hashed vector of the texts (None: no text at all).
pub fn vectorise<'a>(texts: impl IntoIterator<Item = Option<&'a str>>) -> Option<Vec<(u32, f64)>> {
    let mut any = false;
    let mut v: Vec<(u32, f64)> = Vec::new();
    let mut add = |h: u64| {
        let bucket = (h % DIMS as u64) as u32;
        let sign = if (h >> 63) == 1 { -1.0 } else { 1.0 };
        v.push((bucket, sign));
    };
    for t in texts.into_iter().flatten() {
        any = true;
        let toks = tokens(t);
        for (i, tok) in toks.iter().enumerate() {
            add(fnv(tok.bytes(), 0));
            if let Some(next) = toks.get(i + 1) {
                add(fnv(tok.bytes().chain([b' ']).chain(next.bytes()), 1));
            }
        }
    }
    if !any {
        return None;
    }
    v.sort_unstable_by_key(|e| e.0);
    let mut merged: Vec<(u32, f64)> = Vec::with_capacity(v.len());
    for (b, x) in v {
        match merged.last_mut() {
            Some(last) if last.0 == b => last.1 += x,
            _ => merged.push((b, x)),
        }
    }
    merged.retain(|e| e.1 != 0.0);
    let norm = merged.iter().map(|e| e.1 * e.1).sum::<f64>().sqrt();
    if norm > 0.0 {
        merged.iter_mut().for_each(|e| e.1 /= norm);
    }
    Some(merged)
}

/// A fitted linear text model.
#[derive(Debug, Clone)]
pub struct TextModel {
    pub weights: Vec<f64>,
    pub intercept: f64,
}

impl TextModel {
    pub fn score(&self, x: &[(u32, f64)]) -> f64 {
        let z = self.intercept + x.iter().map(|&(b, v)| self.weights[b as usize] * v).sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }
}

/// Fits on `rows` (index into `vectors`, violating?). None when linfa fails or one class
/// is missing.
///
/// The design matrix holds only the buckets some training row uses, in column-major order.
/// Dropping unused buckets changes nothing: their gradient is the L2 term alone, so from zero
/// they stay zero. Column-major order matters for speed: linfa's gradient multiplies by the
/// transposed matrix, which in row-major order walks memory with a stride of a whole row.
fn fit(vectors: &[Option<Vec<(u32, f64)>>], rows: &[(u32, bool)]) -> Option<TextModel> {
    let pos = rows.iter().filter(|r| r.1).count();
    if pos == 0 || pos == rows.len() {
        return None;
    }
    let row_vec = |i: u32| vectors[i as usize].as_deref().unwrap_or(&[]);
    let mut column = vec![u32::MAX; DIMS];
    for &(i, _) in rows {
        for &(b, _) in row_vec(i) {
            column[b as usize] = 0;
        }
    }
    let mut buckets = Vec::new();
    for (b, c) in column.iter_mut().enumerate() {
        if *c == 0 {
            *c = buckets.len() as u32;
            buckets.push(b);
        }
    }
    let mut x = Array2::<f64>::zeros((rows.len(), buckets.len()).f());
    for (r, &(i, _)) in rows.iter().enumerate() {
        for &(b, v) in row_vec(i) {
            x[[r, column[b as usize] as usize]] = v;
        }
    }
    let y: Array1<bool> = rows.iter().map(|r| r.1).collect();
    let data = Dataset::new(x, y);
    let fitted = LogisticRegression::default().alpha(1.0).max_iterations(60).gradient_tolerance(1e-3).fit(&data).ok()?;
    // linfa-logistic 0.8.1 models the probability of the more frequent class: orient it.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    let mut weights = vec![0.0; DIMS];
    for (&b, w) in buckets.iter().zip(fitted.params()) {
        weights[b] = sign * w;
    }
    Some(TextModel { weights, intercept: sign * fitted.intercept() })
}

/// Cross-fitted text scores for entities `0..vectors.len()`, learned from `labels`
/// (entity, violating) — the visible labels only. `key` gives each entity a stable id for
/// fold assignment and subsampling. None for entities without text, or for everyone when
/// fewer than [`MIN_POSITIVES`] violating entities with text are visible.
pub fn cross_fitted_scores(vectors: &[Option<Vec<(u32, f64)>>], labels: &[(u32, bool)], key: &[u64]) -> Option<Vec<Option<f64>>> {
    let n = vectors.len();
    let mut label = vec![None; n];
    for &(e, v) in labels {
        label[e as usize] = Some(v);
    }
    // The pipeline's folds, so each entity's score comes from a model fitted without its
    // fold's labels whether or not the caller hid them.
    let fold = |e: usize| super::fold_of(key[e]);
    let with_text: Vec<usize> = (0..n).filter(|&e| vectors[e].is_some()).collect();
    let positives = with_text.iter().filter(|&&e| label[e] == Some(true)).count();
    if positives < MIN_POSITIVES {
        return None;
    }
    let models: Vec<Option<TextModel>> = (0..super::FOLDS)
        .into_par_iter()
        .map(|k| {
            let mut pos: Vec<(u32, bool)> = Vec::new();
            // Known benign first (hard negatives), then presumed-benign unlabelled by hash order.
            let mut benign: Vec<(u64, u32)> = Vec::new();
            let mut unlabelled: Vec<(u64, u32)> = Vec::new();
            for &e in with_text.iter().filter(|&&e| fold(e) != k) {
                match label[e] {
                    Some(true) => pos.push((e as u32, true)),
                    Some(false) => benign.push((mix64(key[e]), e as u32)),
                    None => unlabelled.push((mix64(key[e] ^ 0x5eed), e as u32)),
                }
            }
            benign.sort_unstable();
            unlabelled.sort_unstable();
            let cap = (pos.len() * NEGATIVES_PER_POSITIVE).clamp(500, MAX_NEGATIVES);
            let mut rows = pos;
            rows.extend(benign.into_iter().chain(unlabelled).take(cap).map(|(_, e)| (e, false)));
            rows.sort_unstable();
            fit(vectors, &rows)
        })
        .collect();
    Some(
        (0..n)
            .into_par_iter()
            .map(|e| {
                let v = vectors[e].as_ref()?;
                models[fold(e) as usize].as_ref().map(|m| m.score(v))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_words_and_symbols() {
        assert_eq!(tokens("Hello, Wörld! ☀ab12"), vec!["hello", "wörld", "☀", "ab12"]);
    }

    #[test]
    fn vectors_are_unit_length_and_none_without_text() {
        let v = vectorise([Some("alpha beta gamma"), None]).unwrap();
        let norm: f64 = v.iter().map(|e| e.1 * e.1).sum();
        assert!((norm - 1.0).abs() < 1e-12);
        assert!(vectorise([None, None]).is_none());
        assert_eq!(vectorise([Some("x y")]), vectorise([Some("X  Y")]));
    }

    #[test]
    fn learns_a_word_and_scores_held_out_entities() {
        // Entities whose text has "zorbu" are violating (and labelled so); scores must rank
        // them first, each scored by a model that never saw its label.
        let n = 400;
        let texts: Vec<String> = (0..n).map(|i| if i % 10 == 0 { format!("zorbu club {i}") } else { format!("garden club {i}") }).collect();
        let vectors: Vec<_> = texts.iter().map(|t| vectorise([Some(t.as_str())])).collect();
        let labels: Vec<(u32, bool)> = (0..n as u32).filter(|i| i % 3 == 0 || i % 10 == 0).map(|i| (i, i % 10 == 0)).collect();
        let key: Vec<u64> = (0..n as u64).collect();
        let s = cross_fitted_scores(&vectors, &labels, &key).unwrap();
        let min_pos = (0..n).filter(|i| i % 10 == 0).map(|i| s[i].unwrap()).fold(1.0, f64::min);
        let max_neg = (0..n).filter(|i| i % 10 != 0).map(|i| s[i].unwrap()).fold(0.0, f64::max);
        assert!(min_pos > max_neg, "{min_pos} <= {max_neg}");
    }

    #[test]
    fn too_few_positives_gives_no_scores() {
        let vectors = vec![vectorise([Some("a")]); 10];
        let key: Vec<u64> = (0..10).collect();
        assert!(cross_fitted_scores(&vectors, &[(0, true), (1, false)], &key).is_none());
    }
}
