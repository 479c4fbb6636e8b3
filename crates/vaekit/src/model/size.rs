//! What a model needs in memory, estimated before anything is allocated
//! (see [`crate::memory`] for what is available and the refusal).
//!
//! The estimate counts floats: the parameters with their gradients, Adam's
//! two moments and the copies a run keeps (the epoch's start, the saved
//! weights while they are written), and per example of a pass the widths of
//! every layer for the values, their gradients and the backend's
//! temporaries. It is a floor, not an exact figure: a model it lets through
//! may still need a little more, but none that it refuses could fit.

use super::prior::Prior;
use super::{Architecture, ModelConfig};
use crate::data::DataKind;
use crate::memory::{FLOAT, INFERENCE_PER_ACTIVATION, MemoryNeed};

/// Floats a training run holds per parameter: the weights, their gradient,
/// Adam's two moments, the epoch's start and a saved copy.
const TRAINING_COPIES: u64 = 6;
/// Floats an evaluation holds per parameter: the weights and a saved copy.
const INFERENCE_COPIES: u64 = 1;
/// Floats a training step holds per activation: the value, its gradient and
/// the backend's temporaries.
const TRAINING_PER_ACTIVATION: u64 = 4;
/// The stride of each convolution (see [`crate::nn::conv`]) and its kernel side.
const CONV_STRIDE: u64 = 2;
const CONV_KERNEL: u64 = 4;

/// The size of a model: its parameters and the activations of one example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSize {
    /// Weights and biases.
    pub parameters: u64,
    /// Values of every layer's output for one example (encoder and decoder).
    pub activations: u64,
}

/// A dense layer of `a` inputs and `b` outputs: its weights and bias.
fn dense(a: u64, b: u64) -> u64 {
    a.saturating_mul(b).saturating_add(b)
}

/// The widths of a chain of dense layers `widths[0] -> widths[1] -> ...`:
/// its parameters and its outputs' widths.
fn chain(widths: &[u64]) -> ModelSize {
    let parameters = widths
        .windows(2)
        .fold(0u64, |sum, w| sum.saturating_add(dense(w[0], w[1])));
    let activations = widths[1..]
        .iter()
        .fold(0u64, |sum, &w| sum.saturating_add(w));
    ModelSize {
        parameters,
        activations,
    }
}

fn add(a: ModelSize, b: ModelSize) -> ModelSize {
    ModelSize {
        parameters: a.parameters.saturating_add(b.parameters),
        activations: a.activations.saturating_add(b.activations),
    }
}

/// The size of the model `config` builds (a floor: norms and small vectors
/// are left out).
pub fn model_size(config: &ModelConfig) -> ModelSize {
    let dim = config.input.dim() as u64;
    let latent = config.latent_dim as u64;
    let classes = config.classes.unwrap_or(0) as u64;
    // A table with typed columns' encoder also reads the missing-cell mask.
    let encoder_in = match config.table {
        Some(_) => dim.saturating_mul(2),
        None => dim,
    }
    .saturating_add(classes);
    let mut size = match &config.architecture {
        Architecture::Mlp { hidden, .. } => {
            let hidden: Vec<u64> = hidden.iter().map(|&h| h as u64).collect();
            let mut encoder = vec![encoder_in];
            encoder.extend(&hidden);
            encoder.push(latent.saturating_mul(2));
            let mut decoder = vec![latent.saturating_add(classes)];
            decoder.extend(hidden.iter().rev());
            decoder.push(dim);
            add(chain(&encoder), chain(&decoder))
        }
        Architecture::Conv { channels } => conv_size(&config.input, channels, latent, classes),
    };
    if let Some(top) = &config.top {
        let top_latent = top.latent_dim as u64;
        let hidden: Vec<u64> = top.hidden.iter().map(|&h| h as u64).collect();
        let mut up = vec![latent];
        up.extend(&hidden);
        up.push(top_latent.saturating_mul(2));
        let mut down = vec![top_latent];
        down.extend(hidden.iter().rev());
        down.push(latent.saturating_mul(2));
        size = add(size, add(chain(&up), chain(&down)));
    }
    if let Prior::Vamp { pseudo_inputs } = config.prior {
        // The pseudo-inputs, each encoded in every pass.
        let k = pseudo_inputs as u64;
        size.parameters = size.parameters.saturating_add(k.saturating_mul(dim));
        size.activations = size.activations.saturating_add(k);
    }
    size
}

/// Strided convolutions down, a dense layer to the code and back, and the
/// transposed convolutions up.
fn conv_size(input: &DataKind, channels: &[usize], latent: u64, classes: u64) -> ModelSize {
    let (c, mut h, mut w) = match *input {
        DataKind::Image {
            channels,
            height,
            width,
        } => (channels as u64, height as u64, width as u64),
        DataKind::Table { .. } => (1, 1, input.dim() as u64),
    };
    let mut size = ModelSize {
        parameters: 0,
        activations: c.saturating_mul(h).saturating_mul(w),
    };
    let mut from = c.saturating_add(classes);
    for &to in channels {
        let to = to as u64;
        let kernel = from
            .saturating_mul(to)
            .saturating_mul(CONV_KERNEL * CONV_KERNEL);
        (h, w) = (h / CONV_STRIDE, w / CONV_STRIDE);
        // The same weights again in the decoder's transposed convolution.
        size.parameters = size.parameters.saturating_add(kernel.saturating_mul(2));
        let map = to.saturating_mul(h).saturating_mul(w);
        size.activations = size.activations.saturating_add(map.saturating_mul(2));
        from = to;
    }
    let flat = from.saturating_mul(h.max(1)).saturating_mul(w.max(1));
    let dense_parts = add(
        chain(&[flat, latent.saturating_mul(2)]),
        chain(&[latent.saturating_add(classes), flat]),
    );
    add(size, dense_parts)
}

/// What training `config` with passes of `rows` rows (a batch times the
/// samples of z per example) needs.
pub fn training_need(config: &ModelConfig, rows: u64) -> MemoryNeed {
    need(config, rows, TRAINING_COPIES, TRAINING_PER_ACTIVATION)
}

/// What evaluating `config` with passes of `rows` rows needs.
pub fn inference_need(config: &ModelConfig, rows: u64) -> MemoryNeed {
    need(config, rows, INFERENCE_COPIES, INFERENCE_PER_ACTIVATION)
}

fn need(config: &ModelConfig, rows: u64, copies: u64, per_activation: u64) -> MemoryNeed {
    let size = model_size(config);
    MemoryNeed {
        model_bytes: size.parameters.saturating_mul(copies * FLOAT),
        batch_bytes: size
            .activations
            .saturating_add(config.input.dim() as u64)
            .saturating_mul(rows)
            .saturating_mul(per_activation * FLOAT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::Likelihood;
    use crate::memory::check_fits;
    use crate::nn::Activation;
    use burn::module::Module;
    use burn::tensor::Device;

    fn mlp(hidden: Vec<usize>, latent: usize) -> ModelConfig {
        ModelConfig {
            input: DataKind::Image {
                channels: 1,
                height: 28,
                width: 28,
            },
            architecture: Architecture::Mlp {
                hidden,
                activation: Activation::default(),
            },
            latent_dim: latent,
            likelihood: Likelihood::Bernoulli,
            top: None,
            classes: None,
            prior: Prior::Standard,
            batch_norm: false,
            table: None,
        }
    }

    #[test]
    fn the_mlp_count_is_the_built_models() {
        // 784-400-(20+20) and 20-400-784, counted by hand.
        let by_hand = (784 * 400 + 400) + (400 * 40 + 40) + (20 * 400 + 400) + (400 * 784 + 784);
        let config = mlp(vec![400], 20);
        assert_eq!(model_size(&config).parameters, by_hand);
        let built = config.init(&Device::flex()).unwrap();
        assert_eq!(built.num_params(), by_hand as usize);
    }

    #[test]
    fn absurd_sizes_are_refused_with_the_figure() {
        let config = mlp(vec![400], 1_000_000_000);
        let need = training_need(&config, 128);
        assert!(need.model_bytes > 1 << 40, "{need:?}");
        let e = check_fits(
            "training",
            need,
            Some(16 << 30),
            "--latent / --hidden",
            "--batch-size",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("--latent") && e.contains("TB") && e.contains("17.2 GB"),
            "{e}"
        );
        // A huge batch of a small model names the batch.
        let need = training_need(&mlp(vec![400], 20), 1 << 32);
        let e = check_fits("training", need, Some(16 << 30), "--hidden", "--batch-size")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("invalid setting --batch-size"), "{e}");
        // What fits passes, and no reading of the memory lets anything through.
        assert!(check_fits("training", training_need(&config, 1), None, "", "").is_ok());
        let small = training_need(&mlp(vec![400], 20), 128);
        assert!(check_fits("training", small, Some(1 << 30), "", "").is_ok());
        // Sizes past u64 saturate instead of wrapping to something small.
        let huge = mlp(vec![usize::MAX, usize::MAX], usize::MAX);
        assert_eq!(training_need(&huge, u64::MAX).total(), u64::MAX);
    }
}
