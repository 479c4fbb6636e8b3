//! What bits-back coding (`crate::compress`) reads of a model: its fully
//! connected networks and the prior of its top code as stored values. Only
//! models the coder takes are given out; the others get a message saying
//! what stands in the way.

use burn::prelude::*;

use super::{Decoder, Encoder, Vae};
use crate::distributions::Likelihood;
use crate::error::{Error, Result};
use crate::nn::mlp::{MlpDecoder, MlpEncoder};

/// What bits-back coding reads of a model (see [`Vae::coding_parts`]).
pub(crate) struct CodingParts<'a> {
    /// q(z|x), or q(z1|x) in a hierarchical VAE.
    pub(crate) encoder: &'a MlpEncoder,
    /// p(x|z), or p(x|z1).
    pub(crate) decoder: &'a MlpDecoder,
    /// q(z2|z1) and p(z1|z2) of a hierarchical VAE.
    pub(crate) top: Option<(&'a MlpEncoder, &'a MlpEncoder)>,
    /// The prior of the top latent code.
    pub(crate) prior: CodingPrior,
    /// Bernoulli (binary pixels) or the discretized logistic (8-bit ones).
    pub(crate) likelihood: Likelihood,
}

/// The prior of the top latent code as stored values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CodingPrior {
    /// N(0, I).
    Standard,
    /// The VampPrior: the pseudo-inputs, `[K, input_dim]` row-major, clamped
    /// as the model reads them; the components are the encoder's posteriors
    /// at them, weighted 1/K.
    Vamp { pseudo_inputs: Vec<f32> },
    /// A Gaussian mixture: its weights' logits (`K`), means and
    /// log-variances (`[K, latent_dim]` row-major).
    Mixture {
        logits: Vec<f32>,
        mu: Vec<f32>,
        logvar: Vec<f32>,
    },
}

impl Vae {
    /// The fully connected networks and the prior of a model that bits-back
    /// coding can use: Bernoulli pixels, unconditional, MLP networks without
    /// batch norm, one stochastic layer under N(0, I), the VampPrior or a
    /// Gaussian mixture, or two under N(0, I). Otherwise an error that says
    /// what stands in the way.
    pub(crate) fn coding_parts(&self) -> Result<CodingParts<'_>> {
        let refuse = |why: &str| {
            Err(Error::Data(format!(
                "this run cannot compress: {why}; train an MLP VAE with --likelihood bernoulli on binarized images, or --likelihood logistic on 8-bit ones"
            )))
        };
        match self.likelihood {
            Likelihood::Bernoulli | Likelihood::Logistic => {}
            other => {
                return refuse(&format!(
                    "its likelihood is {}, and compression codes binary pixels under a Bernoulli one or 8-bit ones under a discretized logistic",
                    other.name()
                ));
            }
        }
        if self.classes > 0 || self.table_input.is_some() {
            return refuse("it is conditional or a table model");
        }
        let (Encoder::Mlp(encoder), Decoder::Mlp(decoder)) = (&self.encoder, &self.decoder) else {
            return refuse("it is convolutional");
        };
        let top = self.top.as_ref().map(|t| (&t.up, &t.down));
        let norms = top.map_or(0, |(up, down)| up.norms().len() + down.norms().len());
        if norms + encoder.norms().len() + decoder.norms().len() > 0 {
            return refuse("it uses batch normalization");
        }
        let values = |t: Tensor<2>| t.into_data().convert::<f32>().try_into_vec::<f32>();
        let read = |t: Tensor<2>| {
            values(t).map_err(|e| Error::Data(format!("cannot read the model's prior: {e:?}")))
        };
        let prior = match (&self.mixture, self.clamped_pseudo_inputs()) {
            (Some(m), _) => {
                let (logits, c) = (m.logits(), m.components());
                CodingPrior::Mixture {
                    logits: read(logits)?,
                    mu: read(c.mu)?,
                    logvar: read(c.logvar)?,
                }
            }
            (None, Some(pseudo)) => CodingPrior::Vamp {
                pseudo_inputs: read(pseudo)?,
            },
            (None, None) => CodingPrior::Standard,
        };
        Ok(CodingParts {
            encoder,
            decoder,
            top,
            prior,
            likelihood: self.likelihood,
        })
    }
}
