//! A GRU written for the CPU backend, where burn 0.22.1's `Gru` (which also
//! returns no final state) projects each step's input inside the loop: ours
//! projects the inputs of every time step at once (one product per gate
//! over the whole batch of sequences, laid out time-major so that each step
//! reads a contiguous block), and runs three products of the state per step.
//! Fusing the three hidden products into one and slicing its columns was
//! measured too: on `flex` the slices (and their backward passes) cost more
//! than the products they save. `cargo bench -p vaekit --bench recurrent`
//! times ours against burn's on the sentence VAE's shapes (docs/TEXT.md).
//!
//! The equations are PyTorch's `nn.GRU` (reset gate applied after the hidden
//! product), with its initialization, uniform in +-1/sqrt(hidden):
//!
//! ```text
//! r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
//! u = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//! h' = (1 - u) * n + u * h
//! ```

use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation;

/// Settings of a [`Gru`].
#[derive(Config, Debug)]
pub struct GruConfig {
    /// Features of each step's input.
    pub input: usize,
    /// Size of the hidden state.
    pub hidden: usize,
    /// Stacked layers, each reading the one below.
    #[config(default = 1)]
    pub layers: usize,
}

/// One GRU layer: the reset, update and new gates' products of the input
/// and of the state.
#[derive(Module, Debug)]
pub struct GruLayer {
    input_reset: Linear,
    input_update: Linear,
    input_new: Linear,
    hidden_reset: Linear,
    hidden_update: Linear,
    hidden_new: Linear,
    #[module(skip)]
    hidden: usize,
}

/// A stack of GRU layers.
#[derive(Module, Debug)]
pub struct Gru {
    layers: Vec<GruLayer>,
}

impl GruConfig {
    /// Builds the GRU with PyTorch's initialization.
    pub fn init(&self, device: &Device) -> Gru {
        let k = 1.0 / (self.hidden.max(1) as f64).sqrt();
        let linear = |from: usize| {
            LinearConfig::new(from, self.hidden)
                .with_initializer(Initializer::Uniform { min: -k, max: k })
                .init(device)
        };
        let layers = (0..self.layers.max(1))
            .map(|i| {
                let input = if i == 0 { self.input } else { self.hidden };
                GruLayer {
                    input_reset: linear(input),
                    input_update: linear(input),
                    input_new: linear(input),
                    hidden_reset: linear(self.hidden),
                    hidden_update: linear(self.hidden),
                    hidden_new: linear(self.hidden),
                    hidden: self.hidden,
                }
            })
            .collect();
        Gru { layers }
    }
}

impl GruLayer {
    /// Runs the layer over the steps of `x` from `h0`.
    ///
    /// Where `mask` is 0 (padding after a sentence's end) the state is
    /// carried unchanged, so the returned last state is each row's state
    /// after its own last real step.
    ///
    /// # Shapes
    /// - `x`: `[batch, steps, input]`; `h0`: `[batch, hidden]`; `mask`:
    ///   `[batch, steps]`; returns `[batch, steps, hidden]` and `[batch, hidden]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        h0: Tensor<2>,
        mask: Option<&Tensor<2>>,
    ) -> (Tensor<3>, Tensor<2>) {
        let [batch, steps, input] = x.dims();
        let time_major = x.swap_dims(0, 1).reshape([steps * batch, input]);
        let per_step = |l: &Linear| l.forward(time_major.clone()).chunk(steps, 0);
        let (xr, xu, xn) = (
            per_step(&self.input_reset),
            per_step(&self.input_update),
            per_step(&self.input_new),
        );
        let masks = mask.map(|m| m.clone().swap_dims(0, 1).chunk(steps, 0));
        let mut h = h0;
        let mut outputs = Vec::with_capacity(steps);
        for (t, ((xr, xu), xn)) in xr.into_iter().zip(xu).zip(xn).enumerate() {
            let mut next = self.cell([xr, xu, xn], h.clone());
            if let Some(masks) = &masks {
                let m = masks[t].clone().reshape([batch, 1]);
                next = h.clone() + m * (next - h);
            }
            h = next;
            outputs.push(h.clone());
        }
        (Tensor::stack::<3>(outputs, 1), h)
    }

    /// One step from the input `x` (for generation, token by token).
    ///
    /// # Shapes
    /// - `x`: `[batch, input]`; `h`: `[batch, hidden]`; returns `[batch, hidden]`
    pub fn step(&self, x: Tensor<2>, h: Tensor<2>) -> Tensor<2> {
        let gates = [
            self.input_reset.forward(x.clone()),
            self.input_update.forward(x.clone()),
            self.input_new.forward(x),
        ];
        self.cell(gates, h)
    }

    /// The new state from the input's gate projections and the state.
    fn cell(&self, [xr, xu, xn]: [Tensor<2>; 3], h: Tensor<2>) -> Tensor<2> {
        let r = activation::sigmoid(xr + self.hidden_reset.forward(h.clone()));
        let u = activation::sigmoid(xu + self.hidden_update.forward(h.clone()));
        let n = (xn + r * self.hidden_new.forward(h.clone())).tanh();
        // (1 - u) * n + u * h = n + u * (h - n)
        n.clone() + u * (h - n)
    }
}

impl Gru {
    /// The layers, bottom first.
    pub fn layers(&self) -> &[GruLayer] {
        &self.layers
    }

    /// Size of the hidden state.
    pub fn hidden(&self) -> usize {
        self.layers.first().map_or(0, |l| l.hidden)
    }

    /// Layers in the stack.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// Runs the stack over `x`, every layer starting from `h0` (the same
    /// state for each, as a decoder conditioned on z starts them all).
    ///
    /// # Shapes
    /// - as for [`GruLayer::forward`]; the outputs are the top layer's, the
    ///   last state is the top layer's too
    pub fn forward(
        &self,
        x: Tensor<3>,
        h0: Tensor<2>,
        mask: Option<&Tensor<2>>,
    ) -> (Tensor<3>, Tensor<2>) {
        let mut input = x;
        let mut last = h0.clone();
        for layer in &self.layers {
            let (out, h) = layer.forward(input, h0.clone(), mask);
            input = out;
            last = h;
        }
        (input, last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn sigmoid(v: f64) -> f64 {
        1.0 / (1.0 + (-v).exp())
    }

    /// The GRU equations by hand in f64, for one row.
    fn by_hand(layer: &GruLayer, xs: &[Vec<f64>], h0: &[f64]) -> Vec<Vec<f64>> {
        let read = |l: &Linear| {
            let w: Vec<f64> = l
                .weight
                .val()
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .unwrap();
            let b: Vec<f64> = l
                .bias
                .as_ref()
                .unwrap()
                .val()
                .into_data()
                .convert::<f64>()
                .try_to_vec::<f64>()
                .unwrap();
            move |v: &[f64]| -> Vec<f64> {
                (0..b.len())
                    .map(|j| {
                        b[j] + v
                            .iter()
                            .enumerate()
                            .map(|(i, x)| x * w[i * b.len() + j])
                            .sum::<f64>()
                    })
                    .collect()
            }
        };
        let (ir, iu, inn) = (
            read(&layer.input_reset),
            read(&layer.input_update),
            read(&layer.input_new),
        );
        let (hr, hu, hn) = (
            read(&layer.hidden_reset),
            read(&layer.hidden_update),
            read(&layer.hidden_new),
        );
        let mut h = h0.to_vec();
        let mut out = Vec::new();
        for x in xs {
            let (a, b, c) = (ir(x), iu(x), inn(x));
            let (d, e, f) = (hr(&h), hu(&h), hn(&h));
            h = (0..h.len())
                .map(|j| {
                    let r = sigmoid(a[j] + d[j]);
                    let u = sigmoid(b[j] + e[j]);
                    let n = (c[j] + r * f[j]).tanh();
                    (1.0 - u) * n + u * h[j]
                })
                .collect();
            out.push(h.clone());
        }
        out
    }

    #[test]
    fn gru_matches_its_equations_and_carries_the_state_over_padding() {
        let device = Device::flex();
        let gru = GruConfig::new(3, 2).init(&device);
        let xs: Vec<f32> = (0..2 * 3 * 3)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0)
            .collect();
        let x = Tensor::<3>::from_data(TensorData::new(xs.clone(), [2, 3, 3]), &device);
        let h0 = Tensor::<2>::from_data(
            TensorData::new(vec![0.1f32, -0.3, 0.5, 0.2], [2, 2]),
            &device,
        );
        // Row 1 is two steps long, its third step padding.
        let mask = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 1.0, 1.0, 1.0, 1.0, 0.0], [2, 3]),
            &device,
        );
        let (out, last) = gru.forward(x, h0, Some(&mask));
        let out: Vec<f32> = out.into_data().try_to_vec::<f32>().unwrap();
        let last: Vec<f32> = last.into_data().try_to_vec::<f32>().unwrap();
        for row in 0..2 {
            let steps: Vec<Vec<f64>> = (0..3)
                .map(|t| (0..3).map(|i| f64::from(xs[row * 9 + t * 3 + i])).collect())
                .collect();
            let h0 = [[0.1, -0.3], [0.5, 0.2]][row];
            let want = by_hand(&gru.layers[0], &steps, &h0);
            let real = if row == 0 { 3 } else { 2 };
            for t in 0..3 {
                let w = &want[t.min(real - 1)];
                for j in 0..2 {
                    let g = f64::from(out[row * 6 + t * 2 + j]);
                    assert!(
                        (g - w[j]).abs() < 1e-5,
                        "row {row} step {t}: {g} vs {}",
                        w[j]
                    );
                }
            }
            for j in 0..2 {
                let g = f64::from(last[row * 2 + j]);
                assert!((g - want[real - 1][j]).abs() < 1e-5);
            }
        }
    }
}
