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
//! - [`linear`]: a fully connected layer with its bias and ReLU, forward and
//!   backward;
//! - [`sparse`]: products whose left operand is mostly zeros (images, ReLU
//!   outputs), used by [`linear`] when they are;
//! - [`softmax`]: the token softmax's negative log-likelihood per row from
//!   logits over a vocabulary, forward and backward in one pass each;
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

pub mod linear;
pub mod patches;
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

/// The elementwise maths of the Bernoulli loss, tanh and Adam, written
/// branch-free so the compiler vectorizes it, and compiled three times: for
/// the baseline x86-64, for AVX2+FMA and for AVX-512, chosen once at run time
/// (the AVX-512 build was added when this kind of machine turned out to have
/// it: bench/NOTES.md, step 10). `exp` and `log1p` are evaluated with
/// polynomials (Cephes' `expf`, and `log1p(e) = 2 atanh(e / (2 + e))`) accurate
/// to about 2e-7 relative, because the C library's scalar calls cannot be
/// vectorized.
mod simd {
    use super::AdamStep;

    /// Defines `pub fn $name` running the `#[inline(always)]` function `$body`
    /// compiled for the best instruction set the CPU has.
    macro_rules! multiversion {
        ($(#[$meta:meta])* pub fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? = $body:ident;) => {
            $(#[$meta])*
            pub fn $name($($arg: $ty),*) $(-> $ret)? {
                #[cfg(target_arch = "x86_64")]
                {
                    #[target_feature(enable = "avx512f,avx2,fma")]
                    fn v4($($arg: $ty),*) $(-> $ret)? {
                        $body($($arg),*)
                    }
                    #[target_feature(enable = "avx2,fma")]
                    fn v3($($arg: $ty),*) $(-> $ret)? {
                        $body($($arg),*)
                    }
                    if avx512() {
                        // SAFETY: the CPU has AVX-512F, AVX2 and FMA, checked just above.
                        return unsafe { v4($($arg),*) };
                    }
                    if avx2() {
                        // SAFETY: the CPU has AVX2 and FMA, checked just above.
                        return unsafe { v3($($arg),*) };
                    }
                }
                $body($($arg),*)
            }
        };
    }
    pub(super) use multiversion;

    /// The number of values that are not zero (NaN counts as nonzero), in
    /// sixteen lanes of counts.
    #[inline(always)]
    fn nonzero_count(values: &[f32]) -> usize {
        let mut lanes = [0u32; 16];
        let chunks = values.chunks_exact(16);
        let tail = chunks.remainder().iter().filter(|&&v| v != 0.0).count();
        for chunk in chunks {
            for (lane, &v) in lanes.iter_mut().zip(chunk) {
                *lane += (v != 0.0) as u32;
            }
        }
        lanes.iter().map(|&l| l as usize).sum::<usize>() + tail
    }

    multiversion! {
        /// See `sparse::count_nonzero` (the counts of one lane stay below
        /// 2^32 up to 2^36 values).
        pub fn count_nonzero(values: &[f32]) -> usize = nonzero_count;
    }

    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    /// 1.5 * 2^23: adding and subtracting it rounds to the nearest integer.
    const ROUND: f32 = 12_582_912.0;

    /// e^(-a) for a >= 0, held at e^-80 (about 1.8e-35) beyond: a normal
    /// number, never a subnormal one (see [`adam_all`] for why that matters),
    /// and far below anything it is added to.
    #[inline(always)]
    pub(super) fn exp_neg(a: f32) -> f32 {
        let t = (-a).max(-80.0);
        let n = (t * LOG2E + ROUND) - ROUND;
        let r = t - n * LN2_HI - n * LN2_LO;
        let r2 = r * r;
        let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2)
            * r
            + 1.666_666_5e-1)
            * r
            + 0.5;
        let y = p * r2 + r + 1.0;
        let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
        y * scale
    }

    /// log(1 + e) for e in [0, 1].
    #[inline(always)]
    fn log1p_unit(e: f32) -> f32 {
        let s = e / (2.0 + e);
        let s2 = s * s;
        let poly = 1.0
            + s2 * (1.0 / 3.0
                + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0)))));
        2.0 * s * poly
    }

    #[inline(always)]
    fn row_sum(l: &[f32], x: &[f32]) -> f32 {
        let mut acc = [0.0f32; 8];
        let n = l.len().min(x.len());
        let (lc, xc) = (l[..n].chunks_exact(8), x[..n].chunks_exact(8));
        let (lr, xr) = (lc.remainder(), xc.remainder());
        for (l8, x8) in lc.zip(xc) {
            for k in 0..8 {
                let (l, x) = (l8[k], x8[k]);
                acc[k] += l.max(0.0) - l * x + log1p_unit(exp_neg(l.abs()));
            }
        }
        let mut total: f32 = acc.iter().sum();
        for (&l, &x) in lr.iter().zip(xr) {
            total += l.max(0.0) - l * x + log1p_unit(exp_neg(l.abs()));
        }
        total
    }

    /// Values below this count as 0 where a subnormal number could follow
    /// (see [`adam_all`] for why that matters).
    const TINY: f32 = 1e-30;

    /// `x`, or 0 when its magnitude is below `floor`.
    #[inline(always)]
    fn above(x: f32, floor: f32) -> f32 {
        if x.abs() < floor { 0.0 } else { x }
    }

    /// The loss gradient of a row. A probability below [`TINY`] counts as 0, so that no subnormal number reaches the products of the
    /// backward pass (see [`adam_all`]): Adam keeps pushing the logits of
    /// pixels that are always 0 further down, and past -83 or so their
    /// gradients would be subnormal. The dropped gradient is below 1e-30.
    #[inline(always)]
    fn row_grad(out: &mut [f32], l: &[f32], x: &[f32], g: f32) {
        for ((o, &l), &x) in out.iter_mut().zip(l).zip(x) {
            let e = exp_neg(l.abs());
            let numerator = if l >= 0.0 { 1.0 } else { e };
            *o = g * (above(numerator / (1.0 + e), TINY) - x);
        }
    }

    /// Whether the CPU has AVX-512F besides AVX2 and FMA (asked once).
    #[cfg(target_arch = "x86_64")]
    pub(super) fn avx512() -> bool {
        static AVX512: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVX512.get_or_init(|| avx2() && std::arch::is_x86_feature_detected!("avx512f"))
    }

    /// Whether the CPU has AVX2 and FMA (asked once).
    #[cfg(target_arch = "x86_64")]
    pub(super) fn avx2() -> bool {
        static AVX2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVX2.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        })
    }

    /// tanh(v): Cephes' odd polynomial below |v| = 0.625, else
    /// sign(v) (1 - 2 / (1 + e^(2|v|))) through `exp_neg`; within about 2e-7
    /// of the C library's, which cannot be vectorized (glibc's calls expm1f).
    #[inline(always)]
    fn tanh(v: f32) -> f32 {
        let a = v.abs();
        let z = v * v;
        let poly = ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z
            + 1.333_144_2e-1)
            * z
            - 3.333_328e-1)
            * z
            * v
            + v;
        let e = exp_neg(2.0 * a);
        let large = ((1.0 - e) / (1.0 + e)).copysign(v);
        if a < 0.625 { poly } else { large }
    }

    #[inline(always)]
    fn tanh_all(values: &mut [f32]) {
        for v in values {
            *v = tanh(*v);
        }
    }

    /// Gradients below this add nothing to Adam's second moment (their
    /// square, times 1 - beta2, would be subnormal).
    const TINY_SQUARED_GRAD: f32 = 1e-15;

    /// One Adam step over a chunk of a parameter and its moments.
    ///
    /// No value on the way is allowed to be subnormal: a unit that stops
    /// receiving gradient (a dead ReLU) has its moments shrink geometrically,
    /// through the subnormal range for thousands of steps, and every multiply
    /// there takes a slow microcode path on x86. Measured (bench/NOTES.md
    /// step 20): this kernel grew to 39 % of a 500-500 ReLU model's training
    /// profile and its one-thread epochs from about 11 s to 16.4 s. So
    /// gradients and moments below [`TINY`] count as 0, and gradients below
    /// [`TINY_SQUARED_GRAD`] add nothing to the second moment. The step this drops is below 1e-20,
    /// and a second moment below 1e-30 is far under `epsilon` squared, so the
    /// parameters come out the same in f32.
    #[inline(always)]
    fn adam_all(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], s: AdamStep) {
        let n = p.len().min(m.len()).min(v.len()).min(g.len());
        let (p, m, v, g) = (&mut p[..n], &mut m[..n], &mut v[..n], &g[..n]);
        for i in 0..n {
            let g = above(
                above(g[i], TINY) * s.grad_scale + s.weight_decay * p[i],
                TINY,
            );
            let g2 = above(g, TINY_SQUARED_GRAD);
            m[i] = above(s.beta1 * m[i] + (1.0 - s.beta1) * g, TINY);
            v[i] = above(s.beta2 * v[i] + (1.0 - s.beta2) * g2 * g2, TINY);
            p[i] -= s.step_size * m[i] / (v[i].sqrt() * s.inv_bias2_sqrt + s.epsilon);
        }
    }

    multiversion! {
        /// Replaces every value by its tanh.
        pub fn tanh_in_place(values: &mut [f32]) = tanh_all;
    }

    multiversion! {
        /// Sum over a row of max(l, 0) - l x + log(1 + e^-|l|).
        pub fn bce_row_sum(l: &[f32], x: &[f32]) -> f32 = row_sum;
    }

    multiversion! {
        /// `out = g * (sigmoid(l) - x)` over a row.
        pub fn bce_row_grad(out: &mut [f32], l: &[f32], x: &[f32], g: f32) = row_grad;
    }

    multiversion! {
        /// One Adam step, in place, over a chunk of a parameter (`p`), its
        /// moments (`m`, `v`) and its gradient (`g`).
        pub fn adam(p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32], s: AdamStep) = adam_all;
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn adam_keeps_no_subnormal_moments_and_the_same_parameters() {
            let s = AdamStep {
                step_size: 1e-3 / (1.0 - 0.9f32.powi(500)),
                beta1: 0.9,
                beta2: 0.999,
                inv_bias2_sqrt: 1.0 / (1.0 - 0.999f32.powi(500)).sqrt(),
                epsilon: 1e-8,
                weight_decay: 0.0,
                grad_scale: 1.0,
            };
            let sub = f32::MIN_POSITIVE / 8.0; // subnormal
            // A dead unit (zero gradient, decaying moments), tiny gradients,
            // and ordinary values, over a vector width and a remainder.
            let mut g = vec![0.0, sub, 1e-20, 3e-3, -0.2, 1e-17];
            let mut m = vec![sub, 1e-31, sub, 1e-3, -2e-2, 1e-18];
            let mut v = vec![sub, 1e-33, 1e-36, 1e-6, 3e-2, 1e-35];
            for vec in [&mut g, &mut m, &mut v] {
                *vec = vec.iter().cycle().take(6 * 7).copied().collect();
            }
            let p0: Vec<f32> = (0..g.len()).map(|i| 0.05 - 0.003 * i as f32).collect();
            let mut p = p0.clone();
            let (m0, v0) = (m.clone(), v.clone());
            adam(&mut p, &mut m, &mut v, &g, s);
            for i in 0..p.len() {
                assert!(m[i] == 0.0 || m[i].is_normal(), "m[{i}] = {:e}", m[i]);
                assert!(v[i] == 0.0 || v[i].is_normal(), "v[{i}] = {:e}", v[i]);
                // The textbook step in f64, without any flushing.
                let (b1, b2) = (s.beta1 as f64, s.beta2 as f64);
                let (gi, pi) = (g[i] as f64, p0[i] as f64);
                let mi = b1 * m0[i] as f64 + (1.0 - b1) * gi;
                let vi = b2 * v0[i] as f64 + (1.0 - b2) * gi * gi;
                let want = pi
                    - s.step_size as f64 * mi
                        / (vi.sqrt() * s.inv_bias2_sqrt as f64 + s.epsilon as f64);
                let tolerance = 1e-6 * want.abs() + 1e-9;
                assert!(
                    (p[i] as f64 - want).abs() <= tolerance,
                    "p[{i}]: {} vs {want}",
                    p[i]
                );
                if g[i].abs() < 1e-16 && m0[i].abs() < 1e-16 {
                    assert_eq!(p[i], p0[i], "a vanishing step leaves p[{i}] as it was");
                }
            }
            assert!(m[0] == 0.0 && v[0] == 0.0, "a dead unit's moments go to 0");
        }

        #[test]
        fn exp_and_log1p_match_the_c_library() {
            let mut worst = 0.0f64;
            for i in 0..20_000 {
                let a = i as f32 * 0.005; // 0 .. 100
                let want = (-(a as f64)).exp();
                let got = exp_neg(a) as f64;
                if want > 1e-30 {
                    worst = worst.max((got - want).abs() / want);
                }
                let e = (i as f32 / 20_000.0) as f64;
                let want = e.ln_1p();
                let got = log1p_unit(e as f32) as f64;
                if want > 0.0 {
                    worst = worst.max((got - want).abs() / want);
                }
            }
            assert!(worst < 5e-7, "worst relative error {worst}");
            let mut worst = 0.0f64;
            let mut values: Vec<f32> = (0..40_000).map(|i| (i as f32 - 20_000.0) * 5e-4).collect();
            let inputs = values.clone();
            tanh_in_place(&mut values);
            for (&x, &got) in inputs.iter().zip(&values) {
                worst = worst.max((got as f64 - (x as f64).tanh()).abs());
            }
            assert!(worst < 3e-7, "worst absolute tanh error {worst}");
            assert_eq!(exp_neg(1000.0), exp_neg(80.0));
            assert!(exp_neg(1000.0) < 2e-35 && exp_neg(1000.0).is_normal());
        }
    }
}

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

    #[test]
    fn the_cpu_backend_has_the_fused_kernels() {
        assert!(fused_available(&Device::flex()));
        assert!(fused_available(&Device::flex().autodiff()));
    }

    #[test]
    fn fused_bernoulli_loss_matches_the_plain_one_in_values_and_gradients() {
        let device = Device::flex().autodiff();
        device.seed(9);
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
