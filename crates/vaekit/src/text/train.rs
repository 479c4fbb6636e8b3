//! Training a sentence VAE (or the language model): the data read and
//! tokenized once, batches bucketed by length, one optimizer step apart
//! from the epoch loop, and validation on the true ELBO (beta = 1, no
//! dropout) after every epoch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use rand::RngExt;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::corpus::{self, Encoded, Vocabulary};
use super::eval::{TextEvalOptions, TextReport, evaluate, noise};
use super::model::{Dropout, Part, SentenceVae, TokenBatch};
use super::run::{FAMILY, TextDataSummary, TextRunConfig, VOCAB};
use super::settings::TextSettings;
use crate::error::{Error, Result};
use crate::io::write_atomic;
use crate::model::weights::initialize_now;
use crate::nn::{restore_running_statistics, running_statistics};
use crate::optim::{Adam, AdamConfig, ParamGradients};
use crate::random::{self, Rng, Stream};
use crate::run::{files, save_weights, write_json, write_metrics};
use crate::train::{
    StepOutput, TrainObserver, check_new_run_dir, open_new_run_dir, optimizer_step_parts,
    remove_partial_run,
};

/// The tokenized splits of a text run.
#[derive(Debug, Clone)]
pub struct TextData {
    /// The vocabulary of the training sentences.
    pub vocab: Vocabulary,
    /// Sentences trained on.
    pub train: Encoded,
    /// Sentences validated on.
    pub val: Encoded,
    /// The test file's sentences, where there is one.
    pub test: Option<Encoded>,
}

/// Reads and tokenizes the settings' sources: the vocabulary from the
/// training lines; validation from the validation file, else a share
/// `val_fraction` of the training lines drawn by a seeded permutation.
pub fn prepare(settings: &TextSettings) -> Result<TextData> {
    let column = settings.text_column.as_deref();
    let mut lines = corpus::read_sentences(Path::new(&settings.data), column)?;
    if let Some(limit) = settings.limit {
        lines.truncate(limit);
    }
    let held_out = match &settings.valid {
        Some(path) => corpus::read_sentences(Path::new(path), column)?,
        None => {
            let order = random::permutation(
                lines.len(),
                &mut random::seeded(settings.seed, Stream::Train),
            );
            let n_val = ((lines.len() as f64) * settings.val_fraction).round() as usize;
            let val: std::collections::HashSet<usize> = order[..n_val].iter().copied().collect();
            let (v, t): (Vec<_>, Vec<_>) = lines
                .into_iter()
                .enumerate()
                .partition(|(i, _)| val.contains(i));
            lines = t.into_iter().map(|(_, l)| l).collect();
            v.into_iter().map(|(_, l)| l).collect()
        }
    };
    let (vocab, train) = corpus::build(&lines, &settings.tokenizer)?;
    if train.sentences.is_empty() {
        return Err(Error::Data(format!(
            "{} holds no sentence with a token",
            settings.data
        )));
    }
    let val = corpus::encode(&held_out, &settings.tokenizer, &vocab);
    let test = match &settings.test {
        Some(path) => Some(corpus::encode(
            &corpus::read_sentences(Path::new(path), column)?,
            &settings.tokenizer,
            &vocab,
        )),
        None => None,
    };
    Ok(TextData {
        vocab,
        train,
        val,
        test,
    })
}

/// One epoch's figures, a line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextEpochMetrics {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Mean training objective per sentence (recon + beta * KL term).
    pub train_loss: f64,
    /// Mean training reconstruction term per sentence.
    pub train_recon: f64,
    /// Mean training KL per sentence.
    pub train_kl: f64,
    /// Beta at the epoch's end.
    pub beta: f64,
    /// Validation scores (beta = 1, no dropout).
    pub val: Option<TextReport>,
    /// Seconds of training (validation not counted).
    pub seconds: f64,
    /// Training tokens (end tokens included) per second.
    pub tokens_per_second: f64,
    /// Steps skipped for a non-finite loss or gradient.
    pub skipped_steps: usize,
    /// The epoch trained with aggressive encoder updates.
    #[serde(default)]
    pub aggressive: bool,
}

/// What training a text run gives back.
#[derive(Debug, Clone)]
pub struct TextOutcome {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Every epoch's figures.
    pub metrics: Vec<TextEpochMetrics>,
    /// The best epoch by validation -ELBO, and that -ELBO per sentence.
    pub best: Option<(usize, f64)>,
}

/// Batches of the training sentences for one epoch: shuffled, cut into
/// pools of 50 batches, each pool sorted by length so that a batch holds
/// sentences of about one length (little padding), and the batches
/// shuffled.
fn bucketed(sentences: &[Vec<u32>], size: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..sentences.len()).collect();
    order.shuffle(rng);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for pool in order.chunks(size * 50) {
        let mut pool = pool.to_vec();
        pool.sort_by_key(|&i| sentences[i].len());
        batches.extend(pool.chunks(size).map(<[usize]>::to_vec));
    }
    batches.shuffle(rng);
    batches
}

/// One optimizer step on `batch`: `adams[i]` updates the parameters of
/// `parts[i]` (None: that optimizer rests this step).
///
/// The objective per sentence is recon + beta * KL, with each latent
/// dimension's batch-mean KL floored at `free_bits` when set; the step is
/// skipped (BN-VAE's running statistics put back) when the loss or gradient
/// is not finite.
pub fn text_step(
    model: SentenceVae,
    adams: &mut [&mut Adam],
    parts: &[Option<Part>],
    batch: &TokenBatch,
    settings: &TextSettings,
    beta: f64,
    rng: &mut Rng,
) -> (SentenceVae, StepOutput) {
    let statistics = running_statistics(&model.batch_norms());
    let device = model.device();
    let inputs = batch.decoder_inputs(settings.word_dropout, Some(rng));
    let rows = batch.rows as f64;
    let (recon, kl_term, kl) = {
        let mut dropout = Dropout {
            rate: settings.dropout,
            rng,
        };
        match model.posterior(batch, Some(&mut dropout)) {
            None => {
                let recon = model.reconstruction_nll(batch, &inputs, None, Some(&mut dropout));
                let zero = Tensor::<1>::zeros([1], &device);
                (recon.sum().div_scalar(rows), zero.clone(), zero)
            }
            Some(q) => {
                let eps = noise(dropout.rng, batch.rows, model.latent(), &device);
                let z = q.rsample(eps);
                let recon = model.reconstruction_nll(batch, &inputs, Some(&z), Some(&mut dropout));
                let per_dim = q.kl_per_dim().mean_dim(0); // [1, latent]
                let kl = per_dim.clone().sum();
                let term = match settings.free_bits {
                    fb if fb > 0.0 => per_dim.clamp_min(fb).sum(),
                    _ => kl.clone(),
                };
                (recon.sum().div_scalar(rows), term, kl)
            }
        }
    };
    let loss = recon.clone() + kl_term.mul_scalar(beta);
    let clip = (settings.clip_grad > 0.0).then_some(settings.clip_grad);
    let collect = |m: &SentenceVae, g: &burn::tensor::Gradients| {
        let of = |p: &Option<Part>| p.map_or_else(ParamGradients::none, |p| m.gradients(g, p));
        parts.iter().map(of).collect()
    };
    let (model, output) = optimizer_step_parts(model, adams, [loss, recon, kl], clip, collect);
    if !output.applied {
        restore_running_statistics(&model.batch_norms(), statistics);
    }
    (model, output)
}

/// Inner steps of He et al.'s encoder updates at most.
const AGGRESSIVE_MAX_STEPS: usize = 100;
/// Inner steps between two checks of whether their loss still falls.
const AGGRESSIVE_WINDOW: usize = 15;

/// He et al.'s inner loop: encoder steps (`encoder` alone moving) on
/// batches drawn at random from `sentences`, until the loss per word of a
/// window of [`AGGRESSIVE_WINDOW`] steps is no lower than the window
/// before's, or [`AGGRESSIVE_MAX_STEPS`] steps.
fn settle_encoder(
    mut model: SentenceVae,
    encoder: &mut Adam,
    sentences: &[Vec<u32>],
    settings: &TextSettings,
    beta: f64,
    rng: &mut Rng,
) -> SentenceVae {
    let (mut before, mut sum, mut words) = (f64::INFINITY, 0.0, 0usize);
    let rows = settings.batch_size.min(sentences.len());
    for i in 1..=AGGRESSIVE_MAX_STEPS {
        let refs: Vec<&[u32]> = (0..rows)
            .map(|_| sentences[rng.random_range(0..sentences.len())].as_slice())
            .collect();
        let batch = TokenBatch::new(&refs);
        let parts = [Some(Part::Encoder)];
        let (next, out) = text_step(
            model,
            &mut [&mut *encoder],
            &parts,
            &batch,
            settings,
            beta,
            rng,
        );
        model = next;
        if out.applied {
            sum += out.loss * batch.rows as f64;
            words += batch.words();
        }
        if i % AGGRESSIVE_WINDOW == 0 {
            let now = sum / words.max(1) as f64;
            if now >= before {
                break;
            }
            (before, sum, words) = (now, 0.0, 0);
        }
    }
    model
}

/// A request to train a text run into `out` (a new or empty folder).
#[derive(Debug, Clone)]
pub struct TextTrainRequest {
    /// The settings.
    pub settings: TextSettings,
    /// The run directory to create.
    pub out: PathBuf,
    /// Where to compute.
    pub device: Device,
}

fn save_model(path: &Path, model: &SentenceVae, epoch: usize) -> Result<()> {
    let meta = BTreeMap::from([("epoch".to_string(), epoch.to_string())]);
    save_weights(path, model, meta)
}

/// Trains a sentence VAE (or the language model) and writes its run.
///
/// Everything is checked (settings, then every source) before the folder
/// is made; a run that fails before its first epoch leaves no folder.
pub fn train_text(
    request: TextTrainRequest,
    observer: &mut dyn TrainObserver,
) -> Result<TextOutcome> {
    let s = &request.settings;
    s.validate()?;
    let out = &request.out;
    check_new_run_dir(out, false)?;
    let data = prepare(s)?;
    let model_config = s.model_config(data.vocab.len());
    let config = TextRunConfig {
        family: FAMILY.to_string(),
        vaekit_version: env!("CARGO_PKG_VERSION").to_string(),
        settings: s.clone(),
        model: model_config.clone(),
        data: TextDataSummary {
            train_sentences: data.train.sentences.len(),
            train_tokens: data.train.tokens(),
            val_sentences: data.val.sentences.len(),
            test_sentences: data.test.as_ref().map(|t| t.sentences.len()),
            vocab: data.vocab.len(),
            train_report: data.train.summary(s.tokenizer.max_length),
        },
    };
    let device = request.device.clone().autodiff();
    let mut model = random::init_on_cpu(&device, s.seed, |cpu| {
        let m = model_config.init(cpu);
        initialize_now(&m);
        Ok::<_, Error>(m)
    })?;
    let (_lock, created) = open_new_run_dir(out, false)?;
    let setup = write_json(&out.join(files::CONFIG), &config)
        .and_then(|()| write_atomic(&out.join(VOCAB), data.vocab.to_saved().as_bytes()));
    if let Err(e) = setup {
        remove_partial_run(out, created);
        return Err(e);
    }
    observer.on_start(&format!(
        "{} on {}: {}; vocabulary {}; validation {} sentences",
        if s.language_model {
            "language model".to_string()
        } else {
            format!("sentence VAE (z {})", s.latent)
        },
        s.data,
        config.data.train_report,
        data.vocab.len(),
        data.val.sentences.len()
    ));
    let new_adam = || {
        Adam::new(AdamConfig {
            lr: s.lr,
            ..AdamConfig::default()
        })
        .with_fused(crate::kernels::fused_available(&device))
    };
    // With aggressive training the encoder and the decoder have an
    // optimizer each (as He et al.'s), so that the encoder's inner steps do
    // not advance the decoder's moments.
    let (mut adam, mut encoder_adam) = (new_adam(), new_adam());
    let mut aggressive = s.aggressive;
    let mut best_mi = f64::NEG_INFINITY;
    let mut rng = random::seeded(s.seed, Stream::Train);
    let per_epoch = data.train.sentences.len().div_ceil(s.batch_size);
    let total = per_epoch * s.epochs;
    let mut metrics: Vec<TextEpochMetrics> = Vec::new();
    let mut best: Option<(usize, f64)> = None;
    let mut step = 0usize;
    let mut bad_in_a_row = 0usize;
    for epoch in 1..=s.epochs {
        let order = bucketed(&data.train.sentences, s.batch_size, &mut rng);
        observer.on_epoch_start(epoch, s.epochs, order.len());
        let started = Instant::now();
        let (mut sums, mut tokens, mut skipped, mut beta) = ([0.0f64; 3], 0usize, 0usize, 1.0);
        for (i, indices) in order.iter().enumerate() {
            let refs: Vec<&[u32]> = indices
                .iter()
                .map(|&j| data.train.sentences[j].as_slice())
                .collect();
            let batch = TokenBatch::new(&refs);
            beta = s.beta(step, per_epoch, total);
            if aggressive {
                let sentences = &data.train.sentences;
                model = settle_encoder(model, &mut encoder_adam, sentences, s, beta, &mut rng);
            }
            let (adams, parts): (&mut [&mut Adam], &[Option<Part>]) =
                match (s.aggressive, aggressive) {
                    (false, _) => (&mut [&mut adam], &[Some(Part::Both)]),
                    (true, true) => (&mut [&mut adam], &[Some(Part::Decoder)]),
                    (true, false) => (
                        &mut [&mut adam, &mut encoder_adam],
                        &[Some(Part::Decoder), Some(Part::Encoder)],
                    ),
                };
            let (next, output) = text_step(model, adams, parts, &batch, s, beta, &mut rng);
            model = next;
            step += 1;
            observer.on_step(i, &output);
            if observer.stop_requested() {
                // The weights of the last finished epoch stay; a run with
                // none is removed, as a failed one is.
                if epoch == 1 {
                    remove_partial_run(out, created);
                }
                return Err(Error::Interrupted { epochs: epoch - 1 });
            }
            if !output.applied {
                skipped += 1;
                bad_in_a_row += 1;
                if bad_in_a_row >= 20 {
                    return Err(Error::Training(format!(
                        "20 steps in a row gave a non-finite loss or gradient (epoch {epoch}); \
                         lower --lr or set --clip-grad"
                    )));
                }
                continue;
            }
            bad_in_a_row = 0;
            let n = batch.rows as f64;
            sums[0] += output.loss * n;
            sums[1] += output.recon * n;
            sums[2] += output.kl * n;
            tokens += batch.words();
        }
        let seconds = started.elapsed().as_secs_f64();
        let valid = model.valid();
        let val = (!data.val.sentences.is_empty()).then(|| {
            evaluate(
                &valid,
                &data.val.sentences,
                &TextEvalOptions {
                    seed: s.seed,
                    ..TextEvalOptions::default()
                },
            )
        });
        let n = data.train.sentences.len().max(1) as f64;
        let m = TextEpochMetrics {
            epoch,
            train_loss: sums[0] / n,
            train_recon: sums[1] / n,
            train_kl: sums[2] / n,
            beta,
            val,
            seconds,
            tokens_per_second: tokens as f64 / seconds.max(1e-9),
            skipped_steps: skipped,
            aggressive,
        };
        // He et al. stop the aggressive updates once the mutual information
        // on the validation sentences no longer rises.
        if let Some(mi) = m.val.as_ref().and_then(|v| v.mutual_information)
            && aggressive
        {
            if mi <= best_mi {
                aggressive = false;
                observer.on_line(&format!(
                    "aggressive encoder updates end after epoch {epoch}: the mutual information ({mi:.2}) no longer rises"
                ));
            }
            best_mi = best_mi.max(mi);
        }
        let score = m
            .val
            .as_ref()
            .map_or(m.train_recon + m.train_kl, |v| v.neg_elbo);
        save_model(&out.join(files::LAST), &valid, epoch)?;
        if best.is_none_or(|(_, b)| score < b) {
            best = Some((epoch, score));
            save_model(&out.join(files::BEST), &valid, epoch)?;
        }
        observer.on_line(&epoch_line(&m));
        metrics.push(m);
        write_metrics(&out.join(files::METRICS), &metrics)?;
    }
    Ok(TextOutcome {
        run_dir: out.clone(),
        metrics,
        best,
    })
}

/// The line printed after an epoch.
pub fn epoch_line(m: &TextEpochMetrics) -> String {
    let mut line = format!(
        "epoch {}: train recon {:.2} KL {:.2} (beta {:.2}), {:.0} tokens/s",
        m.epoch, m.train_recon, m.train_kl, m.beta, m.tokens_per_second
    );
    if let Some(v) = &m.val {
        line.push_str(&format!(
            "; val -ELBO {:.2} (KL {:.2}), {:.3} nats/word, ppl <= {:.1}",
            v.neg_elbo, v.kl, v.neg_elbo_per_word, v.elbo_perplexity
        ));
        if let (Some(mi), Some(au)) = (v.mutual_information, v.active_units) {
            line.push_str(&format!(", MI {mi:.2}, {au} active units"));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_of_one_part_moves_that_part_alone() {
        use crate::model::weights::named_tensors;
        let device = Device::flex().autodiff();
        let settings = TextSettings {
            embed: 4,
            hidden: 5,
            latent: 3,
            dropout: 0.0,
            ..TextSettings::default()
        };
        let model = settings.model_config(10).init(&device);
        let batch = TokenBatch::new(&[&[4, 5, 6], &[7, 8]]);
        let before = named_tensors(&model);
        let mut rng = random::seeded(0, Stream::Train);
        let mut adam = Adam::new(AdamConfig::default());
        let (moved, out) = text_step(
            model,
            &mut [&mut adam],
            &[Some(Part::Encoder)],
            &batch,
            &settings,
            1.0,
            &mut rng,
        );
        assert!(out.applied);
        let after = named_tensors(&moved);
        let mut changed: Vec<String> = before
            .iter()
            .zip(&after)
            .filter(|((_, a), (_, b))| a != b)
            .map(|((name, _), _)| name.clone())
            .collect();
        changed.sort();
        assert!(!changed.is_empty());
        for name in &changed {
            assert!(
                ["encoder.", "mu.", "logvar."]
                    .iter()
                    .any(|p| name.starts_with(p)),
                "{name} moved in an encoder step: {changed:?}"
            );
        }
        assert!(changed.iter().any(|n| n.starts_with("mu.")), "{changed:?}");
    }

    #[test]
    fn buckets_cover_every_sentence_once_with_similar_lengths() {
        let sentences: Vec<Vec<u32>> = (0..1000).map(|i| vec![4; 1 + (i * 37) % 20]).collect();
        let mut rng = random::seeded(0, Stream::Train);
        let batches = bucketed(&sentences, 10, &mut rng);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
        // Pools of 500 sentences of 20 lengths: a batch of 10 spans at most 2.
        for b in &batches {
            let lens: Vec<usize> = b.iter().map(|&i| sentences[i].len()).collect();
            let spread = lens.iter().max().unwrap() - lens.iter().min().unwrap();
            assert!(spread <= 1, "{lens:?}");
        }
    }
}
