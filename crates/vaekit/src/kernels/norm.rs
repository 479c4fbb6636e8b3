//! Batch normalization by the batch's statistics on the CPU, with the
//! activation after it, forward and backward in one pass each.
//!
//! Written here because burn 0.22's `batch_norm_train` is, on burn-flex, its
//! backend's default composition: a transpose and a reshape of the input
//! (copies) for each of the two means, a subtraction, a product, the affine
//! step, and about twenty operations backward, plus four more per step for
//! the running statistics. Each is a pass and an allocation, and on the
//! hidden layers of a VAE (100 x 200 values) each costs far more in
//! overhead than in arithmetic: `bench/run`'s two-stochastic-layer epoch took
//! 3.0 times as long with `--batch-norm` as without (7.06 s against 2.36 s,
//! PyTorch 4.02 s; bench/NOTES.md, step 24). Here the forward pass is two
//! passes over the rows (the moments, then the output with its tanh or
//! ReLU), the backward pass two more, and the running statistics one op.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::Tensor;

use super::linear::{Pointwise, column_sums, through_activation};
use super::{from_vec, values};

/// The normalization, differentiable, and the running statistics' update.
#[backend_extension(Flex, Autodiff)]
pub trait NormKernels: Backend {
    /// `activation(gamma * (x - mean) / sqrt(var + epsilon) + beta)` with
    /// the mean and biased variance of each column over the batch.
    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        activation: Pointwise,
    ) -> FloatTensor<Self>;

    /// `(1 - momentum) * running + momentum * m`, m the batch's mean
    /// (`variance` false) or biased variance (true) of each column of `x`;
    /// no gradient flows through it.
    fn fused_running_moment(
        x: FloatTensor<Self>,
        running: FloatTensor<Self>,
        momentum: f64,
        variance: bool,
    ) -> FloatTensor<Self>;
}

/// Batch normalization of `x` by its own statistics, then `activation`
/// (CPU backend only; see [`super::fused_available`]). The same values as
/// burn's `batch_norm_train` followed by the activation, to rounding.
///
/// # Shapes
/// - `x`: `[batch, d]`, `gamma`, `beta`: `[d]`; returns `[batch, d]`
pub fn batch_norm(
    x: Tensor<2>,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    epsilon: f64,
    activation: Pointwise,
) -> Tensor<2> {
    Tensor::from_dispatch(Dispatch::fused_batch_norm(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        epsilon,
        activation,
    ))
}

/// A running statistic moved towards the batch's (see
/// [`NormKernels::fused_running_moment`]), as burn's `BatchNorm` moves it.
///
/// # Shapes
/// - `x`: `[batch, d]`, `running`: `[d]`; returns `[d]`
pub fn running_moment(
    x: Tensor<2>,
    running: Tensor<1>,
    momentum: f64,
    variance: bool,
) -> Tensor<1> {
    Tensor::from_dispatch(Dispatch::fused_running_moment(
        x.into_dispatch(),
        running.into_dispatch(),
        momentum,
        variance,
    ))
}

/// Each column's mean and biased variance over the rows, summed in f64 row
/// after row (the rows of a hidden layer's batch are few: one thread).
fn moments(x: &[f32], width: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = (x.len() / width.max(1)).max(1) as f64;
    let mut mean = vec![0.0f64; width];
    for row in x.chunks_exact(width) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows);
    let mut var = vec![0.0f64; width];
    for row in x.chunks_exact(width) {
        for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
            let d = f64::from(v) - m;
            *s += d * d;
        }
    }
    var.iter_mut().for_each(|s| *s /= rows);
    (mean, var)
}

fn width_of(x: &FlexTensor) -> usize {
    x.shape()[1]
}

/// The output, and the normalized input and 1 / sqrt(var + eps) per column
/// that the backward pass needs.
fn forward(
    x: &FlexTensor,
    gamma: &FlexTensor,
    beta: &FlexTensor,
    epsilon: f64,
    activation: Pointwise,
) -> (FlexTensor, Vec<f32>, Vec<f32>) {
    let (shape, width) = (x.shape(), width_of(x));
    let (x, gamma, beta) = (values(x), values(gamma), values(beta));
    let (mean, var) = moments(&x, width);
    let inv_std: Vec<f32> = var
        .iter()
        .map(|v| (1.0 / (v + epsilon).sqrt()) as f32)
        .collect();
    let mean: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let mut normalized = vec![0.0f32; x.len()];
    let mut out = vec![0.0f32; x.len()];
    for ((row, n_row), o_row) in x
        .chunks_exact(width)
        .zip(normalized.chunks_exact_mut(width))
        .zip(out.chunks_exact_mut(width))
    {
        for d in 0..width {
            let n = (row[d] - mean[d]) * inv_std[d];
            n_row[d] = n;
            o_row[d] = gamma[d] * n + beta[d];
        }
        match activation {
            Pointwise::Identity => {}
            Pointwise::Relu => o_row.iter_mut().for_each(|v| *v = v.max(0.0)),
            Pointwise::Tanh => super::simd::tanh_in_place(o_row),
        }
    }
    (from_vec(out, shape), normalized, inv_std)
}

fn running(x: &FlexTensor, running: &FlexTensor, momentum: f64, variance: bool) -> FlexTensor {
    let width = width_of(x);
    let (mean, var) = moments(&values(x), width);
    let batch = if variance { var } else { mean };
    let updated = values(running)
        .iter()
        .zip(&batch)
        .map(|(&r, &b)| ((1.0 - momentum) * f64::from(r) + momentum * b) as f32)
        .collect();
    from_vec(updated, [width])
}

impl NormKernels for Flex {
    fn fused_batch_norm(
        x: FlexTensor,
        gamma: FlexTensor,
        beta: FlexTensor,
        epsilon: f64,
        activation: Pointwise,
    ) -> FlexTensor {
        forward(&x, &gamma, &beta, epsilon, activation).0
    }

    fn fused_running_moment(
        x: FlexTensor,
        running_stat: FlexTensor,
        momentum: f64,
        variance: bool,
    ) -> FlexTensor {
        running(&x, &running_stat, momentum, variance)
    }
}

/// What the backward pass keeps.
#[derive(Debug, Clone)]
struct Saved {
    /// (x - mean) / sqrt(var + eps), row-major like x.
    normalized: Vec<f32>,
    inv_std: Vec<f32>,
    gamma: FlexTensor,
    /// The output, when an activation has to be undone.
    activated: Option<(FlexTensor, Pointwise)>,
}

#[derive(Debug)]
struct NormBackward;

impl Backward<Flex, 3> for NormBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Saved {
            normalized,
            inv_std,
            gamma,
            activated,
        } = ops.state;
        let shape = grad.shape();
        let width = shape[1];
        let grad = match &activated {
            None => grad,
            Some((y, activation)) => through_activation(grad, y, *activation),
        };
        let g = values(&grad);
        // d beta = sum_b g; d gamma = sum_b g * n.
        let d_beta = column_sums(&g, width);
        let gn: Vec<f32> = g.iter().zip(&normalized).map(|(g, n)| g * n).collect();
        let d_gamma = column_sums(&gn, width);
        if let Some(node) = node_x {
            // dx = gamma * inv_std / B * (B g - d_beta - n * d_gamma).
            let rows = (g.len() / width.max(1)) as f32;
            let gamma = values(&gamma);
            let scale: Vec<f32> = gamma
                .iter()
                .zip(&inv_std)
                .map(|(g, s)| g * s / rows)
                .collect();
            let mut dx = vec![0.0f32; g.len()];
            for ((dx_row, g_row), n_row) in dx
                .chunks_exact_mut(width)
                .zip(g.chunks_exact(width))
                .zip(normalized.chunks_exact(width))
            {
                for d in 0..width {
                    dx_row[d] = scale[d] * (rows * g_row[d] - d_beta[d] - n_row[d] * d_gamma[d]);
                }
            }
            grads.register::<Flex>(node.id, from_vec(dx, shape));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, from_vec(d_gamma, [width]));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, from_vec(d_beta, [width]));
        }
    }
}

impl<C: CheckpointStrategy> NormKernels for Autodiff<Flex, C> {
    fn fused_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        activation: Pointwise,
    ) -> FloatTensor<Self> {
        match NormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let gamma = gamma.into_primitive();
                let (output, normalized, inv_std) =
                    forward(x.primitive(), &gamma, beta.primitive(), epsilon, activation);
                let activated =
                    (activation != Pointwise::Identity).then(|| (output.clone(), activation));
                prep.finish(
                    Saved {
                        normalized,
                        inv_std,
                        gamma,
                        activated,
                    },
                    output,
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(
                forward(
                    x.primitive(),
                    gamma.primitive(),
                    beta.primitive(),
                    epsilon,
                    activation,
                )
                .0,
            ),
        }
    }

    fn fused_running_moment(
        x: FloatTensor<Self>,
        running_stat: FloatTensor<Self>,
        momentum: f64,
        variance: bool,
    ) -> FloatTensor<Self> {
        // A new leaf: the running statistics take no gradient.
        FloatTensor::<Self>::new(running(
            x.primitive(),
            running_stat.primitive(),
            momentum,
            variance,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, values_of};
    use super::*;
    use burn::tensor::{Device, Distribution, activation};

    /// burn's own batch norm and activation, the plain path.
    fn plain(x: Tensor<2>, gamma: Tensor<1>, beta: Tensor<1>, act: Pointwise) -> Tensor<2> {
        let out = burn::tensor::module::batch_norm_train(x, gamma, beta, 1e-5).output;
        match act {
            Pointwise::Identity => out,
            Pointwise::Relu => activation::relu(out),
            Pointwise::Tanh => activation::tanh(out),
        }
    }

    #[test]
    fn fused_batch_norm_matches_burn_in_values_and_gradients() {
        let device = Device::flex().autodiff();
        for act in [Pointwise::Identity, Pointwise::Relu, Pointwise::Tanh] {
            let x0 = Tensor::<2>::random([37, 11], Distribution::Normal(0.5, 2.0), &device);
            let gamma0 = Tensor::<1>::random([11], Distribution::Normal(1.0, 0.3), &device);
            let beta0 = Tensor::<1>::random([11], Distribution::Normal(0.0, 0.3), &device);
            // A weight on each output, so that the gradient is not the
            // same for every row (the plain sum's gradient through a
            // normalization is zero).
            let w = Tensor::<2>::random([37, 11], Distribution::Normal(0.0, 1.0), &device);
            let run = |fused: bool| {
                let (x, gamma, beta) = (
                    x0.clone().detach().require_grad(),
                    gamma0.clone().detach().require_grad(),
                    beta0.clone().detach().require_grad(),
                );
                let y = match fused {
                    true => batch_norm(x.clone(), gamma.clone(), beta.clone(), 1e-5, act),
                    false => plain(x.clone(), gamma.clone(), beta.clone(), act),
                };
                let grads = (y.clone() * w.clone()).sum().backward();
                let grad = |t: &Tensor<2>| values_of(t.grad(&grads).unwrap());
                (
                    values_of(y),
                    grad(&x),
                    values_of(gamma.grad(&grads).unwrap()),
                    values_of(beta.grad(&grads).unwrap()),
                )
            };
            let (fused, plain) = (run(true), run(false));
            assert_close(&fused.0, &plain.0, 1e-5, "output");
            assert_close(&fused.1, &plain.1, 1e-4, "d x");
            assert_close(&fused.2, &plain.2, 1e-4, "d gamma");
            assert_close(&fused.3, &plain.3, 1e-4, "d beta");
        }
    }

    #[test]
    fn running_moments_move_by_the_momentum() {
        let device = Device::flex();
        // Columns [1, 2, 3] and [0, 0, 6]: means 2 and 2, biased variances 2/3 and 8.
        let x = Tensor::<2>::from_floats([[1.0, 0.0], [2.0, 0.0], [3.0, 6.0]], &device);
        let running = Tensor::<1>::from_floats([10.0, 1.0], &device);
        let mean = values_of(running_moment(x.clone(), running.clone(), 0.1, false));
        let var = values_of(running_moment(x, running, 0.1, true));
        assert_close(&mean, &[9.2, 1.1], 1e-6, "mean");
        assert_close(
            &var,
            &[0.9 * 10.0 + 0.1 * 2.0 / 3.0, 0.9 + 0.8],
            1e-6,
            "variance",
        );
    }
}
