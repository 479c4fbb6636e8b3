//! Fused CPU kernels, added to burn through its backend-extension mechanism.
//!
//! Written here because profiling showed the need (bench/NOTES.md): on the CPU
//! backend each elementwise tensor operation is a separate pass that allocates a
//! fresh tensor, so Adam (about a dozen passes over every parameter per step) and
//! the Bernoulli loss from logits (about eight passes forward and as many
//! backward, with scalar `expf`/`log1pf` calls) took as much time as the matrix
//! products. burn offers no fused versions of either, so vaekit adds them:
//!
//! - [`adam_update`]: one pass that updates a parameter and both moments, in place
//!   when the buffers are not shared;
//! - [`sum_squares`]: the squared L2 norm of a gradient, for global clipping;
//! - [`bernoulli_nll_rows`]: the per-row Bernoulli negative log-likelihood from
//!   logits, with a hand-written backward pass registered with burn's autodiff;
//! - [`likelihoods`]: the masked negative log-likelihood of rows of mixed
//!   blocks (a typed table's columns), forward and backward in one pass each;
//! - [`linear`]: a fully connected layer with its bias and ReLU, forward and
//!   backward;
//! - [`norm`]: batch normalization by the batch's statistics with the
//!   activation after it, forward and backward, and the running statistics'
//!   update;
//! - [`sparse`]: products whose left operand is mostly zeros (images, ReLU
//!   outputs), used by [`linear`] when they are;
//! - [`softmax`]: the token softmax's negative log-likelihood per row from
//!   logits over a vocabulary, forward and backward in one pass each;
//! - [`recurrent`]: a GRU or LSTM layer's pass over a sequence, the state
//!   product of every gate in one product per step, backward through time
//!   by hand;
//! - [`patches`]: patch extraction and its adjoint, which turn strided
//!   convolutions and their transposes into one matrix product per batch.
//!
//! They exist for the `flex` backend only. Callers ask [`fused_available`] and
//! otherwise use the plain burn composition of the same computation, so GPU
//! backends keep working unchanged; tests compare the two paths.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::{DType, Device, Tensor, TensorData};
use rayon::prelude::*;

pub mod likelihoods;
pub mod linear;
pub mod norm;
pub mod patches;
pub mod recurrent;
pub mod softmax;
pub mod sparse;

/// Elements per parallel task of the elementwise kernels: large enough that
/// scheduling is negligible, small enough to split a 128x784 batch in two.
const CHUNK: usize = 1 << 15;

/// True when tensors on `device` (with or without autodiff) run on the CPU
/// backend, where the fused kernels exist.
pub fn fused_available(device: &Device) -> bool {
    device.clone().without_autodiff() == Device::flex()
}

/// Adam's scalar settings for one step, precomputed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    /// lr / (1 - beta1^t).
    pub step_size: f32,
    /// Decay of the first moment.
    pub beta1: f32,
    /// Decay of the second moment.
    pub beta2: f32,
    /// 1 / sqrt(1 - beta2^t).
    pub inv_bias2_sqrt: f32,
    /// Added to the corrected root of the second moment.
    pub epsilon: f32,
    /// L2 penalty added to the gradient.
    pub weight_decay: f32,
    /// Factor on the gradient (the clipping scale).
    pub grad_scale: f32,
}

/// Fused optimizer kernels (no gradients flow through them).
#[backend_extension(Flex)]
pub trait OptimKernels: Backend {
    /// One Adam step: returns the new parameter, first and second moments.
    #[allow(clippy::too_many_arguments)]
    fn fused_adam(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        m: FloatTensor<Self>,
        v: FloatTensor<Self>,
        step_size: f32,
        beta1: f32,
        beta2: f32,
        inv_bias2_sqrt: f32,
        epsilon: f32,
        weight_decay: f32,
        grad_scale: f32,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>);

    /// The sum of squares of all values, as a `[1]` tensor.
    fn fused_sum_squares(tensor: FloatTensor<Self>) -> FloatTensor<Self>;
}

/// Fused loss kernels, differentiable.
#[backend_extension(Flex, Autodiff)]
pub trait LossKernels: Backend {
    /// Per-row Bernoulli negative log-likelihood from logits: `[batch, dim]` -> `[batch]`.
    fn fused_bernoulli_nll_rows(
        logits: FloatTensor<Self>,
        x: FloatTensor<Self>,
    ) -> FloatTensor<Self>;
}

/// One Adam step on flat tensors (CPU backend only; see [`fused_available`]).
///
/// # Shapes
/// - `param`, `grad`, `m`, `v`: `[n]`; returns the new `(param, m, v)`, each `[n]`
pub fn adam_update(
    param: Tensor<1>,
    grad: Tensor<1>,
    m: Tensor<1>,
    v: Tensor<1>,
    s: &AdamStep,
) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
    let (p, m, v) = Dispatch::fused_adam(
        param.into_dispatch(),
        grad.into_dispatch(),
        m.into_dispatch(),
        v.into_dispatch(),
        s.step_size,
        s.beta1,
        s.beta2,
        s.inv_bias2_sqrt,
        s.epsilon,
        s.weight_decay,
        s.grad_scale,
    );
    (
        Tensor::from_dispatch(p),
        Tensor::from_dispatch(m),
        Tensor::from_dispatch(v),
    )
}

/// The sum of squares of a tensor's values (CPU backend only).
///
/// # Shapes
/// - `tensor`: `[n]`; returns `[1]`
pub fn sum_squares(tensor: Tensor<1>) -> Tensor<1> {
    Tensor::from_dispatch(Dispatch::fused_sum_squares(tensor.into_dispatch()))
}

/// Per-row Bernoulli negative log-likelihood from logits, differentiable in
/// both arguments (CPU backend only). Same values as
/// [`crate::distributions::bernoulli_nll_from_logits`].
///
/// # Shapes
/// - `logits`, `x`: `[batch, dim]`; returns `[batch]`
pub fn bernoulli_nll_rows(logits: Tensor<2>, x: Tensor<2>) -> Tensor<1> {
    Tensor::from_dispatch(Dispatch::fused_bernoulli_nll_rows(
        logits.into_dispatch(),
        x.into_dispatch(),
    ))
}

/// Whether the fused kernels apply to this tensor: CPU backend and f32.
pub fn fused_applies<const D: usize>(tensor: &Tensor<D>) -> bool {
    tensor.dtype() == DType::F32 && fused_available(&tensor.device())
}

// ---------------------------------------------------------------------------
// The CPU implementations.
// ---------------------------------------------------------------------------

/// A uniquely owned, contiguous copy of `t` (no copy when it already is one).
fn owned(t: FlexTensor) -> FlexTensor {
    FlexTensor::from_data(t.into_data())
}

/// The values of `t` in row-major order, copied only when `t` is a strided view.
pub(crate) fn values(t: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(slice) => std::borrow::Cow::Borrowed(slice),
        None => std::borrow::Cow::Owned(
            t.to_contiguous()
                .into_data()
                .try_into_vec::<f32>()
                .unwrap_or_default(),
        ),
    }
}

/// The rows of a matrix, read in place when it is a block of columns of a
/// larger row-major matrix (a model input's values or mask, sliced off it),
/// else from [`values`]: the slice costs no copy.
pub(crate) struct Rows<'a> {
    values: std::borrow::Cow<'a, [f32]>,
    start: usize,
    stride: usize,
    width: usize,
}

impl<'a> Rows<'a> {
    /// The rows of the 2-D tensor `t`.
    pub(crate) fn of(t: &'a FlexTensor) -> Self {
        let layout = t.layout();
        if let (Some((rows, width, stride, 1)), DType::F32) = (layout.as_2d_strides(), t.dtype())
            && stride >= width as isize
        {
            let storage = t.storage::<f32>();
            let start = layout.start_offset();
            let stride = stride as usize;
            let end = rows
                .checked_sub(1)
                .map_or(start, |last| start + last * stride + width);
            if end <= storage.len() {
                return Rows {
                    values: std::borrow::Cow::Borrowed(storage),
                    start,
                    stride,
                    width,
                };
            }
        }
        let width = t.shape().last().copied().unwrap_or(1);
        Rows {
            values: values(t),
            start: 0,
            stride: width,
            width,
        }
    }

    /// Row `r`.
    pub(crate) fn row(&self, r: usize) -> &[f32] {
        let at = self.start + r * self.stride;
        &self.values[at..at + self.width]
    }
}

/// Rows per parallel task of a pass over a `rows x width` matrix: fixed
/// chunks of about [`CHUNK`] values when it has at least eight of them (a
/// convolution's rows are its output positions, tens of thousands per batch,
/// where one thread filling and summing them was a tenth of the conv VAE's
/// step), else one task: waking the second thread for a fully connected
/// layer's few rows costs more than it saves (measured: MLP epoch 2.1 s ->
/// 2.3 s; bench/NOTES.md, step 10).
fn rows_per_task(rows: usize, width: usize) -> usize {
    match rows * width >= 8 * CHUNK {
        true => (CHUNK / width.max(1)).max(1),
        false => rows.max(1),
    }
}

/// `rows` copies of `row`, one after the other (a bias per output row, or
/// zeros to add into), written by parallel tasks of [`rows_per_task`] rows
/// instead of one thread's fill.
fn repeated_rows(row: &[f32], rows: usize) -> Vec<f32> {
    gathered_rows(rows, row.len(), |_| row)
}

/// The rows `row(0), row(1), .., row(count - 1)`, each `width` values,
/// one after the other, copied by parallel tasks of [`rows_per_task`] rows.
///
/// # Panics
/// When a row is not `width` values long (a caller's bug).
pub(crate) fn gathered_rows<'a>(
    count: usize,
    width: usize,
    row: impl Fn(usize) -> &'a [f32] + Sync,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(count * width);
    if width == 0 {
        return out;
    }
    let per_task = rows_per_task(count, width);
    out.spare_capacity_mut()[..count * width]
        .par_chunks_mut(per_task * width)
        .enumerate()
        .for_each(|(task, chunk)| {
            for (k, dst) in chunk.chunks_mut(width).enumerate() {
                let src = row(task * per_task + k);
                assert_eq!(src.len(), width, "gathered_rows: a row of the wrong width");
                for (o, &v) in dst.iter_mut().zip(src) {
                    o.write(v);
                }
            }
        });
    // SAFETY: the chunks cover the first count * width values of the spare
    // capacity (`with_capacity` gives at least that many), and every one of
    // them was written: each chunk is whole rows, each filled from a row of
    // exactly `width` values (asserted).
    unsafe { out.set_len(count * width) };
    out
}

pub(crate) fn from_vec(values: Vec<f32>, shape: impl Into<burn::tensor::Shape>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

impl OptimKernels for Flex {
    fn fused_adam(
        param: FlexTensor,
        grad: FlexTensor,
        m: FlexTensor,
        v: FlexTensor,
        step_size: f32,
        beta1: f32,
        beta2: f32,
        inv_bias2_sqrt: f32,
        epsilon: f32,
        weight_decay: f32,
        grad_scale: f32,
    ) -> (FlexTensor, FlexTensor, FlexTensor) {
        let step = AdamStep {
            step_size,
            beta1,
            beta2,
            inv_bias2_sqrt,
            epsilon,
            weight_decay,
            grad_scale,
        };
        let (mut param, mut m, mut v) = (owned(param), owned(m), owned(v));
        let grad = values(&grad);
        let (Some(p), Some(ms), Some(vs)) = (
            param.try_storage_mut::<f32>(),
            m.try_storage_mut::<f32>(),
            v.try_storage_mut::<f32>(),
        ) else {
            unreachable!("owned() returns uniquely owned tensors");
        };
        p.par_chunks_mut(CHUNK)
            .zip(ms.par_chunks_mut(CHUNK))
            .zip(vs.par_chunks_mut(CHUNK))
            .zip(grad.par_chunks(CHUNK))
            .for_each(|(((p, m), v), g)| simd::adam(p, m, v, g, step));
        (param, m, v)
    }

    fn fused_sum_squares(tensor: FlexTensor) -> FlexTensor {
        let values = values(&tensor);
        // Eight independent f32 lanes per chunk vectorize (a single running sum
        // is one long dependency chain); chunks are added in f64.
        let total: f64 = values
            .par_chunks(CHUNK)
            .map(|chunk| {
                let mut lanes = [0.0f32; 8];
                let exact = chunk.chunks_exact(8);
                let tail: f32 = exact.remainder().iter().map(|x| x * x).sum();
                for eight in exact {
                    for (lane, x) in lanes.iter_mut().zip(eight) {
                        *lane += x * x;
                    }
                }
                lanes.iter().map(|&l| l as f64).sum::<f64>() + tail as f64
            })
            .sum();
        from_vec(vec![total as f32], [1])
    }
}

impl LossKernels for Flex {
    fn fused_bernoulli_nll_rows(logits: FlexTensor, x: FlexTensor) -> FlexTensor {
        bce_rows_forward(&logits, &x)
    }
}

/// `[batch, dim]` logits and targets to `[batch]` summed NLL.
fn bce_rows_forward(logits: &FlexTensor, x: &FlexTensor) -> FlexTensor {
    let shape = logits.shape();
    let (batch, dim) = (shape[0], shape[1]);
    let (l, x) = (values(logits), values(x));
    let mut out = vec![0.0f32; batch];
    out.par_iter_mut()
        .zip(l.par_chunks(dim.max(1)))
        .zip(x.par_chunks(dim.max(1)))
        .for_each(|((o, l), x)| *o = simd::bce_row_sum(l, x));
    from_vec(out, [batch])
}

/// Gradient of the per-row NLL: d/dl = g_row * (sigmoid(l) - x).
fn bce_rows_grad_logits(logits: &FlexTensor, x: &FlexTensor, grad: &FlexTensor) -> FlexTensor {
    let shape = logits.shape();
    let dim = shape[1].max(1);
    let (l, x, g) = (values(logits), values(x), values(grad));
    let mut out = vec![0.0f32; l.len()];
    out.par_chunks_mut(dim)
        .zip(l.par_chunks(dim))
        .zip(x.par_chunks(dim))
        .zip(g.par_iter())
        .for_each(|(((o, l), x), &g)| simd::bce_row_grad(o, l, x, g));
    from_vec(out, shape)
}

/// Gradient of the per-row NLL with respect to the targets: d/dx = -g_row * l.
fn bce_rows_grad_targets(logits: &FlexTensor, grad: &FlexTensor) -> FlexTensor {
    let shape = logits.shape();
    let dim = shape[1].max(1);
    let (l, g) = (values(logits), values(grad));
    let mut out = vec![0.0f32; l.len()];
    out.par_chunks_mut(dim)
        .zip(l.par_chunks(dim))
        .zip(g.par_iter())
        .for_each(|((o, l), &g)| {
            for (o, &l) in o.iter_mut().zip(l) {
                *o = -g * l;
            }
        });
    from_vec(out, shape)
}

impl<C: CheckpointStrategy> LossKernels for Autodiff<Flex, C> {
    fn fused_bernoulli_nll_rows(
        logits: FloatTensor<Self>,
        x: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct BceRowsBackward;

        impl Backward<Flex, 2> for BceRowsBackward {
            // The logits and targets, kept from the forward pass.
            type State = (FlexTensor, FlexTensor);

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _: &mut Checkpointer,
            ) {
                let [node_logits, node_x] = ops.parents;
                let grad = grads.consume::<Flex>(&ops.node);
                let (logits, x) = ops.state;
                if let Some(node) = node_x {
                    grads.register::<Flex>(node.id, bce_rows_grad_targets(&logits, &grad));
                }
                if let Some(node) = node_logits {
                    grads.register::<Flex>(node.id, bce_rows_grad_logits(&logits, &x, &grad));
                }
            }
        }

        match BceRowsBackward
            .prepare::<C>([logits.node(), x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (logits, x) = (logits.into_primitive(), x.into_primitive());
                let output = bce_rows_forward(&logits, &x);
                prep.finish((logits, x), output)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(bce_rows_forward(logits.primitive(), x.primitive()))
            }
        }
    }
}

mod simd;

/// Helpers for the tests that compare a fused path with plain burn.
#[cfg(test)]
pub(crate) mod testing {
    use burn::tensor::Tensor;

    /// The values of a float tensor, row-major.
    pub fn values_of<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_into_vec::<f32>().unwrap()
    }

    /// Asserts `|fused - plain| <= rel * max(|plain|, 1)` at every position.
    pub fn assert_close(fused: &[f32], plain: &[f32], rel: f32, what: &str) {
        assert_eq!(fused.len(), plain.len(), "{what}: lengths");
        for (i, (x, y)) in fused.iter().zip(plain).enumerate() {
            assert!(
                (x - y).abs() <= rel * y.abs().max(1.0),
                "{what}[{i}]: fused {x} vs plain {y}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{assert_close, values_of};
    use super::*;
    use crate::distributions::bernoulli_nll_from_logits;
    use burn::tensor::Distribution;

    /// A block of columns is read in place, a transposed matrix through a
    /// copy, and both give the same rows as the values themselves.
    #[test]
    fn rows_of_a_column_block_are_read_in_place() {
        let (rows, cols) = (3, 5);
        let all: Vec<f32> = (0..rows * cols).map(|v| v as f32).collect();
        let t = FlexTensor::from_data(TensorData::new(all.clone(), [rows, cols]));
        let block = t.narrow(1, 1, 3);
        let view = Rows::of(&block);
        assert!(matches!(view.values, std::borrow::Cow::Borrowed(_)));
        for r in 0..rows {
            assert_eq!(view.row(r), &all[r * cols + 1..r * cols + 4]);
        }
        let transposed = t.transpose(0, 1);
        let view = Rows::of(&transposed);
        assert!(matches!(view.values, std::borrow::Cow::Owned(_)));
        assert_eq!(view.row(1), &[1.0, 6.0, 11.0]);
    }

    #[test]
    fn the_cpu_backend_has_the_fused_kernels() {
        assert!(fused_available(&Device::flex()));
        assert!(fused_available(&Device::flex().autodiff()));
    }

    #[test]
    fn fused_bernoulli_loss_matches_the_plain_one_in_values_and_gradients() {
        let device = Device::flex().autodiff();
        crate::random::with_seeded_device(&device, 9, || {
            // 37 columns exercise the vector remainder; scale 30 reaches saturated logits.
            let logits = Tensor::<2>::random([5, 37], Distribution::Normal(0.0, 30.0), &device);
            let x = Tensor::<2>::random([5, 37], Distribution::Default, &device);
            let weights = Tensor::<1>::from_floats([1.0, -2.0, 0.5, 3.0, 0.25], &device);

            let run = |fused: bool| {
                let l = logits.clone().detach().require_grad();
                let t = x.clone().detach().require_grad();
                let rows = match fused {
                    true => bernoulli_nll_rows(l.clone(), t.clone()),
                    false => bernoulli_nll_from_logits(l.clone(), t.clone()),
                };
                let values = values_of(rows.clone());
                let grads = (rows * weights.clone()).sum().backward();
                (
                    values,
                    values_of(l.grad(&grads).unwrap()),
                    values_of(t.grad(&grads).unwrap()),
                )
            };
            let (fused, plain) = (run(true), run(false));
            assert_close(&fused.0, &plain.0, 1e-5, "loss");
            assert_close(&fused.1, &plain.1, 1e-5, "d/dlogits");
            assert_close(&fused.2, &plain.2, 1e-5, "d/dx");
        })
    }

    #[test]
    fn fused_loss_works_without_autodiff_and_on_strided_views() {
        let device = Device::flex();
        let logits = Tensor::<2>::random([40, 6], Distribution::Normal(0.0, 4.0), &device);
        let x = Tensor::<2>::random([40, 6], Distribution::Default, &device);
        // Transposed views are not contiguous: the kernel must copy them.
        let (lt, xt) = (logits.transpose(), x.transpose());
        let fused = bernoulli_nll_rows(lt.clone(), xt.clone());
        let plain = bernoulli_nll_from_logits(lt, xt);
        assert_close(&values_of(fused), &values_of(plain), 1e-5, "loss");
    }
}
