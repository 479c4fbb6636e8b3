//! Sentences out of a model: decoding codes z into tokens (greedy, sampled
//! at a temperature, or by beam search), and the uses built on it: samples
//! from the prior, reconstructions, Bowman's homotopies between two
//! sentences, sentence features and per-sentence scores.

use burn::prelude::*;
use burn::tensor::TensorData;
use rand::RngExt;
use serde::Serialize;

use super::corpus::{BOS, EOS, Encoded, PAD, TokenLevel, UNK, Vocabulary};
use super::eval::{batches, noise};
use super::model::SentenceVae;
use crate::error::{Error, Result};
use crate::random::{self, Rng, Stream};

/// How tokens are chosen from the decoder's distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decoding {
    /// The likeliest token at every step.
    Greedy,
    /// A draw from the softmax of the logits divided by the temperature.
    Sample {
        /// Above 0; 1 is the model's own distribution.
        temperature: f64,
    },
    /// Beam search of this width, the likeliest whole sentence kept.
    Beam {
        /// Hypotheses kept at every step (1 is greedy).
        width: usize,
    },
}

/// How codes become sentences: the choice of each token, the longest
/// sentence, and whether `<unk>` may be written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecodeOptions {
    /// How each token is chosen.
    pub how: Decoding,
    /// Tokens written at most per sentence.
    pub max_length: usize,
    /// Let the decoder write `<unk>`.
    pub allow_unk: bool,
}

impl Decoding {
    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Decoding::Sample { temperature } if !(temperature.is_finite() && temperature > 0.0) => {
                Err(Error::setting(
                    "--temperature",
                    format!("{temperature}; use a value above 0 (1 samples the model as it is)"),
                ))
            }
            Decoding::Beam { width } if width == 0 || width > 100 => Err(Error::setting(
                "--beam",
                format!("{width}; use a width of 1 to 100"),
            )),
            _ => Ok(()),
        }
    }
}

fn to_rows(t: Tensor<2>) -> Vec<Vec<f32>> {
    let [_, cols] = t.dims();
    let v: Vec<f32> = t
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    v.chunks(cols.max(1)).map(<[f32]>::to_vec).collect()
}

/// The token ids decoded from each row of `z` (None for the language
/// model, with `rows` sentences), at most `max_length` tokens each, end
/// token not included.
///
/// # Shapes
/// - `z`: `[rows, latent]`
pub fn decode(
    model: &SentenceVae,
    z: Option<Tensor<2>>,
    rows: usize,
    options: DecodeOptions,
    rng: &mut Rng,
) -> Vec<Vec<u32>> {
    let DecodeOptions {
        how,
        max_length,
        allow_unk,
    } = options;
    if let Decoding::Beam { width } = how {
        return (0..rows)
            .map(|i| {
                let zi = z
                    .as_ref()
                    .map(|z| z.clone().slice([i..i + 1, 0..model.latent()]));
                beam(model, zi, max_length, width, allow_unk)
            })
            .collect();
    }
    let mut states = model.start_states(z.as_ref(), rows);
    let mut token = vec![BOS; rows];
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); rows];
    let mut done = vec![false; rows];
    for _ in 0..=max_length {
        let (logits, next) = model.step(&token, z.as_ref(), states);
        states = next;
        for (i, mut row) in to_rows(logits).into_iter().enumerate() {
            if done[i] {
                continue;
            }
            ban(&mut row, allow_unk);
            let t = choose(&row, how, rng);
            if t == EOS || out[i].len() >= max_length {
                done[i] = true;
            } else {
                out[i].push(t);
            }
            token[i] = t;
        }
        if done.iter().all(|&d| d) {
            break;
        }
    }
    out
}

/// Rules out the tokens a sentence never holds (padding, the start token)
/// and, unless `allow_unk`, `<unk>`: a sentence written with `<unk>` where a
/// rare word would go reads worse than with the likeliest known word.
fn ban(logits: &mut [f32], allow_unk: bool) {
    for id in [PAD, BOS] {
        logits[id as usize] = f32::NEG_INFINITY;
    }
    if !allow_unk {
        logits[UNK as usize] = f32::NEG_INFINITY;
    }
}

/// A token from one row of logits.
fn choose(logits: &[f32], how: Decoding, rng: &mut Rng) -> u32 {
    let argmax = || {
        logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(EOS, |(i, _)| i as u32)
    };
    match how {
        Decoding::Greedy | Decoding::Beam { .. } => argmax(),
        Decoding::Sample { temperature } => {
            let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let w: Vec<f64> = logits
                .iter()
                .map(|&l| ((f64::from(l) - f64::from(max)) / temperature).exp())
                .collect();
            let total: f64 = w.iter().sum();
            let mut u = rng.random::<f64>() * total;
            for (i, wi) in w.iter().enumerate() {
                u -= wi;
                if u <= 0.0 {
                    return i as u32;
                }
            }
            argmax()
        }
    }
}

/// Beam search for one code: the hypotheses of highest log-probability,
/// `width` kept at each step; a finished hypothesis (end token) competes
/// by its total log-probability.
fn beam(
    model: &SentenceVae,
    z: Option<Tensor<2>>,
    max_length: usize,
    width: usize,
    allow_unk: bool,
) -> Vec<u32> {
    // (tokens, log-probability, finished)
    let mut hyps: Vec<(Vec<u32>, f64, bool)> = vec![(Vec::new(), 0.0, false)];
    let mut states = model.start_states(z.as_ref(), 1);
    for _ in 0..=max_length {
        let live: Vec<usize> = (0..hyps.len()).filter(|&i| !hyps[i].2).collect();
        if live.is_empty() {
            break;
        }
        let rows = live.len();
        let last: Vec<u32> = live
            .iter()
            .map(|&i| *hyps[i].0.last().unwrap_or(&BOS))
            .collect();
        let zs = z.as_ref().map(|z| z.clone().repeat_dim(0, rows));
        let picked: Vec<Tensor<2>> = states
            .iter()
            .map(|s| {
                let idx: Vec<i64> = live.iter().map(|&i| i as i64).collect();
                let idx = Tensor::<1, burn::tensor::Int>::from_data(
                    TensorData::new(idx, [rows]),
                    &s.device(),
                );
                s.clone().select(0, idx)
            })
            .collect();
        let (logits, next) = model.step(&last, zs.as_ref(), picked);
        let log_p: Vec<Vec<f32>> = to_rows(logits)
            .into_iter()
            .map(|mut row| {
                ban(&mut row, allow_unk);
                let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let lse = max + row.iter().map(|&l| (l - max).exp()).sum::<f32>().ln();
                row.iter().map(|&l| l - lse).collect()
            })
            .collect();
        let mut candidates: Vec<(Vec<u32>, f64, bool, Option<usize>)> = hyps
            .iter()
            .filter(|h| h.2)
            .map(|h| (h.0.clone(), h.1, true, None))
            .collect();
        for (r, &i) in live.iter().enumerate() {
            let mut ranked: Vec<(usize, f32)> = log_p[r].iter().copied().enumerate().collect();
            ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
            for &(t, lp) in ranked.iter().take(width) {
                let mut tokens = hyps[i].0.clone();
                let finished = t as u32 == EOS || tokens.len() + 1 >= max_length;
                if t as u32 != EOS {
                    tokens.push(t as u32);
                }
                candidates.push((tokens, hyps[i].1 + f64::from(lp), finished, Some(r)));
            }
        }
        candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
        candidates.truncate(width);
        // The states of the kept live hypotheses, in their new order.
        let from: Vec<i64> = candidates
            .iter()
            .filter(|c| !c.2)
            .filter_map(|c| c.3.map(|r| r as i64))
            .collect();
        states = match from.len() {
            0 => next,
            n => next
                .into_iter()
                .map(|s| {
                    let idx = Tensor::<1, burn::tensor::Int>::from_data(
                        TensorData::new(from.clone(), [n]),
                        &s.device(),
                    );
                    s.select(0, idx)
                })
                .collect(),
        };
        // Live hypotheses first, in the order of `states`.
        let (live_c, done_c): (Vec<_>, Vec<_>) = candidates.into_iter().partition(|c| !c.2);
        hyps = live_c
            .into_iter()
            .chain(done_c)
            .map(|c| (c.0, c.1, c.2))
            .collect();
        // `states` row k belongs to the k-th live hypothesis.
        let live_now = hyps.iter().filter(|h| !h.2).count();
        if live_now == 0 {
            break;
        }
    }
    hyps.into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|h| h.0)
        .unwrap_or_default()
}

/// Sentences decoded from `n` draws of the prior N(0, I) (from the
/// language model for a model without z).
pub fn sample_sentences(
    model: &SentenceVae,
    vocab: &Vocabulary,
    level: TokenLevel,
    n: usize,
    options: DecodeOptions,
    seed: u64,
) -> Result<Vec<String>> {
    options.how.validate()?;
    let mut rng = random::seeded(seed, Stream::Sample);
    let z = (model.latent() > 0).then(|| noise(&mut rng, n, model.latent(), &model.device()));
    Ok(decode(model, z, n, options, &mut rng)
        .iter()
        .map(|ids| vocab.detokenize(ids, level))
        .collect())
}

/// The posterior q(z|x) of each sentence: its means and log-variances,
/// the sentence features `encode` writes.
pub fn encode_sentences(
    model: &SentenceVae,
    sentences: &[Vec<u32>],
    batch: usize,
) -> Result<crate::latent::Encoded> {
    if model.latent() == 0 {
        return Err(Error::setting(
            "--run",
            "the language model has no latent code z; train a sentence VAE (--model vae)",
        ));
    }
    let started = std::time::Instant::now();
    let (mut mu, mut logvar) = (Vec::new(), Vec::new());
    let flat = |t: Tensor<2>| {
        t.into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap_or_default()
    };
    for b in batches(sentences, batch) {
        if let Some(q) = model.posterior(&b, None) {
            mu.extend(flat(q.mu));
            logvar.extend(flat(q.logvar));
        }
    }
    Ok(crate::latent::Encoded {
        latent_dim: model.latent(),
        mu,
        logvar,
        labels: None,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn means_tensor(model: &SentenceVae, sentences: &[Vec<u32>]) -> Result<Tensor<2>> {
    let z = model.latent();
    let means = encode_sentences(model, sentences, 256)?.mu;
    Ok(Tensor::from_data(
        TensorData::new(means, [sentences.len(), z]),
        &model.device(),
    ))
}

/// Each sentence beside its decoding from its posterior mean.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reconstruction {
    /// The sentence as read (tokenized, joined back).
    pub input: String,
    /// Its decoding.
    pub output: String,
}

/// The decodings of `encoded`'s sentences from their posterior means.
pub fn reconstruct(
    model: &SentenceVae,
    vocab: &Vocabulary,
    level: TokenLevel,
    encoded: &Encoded,
    options: DecodeOptions,
    seed: u64,
) -> Result<Vec<Reconstruction>> {
    options.how.validate()?;
    let mu = means_tensor(model, &encoded.sentences)?;
    let mut rng = random::seeded(seed, Stream::Sample);
    let outs = decode(model, Some(mu), encoded.sentences.len(), options, &mut rng);
    Ok(encoded
        .sentences
        .iter()
        .zip(outs)
        .map(|(s, o)| Reconstruction {
            input: vocab.detokenize(s, level),
            output: vocab.detokenize(&o, level),
        })
        .collect())
}

/// Bowman et al.'s homotopy: the decodings of `steps + 1` codes evenly
/// spaced on the line from the first sentence's posterior mean to the
/// second's (the ends included), decoded by `options` (greedy, in the paper).
pub fn interpolate(
    model: &SentenceVae,
    vocab: &Vocabulary,
    level: TokenLevel,
    pair: [&[u32]; 2],
    steps: usize,
    options: DecodeOptions,
) -> Result<Vec<String>> {
    options.how.validate()?;
    let z = model.latent();
    let mu = means_tensor(model, &[pair[0].to_vec(), pair[1].to_vec()])?;
    let rows: Vec<Vec<f32>> = to_rows(mu);
    let steps = steps.max(1);
    let codes: Vec<f32> = (0..=steps)
        .flat_map(|k| {
            let t = k as f32 / steps as f32;
            (0..z)
                .map(|d| (1.0 - t) * rows[0][d] + t * rows[1][d])
                .collect::<Vec<_>>()
        })
        .collect();
    let codes = Tensor::from_data(TensorData::new(codes, [steps + 1, z]), &model.device());
    let mut rng = random::seeded(0, Stream::Sample);
    Ok(decode(model, Some(codes), steps + 1, options, &mut rng)
        .iter()
        .map(|ids| vocab.detokenize(ids, level))
        .collect())
}

/// The word a sentence given to [`fill_blanks`] marks a missing word with.
pub const BLANK: &str = "_";

/// `lines` tokenized by the run's tokenizer, with the positions of the
/// [`BLANK`] words marked; sentences longer than the maximum are cut.
pub fn with_blanks(
    lines: &[String],
    tokenizer: &super::corpus::TokenizerConfig,
    vocab: &Vocabulary,
) -> (Vec<Vec<u32>>, Vec<Vec<bool>>) {
    lines
        .iter()
        .map(|l| {
            let tokens = tokenizer.split(l);
            let tokens = &tokens[..tokens.len().min(tokenizer.max_length)];
            let blanks: Vec<bool> = tokens.iter().map(|t| t == BLANK).collect();
            let ids = tokens
                .iter()
                .zip(&blanks)
                .map(|(t, &b)| if b { super::corpus::UNK } else { vocab.id(t) })
                .collect();
            (ids, blanks)
        })
        .unzip()
}

/// Fills the words `blanks` marks in each sentence: `rounds` times, the
/// sentence (its blanks as `<unk>`, then as the last round's fills) is
/// encoded to its posterior mean, and the decoder reads it left to right,
/// putting at each blank its likeliest word given z and the words before
/// (z carries the words after). The language model fills from the words
/// before alone. Special tokens are never chosen.
pub fn fill_blanks(
    model: &SentenceVae,
    sentences: &[Vec<u32>],
    blanks: &[Vec<bool>],
    rounds: usize,
) -> Result<Vec<Vec<u32>>> {
    if rounds == 0 {
        return Err(Error::setting(
            "--iterations",
            "0 rounds fill nothing; use at least 1 (10 is the default)",
        ));
    }
    let mut current: Vec<Vec<u32>> = sentences.to_vec();
    let rounds = if model.latent() == 0 { 1 } else { rounds };
    for _ in 0..rounds {
        let mut next = Vec::with_capacity(current.len());
        for (chunk, marks) in current.chunks(256).zip(blanks.chunks(256)) {
            let rows = chunk.len();
            let nonempty: Vec<Vec<u32>> = chunk
                .iter()
                .map(|s| {
                    if s.is_empty() {
                        vec![super::corpus::UNK]
                    } else {
                        s.clone()
                    }
                })
                .collect();
            let z = match model.latent() {
                0 => None,
                _ => Some(means_tensor(model, &nonempty)?),
            };
            let mut filled: Vec<Vec<u32>> = chunk.to_vec();
            let longest = chunk.iter().map(Vec::len).max().unwrap_or(0);
            let mut states = model.start_states(z.as_ref(), rows);
            let mut token = vec![BOS; rows];
            for t in 0..longest {
                let (logits, s) = model.step(&token, z.as_ref(), states);
                states = s;
                for (i, row) in to_rows(logits).into_iter().enumerate() {
                    if t >= filled[i].len() {
                        continue;
                    }
                    if marks[i][t] {
                        filled[i][t] = row
                            .iter()
                            .enumerate()
                            .skip(super::corpus::SPECIALS.len())
                            .max_by(|a, b| a.1.total_cmp(b.1))
                            .map_or(super::corpus::UNK, |(k, _)| k as u32);
                    }
                    token[i] = filled[i][t];
                }
            }
            next.extend(filled);
        }
        current = next;
    }
    Ok(current)
}

/// How well words hidden at random are filled back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FillReport {
    /// Sentences.
    pub sentences: usize,
    /// Words hidden.
    pub hidden_words: usize,
    /// Share of them [`fill_blanks`] put back.
    pub accuracy: f64,
    /// Share of them that are the most frequent training word: the
    /// baseline that always guesses it.
    pub most_frequent_word_accuracy: f64,
    /// Rounds of encoding and refilling.
    pub rounds: usize,
}

/// Hides each word of `sentences` with probability `p` (seeded), fills the
/// blanks and counts the words put back.
pub fn fill_accuracy(
    model: &SentenceVae,
    sentences: &[Vec<u32>],
    p: f64,
    seed: u64,
    rounds: usize,
) -> Result<FillReport> {
    let mut rng = random::seeded(seed, Stream::Eval);
    let blanks: Vec<Vec<bool>> = sentences
        .iter()
        .map(|s| s.iter().map(|_| rng.random::<f64>() < p).collect())
        .collect();
    let hidden: Vec<Vec<u32>> = sentences
        .iter()
        .zip(&blanks)
        .map(|(s, b)| {
            s.iter()
                .zip(b)
                .map(|(&t, &h)| if h { super::corpus::UNK } else { t })
                .collect()
        })
        .collect();
    let filled = fill_blanks(model, &hidden, &blanks, rounds)?;
    let commonest = super::corpus::SPECIALS.len() as u32;
    let (mut right, mut baseline, mut total) = (0usize, 0usize, 0usize);
    for ((s, f), b) in sentences.iter().zip(&filled).zip(&blanks) {
        for ((&t, &g), &h) in s.iter().zip(f).zip(b) {
            if h {
                total += 1;
                right += usize::from(t == g);
                baseline += usize::from(t == commonest);
            }
        }
    }
    let share = |k: usize| k as f64 / total.max(1) as f64;
    Ok(FillReport {
        sentences: sentences.len(),
        hidden_words: total,
        accuracy: share(right),
        most_frequent_word_accuracy: share(baseline),
        rounds: if model.latent() == 0 { 1 } else { rounds },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_follows_the_softmax_at_its_temperature() {
        let mut rng = random::seeded(0, Stream::Sample);
        let logits = [0.0f32, (2.0f32).ln(), f32::NEG_INFINITY];
        let n = 20_000;
        let ones = (0..n)
            .filter(|_| choose(&logits, Decoding::Sample { temperature: 1.0 }, &mut rng) == 1)
            .count();
        // p(1) = 2/3 at temperature 1; (2^(1/0.5)) / (1 + 4) = 0.8 at 0.5.
        assert!((ones as f64 / n as f64 - 2.0 / 3.0).abs() < 0.015);
        let ones = (0..n)
            .filter(|_| choose(&logits, Decoding::Sample { temperature: 0.5 }, &mut rng) == 1)
            .count();
        assert!((ones as f64 / n as f64 - 0.8).abs() < 0.015);
        assert_eq!(choose(&logits, Decoding::Greedy, &mut rng), 1);
        assert!(Decoding::Sample { temperature: 0.0 }.validate().is_err());
        assert!(Decoding::Beam { width: 0 }.validate().is_err());
    }
}
