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

use burn::tensor::{Tensor, activation};
use serde::{Deserialize, Serialize};

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
