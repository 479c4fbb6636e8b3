//! Anomaly detection with a trained VAE: a score per example (higher means
//! less like the training data), how well those scores separate known
//! anomalies (AUROC, average precision), and a threshold chosen for a target
//! false-positive rate.
//!
//! Three scores, all in nats per example:
//! - `neg-elbo`: -ELBO, reconstruction plus KL, averaged over `samples` draws
//!   of z (the estimator of [`crate::eval::evaluate_elbo`], per example);
//! - `recon`: the reconstruction term -E_q[log p(x|z)] alone;
//! - `iw-nll`: the K-sample importance-weighted estimate of -log p(x), the
//!   per-example values of [`crate::eval::iw::evaluate_iw`].
//!
//! Noise comes from the evaluation stream of the run's seed, drawn example by
//! example, so the scores are reproducible and the batch size changes memory
//! use only; with one sample, the mean `neg-elbo` score is `vaekit eval`'s -ELBO.
//!
//! The threshold for `--target-fpr F` is chosen on data believed normal (by
//! default the run's own validation split, which holds only the training
//! classes): it is the (1 - F) quantile of those examples' scores
//! ([`metrics::threshold_for_fpr`]), and an example is flagged when its score
//! is above it. The false-positive rate then achieved on other data says how
//! far that data's normal examples differ from the calibration data's.

pub mod metrics;

use std::path::{Path, PathBuf};

use burn::tensor::Tensor;
use serde::Serialize;

use crate::batch::{model_device, model_input, noise};
use crate::data::prepare::{PreparedData, Split};
use crate::data::{Dataset, LoadOptions};
use crate::error::{Error, Result};
use crate::eval::iw::evaluate_iw;
use crate::eval::{EvalOptions, check_data};
use crate::io::{read_file, write_atomic_with};
use crate::model::Vae;
use crate::random::{self, Stream};
use crate::run::Run;

/// Samples of z per example of `iw-nll` when none is given.
pub const DEFAULT_IW_SAMPLES: usize = 100;

/// Which per-example score to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScoreKind {
    /// -ELBO: reconstruction plus KL.
    NegElbo,
    /// The reconstruction term -E_q[log p(x|z)] alone.
    Recon,
    /// The importance-weighted estimate of -log p(x).
    IwNll,
}

impl std::str::FromStr for ScoreKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "neg-elbo" => Ok(Self::NegElbo),
            "recon" => Ok(Self::Recon),
            "iw-nll" => Ok(Self::IwNll),
            other => Err(format!(
                "unknown score '{other}'; use neg-elbo, recon or iw-nll"
            )),
        }
    }
}

impl std::fmt::Display for ScoreKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NegElbo => "neg-elbo",
            Self::Recon => "recon",
            Self::IwNll => "iw-nll",
        })
    }
}

/// How to score examples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreOptions {
    /// The score.
    pub kind: ScoreKind,
    /// Draws of z per example: averaged for `neg-elbo` and `recon`, the K of
    /// `iw-nll`.
    pub samples: usize,
    /// Batch size (rows of examples x samples per pass), binarization and seed.
    pub eval: EvalOptions,
}

impl ScoreOptions {
    /// Options from the user's settings: `samples` (the average of
    /// `neg-elbo` and `recon`, default 1) and `iw_samples` (the K of
    /// `iw-nll`, default [`DEFAULT_IW_SAMPLES`]); each belongs to its scores only.
    pub fn new(
        kind: ScoreKind,
        samples: Option<usize>,
        iw_samples: Option<usize>,
        eval: EvalOptions,
    ) -> Result<ScoreOptions> {
        let samples = match (kind, samples, iw_samples) {
            (ScoreKind::IwNll, Some(_), _) => {
                return Err(Error::setting(
                    "--samples",
                    "it sets the draws averaged by neg-elbo and recon; for iw-nll give --iw-samples K",
                ));
            }
            (ScoreKind::NegElbo | ScoreKind::Recon, _, Some(_)) => {
                return Err(Error::setting(
                    "--iw-samples",
                    format!(
                        "it sets K of --score iw-nll; for {kind} give --samples N (draws averaged)"
                    ),
                ));
            }
            (ScoreKind::IwNll, None, k) => k.unwrap_or(DEFAULT_IW_SAMPLES),
            (_, s, None) => s.unwrap_or(1),
        };
        if samples == 0 {
            let flag = match kind {
                ScoreKind::IwNll => "--iw-samples",
                _ => "--samples",
            };
            return Err(Error::setting(
                flag,
                "0 samples score nothing; use at least 1",
            ));
        }
        Ok(ScoreOptions {
            kind,
            samples,
            eval,
        })
    }
}

/// The score of every example of `data` (or the first `options.eval.limit`),
/// in order. `progress` is told the number of examples finished after each pass.
pub fn score_examples(
    model: &Vae,
    data: &Dataset,
    options: &ScoreOptions,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<f64>> {
    match options.kind {
        ScoreKind::IwNll => {
            let report = evaluate_iw(model, data, &options.eval, options.samples, progress)?;
            Ok(report.per_example)
        }
        ScoreKind::NegElbo | ScoreKind::Recon => {
            let terms = elbo_per_example(model, data, options, progress)?;
            Ok(terms
                .into_iter()
                .map(|(recon, kl)| match options.kind {
                    ScoreKind::Recon => recon,
                    _ => recon + kl,
                })
                .collect())
        }
    }
}

/// The reconstruction and KL terms of -ELBO of each example, each averaged
/// over `options.samples` draws of z.
pub fn elbo_per_example(
    model: &Vae,
    data: &Dataset,
    options: &ScoreOptions,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<(f64, f64)>> {
    check_data(model, data)?;
    let eval = &options.eval;
    let rows = eval
        .batch_size
        .max(options.samples)
        .min(eval.count(data).saturating_mul(options.samples));
    crate::eval::check_pass_memory(model, rows)?;
    let device = model_device(model);
    let mut rng = random::seeded(eval.seed, Stream::Eval);
    let mut binarizer = eval.binarizer();
    let k = options.samples;
    let all: Vec<usize> = (0..eval.count(data)).collect();
    let mut terms = Vec::with_capacity(all.len());
    for chunk in all.chunks((eval.batch_size / k).max(1)) {
        let x = model_input(model, data, chunk, binarizer.as_mut(), &device);
        let eps = noise(&mut rng, chunk.len() * k, model.noise_dim(), &device);
        let elbo = model.elbo_terms(x, eps);
        let both = Tensor::cat(vec![elbo.recon, elbo.kl], 0);
        let values = both.into_data().try_into_vec::<f32>().unwrap_or_default();
        if values.len() != 2 * chunk.len() {
            return Err(Error::Data("the model returned no ELBO terms".into()));
        }
        let (recon, kl) = values.split_at(chunk.len());
        terms.extend(recon.iter().zip(kl).map(|(&r, &k)| (r as f64, k as f64)));
        progress(terms.len());
    }
    Ok(terms)
}

/// What says which scored examples are anomalies.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AnomalyTruth {
    /// Nothing: scores only.
    #[default]
    Unknown,
    /// Examples labelled with this class are normal, all others anomalies.
    NormalClass(u32),
    /// A text file with one line per scored example, in input order: `0`
    /// (normal) or `1` (anomaly). Surrounding spaces, empty lines and lines
    /// starting with `#` are ignored. See [`read_anomaly_labels`].
    File(PathBuf),
}

/// Reads an anomaly-labels file (see [`AnomalyTruth::File`]) that must hold
/// one label for each of `n` examples.
pub fn read_anomaly_labels(path: &Path, n: usize) -> Result<Vec<bool>> {
    let text = String::from_utf8(read_file(path)?).map_err(|_| {
        Error::format(
            path,
            "is not text; write one 0 (normal) or 1 (anomaly) per line",
        )
    })?;
    let mut labels = Vec::with_capacity(n);
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        labels.push(match line {
            "0" => false,
            "1" => true,
            other => {
                return Err(Error::format(
                    path,
                    format!(
                        "line {} reads '{other}'; each line must be 0 (normal) or 1 (anomaly)",
                        number + 1
                    ),
                ));
            }
        });
    }
    if labels.len() != n {
        return Err(Error::format(
            path,
            format!(
                "holds {} labels for {n} scored examples; give one line per example, in input order",
                labels.len()
            ),
        ));
    }
    Ok(labels)
}

/// Which examples of `data` are anomalies, by `truth`; `None` for
/// [`AnomalyTruth::Unknown`]. Checks that a normal class occurs in the data.
pub fn anomaly_flags(truth: &AnomalyTruth, data: &Dataset) -> Result<Option<Vec<bool>>> {
    match truth {
        AnomalyTruth::Unknown => Ok(None),
        AnomalyTruth::File(path) => read_anomaly_labels(path, data.len()).map(Some),
        AnomalyTruth::NormalClass(class) => {
            let Some(labels) = data.labels() else {
                return Err(Error::setting(
                    "--normal-class",
                    "the scored data has no labels; give labelled data, or mark the anomalies with --anomaly-labels FILE",
                ));
            };
            if !labels.contains(class) {
                let mut present = labels.to_vec();
                present.sort_unstable();
                present.dedup();
                return Err(Error::setting(
                    "--normal-class",
                    format!("no scored example has label {class}; the labels are {present:?}"),
                ));
            }
            Ok(Some(labels.iter().map(|l| l != class).collect()))
        }
    }
}

/// What to score, against what, and where to write it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRequest {
    /// Another source than the run's own, with its load options.
    pub other: Option<(String, LoadOptions)>,
    /// The split to score [default: test where the source has one, else
    /// validation, else train].
    pub split: Option<Split>,
    /// The score and its settings.
    pub options: ScoreOptions,
    /// Which examples are anomalies, for AUROC, average precision and rates.
    pub truth: AnomalyTruth,
    /// Flag the examples above the threshold that holds this false-positive
    /// rate on the calibration split.
    pub target_fpr: Option<f64>,
    /// The split of the run's own data the threshold is chosen on.
    pub calibrate_on: Split,
    /// Write the scores to this CSV file (index, score, then label, anomaly
    /// and flag where known).
    pub out: Option<PathBuf>,
}

/// How well the scores separate the anomalies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detection {
    /// Normal examples scored.
    pub normal: usize,
    /// Anomalies scored.
    pub anomalies: usize,
    /// Area under the ROC curve (ties count one half).
    pub auroc: f64,
    /// Average precision with the anomalies as the positive class.
    pub average_precision: f64,
}

/// The threshold chosen for a target false-positive rate, and what it does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdReport {
    /// The false-positive rate asked for.
    pub target_fpr: f64,
    /// The split of the run's data the threshold was chosen on.
    pub calibrate_on: Split,
    /// Normal examples it was chosen on.
    pub calibration_examples: usize,
    /// Examples scoring above it are flagged.
    pub threshold: f64,
    /// Share of the calibration examples above it (at most the target).
    pub calibration_fpr: f64,
    /// Scored examples flagged.
    pub flagged: usize,
    /// Share of the scored normal examples flagged, where anomalies are known.
    pub fpr: Option<f64>,
    /// Share of the scored anomalies flagged, where anomalies are known.
    pub tpr: Option<f64>,
}

/// The scores of a dataset and what they show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreReport {
    /// The split scored.
    pub split: Split,
    /// The score.
    pub score: ScoreKind,
    /// Draws of z per example.
    pub samples: usize,
    /// Examples scored.
    pub n: usize,
    /// Mean score, nats per example.
    pub mean: f64,
    /// Separation of the known anomalies.
    pub detection: Option<Detection>,
    /// The threshold of `--target-fpr`.
    pub threshold: Option<ThresholdReport>,
    /// Seconds the scoring took, calibration included.
    pub seconds: f64,
    /// The score of each example, in input order.
    #[serde(skip)]
    pub scores: Vec<f64>,
    /// Class labels, where the data has them.
    #[serde(skip)]
    pub labels: Option<Vec<u32>>,
    /// Which examples are anomalies, where known.
    #[serde(skip)]
    pub is_anomaly: Option<Vec<bool>>,
    /// Which examples are above the threshold, with a target rate.
    #[serde(skip)]
    pub flags: Option<Vec<bool>>,
}

/// Scores a split of the run's data (or of `request.other`) with `model`,
/// measures the separation of known anomalies, applies a calibrated
/// threshold, and writes the CSV. Every input is checked before the work
/// starts, and nothing is written unless everything succeeds. `progress` is
/// told the examples of the scored split finished, and how many there are.
pub fn score_run(
    run: &Run,
    model: &Vae,
    request: &ScoreRequest,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ScoreReport> {
    if let Some(out) = &request.out {
        check_scores_path(out)?;
    }
    let started = std::time::Instant::now();
    let other = request.other.as_ref().map(|(s, o)| (s.as_str(), o));
    let data = run.prepare_data(other)?;
    let split = request.split.unwrap_or_else(|| data.default_eval_split());
    let scored = data.split(split)?;
    let n = request.options.eval.count(scored);
    let is_anomaly = anomaly_flags(&request.truth, scored)?.map(|mut a| {
        a.truncate(n);
        a
    });
    let own_data;
    let own = match other {
        Some(_) if request.target_fpr.is_some() => {
            own_data = run.prepare_data(None)?;
            &own_data
        }
        _ => &data,
    };
    let calibration = match request.target_fpr {
        Some(fpr) => {
            metrics::check_target_fpr(fpr)?;
            Some(calibration_set(own, request)?)
        }
        None => None,
    };
    let scores = score_examples(model, scored, &request.options, &mut |done| {
        progress(done, n)
    })?;
    let detection = match &is_anomaly {
        Some(truth) => Some(Detection {
            normal: truth.iter().filter(|&&a| !a).count(),
            anomalies: truth.iter().filter(|&&a| a).count(),
            auroc: metrics::auroc(&scores, truth)?,
            average_precision: metrics::average_precision(&scores, truth)?,
        }),
        None => None,
    };
    let (threshold, flags) = match (calibration, request.target_fpr) {
        (Some(normal), Some(fpr)) => {
            let report = calibrate(model, &normal, &scores, is_anomaly.as_deref(), request, fpr)?;
            let flags = scores.iter().map(|&s| s > report.threshold).collect();
            (Some(report), Some(flags))
        }
        _ => (None, None),
    };
    let report = ScoreReport {
        split,
        score: request.options.kind,
        samples: request.options.samples,
        n,
        mean: scores.iter().sum::<f64>() / n.max(1) as f64,
        detection,
        threshold,
        seconds: started.elapsed().as_secs_f64(),
        labels: scored.labels().map(|l| l[..n].to_vec()),
        scores,
        is_anomaly,
        flags,
    };
    if let Some(out) = &request.out {
        write_scores(out, &report)?;
    }
    Ok(report)
}

/// The normal examples of the calibration split: those of the normal class
/// when one is named and the split has labels, else all of them (the run's
/// own data is taken as normal).
fn calibration_set(own: &PreparedData, request: &ScoreRequest) -> Result<Dataset> {
    let split = request.calibrate_on;
    let data = own.split(split).map_err(|_| {
        Error::setting(
            "--calibrate-on",
            format!(
                "the run's data has no '{split}' split (a run trained with --val-fraction 0 has no val); use --calibrate-on train or test"
            ),
        )
    })?;
    match (&request.truth, data.labels()) {
        (AnomalyTruth::NormalClass(class), Some(labels)) => {
            let normal: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == *class).collect();
            Ok(data.subset(&normal))
        }
        _ => Ok(data.clone()),
    }
}

/// Scores the calibration examples and picks the threshold for `fpr`.
fn calibrate(
    model: &Vae,
    normal: &Dataset,
    scores: &[f64],
    is_anomaly: Option<&[bool]>,
    request: &ScoreRequest,
    fpr: f64,
) -> Result<ThresholdReport> {
    if normal.is_empty() {
        return Err(Error::setting(
            "--calibrate-on",
            format!(
                "the run's '{}' split holds no normal examples to choose a threshold on; calibrate on another split",
                request.calibrate_on
            ),
        ));
    }
    let options = ScoreOptions {
        eval: EvalOptions {
            limit: None,
            ..request.options.eval
        },
        ..request.options
    };
    let reference = score_examples(model, normal, &options, &mut |_| {})?;
    let threshold = metrics::threshold_for_fpr(&reference, fpr)?;
    let everyone = vec![true; reference.len()];
    let rate = |select: Vec<bool>| metrics::rate_above(scores, &select, threshold);
    Ok(ThresholdReport {
        target_fpr: fpr,
        calibrate_on: request.calibrate_on,
        calibration_examples: reference.len(),
        threshold,
        calibration_fpr: metrics::rate_above(&reference, &everyone, threshold).unwrap_or(0.0),
        flagged: scores.iter().filter(|&&s| s > threshold).count(),
        fpr: is_anomaly.and_then(|a| rate(a.iter().map(|&x| !x).collect())),
        tpr: is_anomaly.and_then(|a| rate(a.to_vec())),
    })
}

/// Checks that scores can be written to `path` (a `.csv` name).
pub fn check_scores_path(path: &Path) -> Result<()> {
    let csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if !csv {
        return Err(Error::setting(
            "--out",
            format!(
                "scores are written as CSV; end the name {} in .csv",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// The CSV columns of [`write_scores`]: `index, score`, then `label`,
/// `anomaly` and `flag` where the report has them.
pub fn score_columns(report: &ScoreReport) -> Vec<&'static str> {
    let mut columns = vec!["index", "score"];
    for (present, name) in [
        (report.labels.is_some(), "label"),
        (report.is_anomaly.is_some(), "anomaly"),
        (report.flags.is_some(), "flag"),
    ] {
        if present {
            columns.push(name);
        }
    }
    columns
}

/// Writes one row per scored example, in input order, to a CSV file with a
/// header ([`score_columns`]): the 0-based index within the scored split, the
/// score in nats, the class label, 1 for a known anomaly, 1 for an example
/// above the threshold.
pub fn write_scores(path: &Path, report: &ScoreReport) -> Result<()> {
    check_scores_path(path)?;
    let bit = |v: &Option<Vec<bool>>, i: usize| v.as_ref().map(|v| u8::from(v[i]).to_string());
    write_atomic_with(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(score_columns(report))?;
        for (i, score) in report.scores.iter().enumerate() {
            let row = [Some(i.to_string()), Some(score.to_string())]
                .into_iter()
                .chain([
                    report.labels.as_ref().map(|l| l[i].to_string()),
                    bit(&report.is_anomaly, i),
                    bit(&report.flags, i),
                ])
                .flatten();
            out.write_record(row)?;
        }
        out.flush()
    })
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;
    use crate::data::{DataKind, LoadOptions, load};
    use crate::distributions::Likelihood;
    use crate::eval::evaluate_elbo;
    use crate::model::prior::Prior;
    use crate::model::{Architecture, ModelConfig};
    use crate::nn::Activation;

    /// 60 embedded digits and an untrained model of them: the scores need no
    /// training to be checked against the evaluation code.
    fn digits_and_model(device: &Device) -> (Dataset, Vae) {
        let source = load("digits", &LoadOptions::default()).unwrap();
        let data = source.train.subset(&(0..60).collect::<Vec<_>>());
        let config = ModelConfig {
            input: data.kind().clone(),
            architecture: Architecture::Mlp {
                hidden: vec![16],
                activation: Activation::Tanh,
            },
            latent_dim: 3,
            likelihood: Likelihood::Bernoulli,
            top: None,
            classes: None,
            prior: Prior::Standard,
            batch_norm: false,
            table: None,
        };
        crate::random::with_seeded_device(device, 5, || (data, config.init(device).unwrap()))
    }

    fn options(kind: ScoreKind, samples: usize, batch_size: usize) -> ScoreOptions {
        ScoreOptions {
            kind,
            samples,
            eval: EvalOptions {
                batch_size,
                seed: 3,
                ..EvalOptions::default()
            },
        }
    }

    fn scores(model: &Vae, data: &Dataset, options: &ScoreOptions) -> Vec<f64> {
        score_examples(model, data, options, &mut |_| {}).unwrap()
    }

    fn mean(v: &[f64]) -> f64 {
        v.iter().sum::<f64>() / v.len() as f64
    }

    #[test]
    fn one_draw_scores_average_to_the_eval_elbo_and_its_reconstruction() {
        let device = Device::flex();
        let (data, model) = digits_and_model(&device);
        let o = options(ScoreKind::NegElbo, 1, 1000);
        let elbo = evaluate_elbo(&model, &data, &o.eval).unwrap();
        let neg_elbo = scores(&model, &data, &o);
        let recon = scores(
            &model,
            &data,
            &ScoreOptions {
                kind: ScoreKind::Recon,
                ..o
            },
        );
        assert_eq!(neg_elbo.len(), 60);
        assert!((mean(&neg_elbo) - elbo.neg_elbo).abs() < 1e-3 * elbo.neg_elbo.abs());
        assert!((mean(&recon) - elbo.recon).abs() < 1e-3 * elbo.recon.abs());
        // The KL (closed form here) is what separates the two, example by example.
        assert!(neg_elbo.iter().zip(&recon).all(|(e, r)| e > r));
    }

    #[test]
    fn the_batch_size_changes_no_score() {
        let device = Device::flex();
        let (data, model) = digits_and_model(&device);
        for kind in [ScoreKind::NegElbo, ScoreKind::IwNll] {
            let whole = scores(&model, &data, &options(kind, 4, 1000));
            let pieces = scores(&model, &data, &options(kind, 4, 9));
            for (a, b) in whole.iter().zip(&pieces) {
                assert!((a - b).abs() < 1e-4, "{kind}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn iw_nll_scores_are_the_iw_estimate_of_each_example() {
        let device = Device::flex();
        let (data, model) = digits_and_model(&device);
        let o = options(ScoreKind::IwNll, 20, 1000);
        let iw = evaluate_iw(&model, &data, &o.eval, 20, &mut |_| {}).unwrap();
        assert_eq!(scores(&model, &data, &o), iw.per_example);
        // A tighter bound than the one-draw ELBO, on average.
        let elbo = scores(&model, &data, &options(ScoreKind::NegElbo, 1, 1000));
        assert!(mean(&iw.per_example) < mean(&elbo));
    }

    #[test]
    fn each_sample_count_belongs_to_its_scores() {
        let eval = EvalOptions::default();
        let iw = ScoreOptions::new(ScoreKind::IwNll, None, None, eval).unwrap();
        assert_eq!(iw.samples, DEFAULT_IW_SAMPLES);
        let elbo = ScoreOptions::new(ScoreKind::NegElbo, Some(5), None, eval).unwrap();
        assert_eq!(elbo.samples, 5);
        for (kind, samples, iw_samples, flag) in [
            (ScoreKind::IwNll, Some(5), None, "--samples"),
            (ScoreKind::Recon, None, Some(5), "--iw-samples"),
            (ScoreKind::IwNll, None, Some(0), "--iw-samples"),
            (ScoreKind::NegElbo, Some(0), None, "--samples"),
        ] {
            let err = ScoreOptions::new(kind, samples, iw_samples, eval).unwrap_err();
            assert!(err.to_string().contains(flag), "{err}");
        }
        assert!(
            "elbo"
                .parse::<ScoreKind>()
                .unwrap_err()
                .contains("neg-elbo")
        );
        assert_eq!("iw-nll".parse::<ScoreKind>(), Ok(ScoreKind::IwNll));
    }

    #[test]
    fn anomaly_label_files_hold_one_bit_per_example() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("truth.txt");
        std::fs::write(&path, "# anomalies\n0\n 1 \n\n0\n").unwrap();
        assert_eq!(read_anomaly_labels(&path, 3).unwrap(), [false, true, false]);
        let err = read_anomaly_labels(&path, 4).unwrap_err().to_string();
        assert!(err.contains("holds 3 labels for 4"), "{err}");
        std::fs::write(&path, "0\nyes\n").unwrap();
        let err = read_anomaly_labels(&path, 2).unwrap_err().to_string();
        assert!(err.contains("line 2 reads 'yes'"), "{err}");
    }

    #[test]
    fn a_normal_class_needs_labels_that_hold_it() {
        let labelled = Dataset::new(
            vec![0.0; 4],
            DataKind::Table {
                columns: vec!["a".into()],
            },
            Some(vec![1, 2, 1, 3]),
        )
        .unwrap();
        let truth = anomaly_flags(&AnomalyTruth::NormalClass(1), &labelled).unwrap();
        assert_eq!(truth, Some(vec![false, true, false, true]));
        let err = anomaly_flags(&AnomalyTruth::NormalClass(7), &labelled).unwrap_err();
        assert!(err.to_string().contains("[1, 2, 3]"), "{err}");
        let bare = Dataset::new(labelled.values().to_vec(), labelled.kind().clone(), None).unwrap();
        let err = anomaly_flags(&AnomalyTruth::NormalClass(1), &bare).unwrap_err();
        assert!(err.to_string().contains("--normal-class"), "{err}");
        assert_eq!(anomaly_flags(&AnomalyTruth::Unknown, &bare).unwrap(), None);
    }
}
