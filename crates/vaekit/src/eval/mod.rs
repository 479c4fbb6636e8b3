//! Evaluation: the negative ELBO of a dataset, per example and per dimension.
//!
//! Scores are sums over an example's dimensions averaged over examples, in nats,
//! accumulated in f64. Each example gets one reparameterized sample of z, drawn
//! from a generator of fixed seed, so a score is reproducible and epochs compare
//! on equal terms (the PyTorch reference's test loss is the same estimator).

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::data::prepare::Binarize;
use crate::error::{Error, Result};
use crate::model::{ElboTerms, Vae};
use crate::random::{self, Rng, Stream};

/// Settings of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvalOptions {
    /// Examples per forward pass (memory, not results).
    pub batch_size: usize,
    /// The run's binarization: dynamic draws once per example with `seed`.
    pub binarize: Binarize,
    /// Seed of the noise and of dynamic binarization.
    pub seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            binarize: Binarize::None,
            seed: 0,
        }
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
        }
    }
}

/// The device a model's parameters live on.
pub fn model_device(model: &Vae) -> Device {
    model.devices().into_iter().next().unwrap_or_default()
}

/// Checks that `data` has the width `model` expects.
pub fn check_width(model: &Vae, data: &Dataset) -> Result<()> {
    if data.dim() != model.input_dim() {
        return Err(Error::Data(format!(
            "the data has {} values per example but the model takes {}; give data shaped like the training data",
            data.dim(),
            model.input_dim()
        )));
    }
    Ok(())
}

/// Rows `indices` of `data` as a `[batch, dim]` tensor on `device`,
/// binarized by `rng` when one is given.
pub fn batch_tensor(
    data: &Dataset,
    indices: &[usize],
    rng: Option<&mut Rng>,
    device: &Device,
) -> Tensor<2> {
    let dim = data.dim();
    let mut values = Vec::with_capacity(indices.len() * dim);
    for &i in indices {
        values.extend_from_slice(data.row(i));
    }
    if let Some(rng) = rng {
        random::binarize(&mut values, rng);
    }
    Tensor::from_data(TensorData::new(values, [indices.len(), dim]), device)
}

/// Standard-normal noise of shape `[rows, cols]` on `device`.
pub fn noise(rng: &mut Rng, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(random::normal(rng, rows * cols), [rows, cols]),
        device,
    )
}

/// Sums of the two -ELBO terms over a batch, read in one transfer.
pub fn term_sums(terms: &ElboTerms) -> (f64, f64) {
    let both = Tensor::cat(vec![terms.recon.clone().sum(), terms.kl.clone().sum()], 0);
    let v = both.into_data().try_into_vec::<f32>().unwrap_or_default();
    (
        v.first().copied().unwrap_or(f32::NAN) as f64,
        v.get(1).copied().unwrap_or(f32::NAN) as f64,
    )
}

/// The negative ELBO of every example of `data`, averaged.
pub fn evaluate_elbo(model: &Vae, data: &Dataset, options: &EvalOptions) -> Result<ElboReport> {
    check_width(model, data)?;
    if data.is_empty() {
        return Err(Error::Data("there are no examples to evaluate".into()));
    }
    let started = std::time::Instant::now();
    let device = model_device(model);
    let mut rng = random::seeded(options.seed, Stream::Eval);
    let (mut recon, mut kl) = (0.0, 0.0);
    let all: Vec<usize> = (0..data.len()).collect();
    for chunk in all.chunks(options.batch_size.max(1)) {
        let dynamic = (options.binarize == Binarize::Dynamic).then_some(&mut rng);
        let x = batch_tensor(data, chunk, dynamic, &device);
        let eps = noise(&mut rng, chunk.len(), model.latent_dim(), &device);
        let (r, k) = term_sums(&model.elbo_terms(x, eps));
        recon += r;
        kl += k;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(ElboReport::from_sums(
        data.len(),
        data.dim(),
        recon,
        kl,
        seconds,
    ))
}
