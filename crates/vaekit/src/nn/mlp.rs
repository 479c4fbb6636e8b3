//! Fully connected encoder and decoder (the PyTorch reference's 784-400-20 VAE is
//! `hidden = [400]`, `latent_dim = 20`).

use burn::nn::{BatchNorm, Linear, LinearConfig};
use burn::prelude::*;

use super::{Activation, dense, hidden_forward, hidden_layers};
use crate::distributions::DiagonalGaussian;

/// Settings of an [`MlpEncoder`].
#[derive(Config, Debug)]
pub struct MlpEncoderConfig {
    /// Size of one flattened input.
    pub input_dim: usize,
    /// Widths of the hidden layers, input side first.
    pub hidden: Vec<usize>,
    /// Size of the latent code.
    pub latent_dim: usize,
    /// Nonlinearity after each hidden layer.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Batch normalization between each hidden layer's product and its
    /// nonlinearity.
    #[config(default = false)]
    pub batch_norm: bool,
}

/// x -> hidden layers -> (mu, logvar) of q(z|x).
#[derive(Module, Debug)]
pub struct MlpEncoder {
    hidden: Vec<Linear>,
    /// One per hidden layer with batch normalization, else empty.
    norms: Vec<BatchNorm>,
    mu: Linear,
    logvar: Linear,
    #[module(skip)]
    activation: Activation,
}

impl MlpEncoderConfig {
    /// Builds the encoder with PyTorch's default initialization
    /// (uniform in +-1/sqrt(fan_in) for weights and biases).
    pub fn init(&self, device: &Device) -> MlpEncoder {
        let widths = layer_widths(self.input_dim, &self.hidden);
        let last = widths.last().copied().unwrap_or(self.input_dim);
        let (hidden, norms) = hidden_layers(&widths, self.batch_norm, device);
        MlpEncoder {
            hidden,
            norms,
            mu: LinearConfig::new(last, self.latent_dim).init(device),
            logvar: LinearConfig::new(last, self.latent_dim).init(device),
            activation: self.activation,
        }
    }
}

impl MlpEncoder {
    /// The batch norms of the hidden layers (none without batch normalization).
    pub fn norms(&self) -> &[BatchNorm] {
        &self.norms
    }

    /// The encoder with a fixed log-variance for every input: zero weights
    /// and `logvar` as the bias of its log-variance layer (the mean is
    /// untouched). A mixture prior's start uses it: an encoder pretrained as
    /// a deterministic autoencoder has never trained that layer.
    ///
    /// # Shapes
    /// - `logvar`: `latent_dim` numbers
    pub fn with_constant_logvar(mut self, logvar: &[f32]) -> Self {
        self.logvar = super::constant_output(self.logvar, logvar);
        self
    }

    /// The approximate posterior for each row of `x`.
    ///
    /// # Shapes
    /// - `x`: `[batch, input_dim]`
    /// - returns mu and logvar of `[batch, latent_dim]`
    pub fn forward(&self, x: Tensor<2>) -> DiagonalGaussian {
        let h = self.hidden_features(x);
        DiagonalGaussian::new(
            dense(&self.mu, h.clone(), None),
            dense(&self.logvar, h, None),
        )
    }

    fn hidden_features(&self, x: Tensor<2>) -> Tensor<2> {
        hidden_forward(&self.hidden, &self.norms, self.activation, x)
    }
}

/// Settings of an [`MlpDecoder`].
#[derive(Config, Debug)]
pub struct MlpDecoderConfig {
    /// Size of the latent code.
    pub latent_dim: usize,
    /// Widths of the hidden layers, listed as for the encoder (input side first);
    /// the decoder uses them in reverse, mirroring it.
    pub hidden: Vec<usize>,
    /// Size of one flattened output.
    pub output_dim: usize,
    /// Nonlinearity after each hidden layer.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Batch normalization between each hidden layer's product and its
    /// nonlinearity.
    #[config(default = false)]
    pub batch_norm: bool,
}

/// z -> hidden layers -> the likelihood's parameters (logits or means) for x.
#[derive(Module, Debug)]
pub struct MlpDecoder {
    hidden: Vec<Linear>,
    /// One per hidden layer with batch normalization, else empty.
    norms: Vec<BatchNorm>,
    out: Linear,
    #[module(skip)]
    activation: Activation,
}

impl MlpDecoderConfig {
    /// Builds the decoder with PyTorch's default initialization.
    pub fn init(&self, device: &Device) -> MlpDecoder {
        let reversed: Vec<usize> = self.hidden.iter().rev().copied().collect();
        let widths = layer_widths(self.latent_dim, &reversed);
        let last = widths.last().copied().unwrap_or(self.latent_dim);
        let (hidden, norms) = hidden_layers(&widths, self.batch_norm, device);
        MlpDecoder {
            hidden,
            norms,
            out: LinearConfig::new(last, self.output_dim).init(device),
            activation: self.activation,
        }
    }
}

impl MlpDecoder {
    /// The batch norms of the hidden layers (none without batch normalization).
    pub fn norms(&self) -> &[BatchNorm] {
        &self.norms
    }

    /// Decoder outputs for each code.
    ///
    /// # Shapes
    /// - `z`: `[batch, latent_dim]`
    /// - returns `[batch, output_dim]`
    pub fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        let h = hidden_forward(&self.hidden, &self.norms, self.activation, z);
        dense(&self.out, h, None)
    }
}

/// `[first, hidden...]`: the input width of each layer followed by its output.
fn layer_widths(first: usize, hidden: &[usize]) -> Vec<usize> {
    std::iter::once(first)
        .chain(hidden.iter().copied())
        .collect()
}
