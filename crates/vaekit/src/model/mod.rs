//! The variational autoencoder and its settings.
//!
//! [`ModelConfig`] is plain serde data saved in a run's `config.json`; [`Vae`] is the
//! burn module built from it. Loading a run builds the model from the config
//! first and then puts the saved weights into it ([`weights`]), so the config is
//! the one source of truth for shapes.

pub mod objective;
pub mod prior;
pub mod run;
pub mod weights;

use burn::module::Param;
use burn::nn::BatchNorm;
use burn::prelude::*;
use burn::tensor::{Distribution, Int, TensorData, activation};
use serde::{Deserialize, Serialize};

use crate::data::DataKind;
use crate::distributions::{
    DiagonalGaussian, GaussianVariance, Likelihood, bernoulli_nll_from_logits, gaussian_nll,
    mean_of_repeats, repeat_rows, standard_normal_log_prob, sum_rows,
};
use crate::error::{Error, Result};
use crate::kernels;
use crate::nn::Activation;
use crate::nn::conv::{
    ConvDecoder, ConvDecoderConfig, ConvEncoder, ConvEncoderConfig, feature_sizes,
};
use crate::nn::mlp::{MlpDecoder, MlpDecoderConfig, MlpEncoder, MlpEncoderConfig};
use prior::{GaussianMixture, Prior, kl_per_dim_to_moments, mixture_log_prob};

/// The encoder/decoder family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Architecture {
    /// Fully connected layers of the given widths (encoder side first).
    Mlp {
        /// Hidden layer widths.
        hidden: Vec<usize>,
        /// Nonlinearity between layers.
        activation: Activation,
    },
    /// Strided convolutions with the given output channels, mirrored by
    /// transposed convolutions in the decoder.
    Conv {
        /// Channels of each convolution, input side first.
        channels: Vec<usize>,
    },
}

/// Everything needed to build a [`Vae`] with no other input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    /// What one example looks like.
    pub input: DataKind,
    /// Encoder and decoder family.
    pub architecture: Architecture,
    /// Size of the latent code z.
    pub latent_dim: usize,
    /// The observation model p(x|z).
    pub likelihood: Likelihood,
    /// A second stochastic layer above the latent code, for the hierarchical
    /// VAE (None: the prior of z is N(0, I)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top: Option<TopLayerConfig>,
    /// Number of classes of a conditional VAE, whose encoder and decoder also
    /// take the one-hot label (None: unconditional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<usize>,
    /// The prior p(z).
    #[serde(default)]
    pub prior: Prior,
    /// Batch normalization in every hidden layer of the MLPs (encoder,
    /// decoder, and the second latent layer's networks), before the
    /// nonlinearity.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub batch_norm: bool,
}

/// The second stochastic layer of a hierarchical VAE: x -> z1 -> z2 with the
/// prior p(z2) = N(0, I) and a learned top-down p(z1|z2), as in the IWAE
/// paper's two-layer model. Its networks are MLPs whatever the architecture
/// below z1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopLayerConfig {
    /// Size of z2.
    pub latent_dim: usize,
    /// Hidden widths of q(z2|z1) (and, mirrored, of p(z1|z2)).
    pub hidden: Vec<usize>,
    /// Nonlinearity of those layers.
    pub activation: Activation,
}

impl ModelConfig {
    /// Checks that the settings describe a model that can be built.
    pub fn validate(&self) -> Result<()> {
        if self.latent_dim == 0 {
            return Err(Error::setting(
                "--latent",
                "the latent size must be at least 1 (20 is a common choice for MNIST)",
            ));
        }
        if self.input.dim() == 0 {
            return Err(Error::Data("examples have no values".into()));
        }
        match &self.architecture {
            Architecture::Mlp { hidden, .. } => {
                if hidden.contains(&0) {
                    return Err(Error::setting(
                        "--hidden",
                        "every hidden layer needs at least one unit (for example --hidden 400)",
                    ));
                }
            }
            Architecture::Conv { channels } => {
                let DataKind::Image { height, width, .. } = self.input else {
                    return Err(Error::setting(
                        "--arch",
                        "the conv architecture needs image data; use --arch mlp for tables",
                    ));
                };
                if channels.is_empty() || channels.contains(&0) {
                    return Err(Error::setting(
                        "--conv-channels",
                        "give one or more positive channel counts, for example 32,64",
                    ));
                }
                feature_sizes(height, width, channels.len())
                    .map_err(|m| Error::setting("--conv-channels", m))?;
            }
        }
        if let Prior::Vamp { pseudo_inputs } = self.prior {
            if pseudo_inputs == 0 {
                return Err(Error::setting(
                    "--pseudo-inputs",
                    "the VampPrior needs at least one pseudo-input (the paper uses 500)",
                ));
            }
            if self.top.is_some() || self.classes.is_some() {
                return Err(Error::setting(
                    "--prior vamp",
                    "the VampPrior is built for one-layer unconditional models here; use it with --model vae or iwae",
                ));
            }
        }
        if self.batch_norm {
            if matches!(self.architecture, Architecture::Conv { .. }) {
                return Err(Error::setting(
                    "--batch-norm",
                    "batch normalization is built for the MLP networks; use --arch mlp or drop --batch-norm",
                ));
            }
            if matches!(self.prior, Prior::Vamp { .. }) {
                return Err(Error::setting(
                    "--batch-norm",
                    "the VampPrior encodes its pseudo-inputs apart from the data, which would normalize them by their own batch statistics; drop --batch-norm or --prior vamp",
                ));
            }
        }
        if let Prior::Gmm { components } = self.prior {
            if components == 0 {
                return Err(Error::setting(
                    "--components",
                    "the mixture prior needs at least one component (10 for the MNIST digits)",
                ));
            }
            if self.top.is_some() || self.classes.is_some() {
                return Err(Error::setting(
                    "--prior gmm",
                    "the mixture prior finds clusters in one-layer unconditional models; use it with --model vae or iwae (a conditional model is given the classes, a hierarchical one has no single code to cluster)",
                ));
            }
        }
        if self.classes == Some(0) {
            return Err(Error::Data(
                "a conditional model needs labels with at least one class".into(),
            ));
        }
        if let Some(top) = &self.top {
            if top.latent_dim == 0 {
                return Err(Error::setting(
                    "--top-latent",
                    "the second latent layer needs at least 1 dimension (the IWAE paper uses 50)",
                ));
            }
            if top.hidden.contains(&0) {
                return Err(Error::setting(
                    "--top-hidden",
                    "every hidden layer needs at least one unit (for example --top-hidden 100,100)",
                ));
            }
        }
        if let Likelihood::Gaussian { min_variance, .. } = self.likelihood
            && !(min_variance.is_finite() && min_variance > 0.0)
        {
            return Err(Error::setting(
                "min_variance",
                "the Gaussian variance floor must be a positive number such as 1e-4",
            ));
        }
        Ok(())
    }

    /// Builds a freshly initialized model (PyTorch's default initialization) on
    /// `device`. Seed the device first for reproducible weights.
    pub fn init(&self, device: &Device) -> Result<Vae> {
        self.validate()?;
        let dim = self.input.dim();
        let classes = self.classes.unwrap_or(0);
        let (encoder, decoder) = match &self.architecture {
            Architecture::Mlp { hidden, activation } => (
                Encoder::Mlp(
                    MlpEncoderConfig::new(dim + classes, hidden.clone(), self.latent_dim)
                        .with_activation(*activation)
                        .with_batch_norm(self.batch_norm)
                        .init(device),
                ),
                Decoder::Mlp(
                    MlpDecoderConfig::new(self.latent_dim + classes, hidden.clone(), dim)
                        .with_activation(*activation)
                        .with_batch_norm(self.batch_norm)
                        .init(device),
                ),
            ),
            Architecture::Conv { channels } => {
                let image = match self.input {
                    DataKind::Image {
                        channels: c,
                        height,
                        width,
                    } => [c, height, width],
                    DataKind::Table { .. } => unreachable!("validate rejects conv on tables"),
                };
                (
                    Encoder::Conv(
                        ConvEncoderConfig::new(image, channels.clone(), self.latent_dim)
                            .with_condition(classes)
                            .init(device),
                    ),
                    Decoder::Conv(
                        ConvDecoderConfig::new(self.latent_dim + classes, channels.clone(), image)
                            .init(device),
                    ),
                )
            }
        };
        let obs_logvar = match self.likelihood {
            Likelihood::Bernoulli => None,
            Likelihood::Gaussian { variance, .. } => {
                let width = match variance {
                    GaussianVariance::Scalar => 1,
                    GaussianVariance::PerPixel => dim,
                };
                Some(Param::from_tensor(Tensor::zeros([1, width], device)))
            }
        };
        let top = self.top.as_ref().map(|top| {
            let reversed: Vec<usize> = top.hidden.iter().rev().copied().collect();
            TopLayer {
                up: MlpEncoderConfig::new(self.latent_dim, top.hidden.clone(), top.latent_dim)
                    .with_activation(top.activation)
                    .with_batch_norm(self.batch_norm)
                    .init(device),
                down: MlpEncoderConfig::new(top.latent_dim, reversed, self.latent_dim)
                    .with_activation(top.activation)
                    .with_batch_norm(self.batch_norm)
                    .init(device),
                latent_dim: top.latent_dim,
            }
        });
        let mixture = match self.prior {
            Prior::Gmm { components } => {
                Some(GaussianMixture::init(components, self.latent_dim, device))
            }
            _ => None,
        };
        let pseudo_inputs = match self.prior {
            Prior::Standard | Prior::Gmm { .. } => None,
            Prior::Vamp { pseudo_inputs } => {
                // In [0, 1] like the data of a Bernoulli model; standardized
                // values otherwise.
                let start = match self.likelihood {
                    Likelihood::Bernoulli => Distribution::Uniform(0.0, 1.0),
                    Likelihood::Gaussian { .. } => Distribution::Normal(0.0, 1.0),
                };
                let shape = [pseudo_inputs, dim + classes];
                Some(Param::from_tensor(Tensor::random(shape, start, device)))
            }
        };
        Ok(Vae {
            encoder,
            decoder,
            top,
            pseudo_inputs,
            mixture,
            obs_logvar,
            likelihood: self.likelihood,
            input_dim: dim,
            latent_dim: self.latent_dim,
            classes,
        })
    }
}

/// The encoder network q(z|x).
#[derive(Module, Debug)]
pub enum Encoder {
    /// Fully connected.
    Mlp(MlpEncoder),
    /// Convolutional.
    Conv(ConvEncoder),
}

/// The decoder network p(x|z).
#[derive(Module, Debug)]
pub enum Decoder {
    /// Fully connected.
    Mlp(MlpDecoder),
    /// Convolutional.
    Conv(ConvDecoder),
}

/// The networks of a second stochastic layer: q(z2|z1) going up, p(z1|z2)
/// coming down.
#[derive(Module, Debug)]
pub struct TopLayer {
    up: MlpEncoder,
    down: MlpEncoder,
    #[module(skip)]
    latent_dim: usize,
}

/// A variational autoencoder: encoder, decoder, an optional second stochastic
/// layer, and the likelihood's own parameters (the learned Gaussian variance).
#[derive(Module, Debug)]
pub struct Vae {
    encoder: Encoder,
    decoder: Decoder,
    top: Option<TopLayer>,
    /// The VampPrior's pseudo-inputs, `[K, input_width]` (clamped to [0, 1]
    /// for a Bernoulli model, as the paper's hard tanh does).
    pseudo_inputs: Option<Param<Tensor<2>>>,
    /// The Gaussian mixture prior of a clustering model (VaDE).
    mixture: Option<GaussianMixture>,
    /// Raw parameter of the Gaussian likelihood's variance, `[1, 1]` or `[1, dim]`;
    /// variance = min_variance + exp(raw), smooth and never below the floor.
    obs_logvar: Option<Param<Tensor<2>>>,
    #[module(skip)]
    likelihood: Likelihood,
    #[module(skip)]
    input_dim: usize,
    #[module(skip)]
    latent_dim: usize,
    /// Classes of a conditional model (0: unconditional).
    #[module(skip)]
    classes: usize,
}

/// The two terms of the negative ELBO, per example, in nats, and what each
/// latent dimension contributes.
///
/// # Shapes
/// - `recon`, `kl`: `[batch]`; `kl_per_dim`, `means`: `[batch, code_dim]`, where
///   the code is z, or z1 then z2 in a hierarchical VAE
#[derive(Debug, Clone)]
pub struct ElboTerms {
    /// -log p(x|z), averaged over the samples of z drawn for the example.
    pub recon: Tensor<1>,
    /// The KL term: KL(q(z|x) || N(0, I)) in closed form; with a VampPrior,
    /// log q(z|x) - log p(z) at the samples; with a Gaussian mixture, VaDE's
    /// KL of q(z|x) q(c|x) to p(z|c) p(c), closed form over z given
    /// q(c|x) = p(c|z) at the samples; in a hierarchical VAE,
    /// log q(z1|x) - log p(z1|z2) at the samples plus KL(q(z2|z1) || N(0, I)).
    pub kl: Tensor<1>,
    /// `kl` split over the latent dimensions (it sums to `kl`; with a
    /// VampPrior, each dimension's KL against the prior's marginal moments,
    /// which need not; with a Gaussian mixture, the Gaussian part of each
    /// dimension, without the categorical part of the KL).
    pub kl_per_dim: Tensor<2>,
    /// The posterior means of the code, E_q[z] (averaged over the samples of z1
    /// for z2).
    pub means: Tensor<2>,
}

/// The terms of the log importance weights log p(x, z) - log q(z|x), one per
/// sample of z, in nats.
///
/// # Shapes
/// - `recon`, `log_ratio`: `[batch, samples]`
#[derive(Debug, Clone)]
pub struct SampledTerms {
    /// -log p(x|z) of each sample.
    pub recon: Tensor<2>,
    /// log q(z|x) - log p(z) of each sample: the one-sample estimate of the KL.
    pub log_ratio: Tensor<2>,
}

impl SampledTerms {
    /// The log importance weights, -(recon + log_ratio).
    ///
    /// # Shapes
    /// - returns `[batch, samples]`
    pub fn log_weights(&self) -> Tensor<2> {
        (self.recon.clone() + self.log_ratio.clone()).neg()
    }
}

impl Vae {
    /// Size of one flattened example.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// Size of the latent code z (z1 in a hierarchical VAE): what the encoder
    /// gives and, with the condition, the decoder takes.
    pub fn latent_dim(&self) -> usize {
        self.latent_dim
    }

    /// Number of classes of a conditional model (None: unconditional). Its
    /// inputs are rows of `input_dim` values then the one-hot label
    /// ([`Vae::input_width`] columns), and its decoder takes z then the label.
    pub fn classes(&self) -> Option<usize> {
        (self.classes > 0).then_some(self.classes)
    }

    /// Columns of the encoder's input rows: the values, then the one-hot
    /// label of a conditional model.
    pub fn input_width(&self) -> usize {
        self.input_dim + self.classes
    }

    /// The decoder's input: the codes, joined by the one-hot labels of a
    /// conditional model.
    ///
    /// # Shapes
    /// - `z`: `[n, latent_dim]`; `labels`: `[n, classes]` or None; returns `[n, latent_dim + classes]`
    pub fn decoder_input(&self, z: Tensor<2>, labels: Option<Tensor<2>>) -> Tensor<2> {
        match labels {
            Some(y) if self.classes > 0 => Tensor::cat(vec![z, y], 1),
            _ => z,
        }
    }

    /// The values and the one-hot label of input rows (the label is None for
    /// an unconditional model).
    ///
    /// # Shapes
    /// - `x`: `[n, input_width]`; returns `[n, input_dim]` and `[n, classes]`
    pub fn split_input(&self, x: Tensor<2>) -> (Tensor<2>, Option<Tensor<2>>) {
        if self.classes == 0 {
            return (x, None);
        }
        let [rows, cols] = x.dims();
        let d = self.input_dim.min(cols);
        (
            x.clone().slice([0..rows, 0..d]),
            Some(x.slice([0..rows, d..cols])),
        )
    }

    /// The mean of p(x|z) at the posterior mean of each input row.
    ///
    /// # Shapes
    /// - `x`: `[n, input_width]`; returns `[n, input_dim]`
    pub fn reconstruct(&self, x: Tensor<2>) -> Tensor<2> {
        let mu = self.encode(x.clone()).mu;
        let (_, labels) = self.split_input(x);
        self.likelihood_mean(self.decode(self.decoder_input(mu, labels)))
    }

    /// Standard-normal values one sample of every latent layer takes: z, or
    /// z1 then z2.
    pub fn noise_dim(&self) -> usize {
        self.latent_dim + self.top.as_ref().map_or(0, |t| t.latent_dim)
    }

    /// The number of the VampPrior's pseudo-inputs (None for other priors).
    pub fn pseudo_input_count(&self) -> Option<usize> {
        self.pseudo_inputs.as_ref().map(|p| p.dims()[0])
    }

    /// The Gaussian mixture prior of a clustering model (None for other priors).
    pub fn mixture(&self) -> Option<&GaussianMixture> {
        self.mixture.as_ref()
    }

    /// The model with its mixture prior's parameters set (see
    /// [`GaussianMixture::with_values`]); other models are returned unchanged.
    pub fn with_mixture(mut self, weights: &[f64], means: &[f64], variances: &[f64]) -> Vae {
        self.mixture = self
            .mixture
            .map(|m| m.with_values(weights, means, variances));
        self
    }

    /// The mixing weights of a mixture prior: 1/K each for the VampPrior,
    /// pi_c for the Gaussian mixture (None for a standard-normal prior).
    pub fn prior_weights(&self) -> Option<Vec<f32>> {
        if let Some(m) = &self.mixture {
            let w = m.log_weights().exp().into_data().try_into_vec::<f32>();
            return Some(w.unwrap_or_default());
        }
        let k = self.pseudo_input_count()?;
        Some(vec![1.0 / k as f32; k])
    }

    /// The components of a mixture prior: the VampPrior's q(z|u_k) or the
    /// Gaussian mixture's N(mu_c, var_c) (None for a standard-normal prior).
    ///
    /// # Shapes
    /// - returns `[K, latent_dim]` means and log-variances
    pub fn prior_components(&self) -> Option<DiagonalGaussian> {
        if let Some(m) = &self.mixture {
            return Some(m.components());
        }
        let pseudo = self.pseudo_inputs.as_ref()?.val();
        let pseudo = match self.likelihood {
            Likelihood::Bernoulli => pseudo.clamp(0.0, 1.0),
            Likelihood::Gaussian { .. } => pseudo,
        };
        Some(self.encode(pseudo))
    }

    /// The noise of z1 and, in a hierarchical VAE, of z2 (its last columns).
    /// Slicing copies, so a one-layer model's noise passes through whole.
    fn split_noise(&self, eps: Tensor<2>) -> (Tensor<2>, Option<Tensor<2>>) {
        if self.top.is_none() {
            return (eps, None);
        }
        let [rows, cols] = eps.dims();
        let l = self.latent_dim.min(cols);
        (
            eps.clone().slice([0..rows, 0..l]),
            Some(eps.slice([0..rows, l..cols])),
        )
    }

    /// Codes drawn from the prior: `eps` itself for the VAE; in a hierarchical
    /// VAE, z2 = the last columns of `eps` and z1 ~ p(z1|z2) with the first;
    /// with a mixture prior (VampPrior or Gaussian mixture), component
    /// `mixture_choice[i]` shifted and scaled by row `i` of `eps` (the choices
    /// are ignored for other priors).
    ///
    /// # Shapes
    /// - `eps`: `[n, noise_dim]`; returns `[n, latent_dim]`
    pub fn prior_codes(&self, eps: Tensor<2>, mixture_choice: &[usize]) -> Tensor<2> {
        if let Some(components) = self.prior_components() {
            let [k, _] = components.mu.dims();
            let device = eps.device();
            let rows: Vec<i64> = mixture_choice
                .iter()
                .map(|&c| c.min(k - 1) as i64)
                .collect();
            let index =
                Tensor::<1, Int>::from_data(TensorData::new(rows, [mixture_choice.len()]), &device);
            let chosen = DiagonalGaussian::new(
                components.mu.select(0, index.clone()),
                components.logvar.select(0, index),
            );
            return chosen.rsample(eps);
        }
        match (&self.top, self.split_noise(eps)) {
            (Some(top), (eps1, Some(z2))) => top.down.forward(z2).rsample(eps1),
            (_, (eps, _)) => eps,
        }
    }

    /// The observation model.
    pub fn likelihood(&self) -> Likelihood {
        self.likelihood
    }

    /// The approximate posterior q(z|x) of each row.
    ///
    /// # Shapes
    /// - `x`: `[batch, input_width]`; returns `[batch, latent_dim]` mean and log-variance
    pub fn encode(&self, x: Tensor<2>) -> DiagonalGaussian {
        match &self.encoder {
            Encoder::Mlp(e) => e.forward(x),
            Encoder::Conv(e) => e.forward(x),
        }
    }

    /// The decoder's raw outputs: logits (Bernoulli) or means (Gaussian).
    ///
    /// # Shapes
    /// - `z`: `[batch, latent_dim + classes]` (see [`Vae::decoder_input`]);
    ///   returns `[batch, input_dim]`
    pub fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        match &self.decoder {
            Decoder::Mlp(d) => d.forward(z),
            Decoder::Conv(d) => d.forward(z),
        }
    }

    /// The mean of p(x|z) from the decoder's raw outputs: sigmoid of the logits,
    /// or the Gaussian means themselves.
    ///
    /// # Shapes
    /// - `raw`: `[batch, input_dim]`; returns the same shape
    pub fn likelihood_mean(&self, raw: Tensor<2>) -> Tensor<2> {
        match self.likelihood {
            Likelihood::Bernoulli => activation::sigmoid(raw),
            Likelihood::Gaussian { .. } => raw,
        }
    }

    /// The Gaussian likelihood's log-variance, `[1, 1]` or `[1, input_dim]`
    /// (None for Bernoulli).
    pub fn observation_logvar(&self) -> Option<Tensor<2>> {
        let Likelihood::Gaussian { min_variance, .. } = self.likelihood else {
            return None;
        };
        self.obs_logvar
            .as_ref()
            .map(|raw| raw.val().exp().add_scalar(min_variance).log())
    }

    /// -log p(x|z) per example from the decoder's raw outputs.
    ///
    /// # Shapes
    /// - `raw`, `x`: `[batch, input_dim]`; returns `[batch]`
    pub fn reconstruction_nll(&self, raw: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
        match self.observation_logvar() {
            None if kernels::fused_applies(&raw) => kernels::bernoulli_nll_rows(raw, x),
            None => bernoulli_nll_from_logits(raw, x),
            Some(logvar) => gaussian_nll(raw, logvar, x),
        }
    }

    /// Both terms of the negative ELBO with reparameterized samples of z: one per
    /// example when `eps` has as many rows as `x`, K per example when it has K
    /// times as many (the terms are then means over the K).
    ///
    /// # Shapes
    /// - `x`: `[batch, input_width]`; `eps`: `[batch * K, noise_dim]` standard-normal
    ///   noise, rows `i * K .. (i + 1) * K` for example `i`
    pub fn elbo_terms(&self, x: Tensor<2>, eps: Tensor<2>) -> ElboTerms {
        self.elbo_terms_under(x, None, eps, false)
    }

    /// [`Vae::elbo_terms`] with the encoder reading `seen` instead of `x`
    /// where given (the same rows with values hidden; the decoder is still
    /// scored on all of `x`), and with the KL to N(0, I) whatever the model's
    /// prior when `standard_prior` is set (what pretraining reports before a
    /// mixture prior is fitted).
    ///
    /// # Shapes
    /// - as for [`Vae::elbo_terms`]; `seen` shaped like `x`
    pub fn elbo_terms_under(
        &self,
        x: Tensor<2>,
        seen: Option<Tensor<2>>,
        eps: Tensor<2>,
        standard_prior: bool,
    ) -> ElboTerms {
        let d = self.draw(x, seen, eps);
        let [batch, _] = d.recon.dims();
        let recon = mean_over_samples(d.recon);
        let prior = match standard_prior {
            true => None,
            false => self.prior_components(),
        };
        let mixture = self.mixture.as_ref().filter(|_| !standard_prior);
        let (kl, kl_per_dim, means) = match (d.top, mixture, prior) {
            (None, Some(m), _) => {
                let (kl, per_dim) = m.kl(&d.repeated, m.log_responsibilities(d.z1));
                let kl = mean_over_samples(kl.reshape([batch, d.k]));
                (kl, mean_of_repeats(per_dim, d.k), d.q1.mu)
            }
            (None, None, None) => {
                let per_dim = d.q1.kl_per_dim();
                (sum_rows(per_dim.clone()), per_dim, d.q1.mu)
            }
            (None, None, Some(c)) => {
                let ratio = d.repeated.log_prob(d.z1.clone()) - mixture_log_prob(d.z1, &c);
                let kl = mean_over_samples(ratio.reshape([batch, d.k]));
                (kl, kl_per_dim_to_moments(&d.q1, &c), d.q1.mu)
            }
            (Some(t), ..) => {
                let z1 = d.repeated.log_prob_per_dim(d.z1.clone()) - t.p1.log_prob_per_dim(d.z1);
                let per_dim = mean_of_repeats(Tensor::cat(vec![z1, t.q2.kl_per_dim()], 1), d.k);
                let means = Tensor::cat(vec![d.q1.mu, mean_of_repeats(t.q2.mu, d.k)], 1);
                (sum_rows(per_dim.clone()), per_dim, means)
            }
        };
        ElboTerms {
            recon,
            kl,
            kl_per_dim,
            means,
        }
    }

    /// The terms of the importance weights of K samples per example, for the
    /// IWAE bound and the importance-weighted estimate of log p(x).
    ///
    /// # Shapes
    /// - as for [`Vae::elbo_terms`]; returns `[batch, K]` terms
    pub fn sampled_terms(&self, x: Tensor<2>, eps: Tensor<2>) -> SampledTerms {
        self.sampled_terms_seen(x, None, eps)
    }

    /// [`Vae::sampled_terms`] with q(z|x) computed from `seen` where given
    /// (see [`Vae::elbo_terms_under`]).
    ///
    /// # Shapes
    /// - as for [`Vae::elbo_terms`]; `seen` shaped like `x`
    pub fn sampled_terms_seen(
        &self,
        x: Tensor<2>,
        seen: Option<Tensor<2>>,
        eps: Tensor<2>,
    ) -> SampledTerms {
        let d = self.draw(x, seen, eps);
        let log_ratio = match d.top {
            None => d.repeated.log_prob(d.z1.clone()) - self.log_prior(d.z1),
            Some(t) => {
                d.repeated.log_prob(d.z1.clone()) + t.q2.log_prob(t.z2.clone())
                    - t.p1.log_prob(d.z1)
                    - standard_normal_log_prob(t.z2)
            }
        };
        let [batch, k] = d.recon.dims();
        SampledTerms {
            recon: d.recon,
            log_ratio: log_ratio.reshape([batch, k]),
        }
    }

    /// log p(z) of each row under a one-layer model's prior: N(0, I), the
    /// VampPrior or the Gaussian mixture.
    ///
    /// # Shapes
    /// - `z`: `[rows, latent_dim]`; returns `[rows]`
    pub fn log_prior(&self, z: Tensor<2>) -> Tensor<1> {
        if let Some(m) = &self.mixture {
            return m.log_prob(z);
        }
        match self.prior_components() {
            Some(c) => mixture_log_prob(z, &c),
            None => standard_normal_log_prob(z),
        }
    }

    /// The cluster of each row under a Gaussian mixture prior: the component
    /// of highest q(c|x) = p(c|z) at the posterior mean z = E[z|x] (None for
    /// other priors).
    ///
    /// # Shapes
    /// - `x`: `[n, input_width]`; returns `[n]` component indices
    pub fn clusters(&self, x: Tensor<2>) -> Option<Tensor<1, Int>> {
        let m = self.mixture.as_ref()?;
        let mu = self.encode(x).mu;
        Some(m.log_joint(mu).argmax(1).squeeze_dim(1))
    }

    /// Every batch norm of the networks (none without batch normalization).
    pub(crate) fn batch_norms(&self) -> Vec<&BatchNorm> {
        let mut norms: Vec<&BatchNorm> = Vec::new();
        if let Encoder::Mlp(e) = &self.encoder {
            norms.extend(e.norms());
        }
        if let Decoder::Mlp(d) = &self.decoder {
            norms.extend(d.norms());
        }
        if let Some(top) = &self.top {
            norms.extend(top.up.norms().iter().chain(top.down.norms()));
        }
        norms
    }

    /// Encodes each example once (`seen`'s rows where given, else `x`'s), then
    /// draws K samples of every latent layer per example and decodes them.
    fn draw(&self, x: Tensor<2>, seen: Option<Tensor<2>>, eps: Tensor<2>) -> Drawn {
        let [batch, _] = x.dims();
        let k = eps.dims()[0] / batch.max(1);
        debug_assert_eq!(
            eps.dims()[0],
            batch * k,
            "eps rows must be a multiple of x rows"
        );
        let (eps1, eps2) = self.split_noise(eps);
        let q1 = self.encode(seen.unwrap_or_else(|| x.clone()));
        let repeated = q1.repeat_rows(k);
        let z1 = repeated.rsample(eps1);
        let (values, labels) = self.split_input(x);
        let labels = labels.map(|y| repeat_rows(y, k));
        let raw = self.decode(self.decoder_input(z1.clone(), labels));
        let recon = self.reconstruction_nll(raw, repeat_rows(values, k));
        let top = self.top.as_ref().zip(eps2).map(|(top, eps2)| {
            let q2 = top.up.forward(z1.clone());
            let z2 = q2.rsample(eps2);
            let p1 = top.down.forward(z2.clone());
            DrawnTop { q2, z2, p1 }
        });
        Drawn {
            k,
            q1,
            repeated,
            z1,
            recon: recon.reshape([batch, k]),
            top,
        }
    }
}

/// The mean over each row's samples, `[batch, K]` to `[batch]` (no pass for K = 1).
fn mean_over_samples(t: Tensor<2>) -> Tensor<1> {
    let [batch, k] = t.dims();
    match k {
        1 => t.reshape([batch]),
        _ => t.mean_dim(1).squeeze_dim(1),
    }
}

/// One draw of every latent layer (see [`Vae::draw`]).
struct Drawn {
    /// Samples per example.
    k: usize,
    /// q(z1|x), `[batch, latent_dim]`.
    q1: DiagonalGaussian,
    /// q(z1|x) repeated K times, `[batch * K, latent_dim]`.
    repeated: DiagonalGaussian,
    /// The samples of z1, `[batch * K, latent_dim]`.
    z1: Tensor<2>,
    /// -log p(x|z1), `[batch, K]`.
    recon: Tensor<2>,
    top: Option<DrawnTop>,
}

/// The second layer's part of a draw, each `[batch * K, ...]`.
struct DrawnTop {
    /// q(z2|z1).
    q2: DiagonalGaussian,
    /// The samples of z2.
    z2: Tensor<2>,
    /// p(z1|z2).
    p1: DiagonalGaussian,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::objective::Objective;
    use crate::model::weights::{load_named, named_tensors};

    fn mlp_config() -> ModelConfig {
        ModelConfig {
            input: DataKind::Image {
                channels: 1,
                height: 2,
                width: 3,
            },
            architecture: Architecture::Mlp {
                hidden: vec![5],
                activation: Activation::Tanh,
            },
            latent_dim: 2,
            likelihood: Likelihood::Bernoulli,
            top: None,
            classes: None,
            prior: Prior::Standard,
            batch_norm: false,
        }
    }

    /// Loss of the tiny model at its current weights, in f64 from f32 outputs.
    fn loss_at(model: &Vae, objective: Objective, x: &Tensor<2>, eps: &Tensor<2>) -> f64 {
        let loss = objective.loss(model, x.clone(), None, eps.clone());
        loss.total.into_scalar::<f32>() as f64
    }

    /// Deterministic noise in about [-1.3, 1.3].
    fn fixed_noise(rows: usize, cols: usize, device: &Device) -> Tensor<2> {
        let values: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7 + 3) % 13) as f32 / 5.0 - 1.2)
            .collect();
        Tensor::from_data(burn::tensor::TensorData::new(values, [rows, cols]), device)
    }

    #[test]
    fn hierarchical_terms_agree_with_each_other_and_generate() {
        // The ELBO's KL (closed form for z2) and the mean sampled log ratio
        // estimate the same quantity; with many samples they agree.
        let device = Device::flex();
        let config = ModelConfig {
            top: Some(TopLayerConfig {
                latent_dim: 3,
                hidden: vec![4],
                activation: Activation::Tanh,
            }),
            ..mlp_config()
        };
        device.seed(5);
        let model = config.init(&device).unwrap();
        assert_eq!((model.latent_dim(), model.noise_dim()), (2, 5));
        let x = Tensor::<2>::from_floats([[0.0, 0.2, 1.0, 0.7, 0.1, 0.9]], &device);
        let k = 20_000;
        let mut rng = crate::random::seeded(1, crate::random::Stream::Eval);
        let eps = crate::eval::noise(&mut rng, k, 5, &device);
        let terms = model.elbo_terms(x.clone(), eps.clone());
        let sampled = model.sampled_terms(x, eps);
        let values = |t: Tensor<1>| t.into_data().try_into_vec::<f32>().unwrap();
        let kl = values(terms.kl.clone())[0] as f64;
        let per_dim = values(terms.kl_per_dim.clone().reshape([5]));
        assert!((per_dim.iter().map(|&v| v as f64).sum::<f64>() - kl).abs() < 1e-3);
        let ratios = values(sampled.log_ratio.reshape([k]));
        let mean = ratios.iter().map(|&v| v as f64).sum::<f64>() / k as f64;
        let sd = (ratios
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / k as f64)
            .sqrt();
        assert!(
            (mean - kl).abs() < 4.0 * sd / (k as f64).sqrt() + 1e-3,
            "sampled {mean} vs ELBO's {kl}"
        );
        assert_eq!(terms.means.dims(), [1, 5]);
        let codes = model.prior_codes(fixed_noise(4, 5, &device), &[]);
        assert_eq!(model.decode(codes).dims(), [4, 6]);
    }

    /// Checks autodiff's gradient of `objective` at `x` against central
    /// differences (step `h`, f32) at a few coordinates of every trained
    /// tensor of a model built from `config` (seed 3) on `x`'s device; returns
    /// how many coordinates were checked. Running statistics of batch norms
    /// have no gradient and are skipped.
    fn assert_gradients_match(
        h: f32,
        config: &ModelConfig,
        objective: Objective,
        samples: usize,
        x: Tensor<2>,
    ) -> usize {
        let device = x.device();
        device.seed(3);
        let model = config.init(&device).unwrap();
        let eps = fixed_noise(x.dims()[0] * samples, model.noise_dim(), &device);
        let grads = objective
            .loss(&model, x.clone(), None, eps.clone())
            .total
            .backward();
        let named = named_tensors(&model);
        let analytic: Vec<Option<Vec<f32>>> = {
            struct Grab<'a> {
                grads: &'a burn::tensor::Gradients,
                out: &'a mut Vec<Option<Vec<f32>>>,
            }
            impl burn::module::ModuleVisitor for Grab<'_> {
                fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                    let g = param.val().grad(self.grads);
                    self.out
                        .push(g.map(|g| g.into_data().try_into_vec::<f32>().unwrap()));
                }
            }
            let mut out = Vec::new();
            model.visit(&mut Grab {
                grads: &grads,
                out: &mut out,
            });
            out
        };
        let mut checked = 0;
        for ((name, data), grad) in named.iter().zip(&analytic) {
            let Some(grad) = grad else {
                assert!(
                    name.ends_with("running_mean") || name.ends_with("running_var"),
                    "{name} has no gradient"
                );
                continue;
            };
            let values = data.try_to_vec::<f32>().unwrap();
            // A few coordinates of every tensor keep the test quick.
            for i in (0..values.len()).step_by(values.len().div_ceil(4).max(1)) {
                let perturbed = |delta: f32| {
                    let mut tensors = named.clone();
                    let entry = tensors.iter_mut().find(|(n, _)| n == name).unwrap();
                    let mut v = values.clone();
                    v[i] += delta;
                    entry.1 = burn::tensor::TensorData::new(v, entry.1.shape().clone());
                    let m = load_named(
                        config.init(&device).unwrap(),
                        tensors.into_iter().collect(),
                        std::path::Path::new("test"),
                    )
                    .unwrap();
                    loss_at(&m, objective, &x, &eps)
                };
                let numeric = (perturbed(h) - perturbed(-h)) / (2.0 * h as f64);
                let analytic = grad[i] as f64;
                let tol = 5e-3 * numeric.abs().max(analytic.abs()).max(1.0);
                assert!(
                    (numeric - analytic).abs() < tol,
                    "{name}[{i}]: numeric {numeric} vs autodiff {analytic}"
                );
                checked += 1;
            }
        }
        checked
    }

    #[test]
    fn gradients_match_finite_differences() {
        // A tiny model in f32: central differences with h = 1e-2 on a smooth
        // (tanh) network agree with autodiff to a few parts in a thousand. The
        // ELBO with free bits and the IWAE bound (3 samples per example) too.
        let elbo = Objective::Elbo {
            beta: 1.0,
            free_bits: 0.0,
        };
        let free_bits = Objective::Elbo {
            beta: 0.5,
            free_bits: 0.3,
        };
        let gaussian = Likelihood::Gaussian {
            variance: GaussianVariance::PerPixel,
            min_variance: 1e-3,
        };
        let top = Some(TopLayerConfig {
            latent_dim: 2,
            hidden: vec![3],
            activation: Activation::Tanh,
        });
        let mut checked_cases = 0;
        for (likelihood, objective, samples, top) in [
            (Likelihood::Bernoulli, elbo, 1, None),
            (gaussian, elbo, 1, None),
            (Likelihood::Bernoulli, free_bits, 1, None),
            (Likelihood::Bernoulli, Objective::Iwae, 3, None),
            (gaussian, Objective::Iwae, 3, None),
            (Likelihood::Bernoulli, elbo, 2, top.clone()),
            (Likelihood::Bernoulli, Objective::Iwae, 3, top.clone()),
            (Likelihood::Bernoulli, elbo, 1, None),
            (Likelihood::Bernoulli, elbo, 3, None),
            (gaussian, Objective::Iwae, 2, None),
            (Likelihood::Bernoulli, elbo, 1, None),
            (gaussian, elbo, 3, None),
            (Likelihood::Bernoulli, Objective::Iwae, 3, None),
        ] {
            // Case 7 is conditional on a label of 3 classes; the next two have
            // a VampPrior of 3 pseudo-inputs, the last three a Gaussian
            // mixture of 3 components (whose gradients are checked too).
            let classes = (checked_cases == 7).then_some(3);
            let prior = match checked_cases {
                8 | 9 => Prior::Vamp { pseudo_inputs: 3 },
                10.. => Prior::Gmm { components: 3 },
                _ => Prior::Standard,
            };
            checked_cases += 1;
            let config = ModelConfig {
                likelihood,
                top,
                classes,
                prior,
                ..mlp_config()
            };
            let device = Device::flex().autodiff();
            let x = Tensor::<2>::from_floats(
                [
                    [0.0, 0.2, 1.0, 0.7, 0.1, 0.9],
                    [1.0, 0.5, 0.0, 0.3, 0.8, 0.4],
                ],
                &device,
            );
            let x = match classes {
                Some(c) => Tensor::cat(vec![x, crate::eval::one_hot(&[0, 2], c, &device)], 1),
                None => x,
            };
            assert!(assert_gradients_match(1e-2, &config, objective, samples, x) > 20);
        }
        assert_eq!(checked_cases, 13);
    }

    #[test]
    fn batch_norm_gradients_match_finite_differences() {
        // Batch-normalized hidden layers in training: the batch statistics
        // are part of the function, so every row's loss depends on the
        // others'. One and two stochastic layers, on the ELBO and the IWAE
        // bound; the running statistics take no gradient.
        let top = Some(TopLayerConfig {
            latent_dim: 2,
            hidden: vec![3],
            activation: Activation::Tanh,
        });
        for (top, objective, samples) in [
            (
                None,
                Objective::Elbo {
                    beta: 1.0,
                    free_bits: 0.0,
                },
                1,
            ),
            (None, Objective::Iwae, 3),
            (
                top,
                Objective::Elbo {
                    beta: 1.0,
                    free_bits: 0.0,
                },
                2,
            ),
        ] {
            let config = ModelConfig {
                top,
                batch_norm: true,
                ..mlp_config()
            };
            let device = Device::flex().autodiff();
            let x = Tensor::<2>::from_floats(
                [
                    [0.0, 0.2, 1.0, 0.7, 0.1, 0.9],
                    [1.0, 0.5, 0.0, 0.3, 0.8, 0.4],
                    [0.3, 0.9, 0.6, 0.0, 1.0, 0.2],
                    [0.7, 0.1, 0.4, 0.9, 0.5, 0.6],
                ],
                &device,
            );
            // The batch statistics make the loss more curved: a smaller step
            // keeps the differences' truncation error under the tolerance.
            assert!(assert_gradients_match(2e-3, &config, objective, samples, x) > 20);
        }
    }

    #[test]
    fn a_skipped_step_leaves_the_running_statistics_as_they_were() {
        use crate::nn::running_statistics;
        use crate::optim::{Adam, AdamConfig};
        use crate::train::train_step;
        let config = ModelConfig {
            batch_norm: true,
            ..mlp_config()
        };
        let device = Device::flex().autodiff();
        let mut model = config.init(&device).unwrap();
        let mut adam = Adam::new(AdamConfig::default());
        let read = |model: &Vae| -> Vec<f32> {
            running_statistics(&model.batch_norms())
                .into_iter()
                .flatten()
                .flat_map(|t| t.into_data().try_into_vec::<f32>().unwrap())
                .collect()
        };
        let batch = |first: f32| {
            Tensor::<2>::from_floats(
                [
                    [first, 0.2, 1.0, 0.7, 0.1, 0.9],
                    [1.0, 0.5, 0.0, 0.3, 0.8, 0.4],
                ],
                &device,
            )
        };
        let eps = Tensor::<2>::from_floats([[0.3, -0.2], [-1.0, 0.5]], &device);
        let objective = Objective::Elbo {
            beta: 1.0,
            free_bits: 0.0,
        };
        // encoder and decoder, one hidden layer each: 4 vectors of 5 values
        let start = read(&model);
        assert_eq!(start.len(), 20);
        for (first, applied) in [(0.0, true), (f32::NAN, false), (0.5, true)] {
            let before = read(&model);
            let (next, step) = train_step(
                model,
                &mut adam,
                batch(first),
                None,
                eps.clone(),
                objective,
                None,
            );
            model = next;
            assert_eq!(step.applied, applied, "{first}");
            let after = read(&model);
            assert!(after.iter().all(|v| v.is_finite()), "{after:?}");
            assert_eq!(
                after == before,
                !applied,
                "{first}: {before:?} -> {after:?}"
            );
            if !applied {
                // What a checkpoint saves is the restored statistics too.
                let saved = named_tensors(&model);
                let (_, mean) = saved
                    .iter()
                    .find(|(n, _)| n == "encoder.Mlp.norms.0.running_mean")
                    .unwrap();
                assert_eq!(
                    mean.clone().try_into_vec::<f32>().unwrap(),
                    before[..5].to_vec()
                );
            }
        }
        assert_ne!(read(&model), start);
    }

    #[test]
    fn batch_norm_statistics_are_saved_with_the_weights() {
        // The running statistics are named tensors: a model rebuilt from
        // them evaluates exactly as the trained one.
        let config = ModelConfig {
            batch_norm: true,
            ..mlp_config()
        };
        let device = Device::flex().autodiff();
        device.seed(1);
        let model = config.init(&device).unwrap();
        let x = Tensor::<2>::from_floats(
            [
                [0.0, 0.2, 1.0, 0.7, 0.1, 0.9],
                [1.0, 0.5, 0.0, 0.3, 0.8, 0.4],
                [0.3, 0.9, 0.6, 0.0, 1.0, 0.2],
            ],
            &device,
        );
        // Two training-mode passes move the running statistics off 0 and 1.
        let _ = model.encode(x.clone());
        let _ = model.encode(x.clone());
        let valid = model.valid();
        let named = named_tensors(&valid);
        let names: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
        for expected in [
            "encoder.Mlp.norms.0.gamma",
            "encoder.Mlp.norms.0.running_mean",
            "encoder.Mlp.norms.0.running_var",
            "decoder.Mlp.norms.0.beta",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        let mean = &named
            .iter()
            .find(|(n, _)| n == "encoder.Mlp.norms.0.running_mean")
            .unwrap()
            .1;
        assert!(
            mean.try_to_vec::<f32>()
                .unwrap()
                .iter()
                .any(|v| v.abs() > 1e-3)
        );
        let inner = device.inner();
        let rebuilt = load_named(
            config.init(&inner).unwrap(),
            named.into_iter().collect(),
            std::path::Path::new("test"),
        )
        .unwrap();
        let x = Tensor::<2>::from_data(x.into_data(), &inner);
        let (a, b) = (valid.encode(x.clone()).mu, rebuilt.encode(x).mu);
        assert_eq!(a.into_data(), b.into_data());
        // A model without batch norm has no such tensors: old runs load.
        let plain = named_tensors(&mlp_config().init(&inner).unwrap());
        assert!(plain.iter().all(|(n, _)| !n.contains("norms")));
    }

    #[test]
    fn batch_norm_is_refused_where_it_does_not_apply() {
        for (architecture, prior, says) in [
            (
                Architecture::Conv { channels: vec![4] },
                Prior::Standard,
                "--arch mlp",
            ),
            (
                mlp_config().architecture,
                Prior::Vamp { pseudo_inputs: 3 },
                "pseudo-inputs",
            ),
        ] {
            let config = ModelConfig {
                architecture,
                prior,
                batch_norm: true,
                ..mlp_config()
            };
            let message = config.validate().unwrap_err().to_string();
            assert!(
                message.contains("--batch-norm") && message.contains(says),
                "{message}"
            );
        }
    }

    #[test]
    fn invalid_settings_are_rejected_with_the_flag_name() {
        let mut c = mlp_config();
        c.latent_dim = 0;
        assert!(c.validate().unwrap_err().to_string().contains("--latent"));
        let mut c = mlp_config();
        c.architecture = Architecture::Conv {
            channels: vec![8, 8, 8],
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("--conv-channels")
        );
        let mut c = mlp_config();
        c.input = DataKind::Table {
            columns: vec!["a".into()],
        };
        c.architecture = Architecture::Conv { channels: vec![8] };
        assert!(c.validate().unwrap_err().to_string().contains("--arch mlp"));
    }
}
