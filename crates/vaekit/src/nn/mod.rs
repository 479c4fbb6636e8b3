//! Encoder and decoder networks.
//!
//! Each block follows burn's own module pattern: a `#[derive(Config)]` struct
//! `XxxConfig` whose `init(&device)` builds a `#[derive(Module)]` struct with a
//! `forward`. Field names of these modules are the keys of the saved weights, so
//! they are part of the run-directory format: do not rename them.
//!
//! Encoders and decoders take and give flat `[batch, dim]` tensors whatever the
//! architecture, so the VAE and its losses never see image layouts.

pub mod conv;
pub mod mlp;

use std::ops::Range;

use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation};
use serde::{Deserialize, Serialize};

use crate::kernels::fused_applies;
use crate::kernels::linear::{self, Pointwise};
use crate::kernels::norm;

/// A fully connected layer followed by `activation`, if any. On the CPU the
/// product, bias and activation are one kernel ([`linear::linear`]); elsewhere,
/// or without a bias, it is burn's `Linear`.
///
/// # Shapes
/// - `x`: `[batch, d_in]`; returns `[batch, d_out]`
pub(crate) fn dense(layer: &Linear, x: Tensor<2>, activation: Option<Activation>) -> Tensor<2> {
    Weights::of(layer).apply(x, activation)
}

/// A fully connected layer's parameters as tensors, so that a forward pass
/// can change them before the product (see [`Weights::complemented`]).
struct Weights {
    /// `[d_in, d_out]`, burn's layout.
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
}

impl Weights {
    fn of(layer: &Linear) -> Self {
        Weights {
            weight: layer.weight.val(),
            bias: layer.bias.as_ref().map(|b| b.val()),
        }
    }

    /// The same layer for inputs whose columns `cols` arrive as their
    /// complements 1 - v: (1 - v) (-W) + 1 W = v W, so those rows of the
    /// weight are negated and their sums join the bias. A mask that is
    /// mostly ones (a table's observed cells) becomes mostly zeros, which
    /// the CPU's products skip ([`crate::kernels::sparse`]): on UCI Adult
    /// the encoder's first layer drops from 320 dense inputs to about 22
    /// nonzeros per row. Gradients reach the stored weights through the
    /// negation and the sums; an empty range changes nothing.
    fn complemented(self, cols: Range<usize>) -> Self {
        if cols.is_empty() {
            return self;
        }
        let [_, d_out] = self.weight.dims();
        let rows = self.weight.clone().slice([cols.clone(), 0..d_out]);
        let sums = rows.clone().sum_dim(0).reshape([d_out]);
        Weights {
            weight: self.weight.slice_assign([cols, 0..d_out], rows.neg()),
            bias: Some(match self.bias {
                Some(bias) => bias + sums,
                None => sums,
            }),
        }
    }

    /// Two layers of the same input as one: their outputs side by side
    /// (a missing bias counts as zeros).
    fn side_by_side(a: Weights, b: Weights) -> Self {
        let bias = |w: &Weights| {
            w.bias
                .clone()
                .unwrap_or_else(|| Tensor::zeros([w.weight.dims()[1]], &w.weight.device()))
        };
        Weights {
            bias: Some(Tensor::cat(vec![bias(&a), bias(&b)], 0)),
            weight: Tensor::cat(vec![a.weight, b.weight], 1),
        }
    }

    /// `activation(x @ weight + bias)`, see [`dense`].
    fn apply(self, x: Tensor<2>, activation: Option<Activation>) -> Tensor<2> {
        match self.bias {
            Some(bias) => affine(x, self.weight, bias, activation),
            None => {
                let y = x.matmul(self.weight);
                match activation {
                    Some(activation) => activation.apply(y),
                    None => y,
                }
            }
        }
    }

    /// The layer and the batch norm after it, outside training: the
    /// normalization by the running statistics is affine, so it folds into
    /// the layer's weights (w * s, (b - mean) * s + beta with s = gamma /
    /// sqrt(var + eps)) and the three steps are one fused layer. Exact up to
    /// rounding; it keeps the importance-weighted evaluation, which decodes
    /// thousands of samples per example, about as fast as without batch norm.
    fn normalized(self, norm: &BatchNorm, x: Tensor<2>, activation: Activation) -> Tensor<2> {
        let device = x.device();
        let scale = norm.gamma.val()
            / norm
                .running_var
                .value()
                .to_device(&device)
                .add_scalar(norm.epsilon)
                .sqrt();
        let weight = self.weight * scale.clone().unsqueeze();
        let bias = match self.bias {
            Some(b) => b,
            None => scale.zeros_like(),
        };
        let bias = (bias - norm.running_mean.value().to_device(&device)) * scale + norm.beta.val();
        affine(x, weight, bias, Some(activation))
    }
}

/// `layer` made to give `values` whatever its input: zero weights and
/// `values` as the bias, keeping the parameters' ids (an optimizer's state
/// still refers to them) and whether they take gradients.
///
/// # Shapes
/// - `values`: `d_out` numbers
pub(crate) fn constant_output(layer: Linear, values: &[f32]) -> Linear {
    let weight = layer.weight.map(|w| keep_grad(&w, w.zeros_like()));
    let bias = layer.bias.map(|b| {
        b.map(|b| {
            let data = burn::tensor::TensorData::new(values.to_vec(), [values.len()]);
            keep_grad(&b, Tensor::from_data(data, &b.device()))
        })
    });
    Linear { weight, bias }
}

/// `new` as the value of a parameter that held `old`: taking gradients if
/// `old` did (a parameter's new value set by hand, a loaded weight).
pub(crate) fn keep_grad<const D: usize>(old: &Tensor<D>, new: Tensor<D>) -> Tensor<D> {
    match old.is_require_grad() {
        true => new.require_grad(),
        false => new,
    }
}

/// `activation(x @ weight + bias)`, one kernel on the CPU.
///
/// # Shapes
/// - `x`: `[batch, d_in]`; `weight`: `[d_in, d_out]`; `bias`: `[d_out]`
fn affine(
    x: Tensor<2>,
    weight: Tensor<2>,
    bias: Tensor<1>,
    activation: Option<Activation>,
) -> Tensor<2> {
    if fused_applies(&x) {
        return linear::linear(x, weight, bias, pointwise(activation));
    }
    let y = x.matmul(weight) + bias.unsqueeze();
    match activation {
        Some(activation) => activation.apply(y),
        None => y,
    }
}

/// The fused kernels' name for an activation (None: the identity).
fn pointwise(activation: Option<Activation>) -> Pointwise {
    match activation {
        None => Pointwise::Identity,
        Some(Activation::Relu) => Pointwise::Relu,
        Some(Activation::Tanh) => Pointwise::Tanh,
    }
}

/// `activation(norm(x))` by the batch's statistics, moving the running
/// statistics towards them, as burn's `BatchNorm::forward` does in training;
/// on the CPU one fused kernel each ([`crate::kernels::norm`]), elsewhere
/// burn's own.
///
/// # Shapes
/// - `x`: `[batch, d]`; returns `[batch, d]`
fn normalize_batch(norm: &BatchNorm, x: Tensor<2>, activation: Activation) -> Tensor<2> {
    if !(fused_applies(&x) && norm.training.is_enabled()) {
        return activation.apply(norm.forward(x));
    }
    let device = x.device();
    for (state, variance) in [(&norm.running_mean, false), (&norm.running_var, true)] {
        let running = state.value_sync().to_device(&device);
        state.update(norm::running_moment(
            x.clone(),
            running,
            norm.momentum,
            variance,
        ));
    }
    norm::batch_norm(
        x,
        norm.gamma.val(),
        norm.beta.val(),
        norm.epsilon,
        pointwise(Some(activation)),
    )
}

/// The hidden layers of an MLP: fully connected layers, each optionally
/// batch-normalized before its nonlinearity.
///
/// Batch normalization (Ioffe & Szegedy 2015) is burn's `BatchNorm`: on a
/// device that records gradients it normalizes by the batch's statistics and
/// updates the running ones; elsewhere (evaluation, sampling, every command but
/// `train`) it uses the running statistics, which the saved weights hold.
/// On the CPU the training pass is a fused kernel with the same maths
/// ([`normalize_batch`]).
///
/// Layers mapping `widths[i]` to `widths[i + 1]`, and a batch norm of each
/// layer's outputs when `batch_norm` is set (else none).
pub(crate) fn hidden_layers(
    widths: &[usize],
    batch_norm: bool,
    device: &Device,
) -> (Vec<Linear>, Vec<BatchNorm>) {
    let layers = widths
        .windows(2)
        .map(|w| LinearConfig::new(w[0], w[1]).init(device))
        .collect();
    let norms = match batch_norm {
        true => widths[1..]
            .iter()
            .map(|&w| BatchNormConfig::new(w).init(device))
            .collect(),
        false => Vec::new(),
    };
    (layers, norms)
}

/// The running mean and variance of each of `norms`, with the update of the
/// last training pass applied (burn keeps it pending until the next read).
pub(crate) fn running_statistics(norms: &[&BatchNorm]) -> Vec<[Tensor<1>; 2]> {
    norms
        .iter()
        .map(|n| [n.running_mean.value_sync(), n.running_var.value_sync()])
        .collect()
}

/// Puts back statistics read by [`running_statistics`] from the same norms,
/// discarding whatever passes since then did to them.
pub(crate) fn restore_running_statistics(norms: &[&BatchNorm], saved: Vec<[Tensor<1>; 2]>) {
    for (norm, [mean, var]) in norms.iter().zip(saved) {
        for (state, value) in [(&norm.running_mean, mean), (&norm.running_var, var)] {
            // update() first applies what is pending, then queues `value`;
            // value_sync() makes it the current one.
            state.update(value);
            let _ = state.value_sync();
        }
    }
}

/// `x` through the hidden layers of [`hidden_layers`]. With norms in
/// training, the product and bias are one pass and the normalization and
/// nonlinearity follow; otherwise each layer is one fused pass of [`dense`].
///
/// # Shapes
/// - `x`: `[batch, widths[0]]`; returns `[batch, widths.last()]`
pub(crate) fn hidden_forward(
    layers: &[Linear],
    norms: &[BatchNorm],
    activation: Activation,
    x: Tensor<2>,
) -> Tensor<2> {
    hidden_forward_complemented(layers, norms, activation, x, 0..0)
}

/// [`hidden_forward`] for inputs whose columns `complemented` hold 1 - v
/// in place of the first layer's inputs v (see [`Weights::complemented`]):
/// the same outputs.
///
/// # Shapes
/// - `x`: `[batch, widths[0]]`; returns `[batch, widths.last()]`
pub(crate) fn hidden_forward_complemented(
    layers: &[Linear],
    norms: &[BatchNorm],
    activation: Activation,
    x: Tensor<2>,
    complemented: Range<usize>,
) -> Tensor<2> {
    // burn's BatchNorm normalizes by the batch on a device that records
    // gradients, by the running statistics elsewhere; the second case is
    // folded into the layer.
    let training = x.device().is_autodiff();
    layers.iter().enumerate().fold(x, |h, (i, layer)| {
        let weights = match i {
            0 => Weights::of(layer).complemented(complemented.clone()),
            _ => Weights::of(layer),
        };
        match norms.get(i) {
            Some(norm) if training => normalize_batch(norm, weights.apply(h, None), activation),
            Some(norm) => weights.normalized(norm, h, activation),
            None => weights.apply(h, Some(activation)),
        }
    })
}

/// The nonlinearity between hidden layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(x, 0), the PyTorch reference's choice.
    #[default]
    Relu,
    /// tanh(x), the IWAE paper's choice.
    Tanh,
}

impl Activation {
    /// Applies the nonlinearity elementwise.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => activation::relu(x),
            Activation::Tanh => activation::tanh(x),
        }
    }
}

impl std::str::FromStr for Activation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "relu" => Ok(Activation::Relu),
            "tanh" => Ok(Activation::Tanh),
            other => Err(format!("unknown activation '{other}'; use relu or tanh")),
        }
    }
}

impl std::fmt::Display for Activation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::tensor::TensorData;

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec().unwrap()
    }

    #[test]
    fn a_constant_layer_gives_its_values_and_keeps_its_parameters() {
        let device = Device::flex();
        let layer = LinearConfig::new(3, 2).init(&device);
        let ids = (layer.weight.id, layer.bias.as_ref().unwrap().id);
        let layer = constant_output(layer, &[-1.5, 0.25]);
        assert_eq!((layer.weight.id, layer.bias.as_ref().unwrap().id), ids);
        let x = Tensor::from_data(
            TensorData::new(vec![1.0f32, -2.0, 3.0, 0.5, 0.0, 9.0], [2, 3]),
            &device,
        );
        assert_eq!(values(dense(&layer, x, None)), [-1.5, 0.25, -1.5, 0.25]);
    }

    /// The layer's product and bias by hand, in f64: `[rows][out]`.
    fn by_hand(layer: &Linear, x: &[f32], rows: usize) -> Vec<Vec<f64>> {
        let [d_in, d_out] = layer.weight.dims();
        let w: Vec<f32> = layer.weight.val().into_data().try_to_vec().unwrap();
        let b: Vec<f32> = layer
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .try_to_vec()
            .unwrap();
        (0..rows)
            .map(|r| {
                (0..d_out)
                    .map(|j| {
                        b[j] as f64
                            + (0..d_in)
                                .map(|i| x[r * d_in + i] as f64 * w[i * d_out + j] as f64)
                                .sum::<f64>()
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn batch_norm_uses_batch_statistics_in_training_and_running_ones_elsewhere() {
        // One layer 3 -> 4 with batch norm and tanh, checked against the
        // definition: in training, (a - mean) / sqrt(var + 1e-5) over the
        // batch (biased variance), gamma = 1 and beta = 0 at the start, and
        // the running statistics move 10 % of the way to the batch's; on a
        // device without gradients, the running statistics normalize.
        let device = Device::flex().autodiff();
        crate::random::with_seeded_device(&device.clone(), 4, || {
            let (layers, norms) = hidden_layers(&[3, 4], true, &device);
            assert_eq!((layers.len(), norms.len()), (1, 1));
            let rows = 5;
            let x: Vec<f32> = (0..rows * 3)
                .map(|i| ((i * 5 + 2) % 7) as f32 - 3.0)
                .collect();
            let input = Tensor::<2>::from_data(TensorData::new(x.clone(), [rows, 3]), &device);
            let out = values(hidden_forward(
                &layers,
                &norms,
                Activation::Tanh,
                input.clone(),
            ));
            let a = by_hand(&layers[0], &x, rows);
            let mut mean = [0.0f64; 4];
            let mut var = [0.0f64; 4];
            for j in 0..4 {
                mean[j] = (0..rows).map(|r| a[r][j]).sum::<f64>() / rows as f64;
                var[j] = (0..rows).map(|r| (a[r][j] - mean[j]).powi(2)).sum::<f64>() / rows as f64;
                assert!(var[j] > 1e-3, "a degenerate column would test nothing");
                for r in 0..rows {
                    let expected = ((a[r][j] - mean[j]) / (var[j] + 1e-5).sqrt()).tanh();
                    let got = out[r * 4 + j] as f64;
                    assert!(
                        (got - expected).abs() < 1e-4,
                        "train [{r},{j}]: {got} vs {expected}"
                    );
                }
            }
            // Evaluation: the running statistics after that one batch.
            let (layers, norms): (Vec<Linear>, Vec<BatchNorm>) = (
                layers.iter().map(|l| l.valid()).collect(),
                norms.iter().map(|n| n.valid()).collect(),
            );
            let inner =
                Tensor::<2>::from_data(TensorData::new(x.clone(), [rows, 3]), &device.inner());
            let out = values(hidden_forward(
                &layers,
                &norms,
                Activation::Tanh,
                inner.clone(),
            ));
            // The folded layer against burn's own batch norm at inference.
            let unfolded =
                values(Activation::Tanh.apply(norms[0].forward(dense(&layers[0], inner, None))));
            for (f, u) in out.iter().zip(&unfolded) {
                assert!((f - u).abs() < 1e-5, "folded {f} vs burn's {u}");
            }
            for j in 0..4 {
                let running_mean = 0.1 * mean[j];
                let running_var = 0.9 + 0.1 * var[j];
                for r in 0..rows {
                    let expected = ((a[r][j] - running_mean) / (running_var + 1e-5).sqrt()).tanh();
                    let got = out[r * 4 + j] as f64;
                    assert!(
                        (got - expected).abs() < 1e-4,
                        "eval [{r},{j}]: {got} vs {expected}"
                    );
                }
            }
        })
    }

    #[test]
    fn without_batch_norm_the_stack_is_the_plain_layers() {
        let device = Device::flex();
        crate::random::with_seeded_device(&device, 2, || {
            let (layers, norms) = hidden_layers(&[3, 2], false, &device);
            assert!(norms.is_empty());
            let x = vec![0.5f32, -1.0, 2.0, 1.5, 0.0, -0.5];
            let input = Tensor::<2>::from_data(TensorData::new(x.clone(), [2, 3]), &device);
            let out = values(hidden_forward(&layers, &norms, Activation::Relu, input));
            let a = by_hand(&layers[0], &x, 2);
            for (r, row) in a.iter().enumerate() {
                for (j, v) in row.iter().enumerate() {
                    assert!((out[r * 2 + j] as f64 - v.max(0.0)).abs() < 1e-5);
                }
            }
        })
    }
}
