//! Mode-specific normalization, TVAE's coding of a real column (Xu et al.
//! 2019, "Modeling Tabular Data using Conditional GAN", section 4.2): a
//! Gaussian mixture is fitted to the column, and a value is coded as the mode
//! it most likely came from (one-hot) and its offset from that mode's mean in
//! units of four standard deviations. A column with spikes (hours worked,
//! 47 % at 40) or a mass at zero beside large values (capital gains) then has
//! a mode per spike, which one Gaussian on the standardized value cannot
//! reproduce.
//!
//! The mixture is [`crate::stats::gmm`]'s EM from a k-means start, with at
//! most [`MAX_MODES`] components; those under [`MIN_WEIGHT`] are dropped, as
//! TVAE's Bayesian mixture drops them. Unlike TVAE, which draws a value's
//! mode from its posterior at every encoding, the coding here takes the
//! likeliest mode, so a row always encodes the same way.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::stats::gmm::fit_diagonal_gmm;
use crate::stats::kmeans::{KMeansConfig, kmeans};

/// Most modes per column (TVAE's `max_clusters`).
pub const MAX_MODES: usize = 10;

/// Modes with less weight are dropped (TVAE's `weight_threshold`).
pub const MIN_WEIGHT: f64 = 0.005;

/// EM steps after the k-means start.
const EM_STEPS: usize = 50;

/// A column's fitted modes, ordered by mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Modes {
    /// Each mode's mean, in the column's units.
    pub means: Vec<f32>,
    /// Each mode's standard deviation.
    pub sds: Vec<f32>,
    /// Each mode's mixing weight.
    pub weights: Vec<f32>,
    /// Every training value was a whole number (written back as one).
    pub integer: bool,
}

impl Modes {
    /// Fits the modes of a column's observed values.
    ///
    /// # Errors
    ///
    /// [`Error::Data`] when there are no values or one is not finite.
    pub fn fit(values: &[f64]) -> Result<Modes> {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return Err(Error::Data(
                "a column coded by modes needs finite values".into(),
            ));
        }
        let mut distinct: Vec<f64> = values.to_vec();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        let points: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        let k = MAX_MODES.min(distinct.len());
        let start = kmeans(
            &points,
            1,
            &KMeansConfig {
                restarts: 3,
                ..KMeansConfig::new(k)
            },
        )?;
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
        // A mode on one repeated value (a spike) keeps a small, finite width:
        // a millionth of the column's variance, or 1e-6 for a constant one.
        let floor = (var * 1e-6).max(1e-12);
        let gmm = fit_diagonal_gmm(&points, &start, EM_STEPS, floor)?;
        let mut kept: Vec<(f64, f64, f64)> = (0..gmm.k)
            .filter(|&c| gmm.weights[c] >= MIN_WEIGHT)
            .map(|c| (gmm.means[c], gmm.variances[c].sqrt(), gmm.weights[c]))
            .collect();
        if kept.is_empty() {
            kept.push((mean, var.sqrt().max(floor.sqrt()), 1.0));
        }
        kept.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: f64 = kept.iter().map(|m| m.2).sum();
        Ok(Modes {
            means: kept.iter().map(|m| m.0 as f32).collect(),
            sds: kept.iter().map(|m| m.1 as f32).collect(),
            weights: kept.iter().map(|m| (m.2 / total) as f32).collect(),
            integer: values.iter().all(|v| v.fract() == 0.0),
        })
    }

    /// Number of modes.
    pub fn len(&self) -> usize {
        self.means.len()
    }

    /// `true` for no modes (never, once fitted).
    pub fn is_empty(&self) -> bool {
        self.means.is_empty()
    }

    /// The likeliest mode of `v` and its offset (v - mean) / (4 sd).
    pub fn encode(&self, v: f64) -> (usize, f32) {
        let log_joint = |c: usize| {
            let sd = f64::from(self.sds[c]);
            let d = (v - f64::from(self.means[c])) / sd;
            f64::from(self.weights[c]).ln() - sd.ln() - 0.5 * d * d
        };
        let best = (0..self.len())
            .max_by(|&a, &b| log_joint(a).total_cmp(&log_joint(b)))
            .unwrap_or(0);
        let offset = (v - f64::from(self.means[best])) / (4.0 * f64::from(self.sds[best]));
        (best, offset as f32)
    }

    /// The value a model row's part for this column stands for: its offset,
    /// then one value per mode (one-hot, or probabilities), the likeliest
    /// mode taken.
    pub fn value_of(&self, part: &[f32]) -> f32 {
        let mode = super::likeliest(part.get(1..).unwrap_or(&[]));
        self.decode(mode, part.first().copied().unwrap_or(0.0))
    }

    /// The value of `offset` in mode `mode`.
    pub fn decode(&self, mode: usize, offset: f32) -> f32 {
        let c = mode.min(self.len().saturating_sub(1));
        let v = self.means[c] + 4.0 * self.sds[c] * offset;
        if self.integer { v.round() } else { v }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_beside_a_spread_gets_a_mode_of_its_own() {
        // 40 % exactly 0, the rest spread around 1000 and 5000.
        let values: Vec<f64> = (0..1000)
            .map(|i| match i % 5 {
                0 | 1 => 0.0,
                2 | 3 => 1000.0 + ((i * 37) % 101) as f64,
                _ => 5000.0 + ((i * 53) % 201) as f64,
            })
            .collect();
        let modes = Modes::fit(&values).unwrap();
        assert!(modes.integer);
        assert!((2..=MAX_MODES).contains(&modes.len()), "{modes:?}");
        // The spike: one mode at 0 holding its 40 %, narrow (the column's
        // standard deviation is about 2,000; the width floor is 1/1000 of it).
        assert!(modes.means[0].abs() < 1e-3, "{modes:?}");
        assert!((modes.weights[0] - 0.4).abs() < 1e-3, "{modes:?}");
        assert!(modes.sds[0] < 3.0, "{modes:?}");
        let total: f32 = modes.weights.iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
        assert!(modes.weights.iter().all(|&w| f64::from(w) >= MIN_WEIGHT));
        // Every value codes to an offset within its mode and comes back.
        for &v in &values {
            let (mode, offset) = modes.encode(v);
            assert!(offset.abs() < 1.0, "{v} -> mode {mode}, offset {offset}");
            assert_eq!(modes.decode(mode, offset), v as f32, "{v}");
        }
        assert_eq!(modes.encode(0.0), (0, 0.0));
    }

    #[test]
    fn a_constant_column_is_one_mode() {
        let modes = Modes::fit(&[3.5; 10]).unwrap();
        assert_eq!(modes.len(), 1);
        assert!(!modes.integer);
        assert_eq!(modes.decode(0, modes.encode(3.5).1), 3.5);
        assert!(Modes::fit(&[]).is_err());
        assert!(Modes::fit(&[1.0, f64::NAN]).is_err());
    }
}
