//! Patch extraction (im2col) and its adjoint (col2im) for strided convolutions.
//!
//! Written here because profiling the conv VAE (bench/NOTES.md) showed burn-flex's
//! own convolution spending about 60 % of the step outside the matrix products:
//! it unfolds one image at a time through closures and transposes the results.
//! With these two operations a convolution is one large matrix product over the
//! whole batch, and a transposed convolution is the same product read the other
//! way round:
//!
//! - convolution: `unfold(x) @ W^T`, rows are output positions;
//! - transposed convolution: `fold(x @ W)`, rows are input positions.
//!
//! `unfold` and `fold` are adjoint linear maps, so each is the other's gradient,
//! and burn's autodiff does the products. Images are channels-last (`[batch,
//! height, width, channels]`) so every patch entry is a contiguous copy of the
//! channels; a patch row lists its taps as `(ky, kx, channel)`.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;
use rayon::prelude::*;

use super::{from_vec, repeated_rows, values};

/// Output height (or width) of a convolution over `size`, as burn and PyTorch
/// size it (one position when the kernel is larger than the padded input).
pub fn conv_output_size(size: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    (size + 2 * padding).saturating_sub(kernel) / stride + 1
}

/// Where the taps of a square, strided, zero-padded kernel fall.
///
/// The "large" grid is the convolution's input (the transposed convolution's
/// output); the "small" grid has one row of patches per position. Position
/// `(i, j)` of the small grid with tap `(ky, kx)` reads (or writes) position
/// `(i * stride + ky - padding, j * stride + kx - padding)` of the large grid;
/// taps outside it are the zero padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Channels of the large grid.
    pub channels: usize,
    /// Height and width of the large grid.
    pub large: [usize; 2],
    /// Height and width of the small grid.
    pub small: [usize; 2],
    /// Side of the square kernel.
    pub kernel: usize,
    /// Step between neighbouring patches.
    pub stride: usize,
    /// Zero rows and columns around the large grid.
    pub padding: usize,
}

impl PatchGeometry {
    /// The small grid of a convolution over `large`, as burn and PyTorch size it.
    pub fn conv(
        batch: usize,
        channels: usize,
        large: [usize; 2],
        kernel: usize,
        stride: usize,
        padding: usize,
    ) -> Self {
        let down = |s: usize| conv_output_size(s, kernel, stride, padding);
        PatchGeometry {
            batch,
            channels,
            large,
            small: [down(large[0]), down(large[1])],
            kernel,
            stride,
            padding,
        }
    }

    /// Length of one patch row: kernel x kernel x channels.
    pub fn patch_len(&self) -> usize {
        self.kernel * self.kernel * self.channels
    }

    /// Rows of the patch matrix: one per image and small-grid position.
    pub fn rows(&self) -> usize {
        self.batch * self.small[0] * self.small[1]
    }

    fn large_len(&self) -> usize {
        self.large[0] * self.large[1] * self.channels
    }

    fn as_array(&self) -> [usize; 9] {
        [
            self.batch,
            self.channels,
            self.large[0],
            self.large[1],
            self.small[0],
            self.small[1],
            self.kernel,
            self.stride,
            self.padding,
        ]
    }

    fn from_array(a: [usize; 9]) -> Self {
        PatchGeometry {
            batch: a[0],
            channels: a[1],
            large: [a[2], a[3]],
            small: [a[4], a[5]],
            kernel: a[6],
            stride: a[7],
            padding: a[8],
        }
    }

    /// Calls `f(patch_offset, large_offset, len)` for every run of taps of
    /// small-grid position `(i, j)` that lands inside the large grid: the taps
    /// of one kernel row are consecutive in both the patch and the image, so
    /// each row is one run of `len` floats (offsets within one patch row and
    /// one image). Copying a run at a time instead of a tap at a time made
    /// the conv VAE's copies (a library `memcpy` call per tap) 4x fewer.
    #[inline]
    fn for_each_run(&self, i: usize, j: usize, mut f: impl FnMut(usize, usize, usize)) {
        let c = self.channels;
        // The taps kx with 0 <= j * stride + kx - padding < large width.
        let left = j * self.stride;
        let kx0 = self.padding.saturating_sub(left);
        let kx1 = (self.large[1] + self.padding)
            .saturating_sub(left)
            .min(self.kernel);
        if kx0 >= kx1 {
            return;
        }
        let x0 = left + kx0 - self.padding;
        for ky in 0..self.kernel {
            let Some(y) = (i * self.stride + ky).checked_sub(self.padding) else {
                continue;
            };
            if y >= self.large[0] {
                continue;
            }
            f(
                (ky * self.kernel + kx0) * c,
                (y * self.large[1] + x0) * c,
                (kx1 - kx0) * c,
            );
        }
    }
}

/// The patch operations, differentiable.
#[backend_extension(Flex, Autodiff)]
pub trait PatchKernels: Backend {
    /// `[batch, large_h, large_w, channels]` -> `[rows, patch_len]`.
    fn fused_unfold(large: FloatTensor<Self>, geometry: [usize; 9]) -> FloatTensor<Self>;

    /// `[rows, patch_len]` -> `[batch, large_h, large_w, channels]`, summing
    /// the taps that land on the same position.
    fn fused_fold(patches: FloatTensor<Self>, geometry: [usize; 9]) -> FloatTensor<Self>;
}

/// The patches of a batch of channels-last images (CPU backend only; see
/// [`super::fused_available`]).
///
/// # Shapes
/// - `large`: `[batch, large_h, large_w, channels]`
/// - returns `[batch * small_h * small_w, kernel * kernel * channels]`
pub fn unfold(large: Tensor<4>, geometry: &PatchGeometry) -> Tensor<2> {
    Tensor::from_dispatch(Dispatch::fused_unfold(
        large.into_dispatch(),
        geometry.as_array(),
    ))
}

/// Sums patches back onto the large grid: the adjoint of [`unfold`] (CPU
/// backend only).
///
/// # Shapes
/// - `patches`: `[batch * small_h * small_w, kernel * kernel * channels]`
/// - returns `[batch, large_h, large_w, channels]`
pub fn fold(patches: Tensor<2>, geometry: &PatchGeometry) -> Tensor<4> {
    Tensor::from_dispatch(Dispatch::fused_fold(
        patches.into_dispatch(),
        geometry.as_array(),
    ))
}

fn unfold_values(large: &FlexTensor, g: &PatchGeometry) -> FlexTensor {
    let src = values(large);
    let patch_len = g.patch_len();
    let per_image = g.small[0] * g.small[1] * patch_len;
    let mut out = repeated_rows(&vec![0.0f32; patch_len], g.rows());
    if per_image > 0 && g.large_len() > 0 {
        out.par_chunks_mut(per_image)
            .zip(src.par_chunks(g.large_len()))
            .for_each(|(rows, image)| {
                for (pos, row) in rows.chunks_exact_mut(patch_len).enumerate() {
                    let (i, j) = (pos / g.small[1], pos % g.small[1]);
                    g.for_each_run(i, j, |p, l, len| {
                        row[p..p + len].copy_from_slice(&image[l..l + len]);
                    });
                }
            });
    }
    from_vec(out, [g.rows(), patch_len])
}

fn fold_values(patches: &FlexTensor, g: &PatchGeometry) -> FlexTensor {
    let src = values(patches);
    let patch_len = g.patch_len();
    let per_image = g.small[0] * g.small[1] * patch_len;
    let mut out = repeated_rows(&vec![0.0f32; g.large_len()], g.batch);
    if per_image > 0 && g.large_len() > 0 {
        out.par_chunks_mut(g.large_len())
            .zip(src.par_chunks(per_image))
            .for_each(|(image, rows)| {
                for (pos, row) in rows.chunks_exact(patch_len).enumerate() {
                    let (i, j) = (pos / g.small[1], pos % g.small[1]);
                    g.for_each_run(i, j, |p, l, len| {
                        for (o, v) in image[l..l + len].iter_mut().zip(&row[p..p + len]) {
                            *o += v;
                        }
                    });
                }
            });
    }
    from_vec(out, [g.batch, g.large[0], g.large[1], g.channels])
}

impl PatchKernels for Flex {
    fn fused_unfold(large: FlexTensor, geometry: [usize; 9]) -> FlexTensor {
        apply(&large, &PatchGeometry::from_array(geometry), true)
    }

    fn fused_fold(patches: FlexTensor, geometry: [usize; 9]) -> FlexTensor {
        apply(&patches, &PatchGeometry::from_array(geometry), false)
    }
}

/// `unfold` (when `unfold` is true) or `fold` of `t`.
fn apply(t: &FlexTensor, g: &PatchGeometry, unfold: bool) -> FlexTensor {
    match unfold {
        true => unfold_values(t, g),
        false => fold_values(t, g),
    }
}

/// The backward pass of `unfold` (a fold of the gradient) or of `fold` (an
/// unfold of it).
#[derive(Debug)]
struct AdjointBackward {
    geometry: PatchGeometry,
    unfold_forward: bool,
}

impl Backward<Flex, 1> for AdjointBackward {
    type State = ();

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(node) = parent {
            let back = apply(&grad, &self.geometry, !self.unfold_forward);
            grads.register::<Flex>(node.id, back);
        }
    }
}

/// `unfold` or `fold` on autodiff tensors, the other as its backward pass.
fn tracked<C: CheckpointStrategy>(
    input: FloatTensor<Autodiff<Flex, C>>,
    geometry: [usize; 9],
    unfold_forward: bool,
) -> FloatTensor<Autodiff<Flex, C>> {
    let geometry = PatchGeometry::from_array(geometry);
    let output = apply(input.primitive(), &geometry, unfold_forward);
    AdjointBackward {
        geometry,
        unfold_forward,
    }
    .prepare::<C>([input.node()])
    .compute_bound()
    .stateless(output)
}

impl<C: CheckpointStrategy> PatchKernels for Autodiff<Flex, C> {
    fn fused_unfold(large: FloatTensor<Self>, geometry: [usize; 9]) -> FloatTensor<Self> {
        tracked::<C>(large, geometry, true)
    }

    fn fused_fold(patches: FloatTensor<Self>, geometry: [usize; 9]) -> FloatTensor<Self> {
        tracked::<C>(patches, geometry, false)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{assert_close, values_of};
    use super::*;
    use burn::tensor::{Device, Distribution, module, ops};

    #[test]
    fn unfold_of_a_small_image_by_hand() {
        // One 3x3 single-channel image, kernel 2, stride 1, padding 0: four
        // patches, each the 2x2 window read row by row.
        let device = Device::flex();
        let image = Tensor::<1>::from_floats([1., 2., 3., 4., 5., 6., 7., 8., 9.], &device)
            .reshape([1, 3, 3, 1]);
        let g = PatchGeometry::conv(1, 1, [3, 3], 2, 1, 0);
        assert_eq!(g.small, [2, 2]);
        let patches = unfold(image, &g).into_data().try_into_vec::<f32>().unwrap();
        let want = [
            1., 2., 4., 5., 2., 3., 5., 6., 4., 5., 7., 8., 5., 6., 8., 9.,
        ];
        assert_eq!(patches, want);
        // Folding ones counts how many patches cover each pixel.
        let ones = Tensor::<2>::ones([4, 4], &device);
        let counts = fold(ones, &g).into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(counts, [1., 2., 1., 2., 4., 2., 1., 2., 1.]);
    }

    #[test]
    fn fold_is_the_adjoint_of_unfold() {
        // <unfold(x), y> = <x, fold(y)> for every x and y, odd sizes included.
        let device = Device::flex();
        crate::random::with_seeded_device(&device, 3, || {
            for (large, stride, padding) in [([7, 5], 2, 1), ([6, 6], 2, 1), ([5, 4], 1, 2)] {
                let g = PatchGeometry::conv(2, 3, large, 4, stride, padding);
                let x = Tensor::<4>::random(
                    [2, large[0], large[1], 3],
                    Distribution::Normal(0.0, 1.0),
                    &device,
                );
                let y =
                    Tensor::<2>::random([g.rows(), g.patch_len()], Distribution::Default, &device);
                let left = (unfold(x.clone(), &g) * y.clone())
                    .sum()
                    .into_scalar::<f32>();
                let right = (x * fold(y, &g)).sum().into_scalar::<f32>();
                assert!(
                    (left - right).abs() < 1e-4 * left.abs().max(1.0),
                    "{left} vs {right}"
                );
            }
        })
    }

    /// A 4x4 stride-2 convolution and its transpose built from patches and
    /// matrix products, against burn's own, in values and in gradients.
    #[test]
    fn patch_convolutions_match_burn_in_values_and_gradients() {
        let device = Device::flex().autodiff();
        crate::random::with_seeded_device(&device, 5, || {
            let (batch, cin, cout, large) = (3, 2, 5, [9, 7]);
            let g = PatchGeometry::conv(batch, cin, large, 4, 2, 1);
            let x = Tensor::<4>::random(
                [batch, cin, large[0], large[1]],
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            let w = Tensor::<4>::random([cout, cin, 4, 4], Distribution::Normal(0.0, 1.0), &device);
            let wt =
                Tensor::<4>::random([cout, cin, 4, 4], Distribution::Normal(0.0, 1.0), &device);
            let probe = Tensor::<4>::random(
                [batch, cout, g.small[0], g.small[1]],
                Distribution::Normal(0.0, 1.0),
                &device,
            );

            // Convolution: reference first.
            let (xr, wr) = (x.clone().require_grad(), w.clone().require_grad());
            let options = ops::ConvOptions::new([2, 2], [1, 1], [1, 1], 1);
            let reference = module::conv2d(xr.clone(), wr.clone(), None, options);
            let grads = (reference.clone() * probe.clone()).sum().backward();
            let (want, want_dx, want_dw) = (
                values_of(reference),
                values_of(xr.grad(&grads).unwrap()),
                values_of(wr.grad(&grads).unwrap()),
            );
            let (xp, wp) = (x.clone().require_grad(), w.clone().require_grad());
            let patches = unfold(xp.clone().permute([0, 2, 3, 1]), &g);
            let wmat = wp.clone().permute([0, 2, 3, 1]).reshape([cout, 16 * cin]);
            let out: Tensor<4> = patches
                .matmul(wmat.transpose())
                .reshape([batch, g.small[0], g.small[1], cout])
                .permute([0, 3, 1, 2]);
            let grads = (out.clone() * probe.clone()).sum().backward();
            assert_close(&values_of(out), &want, 1e-4, "conv");
            assert_close(
                &values_of(xp.grad(&grads).unwrap()),
                &want_dx,
                1e-4,
                "conv dx",
            );
            assert_close(
                &values_of(wp.grad(&grads).unwrap()),
                &want_dw,
                1e-4,
                "conv dw",
            );

            // Transposed convolution from the small grid back to the large one
            // (output padding 1 on both sides restores 9x7).
            let (pr, wr) = (probe.clone().require_grad(), wt.clone().require_grad());
            let options = ops::ConvTransposeOptions::new([2, 2], [1, 1], [1, 1], [1, 1], 1);
            // Its weight is [in = cout, out = cin, 4, 4].
            let reference = module::conv_transpose2d(pr.clone(), wr.clone(), None, options);
            assert_eq!(reference.dims(), [batch, cin, large[0], large[1]]);
            let grads = (reference.clone() * x.clone()).sum().backward();
            let (want, want_dp, want_dw) = (
                values_of(reference),
                values_of(pr.grad(&grads).unwrap()),
                values_of(wr.grad(&grads).unwrap()),
            );
            let (pp, wp) = (probe.require_grad(), wt.require_grad());
            let wmat = wp.clone().permute([0, 2, 3, 1]).reshape([cout, 16 * cin]);
            let rows: Tensor<2> = pp.clone().permute([0, 2, 3, 1]).reshape([g.rows(), cout]);
            let out = fold(rows.matmul(wmat), &g).permute([0, 3, 1, 2]);
            let grads = (out.clone() * x).sum().backward();
            assert_close(&values_of(out), &want, 1e-4, "conv transpose");
            assert_close(
                &values_of(pp.grad(&grads).unwrap()),
                &want_dp,
                1e-4,
                "conv transpose d input",
            );
            assert_close(
                &values_of(wp.grad(&grads).unwrap()),
                &want_dw,
                1e-4,
                "conv transpose dw",
            );
        })
    }
}
