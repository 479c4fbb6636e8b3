//! Training: one step ([`train_step`]) apart from the epoch loop ([`train`]).
//!
//! The loop owns every side effect of a run: the run directory, the per-epoch
//! checkpoint (weights, Adam moments, epoch and the exact RNG state, in one file
//! written atomically), the best weights by validation -ELBO, `metrics.jsonl`
//! and `loss.png`. Resuming reloads all of it, so an interrupted run ends where
//! an uninterrupted run of the same seed ends.
//!
//! A step whose loss or gradient norm is not finite is skipped (the weights
//! are left as they were) and counted; when it keeps happening the run stops
//! with advice, keeping the checkpoint of the last good epoch.

mod mixture;
mod plot;
mod run_dir;
mod step;
mod stopping;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::batch::{check_width, model_input, noise};
use crate::data::mask::{MaskSpec, column_means};
use crate::data::prepare::{Binarize, PreparedData, prepare};
use crate::data::{DataKind, Dataset, Source, load};
use crate::error::{Error, Result};
use crate::eval::{ElboReport, EvalOptions, evaluate_elbo};
use crate::model::objective::Objective;
use crate::model::weights::{initialize_now, load_named};
use crate::model::{ModelConfig, Vae};

use crate::optim::Adam;
use crate::random::{self, Rng, Stream};
use crate::run::{
    DataSummary, Run, RunConfig, Weights, files, load_checkpoint, read_metrics, save_checkpoint,
    save_weights, write_json, write_metrics,
};
use crate::settings::{ModelKind, TrainSettings, differing_fields, shown};

pub use plot::write_loss_plot;
pub use run_dir::RunLock;
pub(crate) use run_dir::{check_new_run_dir, open_new_run_dir, remove_partial_run};
pub use step::{StepOutput, optimizer_step, optimizer_step_parts, train_step, warmup_beta};
pub use stopping::StopReason;
use stopping::{StopRule, nonfinite_error};

/// Share of a batch's examples whose values `--encoder-mask` hides from the
/// encoder; the others it sees whole, so q(z|x) stays good on complete inputs.
const ENCODER_MASK_SHARE: f64 = 0.5;

/// What the encoder reads of batch `x` under an encoder mask: each row, with
/// probability [`ENCODER_MASK_SHARE`], has the values `spec` hides replaced
/// by `fill` (the training column means, where imputation starts too).
///
/// # Shapes
/// - `x`: `[batch, dim]` examples shaped like `kind`; `fill`: `dim` values;
///   returns `[batch, dim]`
fn encoder_view(
    x: &Tensor<2>,
    spec: MaskSpec,
    kind: &DataKind,
    fill: &[f32],
    rng: &mut Rng,
) -> Result<Tensor<2>> {
    let [rows, dim] = x.dims();
    let mask = spec.build(kind, rows, rng.random())?;
    let mut keep = vec![1.0f32; rows * dim];
    let mut filled = vec![0.0f32; rows * dim];
    for row in 0..rows {
        if rng.random::<f64>() >= ENCODER_MASK_SHARE {
            continue;
        }
        let span = row * dim..(row + 1) * dim;
        for ((k, f), (&hide, &value)) in keep[span.clone()]
            .iter_mut()
            .zip(&mut filled[span.clone()])
            .zip(mask.row(row).iter().zip(fill))
        {
            if hide {
                (*k, *f) = (0.0, value);
            }
        }
    }
    let device = x.device();
    let keep = Tensor::<2>::from_data(TensorData::new(keep, [rows, dim]), &device);
    let filled = Tensor::<2>::from_data(TensorData::new(filled, [rows, dim]), &device);
    Ok(x.clone() * keep + filled)
}

/// Consecutive non-finite steps after which training stops.
const MAX_CONSECUTIVE_SKIPS: usize = 20;
/// Share of an epoch's steps that may be skipped before training stops.
const MAX_SKIPPED_SHARE: f64 = 0.1;

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Mean training objective (recon + beta * KL).
    pub train_loss: f64,
    /// Mean training -ELBO (recon + KL) as measured during the epoch.
    pub train_neg_elbo: f64,
    /// Mean training reconstruction term.
    pub train_recon: f64,
    /// Mean training KL term.
    pub train_kl: f64,
    /// Validation scores, where rows were held out.
    pub val: Option<ElboReport>,
    /// Beta at the end of the epoch.
    pub beta: f64,
    /// Learning rate of the epoch's last step (absent in runs made before
    /// schedules existed, which read it as 0).
    #[serde(default)]
    pub lr: f64,
    /// Seconds spent on training steps.
    pub seconds: f64,
    /// Training examples per second.
    pub examples_per_second: f64,
    /// Steps skipped for a non-finite loss or gradient.
    pub skipped_steps: usize,
    /// Mean global gradient norm before clipping.
    pub grad_norm: f64,
    /// Whether the epoch pretrained a mixture-prior model as an autoencoder:
    /// its objective was the reconstruction alone, at z = E[z|x], and its KL
    /// terms (to N(0, I), of a posterior variance pretraining never trains)
    /// measure nothing that was optimized.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pretraining: bool,
    /// Set on the last epoch of a run that a stopping rule ended early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<StopReason>,
}

/// The best validation score so far.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BestScore {
    /// Its epoch.
    pub epoch: usize,
    /// Its -ELBO (validation, or training when nothing was held out).
    pub neg_elbo: f64,
}

/// What a checkpoint remembers besides tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs finished.
    pub epoch: usize,
    /// Optimizer updates made.
    pub adam_steps: u64,
    /// Steps run (applied or skipped), for the warm-up schedule.
    pub steps: usize,
    /// The training generator, exactly where the next epoch starts.
    pub rng: Rng,
    /// The best epoch so far.
    pub best: Option<BestScore>,
    /// Seconds spent training, evaluating and saving epochs, over every
    /// session of the run (for `--max-time`).
    #[serde(default)]
    pub trained_seconds: f64,
    /// The last epoch whose validation -ELBO beat the one before it by more
    /// than `--min-delta` (for `--early-stop`).
    #[serde(default)]
    pub plateau: Option<BestScore>,
}

/// Hooks for progress display; the library itself prints nothing.
pub trait TrainObserver {
    /// Before a run's first epoch: a line about the data and model.
    fn on_start(&mut self, _summary: &str) {}
    /// An epoch of `steps` steps begins.
    fn on_epoch_start(&mut self, _epoch: usize, _epochs: usize, _steps: usize) {}
    /// A step finished.
    fn on_step(&mut self, _step: usize, _output: &StepOutput) {}
    /// An epoch finished and was saved.
    fn on_epoch_end(&mut self, _metrics: &EpochMetrics) {}
    /// A line of news that has no structured form (a text run's epoch).
    fn on_line(&mut self, _text: &str) {}
    /// Asked after every step: `true` stops the run there, keeping the
    /// last finished epoch's checkpoint, with [`Error::Interrupted`].
    fn stop_requested(&mut self) -> bool {
        false
    }
}

/// An observer that ignores everything.
pub struct Silent;
impl TrainObserver for Silent {}

/// What to train and where.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// Settings given (a TOML file and flags, layered); missing fields take defaults.
    pub settings: TrainSettings,
    /// The run directory.
    pub out: PathBuf,
    /// Continue the run in `out` from its checkpoint.
    pub resume: bool,
    /// Where to compute.
    pub device: Device,
}

/// What a finished run reports.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Metrics of every epoch of the run (earlier sessions included).
    pub metrics: Vec<EpochMetrics>,
    /// The best epoch.
    pub best: Option<BestScore>,
    /// Why the run ended before its last epoch, where a stopping rule ended it.
    pub stopped: Option<StopReason>,
}

/// Everything the epoch loop works on.
struct Session {
    config: RunConfig,
    data: PreparedData,
    model: Vae,
    adam: Adam,
    state: TrainState,
    metrics: Vec<EpochMetrics>,
    device: Device,
}

/// Trains (or resumes) a run and writes its directory.
///
/// Nothing is created until the data and settings have been checked; a new run
/// that fails before its first epoch is saved leaves no directory behind.
pub fn train(request: TrainRequest, observer: &mut dyn TrainObserver) -> Result<TrainOutcome> {
    if request.resume {
        let device = request.device.clone().autodiff();
        let _lock = match request.out.join(files::CONFIG).is_file() {
            true => Some(RunLock::take(&request.out)?),
            false => None,
        };
        let session = resume_session(&request, &device)?;
        return run_epochs(session, &request.out, observer);
    }
    train_new(request, None, observer)
}

/// Trains a new run on a source already loaded (data in memory: the
/// Python package's arrays) instead of the one `request.settings.data`
/// names; the run's settings record `source.spec` as its data.
pub fn train_source(
    mut request: TrainRequest,
    source: Source,
    observer: &mut dyn TrainObserver,
) -> Result<TrainOutcome> {
    if request.resume {
        return Err(Error::setting(
            "resume",
            "a run is resumed from the data source its settings name; train on data in memory anew instead",
        ));
    }
    request.settings.data = Some(source.spec.clone());
    train_new(request, Some(source), observer)
}

fn train_new(
    request: TrainRequest,
    source: Option<Source>,
    observer: &mut dyn TrainObserver,
) -> Result<TrainOutcome> {
    let device = request.device.clone().autodiff();
    check_new_run_dir(&request.out, true)?;
    let session = new_session(&request, source, &device)?;
    let (_lock, created) = open_new_run_dir(&request.out, true)?;
    let setup = (|| {
        write_json(&request.out.join(files::CONFIG), &session.config)?;
        if let Some(scaler) = &session.data.scaler {
            write_json(&request.out.join(files::SCALER), scaler)?;
        }
        Ok(())
    })();
    let result = setup.and_then(|()| run_epochs(session, &request.out, observer));
    if result.is_err() && !request.out.join(files::CHECKPOINT).exists() {
        // Nothing worth keeping was written: leave no half-made run behind.
        remove_partial_run(&request.out, created);
    }
    result
}

fn summarize(config: &RunConfig) -> String {
    let d = &config.data;
    let s = &config.settings;
    format!(
        "{} from {}: {} training, {} validation{}; {} {} model, latent {}, {} likelihood",
        d.kind.describe(),
        s.data.as_deref().unwrap_or("?"),
        d.train_examples,
        d.val_examples,
        d.test_examples
            .map(|n| format!(", {n} test"))
            .unwrap_or_default(),
        s.arch.map(|m| m.to_string()).unwrap_or_default(),
        s.model.map(|m| m.to_string()).unwrap_or_default(),
        s.latent.unwrap_or(0),
        s.likelihood.map(|l| l.to_string()).unwrap_or_default(),
    )
}

/// The number of classes of labelled data: as many as it names, else the
/// largest label over every split plus one.
fn class_count(data: &PreparedData) -> Result<usize> {
    let splits = [Some(&data.train), data.val.as_ref(), data.test.as_ref()];
    let labels: Vec<&[u32]> = splits
        .into_iter()
        .flatten()
        .filter_map(Dataset::labels)
        .collect();
    if labels.is_empty() {
        return Err(Error::setting(
            "--model cvae",
            "a conditional VAE needs labels, and this data has none; give an IDX folder with label files, --labels FILE, or --label-column for a CSV",
        ));
    }
    let largest = labels
        .iter()
        .flat_map(|l| l.iter())
        .copied()
        .max()
        .unwrap_or(0) as usize;
    let named = data.class_names.as_ref().map_or(0, Vec::len);
    Ok(named.max(largest + 1))
}

fn new_session(
    request: &TrainRequest,
    given_source: Option<Source>,
    device: &Device,
) -> Result<Session> {
    let source_run = request
        .settings
        .init_from
        .as_deref()
        .map(Run::open)
        .transpose()?;
    let given = &match &source_run {
        Some(run) => request.settings.clone().inheriting(&run.config.settings),
        None => request.settings.clone(),
    };
    let spec = given.data.clone().ok_or_else(|| {
        Error::setting(
            "--data",
            "no data source given; pass --data digits, a folder of IDX files, or a file",
        )
    })?;
    let source = match given_source {
        Some(source) => source,
        None => load(&spec, &given.load_options())?,
    };
    let format = source.format;
    let typed;
    let given = match source.columns {
        Some(_) => {
            typed = given.clone().for_typed_table()?;
            &typed
        }
        None => given,
    };
    let settings = given.resolve(source.train.kind())?;
    let mut model_config = settings.model_config(source.train.kind())?;
    model_config.table = source.columns.clone();
    model_config.validate()?;
    let data = prepare(source, &settings.preprocessing(), None)?;
    if settings.model == Some(ModelKind::Cvae) {
        model_config.classes = Some(class_count(&data)?);
    }
    let rows = settings
        .batch_size
        .unwrap_or(128)
        .min(data.train.len())
        .max(1)
        * settings.train_samples.unwrap_or(1);
    crate::memory::check_fits(
        "training this model",
        crate::model::size::training_need(&model_config, rows as u64),
        crate::memory::available(),
        "--hidden / --latent",
        "--batch-size",
    )?;
    let config = RunConfig {
        vaekit_version: env!("CARGO_PKG_VERSION").to_string(),
        data: DataSummary {
            format,
            kind: data.train.kind().clone(),
            train_examples: data.train.len(),
            val_examples: data.val.as_ref().map_or(0, Dataset::len),
            test_examples: data.test.as_ref().map(Dataset::len),
            class_names: data.class_names.clone(),
            // As many as the model has classes: a class named, or seen in
            // another split, but absent from the training rows has share 0.
            class_counts: data.train.label_counts().map(|mut counts| {
                counts.resize(counts.len().max(model_config.classes.unwrap_or(0)), 0);
                counts
            }),
            train_fingerprint: data.train.fingerprint(),
        },
        model: model_config,
        settings,
    };
    let seed = config.settings.seed.unwrap_or(0);
    let model = match &source_run {
        Some(run) => starting_weights(run, &config.model, device)?,
        None => random::init_on_cpu(device, seed, |cpu| {
            let model = config.model.init(cpu)?;
            initialize_now(&model);
            Ok::<_, Error>(model)
        })?,
    };
    check_width(&model, &data.train)?;
    Ok(Session {
        adam: Adam::new(config.settings.adam()),
        state: TrainState {
            epoch: 0,
            adam_steps: 0,
            steps: 0,
            rng: random::seeded(seed, Stream::Train),
            best: None,
            trained_seconds: 0.0,
            plateau: None,
        },
        metrics: Vec::new(),
        config,
        data,
        model,
        device: device.clone(),
    })
}

/// The weights of `--init-from`'s run (the ones `vaekit eval` uses by
/// default), once its model is known to be the one these settings build.
fn starting_weights(run: &Run, model: &ModelConfig, device: &Device) -> Result<Vae> {
    let differences = differing_fields(&run.config.model, model);
    if !differences.is_empty() {
        let list: Vec<String> = differences
            .into_iter()
            .map(|(key, was, now)| format!("{key} is {} there, {} here", shown(was), shown(now)))
            .collect();
        return Err(Error::run(
            &run.dir,
            format!(
                "has a different model from the one these settings build ({}); --init-from \
                 takes the network settings from that run, so leave out the flags that change \
                 it (see `vaekit info` for its settings), or train from scratch",
                list.join("; ")
            ),
        ));
    }
    run.load_model(Weights::Best, device)
}

fn resume_session(request: &TrainRequest, device: &Device) -> Result<Session> {
    let run = Run::open(&request.out)?;
    let saved = &run.config.settings;
    let conflicts = request.settings.conflicts_with(saved);
    if !conflicts.is_empty() {
        let list: Vec<String> = conflicts
            .iter()
            .map(|(flag, was, now)| format!("{flag} was {was}, now {now}"))
            .collect();
        return Err(Error::run(
            &request.out,
            format!(
                "its config does not match the settings given ({}); --resume continues a run \
                 with its own settings (only --epochs may change): drop those flags, or start \
                 a new run with another --out",
                list.join("; ")
            ),
        ));
    }
    let checkpoint_path = run.path(files::CHECKPOINT);
    if !checkpoint_path.is_file() {
        return Err(Error::run(
            &request.out,
            "has no checkpoint.safetensors to resume from; start a new run with another --out",
        ));
    }
    // Only the number of epochs and the stopping rules may be given anew.
    let given = &request.settings;
    let settings = TrainSettings {
        epochs: given.epochs.or(saved.epochs),
        early_stop: given.early_stop.or(saved.early_stop),
        min_delta: given.min_delta.or(saved.min_delta),
        max_time: given.max_time.clone().or(saved.max_time.clone()),
        ..saved.clone()
    };
    let checkpoint = load_checkpoint::<TrainState>(&checkpoint_path)?;
    let epochs = settings.epochs.unwrap_or(0);
    if checkpoint.state.epoch >= epochs {
        return Err(Error::setting(
            "--epochs",
            format!(
                "the run in {} has finished {} epochs already; give a larger --epochs to train further",
                request.out.display(),
                checkpoint.state.epoch
            ),
        ));
    }
    let data = run.prepare_data(None)?;
    if data.train.fingerprint() != run.config.data.train_fingerprint {
        return Err(Error::run(
            &request.out,
            format!(
                "the training data at {} has changed since the run started; resume with the \
                 same data, or start a new run",
                settings.data.as_deref().unwrap_or("?")
            ),
        ));
    }
    // Building the model draws initial values that the checkpoint's replace.
    let model = random::with_device_generator(|| {
        load_named(
            run.config.model.init(device)?,
            checkpoint.model,
            &checkpoint_path,
        )
    })?;
    let mut extra = checkpoint.extra;
    let adam = Adam::restore(
        settings.adam(),
        checkpoint.state.adam_steps,
        &model,
        &mut extra,
        &checkpoint_path,
    )?;
    let mut metrics: Vec<EpochMetrics> = read_metrics(&run.path(files::METRICS))?;
    metrics.retain(|m| m.epoch <= checkpoint.state.epoch);
    let mut config = run.config;
    config.settings = settings;
    Ok(Session {
        config,
        data,
        model,
        adam,
        state: checkpoint.state,
        metrics,
        device: device.clone(),
    })
}

fn run_epochs(
    mut s: Session,
    out: &Path,
    observer: &mut dyn TrainObserver,
) -> Result<TrainOutcome> {
    let result = epoch_loop(&mut s, out, observer);
    // The curves are drawn once, at the end, also when the run stopped early.
    let plotted = match s.metrics.is_empty() {
        true => Ok(()),
        false => write_loss_plot(&out.join(files::LOSS_PLOT), &s.metrics),
    };
    let stopped = result?;
    plotted?;
    Ok(TrainOutcome {
        run_dir: out.to_path_buf(),
        metrics: s.metrics,
        best: s.state.best,
        stopped,
    })
}

/// Runs the epochs left; returns why it ended early, where a stopping rule
/// ended it.
fn epoch_loop(
    s: &mut Session,
    out: &Path,
    observer: &mut dyn TrainObserver,
) -> Result<Option<StopReason>> {
    let settings = s.config.settings.clone();
    let epochs = settings.epochs.unwrap_or(1);
    let rule = StopRule::new(&settings, epochs, s.data.val.is_some())?;
    let batch_size = settings.batch_size.unwrap_or(128).max(1);
    let beta = settings.beta.unwrap_or(1.0);
    let warmup = settings.kl_warmup.unwrap_or(0.0);
    let samples = settings.train_samples.unwrap_or(1).max(1);
    let clip = settings.clip_grad.filter(|&c| c > 0.0);
    let binarize = settings.binarize.unwrap_or_default();
    let eval_options = EvalOptions::for_run(&settings);
    let n = s.data.train.len();
    let steps_per_epoch = n.div_ceil(batch_size);
    let total_steps = epochs * steps_per_epoch;
    let latent = s.model.noise_dim();
    let pretraining = settings.pretraining();
    let hidden_fill = settings
        .encoder_mask
        .map(|spec| (spec, column_means(&s.data.train)));
    observer.on_start(&summarize(&s.config));

    for epoch in s.state.epoch + 1..=epochs {
        observer.on_epoch_start(epoch, epochs, steps_per_epoch);
        let started = Instant::now();
        if s.model.mixture().is_some() && settings.mixture_fit_epoch() == Some(epoch) {
            // The mixture prior starts from the clusters of the pretrained
            // codes; a resumed run refits them the same way (seeded).
            let model = s.model.clone();
            s.model = mixture::fit_mixture_prior(model, &s.data.train, eval_options.seed)?;
        }
        let order = random::permutation(n, &mut s.state.rng);
        // Updates consume the module; the session keeps the epoch's start until the end.
        let mut model = s.model.clone();
        let mut sums = [0.0f64; 4]; // loss, recon, kl, grad norm (weighted by batch size)
        let (mut applied_examples, mut skipped, mut consecutive) = (0usize, 0usize, 0usize);
        let mut beta_now = beta;
        let chunks: Vec<&[usize]> = order.chunks(batch_size).collect();
        // A batch's rows and noise, drawn in the order the steps take them.
        let prepare = |chunk: &[usize], rng: &mut Rng| {
            let dynamic = (binarize == Binarize::Dynamic).then_some(&mut *rng);
            let x = model_input(&s.model, &s.data.train, chunk, dynamic, &s.device);
            (x, noise(rng, chunk.len() * samples, latent, &s.device))
        };
        let mut next = chunks.first().map(|c| prepare(c, &mut s.state.rng));
        for (i, chunk) in chunks.iter().enumerate() {
            let Some((x, eps)) = next.take() else { break };
            beta_now = warmup_beta(beta, warmup, s.state.steps, steps_per_epoch);
            s.adam.set_lr(settings.lr_at(s.state.steps, total_steps));
            let objective = match epoch <= pretraining {
                true => Objective::Pretrain,
                false => settings.objective(beta_now),
            };
            let seen = match &hidden_fill {
                Some((spec, fill)) => {
                    let kind = s.data.train.kind();
                    Some(encoder_view(&x, *spec, kind, fill, &mut s.state.rng)?)
                }
                None => None,
            };
            // The next batch is copied and its noise drawn on another thread
            // while this step runs (the same draws in the same order as one
            // after the other): a tenth of a table's step on two cores. Only
            // from a worker of the pool (as the CLI runs), where `join` runs
            // the step on this thread: from any other thread rayon would run
            // it on a worker, and burn keeps batch norm's running statistics
            // per thread.
            let (rng, adam) = (&mut s.state.rng, &mut s.adam);
            let step_now = || train_step(model, adam, x, seen, eps, objective, clip);
            let mut prepare_next = || chunks.get(i + 1).map(|c| prepare(c, rng));
            let ((updated, step), prepared) = match rayon::current_thread_index() {
                Some(_) => rayon::join(step_now, prepare_next),
                None => (step_now(), prepare_next()),
            };
            next = prepared;
            model = updated;
            s.state.steps += 1;
            if step.applied {
                let b = chunk.len() as f64;
                for (sum, v) in
                    sums.iter_mut()
                        .zip([step.loss, step.recon, step.kl, step.grad_norm])
                {
                    *sum += v * b;
                }
                applied_examples += chunk.len();
                consecutive = 0;
            } else {
                skipped += 1;
                consecutive += 1;
                if consecutive >= MAX_CONSECUTIVE_SKIPS {
                    return Err(nonfinite_error(
                        out,
                        epoch,
                        &settings,
                        &s.data.train,
                        consecutive,
                        i + 1,
                    ));
                }
            }
            observer.on_step(i + 1, &step);
            if observer.stop_requested() {
                return Err(Error::Interrupted {
                    epochs: s.state.epoch,
                });
            }
            if rule.time_up(s.state.trained_seconds + started.elapsed().as_secs_f64()) {
                return match s.metrics.last_mut() {
                    // The run ends at its last saved epoch, now marked.
                    Some(last) if s.state.epoch > 0 => {
                        last.stopped = Some(StopReason::MaxTime);
                        write_metrics(&out.join(files::METRICS), &s.metrics)?;
                        Ok(Some(StopReason::MaxTime))
                    }
                    _ => Err(rule.no_epoch_in_time()),
                };
            }
        }
        if skipped as f64 > MAX_SKIPPED_SHARE * steps_per_epoch as f64 {
            return Err(nonfinite_error(
                out,
                epoch,
                &settings,
                &s.data.train,
                skipped,
                steps_per_epoch,
            ));
        }
        s.model = model;
        let seconds = started.elapsed().as_secs_f64();
        let mean = |sum: f64| sum / applied_examples.max(1) as f64;
        let valid = s.model.valid();
        let val = match &s.data.val {
            Some(val) => Some(evaluate_elbo(&valid, val, &eval_options)?),
            None => None,
        };
        let mut metrics = EpochMetrics {
            epoch,
            train_loss: mean(sums[0]),
            train_neg_elbo: mean(sums[1] + sums[2]),
            train_recon: mean(sums[1]),
            train_kl: mean(sums[2]),
            val,
            beta: beta_now,
            lr: s.adam.lr(),
            seconds,
            examples_per_second: applied_examples as f64 / seconds.max(1e-9),
            skipped_steps: skipped,
            grad_norm: mean(sums[3]),
            pretraining: epoch <= pretraining,
            stopped: None,
        };
        s.state.epoch = epoch;
        s.state.adam_steps = s.adam.steps();
        // The epoch's steps and evaluation (its saving follows).
        let epoch_seconds = started.elapsed().as_secs_f64();
        s.state.trained_seconds += epoch_seconds;
        metrics.stopped = rule.after_epoch(&mut s.state, &metrics, epoch_seconds);
        save_epoch(s, &valid, &metrics, out)?;
        observer.on_epoch_end(&metrics);
        if metrics.stopped.is_some() {
            return Ok(metrics.stopped);
        }
    }
    Ok(None)
}

/// Writes everything an epoch leaves: metrics first (a crash after it is
/// repaired on resume by dropping lines past the checkpoint), then weights and
/// the checkpoint, then the plot.
fn save_epoch(s: &mut Session, valid: &Vae, metrics: &EpochMetrics, out: &Path) -> Result<()> {
    s.metrics.push(metrics.clone());
    write_metrics(&out.join(files::METRICS), &s.metrics)?;
    let score = metrics
        .val
        .as_ref()
        .map_or(metrics.train_neg_elbo, |v| v.neg_elbo);
    // The first epoch under the fitted mixture prior starts the comparison
    // afresh: pretraining scored the codes under an unfitted prior.
    let pretraining = s.config.settings.pretraining();
    let improved = s.metrics.len() == 1
        || metrics.epoch <= pretraining + 1
        || metrics.val.is_none()
        || s.state.best.is_none_or(|b| score < b.neg_elbo);
    let meta = BTreeMap::from([("epoch".to_string(), metrics.epoch.to_string())]);
    save_weights(&out.join(files::LAST), valid, meta.clone())?;
    if improved {
        s.state.best = Some(BestScore {
            epoch: metrics.epoch,
            neg_elbo: score,
        });
        save_weights(&out.join(files::BEST), valid, meta)?;
    }
    save_checkpoint(
        &out.join(files::CHECKPOINT),
        valid,
        s.adam.state_tensors(&s.model),
        &s.state,
    )
}

#[cfg(test)]
mod tests;
