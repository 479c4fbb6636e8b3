//! The prior p(z): the standard normal; the VampPrior (Tomczak & Welling
//! 2018), the mixture (1/K) sum_k q(z|u_k) of the encoder's posteriors at K
//! learned pseudo-inputs u_k; or a learned Gaussian mixture
//! sum_c pi_c N(mu_c, diag sigma_c^2) whose components are clusters (VaDE,
//! Jiang et al. 2017).
//!
//! The VampPrior has no closed-form KL to q(z|x), so models with it estimate
//! the KL term from the samples of z (log q(z|x) - log p(z)). The Gaussian
//! mixture takes VaDE's route instead: a cluster variable c with
//! q(c|x) = p(c|z) at the sampled z, and the KL of q(z|x) q(c|x) to
//! p(z|c) p(c) in closed form given those responsibilities
//! ([`GaussianMixture::kl`]). That is a bound for any q(c|x), so using the
//! responsibilities of a sample keeps it one in expectation.

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};

use burn::tensor::{Int, TensorData};

use crate::distributions::{DiagonalGaussian, mean_of_repeats, standard_normal_log_prob, sum_rows};
use crate::nn::keep_grad;

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
    /// A learned Gaussian mixture with this many components (the clusters).
    Gmm {
        /// The number of mixture components.
        components: usize,
    },
}

/// The prior of a one-layer model's code as a part: what every use of p(z)
/// asks (its density, its draws, its KL term), whichever prior it is.
/// [`Vae::latent_prior`](super::Vae::latent_prior) builds it from the model's
/// weights.
// Built afresh for each use and gone after it: boxing the VampPrior's
// tensors would only add an allocation per call.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum LatentPrior<'a> {
    /// N(0, I).
    Standard,
    /// The VampPrior: its components q(z|u_k), the posteriors at the
    /// pseudo-inputs, weighted 1/K.
    Vamp(DiagonalGaussian),
    /// The learned Gaussian mixture.
    Mixture(&'a GaussianMixture),
}

impl LatentPrior<'_> {
    /// log p(z) of each row.
    ///
    /// # Shapes
    /// - `z`: `[rows, latent_dim]`; returns `[rows]`
    pub fn log_prob(&self, z: Tensor<2>) -> Tensor<1> {
        match self {
            LatentPrior::Standard => standard_normal_log_prob(z),
            LatentPrior::Vamp(components) => mixture_log_prob(z, components),
            LatentPrior::Mixture(m) => m.log_prob(z),
        }
    }

    /// The components of a mixture prior (None for N(0, I)).
    ///
    /// # Shapes
    /// - returns `[K, latent_dim]` means and log-variances
    pub fn components(&self) -> Option<DiagonalGaussian> {
        match self {
            LatentPrior::Standard => None,
            LatentPrior::Vamp(components) => Some(components.clone()),
            LatentPrior::Mixture(m) => Some(m.components()),
        }
    }

    /// The mixing weights of a mixture prior (None for N(0, I)).
    pub fn weights(&self) -> Option<Vec<f32>> {
        match self {
            LatentPrior::Standard => None,
            LatentPrior::Vamp(components) => {
                let k = components.mu.dims()[0];
                Some(vec![1.0 / k as f32; k])
            }
            LatentPrior::Mixture(m) => {
                let w = m.log_weights().exp().into_data().try_into_vec::<f32>();
                Some(w.unwrap_or_default())
            }
        }
    }

    /// Draws from a mixture prior: component `choice[i]` (clamped to the
    /// last) shifted and scaled by row `i` of `eps` (None for N(0, I), whose
    /// draws are `eps` itself).
    ///
    /// # Shapes
    /// - `eps`: `[n, latent_dim]`; returns `[n, latent_dim]`
    pub fn sample(&self, eps: Tensor<2>, choice: &[usize]) -> Option<Tensor<2>> {
        let components = self.components()?;
        let [k, _] = components.mu.dims();
        let rows: Vec<i64> = choice.iter().map(|&c| c.min(k - 1) as i64).collect();
        let index =
            Tensor::<1, Int>::from_data(TensorData::new(rows, [choice.len()]), &eps.device());
        let chosen = DiagonalGaussian::new(
            components.mu.select(0, index.clone()),
            components.logvar.select(0, index),
        );
        Some(chosen.rsample(eps))
    }

    /// The KL term of the ELBO for posteriors `q` and K samples `z` per
    /// example drawn from them (`repeated` is `q` with each row repeated K
    /// times): per example, and split over the latent dimensions.
    ///
    /// Closed form for N(0, I); the sample estimate log q(z|x) - log p(z)
    /// for the VampPrior (with each dimension's KL to the mixture's marginal
    /// moments as the split); VaDE's closed form given the responsibilities
    /// at the samples for the Gaussian mixture (the Gaussian part split over
    /// the dimensions).
    ///
    /// # Shapes
    /// - `q`: `[batch, latent_dim]`; `repeated`, `z`: `[batch * K, latent_dim]`;
    ///   returns `[batch]` and `[batch, latent_dim]`
    pub fn kl(
        &self,
        q: &DiagonalGaussian,
        repeated: &DiagonalGaussian,
        z: Tensor<2>,
    ) -> (Tensor<1>, Tensor<2>) {
        let [batch, _] = q.mu.dims();
        let k = z.dims()[0] / batch.max(1);
        match self {
            LatentPrior::Standard => {
                let per_dim = q.kl_per_dim();
                (sum_rows(per_dim.clone()), per_dim)
            }
            LatentPrior::Vamp(components) => {
                let ratio = repeated.log_prob(z.clone()) - mixture_log_prob(z, components);
                let kl = mean_over_samples(ratio.reshape([batch, k]));
                (kl, kl_per_dim_to_moments(q, components))
            }
            LatentPrior::Mixture(m) => {
                let (kl, per_dim) = m.kl(repeated, m.log_responsibilities(z));
                let kl = mean_over_samples(kl.reshape([batch, k]));
                (kl, mean_of_repeats(per_dim, k))
            }
        }
    }
}

/// The mean over each row's samples, `[batch, K]` to `[batch]` (no pass for K = 1).
pub(crate) fn mean_over_samples(t: Tensor<2>) -> Tensor<1> {
    let [batch, k] = t.dims();
    match k {
        1 => t.reshape([batch]),
        _ => t.mean_dim(1).squeeze_dim(1),
    }
}

/// log N(z; mu_k, diag(var_k)) of each row of `z` under each of the K
/// `components`.
///
/// The quadratic terms are expanded into two matrix products, so memory is
/// `[rows, K]` rather than `[rows, K, latent_dim]`.
///
/// # Shapes
/// - `z`: `[rows, latent_dim]`; `components`: `[K, latent_dim]`; returns `[rows, K]`
pub fn component_log_probs(z: Tensor<2>, components: &DiagonalGaussian) -> Tensor<2> {
    let precision = components.logvar.clone().neg().exp();
    let scaled_mu = components.mu.clone() * precision.clone();
    // sum_l (z - mu)^2 / var = z^2 . (1/var) - 2 z . (mu/var) + sum_l mu^2 / var
    let constant = (scaled_mu.clone() * components.mu.clone()
        + components.logvar.clone().add_scalar(LOG_2PI))
    .sum_dim(1)
    .transpose();
    let quad = z.clone().powi_scalar(2).matmul(precision.transpose())
        - z.matmul(scaled_mu.transpose()).mul_scalar(2.0);
    (quad + constant).mul_scalar(-0.5)
}

/// log sum_k exp(t_k) of each row, with the row maximum taken out first.
///
/// # Shapes
/// - `t`: `[rows, K]`; returns `[rows]`
pub(crate) fn log_sum_exp(t: Tensor<2>) -> Tensor<1> {
    let max = t.clone().detach().max_dim(1);
    let sum = (t - max.clone()).exp().sum_dim(1);
    (sum.log() + max).squeeze_dim(1)
}

/// log (1/K) sum_k N(z; mu_k, diag(var_k)) of each row of `z` under the
/// mixture of the K `components`.
///
/// # Shapes
/// - `z`: `[rows, latent_dim]`; `components`: `[K, latent_dim]`; returns `[rows]`
pub fn mixture_log_prob(z: Tensor<2>, components: &DiagonalGaussian) -> Tensor<1> {
    let [k, _] = components.mu.dims();
    log_sum_exp(component_log_probs(z, components)).sub_scalar((k as f64).ln())
}

/// The learned Gaussian mixture prior p(z) = sum_c pi_c N(z; mu_c, diag(var_c)),
/// pi = softmax(logits).
#[derive(Module, Debug)]
pub struct GaussianMixture {
    /// Unnormalized log mixing weights, `[1, K]`.
    logits: Param<Tensor<2>>,
    /// Component means, `[K, latent_dim]`.
    mu: Param<Tensor<2>>,
    /// Component log-variances, `[K, latent_dim]`.
    logvar: Param<Tensor<2>>,
}

impl GaussianMixture {
    /// K components in `latent_dim` dimensions: equal weights, unit variances,
    /// standard-normal means (the values are replaced when the mixture is
    /// fitted to the codes after pretraining).
    pub fn init(components: usize, latent_dim: usize, device: &Device) -> Self {
        let mu = Tensor::random(
            [components, latent_dim],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            device,
        );
        Self {
            logits: Param::from_tensor(Tensor::zeros([1, components], device)),
            mu: Param::from_tensor(mu),
            logvar: Param::from_tensor(Tensor::zeros([components, latent_dim], device)),
        }
    }

    /// The number of components K.
    pub fn len(&self) -> usize {
        self.logits.dims()[1]
    }

    /// Always false: a mixture has at least one component.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The components N(mu_c, diag(var_c)).
    ///
    /// # Shapes
    /// - returns `[K, latent_dim]` means and log-variances
    pub fn components(&self) -> DiagonalGaussian {
        DiagonalGaussian::new(self.mu.val(), self.logvar.val())
    }

    /// The mixing weights' unnormalized logits.
    ///
    /// # Shapes
    /// - returns `[1, K]`
    pub fn logits(&self) -> Tensor<2> {
        self.logits.val()
    }

    /// log pi_c.
    ///
    /// # Shapes
    /// - returns `[1, K]`
    pub fn log_weights(&self) -> Tensor<2> {
        log_softmax(self.logits.val(), 1)
    }

    /// log pi_c + log N(z; mu_c, var_c) of each row and component.
    ///
    /// # Shapes
    /// - `z`: `[rows, latent_dim]`; returns `[rows, K]`
    pub fn log_joint(&self, z: Tensor<2>) -> Tensor<2> {
        component_log_probs(z, &self.components()) + self.log_weights()
    }

    /// log p(z) of each row.
    ///
    /// # Shapes
    /// - `z`: `[rows, latent_dim]`; returns `[rows]`
    pub fn log_prob(&self, z: Tensor<2>) -> Tensor<1> {
        log_sum_exp(self.log_joint(z))
    }

    /// The log responsibilities log p(c|z) of each row.
    ///
    /// # Shapes
    /// - `z`: `[rows, latent_dim]`; returns `[rows, K]`
    pub fn log_responsibilities(&self, z: Tensor<2>) -> Tensor<2> {
        log_softmax(self.log_joint(z), 1)
    }

    /// VaDE's KL term, KL(q(z|x) q(c|x) || p(z|c) p(c)) in closed form over
    /// q(z|x) for the responsibilities gamma = q(c|x), given as `log_gamma`:
    /// sum_c gamma_c [KL(q(z|x) || N(mu_c, var_c)) + log gamma_c - log pi_c].
    /// Returns the whole term per row and its Gaussian part per dimension,
    /// sum_c gamma_c KL(q_d || N(mu_cd, var_cd)) (without the categorical
    /// part, so the dimensions sum to less than the whole).
    ///
    /// # Shapes
    /// - `q`: `[rows, latent_dim]`; `log_gamma`: `[rows, K]`; returns `[rows]` and `[rows, latent_dim]`
    pub fn kl(&self, q: &DiagonalGaussian, log_gamma: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
        let gamma = log_gamma.clone().exp();
        let c = self.components();
        let precision = c.logvar.clone().neg().exp();
        let scaled_mu = c.mu.clone() * precision.clone();
        // sum_c gamma_c [(var_d + (mu_d - mu_cd)^2) / var_cd + log var_cd] as
        // products with gamma, expanding the square.
        let second = q.logvar.clone().exp() + q.mu.clone().powi_scalar(2);
        let expected = second * gamma.clone().matmul(precision)
            - q.mu.clone() * gamma.clone().matmul(scaled_mu.clone()).mul_scalar(2.0)
            + gamma.clone().matmul(scaled_mu * c.mu + c.logvar);
        let per_dim = (expected - q.logvar.clone())
            .sub_scalar(1.0)
            .mul_scalar(0.5);
        let categorical = (gamma * (log_gamma - self.log_weights()))
            .sum_dim(1)
            .squeeze_dim(1);
        (
            per_dim.clone().sum_dim(1).squeeze_dim(1) + categorical,
            per_dim,
        )
    }

    /// The mixture with new parameters (weights summing to 1, means and
    /// variances row-major `[K, latent_dim]`), keeping the parameters' ids so
    /// that an optimizer's state still refers to them.
    pub fn with_values(self, weights: &[f64], means: &[f64], variances: &[f64]) -> GaussianMixture {
        let [k, l] = self.mu.dims();
        let tensor = |values: Vec<f32>, shape: [usize; 2], like: Tensor<2>| {
            keep_grad(
                &like,
                Tensor::from_data(TensorData::new(values, shape), &like.device()),
            )
        };
        let f32s = |v: &[f64], f: fn(f64) -> f64| v.iter().map(|&x| f(x) as f32).collect();
        let logits = f32s(weights, |w| w.max(1e-10).ln());
        let mu = f32s(means, |m| m);
        let logvar = f32s(variances, |v| v.max(1e-10).ln());
        GaussianMixture {
            logits: self.logits.map(|t| tensor(logits, [1, k], t)),
            mu: self.mu.map(|t| tensor(mu, [k, l], t)),
            logvar: self.logvar.map(|t| tensor(logvar, [k, l], t)),
        }
    }
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

    #[test]
    fn the_mixture_kl_is_the_responsibility_weighted_sum_of_gaussian_kls() {
        // sum_c gamma_c [KL(q || N(mu_c, var_c)) + log gamma_c - log pi_c],
        // each Gaussian KL from its textbook closed form in f64.
        let device = Device::flex();
        let (means, logvars) = (
            [0.5, -1.0, 2.0, 0.0, -1.5, 1.0],
            [0.0, 0.3, -0.5, 1.0, 0.2, -0.2],
        );
        let means32 = means.map(|v| v as f32);
        let logvars32 = logvars.map(|v| v as f32);
        let mixture = GaussianMixture::init(3, 2, &device).with_values(
            &[0.2, 0.5, 0.3],
            &means,
            &logvars.map(f64::exp),
        );
        let q_mu = [0.1f32, -0.3, 1.2, 0.8];
        let q_logvar = [-0.4f32, 0.1, -1.0, 0.5];
        let q = DiagonalGaussian::new(
            tensor(&q_mu, [2, 2], &device),
            tensor(&q_logvar, [2, 2], &device),
        );
        let gamma = [[0.7f64, 0.2, 0.1], [0.05, 0.15, 0.8]];
        let log_gamma: Vec<f32> = gamma.iter().flatten().map(|g| g.ln() as f32).collect();
        let (kl, per_dim) = mixture.kl(&q, tensor(&log_gamma, [2, 3], &device));
        let (kl, per_dim) = (values_of(kl), values_of(per_dim));
        let pi = [0.2f64, 0.5, 0.3];
        for r in 0..2 {
            let mut total = 0.0;
            for d in 0..2 {
                let (m, lv) = (q_mu[r * 2 + d] as f64, q_logvar[r * 2 + d] as f64);
                let dim_part: f64 = (0..3)
                    .map(|c| {
                        let (mc, lvc) = (means32[c * 2 + d] as f64, logvars32[c * 2 + d] as f64);
                        let gauss_kl =
                            0.5 * (lvc - lv + (lv.exp() + (m - mc).powi(2)) / lvc.exp() - 1.0);
                        gamma[r][c] * gauss_kl
                    })
                    .sum();
                assert!((per_dim[r * 2 + d] as f64 - dim_part).abs() < 1e-4);
                total += dim_part;
            }
            total += (0..3)
                .map(|c| gamma[r][c] * (gamma[r][c].ln() - pi[c].ln()))
                .sum::<f64>();
            assert!(
                (kl[r] as f64 - total).abs() < 1e-4,
                "row {r}: {} vs {total}",
                kl[r]
            );
        }
        // log p(z) is the weighted sum of the component densities.
        let z = tensor(&[0.3, -0.2], [1, 2], &device);
        let direct: f64 = (0..3)
            .map(|c| {
                let one = DiagonalGaussian::new(
                    tensor(&means32[c * 2..c * 2 + 2], [1, 2], &device),
                    tensor(&logvars32[c * 2..c * 2 + 2], [1, 2], &device),
                );
                pi[c] * (values_of(one.log_prob(z.clone()))[0] as f64).exp()
            })
            .sum();
        let got = values_of(mixture.log_prob(z.clone()))[0] as f64;
        assert!((got - direct.ln()).abs() < 1e-4, "{got} vs {}", direct.ln());
        let resp = values_of(mixture.log_responsibilities(z).exp());
        assert!((resp.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    }
}
