//! Fully connected encoder and decoder (the PyTorch reference's 784-400-20 VAE is
//! `hidden = [400]`, `latent_dim = 20`).

use burn::nn::{BatchNorm, Linear, LinearConfig};
use burn::prelude::*;

use std::ops::Range;

use super::{
    Activation, Weights, dense, hidden_forward, hidden_forward_complemented, hidden_layers,
};
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

    /// The hidden layers, the mean and log-variance heads, and the nonlinearity.
    pub(crate) fn layers(&self) -> (&[Linear], [&Linear; 2], Activation) {
        (&self.hidden, [&self.mu, &self.logvar], self.activation)
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
        self.forward_complemented(x, 0..0)
    }

    /// [`MlpEncoder::forward`] for rows whose columns `complemented` hold
    /// 1 - v in place of the inputs v the weights were made for: the same
    /// posterior. A mask that is mostly ones is given this way so that the
    /// first product reads mostly zeros.
    ///
    /// # Shapes
    /// - `x`: `[batch, input_dim]`
    /// - returns mu and logvar of `[batch, latent_dim]`
    pub fn forward_complemented(
        &self,
        x: Tensor<2>,
        complemented: Range<usize>,
    ) -> DiagonalGaussian {
        if self.hidden.is_empty() {
            let head = |layer: &Linear| {
                Weights::of(layer)
                    .complemented(complemented.clone())
                    .apply(x.clone(), None)
            };
            return DiagonalGaussian::new(head(&self.mu), head(&self.logvar));
        }
        let h = hidden_forward_complemented(
            &self.hidden,
            &self.norms,
            self.activation,
            x,
            complemented,
        );
        // Both heads as one layer: one product of twice the width (the
        // posterior's 20 means and 20 log-variances of a table model fill
        // the CPU kernel's register blocks better together), then split.
        let latent = self.mu.weight.dims()[1];
        let both =
            Weights::side_by_side(Weights::of(&self.mu), Weights::of(&self.logvar)).apply(h, None);
        let rows = both.dims()[0];
        DiagonalGaussian::new(
            both.clone().slice([0..rows, 0..latent]),
            both.slice([0..rows, latent..2 * latent]),
        )
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

    /// The hidden layers, the output layer, and the nonlinearity.
    pub(crate) fn layers(&self) -> (&[Linear], &Linear, Activation) {
        (&self.hidden, &self.out, self.activation)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testing::{assert_close, values_of};
    use burn::tensor::{Distribution, TensorData};

    /// A table-like input: `d` values, mostly zeros (one-hot-like), then
    /// their observed mask, mostly ones; returned as given and with the mask
    /// complemented.
    fn masked_rows(rows: usize, d: usize, device: &Device) -> (Tensor<2>, Tensor<2>) {
        let mut plain = vec![0.0f32; rows * 2 * d];
        let mut complemented = plain.clone();
        for r in 0..rows {
            for c in 0..d {
                let observed = (r * 7 + c * 3) % 11 != 0;
                let value = match (r + c) % 5 {
                    0 if observed => 1.0 + (r % 3) as f32 * 0.25,
                    _ => 0.0,
                };
                let (v, m) = (r * 2 * d + c, r * 2 * d + d + c);
                plain[v] = value;
                complemented[v] = value;
                plain[m] = f32::from(u8::from(observed));
                complemented[m] = 1.0 - plain[m];
            }
        }
        let tensor = |v: Vec<f32>| Tensor::from_data(TensorData::new(v, [rows, 2 * d]), device);
        (tensor(plain), tensor(complemented))
    }

    /// Reading the mask as its complement gives the same posterior and the
    /// same gradients of every parameter: with and without hidden layers and
    /// batch norm, in training and (folded batch norm) outside it, on shapes
    /// big and sparse enough for the CPU's sparse product.
    #[test]
    fn a_complemented_mask_gives_the_same_posterior_and_gradients() {
        let device = Device::flex().autodiff();
        crate::random::with_seeded_device(&device, 5, || {
            let (rows, d) = (64, 40);
            let (plain, complemented) = masked_rows(rows, d, &device);
            for (hidden, batch_norm) in [(vec![32], false), (vec![32, 16], true), (vec![], false)] {
                let encoder = MlpEncoderConfig::new(2 * d, hidden.clone(), 3)
                    .with_batch_norm(batch_norm)
                    .init(&device);
                let probe = Tensor::<2>::random([rows, 3], Distribution::Normal(0.0, 1.0), &device);
                let run = |x: Tensor<2>, cols: Range<usize>| {
                    let q = encoder.forward_complemented(x, cols);
                    let loss = (q.mu.clone() * probe.clone()).sum()
                        + q.logvar.clone().powf_scalar(2.0).sum();
                    let grads = loss.backward();
                    let mut all = vec![values_of(q.mu), values_of(q.logvar)];
                    for layer in encoder.hidden.iter().chain([&encoder.mu, &encoder.logvar]) {
                        all.push(values_of(layer.weight.grad(&grads).unwrap()));
                        all.push(values_of(
                            layer.bias.as_ref().unwrap().grad(&grads).unwrap(),
                        ));
                    }
                    all
                };
                let expected = run(plain.clone(), 0..0);
                let got = run(complemented.clone(), d..2 * d);
                for (k, (a, b)) in got.iter().zip(&expected).enumerate() {
                    assert_close(a, b, 1e-4, &format!("hidden {hidden:?}, part {k}"));
                }
                // Outside training (batch norm folded into the layer).
                let valid = encoder.valid();
                let (plain, complemented) = masked_rows(rows, d, &device.clone().inner());
                let (a, b) = (
                    valid.forward(plain),
                    valid.forward_complemented(complemented, d..2 * d),
                );
                assert_close(&values_of(b.mu), &values_of(a.mu), 1e-4, "valid mu");
                assert_close(
                    &values_of(b.logvar),
                    &values_of(a.logvar),
                    1e-4,
                    "valid logvar",
                );
            }
        })
    }
}
