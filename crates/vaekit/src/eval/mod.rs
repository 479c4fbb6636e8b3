//! Evaluation: the negative ELBO of a dataset, per example and per dimension,
//! the use the model makes of its latent dimensions, and (in [`iw`]) the
//! importance-weighted estimate of log p(x).
//!
//! Scores are sums over an example's dimensions averaged over examples, in nats,
//! accumulated in f64. Each example gets one reparameterized sample of z, drawn
//! from a generator of fixed seed, so a score is reproducible and epochs compare
//! on equal terms (the PyTorch reference's test loss is the same estimator).
//! Noise and dynamic binarization come from separate streams, drawn example by
//! example, so the batch size changes memory use, never results.

pub mod iw;

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::batch::{check_width, model_device, model_input, noise};
use crate::data::Dataset;
use crate::data::prepare::Binarize;
use crate::error::{Error, Result};
use crate::model::{ElboTerms, Vae};
use crate::random::{self, Rng, Stream};
use crate::settings::TrainSettings;

/// A latent dimension is active when the variance over the data of its
/// posterior mean exceeds this (Burda et al. 2015).
pub const ACTIVE_UNIT_THRESHOLD: f64 = 0.01;

/// Settings of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalOptions {
    /// Examples per forward pass (memory, not results).
    pub batch_size: usize,
    /// The run's binarization: dynamic draws once per example with `seed`.
    pub binarize: Binarize,
    /// Seed of the noise and of dynamic binarization.
    pub seed: u64,
    /// Evaluate only the first N examples.
    pub limit: Option<usize>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            binarize: Binarize::None,
            seed: 0,
            limit: None,
        }
    }
}

impl EvalOptions {
    /// The evaluation a run's settings call for: its binarization and seed,
    /// 1000 examples per pass, every example.
    pub fn for_run(settings: &TrainSettings) -> Self {
        Self {
            binarize: settings.binarize.unwrap_or_default(),
            seed: settings.seed.unwrap_or(0),
            ..Self::default()
        }
    }

    /// How many of `data`'s examples these options evaluate.
    pub fn count(&self, data: &Dataset) -> usize {
        self.limit.map_or(data.len(), |n| n.min(data.len()))
    }

    /// The generator of dynamic binarization, when the run binarizes dynamically.
    pub fn binarizer(&self) -> Option<Rng> {
        (self.binarize == Binarize::Dynamic)
            .then(|| random::seeded(self.seed, Stream::EvalBinarize))
    }
}

/// Negative ELBO and its terms, averaged over examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElboReport {
    /// Examples scored.
    pub n: usize,
    /// Values per example.
    pub dim: usize,
    /// -ELBO in nats per example.
    pub neg_elbo: f64,
    /// Reconstruction term, -E_q[log p(x|z)], nats per example.
    pub recon: f64,
    /// KL(q(z|x) || p(z)), nats per example.
    pub kl: f64,
    /// -ELBO in nats per dimension.
    pub neg_elbo_per_dim: f64,
    /// -ELBO in bits per dimension.
    pub bits_per_dim: f64,
    /// Seconds the computation took (data already in memory).
    pub seconds: f64,
    /// Examples scored per second.
    pub examples_per_second: f64,
    /// KL(q(z|x) || p(z)) of each latent dimension, nats per example.
    #[serde(default)]
    pub kl_per_dim: Vec<f64>,
    /// Variance over the examples of each dimension's posterior mean E_q[z_i].
    #[serde(default)]
    pub activity: Vec<f64>,
    /// Dimensions whose activity exceeds [`ACTIVE_UNIT_THRESHOLD`].
    #[serde(default)]
    pub active_units: usize,
    /// The reconstruction term by block of the data (a table's columns), in
    /// nats per example, when the data has more than one block; they sum to
    /// `recon`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recon_by_block: Vec<BlockRecon>,
}

/// One block's share of the reconstruction term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockRecon {
    /// The block's name (a table's column).
    pub name: String,
    /// -E_q[log p(x_block|z)], nats per example.
    pub recon: f64,
}

impl ElboReport {
    /// A report from per-example sums and the time they took.
    pub fn from_sums(n: usize, dim: usize, recon_sum: f64, kl_sum: f64, seconds: f64) -> Self {
        let nf = n.max(1) as f64;
        let neg_elbo = (recon_sum + kl_sum) / nf;
        let per_dim = neg_elbo / dim.max(1) as f64;
        Self {
            n,
            dim,
            neg_elbo,
            recon: recon_sum / nf,
            kl: kl_sum / nf,
            neg_elbo_per_dim: per_dim,
            bits_per_dim: per_dim / std::f64::consts::LN_2,
            seconds,
            examples_per_second: n as f64 / seconds.max(1e-9),
            kl_per_dim: Vec::new(),
            activity: Vec::new(),
            active_units: 0,
            recon_by_block: Vec::new(),
        }
    }

    /// This report with the per-dimension statistics of `latent`.
    pub fn with_latent(mut self, latent: &LatentStats) -> Self {
        self.kl_per_dim = latent.kl_per_dim();
        self.activity = latent.activity();
        self.active_units = self
            .activity
            .iter()
            .filter(|&&a| a > ACTIVE_UNIT_THRESHOLD)
            .count();
        self
    }
}

/// Per-dimension sums over examples of the KL and of the posterior mean and
/// its square, in f64, gathered batch by batch.
#[derive(Debug, Clone, Default)]
pub struct LatentStats {
    n: usize,
    kl: Vec<f64>,
    mean: Vec<f64>,
    square: Vec<f64>,
}

impl LatentStats {
    /// Adds a batch: `kl` and `mu` are row-major `[batch, latent_dim]`.
    pub fn add(&mut self, kl: &[f32], mu: &[f32], latent_dim: usize) {
        if self.kl.is_empty() {
            self.kl = vec![0.0; latent_dim];
            self.mean = vec![0.0; latent_dim];
            self.square = vec![0.0; latent_dim];
        }
        for (k, m) in kl.chunks(latent_dim).zip(mu.chunks(latent_dim)) {
            for j in 0..latent_dim {
                self.kl[j] += k[j] as f64;
                self.mean[j] += m[j] as f64;
                self.square[j] += (m[j] as f64).powi(2);
            }
            self.n += 1;
        }
    }

    /// Mean KL of each dimension.
    pub fn kl_per_dim(&self) -> Vec<f64> {
        let n = self.n.max(1) as f64;
        self.kl.iter().map(|k| k / n).collect()
    }

    /// Variance of each dimension's posterior mean over the examples.
    pub fn activity(&self) -> Vec<f64> {
        let n = self.n.max(1) as f64;
        self.mean
            .iter()
            .zip(&self.square)
            .map(|(m, s)| (s / n - (m / n).powi(2)).max(0.0))
            .collect()
    }
}

/// What one batch adds to an evaluation: the two -ELBO sums and the latent
/// statistics, read from the device in one transfer.
pub fn add_batch(terms: &ElboTerms, latent: &mut LatentStats) -> (f64, f64) {
    let [batch, latent_dim] = terms.means.dims();
    let both = Tensor::cat(
        vec![
            terms.recon.clone().sum(),
            terms.kl.clone().sum(),
            terms.kl_per_dim.clone().reshape([batch * latent_dim]),
            terms.means.clone().reshape([batch * latent_dim]),
        ],
        0,
    );
    let v = both.into_data().try_into_vec::<f32>().unwrap_or_default();
    if v.len() != 2 + 2 * batch * latent_dim {
        return (f64::NAN, f64::NAN);
    }
    let (kl, mu) = v[2..].split_at(batch * latent_dim);
    latent.add(kl, mu, latent_dim);
    (v[0] as f64, v[1] as f64)
}

/// Checks that there is something to evaluate.
pub(crate) fn check_data(model: &Vae, data: &Dataset) -> Result<()> {
    check_width(model, data)?;
    if data.is_empty() {
        return Err(Error::Data("there are no examples to evaluate".into()));
    }
    Ok(())
}

/// Refuses passes of `rows` rows that could not fit in memory.
pub(crate) fn check_pass_memory(model: &Vae, rows: usize) -> Result<()> {
    let need = crate::memory::pass_need(model.input_width(), model.noise_dim(), rows);
    crate::memory::check_fits(
        "a pass of --batch-size rows",
        need,
        crate::memory::available(),
        "--batch-size",
        "--batch-size",
    )
}

/// The negative ELBO of every example of `data` (or the first
/// `options.limit`), averaged, with the KL and activity of each latent dimension.
pub fn evaluate_elbo(model: &Vae, data: &Dataset, options: &EvalOptions) -> Result<ElboReport> {
    check_data(model, data)?;
    check_pass_memory(model, options.batch_size.min(options.count(data)))?;
    let started = std::time::Instant::now();
    let device = model_device(model);
    let mut rng = random::seeded(options.seed, Stream::Eval);
    let mut binarizer = options.binarizer();
    let (mut recon, mut kl) = (0.0, 0.0);
    let mut latent = LatentStats::default();
    let n = options.count(data);
    let all: Vec<usize> = (0..n).collect();
    let blocks = model.observation().blocks();
    let mut by_block = vec![0.0f64; blocks.len()];
    for chunk in all.chunks(options.batch_size.max(1)) {
        let x = model_input(model, data, chunk, binarizer.as_mut(), &device);
        let eps = noise(&mut rng, chunk.len(), model.noise_dim(), &device);
        let terms = match blocks.len() {
            1 => model.elbo_terms(x, eps),
            _ => {
                let (terms, per_block) = model.elbo_terms_by_block(x, eps);
                let sums = per_block.sum_dim(0).into_data().try_into_vec::<f32>();
                for (total, s) in by_block.iter_mut().zip(sums.unwrap_or_default()) {
                    *total += f64::from(s);
                }
                terms
            }
        };
        let (r, k) = add_batch(&terms, &mut latent);
        recon += r;
        kl += k;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut report = ElboReport::from_sums(n, data.dim(), recon, kl, seconds).with_latent(&latent);
    if blocks.len() > 1 {
        report.recon_by_block = blocks
            .iter()
            .zip(by_block)
            .map(|(b, sum)| BlockRecon {
                name: b.name.clone(),
                recon: sum / n.max(1) as f64,
            })
            .collect();
    }
    Ok(report)
}
