//! Training objectives: what one step minimizes, with its parts for logging.
//!
//! Both objectives see K samples of z per example (`eps` has K rows per
//! example). The ELBO averages the reconstruction term over them and keeps the
//! KL in closed form; the IWAE bound (Burda et al. 2015) takes the log of the
//! mean importance weight, which is tighter than the ELBO for K > 1 and equal
//! to it in expectation for K = 1.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::{ElboTerms, Vae};

/// What a training step minimizes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Objective {
    /// The negative ELBO with its KL weighted by `beta` (1 is the ELBO, other
    /// values the beta-VAE) and each latent dimension's batch-mean KL floored at
    /// `free_bits` nats (Kingma et al. 2016; 0 turns the floor off).
    Elbo {
        /// Weight of the KL term.
        beta: f64,
        /// Floor of each dimension's KL, in nats.
        free_bits: f64,
    },
    /// The negative importance-weighted bound of the K samples drawn per example.
    Iwae,
    /// The reconstruction term of a deterministic autoencoder (z = E[z|x], no
    /// KL): how a mixture-prior model is pretrained before its mixture is
    /// fitted to the codes, as in VaDE. (Pretraining as a VAE under N(0, I)
    /// can collapse the posterior, leaving no clusters to fit.) The KL to
    /// N(0, I) is reported but not minimized.
    Pretrain,
}

/// A step's loss and the parts it reports, each a batch mean.
///
/// # Shapes
/// - every field: `[1]`
#[derive(Debug, Clone)]
pub struct Loss {
    /// The quantity minimized.
    pub total: Tensor<1>,
    /// -log p(x|z), averaged over samples and examples.
    pub recon: Tensor<1>,
    /// The KL term: in closed form for the ELBO, the sampled log q(z|x) - log p(z)
    /// for the IWAE bound (so recon + kl is the K-sample average ELBO).
    pub kl: Tensor<1>,
}

impl Objective {
    /// The loss of `model` on `x` with the samples given by `eps`, the
    /// encoder reading `seen` where given: the rows of `x` with some values
    /// hidden, so that q(z|x) learns to infer z from part of an example while
    /// the decoder is scored on all of it (still a bound on log p(x): any q
    /// gives one).
    ///
    /// # Shapes
    /// - `x`: `[batch, input_dim]`; `seen` the same; `eps`: `[batch * K, latent_dim]`
    pub fn loss(&self, model: &Vae, x: Tensor<2>, seen: Option<Tensor<2>>, eps: Tensor<2>) -> Loss {
        match *self {
            Objective::Elbo { beta, free_bits } => {
                let terms = model.elbo_terms_under(x, seen, eps, false);
                Loss {
                    total: elbo_loss(&terms, beta, free_bits),
                    recon: terms.recon.mean(),
                    kl: terms.kl.mean(),
                }
            }
            Objective::Pretrain => {
                let terms = model.elbo_terms_under(x, seen, eps.zeros_like(), true);
                Loss {
                    total: terms.recon.clone().mean(),
                    recon: terms.recon.mean(),
                    kl: terms.kl.mean(),
                }
            }
            Objective::Iwae => {
                let terms = model.sampled_terms_seen(x, seen, eps);
                Loss {
                    total: iw_bound(terms.log_weights()).neg().mean(),
                    recon: terms.recon.mean(),
                    kl: terms.log_ratio.mean(),
                }
            }
        }
    }
}

/// The batch mean of recon + beta * KL, where with `free_bits` > 0 the KL is
/// the sum over latent dimensions of max(free_bits, the dimension's batch-mean
/// KL); with `free_bits` = 0 it is the plain KL.
///
/// # Shapes
/// - returns `[1]`
pub fn elbo_loss(terms: &ElboTerms, beta: f64, free_bits: f64) -> Tensor<1> {
    let kl = if free_bits > 0.0 {
        terms
            .kl_per_dim
            .clone()
            .mean_dim(0)
            .clamp_min(free_bits)
            .sum()
    } else {
        terms.kl.clone().mean()
    };
    terms.recon.clone().mean() + kl.mul_scalar(beta)
}

/// The importance-weighted bound log (1/K) sum_k w_k of each row, computed
/// stably (the row maximum is taken out before exponentiating).
///
/// # Shapes
/// - `log_weights`: `[batch, K]`; returns `[batch]`
pub fn iw_bound(log_weights: Tensor<2>) -> Tensor<1> {
    let [_, k] = log_weights.dims();
    let max = log_weights.clone().detach().max_dim(1);
    let sum = (log_weights - max.clone()).exp().sum_dim(1);
    (sum.log() + max).sub_scalar((k as f64).ln()).squeeze_dim(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DataKind;
    use crate::distributions::Likelihood;
    use crate::kernels::testing::values_of;
    use crate::model::{Architecture, ModelConfig};
    use crate::nn::Activation;
    use burn::tensor::Device;

    fn tiny(device: &Device) -> (Vae, Tensor<2>) {
        let config = ModelConfig {
            input: DataKind::Table {
                columns: (0..4).map(|i| format!("c{i}")).collect(),
            },
            architecture: Architecture::Mlp {
                hidden: vec![6],
                activation: Activation::Tanh,
            },
            latent_dim: 3,
            likelihood: Likelihood::Bernoulli,
            top: None,
            classes: None,
            prior: crate::model::prior::Prior::Standard,
            batch_norm: false,
            table: None,
        };
        crate::random::with_seeded_device(device, 11, || {
            let model = config.init(device).unwrap();
            let x = Tensor::<2>::from_floats([[0.0, 1.0, 0.5, 0.2], [1.0, 0.0, 0.9, 0.4]], device);
            (model, x)
        })
    }

    fn eps(rows: usize, device: &Device) -> Tensor<2> {
        let values: Vec<f32> = (0..rows * 3)
            .map(|i| ((i * 37 % 23) as f32 / 11.0) - 1.0)
            .collect();
        Tensor::from_data(burn::tensor::TensorData::new(values, [rows, 3]), device)
    }

    #[test]
    fn iw_bound_matches_a_direct_log_mean_exp() {
        let device = Device::flex();
        let w = [[-100.0f32, -101.0, -99.5], [3.0, -2.0, 0.5]];
        let got = values_of(iw_bound(Tensor::<2>::from_floats(w, &device)));
        for (row, g) in w.iter().zip(got) {
            let direct = (row.iter().map(|&v| (v as f64).exp()).sum::<f64>() / 3.0).ln();
            assert!((g as f64 - direct).abs() < 1e-4, "{g} vs {direct}");
        }
    }

    #[test]
    fn one_sample_iwae_is_the_sampled_elbo() {
        // With K = 1 the IW bound is log w = -(recon + log q - log p): the same
        // reconstruction as the ELBO's, with the sampled instead of the exact KL.
        let device = Device::flex();
        let (model, x) = tiny(&device);
        let e = eps(2, &device);
        let iwae = Objective::Iwae.loss(&model, x.clone(), None, e.clone());
        let elbo = Objective::Elbo {
            beta: 1.0,
            free_bits: 0.0,
        }
        .loss(&model, x, None, e);
        let [iw_recon, el_recon] = [iwae.recon.clone(), elbo.recon].map(|t| values_of(t)[0]);
        assert!((iw_recon - el_recon).abs() < 1e-5);
        let [total, recon, kl] = [iwae.total, iwae.recon, iwae.kl].map(|t| values_of(t)[0]);
        assert!((total - (recon + kl)).abs() < 1e-4);
    }

    #[test]
    fn more_samples_tighten_the_bound_and_the_elbo_averages_them() {
        let device = Device::flex();
        let (model, x) = tiny(&device);
        let k = 64;
        let e = eps(2 * k, &device);
        let terms = model.sampled_terms(x.clone(), e.clone());
        let log_w = values_of(terms.log_weights());
        let bound = values_of(iw_bound(terms.log_weights()));
        let elbo = values_of(model.elbo_terms(x, e).recon);
        for i in 0..2 {
            let row: Vec<f64> = log_w[i * k..(i + 1) * k]
                .iter()
                .map(|&v| v as f64)
                .collect();
            let mean_log_w = row.iter().sum::<f64>() / k as f64;
            // Jensen: log mean w >= mean log w, equality only for equal weights.
            assert!(
                bound[i] as f64 > mean_log_w + 1e-4,
                "{} vs {mean_log_w}",
                bound[i]
            );
            let recon = values_of(terms.recon.clone())[i * k..(i + 1) * k]
                .iter()
                .map(|&v| v as f64)
                .sum::<f64>()
                / k as f64;
            assert!((recon - elbo[i] as f64).abs() < 1e-3);
        }
    }

    #[test]
    fn free_bits_floor_each_dimension_and_leave_large_kls_alone() {
        let device = Device::flex();
        let (model, x) = tiny(&device);
        let e = eps(2, &device);
        let terms = model.elbo_terms(x, e);
        let per_dim = values_of(terms.kl_per_dim.clone());
        let recon = values_of(terms.recon.clone().mean())[0] as f64;
        for floor in [0.0, 0.01, 0.5, 10.0] {
            let expected: f64 = (0..3)
                .map(|j| ((per_dim[j] + per_dim[3 + j]) as f64 / 2.0).max(floor))
                .sum();
            let got = values_of(elbo_loss(&terms, 2.0, floor))[0] as f64;
            assert!(
                (got - (recon + 2.0 * expected)).abs() < 1e-4 * got.abs().max(1.0),
                "floor {floor}: {got} vs {}",
                recon + 2.0 * expected
            );
        }
    }
}
