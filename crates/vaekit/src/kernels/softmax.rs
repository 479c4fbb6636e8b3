//! The token softmax's negative log-likelihood from logits, forward and
//! backward each one pass over the logits.
//!
//! Written because profiling the sentence VAE showed the need: burn's
//! `log_softmax` then `gather` makes five passes over the `[tokens, vocab]`
//! logits forward (max, subtract, exp with the C library's scalar `expf`,
//! sum, log) and as many backward, plus a zero-filled tensor of the logits'
//! size for the gather's gradient; with a vocabulary of 10,000 that is most
//! of a step's time outside the matrix products. Here each row's
//! log-sum-exp is one pass with the vectorized `exp` of [`super::simd`],
//! kept for the backward pass, whose gradient w * g * (softmax - one-hot)
//! is one more.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::Tensor;
use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
use super::simd::{avx2, avx512};
use super::simd::{exp_neg, multiversion};
use super::{from_vec, values};

/// The fused token loss, differentiable in the logits.
#[backend_extension(Flex, Autodiff)]
pub trait TokenKernels: Backend {
    /// `w_n * (logsumexp(logits_n) - logits_n[target_n])` per row: `[rows,
    /// vocab]` logits, `[rows]` target ids (as floats) and weights ->
    /// `[rows]`.
    fn fused_token_nll(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        weights: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// -log softmax(logits_n)[target_n] times `weights_n`, per row (CPU backend
/// only; see [`super::fused_applies`]). The targets and weights take no
/// gradient. Same values as `log_softmax` and `gather`.
///
/// # Shapes
/// - `logits`: `[rows, vocab]`; `targets` (ids as floats), `weights`: `[rows]`;
///   returns `[rows]`
pub fn token_nll(logits: Tensor<2>, targets: Tensor<1>, weights: Tensor<1>) -> Tensor<1> {
    Tensor::from_dispatch(Dispatch::fused_token_nll(
        logits.into_dispatch(),
        targets.into_dispatch(),
        weights.into_dispatch(),
    ))
}

#[inline(always)]
fn row_lse(l: &[f32]) -> f32 {
    let max = l.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut acc = [0.0f32; 16];
    let chunks = l.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().map(|&v| exp_neg(max - v)).sum();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += exp_neg(max - v);
        }
    }
    max + (acc.iter().sum::<f32>() + tail).ln()
}

#[inline(always)]
fn row_grad(out: &mut [f32], l: &[f32], lse: f32, scale: f32) {
    for (o, &v) in out.iter_mut().zip(l) {
        *o = scale * exp_neg(lse - v);
    }
}

multiversion! {
    /// log sum_k e^(l_k) of a row.
    pub fn lse(l: &[f32]) -> f32 = row_lse;
}

multiversion! {
    /// `out_k = scale * e^(l_k - lse)`: a row's softmax, scaled.
    pub fn softmax_scaled(out: &mut [f32], l: &[f32], lse: f32, scale: f32) = row_grad;
}

/// Per row: the log-sum-exp, and the weighted NLL.
fn forward(
    logits: &FlexTensor,
    targets: &FlexTensor,
    weights: &FlexTensor,
) -> (FlexTensor, FlexTensor) {
    let shape = logits.shape();
    let (rows, vocab) = (shape[0], shape[1].max(1));
    let (l, t, w) = (values(logits), values(targets), values(weights));
    let lses: Vec<f32> = l.par_chunks(vocab).map(lse).collect();
    let out: Vec<f32> = (0..rows)
        .map(|n| {
            let target = (t[n] as usize).min(vocab - 1);
            w[n] * (lses[n] - l[n * vocab + target])
        })
        .collect();
    (from_vec(out, [rows]), from_vec(lses, [rows]))
}

/// d/dlogits = g_n w_n (softmax(logits_n) - onehot(target_n)).
fn grad_logits(
    logits: &FlexTensor,
    targets: &FlexTensor,
    weights: &FlexTensor,
    lses: &FlexTensor,
    grad: &FlexTensor,
) -> FlexTensor {
    let shape = logits.shape();
    let vocab = shape[1].max(1);
    let (l, t, w, s, g) = (
        values(logits),
        values(targets),
        values(weights),
        values(lses),
        values(grad),
    );
    let mut out = vec![0.0f32; l.len()];
    out.par_chunks_mut(vocab)
        .zip(l.par_chunks(vocab))
        .enumerate()
        .for_each(|(n, (o, l))| {
            let scale = g[n] * w[n];
            softmax_scaled(o, l, s[n], scale);
            o[(t[n] as usize).min(vocab - 1)] -= scale;
        });
    from_vec(out, shape)
}

impl TokenKernels for Flex {
    fn fused_token_nll(logits: FlexTensor, targets: FlexTensor, weights: FlexTensor) -> FlexTensor {
        forward(&logits, &targets, &weights).0
    }
}

impl<C: CheckpointStrategy> TokenKernels for Autodiff<Flex, C> {
    fn fused_token_nll(
        logits: FloatTensor<Self>,
        targets: FloatTensor<Self>,
        weights: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct TokenNllBackward;

        impl Backward<Flex, 1> for TokenNllBackward {
            // The logits, targets, weights and each row's log-sum-exp.
            type State = (FlexTensor, FlexTensor, FlexTensor, FlexTensor);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [node_logits] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                let (logits, targets, weights, lses) = ops.state;
                if let Some(node) = node_logits {
                    let g = grad_logits(&logits, &targets, &weights, &lses, &grad);
                    grads.register::<Flex>(node.id, g);
                }
            }
        }

        let (targets, weights) = (targets.into_primitive(), weights.into_primitive());
        match TokenNllBackward
            .prepare::<C>([logits.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let logits = logits.into_primitive();
                let (out, lses) = forward(&logits, &targets, &weights);
                prep.finish((logits, targets, weights, lses), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(forward(logits.primitive(), &targets, &weights).0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::activation::log_softmax;
    use burn::tensor::{Device, Int, TensorData};

    #[test]
    fn fused_token_loss_matches_log_softmax_and_gather_in_values_and_gradients() {
        let device = Device::flex().autodiff();
        let (rows, vocab) = (5, 37);
        let logits: Vec<f32> = (0..rows * vocab)
            .map(|i| ((i * 7919 % 101) as f32 - 50.0) / 7.0)
            .collect();
        let targets = [3usize, 0, 36, 12, 12];
        let weights = [1.0f32, 0.5, 0.0, 1.0, 2.0];
        let run = |fused: bool| {
            let l = Tensor::<2>::from_data(TensorData::new(logits.clone(), [rows, vocab]), &device)
                .require_grad();
            let w = Tensor::<1>::from_data(TensorData::new(weights.to_vec(), [rows]), &device);
            let nll = if fused {
                let t: Vec<f32> = targets.iter().map(|&t| t as f32).collect();
                let t = Tensor::<1>::from_data(TensorData::new(t, [rows]), &device);
                token_nll(l.clone(), t, w)
            } else {
                let t: Vec<i64> = targets.iter().map(|&t| t as i64).collect();
                let t = Tensor::<2, Int>::from_data(TensorData::new(t, [rows, 1]), &device);
                log_softmax(l.clone(), 1).gather(1, t).reshape([rows]).neg() * w
            };
            // A weighted sum, so each row's gradient is scaled differently.
            let scale = Tensor::<1>::from_data(
                TensorData::new(vec![1.0f32, -2.0, 3.0, 0.5, 1.5], [rows]),
                &device,
            );
            let grads = (nll.clone() * scale).sum().backward();
            let g = l
                .grad(&grads)
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            (nll.into_data().try_to_vec::<f32>().unwrap(), g)
        };
        let (fused, fused_grad) = run(true);
        let (plain, plain_grad) = run(false);
        for (f, p) in fused.iter().zip(&plain) {
            assert!((f - p).abs() < 1e-5 * p.abs().max(1.0), "{f} vs {p}");
        }
        for (f, p) in fused_grad.iter().zip(&plain_grad) {
            assert!((f - p).abs() < 1e-6, "{f} vs {p}");
        }
    }
}
