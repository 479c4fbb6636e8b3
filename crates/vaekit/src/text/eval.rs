//! How well a sentence model explains sentences: the ELBO (beta = 1, no
//! dropout), the importance-weighted bound on log p(x) and the perplexity
//! it gives, the KL, the mutual information between x and z and the active
//! units, so that a collapsed posterior is visible.
//!
//! Perplexity is exp(-sum log p(x) / words), the words of a sentence being
//! its tokens and its end token (as He et al. 2019 and Bowman et al. count
//! them); for the VAE log p(x) is the importance-weighted bound with K
//! samples, for the language model it is exact.

use burn::prelude::*;
use burn::tensor::TensorData;
use serde::{Deserialize, Serialize};

use super::model::{SentenceVae, TokenBatch};
use crate::distributions::{DiagonalGaussian, standard_normal_log_prob};
use crate::random::{self, Rng, Stream};

/// A model's scores on a set of sentences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextReport {
    /// Sentences scored.
    pub sentences: usize,
    /// Words predicted (tokens and end tokens).
    pub words: usize,
    /// -ELBO per sentence, nats (the exact -log p(x) for the language model).
    pub neg_elbo: f64,
    /// Reconstruction term per sentence, nats.
    pub recon: f64,
    /// KL(q(z|x) || p(z)) per sentence, nats.
    pub kl: f64,
    /// -ELBO per word, nats.
    pub neg_elbo_per_word: f64,
    /// exp(-ELBO per word): the ELBO's bound on perplexity.
    pub elbo_perplexity: f64,
    /// The importance-weighted -log p(x) per sentence, where asked for.
    pub iw_nll: Option<f64>,
    /// Samples K of that bound.
    pub iw_samples: Option<usize>,
    /// Perplexity from the importance-weighted bound (from the exact
    /// likelihood for the language model).
    pub perplexity: f64,
    /// Mutual information I(x; z) under q (He et al.'s estimator), nats.
    pub mutual_information: Option<f64>,
    /// Latent dimensions whose posterior mean varies over the sentences
    /// (Cov_x(E_q[z_d]) > 0.01, Burda et al.).
    pub active_units: Option<usize>,
    /// KL of each latent dimension per sentence.
    pub kl_per_dim: Vec<f64>,
}

/// Settings of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextEvalOptions {
    /// Sentences per forward pass.
    pub batch_size: usize,
    /// K of the importance-weighted bound (None: ELBO only).
    pub iw_samples: Option<usize>,
    /// Seed of the noise.
    pub seed: u64,
}

impl Default for TextEvalOptions {
    fn default() -> Self {
        TextEvalOptions {
            batch_size: 256,
            iw_samples: None,
            seed: 0,
        }
    }
}

/// Standard-normal noise of `rows x cols` as a tensor on `device`.
pub(crate) fn noise(rng: &mut Rng, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(random::normal(rng, rows * cols), [rows, cols]),
        device,
    )
}

/// Batches of `sentences` in order, `size` to a batch.
pub(crate) fn batches(
    sentences: &[Vec<u32>],
    size: usize,
) -> impl Iterator<Item = TokenBatch> + '_ {
    sentences.chunks(size.max(1)).map(|c| {
        let refs: Vec<&[u32]> = c.iter().map(Vec::as_slice).collect();
        TokenBatch::new(&refs)
    })
}

fn values(t: Tensor<1>) -> Vec<f64> {
    t.into_data()
        .convert::<f64>()
        .try_to_vec::<f64>()
        .unwrap_or_default()
}

fn values2(t: Tensor<2>) -> Vec<f64> {
    let [rows, cols] = t.dims();
    values(t.reshape([rows * cols]))
}

/// The scores of `model` (without autodiff) on `sentences`.
pub fn evaluate(
    model: &SentenceVae,
    sentences: &[Vec<u32>],
    options: &TextEvalOptions,
) -> TextReport {
    let z = model.latent();
    let mut rng = random::seeded(options.seed, Stream::Eval);
    let device = model.device();
    let (mut recon, mut kl, mut words, mut iw) = (0.0, 0.0, 0usize, 0.0);
    let mut kl_dims = vec![0.0; z];
    let mut means: Vec<f64> = Vec::new();
    let mut posteriors: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    for batch in batches(sentences, options.batch_size) {
        words += batch.words();
        let inputs = batch.decoder_inputs(0.0, None);
        let Some(q) = model.posterior(&batch, None) else {
            let nll = values(model.reconstruction_nll(&batch, &inputs, None, None));
            recon += nll.iter().sum::<f64>();
            continue;
        };
        let eps = noise(&mut rng, batch.rows, z, &device);
        let zs = q.rsample(eps);
        recon += values(model.reconstruction_nll(&batch, &inputs, Some(&zs), None))
            .iter()
            .sum::<f64>();
        let per_dim = values2(q.kl_per_dim());
        for (i, v) in per_dim.iter().enumerate() {
            kl_dims[i % z] += v;
        }
        kl += per_dim.iter().sum::<f64>();
        if let Some(k) = options.iw_samples {
            iw += iw_nll(model, &batch, &inputs, &q, k, options.batch_size, &mut rng);
        }
        let mu = values2(q.mu.clone());
        means.extend(&mu);
        posteriors.push((mu, values2(q.logvar)));
    }
    let n = sentences.len().max(1) as f64;
    let w = words.max(1) as f64;
    let neg_elbo = recon + kl;
    let lm = z == 0;
    let iw_nll = (!lm && options.iw_samples.is_some()).then_some(iw / n);
    let exact_or_iw = if lm {
        Some(neg_elbo)
    } else {
        iw_nll.map(|v| v * n)
    };
    TextReport {
        sentences: sentences.len(),
        words,
        neg_elbo: neg_elbo / n,
        recon: recon / n,
        kl: kl / n,
        neg_elbo_per_word: neg_elbo / w,
        elbo_perplexity: (neg_elbo / w).exp(),
        iw_nll,
        iw_samples: if lm { None } else { options.iw_samples },
        perplexity: exact_or_iw.map_or((neg_elbo / w).exp(), |t| (t / w).exp()),
        mutual_information: (!lm).then(|| mutual_information(&posteriors, z, &mut rng)),
        active_units: (!lm).then(|| active_units(&means, z)),
        kl_per_dim: kl_dims.iter().map(|v| v / n).collect(),
    }
}

/// One sentence's anomaly score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentenceScore {
    /// -ELBO of the sentence in nats (one draw of z at the seed; the exact
    /// -log p(x) for the language model): higher is more unusual.
    pub neg_elbo: f64,
    /// The same per word (its tokens and end token), which does not grow
    /// with the sentence's length.
    pub per_word: f64,
    /// Words of the sentence.
    pub words: usize,
}

/// The score of each sentence, in order.
pub fn sentence_scores(
    model: &SentenceVae,
    sentences: &[Vec<u32>],
    seed: u64,
) -> Vec<SentenceScore> {
    let mut rng = random::seeded(seed, Stream::Eval);
    let device = model.device();
    let z = model.latent();
    let mut out = Vec::with_capacity(sentences.len());
    for batch in batches(sentences, 256) {
        let inputs = batch.decoder_inputs(0.0, None);
        let scores = match model.posterior(&batch, None) {
            None => values(model.reconstruction_nll(&batch, &inputs, None, None)),
            Some(q) => {
                let zs = q.rsample(noise(&mut rng, batch.rows, z, &device));
                let recon = model.reconstruction_nll(&batch, &inputs, Some(&zs), None);
                values(recon + q.kl_to_standard_normal())
            }
        };
        out.extend(
            scores
                .into_iter()
                .zip(&batch.lengths)
                .map(|(s, &w)| SentenceScore {
                    neg_elbo: s,
                    per_word: s / w as f64,
                    words: w,
                }),
        );
    }
    out
}

/// The importance-weighted -log p(x) of each sentence of `batch`, summed:
/// -log (1/K sum_k p(x|z_k) p(z_k) / q(z_k|x)), z_k ~ q(z|x), the K
/// samples decoded `rows_per_pass` rows at a time.
fn iw_nll(
    model: &SentenceVae,
    batch: &TokenBatch,
    inputs: &[u32],
    q: &DiagonalGaussian,
    k: usize,
    rows_per_pass: usize,
    rng: &mut Rng,
) -> f64 {
    let z = model.latent();
    let device = model.device();
    let mut total = 0.0;
    // Sentence by sentence, its K samples in passes.
    let width = batch.steps + 1;
    let per_pass = rows_per_pass.max(1);
    for i in 0..batch.rows {
        let sentence = &batch.tokens[i * batch.steps..i * batch.steps + batch.lengths[i] - 1];
        let row_inputs = &inputs[i * width..i * width + batch.lengths[i]];
        let qi = DiagonalGaussian::new(
            q.mu.clone().slice([i..i + 1, 0..z]),
            q.logvar.clone().slice([i..i + 1, 0..z]),
        );
        let mut log_w: Vec<f64> = Vec::with_capacity(k);
        let mut done = 0;
        while done < k {
            let m = per_pass.min(k - done);
            let copies: Vec<&[u32]> = vec![sentence; m];
            let b = TokenBatch::new(&copies);
            let ins: Vec<u32> = row_inputs.repeat(m);
            let rep = qi.repeat_rows(m);
            let zs = rep.rsample(noise(rng, m, z, &device));
            let recon = model.reconstruction_nll(&b, &ins, Some(&zs), None);
            let lw = standard_normal_log_prob(zs.clone()) - rep.log_prob(zs) - recon;
            log_w.extend(values(lw));
            done += m;
        }
        let max = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = max + log_w.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
        total += -(lse - (k as f64).ln());
    }
    total
}

/// He et al.'s estimate of I(x; z) = E_x E_q(z|x)[log q(z|x)] - E_q(z)[log q(z)],
/// with the aggregate posterior q(z) the mixture of the sentences'
/// posteriors, each sentence's z drawn once and both terms taken at it.
fn mutual_information(posteriors: &[(Vec<f64>, Vec<f64>)], z: usize, rng: &mut Rng) -> f64 {
    let mu: Vec<f64> = posteriors
        .iter()
        .flat_map(|p| p.0.iter().copied())
        .collect();
    let logvar: Vec<f64> = posteriors
        .iter()
        .flat_map(|p| p.1.iter().copied())
        .collect();
    let n = mu.len() / z.max(1);
    if n == 0 || z == 0 {
        return 0.0;
    }
    let ln2pi = (2.0 * std::f64::consts::PI).ln();
    let log_q = |zs: &[f64], j: usize| -> f64 {
        (0..z)
            .map(|d| {
                let (m, l) = (mu[j * z + d], logvar[j * z + d]);
                -0.5 * (ln2pi + l + (zs[d] - m).powi(2) / l.exp())
            })
            .sum()
    };
    let eps = random::normal(rng, n * z);
    let mut neg_entropy = 0.0;
    let mut log_agg = 0.0;
    for i in 0..n {
        let zs: Vec<f64> = (0..z)
            .map(|d| mu[i * z + d] + (0.5 * logvar[i * z + d]).exp() * f64::from(eps[i * z + d]))
            .collect();
        // log q(z|x) at the same draw as log q(z): the two terms' noise
        // cancels (one posterior for all sentences gives exactly 0).
        neg_entropy += log_q(&zs, i);
        let terms: Vec<f64> = (0..n).map(|j| log_q(&zs, j)).collect();
        let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        log_agg += max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln() - (n as f64).ln();
    }
    (neg_entropy - log_agg) / n as f64
}

/// Dimensions whose posterior mean has a variance over the sentences above
/// 0.01.
fn active_units(means: &[f64], z: usize) -> usize {
    let n = means.len() / z.max(1);
    if n < 2 {
        return 0;
    }
    (0..z)
        .filter(|&d| {
            let m = (0..n).map(|i| means[i * z + d]).sum::<f64>() / n as f64;
            let v = (0..n).map(|i| (means[i * z + d] - m).powi(2)).sum::<f64>() / n as f64;
            v > 0.01
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutual_information_is_zero_for_one_posterior_and_log_n_for_far_apart_ones() {
        let mut rng = random::seeded(0, Stream::Eval);
        // Every sentence with the same posterior: z says nothing of x.
        let same = vec![(vec![0.3, -0.2], vec![0.0, 0.0]); 50];
        let mi = mutual_information(&same, 2, &mut rng);
        assert!(mi.abs() < 1e-9, "{mi}");
        // Posteriors far apart and narrow: z names x, I = log n.
        let apart: Vec<(Vec<f64>, Vec<f64>)> = (0..20)
            .map(|i| (vec![10.0 * i as f64], vec![-4.0]))
            .collect();
        let mi = mutual_information(&apart, 1, &mut rng);
        assert!((mi - (20f64).ln()).abs() < 1e-6, "{mi}");
    }

    #[test]
    fn active_units_count_dimensions_whose_means_vary() {
        let means: Vec<f64> = (0..100)
            .flat_map(|i| [i as f64 / 10.0, 0.001 * (i % 2) as f64])
            .collect();
        assert_eq!(active_units(&means, 2), 1);
    }
}
