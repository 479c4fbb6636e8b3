//! Convolutional encoder and decoder for images of any size.
//!
//! Every encoder layer is a 4x4 convolution with stride 2 and padding 1, which
//! halves the height and width (rounding down); the decoder mirrors it with 4x4
//! transposed convolutions and adds one row or column of output padding wherever
//! the encoder rounded down, so odd sizes come back exactly. With the default
//! channels `[32, 64]` a 28x28 image goes 28 -> 14 -> 7 and back, which is the
//! benchmark's reference conv VAE.
//!
//! On the CPU backend the layers run through [`crate::kernels::patches`]: each
//! convolution is one patch matrix times the weights over the whole batch, with
//! the feature maps kept channels-last in between, which is about twice as fast
//! as burn-flex's own convolutions (bench/NOTES.md). The weights are burn's
//! `Conv2d` and `ConvTranspose2d` parameters either way, so checkpoints do not
//! depend on the path, and other backends use burn's convolutions.

use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation;

use super::{Activation, dense};
use crate::distributions::DiagonalGaussian;
use crate::kernels::fused_applies;
use crate::kernels::linear::{self, Pointwise};
use crate::kernels::patches::{PatchGeometry, conv_output_size, fold, unfold};

const KERNEL: usize = 4;
const STRIDE: usize = 2;
const PADDING: usize = 1;

/// Height and width after each strided convolution, the input's first.
///
/// Returns a message saying what to change when the image is too small for the
/// number of layers.
pub fn feature_sizes(
    height: usize,
    width: usize,
    layers: usize,
) -> Result<Vec<[usize; 2]>, String> {
    let mut sizes = vec![[height, width]];
    for layer in 0..layers {
        let [h, w] = sizes[layer];
        if h < 2 || w < 2 {
            return Err(format!(
                "a {height}x{width} image is down to {h}x{w} after {layer} of {layers} strided \
                 convolutions, too small for another; use fewer --conv-channels entries"
            ));
        }
        let down = |s: usize| conv_output_size(s, KERNEL, STRIDE, PADDING);
        sizes.push([down(h), down(w)]);
    }
    Ok(sizes)
}

/// Settings of a [`ConvEncoder`].
#[derive(Config, Debug)]
pub struct ConvEncoderConfig {
    /// Image shape, channel first: `[channels, height, width]`.
    pub image: [usize; 3],
    /// Output channels of each convolution, input side first.
    pub conv_channels: Vec<usize>,
    /// Size of the latent code.
    pub latent_dim: usize,
    /// Columns after the image in each input row (a conditional model's
    /// one-hot label), joined to the flattened features before the heads.
    #[config(default = 0)]
    pub condition: usize,
}

/// Image -> strided convolutions with ReLU -> (mu, logvar) of q(z|x).
#[derive(Module, Debug)]
pub struct ConvEncoder {
    convs: Vec<Conv2d>,
    mu: Linear,
    logvar: Linear,
    #[module(skip)]
    image: [usize; 3],
}

impl ConvEncoderConfig {
    /// Builds the encoder. The image must be large enough for the layers
    /// (check with [`feature_sizes`] first).
    pub fn init(&self, device: &Device) -> ConvEncoder {
        let [channels, height, width] = self.image;
        let sizes = feature_sizes(height, width, self.conv_channels.len()).unwrap_or_default();
        let [fh, fw] = sizes.last().copied().unwrap_or([height, width]);
        let ins = std::iter::once(channels).chain(self.conv_channels.iter().copied());
        let convs = ins
            .zip(self.conv_channels.iter().copied())
            .map(|(cin, cout)| {
                Conv2dConfig::new([cin, cout], [KERNEL, KERNEL])
                    .with_stride([STRIDE, STRIDE])
                    .with_padding(PaddingConfig2d::Explicit(
                        PADDING, PADDING, PADDING, PADDING,
                    ))
                    .init(device)
            })
            .collect();
        let last_channels = self.conv_channels.last().copied().unwrap_or(channels);
        let flat = last_channels * fh * fw + self.condition;
        ConvEncoder {
            convs,
            mu: LinearConfig::new(flat, self.latent_dim).init(device),
            logvar: LinearConfig::new(flat, self.latent_dim).init(device),
            image: self.image,
        }
    }
}

impl ConvEncoder {
    /// The encoder with a fixed log-variance for every input: zero weights
    /// and `logvar` as the bias of its log-variance layer (the mean is
    /// untouched). A mixture prior's start uses it: an encoder pretrained as
    /// a deterministic autoencoder has never trained that layer.
    ///
    /// # Shapes
    /// - `logvar`: `latent_dim` numbers
    pub fn with_constant_logvar(mut self, logvar: &[f32]) -> Self {
        self.logvar = super::constant_output(self.logvar, logvar);
        self
    }

    /// The approximate posterior for each flattened image.
    ///
    /// # Shapes
    /// - `x`: `[batch, channels * height * width + condition]`, channel-first per
    ///   row, then the condition's columns
    /// - returns mu and logvar of `[batch, latent_dim]`
    pub fn forward(&self, x: Tensor<2>) -> DiagonalGaussian {
        let [batch, cols] = x.dims();
        let [c, h, w] = self.image;
        let (image, condition) = match cols > c * h * w {
            true => (
                x.clone().slice([0..batch, 0..c * h * w]),
                Some(x.slice([0..batch, c * h * w..cols])),
            ),
            false => (x, None),
        };
        let features = match fused_applies(&image) {
            true => self.features_by_patches(image),
            false => self.features(image),
        };
        let flat = match condition {
            Some(y) => Tensor::cat(vec![features, y], 1),
            None => features,
        };
        DiagonalGaussian::new(
            dense(&self.mu, flat.clone(), None),
            dense(&self.logvar, flat, None),
        )
    }

    /// The last feature maps, flattened channel-first, through burn's convolutions.
    fn features(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, _] = x.dims();
        let [c, h, w] = self.image;
        let features = self
            .convs
            .iter()
            .fold(x.reshape([batch, c, h, w]), |x, conv| {
                activation::relu(conv.forward(x))
            });
        features.flatten(1, 3)
    }

    /// The same as [`Self::features`], through patch matrices.
    fn features_by_patches(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, _] = x.dims();
        let [c, h, w] = self.image;
        let mut maps: Tensor<4> = x.reshape([batch, c, h, w]).permute([0, 2, 3, 1]);
        for conv in &self.convs {
            let [cout, cin, k, _] = conv.weight.dims();
            let [_, height, width, _] = maps.dims();
            let g = PatchGeometry::conv(batch, cin, [height, width], KERNEL, STRIDE, PADDING);
            // Columns in the patches' (ky, kx, channel) order.
            let weight: Tensor<2> = conv
                .weight
                .val()
                .permute([0, 2, 3, 1])
                .reshape([cout, k * k * cin]);
            let bias = conv.bias.as_ref().map(|b| b.val());
            let out = rows_times(unfold(maps, &g), weight.transpose(), bias, true);
            maps = out.reshape([batch, g.small[0], g.small[1], cout]);
        }
        maps.permute([0, 3, 1, 2]).flatten(1, 3)
    }
}

/// `relu?(rows @ weight + bias)` through the fused linear kernel (a zero bias
/// when there is none).
///
/// # Shapes
/// - `rows`: `[n, d_in]`, `weight`: `[d_in, d_out]`; returns `[n, d_out]`
fn rows_times(
    rows: Tensor<2>,
    weight: Tensor<2>,
    bias: Option<Tensor<1>>,
    relu: bool,
) -> Tensor<2> {
    let bias = bias.unwrap_or_else(|| Tensor::zeros([weight.dims()[1]], &weight.device()));
    let pointwise = match relu {
        true => Pointwise::Relu,
        false => Pointwise::Identity,
    };
    linear::linear(rows, weight, bias, pointwise)
}

/// Adds a per-channel bias to channels-last rows `[positions, channels]`.
fn with_bias(rows: Tensor<2>, bias: &Option<burn::module::Param<Tensor<1>>>) -> Tensor<2> {
    match bias {
        Some(bias) => rows + bias.val().unsqueeze::<2>(),
        None => rows,
    }
}

/// Settings of a [`ConvDecoder`].
#[derive(Config, Debug)]
pub struct ConvDecoderConfig {
    /// Size of the latent code.
    pub latent_dim: usize,
    /// Channels of the encoder's convolutions, input side first; the decoder
    /// runs through them in reverse.
    pub conv_channels: Vec<usize>,
    /// Image shape to produce, channel first: `[channels, height, width]`.
    pub image: [usize; 3],
}

/// z -> linear -> transposed convolutions -> per-pixel logits or means.
#[derive(Module, Debug)]
pub struct ConvDecoder {
    project: Linear,
    deconvs: Vec<ConvTranspose2d>,
    #[module(skip)]
    start: [usize; 3],
}

impl ConvDecoderConfig {
    /// Builds the decoder, mirroring the encoder of the same settings.
    pub fn init(&self, device: &Device) -> ConvDecoder {
        let [channels, height, width] = self.image;
        let sizes = feature_sizes(height, width, self.conv_channels.len()).unwrap_or_default();
        let [fh, fw] = sizes.last().copied().unwrap_or([height, width]);
        let top = self.conv_channels.last().copied().unwrap_or(channels);
        // Channels from the top of the encoder back down to the image.
        let mut path: Vec<usize> = self.conv_channels.iter().rev().copied().collect();
        path.push(channels);
        let deconvs = path
            .windows(2)
            .enumerate()
            .map(|(i, pair)| {
                let from = sizes[sizes.len() - 1 - i];
                let to = sizes[sizes.len() - 2 - i];
                let out_pad = [to[0] - STRIDE * from[0], to[1] - STRIDE * from[1]];
                ConvTranspose2dConfig::new([pair[0], pair[1]], [KERNEL, KERNEL])
                    .with_stride([STRIDE, STRIDE])
                    .with_padding([PADDING, PADDING])
                    .with_padding_out(out_pad)
                    .init(device)
            })
            .collect();
        ConvDecoder {
            project: LinearConfig::new(self.latent_dim, top * fh * fw).init(device),
            deconvs,
            start: [top, fh, fw],
        }
    }
}

impl ConvDecoder {
    /// Decoder outputs for each code, flattened channel-first.
    ///
    /// # Shapes
    /// - `z`: `[batch, latent_dim]`
    /// - returns `[batch, channels * height * width]`
    pub fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        let top = dense(&self.project, z, Some(Activation::Relu));
        match fused_applies(&top) {
            true => self.images_by_patches(top),
            false => self.images(top),
        }
    }

    /// Transposed convolutions from the projected code, through burn's.
    fn images(&self, top: Tensor<2>) -> Tensor<2> {
        let [batch, _] = top.dims();
        let [c, h, w] = self.start;
        let mut x: Tensor<4> = top.reshape([batch, c, h, w]);
        let last = self.deconvs.len().saturating_sub(1);
        for (i, deconv) in self.deconvs.iter().enumerate() {
            x = deconv.forward(x);
            if i < last {
                x = activation::relu(x);
            }
        }
        x.flatten(1, 3)
    }

    /// The same as [`Self::images`], through patch matrices: each transposed
    /// convolution multiplies the channels-last rows of its input by the
    /// weights and folds the resulting patches onto the larger grid.
    fn images_by_patches(&self, top: Tensor<2>) -> Tensor<2> {
        let [batch, _] = top.dims();
        let [c, h, w] = self.start;
        let mut rows: Tensor<2> = top
            .reshape([batch, c, h * w])
            .swap_dims(1, 2)
            .reshape([batch * h * w, c]);
        let mut size = [h, w];
        let last = self.deconvs.len().saturating_sub(1);
        for (i, deconv) in self.deconvs.iter().enumerate() {
            let [cin, cout, k, _] = deconv.weight.dims();
            let large = [0, 1]
                .map(|d| (size[d] - 1) * STRIDE + KERNEL - 2 * PADDING + deconv.padding_out[d]);
            let g = PatchGeometry {
                batch,
                channels: cout,
                large,
                small: size,
                kernel: k,
                stride: STRIDE,
                padding: PADDING,
            };
            let weight: Tensor<2> = deconv
                .weight
                .val()
                .permute([0, 2, 3, 1])
                .reshape([cin, k * k * cout]);
            let maps = fold(rows_times(rows, weight, None, false), &g);
            let out = with_bias(
                maps.reshape([batch * large[0] * large[1], cout]),
                &deconv.bias,
            );
            rows = match i < last {
                true => activation::relu(out),
                false => out,
            };
            size = large;
        }
        let channels = rows.dims()[1];
        rows.reshape([batch, size[0] * size[1], channels])
            .swap_dims(1, 2)
            .reshape([batch, channels * size[0] * size[1]])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_halve_and_round_down() {
        assert_eq!(
            feature_sizes(28, 28, 2).unwrap(),
            vec![[28, 28], [14, 14], [7, 7]]
        );
        assert_eq!(
            feature_sizes(8, 8, 2).unwrap(),
            vec![[8, 8], [4, 4], [2, 2]]
        );
        assert_eq!(
            feature_sizes(9, 5, 2).unwrap(),
            vec![[9, 5], [4, 2], [2, 1]]
        );
        assert!(
            feature_sizes(8, 8, 4)
                .unwrap_err()
                .contains("--conv-channels")
        );
    }

    /// The patch path (CPU) against burn's convolutions on the same weights,
    /// in values and in the gradients of every parameter and of the input.
    #[test]
    fn patch_path_matches_burn_convolutions() {
        use crate::kernels::testing::{assert_close, values_of};
        use burn::tensor::Distribution;
        let device = Device::flex().autodiff();
        crate::random::with_seeded_device(&device, 11, || {
            for image in [[1, 28, 28], [3, 9, 7]] {
                let channels = vec![4, 6];
                let enc = ConvEncoderConfig::new(image, channels.clone(), 3).init(&device);
                let dec = ConvDecoderConfig::new(3, channels, image).init(&device);
                let dim: usize = image.iter().product();
                let x = Tensor::<2>::random([5, dim], Distribution::Default, &device);
                let probe = Tensor::<2>::random([5, dim], Distribution::Normal(0.0, 1.0), &device);
                let run = |fused: bool| {
                    let x = x.clone().require_grad();
                    let top = activation::relu(dec.project.forward(x.clone().slice([0..5, 0..3])));
                    let (flat, images) = match fused {
                        true => (
                            enc.features_by_patches(x.clone()),
                            dec.images_by_patches(top),
                        ),
                        false => (enc.features(x.clone()), dec.images(top)),
                    };
                    let loss = flat.powf_scalar(2.0).sum() + (images.clone() * probe.clone()).sum();
                    let grads = loss.backward();
                    let mut all = vec![values_of(x.grad(&grads).unwrap()), values_of(images)];
                    for conv in &enc.convs {
                        all.push(values_of(conv.weight.grad(&grads).unwrap()));
                        all.push(values_of(conv.bias.as_ref().unwrap().grad(&grads).unwrap()));
                    }
                    for deconv in &dec.deconvs {
                        all.push(values_of(deconv.weight.grad(&grads).unwrap()));
                        all.push(values_of(
                            deconv.bias.as_ref().unwrap().grad(&grads).unwrap(),
                        ));
                    }
                    all
                };
                let (fused, plain) = (run(true), run(false));
                for (k, (a, b)) in fused.iter().zip(&plain).enumerate() {
                    assert_close(a, b, 1e-3, &format!("image {image:?}, part {k}"));
                }
            }
        })
    }

    #[test]
    fn decoder_restores_every_image_size() {
        let device = Device::flex();
        for image in [
            [1, 28, 28],
            [1, 8, 8],
            [3, 32, 32],
            [3, 64, 64],
            [1, 9, 7],
            [3, 5, 6],
        ] {
            let channels = vec![4, 8];
            let enc = ConvEncoderConfig::new(image, channels.clone(), 3).init(&device);
            let dec = ConvDecoderConfig::new(3, channels, image).init(&device);
            let dim = image.iter().product();
            let x = Tensor::<2>::zeros([2, dim], &device);
            let q = enc.forward(x);
            assert_eq!(q.mu.dims(), [2, 3]);
            assert_eq!(dec.forward(q.mu).dims(), [2, dim], "image {image:?}");
        }
    }
}
