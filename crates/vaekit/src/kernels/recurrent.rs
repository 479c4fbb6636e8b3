//! A recurrent layer's whole pass over a sequence (GRU or LSTM) as one
//! operation, forward and backward through time by hand.
//!
//! Written because profiling the sentence VAE showed the need (docs/TEXT.md,
//! "Speed"): composed from burn's operations, each time step of a GRU is about
//! a dozen elementwise tensors of `batch x hidden` values (adds, sigmoids, a
//! tanh, the blend, the padding mask), each allocated and recorded in the
//! autodiff graph, and as many again backward, plus, per gate and step, the
//! backward pass of a slice of the projected inputs, which writes a zeroed
//! tensor the size of the whole sequence. At the sentence VAE's sizes (32
//! sentences, 256 units) every one of them is too small for the work to pay
//! its overhead. Here a step is one product of the state with the stacked
//! state weights of every gate (`gemm`, the crate burn-flex uses) and one pass
//! over the gates; the backward pass keeps the gates' activations, runs the
//! steps in reverse with one product per step for the state's gradient, and
//! forms the weights' gradient in one product over all steps at the end.
//! burn offers no fused recurrent operation; callers ask
//! [`super::fused_applies`] and otherwise compose the same equations from
//! burn's operations (`text::rnn`), and the tests compare the two.
//!
//! The equations are PyTorch's `nn.GRU` and `nn.LSTM` (see `text::rnn`); the
//! mask blends each step's new state with the old one, so that a padded step
//! (mask 0) carries the state unchanged.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::linear::{Matrix, Threads, column_sums, matmul_into};
#[cfg(target_arch = "x86_64")]
use super::simd::{avx2, avx512};
use super::simd::{multiversion, sigmoid, tanh};
use super::{from_vec, values};

/// The recurrent cell of a fused layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// Gates reset, update, new (state h).
    Gru,
    /// Gates input, forget, cell, output (state h and c).
    Lstm,
}

impl Cell {
    /// Gates, each `hidden` wide in the stacked projections.
    pub fn gates(self) -> usize {
        match self {
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }

    /// Values per unit and step kept for the backward pass: GRU r, u, n and
    /// the new gate's state product; LSTM i, f, g, o and tanh(c').
    fn kept(self) -> usize {
        match self {
            Cell::Gru => 4,
            Cell::Lstm => 5,
        }
    }
}

/// The fused layer, differentiable in all but the mask.
#[backend_extension(Flex, Autodiff)]
pub trait RecurrentKernels: Backend {
    /// The states after every step; see [`recurrent`].
    fn fused_recurrent(
        projected: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        cell: Cell,
    ) -> FloatTensor<Self>;
}

/// Runs a recurrent layer over a sequence from the state `h0` (an LSTM's
/// cell starting at 0) and returns h after every step (CPU backend only; see
/// [`super::fused_applies`]).
///
/// `projected` holds, time-major, every step's input projections of every
/// gate (`x W_i + b_i`, gates side by side in [`Cell`]'s order); `weight` and
/// `bias` are the state's, stacked the same way. Where `mask` is 0 the state
/// is carried over unchanged, so the last step's rows are each sequence's
/// state after its own last real step.
///
/// # Shapes
/// - `projected`: `[steps * batch, gates * hidden]`; `weight`: `[hidden,
///   gates * hidden]`; `bias`: `[gates * hidden]`; `h0`: `[batch, hidden]`;
///   `mask`: `[steps * batch]`; returns `[steps * batch, hidden]`
pub fn recurrent(
    projected: Tensor<2>,
    weight: Tensor<2>,
    bias: Tensor<1>,
    h0: Tensor<2>,
    mask: Tensor<1>,
    cell: Cell,
) -> Tensor<2> {
    Tensor::from_dispatch(Dispatch::fused_recurrent(
        projected.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        h0.into_dispatch(),
        mask.into_dispatch(),
        cell,
    ))
}

/// The sizes of one call.
#[derive(Debug, Clone, Copy)]
struct Dims {
    steps: usize,
    batch: usize,
    hidden: usize,
    cell: Cell,
}

impl Dims {
    fn of(projected: &FlexTensor, h0: &FlexTensor, cell: Cell) -> Dims {
        let (rows, [batch, hidden]) = (projected.shape()[0], [h0.shape()[0], h0.shape()[1]]);
        Dims {
            steps: rows.checked_div(batch).unwrap_or(0),
            batch,
            hidden,
            cell,
        }
    }

    /// Width of the stacked gates.
    fn width(&self) -> usize {
        self.cell.gates() * self.hidden
    }

    /// Values of one step's state.
    fn state(&self) -> usize {
        self.batch * self.hidden
    }
}

/// Row `i` of a row-major matrix `width` wide.
#[inline(always)]
fn row(v: &[f32], i: usize, width: usize) -> &[f32] {
    &v[i * width..][..width]
}

/// Row `i` of a row-major matrix `width` wide, to write.
#[inline(always)]
fn row_mut(v: &mut [f32], i: usize, width: usize) -> &mut [f32] {
    &mut v[i * width..][..width]
}

// One step's pass over the gates, per row of the batch. `gx` and `a` are the
// input's and the state's projections (`batch x gates*hidden`), `h` and `c`
// the previous state, `m` the mask; the new h (and c) and the kept values are
// written to `out`, `c_out` and `kept`.

#[inline(always)]
fn gru_step(
    gx: &[f32],
    a: &[f32],
    h: &[f32],
    m: &[f32],
    out: &mut [f32],
    kept: &mut [f32],
    hidden: usize,
) {
    let (w, k) = (3 * hidden, 4 * hidden);
    for (i, &m) in m.iter().enumerate() {
        let (gx, a, h) = (row(gx, i, w), row(a, i, w), row(h, i, hidden));
        let (out, kept) = (row_mut(out, i, hidden), row_mut(kept, i, k));
        for j in 0..hidden {
            let r = sigmoid(gx[j] + a[j]);
            let u = sigmoid(gx[hidden + j] + a[hidden + j]);
            let an = a[2 * hidden + j];
            let n = tanh(gx[2 * hidden + j] + r * an);
            let new = n + u * (h[j] - n);
            out[j] = h[j] + m * (new - h[j]);
            kept[j] = r;
            kept[hidden + j] = u;
            kept[2 * hidden + j] = n;
            kept[3 * hidden + j] = an;
        }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lstm_step(
    gx: &[f32],
    a: &[f32],
    h: &[f32],
    c: &[f32],
    m: &[f32],
    out: &mut [f32],
    c_out: &mut [f32],
    kept: &mut [f32],
    hidden: usize,
) {
    let (w, k) = (4 * hidden, 5 * hidden);
    for (r, &m) in m.iter().enumerate() {
        let (gx, a, h, c) = (
            row(gx, r, w),
            row(a, r, w),
            row(h, r, hidden),
            row(c, r, hidden),
        );
        let (out, c_out) = (row_mut(out, r, hidden), row_mut(c_out, r, hidden));
        let kept = row_mut(kept, r, k);
        for j in 0..hidden {
            let i = sigmoid(gx[j] + a[j]);
            let f = sigmoid(gx[hidden + j] + a[hidden + j]);
            let g = tanh(gx[2 * hidden + j] + a[2 * hidden + j]);
            let o = sigmoid(gx[3 * hidden + j] + a[3 * hidden + j]);
            let c_new = f * c[j] + i * g;
            let tc = tanh(c_new);
            out[j] = h[j] + m * (o * tc - h[j]);
            c_out[j] = c[j] + m * (c_new - c[j]);
            kept[j] = i;
            kept[hidden + j] = f;
            kept[2 * hidden + j] = g;
            kept[3 * hidden + j] = o;
            kept[4 * hidden + j] = tc;
        }
    }
}

// One step backward. `dh` (and `dc`) hold the gradient of the step's new
// state on entry and are left holding the part of the previous state's that
// does not pass through the state product; `dgx` receives the gradient of
// the input projections, `da` that of the state product.

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gru_step_back(
    kept: &[f32],
    h: &[f32],
    m: &[f32],
    dh: &mut [f32],
    dgx: &mut [f32],
    da: &mut [f32],
    hidden: usize,
) {
    let (w, k) = (3 * hidden, 4 * hidden);
    for (i, &m) in m.iter().enumerate() {
        let (kept, h, dh) = (row(kept, i, k), row(h, i, hidden), row_mut(dh, i, hidden));
        let (dgx, da) = (row_mut(dgx, i, w), row_mut(da, i, w));
        for j in 0..hidden {
            let (r, u, n, an) = (
                kept[j],
                kept[hidden + j],
                kept[2 * hidden + j],
                kept[3 * hidden + j],
            );
            let d = m * dh[j];
            let dpn = d * (1.0 - u) * (1.0 - n * n);
            let dpu = d * (h[j] - n) * u * (1.0 - u);
            let dpr = dpn * an * r * (1.0 - r);
            dgx[j] = dpr;
            dgx[hidden + j] = dpu;
            dgx[2 * hidden + j] = dpn;
            da[j] = dpr;
            da[hidden + j] = dpu;
            da[2 * hidden + j] = dpn * r;
            dh[j] = (1.0 - m) * dh[j] + d * u;
        }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn lstm_step_back(
    kept: &[f32],
    c: &[f32],
    m: &[f32],
    dh: &mut [f32],
    dc: &mut [f32],
    dgx: &mut [f32],
    hidden: usize,
) {
    let (w, k) = (4 * hidden, 5 * hidden);
    for (r, &m) in m.iter().enumerate() {
        let (kept, c, dgx) = (row(kept, r, k), row(c, r, hidden), row_mut(dgx, r, w));
        let (dh, dc) = (row_mut(dh, r, hidden), row_mut(dc, r, hidden));
        for j in 0..hidden {
            let (i, f, g, o, tc) = (
                kept[j],
                kept[hidden + j],
                kept[2 * hidden + j],
                kept[3 * hidden + j],
                kept[4 * hidden + j],
            );
            let d = m * dh[j];
            let dcn = m * dc[j] + d * o * (1.0 - tc * tc);
            dgx[j] = dcn * g * i * (1.0 - i);
            dgx[hidden + j] = dcn * c[j] * f * (1.0 - f);
            dgx[2 * hidden + j] = dcn * i * (1.0 - g * g);
            dgx[3 * hidden + j] = d * tc * o * (1.0 - o);
            dh[j] *= 1.0 - m;
            dc[j] = (1.0 - m) * dc[j] + dcn * f;
        }
    }
}

multiversion! {
    /// See [`gru_step`].
    pub fn gru_forward(gx: &[f32], a: &[f32], h: &[f32], m: &[f32], out: &mut [f32], kept: &mut [f32], hidden: usize) = gru_step;
}

multiversion! {
    /// See [`lstm_step`].
    pub fn lstm_forward(gx: &[f32], a: &[f32], h: &[f32], c: &[f32], m: &[f32], out: &mut [f32], c_out: &mut [f32], kept: &mut [f32], hidden: usize) = lstm_step;
}

multiversion! {
    /// See [`gru_step_back`].
    pub fn gru_backward(kept: &[f32], h: &[f32], m: &[f32], dh: &mut [f32], dgx: &mut [f32], da: &mut [f32], hidden: usize) = gru_step_back;
}

multiversion! {
    /// See [`lstm_step_back`].
    pub fn lstm_backward(kept: &[f32], c: &[f32], m: &[f32], dh: &mut [f32], dc: &mut [f32], dgx: &mut [f32], hidden: usize) = lstm_step_back;
}

/// What the forward pass leaves for the backward one: h after every step
/// (also the operation's output, `[steps * batch, hidden]`), the gates' kept
/// values and an LSTM's c after every step.
#[derive(Debug, Clone)]
struct Pass {
    hs: FlexTensor,
    kept: Vec<f32>,
    cs: Vec<f32>,
}

/// Rows of the batch per parallel task of a step: the batch shared between
/// the threads, at least 8 rows each. A step's product is too small for
/// `gemm` to split it (32 x 256 by 256 x 768 at the sentence VAE's sizes),
/// but the rows of a step are independent, so each task runs the product
/// and the gates of its own rows.
fn rows_per_task(batch: usize) -> usize {
    batch.div_ceil(rayon::current_num_threads().max(1)).max(8)
}

fn forward(
    projected: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    h0: &FlexTensor,
    mask: &FlexTensor,
    cell: Cell,
) -> Pass {
    let d = Dims::of(projected, h0, cell);
    let (gx, w, b, h0, mask) = (
        values(projected),
        values(weight),
        values(bias),
        values(h0),
        values(mask),
    );
    let (hidden, width, state) = (d.hidden.max(1), d.width().max(1), d.state());
    let kw = cell.kept() * hidden;
    let lstm = cell == Cell::Lstm;
    let mut hs = vec![0.0f32; d.steps * state];
    let mut cs = vec![0.0f32; if lstm { d.steps * state } else { 0 }];
    let mut kept = vec![0.0f32; d.steps * d.batch * kw];
    let zeros = vec![0.0f32; state];
    let mut a = vec![0.0f32; d.batch * width];
    let rows = rows_per_task(d.batch);
    for t in 0..d.steps {
        let (done, rest) = hs.split_at_mut(t * state);
        let h = if t == 0 {
            &h0[..]
        } else {
            &done[(t - 1) * state..]
        };
        let (c_done, c_rest) = cs.split_at_mut(if lstm { t * state } else { 0 });
        let c = match (lstm, t) {
            (true, 0) | (false, _) => &zeros[..],
            (true, _) => &c_done[(t - 1) * state..],
        };
        let gx = &gx[t * d.batch * width..][..d.batch * width];
        let m = &mask[t * d.batch..][..d.batch];
        let kept = &mut kept[t * d.batch * kw..][..d.batch * kw];
        // One task's rows `first..first + n`: the state product onto the
        // bias, then the gates.
        let task =
            |first: usize, out: &mut [f32], kept: &mut [f32], a: &mut [f32], c_out: &mut [f32]| {
                let n = out.len() / hidden;
                for row in a.chunks_exact_mut(width) {
                    row.copy_from_slice(&b[..width]);
                }
                let h = &h[first * hidden..][..n * hidden];
                matmul_into(
                    a,
                    true,
                    n,
                    width,
                    hidden,
                    Matrix::rows(h, hidden),
                    Matrix::rows(&w, width),
                    Threads::One,
                );
                let (gx, m) = (&gx[first * width..][..n * width], &m[first..][..n]);
                match cell {
                    Cell::Gru => gru_forward(gx, a, h, m, out, kept, hidden),
                    Cell::Lstm => {
                        let c = &c[first * hidden..][..n * hidden];
                        lstm_forward(gx, a, h, c, m, out, c_out, kept, hidden);
                    }
                }
            };
        let tasks = rest[..state]
            .par_chunks_mut(rows * hidden)
            .zip(kept.par_chunks_mut(rows * kw))
            .zip(a.par_chunks_mut(rows * width))
            .enumerate();
        match lstm {
            true => tasks
                .zip(c_rest[..state].par_chunks_mut(rows * hidden))
                .for_each(|((i, ((out, kept), a)), c_out)| task(i * rows, out, kept, a, c_out)),
            false => tasks.for_each(|(i, ((out, kept), a))| task(i * rows, out, kept, a, &mut [])),
        }
    }
    Pass {
        hs: from_vec(hs, [d.steps * d.batch, d.hidden]),
        kept,
        cs,
    }
}

/// The gradients of the inputs that are tracked.
struct Grads {
    projected: Vec<f32>,
    weight: Option<Vec<f32>>,
    bias: Option<Vec<f32>>,
    h0: Vec<f32>,
}

/// Backpropagation through time from the gradient of every step's h.
fn backward(saved: &Saved, grad: &FlexTensor, want_weight: bool, want_bias: bool) -> Grads {
    let d = saved.dims;
    let (hidden, width, state) = (d.hidden.max(1), d.width().max(1), d.state());
    let (w, h0, mask, g) = (
        values(&saved.weight),
        values(&saved.h0),
        values(&saved.mask),
        values(grad),
    );
    let Pass { hs, kept, cs } = &saved.pass;
    let hs = values(hs);
    let kw = d.cell.kept() * hidden;
    let lstm = d.cell == Cell::Lstm;
    let mut dh = vec![0.0f32; state];
    let mut dc = vec![0.0f32; if lstm { state } else { 0 }];
    let mut dgx = vec![0.0f32; d.steps * d.batch * width];
    // The state product's gradient: the GRU's differs from the input
    // projections' in the new gate (scaled by r); the LSTM's is the same.
    let mut da = vec![0.0f32; if lstm { 0 } else { dgx.len() }];
    let zeros = vec![0.0f32; state];
    let rows = rows_per_task(d.batch);
    for t in (0..d.steps).rev() {
        let previous = t.saturating_sub(1) * state..t * state;
        let h = if t == 0 {
            &h0[..]
        } else {
            &hs[previous.clone()]
        };
        let c = if t == 0 || !lstm {
            &zeros[..]
        } else {
            &cs[previous]
        };
        let (m, g) = (&mask[t * d.batch..][..d.batch], &g[t * state..][..state]);
        let kept = &kept[t * d.batch * kw..][..d.batch * kw];
        let step = t * d.batch * width..(t + 1) * d.batch * width;
        // One task's rows `first..first + n`: the gates backward, then the
        // state's gradient through the state product.
        let task =
            |first: usize, dh: &mut [f32], dgx: &mut [f32], da: &mut [f32], dc: &mut [f32]| {
                let n = dh.len() / hidden;
                for (dh, g) in dh.iter_mut().zip(&g[first * hidden..][..n * hidden]) {
                    *dh += g;
                }
                let (kept, m) = (&kept[first * kw..][..n * kw], &m[first..][..n]);
                let span = first * hidden..(first + n) * hidden;
                let product = match d.cell {
                    Cell::Gru => {
                        gru_backward(kept, &h[span], m, dh, dgx, da, hidden);
                        &*da
                    }
                    Cell::Lstm => {
                        lstm_backward(kept, &c[span], m, dh, dc, dgx, hidden);
                        &*dgx
                    }
                };
                matmul_into(
                    dh,
                    true,
                    n,
                    hidden,
                    width,
                    Matrix::rows(product, width),
                    Matrix::transposed(&w, width),
                    Threads::One,
                );
            };
        let tasks = dh
            .par_chunks_mut(rows * hidden)
            .zip(dgx[step.clone()].par_chunks_mut(rows * width))
            .enumerate();
        match lstm {
            true => tasks
                .zip(dc.par_chunks_mut(rows * hidden))
                .for_each(|((i, (dh, dgx)), dc)| task(i * rows, dh, dgx, &mut [], dc)),
            false => tasks
                .zip(da[step].par_chunks_mut(rows * width))
                .for_each(|((i, (dh, dgx)), da)| task(i * rows, dh, dgx, da, &mut [])),
        }
    }
    let da = if lstm { &dgx } else { &da };
    let weight = want_weight.then(|| {
        // The states each step started from: h0, then h after every step but the last.
        let mut before = Vec::with_capacity(d.steps * state);
        before.extend_from_slice(&h0);
        before.extend_from_slice(&hs[..d.steps.saturating_sub(1) * state]);
        let mut dw = vec![0.0f32; hidden * width];
        matmul_into(
            &mut dw,
            false,
            hidden,
            width,
            d.steps * d.batch,
            Matrix::transposed(&before, hidden),
            Matrix::rows(da, width),
            Threads::All,
        );
        dw
    });
    let bias = want_bias.then(|| column_sums(da, width));
    Grads {
        projected: dgx,
        weight,
        bias,
        h0: dh,
    }
}

impl RecurrentKernels for Flex {
    fn fused_recurrent(
        projected: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        h0: FlexTensor,
        mask: FlexTensor,
        cell: Cell,
    ) -> FlexTensor {
        forward(&projected, &weight, &bias, &h0, &mask, cell).hs
    }
}

/// What the backward pass keeps.
#[derive(Debug, Clone)]
struct Saved {
    dims: Dims,
    weight: FlexTensor,
    h0: FlexTensor,
    mask: FlexTensor,
    pass: Pass,
}

#[derive(Debug)]
struct RecurrentBackward;

impl Backward<Flex, 4> for RecurrentBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 4>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b, node_h0] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let saved = ops.state;
        let d = saved.dims;
        let g = backward(&saved, &grad, node_w.is_some(), node_b.is_some());
        if let Some(node) = node_x {
            grads.register::<Flex>(
                node.id,
                from_vec(g.projected, [d.steps * d.batch, d.width()]),
            );
        }
        if let (Some(node), Some(dw)) = (node_w, g.weight) {
            grads.register::<Flex>(node.id, from_vec(dw, [d.hidden, d.width()]));
        }
        if let (Some(node), Some(db)) = (node_b, g.bias) {
            grads.register::<Flex>(node.id, from_vec(db, [d.width()]));
        }
        if let Some(node) = node_h0 {
            grads.register::<Flex>(node.id, from_vec(g.h0, [d.batch, d.hidden]));
        }
    }
}

impl<C: CheckpointStrategy> RecurrentKernels for Autodiff<Flex, C> {
    fn fused_recurrent(
        projected: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        h0: FloatTensor<Self>,
        mask: FloatTensor<Self>,
        cell: Cell,
    ) -> FloatTensor<Self> {
        let mask = mask.into_primitive();
        match RecurrentBackward
            .prepare::<C>([projected.node(), weight.node(), bias.node(), h0.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, weight, h0) = (
                    projected.into_primitive(),
                    weight.into_primitive(),
                    h0.into_primitive(),
                );
                let dims = Dims::of(&x, &h0, cell);
                let pass = forward(&x, &weight, bias.primitive(), &h0, &mask, cell);
                let out = pass.hs.clone();
                prep.finish(
                    Saved {
                        dims,
                        weight,
                        h0,
                        mask,
                        pass,
                    },
                    out,
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::fused_recurrent(
                projected.into_primitive(),
                weight.into_primitive(),
                bias.into_primitive(),
                h0.into_primitive(),
                mask,
                cell,
            )),
        }
    }
}
