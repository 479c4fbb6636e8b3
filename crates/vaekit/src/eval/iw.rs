//! The importance-weighted estimate of log p(x) (Burda et al. 2015):
//! log (1/K) sum_k p(x, z_k) / q(z_k|x), with z_k drawn from q(z|x). It is a
//! lower bound in expectation that tightens as K grows and converges to
//! log p(x); papers report it with K = 5000 as the test log-likelihood.
//!
//! The K log weights of an example are computed in passes of at most
//! `batch_size` rows (so K = 5000 needs no more memory than K = 50), read
//! back as f32 and combined in f64 by a streaming log-sum-exp, which also
//! keeps the sum of squared weights: that gives each estimate's Monte Carlo
//! error by the delta method, var(log p^) ~ var(w) / (K mean(w)^2).

use serde::{Deserialize, Serialize};

use super::{EvalOptions, check_data};
use crate::batch::{model_device, model_input, noise};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::Vae;
use crate::random::{self, Stream};

/// The importance-weighted estimate over a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IwReport {
    /// Examples scored.
    pub n: usize,
    /// Values per example.
    pub dim: usize,
    /// Samples of z per example (K).
    pub samples: usize,
    /// Mean of -log p^(x), nats per example.
    pub nll: f64,
    /// Standard error of that mean over the examples (their spread).
    pub std_error: f64,
    /// Monte Carlo standard error of the mean from the finite K (delta method).
    pub mc_std_error: f64,
    /// Mean effective sample size of the weights, (sum w)^2 / sum w^2, out of K.
    pub mean_ess: f64,
    /// nll in nats per dimension.
    pub nll_per_dim: f64,
    /// nll in bits per dimension.
    pub bits_per_dim: f64,
    /// Seconds the computation took (data already in memory).
    pub seconds: f64,
    /// Examples scored per second.
    pub examples_per_second: f64,
    /// -log p^(x) of each example, in input order.
    #[serde(skip)]
    pub per_example: Vec<f64>,
}

/// A streaming log-sum-exp of one example's log weights, in f64.
#[derive(Debug, Clone, Copy)]
struct LogWeightSum {
    max: f64,
    /// sum of exp(l - max)
    sum: f64,
    /// sum of exp(2 (l - max))
    sum_sq: f64,
    count: usize,
}

impl LogWeightSum {
    fn new() -> Self {
        Self {
            max: f64::NEG_INFINITY,
            sum: 0.0,
            sum_sq: 0.0,
            count: 0,
        }
    }

    fn add(&mut self, log_weights: &[f32]) {
        let chunk_max = log_weights
            .iter()
            .map(|&l| l as f64)
            .fold(f64::NEG_INFINITY, f64::max);
        if chunk_max > self.max {
            let shift = self.max - chunk_max;
            if self.count > 0 {
                self.sum *= shift.exp();
                self.sum_sq *= (2.0 * shift).exp();
            }
            self.max = chunk_max;
        }
        for &l in log_weights {
            let r = (l as f64 - self.max).exp();
            self.sum += r;
            self.sum_sq += r * r;
        }
        self.count += log_weights.len();
    }

    /// log of the mean weight.
    fn log_mean(&self) -> f64 {
        self.max + self.sum.ln() - (self.count as f64).ln()
    }

    /// Delta-method variance of `log_mean`.
    fn variance(&self) -> f64 {
        let k = self.count as f64;
        ((k * self.sum_sq / (self.sum * self.sum) - 1.0) / k).max(0.0)
    }

    fn effective_samples(&self) -> f64 {
        self.sum * self.sum / self.sum_sq
    }
}

/// The K-sample importance-weighted estimate of -log p(x) for every example of
/// `data` (or the first `options.limit`). `progress` is told the number of
/// examples finished after each pass.
pub fn evaluate_iw(
    model: &Vae,
    data: &Dataset,
    options: &EvalOptions,
    samples: usize,
    progress: &mut dyn FnMut(usize),
) -> Result<IwReport> {
    check_data(model, data)?;
    // A pass holds at most --batch-size rows (examples times samples).
    super::check_pass_memory(
        model,
        options
            .batch_size
            .min(options.count(data).saturating_mul(samples)),
    )?;
    if samples == 0 {
        return Err(Error::setting(
            "--iw-samples",
            "0 samples estimate nothing; use at least 1, such as 5000 as in the papers",
        ));
    }
    let started = std::time::Instant::now();
    let device = model_device(model);
    let mut rng = random::seeded(options.seed, Stream::Eval);
    let mut binarizer = options.binarizer();
    let rows = options.batch_size.max(1);
    // Whole examples per pass when K fits in a pass, else one example in
    // several passes. Noise is drawn example after example either way.
    let group = (rows / samples).max(1);
    let per_pass = samples.min(rows);
    let n = options.count(data);
    let all: Vec<usize> = (0..n).collect();
    let mut per_example = Vec::with_capacity(n);
    let (mut mc_variance, mut ess) = (0.0, 0.0);
    for chunk in all.chunks(group) {
        let x = model_input(model, data, chunk, binarizer.as_mut(), &device);
        let mut sums = vec![LogWeightSum::new(); chunk.len()];
        let mut done = 0;
        while done < samples {
            let k = per_pass.min(samples - done);
            let eps = noise(&mut rng, chunk.len() * k, model.noise_dim(), &device);
            let log_w = model.sampled_terms(x.clone(), eps).log_weights();
            let values = log_w.into_data().try_into_vec::<f32>().unwrap_or_default();
            if values.len() != chunk.len() * k {
                return Err(Error::Data("the model returned no log weights".into()));
            }
            for (sum, row) in sums.iter_mut().zip(values.chunks(k)) {
                sum.add(row);
            }
            done += k;
        }
        for sum in &sums {
            per_example.push(-sum.log_mean());
            mc_variance += sum.variance();
            ess += sum.effective_samples();
        }
        progress(per_example.len());
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(IwReport::new(
        per_example,
        data.dim(),
        samples,
        mc_variance,
        ess,
        seconds,
    ))
}

impl IwReport {
    fn new(
        per_example: Vec<f64>,
        dim: usize,
        samples: usize,
        mc_variance: f64,
        ess: f64,
        seconds: f64,
    ) -> Self {
        let n = per_example.len();
        let nf = n.max(1) as f64;
        let nll = per_example.iter().sum::<f64>() / nf;
        let spread = per_example.iter().map(|v| (v - nll).powi(2)).sum::<f64>()
            / (n.saturating_sub(1).max(1)) as f64;
        let per_dim = nll / dim.max(1) as f64;
        Self {
            n,
            dim,
            samples,
            nll,
            std_error: (spread / nf).sqrt(),
            mc_std_error: mc_variance.sqrt() / nf,
            mean_ess: ess / nf,
            nll_per_dim: per_dim,
            bits_per_dim: per_dim / std::f64::consts::LN_2,
            seconds,
            examples_per_second: n as f64 / seconds.max(1e-9),
            per_example,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use burn::tensor::{Device, TensorData};

    use super::*;
    use crate::data::DataKind;
    use crate::distributions::{GaussianVariance, Likelihood};
    use crate::eval::evaluate_elbo;
    use crate::model::weights::{load_named, named_tensors};
    use crate::model::{Architecture, ModelConfig};
    use crate::nn::Activation;

    const D: usize = 4;
    const L: usize = 2;
    const SIGMA2: f64 = 0.5;
    const MIN_VARIANCE: f64 = 1e-4;
    /// Decoder weights, rows orthogonal so that the exact posterior is diagonal.
    const W: [[f64; D]; L] = [[1.0, 2.0, 0.0, -1.0], [2.0, -1.0, 3.0, 0.0]];
    const B: [f64; D] = [0.3, -0.2, 0.1, 0.5];

    /// Probabilistic PCA as a VAE: x = z W + b + N(0, sigma^2 I), z ~ N(0, I),
    /// with a linear encoder whose mean is the exact posterior mean shifted by
    /// `shift` and whose log-variance is the exact one plus `widen`.
    fn ppca(shift: f32, widen: f32, device: &Device) -> Vae {
        let config = ModelConfig {
            input: DataKind::Table {
                columns: (0..D).map(|i| format!("x{i}")).collect(),
            },
            architecture: Architecture::Mlp {
                hidden: vec![],
                activation: Activation::Relu,
            },
            latent_dim: L,
            likelihood: Likelihood::Gaussian {
                variance: GaussianVariance::Scalar,
                min_variance: MIN_VARIANCE,
            },
            top: None,
            classes: None,
            prior: crate::model::prior::Prior::Standard,
            batch_norm: false,
            table: None,
        };
        // Posterior of z given x: mean (x - b) W^T M^-1, variance sigma^2 M^-1,
        // with M = W W^T + sigma^2 I diagonal here.
        let m: Vec<f64> = W
            .iter()
            .map(|w| w.iter().map(|v| v * v).sum::<f64>() + SIGMA2)
            .collect();
        let a: Vec<f32> = (0..D)
            .flat_map(|i| (0..L).map(move |j| (i, j)))
            .map(|(i, j)| (W[j][i] / m[j]) as f32)
            .collect();
        let c: Vec<f32> = (0..L)
            .map(|j| (-(0..D).map(|i| B[i] * W[j][i]).sum::<f64>() / m[j]) as f32 + shift)
            .collect();
        let e: Vec<f32> = (0..L)
            .map(|j| (SIGMA2 / m[j]).ln() as f32 + widen)
            .collect();
        let w: Vec<f32> = W.iter().flatten().map(|&v| v as f32).collect();
        let values: HashMap<&str, TensorData> = HashMap::from([
            ("encoder.Mlp.mu.weight", TensorData::new(a, [D, L])),
            ("encoder.Mlp.mu.bias", TensorData::new(c, [L])),
            (
                "encoder.Mlp.logvar.weight",
                TensorData::new(vec![0.0f32; D * L], [D, L]),
            ),
            ("encoder.Mlp.logvar.bias", TensorData::new(e, [L])),
            ("decoder.Mlp.out.weight", TensorData::new(w, [L, D])),
            (
                "decoder.Mlp.out.bias",
                TensorData::new(B.map(|v| v as f32).to_vec(), [D]),
            ),
            (
                "obs_logvar",
                TensorData::new(vec![((SIGMA2 - MIN_VARIANCE).ln()) as f32], [1, 1]),
            ),
        ]);
        let model = config.init(device).unwrap();
        let tensors = named_tensors(&model)
            .into_iter()
            .map(|(name, _)| {
                let value = values
                    .get(name.as_str())
                    .unwrap_or_else(|| panic!("{name}"));
                (name, value.clone())
            })
            .collect();
        load_named(model, tensors, std::path::Path::new("ppca")).unwrap()
    }

    /// Exact log p(x) of x ~ N(b, W^T W + sigma^2 I), by the determinant lemma
    /// and Woodbury's identity for orthogonal rows of W.
    fn exact_log_p(x: &[f32]) -> f64 {
        let d: Vec<f64> = x.iter().zip(B).map(|(&x, b)| x as f64 - b).collect();
        let mut log_det = (D - L) as f64 * SIGMA2.ln();
        let mut quad = d.iter().map(|v| v * v).sum::<f64>();
        for w in W {
            let m = w.iter().map(|v| v * v).sum::<f64>() + SIGMA2;
            log_det += (m).ln();
            let proj: f64 = w.iter().zip(&d).map(|(a, b)| a * b).sum();
            quad -= proj * proj / m;
        }
        -0.5 * (D as f64 * (2.0 * std::f64::consts::PI).ln() + log_det + quad / SIGMA2)
    }

    /// `n` draws from the PPCA model.
    fn ppca_data(n: usize) -> Dataset {
        let mut rng = random::seeded(9, Stream::Sample);
        let z = random::normal(&mut rng, n * L);
        let noise = random::normal(&mut rng, n * D);
        let values = (0..n * D)
            .map(|k| {
                let (row, i) = (k / D, k % D);
                let mean = B[i] + (0..L).map(|j| z[row * L + j] as f64 * W[j][i]).sum::<f64>();
                (mean + SIGMA2.sqrt() * noise[k] as f64) as f32
            })
            .collect();
        let kind = DataKind::Table {
            columns: (0..D).map(|i| format!("x{i}")).collect(),
        };
        Dataset::new(values, kind, None).unwrap()
    }

    fn estimate(model: &Vae, data: &Dataset, samples: usize, batch_size: usize) -> IwReport {
        let options = EvalOptions {
            batch_size,
            ..EvalOptions::default()
        };
        evaluate_iw(model, data, &options, samples, &mut |_| {}).unwrap()
    }

    fn exact_nll(data: &Dataset) -> f64 {
        -(0..data.len())
            .map(|i| exact_log_p(data.row(i)))
            .sum::<f64>()
            / data.len() as f64
    }

    #[test]
    fn with_the_exact_posterior_every_weight_is_p_of_x() {
        let device = Device::flex();
        let data = ppca_data(30);
        let report = estimate(&ppca(0.0, 0.0, &device), &data, 7, 1000);
        for (i, got) in report.per_example.iter().enumerate() {
            let exact = -exact_log_p(data.row(i));
            assert!((got - exact).abs() < 1e-4, "example {i}: {got} vs {exact}");
        }
        assert!(report.mc_std_error < 1e-5 && (report.mean_ess - 7.0).abs() < 1e-3);
        let bits = report.nll / (D as f64 * std::f64::consts::LN_2);
        assert!((report.bits_per_dim - bits).abs() < 1e-12);
    }

    #[test]
    fn with_a_poor_posterior_the_estimate_converges_to_log_p_of_x() {
        let device = Device::flex();
        let data = ppca_data(40);
        let model = ppca(0.6, 0.8, &device);
        let exact = exact_nll(&data);
        let one = estimate(&model, &data, 1, 1000);
        let elbo = evaluate_elbo(&model, &data, &EvalOptions::default()).unwrap();
        // One sample is the ELBO's estimator: clearly above the exact NLL.
        assert!(one.nll > exact + 0.1, "{} vs {exact}", one.nll);
        assert!(elbo.neg_elbo > exact + 0.1, "{} vs {exact}", elbo.neg_elbo);
        // Passes of 256 rows, 20 per example: K = 5000 lands on log p(x)
        // within a few of its own Monte Carlo standard errors.
        let many = estimate(&model, &data, 5000, 256);
        let gap = (many.nll - exact).abs();
        assert!(
            gap < 4.0 * many.mc_std_error + 1e-3,
            "K = 5000: {} vs exact {exact} (MC error {})",
            many.nll,
            many.mc_std_error
        );
        assert!(many.mc_std_error < 0.05 && many.mean_ess < 5000.0);
        // The bound tightens monotonically in expectation; here clearly.
        let fifty = estimate(&model, &data, 50, 1000);
        assert!(one.nll > fifty.nll && fifty.nll > many.nll - 4.0 * many.mc_std_error);
    }

    #[test]
    fn the_pass_size_changes_nothing_but_memory() {
        let device = Device::flex();
        let data = ppca_data(12);
        let model = ppca(0.3, -0.5, &device);
        let whole = estimate(&model, &data, 60, 100_000);
        for rows in [1, 7, 60, 130] {
            let split = estimate(&model, &data, 60, rows);
            // Same draws, same examples: only the f32 rounding of products
            // blocked differently for other row counts may differ.
            for (a, b) in whole.per_example.iter().zip(&split.per_example) {
                assert!((a - b).abs() < 1e-5, "{rows} rows per pass: {a} vs {b}");
            }
        }
    }

    #[test]
    fn the_streaming_sum_matches_a_direct_log_mean_exp() {
        let values: Vec<f32> = (0..50)
            .map(|i| ((i * 13 % 17) as f32) * 3.0 - 400.0)
            .collect();
        let mut sum = LogWeightSum::new();
        for chunk in values.chunks(7) {
            sum.add(chunk);
        }
        let max = values.iter().map(|&v| v as f64).fold(f64::MIN, f64::max);
        let direct =
            max + (values.iter().map(|&v| (v as f64 - max).exp()).sum::<f64>() / 50.0).ln();
        assert!((sum.log_mean() - direct).abs() < 1e-12);
        let weights: Vec<f64> = values.iter().map(|&v| (v as f64 - max).exp()).collect();
        let (s1, s2) = (
            weights.iter().sum::<f64>(),
            weights.iter().map(|w| w * w).sum::<f64>(),
        );
        assert!((sum.effective_samples() - s1 * s1 / s2).abs() < 1e-9);
    }

    #[test]
    fn zero_samples_and_empty_data_are_errors() {
        let device = Device::flex();
        let model = ppca(0.0, 0.0, &device);
        let options = EvalOptions::default();
        let err = evaluate_iw(&model, &ppca_data(3), &options, 0, &mut |_| {}).unwrap_err();
        assert!(err.to_string().contains("--iw-samples"));
        let wrong = Dataset::new(
            vec![0.0; 6],
            DataKind::Table {
                columns: vec!["a".into(), "b".into(), "c".into()],
            },
            None,
        )
        .unwrap();
        assert!(evaluate_iw(&model, &wrong, &options, 5, &mut |_| {}).is_err());
    }
}
