//! The sentence VAE of Bowman et al. (2016) and, with no latent code, the
//! recurrent language model it is judged against.
//!
//! Parts: a token embedding shared by both networks; the encoder, a GRU or
//! LSTM ([`super::rnn`]) whose state after a sentence's last token (beside
//! the backward network's after its first, when bidirectional) gives mu and
//! logvar of q(z|x), mu optionally batch-normalized at a fixed scale
//! (BN-VAE); the decoder, a GRU or LSTM that starts from a linear map of z and reads z beside
//! every input token (the start token, then the sentence, each dropped to
//! `<unk>` at the word-dropout rate in training), and the token observation
//! model, a softmax over the vocabulary at every step ([`token_nll`]).

use burn::module::Param;
use burn::nn::{
    BatchNorm, BatchNormConfig, Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig,
};
use burn::prelude::*;
use burn::tensor::{IndexingUpdateOp, Int, TensorData, activation};
use serde::{Deserialize, Serialize};

use super::corpus::{BOS, EOS, PAD, UNK};
use super::rnn::{CellKind, Rnn, RnnConfig};
use crate::distributions::DiagonalGaussian;
use crate::error::{Error, Result};
use crate::nn::dense;
use crate::optim::ParamGradients;
use crate::random::Rng;
use rand::RngExt;

/// The shapes of a [`SentenceVae`]; saved in the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentenceVaeConfig {
    /// Tokens in the vocabulary.
    pub vocab: usize,
    /// Width of the token embedding.
    pub embed: usize,
    /// Size of the recurrent networks' hidden state.
    pub hidden: usize,
    /// Recurrent layers in each network.
    pub layers: usize,
    /// Size of z; 0 makes the model the language model (no encoder, no z).
    pub latent: usize,
    /// The recurrent cell of both networks.
    #[serde(default)]
    pub cell: CellKind,
    /// The encoder also reads each sentence backwards, q(z|x) from both
    /// last states side by side.
    #[serde(default)]
    pub bidirectional: bool,
    /// BN-VAE (Zhu et al. 2020): the posterior means batch-normalized with
    /// this fixed scale gamma and a learned shift, which keeps each
    /// dimension's expected KL at least gamma^2 / 2, so z cannot collapse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mu_batch_norm: Option<f64>,
}

impl SentenceVaeConfig {
    /// Checks the shapes.
    pub fn validate(&self) -> Result<()> {
        let check = |name: &str, v: usize, max: usize| {
            if v == 0 || v > max {
                return Err(Error::setting(name, format!("{v}; use 1 to {max}")));
            }
            Ok(())
        };
        check("--embed", self.embed, 4096)?;
        check("--hidden", self.hidden, 4096)?;
        check("--rnn-layers", self.layers, 4)?;
        if self.latent > 1024 {
            return Err(Error::setting(
                "--latent",
                format!(
                    "{}; use 1 to 1024 (32 is the published setting)",
                    self.latent
                ),
            ));
        }
        Ok(())
    }

    /// Builds the model (initialization as PyTorch's: embeddings N(0, 1),
    /// linear layers uniform in +-1/sqrt(fan_in), the cells as [`RnnConfig`]).
    pub fn init(&self, device: &Device) -> SentenceVae {
        let z = self.latent;
        let linear = |from: usize, to: usize| {
            let k = 1.0 / (from.max(1) as f64).sqrt();
            LinearConfig::new(from, to)
                .with_initializer(Initializer::Uniform { min: -k, max: k })
                .init(device)
        };
        let rnn = |input: usize| {
            RnnConfig::new(input, self.hidden)
                .with_layers(self.layers)
                .with_cell(self.cell)
                .init(device)
        };
        let read = self.hidden * if self.bidirectional { 2 } else { 1 };
        SentenceVae {
            embedding: EmbeddingConfig::new(self.vocab, self.embed).init(device),
            encoder: (z > 0).then(|| rnn(self.embed)),
            encoder_back: (z > 0 && self.bidirectional).then(|| rnn(self.embed)),
            mu: (z > 0).then(|| linear(read, z)),
            logvar: (z > 0).then(|| linear(read, z)),
            mu_norm: self
                .mu_batch_norm
                .filter(|_| z > 0)
                .map(|gamma| fixed_scale_norm(z, gamma, device)),
            init_state: (z > 0).then(|| linear(z, self.hidden)),
            decoder: rnn(self.embed + z),
            out: linear(self.hidden, self.vocab),
            latent: z,
            vocab: self.vocab,
        }
    }
}

/// The networks of a sentence VAE, as aggressive training (He et al. 2019)
/// updates them apart. The token embedding, shared, is the decoder's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The encoder networks, mu, logvar and BN-VAE's shift.
    Encoder,
    /// The embedding, z's map to the initial state, the decoder network and
    /// the output layer.
    Decoder,
    /// Every parameter.
    Both,
}

/// A batch norm of `features` values whose scale stays `gamma` (a parameter
/// that takes no gradient, so no optimizer moves it) and whose shift learns.
fn fixed_scale_norm(features: usize, gamma: f64, device: &Device) -> BatchNorm {
    let mut norm = BatchNormConfig::new(features).init(device);
    norm.gamma =
        Param::from_tensor(Tensor::full([features], gamma, device)).set_require_grad(false);
    norm
}

/// The sentence VAE (or, with `latent` 0, the language model).
#[derive(Module, Debug)]
pub struct SentenceVae {
    embedding: Embedding,
    encoder: Option<Rnn>,
    /// The bidirectional encoder's backward network.
    encoder_back: Option<Rnn>,
    mu: Option<Linear>,
    /// BN-VAE's batch norm of the means (its scale fixed, its shift learned).
    mu_norm: Option<BatchNorm>,
    logvar: Option<Linear>,
    /// z to the decoder's initial state.
    init_state: Option<Linear>,
    decoder: Rnn,
    /// The decoder's state to the logits of the next token.
    out: Linear,
    #[module(skip)]
    latent: usize,
    #[module(skip)]
    vocab: usize,
}

/// Dropout applied while training: each value zeroed with probability
/// `rate`, the rest scaled by 1 / (1 - rate), the draws from the run's
/// generator (burn's own dropout draws from the device's).
pub struct Dropout<'a> {
    /// The probability of zeroing a value.
    pub rate: f64,
    /// Where the draws come from.
    pub rng: &'a mut Rng,
}

impl Dropout<'_> {
    fn apply<const D: usize>(&mut self, x: Tensor<D>) -> Tensor<D> {
        if self.rate <= 0.0 {
            return x;
        }
        let dims = x.dims();
        let keep = 1.0 - self.rate;
        let scale = (1.0 / keep) as f32;
        let n: usize = dims.iter().product();
        let mask: Vec<f32> = (0..n)
            .map(|_| {
                if self.rng.random::<f64>() < keep {
                    scale
                } else {
                    0.0
                }
            })
            .collect();
        let device = x.device();
        x * Tensor::<D>::from_data(TensorData::new(mask, dims), &device)
    }
}

/// A batch of sentences as the networks read them, padded to its longest.
#[derive(Debug, Clone)]
pub struct TokenBatch {
    /// The sentences' tokens, `[batch, steps]`, padded with `PAD`.
    pub tokens: Vec<u32>,
    /// The decoder's targets: tokens then `EOS`, `[batch, steps + 1]`.
    pub targets: Vec<u32>,
    /// Rows.
    pub rows: usize,
    /// The longest sentence's tokens.
    pub steps: usize,
    /// Tokens of each row, its end token included.
    pub lengths: Vec<usize>,
}

impl TokenBatch {
    /// The batch of `sentences` (each non-empty).
    pub fn new(sentences: &[&[u32]]) -> TokenBatch {
        let rows = sentences.len();
        let steps = sentences.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
        let mut tokens = vec![PAD; rows * steps];
        let mut targets = vec![PAD; rows * (steps + 1)];
        for (i, s) in sentences.iter().enumerate() {
            tokens[i * steps..i * steps + s.len()].copy_from_slice(s);
            let t = &mut targets[i * (steps + 1)..(i + 1) * (steps + 1)];
            t[..s.len()].copy_from_slice(s);
            t[s.len()] = EOS;
        }
        TokenBatch {
            tokens,
            targets,
            rows,
            steps,
            lengths: sentences.iter().map(|s| s.len() + 1).collect(),
        }
    }

    /// Tokens predicted in the batch (end tokens included): the words of
    /// per-word figures.
    pub fn words(&self) -> usize {
        self.lengths.iter().sum()
    }

    /// The decoder's inputs: the start token then the sentence, each token
    /// replaced by `UNK` with probability `word_dropout` (drawn from `rng`;
    /// none at 0), `[batch, steps + 1]`.
    pub fn decoder_inputs(&self, word_dropout: f64, rng: Option<&mut Rng>) -> Vec<u32> {
        let s1 = self.steps + 1;
        let mut inputs = vec![PAD; self.rows * s1];
        let mut rng = rng;
        for i in 0..self.rows {
            inputs[i * s1] = BOS;
            for t in 0..self.lengths[i] - 1 {
                let token = self.tokens[i * self.steps + t];
                let drop = match rng.as_deref_mut() {
                    Some(r) if word_dropout > 0.0 => r.random::<f64>() < word_dropout,
                    _ => false,
                };
                inputs[i * s1 + t + 1] = if drop { UNK } else { token };
            }
        }
        inputs
    }

    /// Each row's tokens in reverse order (its padding still after them),
    /// for a backward encoder, `[batch, steps]`.
    pub fn reversed_tokens(&self) -> Vec<u32> {
        let mut out = self.tokens.clone();
        for (row, &len) in out.chunks_mut(self.steps).zip(&self.lengths) {
            row[..len - 1].reverse();
        }
        out
    }

    /// The encoder's mask, `[batch, steps]`: 1 for each row's tokens (its
    /// length less the end token), 0 for padding.
    pub fn token_mask(&self, device: &Device) -> Tensor<2> {
        let mut m = vec![0.0f32; self.rows * self.steps];
        for (row, &length) in m.chunks_mut(self.steps.max(1)).zip(&self.lengths) {
            row[..(length - 1).min(self.steps)].fill(1.0);
        }
        Tensor::from_data(TensorData::new(m, [self.rows, self.steps]), device)
    }

    /// The real positions of the `[batch, steps + 1]` targets (each row's
    /// tokens and its end token), row-major, padding left out.
    pub fn target_positions(&self) -> Vec<usize> {
        let width = self.steps + 1;
        let rows = self.lengths.iter().enumerate();
        rows.flat_map(|(row, &length)| row * width..row * width + length.min(width))
            .collect()
    }
}

/// Token ids as an int tensor.
pub fn int_tensor(ids: &[u32], rows: usize, cols: usize, device: &Device) -> Tensor<2, Int> {
    let ids: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
    Tensor::from_data(TensorData::new(ids, [rows, cols]), device)
}

/// -log softmax(logits_n)[target_n] of each row: the token observation
/// model, a softmax over the vocabulary.
///
/// # Shapes
/// - `logits`: `[n, vocab]`; `targets`: n ids; returns `[n]`
pub fn token_nll(logits: Tensor<2>, targets: &[u32]) -> Tensor<1> {
    let (device, n) = (logits.device(), targets.len());
    if crate::kernels::fused_applies(&logits) {
        // One pass forward and one backward (see `kernels::softmax`).
        let ids: Vec<f32> = targets.iter().map(|&t| t as f32).collect();
        let ids = Tensor::<1>::from_data(TensorData::new(ids, [n]), &device);
        return crate::kernels::softmax::token_nll(logits, ids, Tensor::ones([n], &device));
    }
    let ids = int_tensor(targets, n, 1, &device);
    activation::log_softmax(logits, 1)
        .gather(1, ids)
        .reshape([n])
        .neg()
}

impl SentenceVae {
    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.out.weight.val().device()
    }

    /// Size of z (0 for the language model).
    pub fn latent(&self) -> usize {
        self.latent
    }

    /// Tokens in the vocabulary.
    pub fn vocab(&self) -> usize {
        self.vocab
    }

    /// q(z|x) of each sentence (None for the language model).
    ///
    /// # Shapes
    /// - returns `[batch, latent]` mean and log-variance
    pub fn posterior(
        &self,
        batch: &TokenBatch,
        dropout: Option<&mut Dropout<'_>>,
    ) -> Option<DiagonalGaussian> {
        let device = &self.device();
        let (encoder, mu, logvar) = (
            self.encoder.as_ref()?,
            self.mu.as_ref()?,
            self.logvar.as_ref()?,
        );
        let h0 = Tensor::zeros([batch.rows, encoder.hidden()], device);
        let mask = batch.token_mask(device);
        let mut dropout = dropout;
        let mut read = |rnn: &Rnn, tokens: &[u32]| {
            let mut x = self
                .embedding
                .forward(int_tensor(tokens, batch.rows, batch.steps, device));
            if let Some(d) = dropout.as_deref_mut() {
                x = d.apply(x);
            }
            rnn.forward(x, h0.clone(), Some(&mask)).1
        };
        let mut last = read(encoder, &batch.tokens);
        if let Some(back) = &self.encoder_back {
            last = Tensor::cat(vec![last, read(back, &batch.reversed_tokens())], 1);
        }
        // The batch norm uses the batch's statistics in training (on an
        // autodiff device) and its running ones otherwise, as burn's does.
        let mut mean = dense(mu, last.clone(), None);
        if let Some(norm) = &self.mu_norm {
            mean = norm.forward(mean);
        }
        Some(DiagonalGaussian::new(mean, dense(logvar, last, None)))
    }

    /// The decoder's initial state from z (zeros for the language model).
    ///
    /// # Shapes
    /// - `z`: `[rows, latent]`; returns `[rows, hidden]`
    pub fn initial_state(&self, z: Option<&Tensor<2>>, rows: usize) -> Tensor<2> {
        match (&self.init_state, z) {
            (Some(l), Some(z)) => dense(l, z.clone(), None),
            _ => Tensor::zeros([rows, self.decoder.hidden()], &self.device()),
        }
    }

    /// The logits of every next token given the decoder's `inputs` and z.
    ///
    /// # Shapes
    /// - `inputs`: `[rows, steps]` ids; `z`: `[rows, latent]`; returns
    ///   `[rows * steps, vocab]`; the tests' reference for the whole grid
    ///   (training and scoring take only the real positions, see
    ///   [`SentenceVae::reconstruction_nll`])
    #[cfg(test)]
    fn logits(&self, inputs: Tensor<2, Int>, z: Option<&Tensor<2>>) -> Tensor<2> {
        dense(&self.out, self.decoder_outputs(inputs, z, None), None)
    }

    /// The decoder's top-layer output at every step (after dropout, in
    /// training), the input of the vocabulary's product.
    ///
    /// # Shapes
    /// - `inputs`: `[rows, steps]` ids; `z`: `[rows, latent]`; returns
    ///   `[rows * steps, hidden]`
    fn decoder_outputs(
        &self,
        inputs: Tensor<2, Int>,
        z: Option<&Tensor<2>>,
        mut dropout: Option<&mut Dropout<'_>>,
    ) -> Tensor<2> {
        let [rows, steps] = inputs.dims();
        let mut x = self.embedding.forward(inputs);
        if let Some(d) = dropout.as_deref_mut() {
            x = d.apply(x);
        }
        if let Some(z) = z.filter(|_| self.latent > 0) {
            let every = z
                .clone()
                .unsqueeze_dim::<3>(1)
                .expand([rows, steps, self.latent]);
            x = Tensor::cat(vec![x, every], 2);
        }
        let h0 = self.initial_state(z, rows);
        let (out, _) = self.decoder.forward(x, h0, None);
        let out = out.reshape([rows * steps, self.decoder.hidden()]);
        match dropout {
            Some(d) => d.apply(out),
            None => out,
        }
    }

    /// -log p(x|z) of each sentence (of x, for the language model).
    ///
    /// # Shapes
    /// - `inputs`: `[rows, steps + 1]` (see [`TokenBatch::decoder_inputs`]);
    ///   `z`: `[rows, latent]`; returns `[rows]`
    pub fn reconstruction_nll(
        &self,
        batch: &TokenBatch,
        inputs: &[u32],
        z: Option<&Tensor<2>>,
        dropout: Option<&mut Dropout<'_>>,
    ) -> Tensor<1> {
        let device = &self.device();
        let width = batch.steps + 1;
        let inputs = int_tensor(inputs, batch.rows, width, device);
        let outputs = self.decoder_outputs(inputs, z, dropout);
        // Only the real positions reach the vocabulary's product, the
        // largest of a step: the padding of a bucketed batch (about 5 % of
        // the positions on WordNet's sentences) would cost as much there.
        let positions = batch.target_positions();
        let targets: Vec<u32> = positions.iter().map(|&t| batch.targets[t]).collect();
        let index = |of: &dyn Fn(usize) -> usize| {
            let v: Vec<i64> = positions.iter().map(|&t| of(t) as i64).collect();
            Tensor::<1, Int>::from_data(TensorData::new(v, [positions.len()]), device)
        };
        let logits = dense(&self.out, outputs.select(0, index(&|t| t)), None);
        Tensor::zeros([batch.rows], device).select_assign(
            0,
            index(&|t| t / width),
            token_nll(logits, &targets),
            IndexingUpdateOp::Add,
        )
    }

    /// One decoding step for generation: the logits of the next token after
    /// `token` in each row, and the new states (one per layer).
    ///
    /// # Shapes
    /// - `token`: `rows` ids; `z`: `[rows, latent]`; `states`: `layers` of
    ///   `[rows, hidden]`; returns `[rows, vocab]`
    pub fn step(
        &self,
        token: &[u32],
        z: Option<&Tensor<2>>,
        states: Vec<Tensor<2>>,
    ) -> (Tensor<2>, Vec<Tensor<2>>) {
        let device = &self.device();
        let rows = token.len();
        let x = self
            .embedding
            .forward(int_tensor(token, rows, 1, device))
            .reshape([rows, self.embedding.weight.val().dims()[1]]);
        let mut x = match z.filter(|_| self.latent > 0) {
            Some(z) => Tensor::cat(vec![x, z.clone()], 1),
            None => x,
        };
        let mut next = Vec::with_capacity(states.len());
        for (layer, state) in self.decoder.layers().iter().zip(states) {
            let (h, state) = layer.step(x, state);
            x = h;
            next.push(state);
        }
        (dense(&self.out, x, None), next)
    }

    /// The gradients in `grads` of the parameters of `part`.
    pub fn gradients(&self, grads: &burn::tensor::Gradients, part: Part) -> ParamGradients {
        match part {
            Part::Both => ParamGradients::collect(self, grads),
            Part::Encoder => ParamGradients::collect(&self.encoder, grads)
                .merged(ParamGradients::collect(&self.encoder_back, grads))
                .merged(ParamGradients::collect(&self.mu, grads))
                .merged(ParamGradients::collect(&self.logvar, grads))
                .merged(ParamGradients::collect(&self.mu_norm, grads)),
            Part::Decoder => ParamGradients::collect(&self.embedding, grads)
                .merged(ParamGradients::collect(&self.init_state, grads))
                .merged(ParamGradients::collect(&self.decoder, grads))
                .merged(ParamGradients::collect(&self.out, grads)),
        }
    }

    /// BN-VAE's batch norm, where there is one (its running statistics are
    /// put back when a training step is skipped).
    pub(crate) fn batch_norms(&self) -> Vec<&BatchNorm> {
        self.mu_norm.iter().collect()
    }

    /// The decoder's starting states for generation, one per layer.
    pub fn start_states(&self, z: Option<&Tensor<2>>, rows: usize) -> Vec<Tensor<2>> {
        let h0 = self.initial_state(z, rows);
        let layers = self.decoder.layers();
        layers.iter().map(|l| l.start_state(h0.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// -log softmax(row)[k], in f64.
    fn nll_by_hand(row: &[f32], k: usize) -> f64 {
        let lse = row.iter().map(|&l| f64::from(l).exp()).sum::<f64>().ln();
        lse - f64::from(row[k])
    }

    #[test]
    fn token_nll_is_minus_the_log_softmax_pick() {
        for device in [Device::flex(), Device::flex().autodiff()] {
            let logits = [[0.5f32, -1.0, 2.0], [0.0, 0.0, 0.0], [1.0, 3.0, -2.0]];
            let flat: Vec<f32> = logits.iter().flatten().copied().collect();
            let logits_t = Tensor::<2>::from_data(TensorData::new(flat, [3, 3]), &device);
            let got: Vec<f32> = token_nll(logits_t, &[2, 0, 1])
                .into_data()
                .try_to_vec::<f32>()
                .unwrap();
            for (i, k) in [2, 0, 1].into_iter().enumerate() {
                let want = nll_by_hand(&logits[i], k);
                assert!((f64::from(got[i]) - want).abs() < 1e-5, "{got:?}");
            }
        }
    }

    #[test]
    fn reconstruction_sums_the_real_positions_of_each_sentence() {
        let device = Device::flex();
        let model = SentenceVaeConfig {
            vocab: 9,
            embed: 4,
            hidden: 5,
            layers: 1,
            latent: 3,
            cell: CellKind::Gru,
            bidirectional: false,
            mu_batch_norm: None,
        }
        .init(&device);
        // Rows of 4, 2 and 3 real positions (end token included) of 4.
        let batch = TokenBatch::new(&[&[4, 5, 6], &[7], &[8, 4]]);
        let inputs = batch.decoder_inputs(0.0, None);
        let z = Tensor::<2>::random(
            [3, 3],
            burn::tensor::Distribution::Normal(0.0, 1.0),
            &device,
        );
        let got: Vec<f32> = model
            .reconstruction_nll(&batch, &inputs, Some(&z), None)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let all: Vec<f32> = model
            .logits(int_tensor(&inputs, 3, 4, &device), Some(&z))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (row, &length) in batch.lengths.iter().enumerate() {
            let want: f64 = (0..length)
                .map(|t| {
                    let at = row * 4 + t;
                    nll_by_hand(&all[at * 9..(at + 1) * 9], batch.targets[at] as usize)
                })
                .sum();
            assert!(
                (f64::from(got[row]) - want).abs() < 1e-4,
                "row {row}: {} vs {want}",
                got[row]
            );
        }
    }

    #[test]
    fn batches_pad_and_word_dropout_spares_the_start_token() {
        let b = TokenBatch::new(&[&[5, 6, 7], &[8]]);
        assert_eq!((b.rows, b.steps, b.words()), (2, 3, 6));
        assert_eq!(b.targets, [5, 6, 7, EOS, 8, EOS, PAD, PAD]);
        assert_eq!(
            b.decoder_inputs(0.0, None),
            [BOS, 5, 6, 7, BOS, 8, PAD, PAD]
        );
        let mut rng = crate::random::seeded(0, crate::random::Stream::Train);
        // Every word dropped, the start token and the padding kept.
        assert_eq!(
            b.decoder_inputs(1.0, Some(&mut rng)),
            [BOS, UNK, UNK, UNK, BOS, UNK, PAD, PAD]
        );
        // Of the targets' 2 x 4 grid, positions 6 and 7 are padding.
        assert_eq!(b.target_positions(), [0, 1, 2, 3, 4, 5]);
        let m: Vec<f32> = b
            .token_mask(&Device::flex())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(m, [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn the_decoders_step_agrees_with_its_whole_sequence_pass() {
        for cell in [CellKind::Gru, CellKind::Lstm] {
            step_agrees(cell);
        }
    }

    #[test]
    fn a_bidirectional_encoder_reads_each_sentence_backwards_too() {
        let batch = TokenBatch::new(&[&[4, 5, 6], &[7, 8]]);
        assert_eq!(batch.reversed_tokens(), [6, 5, 4, 8, 7, PAD]);
        let device = Device::flex();
        let config = |bidirectional| SentenceVaeConfig {
            vocab: 9,
            embed: 4,
            hidden: 5,
            layers: 1,
            latent: 3,
            cell: CellKind::Lstm,
            bidirectional,
            mu_batch_norm: None,
        };
        let one_way = config(false).init(&device);
        let both = config(true).init(&device);
        assert!(both.num_params() > one_way.num_params());
        // A short sentence padded in a batch gets the code it gets alone:
        // the backward pass starts at its last word, not at the padding.
        let mu = |sentences: &[&[u32]]| -> Vec<f32> {
            let q = both.posterior(&TokenBatch::new(sentences), None).unwrap();
            q.mu.into_data().try_to_vec::<f32>().unwrap()
        };
        let together = mu(&[&[4, 5, 6, 7], &[8, 4]]);
        let alone = mu(&[&[8, 4]]);
        for (a, b) in together[3..].iter().zip(&alone) {
            assert!((a - b).abs() < 1e-5, "{together:?} {alone:?}");
        }
        assert_ne!(mu(&[&[4, 5, 6]]), mu(&[&[6, 5, 4]]));
    }

    #[test]
    fn bn_vae_normalizes_the_means_at_a_scale_no_gradient_moves() {
        let device = Device::flex().autodiff();
        let model = SentenceVaeConfig {
            vocab: 12,
            embed: 4,
            hidden: 6,
            layers: 1,
            latent: 3,
            cell: CellKind::Gru,
            bidirectional: false,
            mu_batch_norm: Some(0.7),
        }
        .init(&device);
        let sentences: Vec<Vec<u32>> = (0..16u32)
            .map(|i| (0..1 + i % 5).map(|t| 4 + (i * 3 + t) % 8).collect())
            .collect();
        let refs: Vec<&[u32]> = sentences.iter().map(Vec::as_slice).collect();
        let batch = TokenBatch::new(&refs);
        // In training each dimension of the batch's means has mean 0 (the
        // shift starts at 0) and standard deviation gamma, less what batch
        // norm's epsilon of 1e-5 takes off: gamma sqrt(v / (v + 1e-5)) for
        // a raw variance v (small at initialization, so the epsilon counts).
        let mu = model.posterior(&batch, None).unwrap().mu;
        let mut raw = model.clone();
        raw.mu_norm = None;
        let columns = |mu: Tensor<2>| {
            let values: Vec<f32> = mu.into_data().try_to_vec::<f32>().unwrap();
            (0..3)
                .map(|k| {
                    let col: Vec<f64> = values
                        .iter()
                        .skip(k)
                        .step_by(3)
                        .map(|&v| f64::from(v))
                        .collect();
                    let mean = col.iter().sum::<f64>() / 16.0;
                    let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 16.0;
                    (mean, var)
                })
                .collect::<Vec<_>>()
        };
        let raw = columns(raw.posterior(&batch, None).unwrap().mu);
        for ((mean, var), (_, raw_var)) in columns(mu.clone()).into_iter().zip(raw) {
            assert!(mean.abs() < 1e-4, "{mean}");
            let want = 0.7 * (raw_var / (raw_var + 1e-5)).sqrt();
            assert!((var.sqrt() - want).abs() < 1e-4, "{} vs {want}", var.sqrt());
        }
        // The shift takes a gradient, the scale none.
        let norm = model.mu_norm.as_ref().unwrap();
        let grads = (mu.clone() * mu).sum().backward();
        assert!(norm.gamma.val().grad(&grads).is_none());
        assert!(norm.beta.val().grad(&grads).is_some());
        // Off the training device, the running statistics are used: a
        // single sentence gets a finite code.
        let valid = model.valid();
        let one = valid.posterior(&TokenBatch::new(&[&[4, 5]]), None).unwrap();
        let v: Vec<f32> = one.mu.into_data().try_to_vec::<f32>().unwrap();
        assert!(v.iter().all(|x| x.is_finite()), "{v:?}");
    }

    fn step_agrees(cell: CellKind) {
        let device = Device::flex();
        let config = SentenceVaeConfig {
            vocab: 9,
            embed: 4,
            hidden: 5,
            layers: 2,
            latent: 3,
            cell,
            bidirectional: false,
            mu_batch_norm: None,
        };
        let model = config.init(&device);
        let batch = TokenBatch::new(&[&[4, 5, 6], &[7, 8, 4]]);
        let inputs = batch.decoder_inputs(0.0, None);
        let z = Tensor::<2>::from_data(
            TensorData::new(vec![0.3f32, -1.0, 0.5, 1.2, 0.0, -0.4], [2, 3]),
            &device,
        );
        let whole: Vec<f32> = model
            .logits(int_tensor(&inputs, 2, 4, &device), Some(&z))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let mut states = model.start_states(Some(&z), 2);
        for t in 0..4 {
            let tokens = [inputs[t], inputs[4 + t]];
            let (logits, next) = model.step(&tokens, Some(&z), states);
            states = next;
            let step: Vec<f32> = logits.into_data().try_to_vec::<f32>().unwrap();
            for row in 0..2 {
                for k in 0..9 {
                    let w = whole[(row * 4 + t) * 9 + k];
                    assert!((step[row * 9 + k] - w).abs() < 1e-5, "step {t} row {row}");
                }
            }
        }
    }
}
