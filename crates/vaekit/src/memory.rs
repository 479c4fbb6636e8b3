//! Memory a model and a batch need, estimated before anything is allocated,
//! against the memory the process may use: `--latent 1000000000` is refused
//! with the figure and what to change, instead of ending in the allocator's
//! abort.
//!
//! The estimate counts floats: the parameters with their gradients, Adam's
//! two moments and the copies a run keeps (the epoch's start, the saved
//! weights while they are written), and per example of a pass the widths of
//! every layer for the values, their gradients and the backend's
//! temporaries. It is a floor, not an exact figure: a model it lets through
//! may still need a little more, but none that it refuses could fit.

use crate::data::DataKind;
use crate::error::{Error, Result};
use crate::model::prior::Prior;
use crate::model::{Architecture, ModelConfig};

/// Bytes of one float.
const FLOAT: u64 = 4;
/// Floats a training run holds per parameter: the weights, their gradient,
/// Adam's two moments, the epoch's start and a saved copy.
const TRAINING_COPIES: u64 = 6;
/// Floats an evaluation holds per parameter: the weights and a saved copy.
const INFERENCE_COPIES: u64 = 1;
/// Floats a training step holds per activation: the value, its gradient and
/// the backend's temporaries.
const TRAINING_PER_ACTIVATION: u64 = 4;
/// Floats a forward pass holds per activation.
const INFERENCE_PER_ACTIVATION: u64 = 2;
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

/// What a job needs and the memory there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryNeed {
    /// Bytes of parameters and their copies.
    pub model_bytes: u64,
    /// Bytes of one pass's activations.
    pub batch_bytes: u64,
}

impl MemoryNeed {
    /// The two together.
    pub fn total(&self) -> u64 {
        self.model_bytes.saturating_add(self.batch_bytes)
    }
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

/// What one forward pass of `rows` rows through a loaded model needs at
/// least: its input, the code and the reconstruction, per row (the hidden
/// layers come on top).
pub fn pass_need(input_width: usize, latent: usize, rows: usize) -> MemoryNeed {
    let per_row = (input_width as u64)
        .saturating_mul(2)
        .saturating_add((latent as u64).saturating_mul(3));
    MemoryNeed {
        model_bytes: 0,
        batch_bytes: per_row
            .saturating_mul(rows as u64)
            .saturating_mul(INFERENCE_PER_ACTIVATION * FLOAT),
    }
}

/// The memory this process may still use: the smaller of the system's
/// available memory (`MemAvailable` of /proc/meminfo) and what is left under
/// a cgroup limit (a container's). None where neither can be read.
pub fn available() -> Option<u64> {
    let system = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| meminfo_available(&text));
    [system, cgroup_left()].into_iter().flatten().min()
}

/// `MemAvailable` of /proc/meminfo's text, in bytes.
fn meminfo_available(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// What is left under the cgroup's memory limit (v2, then v1), where it has one.
fn cgroup_left() -> Option<u64> {
    let read =
        |path: &str| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    let (limit, used) = match read("/sys/fs/cgroup/memory.max") {
        Some(limit) => (limit, read("/sys/fs/cgroup/memory.current")),
        None => (
            read("/sys/fs/cgroup/memory/memory.limit_in_bytes")?,
            read("/sys/fs/cgroup/memory/memory.usage_in_bytes"),
        ),
    };
    // "max" does not parse, and v1 writes a huge number for no limit.
    (limit < 1 << 60).then(|| limit.saturating_sub(used.unwrap_or(0)))
}

/// Bytes in words: `1.5 GB`, `312 MB`.
pub fn human(bytes: u64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} bytes"),
        _ => format!("{value:.1} {}", units[unit]),
    }
}

/// Refuses a job whose `need` is above `available` bytes, naming what it
/// would take and the flag to change: the network's (`model_flags`) when
/// its parameters alone do not fit, else the one that sets the pass's rows
/// (`rows_flag`).
pub fn check_fits(
    what: &str,
    need: MemoryNeed,
    available: Option<u64>,
    model_flags: &str,
    rows_flag: &str,
) -> Result<()> {
    let Some(available) = available else {
        return Ok(());
    };
    if need.total() <= available {
        return Ok(());
    }
    let (flag, change) = match need.model_bytes > available {
        true => (model_flags, format!("a smaller network ({model_flags})")),
        false => (rows_flag, format!("a smaller {rows_flag}")),
    };
    Err(Error::setting(
        flag,
        format!(
            "{what} needs about {} ({} for the network's parameters and their copies, {} for one pass), \
             and {} of memory is available; use {change}",
            human(need.total()),
            human(need.model_bytes),
            human(need.batch_bytes),
            human(available),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distributions::Likelihood;
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

    #[test]
    fn memory_readings_parse() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n";
        assert_eq!(meminfo_available(text), Some(20_000_000 * 1024));
        assert_eq!(meminfo_available("MemTotal: 5 kB\n"), None);
        assert!(available().is_none_or(|a| a > 1 << 20));
        assert_eq!(human(999), "999 bytes");
        assert_eq!(human(1_500_000_000), "1.5 GB");
    }
}
