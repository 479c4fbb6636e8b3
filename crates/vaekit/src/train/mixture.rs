//! The start of a mixture prior (VaDE, Jiang et al. 2017): after the model
//! is pretrained as an autoencoder, a Gaussian mixture fitted to its codes
//! becomes the prior, and the encoder's posterior variance is set to match it.

use burn::module::Module;

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::latent::encode_dataset;
use crate::model::Vae;
use crate::stats::gmm::fit_diagonal_gmm;
use crate::stats::kmeans::{KMeansConfig, kmeans};

/// EM steps of the diagonal mixture after k-means, when a mixture prior is
/// fitted to the codes.
const PRIOR_EM_STEPS: usize = 20;

/// The share of a component's variance that q(z|x) starts with when the
/// mixture prior is fitted (see [`start_logvar`]).
const START_VARIANCE_SHARE: f64 = 1.0;

/// The posterior log-variance, per latent dimension, that the encoder starts
/// the mixture-prior phase with: a share of the components' variance in that
/// dimension, weighted by the mixing weights.
///
/// Pretraining is a deterministic autoencoder, so the encoder's log-variance
/// layer has never had a gradient and still gives its random start, a
/// variance near 1, while the components fitted to the codes are far
/// narrower (about 0.006 on the digits after two epochs): the first epochs'
/// KL, sum_d var_q / (2 var_c), was then hundreds of nats (-ELBO 42, 52, 750,
/// 208, 72, ... on `--data digits --prior gmm --components 10 --seed 3`).
/// The KL over z is smallest for var_q = var_c, so q starts there.
fn start_logvar(weights: &[f64], variances: &[f64], dim: usize) -> Vec<f32> {
    (0..dim)
        .map(|d| {
            let pooled: f64 = weights
                .iter()
                .enumerate()
                .map(|(c, w)| w * variances[c * dim + d])
                .sum();
            (START_VARIANCE_SHARE * pooled).max(1e-10).ln() as f32
        })
        .collect()
}

/// Sets a Gaussian-mixture-prior model's prior from its codes, as VaDE
/// initializes it after pretraining: k-means (10 restarts, seeded by `seed`)
/// on the posterior means of `data`, then a few EM steps of a diagonal
/// mixture, whose weights, means and variances become pi, mu_c and var_c.
pub fn fit_mixture_prior(model: Vae, data: &Dataset, seed: u64) -> Result<Vae> {
    let Some(k) = model.mixture().map(|m| m.len()) else {
        return Ok(model);
    };
    let codes = encode_dataset(&model.valid(), data, 1000)?;
    if codes.len() < k {
        return Err(Error::Data(format!(
            "the mixture prior has {k} components and the training data only {} examples; give more data or fewer --components",
            codes.len()
        )));
    }
    let config = KMeansConfig {
        seed,
        ..KMeansConfig::new(k)
    };
    let start = kmeans(&codes.mu, codes.latent_dim, &config)?;
    let gmm = fit_diagonal_gmm(&codes.mu, &start, PRIOR_EM_STEPS, 1e-4)?;
    let logvar = start_logvar(&gmm.weights, &gmm.variances, codes.latent_dim);
    Ok(model
        .with_mixture(&gmm.weights, &gmm.means, &gmm.variances)
        .with_constant_logvar(&logvar))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_posterior_starts_at_the_components_pooled_variance() {
        // Two components in two dimensions, weights 1/4 and 3/4.
        let logvar = start_logvar(&[0.25, 0.75], &[0.1, 2.0, 0.5, 4.0], 2);
        let expected = [0.25 * 0.1 + 0.75 * 0.5, 0.25 * 2.0 + 0.75 * 4.0];
        for (got, want) in logvar.iter().zip(expected) {
            assert!((got.exp() as f64 - want).abs() < 1e-6, "{got} vs ln {want}");
        }
    }
}
