//! [`ModelConfig`]: the plain serde data a run saves in `config.json`, checked
//! and turned into a freshly initialized [`Vae`].

use burn::module::Param;
use burn::prelude::*;
use burn::tensor::Distribution;
use serde::{Deserialize, Serialize};

use super::observation::ObservationModel;
use super::prior::{GaussianMixture, Prior};
use super::{Decoder, Encoder, TableInput, TopLayer, Vae};
use crate::data::DataKind;
use crate::data::TableColumns;
use crate::data::schema::Schema;
use crate::data::schema::ValueType;
use crate::distributions::{GaussianVariance, Likelihood};
use crate::error::{Error, Result};
use crate::nn::Activation;
use crate::nn::conv::{ConvDecoderConfig, ConvEncoderConfig, feature_sizes};
use crate::nn::mlp::{MlpDecoderConfig, MlpEncoderConfig};

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
    /// The typed columns of a mixed table: a likelihood per column type
    /// (`likelihood` is then the real columns' Gaussian), and an encoder that
    /// reads the values with their missing-cell mask (None: one likelihood
    /// for every value, complete rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<TableColumns>,
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
        if let Some(table) = &self.table {
            if table.width() != self.input.dim() {
                return Err(Error::Data(format!(
                    "the typed columns take {} values per row but the model's input has {}; the run's config.json is inconsistent",
                    table.width(),
                    self.input.dim()
                )));
            }
            if !matches!(
                self.likelihood,
                Likelihood::Gaussian {
                    variance: GaussianVariance::PerPixel,
                    ..
                }
            ) {
                return Err(Error::setting(
                    "--likelihood",
                    "a table of typed columns takes a likelihood per column (Gaussian for reals, negative binomial for counts, Bernoulli for binary, categorical for categories); drop --likelihood and --gaussian-variance",
                ));
            }
            if matches!(self.prior, Prior::Vamp { .. }) {
                return Err(Error::setting(
                    "--prior vamp",
                    "the VampPrior's pseudo-inputs are not built for typed columns; use --prior standard or gmm",
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
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] for settings that build no model, or one whose
    /// parameters alone could not fit in the memory available.
    pub fn init(&self, device: &Device) -> Result<Vae> {
        self.validate()?;
        crate::memory::check_fits(
            "building this model",
            super::size::inference_need(self, 1),
            crate::memory::available(),
            "--hidden / --latent (or the run's config.json, where it was edited)",
            "--batch-size",
        )?;
        let dim = self.input.dim();
        let classes = self.classes.unwrap_or(0);
        // A typed table's encoder reads the values and their mask.
        let encoded = match self.table {
            Some(_) => 2 * dim,
            None => dim,
        };
        let observation = self.observation_model();
        // The decoder's outputs per example: one per value, or two where the
        // likelihood reads a second parameter that follows z.
        let outputs = observation.raw_dim() / dim.max(1);
        let (encoder, decoder) = match &self.architecture {
            Architecture::Mlp { hidden, activation } => (
                Encoder::Mlp(
                    MlpEncoderConfig::new(encoded + classes, hidden.clone(), self.latent_dim)
                        .with_activation(*activation)
                        .with_batch_norm(self.batch_norm)
                        .init(device),
                ),
                Decoder::Mlp(
                    MlpDecoderConfig::new(self.latent_dim + classes, hidden.clone(), dim * outputs)
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
                        ConvDecoderConfig::new(
                            self.latent_dim + classes,
                            channels.clone(),
                            [image[0] * outputs, image[1], image[2]],
                        )
                        .init(device),
                    ),
                )
            }
        };
        let obs_logvar = match self.likelihood {
            Likelihood::Bernoulli
            | Likelihood::Poisson
            | Likelihood::NegativeBinomial
            | Likelihood::Categorical
            | Likelihood::Logistic => None,
            Likelihood::Gaussian { variance, .. } => {
                let width = match variance {
                    GaussianVariance::Scalar => 1,
                    GaussianVariance::PerPixel => dim,
                };
                // A typed table's counts start at the dispersion of their
                // data (the parameter is the log of variance or dispersion
                // above the floor, so it starts at log(r - floor)).
                let start = match (&self.table, variance) {
                    (Some(table), GaussianVariance::PerPixel) => {
                        let floor = match self.likelihood {
                            Likelihood::Gaussian { min_variance, .. } => min_variance,
                            _ => 0.0,
                        };
                        table
                            .start_log_scale()
                            .iter()
                            .map(|&l| match l {
                                0.0 => 0.0,
                                l => (f64::from(l).exp() - floor).max(floor).ln() as f32,
                            })
                            .collect()
                    }
                    _ => vec![0.0; width],
                };
                Some(Param::from_tensor(Tensor::from_data(
                    burn::tensor::TensorData::new(start, [1, width]),
                    device,
                )))
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
                // values for a Gaussian; small counts for a Poisson.
                let start = match self.likelihood {
                    Likelihood::Bernoulli | Likelihood::Logistic => Distribution::Uniform(0.0, 1.0),
                    Likelihood::Gaussian { .. } => Distribution::Normal(0.0, 1.0),
                    Likelihood::Poisson | Likelihood::NegativeBinomial => {
                        Distribution::Uniform(0.0, 3.0)
                    }
                    Likelihood::Categorical => Distribution::Uniform(0.0, 1.0),
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
            observation,
            table_input: self.table.as_ref().map(TableInput::of),
            input_dim: dim,
            latent_dim: self.latent_dim,
            classes,
        })
    }
}

impl ModelConfig {
    /// p(x|z): one likelihood for every value, or for typed columns the
    /// likelihood of each column's type.
    pub fn observation_model(&self) -> ObservationModel {
        match &self.table {
            None => ObservationModel::uniform(&Schema::of(&self.input), self.likelihood),
            Some(table) => ObservationModel::new(&table.schema(), |block| match block.values {
                ValueType::Real => self.likelihood,
                ValueType::Count => Likelihood::NegativeBinomial,
                ValueType::Binary => Likelihood::Bernoulli,
                ValueType::Categorical => Likelihood::Categorical,
            }),
        }
    }
}
