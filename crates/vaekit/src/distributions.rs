//! The distributions a VAE is made of: the diagonal Gaussian posterior q(z|x), the
//! standard-normal prior, and the observation likelihoods p(x|z).
//!
//! Every function returns one value per example (a `[batch]` tensor), summed over
//! dimensions, so losses can be reported per example and averaged by the caller.
//! Log densities are in nats.

use burn::tensor::{Tensor, activation};
use serde::{Deserialize, Serialize};

/// log(2 pi), used by every Gaussian density.
const LOG_2PI: f64 = 1.837_877_066_409_345_5;

/// A Gaussian with diagonal covariance, N(mu, diag(exp(logvar))), one per row.
///
/// # Shapes
/// - `mu`, `logvar`: `[batch, latent_dim]`
#[derive(Debug, Clone)]
pub struct DiagonalGaussian {
    /// Means.
    pub mu: Tensor<2>,
    /// Log-variances.
    pub logvar: Tensor<2>,
}

impl DiagonalGaussian {
    /// A Gaussian from its mean and log-variance.
    pub fn new(mu: Tensor<2>, logvar: Tensor<2>) -> Self {
        Self { mu, logvar }
    }

    /// Standard deviations, exp(logvar / 2).
    pub fn std(&self) -> Tensor<2> {
        self.logvar.clone().mul_scalar(0.5).exp()
    }

    /// The reparameterized sample z = mu + sigma * eps, differentiable in mu and logvar.
    ///
    /// The noise is passed in so that every random draw comes from the caller's
    /// seeded generator.
    ///
    /// # Shapes
    /// - `eps`: `[batch, latent_dim]`, standard-normal noise
    /// - returns `[batch, latent_dim]`
    pub fn rsample(&self, eps: Tensor<2>) -> Tensor<2> {
        self.mu.clone() + self.std() * eps
    }

    /// log q(z) summed over dimensions.
    ///
    /// # Shapes
    /// - `z`: `[batch, latent_dim]`; returns `[batch]`
    pub fn log_prob(&self, z: Tensor<2>) -> Tensor<1> {
        sum_rows(self.log_prob_per_dim(z))
    }

    /// log q(z) of each dimension.
    ///
    /// # Shapes
    /// - `z`: `[batch, latent_dim]`; returns `[batch, latent_dim]`
    pub fn log_prob_per_dim(&self, z: Tensor<2>) -> Tensor<2> {
        let diff = z - self.mu.clone();
        let quad = diff.powi_scalar(2) * self.logvar.clone().neg().exp();
        (quad + self.logvar.clone())
            .add_scalar(LOG_2PI)
            .mul_scalar(-0.5)
    }

    /// KL(q || N(0, I)) per latent dimension, in closed form:
    /// 0.5 * (mu^2 + exp(logvar) - 1 - logvar).
    ///
    /// # Shapes
    /// - returns `[batch, latent_dim]`
    pub fn kl_per_dim(&self) -> Tensor<2> {
        (self.mu.clone().powi_scalar(2) + self.logvar.clone().exp() - self.logvar.clone())
            .sub_scalar(1.0)
            .mul_scalar(0.5)
    }

    /// The same Gaussians with each row repeated `times` times in a row
    /// (rows `i * times .. (i + 1) * times` are copies of row `i`), for drawing
    /// several samples per example in one pass.
    ///
    /// # Shapes
    /// - returns `[batch * times, latent_dim]`
    pub fn repeat_rows(&self, times: usize) -> Self {
        Self {
            mu: repeat_rows(self.mu.clone(), times),
            logvar: repeat_rows(self.logvar.clone(), times),
        }
    }

    /// KL(q || N(0, I)) summed over latent dimensions.
    ///
    /// # Shapes
    /// - returns `[batch]`
    pub fn kl_to_standard_normal(&self) -> Tensor<1> {
        sum_rows(self.kl_per_dim())
    }
}

/// log N(z; 0, I) summed over dimensions.
///
/// # Shapes
/// - `z`: `[batch, latent_dim]`; returns `[batch]`
pub fn standard_normal_log_prob(z: Tensor<2>) -> Tensor<1> {
    sum_rows(z.powi_scalar(2).add_scalar(LOG_2PI).mul_scalar(-0.5))
}

/// The observation model p(x|z).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Likelihood {
    /// Independent Bernoulli per value; the decoder gives logits. Needs data in [0, 1].
    Bernoulli,
    /// Independent Gaussian per value; the decoder gives means and the variance is
    /// learned, either one scalar or one per value, never below `min_variance`.
    Gaussian {
        /// One learned variance for all values, or one per value.
        variance: GaussianVariance,
        /// Floor on the variance, so it cannot collapse on constant pixels.
        min_variance: f64,
    },
    /// Independent Poisson per value, for counts; the decoder gives log-rates.
    /// Needs non-negative integers, unscaled.
    Poisson,
    /// Negative binomial per value, for counts whose spread exceeds their
    /// mean; the decoder gives log-means and the dispersion r is learned per
    /// value (it shares the Gaussian's per-value parameter and floor).
    NegativeBinomial,
    /// One category per block of one-hot values; the decoder gives a logit
    /// per category.
    Categorical,
    /// A discretized logistic per value over the 256 levels of 8-bit data
    /// (k / 255), the edge levels taking the tails (PixelCNN++'s and
    /// Bit-Swap's pixel model); the decoder gives a location and a log-scale
    /// per value, so the spread follows z.
    Logistic,
}

impl Likelihood {
    /// The likelihood's name, as `vaekit info` shows it.
    pub fn name(&self) -> &'static str {
        match self {
            Likelihood::Bernoulli => "bernoulli",
            Likelihood::Gaussian { .. } => "gaussian",
            Likelihood::Poisson => "poisson",
            Likelihood::NegativeBinomial => "negative binomial",
            Likelihood::Categorical => "categorical",
            Likelihood::Logistic => "discretized logistic",
        }
    }

    /// Decoder outputs per value: two for the logistic (location and
    /// log-scale), one for the others.
    pub fn outputs_per_value(&self) -> usize {
        match self {
            Likelihood::Logistic => 2,
            _ => 1,
        }
    }
}

/// The levels of 8-bit data that [`Likelihood::Logistic`] models.
pub const LOGISTIC_LEVELS: usize = 256;

/// The logistic's smallest log-scale: below it a level's probability would
/// round to 1 in f32 (PixelCNN++ uses the same bound).
pub const LOGISTIC_MIN_LOG_SCALE: f64 = -7.0;

/// -log P(x) of every value under a logistic of location `mean` and scale
/// exp(`log_scale`) discretized to the levels k / 255: the mass between
/// x -/+ 1/510, with the levels 0 and 1 taking the tails below and above.
/// Stable in f32: log-sigmoids at the edges, and an interior level's mass
/// in logs on the side of the location where it is a difference of two
/// small numbers (see the body).
///
/// # Shapes
/// - `mean`, `log_scale`, `x`: `[batch, dim]` (x on the grid k / 255);
///   returns `[batch, dim]`
pub fn logistic_nll_per_value(mean: Tensor<2>, log_scale: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
    use burn::tensor::activation::softplus;
    let step = 1.0 / (LOGISTIC_LEVELS - 1) as f64;
    let log_scale = log_scale.clamp_min(LOGISTIC_MIN_LOG_SCALE);
    let inv_scale = log_scale.clone().neg().exp();
    let centred = x.clone() - mean;
    let upper = (centred.clone().add_scalar(0.5 * step)) * inv_scale.clone();
    let lower = (centred.clone().sub_scalar(0.5 * step)) * inv_scale.clone();
    // log sigmoid(upper): the lowest level's mass; log(1 - sigmoid(lower)):
    // the highest level's.
    let log_below = upper.clone() - softplus(upper.clone(), 1.0);
    let log_above = softplus(lower.clone(), 1.0).neg();
    let middle = centred * inv_scale;
    // A level's mass sigmoid(hi) - sigmoid(lo), taken on the side of the
    // location where both sigmoids are small (hi = -lower, lo = -upper
    // above it), in logs: log sigmoid(hi) + log(1 - exp(d)) with
    // d = log sigmoid(lo) - log sigmoid(hi) <= 0, exact in f32 far into the
    // tails. Where d is within 1e-6 of 0 (a bin a millionth of the scale)
    // the density times the bin's width stands in; d is kept below that
    // bound where it is not used, so that no gradient meets log1p(-1).
    let above = middle.clone().greater_elem(0.0);
    let hi = upper.clone().mask_where(above.clone(), lower.clone().neg());
    let lo = lower.mask_where(above, upper.neg());
    let (soft_hi, soft_lo) = (softplus(hi.neg(), 1.0), softplus(lo.neg(), 1.0));
    let d = soft_hi.clone() - soft_lo;
    let log_density =
        middle.clone() - log_scale - softplus(middle, 1.0).mul_scalar(2.0) + step.ln();
    let interior = (soft_hi.neg() + d.clone().clamp_max(-1e-6).exp().neg().log1p())
        .mask_where(d.greater_elem(-1e-6), log_density);
    let log_p = interior
        .mask_where(x.clone().lower_elem(0.5 * step), log_below)
        .mask_where(x.greater_elem(1.0 - 0.5 * step), log_above);
    log_p.neg()
}

/// How the Gaussian likelihood's variance is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GaussianVariance {
    /// One variance for every value.
    Scalar,
    /// One variance per value (pixel or column).
    PerPixel,
}

impl std::str::FromStr for GaussianVariance {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "scalar" => Ok(Self::Scalar),
            "per-pixel" => Ok(Self::PerPixel),
            other => Err(format!(
                "unknown Gaussian variance '{other}'; use scalar or per-pixel"
            )),
        }
    }
}

/// -log p(x|logits) for independent Bernoulli values, summed per row, computed
/// from logits in the stable form max(l, 0) - l*x + log(1 + exp(-|l|)), which
/// neither overflows nor loses precision at large |l|. Targets may be any value
/// in [0, 1] (the continuous relaxation PyTorch's BCE also accepts).
///
/// # Shapes
/// - `logits`, `x`: `[batch, dim]`; returns `[batch]`
pub fn bernoulli_nll_from_logits(logits: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    sum_rows(bernoulli_nll_per_value(logits, x))
}

/// The terms of [`bernoulli_nll_from_logits`] before the sum over a row, so
/// that a caller can weigh them (for example keep only observed values).
///
/// # Shapes
/// - `logits`, `x`: `[batch, dim]`; returns `[batch, dim]`
pub fn bernoulli_nll_per_value(logits: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
    activation::relu(logits.clone()) - logits.clone() * x + logits.abs().neg().exp().log1p()
}

/// -log N(x; mean, exp(logvar)) summed per row. `logvar` broadcasts: `[1, dim]`
/// or `[1, 1]` for a learned variance shared across the batch.
///
/// # Shapes
/// - `mean`, `x`: `[batch, dim]`; `logvar`: `[batch or 1, dim or 1]`; returns `[batch]`
pub fn gaussian_nll(mean: Tensor<2>, logvar: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    sum_rows(gaussian_nll_per_value(mean, logvar, x))
}

/// The terms of [`gaussian_nll`] before the sum over a row.
///
/// # Shapes
/// - as for [`gaussian_nll`]; returns `[batch, dim]`
pub fn gaussian_nll_per_value(mean: Tensor<2>, logvar: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
    let [batch, dim] = x.dims();
    let logvar = logvar.expand([batch, dim]);
    let quad = (x - mean).powi_scalar(2) * logvar.clone().neg().exp();
    (quad + logvar).add_scalar(LOG_2PI).mul_scalar(0.5)
}

/// -log Poisson(x; rate = exp(log_rate)) of every value:
/// rate - x log_rate + log x!, for counts x >= 0.
///
/// # Shapes
/// - `log_rate`, `x`: `[batch, dim]`; returns `[batch, dim]`
pub fn poisson_nll_per_value(log_rate: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
    log_rate.clone().exp() - x.clone() * log_rate + log_factorial(x)
}

/// -log NegBin(x; mean = exp(log_mean), dispersion r = exp(log_r)) of every
/// value: log Gamma(r) + log x! - log Gamma(x + r) - r log(r / (r + mean))
/// minus x log(mean / (r + mean)), with log(r + mean) as a stable log-sum-exp.
/// Its variance is mean + mean^2 / r, so a small r fits a spread-out count.
///
/// # Shapes
/// - `log_mean`, `x`: `[batch, dim]`; `log_r`: `[1, dim]` or `[1, 1]`; returns `[batch, dim]`
pub fn negative_binomial_nll_per_value(
    log_mean: Tensor<2>,
    log_r: Tensor<2>,
    x: Tensor<2>,
) -> Tensor<2> {
    let [batch, dim] = log_mean.dims();
    let log_r = log_r.expand([batch, dim]);
    let r = log_r.clone().exp();
    let high = log_mean.clone().max_pair(log_r.clone());
    let gap = (log_mean.clone() - log_r.clone()).abs().neg();
    let log_sum = high + gap.exp().log1p();
    // log Gamma(y) = log (y - 1)! for y > 0 (see `log_factorial`).
    log_factorial(r.clone().sub_scalar(1.0)) + log_factorial(x.clone())
        - log_factorial((x.clone() + r.clone()).sub_scalar(1.0))
        - r * (log_r - log_sum.clone())
        - x * (log_mean - log_sum)
}

/// -log Categorical(k; softmax(logits)) of one-hot rows `x`, spread over
/// the values: the category's value holds its -log probability, the others
/// 0, so a row's sum is the block's -log p.
///
/// # Shapes
/// - `logits`, `x`: `[batch, categories]`; returns `[batch, categories]`
pub fn categorical_nll_per_value(logits: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
    (activation::log_softmax(logits, 1) * x).neg()
}

/// log x! = log Gamma(x + 1) of every value (x > -1), from Stirling's
/// series at y + 3, brought down to y = x + 1 by
/// log Gamma(y) = log Gamma(y + 3) - log (y (y + 1) (y + 2)): within 1e-7
/// of the exact value at every x >= 0 in f64 (f32 rounding dominates), in
/// tensor operations so that it stays on the device.
///
/// # Shapes
/// - `x`: any `[rows, cols]`; returns the same shape
pub fn log_factorial(x: Tensor<2>) -> Tensor<2> {
    let y = x.add_scalar(1.0);
    let w = y.clone().add_scalar(3.0);
    let inv = w.clone().recip();
    let inv2 = inv.clone().powi_scalar(2);
    // 1/(12w) - 1/(360w^3) + 1/(1260w^5)
    let series = inv.clone()
        * (inv2.clone() * (inv2.mul_scalar(1.0 / 1260.0).sub_scalar(1.0 / 360.0)))
            .add_scalar(1.0 / 12.0);
    let stirling =
        (w.clone().sub_scalar(0.5) * w.clone().log()) - w + series.add_scalar(0.5 * LOG_2PI);
    stirling - (y.clone() * y.clone().add_scalar(1.0) * y.add_scalar(2.0)).log()
}

/// Sums `[batch, n]` over its second dimension to `[batch]`.
/// Each row of `t` repeated `times` times in a row (a no-op for `times == 1`).
///
/// # Shapes
/// - `t`: `[rows, cols]`; returns `[rows * times, cols]`
pub fn repeat_rows(t: Tensor<2>, times: usize) -> Tensor<2> {
    if times == 1 {
        return t;
    }
    let [rows, cols] = t.dims();
    t.unsqueeze_dim::<3>(1)
        .repeat_dim(1, times)
        .reshape([rows * times, cols])
}

/// The mean over each example's `times` consecutive rows (the inverse of
/// [`repeat_rows`] for repeated rows).
///
/// # Shapes
/// - `t`: `[rows * times, cols]`; returns `[rows, cols]`
pub fn mean_of_repeats(t: Tensor<2>, times: usize) -> Tensor<2> {
    if times == 1 {
        return t;
    }
    let [total, cols] = t.dims();
    let rows = total / times;
    t.reshape([rows, times, cols])
        .mean_dim(1)
        .reshape([rows, cols])
}

pub(crate) fn sum_rows(t: Tensor<2>) -> Tensor<1> {
    let [batch, _] = t.dims();
    t.sum_dim(1).reshape([batch])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;
    use std::f64::consts::PI;

    fn device() -> Device {
        Device::flex()
    }

    fn t2(values: &[f32], rows: usize, cols: usize) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values.to_vec(), [rows, cols]), &device())
    }

    fn to_vec(t: Tensor<1>) -> Vec<f32> {
        t.into_data().try_into_vec::<f32>().unwrap()
    }

    /// The discretized logistic against its definition in f64 (differences
    /// of sigmoids, the tails at the edge levels), at wide and narrow scales
    /// and far from the data; its 256 probabilities sum to 1.
    #[test]
    fn the_discretized_logistic_matches_its_definition_and_sums_to_one() {
        let sigmoid = |t: f64| 1.0 / (1.0 + (-t).exp());
        let nll = |x: f64, mean: f64, log_scale: f64| {
            let s = log_scale.max(LOGISTIC_MIN_LOG_SCALE).exp();
            // Above the location, 1 - F on both edges, where f64 is exact.
            let flip = if x > mean { -1.0 } else { 1.0 };
            let at = |edge: f64| sigmoid(flip * (edge - mean) / s);
            let upper = if x > 1.0 - 1e-9 {
                (1.0 + flip) / 2.0
            } else {
                at(x + 0.5 / 255.0)
            };
            let lower = if x < 1e-9 {
                (1.0 - flip) / 2.0
            } else {
                at(x - 0.5 / 255.0)
            };
            -(flip * (upper - lower)).ln()
        };
        for (mean, log_scale) in [
            (0.3f32, -2.0f32),
            (0.0, -4.0),
            (0.98, -6.0),
            (-0.5, -3.0),
            (0.5, 1.0),
            (0.7, -9.0),
        ] {
            let levels: Vec<f32> = (0..256).map(|k| k as f32 / 255.0).collect();
            let got = logistic_nll_per_value(
                t2(&vec![mean; 256], 1, 256),
                t2(&vec![log_scale; 256], 1, 256),
                t2(&levels, 1, 256),
            )
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
            let mut total = 0.0f64;
            for (k, (&g, &x)) in got.iter().zip(&levels).enumerate() {
                let want = nll(f64::from(x), f64::from(mean), f64::from(log_scale));
                total += (-f64::from(g)).exp();
                // Beyond f64's reach (a mass below 1e-308) only its size.
                match want.is_finite() {
                    true => assert!(
                        (f64::from(g) - want).abs() < 1e-3 + 1e-4 * want,
                        "{mean} {log_scale} level {k}: {g} against {want}"
                    ),
                    false => assert!(g > 700.0, "{mean} {log_scale} level {k}: {g}"),
                }
            }
            assert!(
                (total - 1.0).abs() < 2e-3,
                "{mean} {log_scale}: the levels sum to {total}"
            );
        }
    }

    #[test]
    fn log_factorial_and_the_poisson_nll_match_the_gamma_function() {
        let counts: Vec<f32> = (0..40)
            .map(|k| k as f32)
            .chain([99.0, 1000.0, 123456.0])
            .collect();
        let n = counts.len();
        let got = log_factorial(t2(&counts, 1, n))
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        for (&x, g) in counts.iter().zip(&got) {
            let exact = statrs::function::gamma::ln_gamma(f64::from(x) + 1.0);
            assert!(
                (f64::from(*g) - exact).abs() <= 1e-5 * exact.abs().max(1.0),
                "log {x}! = {exact}, got {g}"
            );
        }
        // -log Poisson(3; 2.5) = 2.5 - 3 log 2.5 + log 6, and at x = 0 the rate.
        let log_rate = t2(&[2.5f32.ln(), 0.7], 1, 2);
        let nll = poisson_nll_per_value(log_rate, t2(&[3.0, 0.0], 1, 2))
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        let want = 2.5 - 3.0 * 2.5f64.ln() + 6f64.ln();
        assert!(
            (f64::from(nll[0]) - want).abs() < 1e-5,
            "{} vs {want}",
            nll[0]
        );
        assert!((f64::from(nll[1]) - 0.7f64.exp()).abs() < 1e-5);
    }

    #[test]
    fn log2pi_constant_is_right() {
        assert!((LOG_2PI - (2.0 * PI).ln()).abs() < 1e-15);
    }

    #[test]
    fn kl_closed_form_matches_monte_carlo() {
        // KL(q || p) = E_q[log q(z) - log p(z)], estimated with 200,000 draws.
        let mu = [0.7f32, -1.3, 0.0, 2.0];
        let logvar = [-0.5f32, 0.8, 0.0, -2.0];
        let q = DiagonalGaussian::new(t2(&mu, 1, 4), t2(&logvar, 1, 4));
        let closed = to_vec(q.kl_to_standard_normal())[0] as f64;

        let n = 200_000;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let eps: Vec<f32> = (0..n * 4).map(|_| rng.sample(StandardNormal)).collect();
        let qn = DiagonalGaussian::new(
            t2(&mu, 1, 4).expand([n, 4]),
            t2(&logvar, 1, 4).expand([n, 4]),
        );
        let z = qn.rsample(t2(&eps, n, 4));
        let log_ratio = to_vec(qn.log_prob(z.clone()) - standard_normal_log_prob(z));
        let mean = log_ratio.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
        let var = log_ratio
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / (n - 1) as f64;
        let stderr = (var / n as f64).sqrt();
        assert!(
            (closed - mean).abs() < 4.0 * stderr + 1e-3,
            "closed {closed} vs MC {mean} +- {stderr}"
        );
        // And the independent hand computation of the closed form.
        let by_hand: f64 = mu
            .iter()
            .zip(logvar)
            .map(|(&m, lv)| 0.5 * ((m * m) as f64 + (lv as f64).exp() - 1.0 - lv as f64))
            .sum();
        assert!((closed - by_hand).abs() < 1e-5);
    }

    #[test]
    fn kl_is_zero_at_the_prior_and_positive_elsewhere() {
        let q = DiagonalGaussian::new(t2(&[0.0; 3], 1, 3), t2(&[0.0; 3], 1, 3));
        assert!(to_vec(q.kl_to_standard_normal())[0].abs() < 1e-7);
        let q = DiagonalGaussian::new(t2(&[0.1, 0.0, -3.0], 1, 3), t2(&[0.0, 1.0, -4.0], 1, 3));
        assert!(to_vec(q.kl_to_standard_normal())[0] > 0.0);
    }

    #[test]
    fn gaussian_log_prob_matches_formula_and_entropy() {
        let q = DiagonalGaussian::new(t2(&[1.0, -2.0], 1, 2), t2(&[0.5, -1.0], 1, 2));
        let lp = to_vec(q.log_prob(t2(&[0.0, 0.0], 1, 2)))[0] as f64;
        let by_hand = [(1.0f64, 0.5f64), (-2.0, -1.0)]
            .iter()
            .map(|&(m, lv)| -0.5 * (LOG_2PI + lv + m * m / lv.exp()))
            .sum::<f64>();
        assert!((lp - by_hand).abs() < 1e-5, "{lp} vs {by_hand}");
        // At z = mu the quadratic term vanishes: log q(mu) = -0.5 * sum(log 2pi + logvar).
        let at_mean = to_vec(q.log_prob(t2(&[1.0, -2.0], 1, 2)))[0] as f64;
        assert!((at_mean + 0.5 * (2.0 * LOG_2PI + 0.5 - 1.0)).abs() < 1e-5);
    }

    #[test]
    fn bce_from_logits_is_exact_at_extreme_logits() {
        // Direct formula in f64: -[x log s(l) + (1-x) log(1 - s(l))], with
        // log s(l) = -log(1+e^-l) evaluated stably by hand.
        fn direct(l: f64, x: f64) -> f64 {
            let log_sig = |v: f64| -> f64 {
                if v >= 0.0 {
                    -(-v).exp().ln_1p()
                } else {
                    v - v.exp().ln_1p()
                }
            };
            -(x * log_sig(l) + (1.0 - x) * log_sig(-l))
        }
        let logits = [-120.0f32, -30.0, -5.0, 0.0, 1e-4, 5.0, 30.0, 120.0];
        for x in [0.0f32, 0.25, 1.0] {
            let got = to_vec(bernoulli_nll_from_logits(
                t2(&logits, logits.len(), 1),
                t2(&vec![x; logits.len()], logits.len(), 1),
            ));
            for (l, g) in logits.iter().zip(got) {
                let want = direct(*l as f64, x as f64);
                assert!(g.is_finite(), "non-finite at l={l}, x={x}");
                let tol = 1e-5 * want.abs().max(1.0);
                assert!((g as f64 - want).abs() < tol, "l={l} x={x}: {g} vs {want}");
            }
        }
    }

    #[test]
    fn gaussian_nll_matches_formula_with_broadcast_variance() {
        let mean = t2(&[0.0, 1.0, 2.0, 3.0], 2, 2);
        let x = t2(&[0.5, 1.0, 1.0, 4.0], 2, 2);
        let logvar = t2(&[0.3], 1, 1);
        let got = to_vec(gaussian_nll(mean, logvar, x));
        let nll = |d: f64| 0.5 * (LOG_2PI + 0.3 + d * d / 0.3f64.exp());
        let want = [nll(0.5) + nll(0.0), nll(1.0) + nll(1.0)];
        for (g, w) in got.iter().zip(want) {
            assert!((*g as f64 - w).abs() < 1e-5, "{g} vs {w}");
        }
    }
}
