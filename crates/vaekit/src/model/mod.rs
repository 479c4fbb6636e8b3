//! The variational autoencoder and its settings.
//!
//! [`ModelConfig`] is plain serde data saved in a run's `config.json`; [`Vae`] is the
//! burn module built from it. Loading a run builds the model from the config
//! first and then puts the saved weights into it ([`weights`]), so the config is
//! the one source of truth for shapes.

mod coding;
mod config;
pub mod objective;
pub mod observation;
pub mod prior;
pub mod size;
mod table_input;
pub mod weights;

use burn::module::Param;
use burn::nn::BatchNorm;
use burn::prelude::*;
use burn::tensor::Int;

use crate::distributions::{
    DiagonalGaussian, Likelihood, mean_of_repeats, repeat_rows, standard_normal_log_prob, sum_rows,
};
use crate::nn::conv::{ConvDecoder, ConvEncoder};
use crate::nn::mlp::{MlpDecoder, MlpEncoder};
pub(crate) use coding::CodingPrior;
pub use config::{Architecture, ModelConfig, TopLayerConfig};
use observation::ObservationModel;
use prior::{GaussianMixture, LatentPrior, mean_over_samples};
use table_input::TableInput;

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
    /// p(x|z), a likelihood per block of the data's schema.
    #[module(skip)]
    observation: ObservationModel,
    #[module(skip)]
    input_dim: usize,
    #[module(skip)]
    latent_dim: usize,
    /// Classes of a conditional model (0: unconditional).
    #[module(skip)]
    classes: usize,
    /// How a typed table's values reach the encoder (None: as they are).
    #[module(skip)]
    table_input: Option<TableInput>,
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
        self.input_dim * (1 + usize::from(self.takes_observed())) + self.classes
    }

    /// `true` for a model of typed table columns, whose input rows carry
    /// the observed mask after the values (1 observed, 0 missing).
    pub fn takes_observed(&self) -> bool {
        self.table_input.is_some()
    }

    /// The observed mask of input rows (None for a model without one).
    ///
    /// # Shapes
    /// - `x`: `[n, input_width]`; returns `[n, input_dim]`
    pub fn observed_of(&self, x: &Tensor<2>) -> Option<Tensor<2>> {
        if !self.takes_observed() {
            return None;
        }
        let [rows, _] = x.dims();
        let d = self.input_dim;
        Some(x.clone().slice([0..rows, d..2 * d]))
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
        let [rows, cols] = x.dims();
        let observed = if self.takes_observed() {
            self.input_dim
        } else {
            0
        };
        match self.classes {
            0 if observed == 0 => (x, None),
            0 => (x.slice([0..rows, 0..self.input_dim.min(cols)]), None),
            _ => {
                let d = self.input_dim.min(cols);
                let from = (d + observed).min(cols);
                (
                    x.clone().slice([0..rows, 0..d]),
                    Some(x.slice([0..rows, from..cols])),
                )
            }
        }
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

    /// The model with an encoder whose log-variance is `logvar` for every
    /// input (see [`MlpEncoder::with_constant_logvar`]).
    ///
    /// # Shapes
    /// - `logvar`: `latent_dim` numbers
    pub fn with_constant_logvar(mut self, logvar: &[f32]) -> Vae {
        self.encoder = match self.encoder {
            Encoder::Mlp(e) => Encoder::Mlp(e.with_constant_logvar(logvar)),
            Encoder::Conv(e) => Encoder::Conv(e.with_constant_logvar(logvar)),
        };
        self
    }

    /// The VampPrior's pseudo-inputs as the prior reads them: clamped to
    /// [0, 1] for a Bernoulli model, as the paper's hard tanh does;
    /// non-negative for a count model (None for other priors).
    ///
    /// # Shapes
    /// - returns `[K, input_width]`
    fn clamped_pseudo_inputs(&self) -> Option<Tensor<2>> {
        let pseudo = self.pseudo_inputs.as_ref()?.val();
        Some(match self.likelihood {
            Likelihood::Bernoulli | Likelihood::Logistic => pseudo.clamp(0.0, 1.0),
            Likelihood::Poisson | Likelihood::NegativeBinomial => pseudo.clamp_min(0.0),
            Likelihood::Gaussian { .. } | Likelihood::Categorical => pseudo,
        })
    }

    /// The prior of the code z as a part (N(0, I) for a hierarchical VAE,
    /// whose prior is in its top layer); the VampPrior's components are the
    /// encoder's posteriors at the pseudo-inputs (clamped to [0, 1] for a
    /// Bernoulli model, as the paper's hard tanh does; non-negative for a
    /// Poisson one).
    pub fn latent_prior(&self) -> LatentPrior<'_> {
        if let Some(m) = &self.mixture {
            return LatentPrior::Mixture(m);
        }
        match self.clamped_pseudo_inputs() {
            Some(pseudo) => LatentPrior::Vamp(self.encode(pseudo)),
            None => LatentPrior::Standard,
        }
    }

    /// The mixing weights of a mixture prior: 1/K each for the VampPrior,
    /// pi_c for the Gaussian mixture (None for a standard-normal prior).
    pub fn prior_weights(&self) -> Option<Vec<f32>> {
        self.latent_prior().weights()
    }

    /// The components of a mixture prior: the VampPrior's q(z|u_k) or the
    /// Gaussian mixture's N(mu_c, var_c) (None for a standard-normal prior).
    ///
    /// # Shapes
    /// - returns `[K, latent_dim]` means and log-variances
    pub fn prior_components(&self) -> Option<DiagonalGaussian> {
        self.latent_prior().components()
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
        let (eps1, eps2) = self.split_noise(eps);
        match (&self.top, eps2) {
            (Some(top), Some(z2)) => top.down.forward(z2).rsample(eps1),
            _ => {
                let prior = self.latent_prior();
                prior.sample(eps1.clone(), mixture_choice).unwrap_or(eps1)
            }
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
        let mlp = matches!(self.encoder, Encoder::Mlp(_));
        let (x, complemented) = match (&self.table_input, self.takes_observed()) {
            (Some(t), true) => {
                let d = self.input_dim;
                // A table's mask is mostly ones: an MLP reads it as its
                // complement, the missing cells (mostly zeros), with its
                // first layer's weights changed to match, so that the same
                // posterior comes from a product that skips the zeros.
                let seen = match t.encoder_input_on_cpu(&x, d, mlp) {
                    Some(seen) => seen,
                    None => {
                        let observed = self.observed_of(&x).expect("a table model takes the mask");
                        let (values, labels) = self.split_input(x);
                        let seen = t.apply(values, observed, mlp);
                        match labels {
                            Some(y) => Tensor::cat(vec![seen, y], 1),
                            None => seen,
                        }
                    }
                };
                (seen, if mlp { d..2 * d } else { 0..0 })
            }
            _ => (x, 0..0),
        };
        match &self.encoder {
            Encoder::Mlp(e) => e.forward_complemented(x, complemented),
            Encoder::Conv(e) => e.forward(x),
        }
    }

    /// The decoder's raw outputs: logits (Bernoulli) or means (Gaussian).
    ///
    /// # Shapes
    /// - `z`: `[batch, latent_dim + classes]` (see [`Vae::decoder_input`]);
    ///   returns `[batch, input_dim]`
    pub fn decode(&self, z: Tensor<2>) -> Tensor<2> {
        let raw = match &self.decoder {
            Decoder::Mlp(d) => d.forward(z),
            Decoder::Conv(d) => d.forward(z),
        };
        match &self.table_input {
            Some(t) => t.output(raw),
            None => raw,
        }
    }

    /// The mean of p(x|z) from the decoder's raw outputs (see
    /// [`ObservationModel::mean`]).
    ///
    /// # Shapes
    /// - `raw`: `[batch, input_dim]`; returns the same shape
    pub fn likelihood_mean(&self, raw: Tensor<2>) -> Tensor<2> {
        self.observation.mean(raw)
    }

    /// The observation model p(x|z).
    pub fn observation(&self) -> &ObservationModel {
        &self.observation
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
        let logvar = self.observation_logvar();
        self.observation.nll(raw, x, logvar.as_ref(), None)
    }

    /// [`Vae::elbo_terms`], and the reconstruction term of each block of
    /// the data (see [`ObservationModel::nll_per_block`]) from the same draws:
    /// per example, the blocks sum to `recon`.
    ///
    /// # Shapes
    /// - as for [`Vae::elbo_terms`]; also returns `[batch, blocks]`
    pub fn elbo_terms_by_block(&self, x: Tensor<2>, eps: Tensor<2>) -> (ElboTerms, Tensor<2>) {
        let mut d = self.draw(x, None, eps, true);
        let by_block = (d.recon_by_block.take()).expect("draw scores the blocks when asked to");
        let by_block = mean_of_repeats(by_block, d.k);
        (self.terms(d, false), by_block)
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
        self.terms(self.draw(x, seen, eps, false), standard_prior)
    }

    /// The ELBO's terms of a draw (see [`Vae::elbo_terms_under`]).
    fn terms(&self, d: Drawn, standard_prior: bool) -> ElboTerms {
        let recon = mean_over_samples(d.recon);
        let (kl, kl_per_dim, means) = match d.top {
            None => {
                let prior = match standard_prior {
                    true => LatentPrior::Standard,
                    false => self.latent_prior(),
                };
                let (kl, per_dim) = prior.kl(&d.q1, &d.repeated, d.z1);
                (kl, per_dim, d.q1.mu)
            }
            Some(t) => {
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
        let d = self.draw(x, seen, eps, false);
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
        self.latent_prior().log_prob(z)
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
    /// draws K samples of every latent layer per example and decodes them;
    /// with `by_block`, also scores each block of the data apart.
    fn draw(&self, x: Tensor<2>, seen: Option<Tensor<2>>, eps: Tensor<2>, by_block: bool) -> Drawn {
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
        // Missing cells are left out of the likelihood.
        let observed = self.observed_of(&x).map(|o| repeat_rows(o, k));
        let (values, labels) = self.split_input(x);
        let labels = labels.map(|y| repeat_rows(y, k));
        let raw = self.decode(self.decoder_input(z1.clone(), labels));
        let values = repeat_rows(values, k);
        let logvar = self.observation_logvar();
        let recon_by_block = by_block.then(|| {
            self.observation.nll_per_block(
                raw.clone(),
                values.clone(),
                logvar.as_ref(),
                observed.clone(),
            )
        });
        // The blocks sum to the whole: one pass over the likelihoods, not two.
        let recon = match &recon_by_block {
            Some(blocks) => sum_rows(blocks.clone()),
            None => self.observation.nll(raw, values, logvar.as_ref(), observed),
        };
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
            recon_by_block,
            top,
        }
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
    /// -log p(x_block|z1) of each block, `[batch * K, blocks]`, when asked for.
    recon_by_block: Option<Tensor<2>>,
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
mod tests;
