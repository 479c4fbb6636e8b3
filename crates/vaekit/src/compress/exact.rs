//! The networks as the coder runs them: the same weights as the model, in a
//! forward pass whose every value is the same on every machine.
//!
//! Bits-back decoding must see exactly the probabilities the encoder saw. The
//! training kernels (`gemm`, the sparse products) add their products in an
//! order that depends on the CPU's vector width and on how rows are split
//! between threads, so two machines (or two thread counts) can round the
//! last bit differently; one differing probability and the rest of the file
//! decodes to garbage. Here each output is its bias plus the products of the
//! inputs in increasing input order, one multiplication and one addition
//! each (Rust never fuses them into a multiply-add unless asked): the
//! compiler may still vectorize over the outputs, which leaves every
//! output's own sequence of roundings as it is. Nonlinearities come from the
//! `libm` crate, a pure-Rust port of musl's, rather than the platform's C
//! library, which can differ between systems.

use burn::nn::Linear;

use crate::error::{Error, Result};
use crate::nn::Activation;

/// A fully connected layer's weights, `[d_in, d_out]` row-major (burn's
/// layout), and its bias.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dense {
    weight: Vec<f32>,
    bias: Vec<f32>,
    d_in: usize,
    d_out: usize,
}

fn floats<const D: usize>(t: burn::tensor::Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .map_err(|e| Error::Data(format!("cannot read the model's weights: {e:?}")))
}

impl Dense {
    pub(crate) fn of(layer: &Linear) -> Result<Dense> {
        let [d_in, d_out] = layer.weight.dims();
        let bias = match &layer.bias {
            Some(b) => floats(b.val())?,
            None => vec![0.0; d_out],
        };
        Ok(Dense {
            weight: floats(layer.weight.val())?,
            bias,
            d_in,
            d_out,
        })
    }

    /// Adds the layer's shape and every weight's bits to `h`.
    pub(crate) fn hash_into(&self, h: &mut sha2::Sha256) {
        use sha2::Digest;
        h.update((self.d_in as u64).to_le_bytes());
        h.update((self.d_out as u64).to_le_bytes());
        for v in self.weight.iter().chain(&self.bias) {
            h.update(v.to_bits().to_le_bytes());
        }
    }

    pub(crate) fn d_out(&self) -> usize {
        self.d_out
    }

    /// `out = bias + x @ weight`, the products added in input order (a zero
    /// input adds nothing, the same on every machine).
    fn apply(&self, x: &[f32], out: &mut Vec<f32>) {
        debug_assert_eq!(x.len(), self.d_in);
        out.clear();
        out.extend_from_slice(&self.bias);
        for (i, &xi) in x.iter().enumerate() {
            if xi == 0.0 {
                continue;
            }
            let row = &self.weight[i * self.d_out..(i + 1) * self.d_out];
            for (o, &w) in out.iter_mut().zip(row) {
                *o += xi * w;
            }
        }
    }
}

/// Hidden layers and their nonlinearity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stack {
    pub(crate) layers: Vec<Dense>,
    pub(crate) activation: Activation,
}

impl Stack {
    /// `x` through the layers; returns the last one's output (`x` itself
    /// without layers).
    fn apply(&self, x: &[f32]) -> Vec<f32> {
        let (mut h, mut out) = (x.to_vec(), Vec::new());
        for layer in &self.layers {
            layer.apply(&h, &mut out);
            for v in out.iter_mut() {
                *v = match self.activation {
                    Activation::Relu => v.max(0.0),
                    Activation::Tanh => libm::tanhf(*v),
                };
            }
            std::mem::swap(&mut h, &mut out);
        }
        h
    }
}

/// q(z|x): the posterior's means and log-variances of an image.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExactEncoder {
    pub(crate) hidden: Stack,
    pub(crate) mu: Dense,
    pub(crate) logvar: Dense,
}

impl ExactEncoder {
    /// The means and standard deviations of q(z|x).
    pub(crate) fn posterior(&self, x: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let h = self.hidden.apply(x);
        let (mut mu, mut logvar) = (Vec::new(), Vec::new());
        self.mu.apply(&h, &mut mu);
        self.logvar.apply(&h, &mut logvar);
        let sd = logvar
            .iter()
            .map(|&l| libm::exp(0.5 * f64::from(l)) as f32)
            .collect();
        (mu, sd)
    }
}

/// p(x|z): the decoder's logits of an image's pixels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExactDecoder {
    pub(crate) hidden: Stack,
    pub(crate) out: Dense,
}

impl ExactDecoder {
    pub(crate) fn logits(&self, z: &[f32]) -> Vec<f32> {
        let h = self.hidden.apply(z);
        let mut out = Vec::new();
        self.out.apply(&h, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::tensor::{Device, Tensor, TensorData};

    /// The exact layer against burn's on the same weights (to rounding), and
    /// the same bits however often it runs.
    #[test]
    fn the_exact_layer_computes_the_model_layer() {
        let device = Device::flex();
        crate::random::with_seeded_device(&device, 3, || {
            let layer = LinearConfig::new(30, 17).init(&device);
            let x: Vec<f32> = (0..30).map(|i| ((i * 7) % 5) as f32 * 0.5 - 0.5).collect();
            let want: Vec<f32> = layer
                .forward(Tensor::<2>::from_data(
                    TensorData::new(x.clone(), [1, 30]),
                    &device,
                ))
                .into_data()
                .try_into_vec::<f32>()
                .unwrap();
            let dense = Dense::of(&layer).unwrap();
            let mut got = Vec::new();
            dense.apply(&x, &mut got);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-5, "{g} vs {w}");
            }
            let mut again = Vec::new();
            dense.apply(&x, &mut again);
            assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                again.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        })
    }
}
