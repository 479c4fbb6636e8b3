//! Training settings: what a user can set, layered and validated once.
//!
//! [`TrainSettings`] has every field optional so that sources can be layered:
//! a `--config FILE.toml`, then command-line flags on top ([`TrainSettings::overlay`]).
//! [`TrainSettings::resolve`] fills the defaults (some depend on the data: tables
//! default to a Gaussian likelihood) and checks every value before any work
//! starts. A run saves its resolved settings, every field set, in `config.json`;
//! `--resume` compares the settings given again against them field by field.

mod compare;
mod data;
mod kinds;
mod stopping;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::data::mask::MaskSpec;
use crate::data::prepare::Binarize;
use crate::data::{DataKind, Format, ScalerKind};
use crate::distributions::{GaussianVariance, Likelihood};
use crate::error::{Error, Result};
use crate::model::objective::Objective;
use crate::model::prior::Prior;
use crate::model::{Architecture, ModelConfig, TopLayerConfig};
use crate::nn::Activation;
use crate::optim::AdamConfig;
pub(crate) use compare::{differing_fields, shown};
pub use compare::{parse_image_size, parse_sizes};
pub use kinds::{
    ArchitectureKind, LikelihoodKind, LrSchedule, ModelKind, ObjectiveKind, PriorKind,
};
pub use stopping::{Stopping, parse_delimiter, parse_duration};

/// Floor of the learned Gaussian variance (see [`Likelihood::Gaussian`]).
pub const GAUSSIAN_MIN_VARIANCE: f64 = 1e-4;

/// Everything a training run can be told. `None` means "not given here".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct TrainSettings {
    /// The data source: `digits` or a path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// A finished run whose weights this run starts from (fine-tuning);
    /// the data and network settings not given are taken from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_from: Option<PathBuf>,
    /// Forced source format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
    /// Labels file for a single IDX or NPY source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<PathBuf>,
    /// CSV label column (name or 0-based index).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_column: Option<String>,
    /// CSV column types: `name=type,...`, `auto`, or a file of such lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_types: Option<String>,
    /// CSV columns left out, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop_columns: Option<Vec<String>>,
    /// CSV cells that mean "missing" (instead of empty, NA, N/A, NaN, null, none, ?).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_values: Option<Vec<String>>,
    /// CSV lines at the top of the file to ignore.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_lines: Option<usize>,
    /// Resize an image folder to `[height, width]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_size: Option<[usize; 2]>,
    /// Use only the first N training examples of the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Train (and validate) only on the training examples of these classes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only_class: Option<Vec<u32>>,
    /// Share of training examples held out for validation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val_fraction: Option<f64>,
    /// Binarization of the values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binarize: Option<Binarize>,
    /// Scaler for tables.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaler: Option<ScalerKind>,
    /// Model variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelKind>,
    /// Training objective.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub objective: Option<ObjectiveKind>,
    /// The prior p(z).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior: Option<PriorKind>,
    /// Pseudo-inputs of the VampPrior.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pseudo_inputs: Option<usize>,
    /// Components of the Gaussian mixture prior.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub components: Option<usize>,
    /// Epochs of a mixture-prior model trained as an autoencoder before the
    /// mixture is fitted to the codes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pretrain_epochs: Option<usize>,
    /// Size of the second latent layer (hvae).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_latent: Option<usize>,
    /// Hidden widths between the two latent layers (hvae).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_hidden: Option<Vec<usize>>,
    /// Network family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<ArchitectureKind>,
    /// MLP hidden widths.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Vec<usize>>,
    /// Conv channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conv_channels: Option<Vec<usize>>,
    /// MLP nonlinearity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// Batch normalization in the MLPs' hidden layers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_norm: Option<bool>,
    /// Values hidden from the encoder in half the training examples (filled
    /// with the training means), so that q(z|x) learns to read incomplete
    /// examples for imputation; the decoder is still scored on every value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encoder_mask: Option<MaskSpec>,
    /// Latent size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latent: Option<usize>,
    /// Likelihood.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<LikelihoodKind>,
    /// Sharing of the Gaussian variance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gaussian_variance: Option<GaussianVariance>,
    /// Number of passes over the training data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// Examples per step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Adam's step size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// How the learning rate moves from `lr` over the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_schedule: Option<LrSchedule>,
    /// The learning rate at the last step, for a decaying schedule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_final: Option<f64>,
    /// Adam's L2 weight decay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// Weight of the KL term (1 = the ELBO; other values give the beta-VAE).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// Floor of each latent dimension's batch-mean KL, in nats (0 = none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_bits: Option<f64>,
    /// Samples of z per example in each training step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_samples: Option<usize>,
    /// Epochs over which beta ramps linearly from 0 (0 = no warm-up).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kl_warmup: Option<f64>,
    /// Largest global gradient norm (0 = no clipping).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_grad: Option<f64>,
    /// Seed of every random choice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Stop after this many epochs without a better validation -ELBO.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stop: Option<usize>,
    /// The improvement in nats that counts as better for `early_stop`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_delta: Option<f64>,
    /// Stop before the run's training time passes this duration (`90m`, `2h 30m`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_time: Option<String>,
    /// CSV only: the field delimiter, instead of the one sniffed from the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
}

/// Settings that may differ when a run is resumed.
const RESUMABLE: &[&str] = &["epochs", "early-stop", "min-delta", "max-time"];

/// Settings a run started from another's weights takes from it when not
/// given: what the data is and how the network is built.
const INHERITED: &[&str] = &[
    "data",
    "format",
    "labels",
    "label-column",
    "image-size",
    "limit",
    "only-class",
    "val-fraction",
    "binarize",
    "scaler",
    "model",
    "prior",
    "pseudo-inputs",
    "components",
    "top-latent",
    "top-hidden",
    "arch",
    "hidden",
    "conv-channels",
    "activation",
    "batch-norm",
    "latent",
    "likelihood",
    "gaussian-variance",
];

impl TrainSettings {
    /// Reads settings from a TOML file whose keys are the long flag names
    /// (`batch-size = 64`, `hidden = [500, 500]`).
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::read(path, e))?;
        toml::from_str(&text).map_err(|e| {
            Error::format(
                path,
                format!(
                    "is not a valid settings file: {}; keys are the long flag names of `vaekit train`, such as batch-size = 64",
                    e.message()
                ),
            )
        })
    }

    /// `self` with every field that `over` sets replaced by `over`'s.
    pub fn overlay(self, over: TrainSettings) -> TrainSettings {
        macro_rules! pick {
            ($($f:ident),+) => { TrainSettings { $($f: over.$f.or(self.$f),)+ } };
        }
        pick!(
            data,
            init_from,
            format,
            labels,
            label_column,
            column_types,
            drop_columns,
            missing_values,
            skip_lines,
            image_size,
            limit,
            only_class,
            val_fraction,
            binarize,
            scaler,
            model,
            objective,
            prior,
            pseudo_inputs,
            components,
            pretrain_epochs,
            top_latent,
            top_hidden,
            arch,
            hidden,
            conv_channels,
            activation,
            batch_norm,
            encoder_mask,
            latent,
            likelihood,
            gaussian_variance,
            epochs,
            batch_size,
            lr,
            lr_schedule,
            lr_final,
            weight_decay,
            beta,
            free_bits,
            train_samples,
            kl_warmup,
            clip_grad,
            seed,
            early_stop,
            min_delta,
            max_time,
            delimiter
        )
    }

    /// The objective of a training step whose KL weight is `beta` (the
    /// warm-up's current value; the other terms come from these settings).
    pub fn objective(&self, beta: f64) -> Objective {
        match self.objective_kind() {
            ObjectiveKind::Elbo => Objective::Elbo {
                beta,
                free_bits: self.free_bits.unwrap_or(0.0),
            },
            ObjectiveKind::Iw => Objective::Iwae,
        }
    }

    /// The objective given, or the model's own (iw for iwae, else elbo).
    fn objective_kind(&self) -> ObjectiveKind {
        match (self.objective, self.model) {
            (Some(objective), _) => objective,
            (None, Some(ModelKind::Iwae)) => ObjectiveKind::Iw,
            (None, _) => ObjectiveKind::Elbo,
        }
    }

    /// Fills every default and checks every value, given what the data looks
    /// like. The result has every field set.
    pub fn resolve(&self, kind: &DataKind) -> Result<TrainSettings> {
        let is_image = matches!(kind, DataKind::Image { .. });
        let likelihood = self.likelihood.unwrap_or(if is_image {
            LikelihoodKind::Bernoulli
        } else {
            LikelihoodKind::Gaussian
        });
        if likelihood == LikelihoodKind::Logistic && !is_image {
            return Err(Error::setting(
                "--likelihood logistic",
                "the discretized logistic models 8-bit image pixels; tables take gaussian or poisson",
            ));
        }
        if likelihood == LikelihoodKind::Poisson {
            if is_image {
                return Err(Error::setting(
                    "--likelihood poisson",
                    "the Poisson likelihood is for tables of counts; images take bernoulli or gaussian",
                ));
            }
            if let Some(scaler) = self.scaler.filter(|s| *s != ScalerKind::None) {
                return Err(Error::setting(
                    "--scaler",
                    format!(
                        "the Poisson likelihood scores the counts themselves, which {scaler} scaling would turn into fractions; drop --scaler (or give --scaler none)"
                    ),
                ));
            }
        }
        let model = self.model.unwrap_or(ModelKind::Vae);
        let hvae = model == ModelKind::Hvae;
        let gmm = self.prior == Some(PriorKind::Gmm);
        let resolved = TrainSettings {
            data: self.data.clone(),
            init_from: self.init_from.clone(),
            format: self.format,
            labels: self.labels.clone(),
            label_column: self.label_column.clone(),
            column_types: self.column_types.clone(),
            drop_columns: self.drop_columns.clone(),
            missing_values: self.missing_values.clone(),
            skip_lines: self.skip_lines,
            image_size: self.image_size,
            limit: self.limit,
            only_class: self.only_class.clone(),
            val_fraction: Some(self.val_fraction.unwrap_or(0.1)),
            binarize: Some(self.binarize.unwrap_or_default()),
            scaler: Some(self.scaler.unwrap_or(match likelihood {
                LikelihoodKind::Bernoulli => ScalerKind::MinMax,
                LikelihoodKind::Gaussian => ScalerKind::Standard,
                LikelihoodKind::Poisson | LikelihoodKind::Logistic => ScalerKind::None,
            })),
            model: Some(model),
            arch: Some(self.arch.unwrap_or(ArchitectureKind::Mlp)),
            hidden: Some(self.hidden.clone().unwrap_or_else(|| match hvae {
                true => vec![200, 200],
                false => vec![400],
            })),
            conv_channels: Some(self.conv_channels.clone().unwrap_or_else(|| vec![32, 64])),
            activation: Some(self.activation.unwrap_or(match hvae {
                true => Activation::Tanh,
                false => Activation::default(),
            })),
            batch_norm: Some(self.batch_norm.unwrap_or(false)),
            encoder_mask: self.encoder_mask,
            latent: Some(self.latent.unwrap_or(if hvae { 100 } else { 20 })),
            objective: Some(self.objective_kind()),
            prior: Some(self.prior.unwrap_or(PriorKind::Standard)),
            pseudo_inputs: self
                .pseudo_inputs
                .or((self.prior == Some(PriorKind::Vamp)).then_some(500)),
            components: self.components.or(gmm.then_some(10)),
            // A run started from another's weights keeps their mixture.
            pretrain_epochs: self.pretrain_epochs.or(gmm.then(|| match self.init_from {
                Some(_) => 0,
                None => (self.epochs.unwrap_or(10) / 5).max(1),
            })),
            top_latent: self.top_latent.or(hvae.then_some(50)),
            top_hidden: self.top_hidden.clone().or(hvae.then(|| vec![100, 100])),
            likelihood: Some(likelihood),
            gaussian_variance: Some(self.gaussian_variance.unwrap_or(GaussianVariance::Scalar)),
            epochs: Some(self.epochs.unwrap_or(10)),
            batch_size: Some(self.batch_size.unwrap_or(128)),
            lr: Some(self.lr.unwrap_or(1e-3)),
            lr_schedule: Some(self.lr_schedule.unwrap_or_default()),
            // A constant rate keeps what was given, for `check` to refuse.
            lr_final: self.final_lr().or(self.lr_final),
            weight_decay: Some(self.weight_decay.unwrap_or(0.0)),
            beta: Some(self.beta.unwrap_or(1.0)),
            free_bits: Some(self.free_bits.unwrap_or(0.0)),
            train_samples: Some(self.train_samples.unwrap_or(match self.objective_kind() {
                ObjectiveKind::Elbo => 1,
                ObjectiveKind::Iw => 5,
            })),
            kl_warmup: Some(self.kl_warmup.unwrap_or(0.0)),
            clip_grad: Some(self.clip_grad.unwrap_or(0.0)),
            seed: Some(self.seed.unwrap_or(0)),
            early_stop: self.early_stop,
            min_delta: self.min_delta.or(self.early_stop.map(|_| 0.0)),
            max_time: self.max_time.clone(),
            delimiter: self.delimiter,
        };
        resolved.check()?;
        if let Some(spec) = resolved.encoder_mask {
            if model == ModelKind::Cvae {
                return Err(Error::setting(
                    "--encoder-mask",
                    "it trains an encoder for imputation, which works with unconditional models; use --model vae, iwae or hvae, or drop --encoder-mask",
                ));
            }
            spec.check_fits(kind, "--encoder-mask")?;
        }
        resolved.model_config(kind)?.validate()?;
        Ok(resolved)
    }

    fn check(&self) -> Result<()> {
        let positive = |name: &str, v: Option<f64>, example: &str| match v {
            Some(v) if v.is_finite() && v > 0.0 => Ok(()),
            Some(v) => Err(Error::setting(
                name,
                format!("{v} is not a positive number; use a value such as {example}"),
            )),
            None => Ok(()),
        };
        let non_negative = |name: &str, v: Option<f64>, meaning: &str| match v {
            Some(v) if v.is_finite() && v >= 0.0 => Ok(()),
            Some(v) => Err(Error::setting(
                name,
                format!("{v} is not a number >= 0 ({meaning})"),
            )),
            None => Ok(()),
        };
        let at_least_one = |name: &str, v: Option<usize>, example: &str| match v {
            Some(0) => Err(Error::setting(
                name,
                format!("0 is not allowed; use at least 1, such as {example}"),
            )),
            _ => Ok(()),
        };
        at_least_one("--epochs", self.epochs, "10")?;
        at_least_one("--batch-size", self.batch_size, "128")?;
        at_least_one("--latent", self.latent, "20")?;
        at_least_one("--limit", self.limit, "1000")?;
        at_least_one("--train-samples", self.train_samples, "5")?;
        if self.only_class.as_ref().is_some_and(Vec::is_empty) {
            return Err(Error::setting(
                "--only-class",
                "no class given; name the classes to train on, such as 3 or 3,5",
            ));
        }
        if let Some(k) = self.train_samples
            && k > 10_000
        {
            return Err(Error::setting(
                "--train-samples",
                format!(
                    "{k} samples per example is more than a step can hold; use at most 10000 (the IWAE paper uses 5 or 50)"
                ),
            ));
        }
        non_negative(
            "--free-bits",
            self.free_bits,
            "nats per latent dimension; 0 turns it off",
        )?;
        if self.model == Some(ModelKind::Lm) {
            return Err(Error::setting(
                "--model",
                "lm is the language model of text; give a text source (a .txt file, or a CSV \
                 with --text-column), or pick vae, iwae, hvae or cvae for images and tables",
            ));
        }
        if self.model == Some(ModelKind::Iwae) && self.objective == Some(ObjectiveKind::Elbo) {
            return Err(Error::setting(
                "--objective",
                "an iwae is trained on the IW bound; use --model vae for the ELBO",
            ));
        }
        if self.objective_kind() == ObjectiveKind::Iw {
            let plain = |v: Option<f64>, default: f64| v.is_none_or(|v| v == default);
            if !plain(self.beta, 1.0) || !plain(self.free_bits, 0.0) || !plain(self.kl_warmup, 0.0)
            {
                return Err(Error::setting(
                    "--model iwae / --objective iw",
                    "the importance-weighted bound has no separate KL term to weight; drop --beta, --free-bits and --kl-warmup, or train on the ELBO",
                ));
            }
        }
        if self.pseudo_inputs.is_some() && self.prior != Some(PriorKind::Vamp) {
            return Err(Error::setting(
                "--pseudo-inputs",
                "it sets the size of the VampPrior; add --prior vamp or drop it",
            ));
        }
        if self.prior == Some(PriorKind::Vamp) && self.free_bits.is_some_and(|f| f > 0.0) {
            return Err(Error::setting(
                "--free-bits",
                "the VampPrior's KL does not split over latent dimensions, so it has no per-dimension floor; drop --free-bits or --prior vamp",
            ));
        }
        self.check_mixture()?;
        self.check_stopping()?;
        if self.model != Some(ModelKind::Hvae)
            && (self.top_latent.is_some() || self.top_hidden.is_some())
        {
            return Err(Error::setting(
                "--top-latent / --top-hidden",
                "they describe the second latent layer of --model hvae; add --model hvae or drop them",
            ));
        }
        positive("--lr", self.lr, "1e-3")?;
        self.check_schedule()?;
        non_negative("--weight-decay", self.weight_decay, "0 turns it off")?;
        non_negative("--beta", self.beta, "1 is the plain ELBO")?;
        non_negative(
            "--kl-warmup",
            self.kl_warmup,
            "epochs of warm-up; 0 turns it off",
        )?;
        non_negative(
            "--clip-grad",
            self.clip_grad,
            "the largest gradient norm; 0 turns clipping off",
        )?;
        if let Some(f) = self.val_fraction
            && !(0.0..1.0).contains(&f)
        {
            return Err(Error::setting(
                "--val-fraction",
                format!("{f} is outside [0, 1); use a share such as 0.1, or 0 to hold out nothing"),
            ));
        }
        if let Some([h, w]) = self.image_size
            && (h == 0 || w == 0 || h > 4096 || w > 4096)
        {
            return Err(Error::setting(
                "--image-size",
                format!(
                    "{h}x{w} is not a usable size; give HxW between 1x1 and 4096x4096, such as 28x28"
                ),
            ));
        }
        if self.binarize != Some(Binarize::None)
            && self.binarize.is_some()
            && self
                .likelihood
                .is_some_and(|l| l != LikelihoodKind::Bernoulli)
        {
            return Err(Error::setting(
                "--binarize",
                "binarized data needs the Bernoulli likelihood; drop --binarize or use --likelihood bernoulli",
            ));
        }
        Ok(())
    }

    /// The model these (resolved) settings describe for data of `kind`.
    pub fn model_config(&self, kind: &DataKind) -> Result<ModelConfig> {
        let architecture = match self.arch.unwrap_or(ArchitectureKind::Mlp) {
            ArchitectureKind::Mlp => Architecture::Mlp {
                hidden: self.hidden.clone().unwrap_or_default(),
                activation: self.activation.unwrap_or_default(),
            },
            ArchitectureKind::Conv => Architecture::Conv {
                channels: self.conv_channels.clone().unwrap_or_default(),
            },
        };
        let likelihood = match self.likelihood.unwrap_or(LikelihoodKind::Bernoulli) {
            LikelihoodKind::Bernoulli => Likelihood::Bernoulli,
            LikelihoodKind::Gaussian => Likelihood::Gaussian {
                variance: self.gaussian_variance.unwrap_or(GaussianVariance::Scalar),
                min_variance: GAUSSIAN_MIN_VARIANCE,
            },
            LikelihoodKind::Poisson => Likelihood::Poisson,
            LikelihoodKind::Logistic => Likelihood::Logistic,
        };
        let top = (self.model == Some(ModelKind::Hvae)).then(|| TopLayerConfig {
            latent_dim: self.top_latent.unwrap_or(50),
            hidden: self.top_hidden.clone().unwrap_or_else(|| vec![100, 100]),
            activation: self.activation.unwrap_or_default(),
        });
        Ok(ModelConfig {
            input: kind.clone(),
            architecture,
            latent_dim: self.latent.unwrap_or(0),
            likelihood,
            top,
            // Known once the labels are read (see `crate::train`).
            classes: None,
            prior: match self.prior {
                Some(PriorKind::Vamp) => Prior::Vamp {
                    pseudo_inputs: self.pseudo_inputs.unwrap_or(500),
                },
                Some(PriorKind::Gmm) => Prior::Gmm {
                    components: self.components.unwrap_or(10),
                },
                _ => Prior::Standard,
            },
            batch_norm: self.batch_norm.unwrap_or(false),
            // Known once the table is read (see `crate::train`).
            table: None,
        })
    }

    /// Adam's settings.
    pub fn adam(&self) -> AdamConfig {
        AdamConfig {
            lr: self.lr.unwrap_or(1e-3),
            weight_decay: self.weight_decay.unwrap_or(0.0),
            ..AdamConfig::default()
        }
    }

    /// The learning rate of step `step` of `total` (counted from 0 over the
    /// whole run): `--lr` moved towards `--lr-final` by the schedule.
    pub fn lr_at(&self, step: usize, total: usize) -> f64 {
        let lr = self.lr.unwrap_or(1e-3);
        let progress = (step as f64 / total.max(1) as f64).clamp(0.0, 1.0);
        match (self.lr_schedule.unwrap_or_default(), self.final_lr()) {
            (LrSchedule::Cosine, Some(last)) => {
                last + (lr - last) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
            (LrSchedule::Exp, Some(last)) => lr * (last / lr).powf(progress),
            _ => lr,
        }
    }

    /// Where a decaying schedule ends: `--lr-final`, or by default 0 for
    /// cosine and `--lr` / 10 for exp (None for a constant rate).
    fn final_lr(&self) -> Option<f64> {
        let lr = self.lr.unwrap_or(1e-3);
        match self.lr_schedule.unwrap_or_default() {
            LrSchedule::Constant => None,
            LrSchedule::Cosine => Some(self.lr_final.unwrap_or(0.0)),
            LrSchedule::Exp => Some(self.lr_final.unwrap_or(lr / 10.0)),
        }
    }

    /// The refusals of the learning-rate schedule's settings.
    fn check_schedule(&self) -> Result<()> {
        let schedule = self.lr_schedule.unwrap_or_default();
        let Some(last) = self.lr_final else {
            return Ok(());
        };
        let lr = self.lr.unwrap_or(1e-3);
        let name = "--lr-final";
        match schedule {
            LrSchedule::Constant => Err(Error::setting(
                name,
                "it is where a decaying schedule ends; add --lr-schedule cosine or exp, or drop it",
            )),
            _ if !last.is_finite() || last < 0.0 || last > lr => Err(Error::setting(
                name,
                format!(
                    "{last} is not between 0 and --lr ({lr}); the schedule decays, so use a smaller value such as {}",
                    lr / 10.0
                ),
            )),
            LrSchedule::Exp if last == 0.0 => Err(Error::setting(
                name,
                "a geometric decay never reaches 0; give a positive value such as 1e-4, or use --lr-schedule cosine",
            )),
            _ => Ok(()),
        }
    }

    /// The refusals of the Gaussian mixture prior's settings.
    fn check_mixture(&self) -> Result<()> {
        let gmm = self.prior == Some(PriorKind::Gmm);
        if !gmm && (self.components.is_some() || self.pretrain_epochs.is_some()) {
            return Err(Error::setting(
                "--components / --pretrain-epochs",
                "they set up the Gaussian mixture prior; add --prior gmm or drop them",
            ));
        }
        if !gmm {
            return Ok(());
        }
        if let Some(model @ (ModelKind::Hvae | ModelKind::Cvae)) = self.model {
            return Err(Error::setting(
                "--prior gmm",
                format!(
                    "the mixture prior finds clusters in one-layer unconditional models, and --model {model} is not one; use --model vae or iwae"
                ),
            ));
        }
        if self.free_bits.is_some_and(|f| f > 0.0) {
            return Err(Error::setting(
                "--free-bits",
                "the mixture prior's KL has a cluster part that does not split over latent dimensions, so it has no per-dimension floor; drop --free-bits or --prior gmm",
            ));
        }
        if let (Some(pretrain), Some(epochs)) = (self.pretrain_epochs, self.epochs)
            && pretrain >= epochs
        {
            return Err(Error::setting(
                "--pretrain-epochs",
                format!(
                    "{pretrain} pretraining epochs leave none of the {epochs} for the mixture prior; give fewer (the default is a fifth of --epochs) or more --epochs"
                ),
            ));
        }
        Ok(())
    }

    /// The epochs trained as an autoencoder before a mixture prior is fitted (0
    /// for other priors).
    pub fn pretraining(&self) -> usize {
        match self.prior {
            Some(PriorKind::Gmm) => self.pretrain_epochs.unwrap_or(0),
            _ => 0,
        }
    }

    /// The epoch at whose start the Gaussian mixture prior is fitted to the
    /// codes: the first after pretraining. None for other priors, and for a
    /// run that starts from another's weights with no pretraining of its own
    /// (it keeps the mixture it was given).
    pub fn mixture_fit_epoch(&self) -> Option<usize> {
        let pretraining = self.pretraining();
        let keeps_given = self.init_from.is_some() && pretraining == 0;
        (self.prior == Some(PriorKind::Gmm) && !keeps_given).then_some(pretraining + 1)
    }

    /// For `--init-from`: these settings with every data and network setting
    /// they leave unset taken from the source run's, so that its weights fit
    /// the model they build. The training settings (objective, samples,
    /// schedule, epochs, seed) are not inherited: the new run states its own.
    pub fn inheriting(self, source: &TrainSettings) -> TrainSettings {
        let mut fields = match serde_json::to_value(source) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        fields.retain(|key, _| INHERITED.contains(&key.as_str()));
        let inherited: TrainSettings =
            serde_json::from_value(serde_json::Value::Object(fields)).unwrap_or_default();
        inherited.overlay(self)
    }

    /// For `--resume`: the settings given now that contradict the run's saved
    /// ones, as `(flag, saved, given)`. Only `epochs` and the stopping rules
    /// (`early-stop`, `min-delta`, `max-time`) may change.
    pub fn conflicts_with(&self, saved: &TrainSettings) -> Vec<(String, String, String)> {
        differing_fields(saved, self)
            .into_iter()
            .filter(|(key, _, given)| given.is_some() && !RESUMABLE.contains(&key.as_str()))
            .map(|(key, saved, given)| (format!("--{key}"), shown(saved), shown(given)))
            .collect()
    }
}

#[cfg(test)]
mod tests;
