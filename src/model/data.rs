//! From feature tables to model inputs: feature matrices and the preprocessing a model file
//! carries.
//!
//! Preprocessing is deliberately simple and fixed, so that it transfers to data nobody tuned
//! it on: every feature goes through a signed `ln(1 + |x|)` (counts are heavy-tailed; shares
//! barely move), nulls take the training median of the transformed value, and the result is
//! standardised with the training mean and deviation.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::features::FeatureTable;

/// Column-major feature values of some entities (NaN = null), named.
#[derive(Debug, Clone)]
pub struct Columns {
    pub names: Vec<String>,
    /// `values[j][r]`: feature `j` of row `r`.
    pub values: Vec<Vec<f64>>,
}

impl Columns {
    pub fn rows(&self) -> usize {
        self.values.first().map_or(0, Vec::len)
    }
}

/// Feature names a model of this kind uses: every column of the table except the key,
/// optionally only those that are not graph features.
pub fn feature_names(table: &FeatureTable, tabular_only: bool) -> Vec<String> {
    let graph = crate::features::graph_feature_names(table.kind);
    table
        .columns
        .iter()
        .map(|c| c.name)
        .filter(|n| !tabular_only || !graph.contains(n))
        .map(str::to_string)
        .collect()
}

/// Pre-processing parameters, per feature: median (after the log transform) for nulls,
/// mean and deviation for standardising.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prep {
    pub names: Vec<String>,
    pub median: Vec<f64>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

pub fn slog(x: f64) -> f64 {
    x.signum() * x.abs().ln_1p()
}

impl Prep {
    /// Fits on the given rows of `cols`.
    pub fn fit(cols: &Columns, rows: &[usize]) -> Prep {
        // Columns in parallel; within one, the same sums in the same order.
        let fitted: Vec<(f64, f64, f64)> = cols
            .values
            .par_iter()
            .map(|v| {
                let mut xs: Vec<f64> = rows.iter().map(|&r| v[r]).filter(|x| !x.is_nan()).map(slog).collect();
                xs.sort_unstable_by(f64::total_cmp);
                let med = if xs.is_empty() { 0.0 } else { xs[xs.len() / 2] };
                let filled: Vec<f64> = rows.iter().map(|&r| if v[r].is_nan() { med } else { slog(v[r]) }).collect();
                let n = filled.len().max(1) as f64;
                let m = filled.iter().sum::<f64>() / n;
                let var = filled.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
                (med, m, if var > 1e-24 { var.sqrt() } else { 1.0 })
            })
            .collect();
        Prep {
            names: cols.names.clone(),
            median: fitted.iter().map(|f| f.0).collect(),
            mean: fitted.iter().map(|f| f.1).collect(),
            std: fitted.iter().map(|f| f.2).collect(),
        }
    }

    /// Transformed value of feature `j`.
    pub fn apply(&self, j: usize, x: f64) -> f64 {
        let v = if x.is_nan() { self.median[j] } else { slog(x) };
        (v - self.mean[j]) / self.std[j]
    }

    /// Row-major transformed matrix of `rows`.
    pub fn matrix(&self, cols: &Columns, rows: &[usize]) -> ndarray::Array2<f64> {
        let p = self.names.len();
        let mut m = vec![0.0; rows.len() * p];
        if p > 0 {
            m.par_chunks_mut(p).zip(rows).for_each(|(row, &r)| {
                for (j, (x, v)) in row.iter_mut().zip(&cols.values).enumerate() {
                    *x = self.apply(j, v[r]);
                }
            });
        }
        ndarray::Array2::from_shape_vec((rows.len(), p), m).expect("rows × features values")
    }
}

/// Checks that `table` holds every feature the model was trained on; the error names the
/// missing ones (scoring with absent features would be a silent zero).
pub fn select(table: &FeatureTable, names: &[String]) -> Result<Columns, Vec<String>> {
    let missing: Vec<String> = names.iter().filter(|n| table.column(n).is_none()).cloned().collect();
    if !missing.is_empty() {
        return Err(missing);
    }
    let values = names
        .iter()
        .map(|n| table.column(n).expect("checked").as_nan_slice().to_vec())
        .collect();
    Ok(Columns { names: names.to_vec(), values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prep_imputes_logs_and_standardises() {
        let cols = Columns { names: vec!["a".into()], values: vec![vec![0.0, 1.0, f64::NAN, 3.0]] };
        let p = Prep::fit(&cols, &[0, 1, 2, 3]);
        let m = p.matrix(&cols, &[0, 1, 2, 3]);
        let mean: f64 = m.column(0).sum() / 4.0;
        assert!(mean.abs() < 1e-12);
        // The null takes the median of ln(1+x) over {0, ln 2, ln 4}: ln 2.
        assert!((m[[2, 0]] - m[[1, 0]]).abs() < 1e-12);
    }
}
