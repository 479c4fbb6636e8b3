//! Imputation with a trained VAE.
//!
//! Both methods work on whole rows held on the CPU and only ever write the
//! missing positions, so observed values come back bit for bit whatever the
//! network computes.
//!
//! * **Pseudo-Gibbs** (Rezende, Mohamed & Wierstra 2014, section 5.2): encode
//!   the current completion, take z from q(z|x) (a draw or its mean), decode,
//!   and put the decoder's mean (or a draw of p(x|z)) into the missing
//!   positions; repeat. Only the encoder and decoder are used, so it works for
//!   every unconditional model, the hierarchical one included.
//! * **Importance resampling, MIWAE-style** (Mattei & Frellsen 2019): with K
//!   draws z_k ~ q(z|x_filled), the weights w_k ∝ p(x_obs|z_k) p(z_k) / q(z_k|x_filled)
//!   make the weighted mean of the decoder means a self-normalised estimate of
//!   E[x_mis | x_obs] under the model. The likelihood is the model's own
//!   (Bernoulli or Gaussian) summed over the observed values only. The encoder
//!   cannot see a hole, so it reads the current completion; with more than
//!   one iteration the estimate is fed back in, and half the draws come from
//!   a Gaussian fitted to the previous round's weighted draws (adaptive
//!   importance sampling), which moves to where p(z|x_obs) is.
//!   It needs log p(z) in closed form: the standard normal or a VampPrior,
//!   not the hierarchical model's marginal p(z1).
//!
//! A run trained with `--encoder-mask` has an encoder that learned to read
//! examples with values hidden (at the training means); for it both methods
//! encode the observed values with that fill in every round
//! ([`EncoderReads::Observed`]) instead of the last round's completion, so
//! q(z|x) approximates p(z|x_obs) directly.

use burn::tensor::{Tensor, TensorData};

use super::Mask;
use crate::batch::{model_device, noise};
use crate::data::Dataset;
use crate::distributions::{DiagonalGaussian, repeat_rows};
use crate::error::{Error, Result};
use crate::model::Vae;
use crate::model::prior::log_sum_exp;
use crate::random::{self, Stream};

/// Which imputation a VAE does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Pseudo-Gibbs sampling (Rezende et al. 2014).
    Gibbs,
    /// Importance resampling over the posterior (Mattei & Frellsen 2019).
    Miwae,
}

impl std::str::FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "gibbs" => Ok(Method::Gibbs),
            "miwae" => Ok(Method::Miwae),
            other => Err(Error::setting(
                "--method",
                format!("unknown method '{other}'; use gibbs or miwae"),
            )),
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Gibbs => "gibbs",
            Method::Miwae => "miwae",
        })
    }
}

/// Whether a pseudo-Gibbs step takes a distribution's mean or a draw from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Draw {
    /// The mean: deterministic steps.
    Mean,
    /// A random draw, as in Rezende et al.'s sampler.
    Sample,
}

impl std::str::FromStr for Draw {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "mean" => Ok(Draw::Mean),
            "sample" => Ok(Draw::Sample),
            other => Err(Error::setting(
                "--gibbs-z/--gibbs-x",
                format!("unknown choice '{other}'; use mean or sample"),
            )),
        }
    }
}

/// What the encoder reads in each round of imputation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EncoderReads {
    /// The current completion (the previous round's estimate in the missing
    /// positions): for an encoder trained on whole examples only.
    Completion,
    /// The observed values with the missing ones at their starting fill, in
    /// every round: what an encoder trained with `--encoder-mask` saw.
    Observed,
}

impl EncoderReads {
    /// [`EncoderReads::Observed`] where the run's encoder was trained with
    /// some values hidden, else [`EncoderReads::Completion`].
    pub fn for_run(run: &crate::run::Run) -> EncoderReads {
        match run.config.settings.encoder_mask {
            Some(_) => EncoderReads::Observed,
            None => EncoderReads::Completion,
        }
    }
}

impl std::str::FromStr for EncoderReads {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "completion" => Ok(EncoderReads::Completion),
            "observed" => Ok(EncoderReads::Observed),
            other => Err(Error::setting(
                "--encoder-reads",
                format!("unknown choice '{other}'; use completion or observed"),
            )),
        }
    }
}

/// Settings of a VAE imputation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImputeOptions {
    /// The method.
    pub method: Method,
    /// Rounds of encode, draw, decode and refill (at least 1).
    pub iterations: usize,
    /// Importance samples per example for [`Method::Miwae`] (at least 1).
    pub samples: usize,
    /// Pseudo-Gibbs: z is q(z|x)'s mean or a draw.
    pub gibbs_z: Draw,
    /// Pseudo-Gibbs: the missing values get p(x|z)'s mean or a draw.
    pub gibbs_x: Draw,
    /// What the encoder reads in each round.
    pub encoder_reads: EncoderReads,
    /// Rows (examples times samples) per pass: memory, not results.
    pub batch_size: usize,
    /// Seed of every draw.
    pub seed: u64,
}

impl Default for ImputeOptions {
    fn default() -> Self {
        Self {
            method: Method::Gibbs,
            iterations: 10,
            samples: 50,
            gibbs_z: Draw::Mean,
            gibbs_x: Draw::Mean,
            encoder_reads: EncoderReads::Completion,
            batch_size: 10_000,
            seed: 0,
        }
    }
}

/// Checks that `model` can impute with `method`, saying what to do when not.
pub fn check_model(model: &Vae, method: Method) -> Result<()> {
    if model.classes().is_some() {
        return Err(Error::setting(
            "--run",
            "the model is conditional on a label (cvae); imputation works with unconditional models: train one with --model vae, iwae or hvae",
        ));
    }
    if method == Method::Miwae && model.noise_dim() != model.latent_dim() {
        return Err(Error::setting(
            "--method",
            "miwae needs log p(z) in closed form, but this hierarchical (hvae) model's p(z1) is an integral over z2; use --method gibbs",
        ));
    }
    Ok(())
}

/// Completes `data` with `model`: returns its values with the missing ones
/// (by `mask`) imputed and the observed ones unchanged, bit for bit.
///
/// `data` is in the model's units (after the run's preprocessing) and its
/// missing positions hold the starting fill (column means, say).
///
/// # Errors
///
/// [`Error::Setting`] for zero iterations or samples and for a model that
/// cannot use `options.method` ([`check_model`]); [`Error::Data`] when `data`
/// or `mask` do not fit the model.
pub fn impute_with_vae(
    model: &Vae,
    data: &Dataset,
    mask: &Mask,
    options: &ImputeOptions,
) -> Result<Vec<f32>> {
    check_model(model, options.method)?;
    if options.iterations == 0 {
        return Err(Error::setting(
            "--iterations",
            "give at least 1 round of imputation",
        ));
    }
    if options.samples == 0 {
        return Err(Error::setting(
            "--samples",
            "give at least 1 importance sample (50 is a good start)",
        ));
    }
    let dim = model.input_dim();
    if data.dim() != dim || mask.dim() != dim || mask.rows() != data.len() {
        return Err(Error::Data(format!(
            "cannot impute {} rows of {} values with a mask of {} rows of {} for a model of {dim} values",
            data.len(),
            data.dim(),
            mask.rows(),
            mask.dim()
        )));
    }
    let per_example = match options.method {
        Method::Gibbs => 1,
        Method::Miwae => options.samples,
    };
    let rows_per_pass = (options.batch_size / per_example).max(1);
    let mut rng = random::seeded(options.seed, Stream::Eval);
    let mut out = data.values().to_vec();
    let all: Vec<usize> = (0..data.len()).collect();
    for chunk in all.chunks(rows_per_pass) {
        let first = chunk[0] * dim;
        let end = first + chunk.len() * dim;
        let missing = &mask.missing()[first..end];
        if !missing.contains(&true) {
            continue;
        }
        let start = &data.values()[first..end];
        let values = &mut out[first..end];
        let mut fitted = None;
        for _ in 0..options.iterations {
            let read = match options.encoder_reads {
                EncoderReads::Completion => &values[..],
                EncoderReads::Observed => start,
            };
            let estimate = match options.method {
                Method::Gibbs => gibbs_step(model, read, missing, options, &mut rng),
                Method::Miwae => {
                    let (estimate, next) = miwae_step(
                        model,
                        read,
                        missing,
                        options.samples,
                        fitted.as_ref(),
                        &mut rng,
                    );
                    fitted = Some(next);
                    estimate
                }
            };
            for ((v, e), &m) in values.iter_mut().zip(estimate).zip(missing) {
                if m {
                    *v = e;
                }
            }
        }
    }
    Ok(out)
}

/// Row-major values as a `[rows, dim]` tensor on the model's device.
fn tensor(model: &Vae, values: &[f32]) -> Tensor<2> {
    let dim = model.input_dim();
    Tensor::from_data(
        TensorData::new(values.to_vec(), [values.len() / dim, dim]),
        &model_device(model),
    )
}

/// What the encoder reads of `x`: the values, joined by their observed mask
/// for a model of typed columns (which tells a hole from a zero).
fn encoder_rows(model: &Vae, x: Tensor<2>, missing: &[bool]) -> Tensor<2> {
    if !model.takes_observed() {
        return x;
    }
    let observed: Vec<f32> = missing.iter().map(|&m| if m { 0.0 } else { 1.0 }).collect();
    Tensor::cat(vec![x, tensor(model, &observed)], 1)
}

fn to_values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap_or_default()
}

/// One pseudo-Gibbs round from what the encoder reads (`read`): a new value
/// for every position.
fn gibbs_step(
    model: &Vae,
    read: &[f32],
    missing: &[bool],
    options: &ImputeOptions,
    rng: &mut random::Rng,
) -> Vec<f32> {
    let device = model_device(model);
    let q = model.encode(encoder_rows(model, tensor(model, read), missing));
    let [rows, latent] = q.mu.dims();
    let z = match options.gibbs_z {
        Draw::Mean => q.mu,
        Draw::Sample => q.rsample(noise(rng, rows, latent, &device)),
    };
    let raw = model.decode(z);
    match options.gibbs_x {
        Draw::Mean => to_values(model.likelihood_mean(raw)),
        Draw::Sample => {
            let logvar = model.observation_logvar();
            model.observation().sample(raw, logvar.as_ref(), rng)
        }
    }
}

/// One importance-resampling round: the self-normalised weighted mean of the
/// decoder means of `samples` draws per row, and the Gaussian fitted to the
/// weighted draws for the next round's proposal.
///
/// The proposal is q(z|x) of what the encoder reads (`read`: the current
/// completion, or the observed values with the starting fill, see
/// [`EncoderReads`]) in the first round. From
/// the second on it is the even mixture of that and `fitted` (the previous
/// round's weighted mean and variance of z, plus the encoder's variance so
/// that it never collapses onto one draw), sampled half from each, with the
/// mixture's density in the weights (multiple importance sampling with the
/// balance heuristic). The encoder sees the completion, not the hole, so its
/// posterior is that of a whole image and narrower than p(z|x_obs); the fitted
/// Gaussian follows the weights to where p(z|x_obs) is.
fn miwae_step(
    model: &Vae,
    read: &[f32],
    missing: &[bool],
    samples: usize,
    fitted: Option<&DiagonalGaussian>,
    rng: &mut random::Rng,
) -> (Vec<f32>, DiagonalGaussian) {
    let device = model_device(model);
    // Only the observed values enter the likelihood, and they are the same
    // in every completion.
    let x = tensor(model, read);
    let observed: Vec<f32> = missing.iter().map(|&m| if m { 0.0 } else { 1.0 }).collect();
    let observed = tensor(model, &observed);
    let [rows, dim] = x.dims();
    let latent = model.latent_dim();
    let encoded = model.encode(encoder_rows(model, x.clone(), missing));
    // With one sample there is nothing to split, and the encoder draws it.
    let fitted = fitted.filter(|_| samples >= 2);
    let from_fitted = fitted.map_or(0, |_| samples / 2);
    let from_encoder = samples - from_fitted;
    let draw = |q: &DiagonalGaussian, n: usize, rng: &mut random::Rng| {
        q.repeat_rows(n)
            .rsample(noise(rng, rows * n, latent, &device))
            .reshape([rows, n, latent])
    };
    let mut z = draw(&encoded, from_encoder, rng);
    if let Some(fitted) = fitted {
        z = Tensor::cat(vec![z, draw(fitted, from_fitted, rng)], 1);
    }
    let z = z.reshape([rows * samples, latent]);
    let log_q_encoder = encoded.repeat_rows(samples).log_prob(z.clone());
    let log_q = match fitted {
        None => log_q_encoder,
        Some(fitted) => {
            let log_q_fitted = fitted.repeat_rows(samples).log_prob(z.clone());
            log_sum_exp(Tensor::stack::<2>(vec![log_q_encoder, log_q_fitted], 1))
                .sub_scalar(std::f64::consts::LN_2)
        }
    };
    let raw = model.decode(z.clone());
    let x = repeat_rows(x, samples);
    let logvar = model.observation_logvar();
    let observed = Some(repeat_rows(observed, samples));
    let log_px_obs = model
        .observation()
        .nll(raw.clone(), x, logvar.as_ref(), observed)
        .neg();
    let log_pz = model.log_prior(z.clone());
    let log_w = (log_px_obs + log_pz - log_q).reshape([rows, samples]);
    // Self-normalised weights, shifted by each row's largest log weight so
    // that exp never overflows.
    let shifted = (log_w.clone() - log_w.max_dim(1)).exp();
    let weights = (shifted.clone() / shifted.sum_dim(1)).reshape([rows, samples, 1]);
    let z = z.reshape([rows, samples, latent]);
    let mean_z = (z.clone() * weights.clone()).sum_dim(1);
    let var_z = ((z - mean_z.clone()).powi_scalar(2) * weights.clone()).sum_dim(1);
    let next = DiagonalGaussian::new(
        mean_z.reshape([rows, latent]),
        (var_z.reshape([rows, latent]) + encoded.logvar.exp()).log(),
    );
    let means = model.likelihood_mean(raw).reshape([rows, samples, dim]);
    let estimate = (means * weights).sum_dim(1).reshape([rows, dim]);
    (to_values(estimate), next)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use burn::tensor::Device;

    use super::*;
    use crate::data::DataKind;
    use crate::distributions::{GaussianVariance, Likelihood};
    use crate::model::prior::Prior;
    use crate::model::weights::{load_named, named_tensors};
    use crate::model::{Architecture, ModelConfig, TopLayerConfig};
    use crate::nn::Activation;

    /// One latent dimension: x = w z + b + N(0, SIGMA2 I), z ~ N(0, 1).
    const W: [f64; 3] = [1.0, 2.0, -1.0];
    const B: [f64; 3] = [0.5, 0.0, 1.0];
    const SIGMA2: f64 = 0.1;

    fn config() -> ModelConfig {
        ModelConfig {
            input: DataKind::Table {
                columns: vec!["a".into(), "b".into(), "c".into()],
            },
            architecture: Architecture::Mlp {
                hidden: vec![],
                activation: Activation::Relu,
            },
            latent_dim: 1,
            likelihood: Likelihood::Gaussian {
                variance: GaussianVariance::Scalar,
                min_variance: 1e-4,
            },
            top: None,
            classes: None,
            prior: Prior::Standard,
            batch_norm: false,
            table: None,
        }
    }

    /// Probabilistic PCA as a linear VAE whose encoder is the exact posterior
    /// of complete rows: mean w.(x - b) / m, variance SIGMA2 / m, m = |w|^2 + SIGMA2.
    fn ppca() -> Vae {
        let m = W.iter().map(|w| w * w).sum::<f64>() + SIGMA2;
        let f = |v: f64| v as f32;
        let values: HashMap<&str, TensorData> = HashMap::from([
            (
                "encoder.Mlp.mu.weight",
                TensorData::new(W.map(|w| f(w / m)).to_vec(), [3, 1]),
            ),
            (
                "encoder.Mlp.mu.bias",
                TensorData::new(
                    vec![f(-W.iter().zip(B).map(|(w, b)| w * b).sum::<f64>() / m)],
                    [1],
                ),
            ),
            (
                "encoder.Mlp.logvar.weight",
                TensorData::new(vec![0.0f32; 3], [3, 1]),
            ),
            (
                "encoder.Mlp.logvar.bias",
                TensorData::new(vec![f((SIGMA2 / m).ln())], [1]),
            ),
            (
                "decoder.Mlp.out.weight",
                TensorData::new(W.map(f).to_vec(), [1, 3]),
            ),
            (
                "decoder.Mlp.out.bias",
                TensorData::new(B.map(f).to_vec(), [3]),
            ),
            (
                "obs_logvar",
                TensorData::new(vec![f((SIGMA2 - 1e-4).ln())], [1, 1]),
            ),
        ]);
        let model = config().init(&Device::flex()).unwrap();
        let tensors = named_tensors(&model)
            .into_iter()
            .map(|(name, _)| {
                let value = values[name.as_str()].clone();
                (name, value)
            })
            .collect();
        load_named(model, tensors, std::path::Path::new("ppca")).unwrap()
    }

    /// E[x_c | x_a, x_b] under the PPCA model, in closed form: with
    /// s = w_o.(x_o - b_o), E[z | x_o] = s / (|w_o|^2 + SIGMA2), and
    /// E[x_c | x_o] = b_c + w_c E[z | x_o].
    fn conditional_mean(a: f64, b: f64) -> f64 {
        let s = W[0] * (a - B[0]) + W[1] * (b - B[1]);
        B[2] + W[2] * s / (W[0] * W[0] + W[1] * W[1] + SIGMA2)
    }

    fn rows(values: &[f32]) -> Dataset {
        Dataset::new(values.to_vec(), config().input, None).unwrap()
    }

    #[test]
    fn both_methods_recover_the_ppca_conditional_mean() {
        let model = ppca();
        // The last column is missing and starts at 0; the others are observed.
        let observed = [(1.2f32, 1.5f32), (-0.4, -1.8), (0.5, 0.1)];
        let values: Vec<f32> = observed.iter().flat_map(|&(a, b)| [a, b, 0.0]).collect();
        let mask = Mask::new(
            observed.iter().flat_map(|_| [false, false, true]).collect(),
            3,
        )
        .unwrap();
        let data = rows(&values);
        // Deterministic pseudo-Gibbs with this encoder has the conditional
        // mean as its fixed point (u = w_c s / (|w_o|^2 + SIGMA2) solves
        // u = w_c (s + w_c u) / m), approached by a factor w_c^2 / m = 0.16 a round.
        let gibbs = ImputeOptions {
            iterations: 30,
            ..ImputeOptions::default()
        };
        // Two rounds: the first proposal (the encoder sees the fill 0) is too
        // far off for a sharp estimate, the second is close. Without the
        // importance weights two rounds would still be about 1.9 * 0.16^2 = 0.05
        // away (the Gibbs rate above), five times the tolerance.
        let miwae = ImputeOptions {
            method: Method::Miwae,
            iterations: 2,
            samples: 20_000,
            ..ImputeOptions::default()
        };
        for (options, tolerance) in [(gibbs, 1e-4), (miwae, 0.01)] {
            let got = impute_with_vae(&model, &data, &mask, &options).unwrap();
            for (r, &(a, b)) in observed.iter().enumerate() {
                let want = conditional_mean(a as f64, b as f64);
                let imputed = got[r * 3 + 2] as f64;
                assert!(
                    (imputed - want).abs() < tolerance,
                    "{:?} row {r}: {imputed} vs {want}",
                    options.method
                );
                assert_eq!(got[r * 3].to_bits(), a.to_bits());
                assert_eq!(got[r * 3 + 1].to_bits(), b.to_bits());
            }
        }
    }

    #[test]
    fn the_fitted_proposal_moves_to_the_posterior_of_the_observed_part() {
        // Under PPCA, p(z | x_a, x_b) is N(s / (|w_o|^2 + SIGMA2), SIGMA2 / (|w_o|^2 + SIGMA2))
        // with s = w_o.(x_o - b_o). The encoder reads the fill 0 of x_c, so its
        // own posterior is elsewhere and narrower; the fitted Gaussian must
        // still find the right mean, and a variance of the posterior's plus
        // the encoder's.
        let model = ppca();
        let (a, b) = (-0.4f64, -1.8f64);
        let values = [a as f32, b as f32, 0.0];
        let missing = [false, false, true];
        let wo2 = W[0] * W[0] + W[1] * W[1];
        let s = W[0] * (a - B[0]) + W[1] * (b - B[1]);
        let (want_mean, want_var) = (s / (wo2 + SIGMA2), SIGMA2 / (wo2 + SIGMA2));
        let m = W.iter().map(|w| w * w).sum::<f64>() + SIGMA2;
        let encoder_mean =
            W.iter().zip(B).map(|(w, b)| w * -b).sum::<f64>() / m + (W[0] * a + W[1] * b) / m;
        assert!(
            (encoder_mean - want_mean).abs() > 0.05,
            "{encoder_mean} vs {want_mean}"
        );
        let mut rng = random::seeded(0, Stream::Eval);
        let mut fitted: Option<DiagonalGaussian> = None;
        for _ in 0..3 {
            let (_, next) =
                miwae_step(&model, &values, &missing, 20_000, fitted.as_ref(), &mut rng);
            fitted = Some(next);
        }
        let fitted = fitted.unwrap();
        let mean = to_values(fitted.mu)[0] as f64;
        let var = to_values(fitted.logvar.exp())[0] as f64 - SIGMA2 / m;
        assert!((mean - want_mean).abs() < 0.005, "{mean} vs {want_mean}");
        assert!(
            (var - want_var).abs() < 0.1 * want_var,
            "{var} vs {want_var}"
        );
    }

    #[test]
    fn observed_values_never_change() {
        let model = ppca();
        let values: Vec<f32> = (0..60).map(|i| (i as f32 * 0.37).sin() * 2.0).collect();
        let data = rows(&values);
        let mask = crate::impute::MaskSpec::Random(0.4)
            .build(data.kind(), data.len(), 3)
            .unwrap();
        for (method, z, x) in [
            (Method::Gibbs, Draw::Sample, Draw::Sample),
            (Method::Gibbs, Draw::Mean, Draw::Sample),
            (Method::Miwae, Draw::Mean, Draw::Mean),
        ] {
            let options = ImputeOptions {
                method,
                gibbs_z: z,
                gibbs_x: x,
                iterations: 3,
                samples: 7,
                batch_size: 20,
                ..ImputeOptions::default()
            };
            let got = impute_with_vae(&model, &data, &mask, &options).unwrap();
            let mut changed = 0;
            for (i, (&g, &v)) in got.iter().zip(&values).enumerate() {
                if mask.missing()[i] {
                    changed += usize::from(g != v);
                } else {
                    assert_eq!(g.to_bits(), v.to_bits(), "{method} value {i}");
                }
            }
            assert!(changed > 0);
        }
    }

    #[test]
    fn refusals_name_the_setting() {
        let device = Device::flex();
        let hvae = ModelConfig {
            top: Some(TopLayerConfig {
                latent_dim: 2,
                hidden: vec![3],
                activation: Activation::Tanh,
            }),
            ..config()
        }
        .init(&device)
        .unwrap();
        assert!(check_model(&hvae, Method::Gibbs).is_ok());
        let e = check_model(&hvae, Method::Miwae).unwrap_err();
        assert!(e.to_string().contains("--method gibbs"), "{e}");
        let cvae = ModelConfig {
            classes: Some(3),
            ..config()
        }
        .init(&device)
        .unwrap();
        let e = check_model(&cvae, Method::Gibbs).unwrap_err();
        assert!(e.to_string().contains("cvae"), "{e}");
        let data = rows(&[1.0, 2.0, 3.0]);
        let mask = Mask::none(1, 3);
        let zero = ImputeOptions {
            iterations: 0,
            ..ImputeOptions::default()
        };
        let e = impute_with_vae(&ppca(), &data, &mask, &zero).unwrap_err();
        assert!(e.to_string().contains("--iterations"), "{e}");
        assert!("gibbs".parse::<Method>().is_ok());
        assert!("em".parse::<Method>().is_err());
    }
}
