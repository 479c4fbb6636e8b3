//! Fully connected layers on the CPU: product, bias and activation (ReLU or
//! tanh) in one kernel, with a hand-written backward pass.
//!
//! Written here because the MLP profile (bench/NOTES.md) showed, next to the
//! matrix products themselves, a copy of every product's output (burn-flex
//! allocates it as bytes and realigns it), a separate pass that adds the bias,
//! another for the ReLU, and as many again backward. Here the bias is written
//! into the output first and the product accumulates onto it (one `gemm` call
//! from the `gemm` crate, which burn-flex itself uses), the activation is
//! applied in place (tanh vectorized: the C library's scalar tanhf was a third
//! of a tanh model's evaluation profile), and the backward pass scales the
//! gradient once and feeds the products for the input and the weight and the
//! column sums for the bias. When the layer's input is mostly zeros (image
//! pixels, the output of a ReLU layer), the products that multiply by it (the
//! output, and the weight's gradient) skip the zeros ([`super::sparse`]).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::{from_vec, owned, repeated_rows, rows_per_task, sparse, values};

/// Products below this many multiply-adds run on one thread (as in burn-flex).
const PARALLEL_MIN: usize = 192 * 192 * 192;

/// The activation applied to the layer's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pointwise {
    /// None.
    Identity,
    /// max(v, 0).
    Relu,
    /// tanh(v).
    Tanh,
}

/// The fused layer, differentiable.
#[backend_extension(Flex, Autodiff)]
pub trait LinearKernels: Backend {
    /// `activation(x @ weight + bias)`.
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        activation: Pointwise,
    ) -> FloatTensor<Self>;
}

/// `x @ weight + bias`, followed by `activation` (CPU backend only; see
/// [`super::fused_available`]). Same values as burn's `Linear` and `relu` or
/// `tanh` (tanh to within 3e-7).
///
/// # Shapes
/// - `x`: `[batch, d_in]`, `weight`: `[d_in, d_out]` (burn's layout), `bias`: `[d_out]`
/// - returns `[batch, d_out]`
pub fn linear(
    x: Tensor<2>,
    weight: Tensor<2>,
    bias: Tensor<1>,
    activation: Pointwise,
) -> Tensor<2> {
    Tensor::from_dispatch(Dispatch::fused_linear(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        activation,
    ))
}

/// A row-major matrix given by its values and the strides of its rows and
/// columns (a transposed view swaps them).
pub(super) struct Matrix<'a> {
    values: &'a [f32],
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Matrix<'a> {
    pub(super) fn rows(values: &'a [f32], cols: usize) -> Self {
        Matrix {
            values,
            row_stride: cols,
            col_stride: 1,
        }
    }

    pub(super) fn transposed(values: &'a [f32], cols: usize) -> Self {
        Matrix {
            values,
            row_stride: 1,
            col_stride: cols,
        }
    }

    /// Checks that an `rows x cols` view stays inside the values.
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0
            || cols == 0
            || (rows - 1) * self.row_stride + (cols - 1) * self.col_stride < self.values.len()
    }
}

/// The threads a product may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Threads {
    /// Split between rayon's threads when large enough ([`PARALLEL_MIN`]).
    All,
    /// Half of them (the calling thread alone on two): for one of two
    /// products that run side by side. `gemm`'s split waits for each of
    /// its threads at a spinning barrier, so a product split over every
    /// thread beside another one spins until the other's threads are free
    /// (a fifth of a table model's training profile on two threads was
    /// that spinning).
    Half,
    /// The calling thread only: for a product inside a task that rayon
    /// already runs beside others.
    One,
}

/// `dst (m x n, row-major) = [dst +] lhs (m x k) @ rhs (k x n)`.
#[allow(clippy::too_many_arguments)]
pub(super) fn matmul_into(
    dst: &mut [f32],
    accumulate: bool,
    m: usize,
    n: usize,
    k: usize,
    lhs: Matrix,
    rhs: Matrix,
    threads: Threads,
) {
    assert!(
        dst.len() == m * n && lhs.fits(m, k) && rhs.fits(k, n),
        "matmul_into: shapes do not match the buffers"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    let large = m.saturating_mul(n).saturating_mul(k) >= PARALLEL_MIN;
    let parallelism = match (threads, rayon::current_num_threads()) {
        (Threads::All, _) if large => gemm::Parallelism::Rayon(0),
        (Threads::Half, n) if large && n >= 4 => gemm::Parallelism::Rayon(n / 2),
        _ => gemm::Parallelism::None,
    };
    // SAFETY: the assertion above keeps every element the strides reach inside
    // its slice; `dst` is exclusively borrowed and does not alias the inputs.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.values.as_ptr(),
            lhs.col_stride as isize,
            lhs.row_stride as isize,
            rhs.values.as_ptr(),
            rhs.col_stride as isize,
            rhs.row_stride as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

fn dims(x: &FlexTensor, weight: &FlexTensor) -> (usize, usize, usize) {
    let (xs, ws) = (x.shape(), weight.shape());
    (xs[0], ws[0], ws[1])
}

/// The layer's output, and whether its input was sparse enough for the sparse
/// product (the weight gradient's product reuses that answer).
fn forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    activation: Pointwise,
) -> (FlexTensor, bool) {
    let (batch, d_in, d_out) = dims(x, weight);
    let (x, w, b) = (values(x), values(weight), values(bias));
    let mut out = repeated_rows(&b, batch);
    let sparse_input = sparse::is_sparse(&x, d_out);
    match sparse_input {
        true => sparse::matmul_acc(&mut out, &x, d_in, &w, d_out),
        false => matmul_into(
            &mut out,
            true,
            batch,
            d_out,
            d_in,
            Matrix::rows(&x, d_in),
            Matrix::rows(&w, d_out),
            Threads::All,
        ),
    }
    match activation {
        Pointwise::Identity => {}
        Pointwise::Relu => out
            .par_chunks_mut(super::CHUNK)
            .for_each(|chunk| chunk.iter_mut().for_each(|v| *v = v.max(0.0))),
        Pointwise::Tanh => out
            .par_chunks_mut(super::CHUNK)
            .for_each(super::simd::tanh_in_place),
    }
    (from_vec(out, [batch, d_out]), sparse_input)
}

/// The sums of the columns of a row-major matrix `width` wide: partial sums
/// over fixed row chunks in parallel, added in chunk order, so that the
/// result does not depend on how the threads shared the work.
pub(super) fn column_sums(values: &[f32], width: usize) -> Vec<f32> {
    let mut sums = vec![0.0f32; width];
    if width == 0 {
        return sums;
    }
    let add_rows = |sums: &mut [f32], chunk: &[f32]| {
        for row in chunk.chunks_exact(width) {
            for (s, v) in sums.iter_mut().zip(row) {
                *s += v;
            }
        }
    };
    let partials: Vec<Vec<f32>> = values
        .par_chunks(rows_per_task(values.len() / width, width) * width)
        .map(|chunk| {
            let mut partial = vec![0.0f32; width];
            add_rows(&mut partial, chunk);
            partial
        })
        .collect();
    for partial in &partials {
        add_rows(&mut sums, partial);
    }
    sums
}

impl LinearKernels for Flex {
    fn fused_linear(
        x: FlexTensor,
        weight: FlexTensor,
        bias: FlexTensor,
        activation: Pointwise,
    ) -> FlexTensor {
        forward(&x, &weight, &bias, activation).0
    }
}

/// What the backward pass keeps: the input, the weight, and the output with
/// its activation when one has to be undone.
#[derive(Debug, Clone)]
struct Saved {
    x: FlexTensor,
    weight: FlexTensor,
    activated: Option<(FlexTensor, Pointwise)>,
    /// Whether the forward pass found `x` sparse (see [`sparse::is_sparse`]).
    sparse_input: bool,
}

#[derive(Debug)]
struct LinearBackward;

impl Backward<Flex, 3> for LinearBackward {
    type State = Saved;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Saved {
            x,
            weight,
            activated,
            sparse_input,
        } = ops.state;
        let (batch, d_in, d_out) = dims(&x, &weight);
        // The gradient before the activation, from its output y: zero where a
        // ReLU was inactive, times 1 - y^2 for tanh. One pass, in place in the
        // incoming gradient's buffer when nothing else holds it.
        let grad = match &activated {
            None => grad,
            Some((y, activation)) => through_activation(grad, y, *activation),
        };
        let g = values(&grad);
        // The three gradients are independent: the weight's and the bias's
        // beside the input's, each product on half the threads when both
        // are wanted (they have the same multiply-adds, batch * d_in *
        // d_out), so that neither waits in `gemm`'s split for the other's.
        let threads = match node_x.is_some() && node_w.is_some() {
            true => Threads::Half,
            false => Threads::All,
        };
        let weight_and_bias = || {
            let db = node_b.is_some().then(|| column_sums(&g, d_out));
            let dw = node_w.is_some().then(|| {
                let x = values(&x);
                let mut dw = vec![0.0f32; d_in * d_out];
                match sparse_input {
                    true => sparse::matmul_transposed_acc(&mut dw, &x, d_in, &g, d_out),
                    false => matmul_into(
                        &mut dw,
                        false,
                        d_in,
                        d_out,
                        batch,
                        Matrix::transposed(&x, d_in),
                        Matrix::rows(&g, d_out),
                        threads,
                    ),
                }
                dw
            });
            (db, dw)
        };
        let input = || {
            node_x.is_some().then(|| {
                let w = values(&weight);
                let mut dx = vec![0.0f32; batch * d_in];
                matmul_into(
                    &mut dx,
                    false,
                    batch,
                    d_in,
                    d_out,
                    Matrix::rows(&g, d_out),
                    Matrix::transposed(&w, d_out),
                    threads,
                );
                dx
            })
        };
        let ((db, dw), dx) = rayon::join(weight_and_bias, input);
        if let (Some(node), Some(db)) = (node_b, db) {
            grads.register::<Flex>(node.id, from_vec(db, [d_out]));
        }
        if let (Some(node), Some(dw)) = (node_w, dw) {
            grads.register::<Flex>(node.id, from_vec(dw, [d_in, d_out]));
        }
        if let (Some(node), Some(dx)) = (node_x, dx) {
            grads.register::<Flex>(node.id, from_vec(dx, [batch, d_in]));
        }
    }
}

/// `grad * activation'(x)`, computed from the activation's output `y`.
pub(super) fn through_activation(
    grad: FlexTensor,
    y: &FlexTensor,
    activation: Pointwise,
) -> FlexTensor {
    let derivative = |y: f32| match activation {
        Pointwise::Relu => (y > 0.0) as u8 as f32,
        Pointwise::Tanh => 1.0 - y * y,
        Pointwise::Identity => 1.0,
    };
    let mut grad = owned(grad);
    let y = values(y);
    let Some(g) = grad.try_storage_mut::<f32>() else {
        unreachable!("owned() returns uniquely owned tensors");
    };
    g.par_chunks_mut(super::CHUNK)
        .zip(y.par_chunks(super::CHUNK))
        .for_each(|(g, y)| {
            for (g, &y) in g.iter_mut().zip(y) {
                *g *= derivative(y);
            }
        });
    grad
}

impl<C: CheckpointStrategy> LinearKernels for Autodiff<Flex, C> {
    fn fused_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        activation: Pointwise,
    ) -> FloatTensor<Self> {
        match LinearBackward
            .prepare::<C>([x.node(), weight.node(), bias.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, weight) = (x.into_primitive(), weight.into_primitive());
                let (output, sparse_input) = forward(&x, &weight, bias.primitive(), activation);
                let activated =
                    (activation != Pointwise::Identity).then(|| (output.clone(), activation));
                prep.finish(
                    Saved {
                        x,
                        weight,
                        activated,
                        sparse_input,
                    },
                    output,
                )
            }
            OpsKind::UnTracked(prep) => prep.finish(
                forward(
                    x.primitive(),
                    weight.primitive(),
                    bias.primitive(),
                    activation,
                )
                .0,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, values_of};
    use super::*;
    use burn::tensor::{Device, Distribution, activation};

    #[test]
    fn fused_linear_matches_burn_in_values_and_gradients() {
        let device = Device::flex().autodiff();
        crate::random::with_seeded_device(&device, 21, || {
            // Large enough for the threaded product, and a small one.
            // Dense inputs, and inputs as sparse as an image's pixels (about 16 %
            // nonzero), which take the sparse products in the large case.
            for (batch, d_in, d_out, sparse_input) in [
                (130, 300, 250, false),
                (130, 300, 250, true),
                (3, 5, 7, false),
                (3, 5, 7, true),
            ] {
                let x = Tensor::<2>::random([batch, d_in], Distribution::Normal(0.0, 1.0), &device);
                let x = match sparse_input {
                    true => activation::relu(x - 1.0),
                    false => x,
                };
                let takes_sparse_path = sparse::is_sparse(&values_of(x.clone()), d_out);
                assert_eq!(takes_sparse_path, sparse_input && batch > 3);
                let w = Tensor::<2>::random([d_in, d_out], Distribution::Normal(0.0, 0.1), &device);
                let b = Tensor::<1>::random([d_out], Distribution::Normal(0.0, 1.0), &device);
                let probe =
                    Tensor::<2>::random([batch, d_out], Distribution::Normal(0.0, 1.0), &device);
                for pointwise in [Pointwise::Identity, Pointwise::Relu, Pointwise::Tanh] {
                    let run = |fused: bool| {
                        let (x, w, b) = (
                            x.clone().require_grad(),
                            w.clone().require_grad(),
                            b.clone().require_grad(),
                        );
                        let y = match fused {
                            true => linear(x.clone(), w.clone(), b.clone(), pointwise),
                            false => {
                                let y = x.clone().matmul(w.clone()) + b.clone().unsqueeze::<2>();
                                match pointwise {
                                    Pointwise::Identity => y,
                                    Pointwise::Relu => activation::relu(y),
                                    Pointwise::Tanh => activation::tanh(y),
                                }
                            }
                        };
                        let grads = (y.clone() * probe.clone()).sum().backward();
                        [
                            values_of(y),
                            values_of(x.grad(&grads).unwrap()),
                            values_of(w.grad(&grads).unwrap()),
                            values_of(b.grad(&grads).unwrap()),
                        ]
                    };
                    let (fused, plain) = (run(true), run(false));
                    for (k, what) in ["y", "dx", "dw", "db"].iter().enumerate() {
                        assert_close(
                            &fused[k],
                            &plain[k],
                            1e-4,
                            &format!(
                                "{what} ({batch}x{d_in}x{d_out}, {pointwise:?}, sparse {sparse_input})"
                            ),
                        );
                    }
                }
            }
        })
    }

    #[test]
    fn bias_passes_match_serial_ones_and_repeat_exactly() {
        // 7,000 x 40 is a convolution's size, split over threads; 3 x 5 is not.
        for (rows, width) in [(7000, 40), (3, 5)] {
            let bias: Vec<f32> = (0..width).map(|j| j as f32 * 0.5 - 3.0).collect();
            let filled = repeated_rows(&bias, rows);
            assert_eq!(filled.len(), rows * width);
            assert!(filled.chunks_exact(width).all(|row| row == bias.as_slice()));
            let values: Vec<f32> = (0..rows * width)
                .map(|i| ((i * 7919) % 1000) as f32 / 100.0)
                .collect();
            let sums = column_sums(&values, width);
            let exact: Vec<f32> = (0..width)
                .map(|j| (0..rows).map(|i| values[i * width + j] as f64).sum::<f64>() as f32)
                .collect();
            assert_close(&sums, &exact, 1e-5, &format!("column sums {rows}x{width}"));
            assert_eq!(
                sums,
                column_sums(&values, width),
                "the same sums every time"
            );
        }
        // Rows gathered in any order, over several parallel tasks: the same
        // as copying them one after the other.
        let (rows, width) = (9000, 33);
        let table: Vec<f32> = (0..rows * width).map(|i| i as f32).collect();
        let order: Vec<usize> = (0..rows).map(|k| (k * 7919) % rows).collect();
        let want: Vec<f32> = order
            .iter()
            .flat_map(|&i| table[i * width..(i + 1) * width].iter().copied())
            .collect();
        let got = super::super::gathered_rows(rows, width, |k| {
            &table[order[k] * width..(order[k] + 1) * width]
        });
        assert_eq!(got, want);
        assert!(repeated_rows(&[], 4).is_empty());
        assert!(column_sums(&[], 0).is_empty());
    }

    #[test]
    fn constant_inputs_get_no_gradient_and_plain_tensors_work() {
        // The data batch is a constant: only the weight and bias are tracked.
        let device = Device::flex().autodiff();
        let x = Tensor::<2>::ones([4, 3], &device);
        let w = Tensor::<2>::ones([3, 2], &device).require_grad();
        let b = Tensor::<1>::from_floats([-10.0, 1.0], &device).require_grad();
        let y = linear(x, w.clone(), b.clone(), Pointwise::Relu);
        assert_eq!(
            values_of(y.clone()),
            [0.0, 4.0, 0.0, 4.0, 0.0, 4.0, 0.0, 4.0]
        );
        let grads = y.sum().backward();
        assert_eq!(
            values_of(w.grad(&grads).unwrap()),
            [0.0, 4.0, 0.0, 4.0, 0.0, 4.0]
        );
        assert_eq!(values_of(b.grad(&grads).unwrap()), [0.0, 4.0]);

        let device = Device::flex();
        let x = Tensor::<2>::from_floats([[1.0, 2.0]], &device);
        let w = Tensor::<2>::from_floats([[1.0], [1.0]], &device);
        let b = Tensor::<1>::from_floats([0.5], &device);
        assert_eq!(values_of(linear(x, w, b, Pointwise::Identity)), [3.5]);
    }
}
