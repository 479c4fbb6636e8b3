//! The recurrent cells of the text models, written for the CPU backend,
//! where burn 0.22.1's `Gru` and `Lstm` project each step's input inside the
//! loop (and its `Gru` returns no final state): ours project the inputs of
//! every time step at once (one product per gate over the whole batch of
//! sequences, laid out time-major so that each step reads a contiguous
//! block). On the CPU backend a layer's pass over the sequence is then one
//! fused operation ([`crate::kernels::recurrent`]: one product of the state
//! with every gate's stacked weights per step, the gates in one pass, and
//! the backward pass through time by hand); elsewhere the same equations are
//! composed from burn's operations, one product of the state per gate per
//! step (stacking them and slicing the columns was measured slower there: on
//! `flex` the slices and their backward passes cost more than the products
//! they saved). `cargo bench -p vaekit --bench recurrent` times ours against
//! burn's on the sentence VAE's shapes (docs/TEXT.md).
//!
//! The equations are PyTorch's `nn.GRU` (reset gate applied after the hidden
//! product) and `nn.LSTM`, with their initialization, uniform in
//! +-1/sqrt(hidden):
//!
//! ```text
//! GRU:  r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
//!       u = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
//!       n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
//!       h' = (1 - u) * n + u * h
//! LSTM: i, f, o = sigmoid(W_i. x + b_i. + W_h. h + b_h.)
//!       g = tanh(W_ig x + b_ig + W_hg h + b_hg)
//!       c' = f * c + i * g;  h' = o * tanh(c')
//! ```
//!
//! An LSTM's state is the pair (h, c); where one tensor carries it (the
//! states of generation, [`RnnLayer::step`]) it is `[h, c]` side by side.

use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation;
use serde::{Deserialize, Serialize};

use crate::kernels::fused_applies;
use crate::kernels::linear::{Pointwise, linear};
use crate::kernels::recurrent::{Cell, recurrent};

/// The recurrent cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CellKind {
    /// The gated recurrent unit (three gates, state h).
    #[default]
    Gru,
    /// The long short-term memory (four gates, state h and c).
    Lstm,
}

impl CellKind {
    /// Gates, each with a product of the input and one of the state.
    fn gates(self) -> usize {
        match self {
            CellKind::Gru => 3,
            CellKind::Lstm => 4,
        }
    }
}

impl From<CellKind> for Cell {
    fn from(kind: CellKind) -> Cell {
        match kind {
            CellKind::Gru => Cell::Gru,
            CellKind::Lstm => Cell::Lstm,
        }
    }
}

impl std::str::FromStr for CellKind {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "gru" => Ok(Self::Gru),
            "lstm" => Ok(Self::Lstm),
            other => Err(format!("unknown cell '{other}'; use gru or lstm")),
        }
    }
}

impl std::fmt::Display for CellKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CellKind::Gru => "GRU",
            CellKind::Lstm => "LSTM",
        })
    }
}

/// Settings of an [`Rnn`].
#[derive(Config, Debug)]
pub struct RnnConfig {
    /// Features of each step's input.
    pub input: usize,
    /// Size of the hidden state.
    pub hidden: usize,
    /// Stacked layers, each reading the one below.
    #[config(default = 1)]
    pub layers: usize,
    /// GRU or LSTM.
    #[config(default = "CellKind::Gru")]
    pub cell: CellKind,
}

/// One recurrent layer: per gate, a product of the input and one of the
/// state (GRU: reset, update, new; LSTM: input, forget, cell, output).
#[derive(Module, Debug)]
pub struct RnnLayer {
    input: Vec<Linear>,
    state: Vec<Linear>,
    #[module(skip)]
    hidden: usize,
    #[module(skip)]
    cell: CellKind,
}

/// A stack of recurrent layers.
#[derive(Module, Debug)]
pub struct Rnn {
    layers: Vec<RnnLayer>,
}

impl RnnConfig {
    /// Builds the network with PyTorch's initialization.
    pub fn init(&self, device: &Device) -> Rnn {
        let k = 1.0 / (self.hidden.max(1) as f64).sqrt();
        let linear = |from: usize| {
            LinearConfig::new(from, self.hidden)
                .with_initializer(Initializer::Uniform { min: -k, max: k })
                .init(device)
        };
        let gates = self.cell.gates();
        let layers = (0..self.layers.max(1))
            .map(|i| {
                let input = if i == 0 { self.input } else { self.hidden };
                RnnLayer {
                    input: (0..gates).map(|_| linear(input)).collect(),
                    state: (0..gates).map(|_| linear(self.hidden)).collect(),
                    hidden: self.hidden,
                    cell: self.cell,
                }
            })
            .collect();
        Rnn { layers }
    }
}

/// The running state of one layer: h, and an LSTM's c.
#[derive(Clone)]
struct State {
    h: Tensor<2>,
    c: Option<Tensor<2>>,
}

impl State {
    /// `self` where `m` is 1, `old` where it is 0 (padding).
    fn masked(self, old: &State, m: &Tensor<2>) -> State {
        let keep = |new: Tensor<2>, old: &Tensor<2>| old.clone() + m.clone() * (new - old.clone());
        State {
            h: keep(self.h, &old.h),
            c: self.c.zip(old.c.as_ref()).map(|(new, old)| keep(new, old)),
        }
    }
}

impl RnnLayer {
    /// Runs the layer over the steps of `x` from the state `h0` (an LSTM's
    /// cell starting at 0).
    ///
    /// Where `mask` is 0 (padding after a sentence's end) the state is
    /// carried unchanged, so the returned last state is each row's state
    /// after its own last real step.
    ///
    /// # Shapes
    /// - `x`: `[batch, steps, input]`; `h0`: `[batch, hidden]`; `mask`:
    ///   `[batch, steps]`; returns `[batch, steps, hidden]` and the last h,
    ///   `[batch, hidden]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        h0: Tensor<2>,
        mask: Option<&Tensor<2>>,
    ) -> (Tensor<3>, Tensor<2>) {
        match x.dims()[1] > 0 && fused_applies(&x) {
            true => self.forward_fused(x, h0, mask),
            false => self.forward_plain(x, h0, mask),
        }
    }

    /// [`RnnLayer::forward`] through the fused kernel (CPU backend only).
    fn forward_fused(
        &self,
        x: Tensor<3>,
        h0: Tensor<2>,
        mask: Option<&Tensor<2>>,
    ) -> (Tensor<3>, Tensor<2>) {
        let [batch, steps, input] = x.dims();
        let time_major = x.swap_dims(0, 1).reshape([steps * batch, input]);
        let (w_input, b_input) = stacked(&self.input);
        let projected = linear(time_major, w_input, b_input, Pointwise::Identity);
        let (w_state, b_state) = stacked(&self.state);
        let mask = match mask {
            Some(m) => m.clone().swap_dims(0, 1).reshape([steps * batch]),
            None => Tensor::ones([steps * batch], &h0.device()),
        };
        let hs = recurrent(projected, w_state, b_state, h0, mask, self.cell.into());
        let last = hs.clone().narrow(0, (steps - 1) * batch, batch);
        let out = hs.reshape([steps, batch, self.hidden]).swap_dims(0, 1);
        (out, last)
    }

    /// [`RnnLayer::forward`] composed from burn's operations.
    fn forward_plain(
        &self,
        x: Tensor<3>,
        h0: Tensor<2>,
        mask: Option<&Tensor<2>>,
    ) -> (Tensor<3>, Tensor<2>) {
        let [batch, steps, input] = x.dims();
        let time_major = x.swap_dims(0, 1).reshape([steps * batch, input]);
        // Per gate, the projections of every step; then per step, its gates.
        let mut per_gate: Vec<std::vec::IntoIter<Tensor<2>>> = self
            .input
            .iter()
            .map(|l| l.forward(time_major.clone()).chunk(steps, 0).into_iter())
            .collect();
        let masks = mask.map(|m| m.clone().swap_dims(0, 1).chunk(steps, 0));
        let c0 = (self.cell == CellKind::Lstm).then(|| h0.zeros_like());
        let mut state = State { h: h0, c: c0 };
        let mut outputs = Vec::with_capacity(steps);
        for t in 0..steps {
            let gates: Vec<Tensor<2>> = per_gate.iter_mut().filter_map(Iterator::next).collect();
            let mut next = self.cell(gates, state.clone());
            if let Some(masks) = &masks {
                next = next.masked(&state, &masks[t].clone().reshape([batch, 1]));
            }
            state = next;
            outputs.push(state.h.clone());
        }
        (Tensor::stack::<3>(outputs, 1), state.h)
    }

    /// Width of the state tensor of [`RnnLayer::step`]: hidden, or twice
    /// it for an LSTM's `[h, c]`.
    pub fn state_width(&self) -> usize {
        self.hidden * if self.cell == CellKind::Lstm { 2 } else { 1 }
    }

    /// The state tensor of a layer starting from `h` (an LSTM's cell at 0).
    ///
    /// # Shapes
    /// - `h`: `[batch, hidden]`; returns `[batch, state_width]`
    pub fn start_state(&self, h: Tensor<2>) -> Tensor<2> {
        match self.cell {
            CellKind::Gru => h,
            CellKind::Lstm => Tensor::cat(vec![h.clone(), h.zeros_like()], 1),
        }
    }

    /// One step from the input `x` (for generation, token by token): the
    /// layer's output h and its new state tensor.
    ///
    /// # Shapes
    /// - `x`: `[batch, input]`; `state`: `[batch, state_width]`; returns
    ///   `[batch, hidden]` and `[batch, state_width]`
    pub fn step(&self, x: Tensor<2>, state: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let gates = self.input.iter().map(|l| l.forward(x.clone())).collect();
        let state = match self.cell {
            CellKind::Gru => State { h: state, c: None },
            CellKind::Lstm => State {
                h: state.clone().narrow(1, 0, self.hidden),
                c: Some(state.narrow(1, self.hidden, self.hidden)),
            },
        };
        let next = self.cell(gates, state);
        let h = next.h.clone();
        match next.c {
            Some(c) => (h.clone(), Tensor::cat(vec![h, c], 1)),
            None => (h.clone(), h),
        }
    }

    /// The new state from the input's gate projections (one per gate, in
    /// the order of [`RnnLayer`]'s) and the state.
    fn cell(&self, x: Vec<Tensor<2>>, state: State) -> State {
        let pre = |g: usize| x[g].clone() + self.state[g].forward(state.h.clone());
        match (self.cell, &state.c) {
            (CellKind::Lstm, Some(c)) => {
                let (i, f) = (activation::sigmoid(pre(0)), activation::sigmoid(pre(1)));
                let (g, o) = (pre(2).tanh(), activation::sigmoid(pre(3)));
                let c = f * c.clone() + i * g;
                State {
                    h: o * c.clone().tanh(),
                    c: Some(c),
                }
            }
            _ => {
                let r = activation::sigmoid(pre(0));
                let u = activation::sigmoid(pre(1));
                let n = (x[2].clone() + r * self.state[2].forward(state.h.clone())).tanh();
                // (1 - u) * n + u * h = n + u * (h - n)
                State {
                    h: n.clone() + u * (state.h.clone() - n),
                    c: None,
                }
            }
        }
    }
}

/// The weights and biases of one product per gate, side by side.
///
/// # Shapes
/// - returns `[input, gates * hidden]` and `[gates * hidden]`
fn stacked(gates: &[Linear]) -> (Tensor<2>, Tensor<1>) {
    let weights = gates.iter().map(|l| l.weight.val()).collect();
    let biases = gates
        .iter()
        .map(|l| match &l.bias {
            Some(b) => b.val(),
            None => Tensor::zeros([l.weight.dims()[1]], &l.weight.device()),
        })
        .collect();
    (Tensor::cat(weights, 1), Tensor::cat(biases, 0))
}

impl Rnn {
    /// The layers, bottom first.
    pub fn layers(&self) -> &[RnnLayer] {
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
    /// - as for [`RnnLayer::forward`]; the outputs are the top layer's, the
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

    fn values(t: Tensor<2>) -> Vec<f64> {
        t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
    }

    /// `v W + b` of a linear layer, in f64.
    fn affine(l: &Linear) -> impl Fn(&[f64]) -> Vec<f64> + use<> {
        let w = values(l.weight.val());
        let b: Vec<f64> = l
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .convert::<f64>()
            .try_to_vec::<f64>()
            .unwrap();
        move |v: &[f64]| {
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
    }

    /// The cell's equations by hand in f64, for one row: h after each step.
    fn by_hand(layer: &RnnLayer, xs: &[Vec<f64>], h0: &[f64]) -> Vec<Vec<f64>> {
        let input: Vec<_> = layer.input.iter().map(affine).collect();
        let state: Vec<_> = layer.state.iter().map(affine).collect();
        let (mut h, mut c) = (h0.to_vec(), vec![0.0; h0.len()]);
        let mut out = Vec::new();
        for x in xs {
            let a: Vec<Vec<f64>> = input.iter().map(|f| f(x)).collect();
            let b: Vec<Vec<f64>> = state.iter().map(|f| f(&h)).collect();
            for j in 0..h.len() {
                match layer.cell {
                    CellKind::Gru => {
                        let r = sigmoid(a[0][j] + b[0][j]);
                        let u = sigmoid(a[1][j] + b[1][j]);
                        let n = (a[2][j] + r * b[2][j]).tanh();
                        h[j] = (1.0 - u) * n + u * h[j];
                    }
                    CellKind::Lstm => {
                        let i = sigmoid(a[0][j] + b[0][j]);
                        let f = sigmoid(a[1][j] + b[1][j]);
                        let g = (a[2][j] + b[2][j]).tanh();
                        let o = sigmoid(a[3][j] + b[3][j]);
                        c[j] = f * c[j] + i * g;
                        h[j] = o * c[j].tanh();
                    }
                }
            }
            out.push(h.clone());
        }
        out
    }

    #[test]
    fn cells_match_their_equations_and_carry_the_state_over_padding() {
        let device = Device::flex();
        for cell in [CellKind::Gru, CellKind::Lstm] {
            let rnn = RnnConfig::new(3, 2).with_cell(cell).init(&device);
            assert_eq!(rnn.layers[0].input.len(), cell.gates());
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
            let (out, last) = rnn.forward(x, h0, Some(&mask));
            let out = values(out.reshape([2, 6]));
            let last = values(last);
            for row in 0..2 {
                let steps: Vec<Vec<f64>> = (0..3)
                    .map(|t| (0..3).map(|i| f64::from(xs[row * 9 + t * 3 + i])).collect())
                    .collect();
                let h0 = [[0.1, -0.3], [0.5, 0.2]][row];
                let want = by_hand(&rnn.layers[0], &steps, &h0);
                let real = if row == 0 { 3 } else { 2 };
                for t in 0..3 {
                    let w = &want[t.min(real - 1)];
                    for j in 0..2 {
                        let g = out[row * 6 + t * 2 + j];
                        assert!(
                            (g - w[j]).abs() < 1e-5,
                            "{cell} row {row} step {t}: {g} vs {}",
                            w[j]
                        );
                    }
                }
                for j in 0..2 {
                    assert!(
                        (last[row * 2 + j] - want[real - 1][j]).abs() < 1e-5,
                        "{cell}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_fused_pass_matches_the_plain_one_in_values_and_gradients() {
        use crate::kernels::testing::{assert_close, values_of};
        use burn::tensor::Distribution;
        let device = Device::flex().autodiff();
        crate::random::with_seeded_device(&device, 17, || {
            // Sizes off any vector width, a batch the fused pass splits between
            // threads unevenly; sentences of 1 to 5 steps.
            let (batch, steps, input, hidden) = (19, 5, 6, 9);
            let length = |row: usize| if row == 0 { steps } else { 1 + row * 3 % steps };
            let mask: Vec<f32> = (0..batch * steps)
                .map(|i| f32::from(i % steps < length(i / steps)))
                .collect();
            let mask = Tensor::<2>::from_data(TensorData::new(mask, [batch, steps]), &device);
            let x = Tensor::<3>::random(
                [batch, steps, input],
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            let h0 = Tensor::<2>::random([batch, hidden], Distribution::Normal(0.0, 0.5), &device);
            // Weights on the outputs, so that every step's gradient differs.
            let on_out = Tensor::<3>::random(
                [batch, steps, hidden],
                Distribution::Normal(0.0, 1.0),
                &device,
            );
            let on_last =
                Tensor::<2>::random([batch, hidden], Distribution::Normal(0.0, 1.0), &device);
            for cell in [CellKind::Gru, CellKind::Lstm] {
                let rnn = RnnConfig::new(input, hidden).with_cell(cell).init(&device);
                let layer = &rnn.layers[0];
                for masked in [false, true] {
                    let run = |fused: bool| {
                        let x = x.clone().detach().require_grad();
                        let h0 = h0.clone().detach().require_grad();
                        let m = masked.then_some(&mask);
                        let (out, last) = match fused {
                            true => layer.forward_fused(x.clone(), h0.clone(), m),
                            false => layer.forward_plain(x.clone(), h0.clone(), m),
                        };
                        let loss = (out.clone() * on_out.clone()).sum()
                            + (last.clone() * on_last.clone()).sum();
                        let grads = loss.backward();
                        let mut got = vec![
                            values_of(out.inner()),
                            values_of(last.inner()),
                            values_of(x.grad(&grads).unwrap()),
                            values_of(h0.grad(&grads).unwrap()),
                        ];
                        for l in layer.input.iter().chain(&layer.state) {
                            got.push(values_of(l.weight.val().grad(&grads).unwrap()));
                            got.push(values_of(
                                l.bias.as_ref().unwrap().val().grad(&grads).unwrap(),
                            ));
                        }
                        got
                    };
                    let (fused, plain) = (run(true), run(false));
                    for (i, (f, p)) in fused.iter().zip(&plain).enumerate() {
                        assert_close(f, p, 2e-5, &format!("{cell} masked {masked} value {i}"));
                    }
                }
            }
        })
    }

    #[test]
    fn steps_agree_with_the_whole_sequence_pass() {
        let device = Device::flex();
        for cell in [CellKind::Gru, CellKind::Lstm] {
            let rnn = RnnConfig::new(2, 3).with_cell(cell).init(&device);
            let layer = &rnn.layers[0];
            let xs: Vec<f32> = (0..8).map(|i| (i as f32 - 3.5) / 3.0).collect();
            let x = Tensor::<3>::from_data(TensorData::new(xs, [1, 4, 2]), &device);
            let h0 =
                Tensor::<2>::from_data(TensorData::new(vec![0.2f32, -0.1, 0.4], [1, 3]), &device);
            let (out, _) = layer.forward(x.clone(), h0.clone(), None);
            let whole = values(out.reshape([1, 12]));
            let mut state = layer.start_state(h0);
            assert_eq!(state.dims(), [1, layer.state_width()]);
            for t in 0..4 {
                let xt = x.clone().narrow(1, t, 1).reshape([1, 2]);
                let (h, next) = layer.step(xt, state);
                state = next;
                for (j, g) in values(h).into_iter().enumerate() {
                    assert!((g - whole[t * 3 + j]).abs() < 1e-5, "{cell} step {t}");
                }
            }
        }
    }
}
