//! The prior p(z): the standard normal, or the VampPrior (Tomczak & Welling
//! 2018), the mixture (1/K) sum_k q(z|u_k) of the encoder's posteriors at K
//! learned pseudo-inputs u_k.
//!
//! The mixture has no closed-form KL to q(z|x), so models with it estimate the
//! KL term from the samples of z (log q(z|x) - log p(z)).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::distributions::DiagonalGaussian;

/// log(2 pi).
const LOG_2PI: f64 = 1.837_877_066_409_345_5;

/// Which prior p(z) a model has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Prior {
    /// N(0, I).
    #[default]
    Standard,
    /// The VampPrior with this many pseudo-inputs.
    Vamp {
        /// K, the number of mixture components.
        pseudo_inputs: usize,
    },
}

/// log (1/K) sum_k N(z; mu_k, diag(var_k)) of each row of `z` under the
/// mixture of the K `components`.
///
/// The quadratic terms are expanded into two matrix products, so memory is
/// `[rows, K]` rather than `[rows, K, latent_dim]`.
///
/// # Shapes
/// - `z`: `[rows, latent_dim]`; `components`: `[K, latent_dim]`; returns `[rows]`
pub fn mixture_log_prob(z: Tensor<2>, components: &DiagonalGaussian) -> Tensor<1> {
    let [k, _] = components.mu.dims();
    let precision = components.logvar.clone().neg().exp();
    let scaled_mu = components.mu.clone() * precision.clone();
    // sum_l (z - mu)^2 / var = z^2 . (1/var) - 2 z . (mu/var) + sum_l mu^2 / var
    let constant = (scaled_mu.clone() * components.mu.clone()
        + components.logvar.clone().add_scalar(LOG_2PI))
    .sum_dim(1)
    .transpose();
    let quad = z.clone().powi_scalar(2).matmul(precision.transpose())
        - z.matmul(scaled_mu.transpose()).mul_scalar(2.0);
    let log_components = (quad + constant).mul_scalar(-0.5);
    let max = log_components.clone().detach().max_dim(1);
    let sum = (log_components - max.clone()).exp().sum_dim(1);
    (sum.log() + max).sub_scalar((k as f64).ln()).squeeze_dim(1)
}

/// KL(q_d || N(m_d, s_d^2)) of each dimension d, where m_d and s_d^2 are the
/// mean and variance of the mixture's marginal in that dimension: a
/// per-dimension view of a KL that the mixture does not split exactly (these
/// need not sum to the model's KL term).
///
/// # Shapes
/// - `q`: `[rows, latent_dim]`; `components`: `[K, latent_dim]`; returns `[rows, latent_dim]`
pub fn kl_per_dim_to_moments(q: &DiagonalGaussian, components: &DiagonalGaussian) -> Tensor<2> {
    let mean = components.mu.clone().mean_dim(0);
    let second =
        (components.logvar.clone().exp() + components.mu.clone().powi_scalar(2)).mean_dim(0);
    let var = (second - mean.clone().powi_scalar(2)).clamp_min(1e-12);
    let ratio = (q.logvar.clone().exp() + (q.mu.clone() - mean).powi_scalar(2)) / var.clone();
    (var.log() - q.logvar.clone() + ratio)
        .sub_scalar(1.0)
        .mul_scalar(0.5)
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, TensorData};

    use super::*;
    use crate::kernels::testing::values_of;

    fn tensor(values: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
    }

    #[test]
    fn the_mixture_density_matches_a_direct_sum_of_components() {
        let device = Device::flex();
        let components = DiagonalGaussian::new(
            tensor(&[0.0, 1.0, -2.0, 0.5, 3.0, -1.0], [3, 2], &device),
            tensor(&[0.0, -1.0, 0.7, 0.2, -2.0, 1.5], [3, 2], &device),
        );
        let z = tensor(&[0.3, -0.4, 2.5, -1.0, -8.0, 9.0], [3, 2], &device);
        let got = values_of(mixture_log_prob(z.clone(), &components));
        for (row, g) in got.iter().enumerate() {
            let zr = z.clone().slice([row..row + 1, 0..2]);
            let direct: f64 = (0..3)
                .map(|k| {
                    let one = DiagonalGaussian::new(
                        components.mu.clone().slice([k..k + 1, 0..2]),
                        components.logvar.clone().slice([k..k + 1, 0..2]),
                    );
                    (values_of(one.log_prob(zr.clone()))[0] as f64).exp()
                })
                .sum::<f64>()
                / 3.0;
            let direct = direct.ln();
            assert!(
                (*g as f64 - direct).abs() < 2e-4 * direct.abs().max(1.0),
                "row {row}: {g} vs {direct}"
            );
        }
    }

    #[test]
    fn one_standard_component_is_the_standard_normal() {
        let device = Device::flex();
        let standard = DiagonalGaussian::new(
            Tensor::zeros([1, 3], &device),
            Tensor::zeros([1, 3], &device),
        );
        let z = tensor(&[0.1, -0.2, 1.3, 2.0, 0.0, -0.7], [2, 3], &device);
        let mixture = values_of(mixture_log_prob(z.clone(), &standard));
        let normal = values_of(crate::distributions::standard_normal_log_prob(z.clone()));
        for (a, b) in mixture.iter().zip(&normal) {
            assert!((a - b).abs() < 1e-5);
        }
        // And each dimension's KL against it is the closed-form KL to N(0, 1).
        let q = DiagonalGaussian::new(z.clone(), z.mul_scalar(0.5));
        let per_dim = values_of(kl_per_dim_to_moments(&q, &standard));
        let expected = values_of(q.kl_per_dim());
        for (a, b) in per_dim.iter().zip(&expected) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
