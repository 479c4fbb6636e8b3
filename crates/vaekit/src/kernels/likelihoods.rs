//! The masked negative log-likelihood of rows of mixed blocks (a typed
//! table's columns), forward and backward in one pass each.
//!
//! Written here because of the table model's training profile on two
//! threads (UCI Adult, 15 columns in 26 blocks of four likelihoods): the
//! plain composition slices every block out of the decoder's outputs, runs
//! five to ten elementwise tensor operations on it (each a pass that
//! allocates, most of them on one thread for so few values) and joins the
//! blocks again, forward and as many backward. That was about a quarter of
//! the training step on one thread, and with the products split between the
//! threads the second thread sat idle through it. burn has no fused version
//! of a loss over blocks, so this kernel computes every block's terms of a
//! row in one visit, the rows split between rayon's threads.
//!
//! Bernoulli, Gaussian, Poisson and categorical blocks are computed here;
//! the negative binomial's gradient in its dispersion needs the digamma
//! function, so a model with such a block keeps the plain composition.

use std::ops::Range;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::{Rows, from_vec, values};

/// ln(2 pi), as in [`crate::distributions`].
const LOG_2PI: f64 = 1.837_877_066_409_345_5;

/// Rows per parallel task: a task is a few thousand values.
const ROWS_PER_TASK: usize = 64;

/// A block's likelihood, as this kernel computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Logits of independent Bernoulli values.
    Bernoulli,
    /// Means of independent Gaussian values, with the log-variance given.
    Gaussian,
    /// Log-rates of independent Poisson counts.
    Poisson,
    /// Logits of one category, the values one-hot.
    Categorical,
}

/// Columns of a row and their likelihood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub columns: Range<usize>,
    pub kind: BlockKind,
}

/// The blocks of a row, shared by the forward and backward passes.
pub type Blocks = Arc<[Block]>;

/// The fused loss, differentiable in the decoder's outputs and the
/// log-variance.
#[backend_extension(Flex, Autodiff)]
pub trait BlockKernels: Backend {
    /// `sum_c observed[n, c] * nll_c(raw[n], x[n])` per row: `[rows, dim]`
    /// raw outputs, targets and mask, `[1, dim]` or `[1, 1]` log-variance
    /// of the Gaussian values -> `[rows]`.
    fn fused_masked_nll_rows(
        raw: FloatTensor<Self>,
        x: FloatTensor<Self>,
        logvar: FloatTensor<Self>,
        observed: FloatTensor<Self>,
        blocks: Blocks,
    ) -> FloatTensor<Self>;
}

/// -log p(x|z) per row over the values `observed` weighs (1 observed, 0
/// missing), each block by its likelihood (CPU backend only; see
/// [`super::fused_applies`]). Differentiable in `raw` and `logvar`; the
/// targets and the mask take no gradient. The same values as the plain
/// composition of [`crate::distributions`]' per-value terms times the mask,
/// summed over each row.
///
/// # Shapes
/// - `raw`, `x`, `observed`: `[rows, dim]`; `logvar`: `[1, dim]` or `[1, 1]`;
///   returns `[rows]`
pub fn masked_nll_rows(
    raw: Tensor<2>,
    x: Tensor<2>,
    logvar: Tensor<2>,
    observed: Tensor<2>,
    blocks: Blocks,
) -> Tensor<1> {
    Tensor::from_dispatch(Dispatch::fused_masked_nll_rows(
        raw.into_dispatch(),
        x.into_dispatch(),
        logvar.into_dispatch(),
        observed.into_dispatch(),
        blocks,
    ))
}

/// log x! for x >= 0 by the same Stirling series as
/// [`crate::distributions::log_factorial`], in f64.
fn log_factorial(x: f64) -> f64 {
    let y = x + 1.0;
    let w = y + 3.0;
    let inv = 1.0 / w;
    let inv2 = inv * inv;
    let series = inv * (inv2 * (inv2 / 1260.0 - 1.0 / 360.0) + 1.0 / 12.0);
    (w - 0.5) * w.ln() - w + series + 0.5 * LOG_2PI - (y * (y + 1.0) * (y + 2.0)).ln()
}

/// The Gaussian values' log-variances and their precisions exp(-logvar),
/// the latter computed once per call rather than once per value of every row.
struct Variances {
    logvar: Vec<f32>,
    precision: Vec<f32>,
}

impl Variances {
    fn new(logvar: &[f32]) -> Variances {
        Variances {
            logvar: logvar.to_vec(),
            precision: logvar.iter().map(|&lv| (-lv).exp()).collect(),
        }
    }

    /// The slot of column `c`: one shared log-variance, or one per column.
    fn slot(&self, c: usize) -> usize {
        match self.logvar.len() {
            1 => 0,
            _ => c,
        }
    }
}

/// The categorical blocks' exponentials of one row, from one vectorized
/// exp over the whole row: the blocks are a few logits each (2 to 42 on UCI
/// Adult), too short to vectorize one by one, and the C library's scalar
/// `expf` here was a tenth of that table's training step.
struct RowExp {
    /// e^(-a) of the row's arguments, where the categorical blocks' columns are.
    e: Vec<f32>,
    /// Each block's log-sum-exp (categorical blocks only).
    lse: Vec<f32>,
}

impl RowExp {
    fn new() -> RowExp {
        RowExp {
            e: Vec::new(),
            lse: Vec::new(),
        }
    }

    /// Each categorical block's log-sum-exp of the logits `raw`, shifted by
    /// the block's largest logit; `e` is left holding e^(l - largest).
    fn log_sum_exps(&mut self, blocks: &[Block], raw: &[f32]) {
        self.e.clear();
        self.e.resize(raw.len(), 0.0);
        self.lse.clear();
        self.lse.resize(blocks.len(), 0.0);
        let categorical = || {
            blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| b.kind == BlockKind::Categorical)
        };
        for (i, b) in categorical() {
            let l = &raw[b.columns.clone()];
            // NaN wins (the step is then skipped as not finite).
            let high = l
                .iter()
                .fold(f32::NEG_INFINITY, |h, &v| match v > h || v.is_nan() {
                    true => v,
                    false => h,
                });
            self.lse[i] = high;
            for (e, &v) in self.e[b.columns.clone()].iter_mut().zip(l) {
                *e = high - v;
            }
        }
        super::simd::exp_neg_in_place(&mut self.e);
        for (i, b) in categorical() {
            if self.lse[i].is_finite() {
                self.lse[i] += self.e[b.columns.clone()].iter().sum::<f32>().ln();
            }
        }
    }

    /// After [`RowExp::log_sum_exps`]: `e` holds each categorical block's
    /// softmax, e^(l - lse).
    fn softmaxes(&mut self, blocks: &[Block], raw: &[f32]) {
        for (b, &lse) in blocks.iter().zip(&self.lse) {
            if b.kind == BlockKind::Categorical {
                for (e, &v) in self.e[b.columns.clone()]
                    .iter_mut()
                    .zip(&raw[b.columns.clone()])
                {
                    *e = lse - v;
                }
            }
        }
        super::simd::exp_neg_in_place(&mut self.e);
    }
}

/// One row's masked negative log-likelihood, accumulated in f64.
fn row_nll(
    blocks: &[Block],
    raw: &[f32],
    x: &[f32],
    m: &[f32],
    var: &Variances,
    ex: &mut RowExp,
) -> f32 {
    ex.log_sum_exps(blocks, raw);
    let total: f64 = blocks
        .iter()
        .zip(&ex.lse)
        .map(|(b, &lse)| block_nll(b, raw, x, m, var, lse))
        .sum();
    total as f32
}

/// One block's share of a row's masked negative log-likelihood (`lse`: a
/// categorical block's log-sum-exp, from [`RowExp`]).
fn block_nll(b: &Block, raw: &[f32], x: &[f32], m: &[f32], var: &Variances, lse: f32) -> f64 {
    let cols = b.columns.clone();
    let (l, x, m) = (&raw[cols.clone()], &x[cols.clone()], &m[cols.clone()]);
    let mut total = 0.0f64;
    match b.kind {
        BlockKind::Bernoulli => {
            for ((&l, &x), &m) in l.iter().zip(x).zip(m) {
                let v = l.max(0.0) - l * x + (-l.abs()).exp().ln_1p();
                total += f64::from(m * v);
            }
        }
        BlockKind::Gaussian => {
            for (k, ((&mean, &x), &m)) in l.iter().zip(x).zip(m).enumerate() {
                let slot = var.slot(cols.start + k);
                let d = x - mean;
                let v = 0.5 * (d * d * var.precision[slot] + var.logvar[slot] + LOG_2PI as f32);
                total += f64::from(m * v);
            }
        }
        BlockKind::Poisson => {
            for ((&l, &x), &m) in l.iter().zip(x).zip(m) {
                let v = f64::from(l.exp() - x * l) + log_factorial(f64::from(x));
                total += f64::from(m) * v;
            }
        }
        BlockKind::Categorical => {
            for ((&l, &x), &m) in l.iter().zip(x).zip(m) {
                if x != 0.0 {
                    total += f64::from(m * x * (lse - l));
                }
            }
        }
    }
    total
}

/// Each block's -log p(x|z) over the values `observed` weighs (every value
/// when it is None), per row, without gradients: the reconstruction report
/// by block that every epoch's validation pass makes. One visit per row
/// instead of the plain composition's passes per block (which made the
/// validation of UCI Adult's 3,256 rows cost as much as a twelfth of a
/// training epoch). The same terms as [`masked_nll_rows`], block by block.
///
/// # Shapes
/// - `raw`, `x`, `observed`: `[rows, dim]`; `logvar`: `[1, dim]` or `[1, 1]`;
///   returns `[rows, blocks.len()]`
pub fn masked_nll_by_block(
    raw: Tensor<2>,
    x: Tensor<2>,
    logvar: Tensor<2>,
    observed: Option<Tensor<2>>,
    blocks: &[Block],
) -> Tensor<2> {
    let [rows, dim] = raw.dims();
    let device = raw.device();
    let floats = |t: Tensor<2>| {
        t.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap_or_default()
    };
    let (raw, x) = (floats(raw), floats(x));
    let var = Variances::new(&floats(logvar));
    let m = observed.map(floats);
    let ones = vec![1.0f32; dim];
    let width = blocks.len().max(1);
    let mut out = vec![0.0f32; rows * blocks.len()];
    out.par_chunks_mut(ROWS_PER_TASK * width)
        .enumerate()
        .for_each(|(task, out)| {
            let mut ex = RowExp::new();
            for (k, o) in out.chunks_exact_mut(width).enumerate() {
                let row = (task * ROWS_PER_TASK + k) * dim..(task * ROWS_PER_TASK + k + 1) * dim;
                let m = m.as_ref().map_or(&ones[..], |m| &m[row.clone()]);
                let (raw, x) = (&raw[row.clone()], &x[row]);
                ex.log_sum_exps(blocks, raw);
                for ((o, b), &lse) in o.iter_mut().zip(blocks).zip(&ex.lse) {
                    *o = block_nll(b, raw, x, m, &var, lse) as f32;
                }
            }
        });
    Tensor::from_data(
        burn::tensor::TensorData::new(out, [rows, blocks.len()]),
        &device,
    )
}

/// One row's gradient in `raw` (written to `d_raw`), times `g`, and its
/// share of the log-variance's gradient (added to `d_logvar`).
#[allow(clippy::too_many_arguments)]
fn row_grad(
    blocks: &[Block],
    raw: &[f32],
    x: &[f32],
    m: &[f32],
    var: &Variances,
    g: f32,
    d_raw: &mut [f32],
    d_logvar: &mut [f32],
    ex: &mut RowExp,
) {
    ex.log_sum_exps(blocks, raw);
    ex.softmaxes(blocks, raw);
    for b in blocks {
        let cols = b.columns.clone();
        let (l, x, m) = (&raw[cols.clone()], &x[cols.clone()], &m[cols.clone()]);
        let out = &mut d_raw[cols.clone()];
        match b.kind {
            BlockKind::Bernoulli => {
                for (((o, &l), &x), &m) in out.iter_mut().zip(l).zip(x).zip(m) {
                    let p = 1.0 / (1.0 + (-l).exp());
                    *o = g * m * (p - x);
                }
            }
            BlockKind::Gaussian => {
                for (k, (((o, &mean), &x), &m)) in out.iter_mut().zip(l).zip(x).zip(m).enumerate() {
                    let slot = var.slot(cols.start + k);
                    let inv_var = var.precision[slot];
                    let d = x - mean;
                    *o = -g * m * d * inv_var;
                    d_logvar[slot] += g * m * 0.5 * (1.0 - d * d * inv_var);
                }
            }
            BlockKind::Poisson => {
                for (((o, &l), &x), &m) in out.iter_mut().zip(l).zip(x).zip(m) {
                    *o = g * m * (l.exp() - x);
                }
            }
            BlockKind::Categorical => {
                // loss = sum_c m_c x_c (lse - l_c): d/dl_j = (sum_c m_c x_c) p_j - m_j x_j.
                let weight: f32 = x.iter().zip(m).map(|(&x, &m)| x * m).sum();
                let p = &ex.e[cols.clone()];
                for (((o, &p), &x), &m) in out.iter_mut().zip(p).zip(x).zip(m) {
                    *o = g * (weight * p - m * x);
                }
            }
        }
    }
}

fn dims(raw: &FlexTensor) -> (usize, usize) {
    let shape = raw.shape();
    (shape[0], shape[1])
}

fn forward(
    raw: &FlexTensor,
    x: &FlexTensor,
    logvar: &FlexTensor,
    observed: &FlexTensor,
    blocks: &[Block],
) -> FlexTensor {
    let (rows, _) = dims(raw);
    let (raw, x, m) = (Rows::of(raw), Rows::of(x), Rows::of(observed));
    let var = Variances::new(&values(logvar));
    let mut out = vec![0.0f32; rows];
    out.par_chunks_mut(ROWS_PER_TASK)
        .enumerate()
        .for_each(|(task, out)| {
            let first = task * ROWS_PER_TASK;
            let mut ex = RowExp::new();
            for (k, o) in out.iter_mut().enumerate() {
                let r = first + k;
                *o = row_nll(blocks, raw.row(r), x.row(r), m.row(r), &var, &mut ex);
            }
        });
    from_vec(out, [rows])
}

/// The gradients in `raw` and in `logvar` (the latter summed over the rows
/// in task order, so that it does not depend on how the threads shared them).
fn backward(
    raw: &FlexTensor,
    x: &FlexTensor,
    logvar: &FlexTensor,
    observed: &FlexTensor,
    blocks: &[Block],
    grad: &FlexTensor,
) -> (FlexTensor, FlexTensor) {
    let (_, dim) = dims(raw);
    let shape = raw.shape();
    let lv_shape = logvar.shape();
    let (raw, x, lv, m, g) = (
        Rows::of(raw),
        Rows::of(x),
        values(logvar),
        Rows::of(observed),
        values(grad),
    );
    let dim = dim.max(1);
    let var = Variances::new(&lv);
    let mut d_raw = vec![0.0f32; shape[0] * shape[1]];
    let partials: Vec<Vec<f32>> = d_raw
        .par_chunks_mut(ROWS_PER_TASK * dim)
        .enumerate()
        .map(|(task, out)| {
            let mut d_lv = vec![0.0f32; lv.len()];
            let mut ex = RowExp::new();
            let first = task * ROWS_PER_TASK;
            for (k, out) in out.chunks_exact_mut(dim).enumerate() {
                let r = first + k;
                let (raw, x, m) = (raw.row(r), x.row(r), m.row(r));
                row_grad(blocks, raw, x, m, &var, g[r], out, &mut d_lv, &mut ex);
            }
            d_lv
        })
        .collect();
    let mut d_lv = vec![0.0f32; lv.len()];
    for partial in &partials {
        for (s, p) in d_lv.iter_mut().zip(partial) {
            *s += p;
        }
    }
    (from_vec(d_raw, shape), from_vec(d_lv, lv_shape))
}

impl BlockKernels for Flex {
    fn fused_masked_nll_rows(
        raw: FlexTensor,
        x: FlexTensor,
        logvar: FlexTensor,
        observed: FlexTensor,
        blocks: Blocks,
    ) -> FlexTensor {
        forward(&raw, &x, &logvar, &observed, &blocks)
    }
}

/// What the backward pass keeps: the inputs and the blocks.
#[derive(Debug, Clone)]
struct Saved {
    raw: FlexTensor,
    x: FlexTensor,
    logvar: FlexTensor,
    observed: FlexTensor,
    blocks: Blocks,
}

#[derive(Debug)]
struct MaskedNllBackward;

impl Backward<Flex, 2> for MaskedNllBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_raw, node_logvar] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let s = ops.state;
        let (d_raw, d_logvar) = backward(&s.raw, &s.x, &s.logvar, &s.observed, &s.blocks, &grad);
        if let Some(node) = node_raw {
            grads.register::<Flex>(node.id, d_raw);
        }
        if let Some(node) = node_logvar {
            grads.register::<Flex>(node.id, d_logvar);
        }
    }
}

impl<C: CheckpointStrategy> BlockKernels for Autodiff<Flex, C> {
    fn fused_masked_nll_rows(
        raw: FloatTensor<Self>,
        x: FloatTensor<Self>,
        logvar: FloatTensor<Self>,
        observed: FloatTensor<Self>,
        blocks: Blocks,
    ) -> FloatTensor<Self> {
        match MaskedNllBackward
            .prepare::<C>([raw.node(), logvar.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let saved = Saved {
                    raw: raw.into_primitive(),
                    x: x.into_primitive(),
                    logvar: logvar.into_primitive(),
                    observed: observed.into_primitive(),
                    blocks,
                };
                let output = forward(
                    &saved.raw,
                    &saved.x,
                    &saved.logvar,
                    &saved.observed,
                    &saved.blocks,
                );
                prep.finish(saved, output)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward(
                raw.primitive(),
                x.primitive(),
                logvar.primitive(),
                observed.primitive(),
                &blocks,
            )),
        }
    }
}
