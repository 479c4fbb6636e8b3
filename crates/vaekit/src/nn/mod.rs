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

use burn::nn::Linear;
use burn::tensor::{Tensor, activation};
use serde::{Deserialize, Serialize};

use crate::kernels::fused_applies;
use crate::kernels::linear::{self, Pointwise};

/// A fully connected layer followed by `activation`, if any. On the CPU the
/// product, bias and activation are one kernel ([`linear::linear`]); elsewhere,
/// or without a bias, it is burn's `Linear`.
///
/// # Shapes
/// - `x`: `[batch, d_in]`; returns `[batch, d_out]`
pub(crate) fn dense(layer: &Linear, x: Tensor<2>, activation: Option<Activation>) -> Tensor<2> {
    match &layer.bias {
        Some(bias) if fused_applies(&x) => {
            let pointwise = match activation {
                None => Pointwise::Identity,
                Some(Activation::Relu) => Pointwise::Relu,
                Some(Activation::Tanh) => Pointwise::Tanh,
            };
            linear::linear(x, layer.weight.val(), bias.val(), pointwise)
        }
        _ => {
            let y = layer.forward(x);
            match activation {
                Some(activation) => activation.apply(y),
                None => y,
            }
        }
    }
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
