//! The run directory: everything a training run leaves, and how to read it back.
//!
//! ```text
//! RUN_DIR/
//!   config.json              settings, model config and data summary: rebuilds everything
//!   scaler.json              the table scaler fitted on the training rows (tables only)
//!   model.safetensors        weights after the last finished epoch
//!   best.safetensors         weights of the epoch with the best validation -ELBO
//!   checkpoint.safetensors   weights + Adam moments + training state (epoch, RNG), for --resume
//!   metrics.jsonl            one JSON object per finished epoch
//!   loss.png                 the training curves
//! ```
//!
//! Every file is written atomically (temporary file, then rename). A model is
//! loaded by building it from `config.json` first and then putting the weights in.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use burn::tensor::{Device, TensorData};
use serde::{Deserialize, Serialize};

use crate::data::prepare::{PreparedData, prepare, preprocess};
use crate::data::{DataKind, Format, LoadOptions, Scaler, Source, TableReading, load};
use crate::error::{Error, Result};
use crate::io::{read_file, write_atomic};
use crate::model::weights::{from_safetensors, load_named, named_tensors, to_safetensors};
use crate::model::{Architecture, ModelConfig, Vae};
use crate::settings::{ArchitectureKind, TrainSettings};

/// File names inside a run directory.
pub mod files {
    /// Settings, model config, data summary.
    pub const CONFIG: &str = "config.json";
    /// Fitted table scaler.
    pub const SCALER: &str = "scaler.json";
    /// Last weights.
    pub const LAST: &str = "model.safetensors";
    /// Best weights by validation -ELBO.
    pub const BEST: &str = "best.safetensors";
    /// Resumable state.
    pub const CHECKPOINT: &str = "checkpoint.safetensors";
    /// Per-epoch metrics.
    pub const METRICS: &str = "metrics.jsonl";
    /// Training curves.
    pub const LOSS_PLOT: &str = "loss.png";
    /// A text run's vocabulary, a token a line.
    pub const VOCAB: &str = "vocab.txt";
    /// Locked while a process trains into the run (see `train::RunLock`).
    pub const LOCK: &str = ".vaekit.lock";
}

/// What the run was trained on, for checks and for `vaekit info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSummary {
    /// The source format that was read.
    pub format: Format,
    /// What one example looks like.
    pub kind: DataKind,
    /// Rows trained on.
    pub train_examples: usize,
    /// Rows held out for validation.
    pub val_examples: usize,
    /// Rows of the source's test split, where it has one.
    pub test_examples: Option<usize>,
    /// Class names, where the source has them.
    pub class_names: Option<Vec<String>>,
    /// Training rows of each class, where the rows are labelled: the shares
    /// `sample --class-shares` draws a conditional model's classes at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_counts: Option<Vec<usize>>,
    /// Fingerprint of the training rows after preprocessing: tells whether the
    /// data changed before a resume.
    pub train_fingerprint: u64,
}

/// The content of `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// The vaekit version that made the run.
    pub vaekit_version: String,
    /// The resolved training settings (every field set).
    pub settings: TrainSettings,
    /// The model, derived from the settings and the data.
    pub model: ModelConfig,
    /// The data trained on.
    pub data: DataSummary,
}

/// Which saved weights to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Weights {
    /// The epoch with the best validation -ELBO (the last epoch when no
    /// validation rows were held out).
    #[default]
    Best,
    /// The last finished epoch.
    Last,
}

impl std::str::FromStr for Weights {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "best" => Ok(Self::Best),
            "last" => Ok(Self::Last),
            other => Err(format!("unknown weights '{other}'; use best or last")),
        }
    }
}

/// An existing run directory, opened for reading.
#[derive(Debug, Clone)]
pub struct Run {
    /// The directory.
    pub dir: PathBuf,
    /// Its `config.json`.
    pub config: RunConfig,
    /// Its `scaler.json`, for tables.
    pub scaler: Option<Scaler>,
}

impl Run {
    /// Opens `dir`, reading its config and scaler.
    pub fn open(dir: &Path) -> Result<Run> {
        if !dir.is_dir() {
            return Err(Error::run(
                dir,
                "does not exist or is not a directory; pass the --out folder of a `vaekit train` run",
            ));
        }
        let config_path = dir.join(files::CONFIG);
        if !config_path.is_file() {
            return Err(Error::run(
                dir,
                format!(
                    "has no {}, so it is not a vaekit run; pass the --out folder of a `vaekit train` run",
                    files::CONFIG
                ),
            ));
        }
        if family_of(dir).as_deref() == Some(TEXT_FAMILY) {
            return Err(Error::run(
                dir,
                "is a text run (a sentence VAE or language model); this command works on image \
                 and table runs: use train, eval, sample, reconstruct, interpolate, encode, score \
                 or info with it",
            ));
        }
        let mut config: RunConfig = read_json(&config_path)?;
        // Runs made before `--arch` existed kept the architecture only in the
        // model config (their `model` setting reads as `vae`).
        if config.settings.arch.is_none() {
            config.settings.arch = Some(match config.model.architecture {
                Architecture::Mlp { .. } => ArchitectureKind::Mlp,
                Architecture::Conv { .. } => ArchitectureKind::Conv,
            });
        }
        let scaler_path = dir.join(files::SCALER);
        let scaler = if scaler_path.is_file() {
            Some(read_json(&scaler_path)?)
        } else {
            None
        };
        Ok(Run {
            dir: dir.to_path_buf(),
            config,
            scaler,
        })
    }

    /// Path of a file inside the run.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Builds the model from the config and loads the chosen weights onto
    /// `device` (without autodiff: for evaluation and generation).
    pub fn load_model(&self, weights: Weights, device: &Device) -> Result<Vae> {
        let (path, file) = read_weights(&self.dir, weights, "train (or resume) it first")?;
        // Building the model draws initial values that the saved ones replace.
        crate::random::with_device_generator(|| {
            let model = self.config.model.init(device)?;
            load_named(model, file.tensors, &path)
        })
    }

    /// The run's data splits, rebuilt exactly as training saw them, or another
    /// source put through the run's preprocessing (its scaler is reused, never
    /// refitted) when `other` is given.
    pub fn prepare_data(&self, other: Option<(&str, &LoadOptions)>) -> Result<PreparedData> {
        let settings = &self.config.settings;
        let source = self.load_source(other)?;
        self.check_kind(&source)?;
        let mut p = settings.preprocessing();
        if other.is_some() {
            // Another source: every row is for evaluation, nothing held out.
            p.val_fraction = 0.0;
        }
        prepare(source, &p, self.scaler.clone())
    }

    /// Every example of the run's source (or of `other`) in input order: the
    /// training file's rows, then the test file's, through the run's
    /// preprocessing, with nothing held out.
    pub fn input_rows(&self, other: Option<(&str, &LoadOptions)>) -> Result<crate::data::Dataset> {
        let source = self.load_source(other)?;
        self.check_kind(&source)?;
        let mut rows = source.train;
        if let Some(test) = &source.test {
            rows = rows.concat(test)?;
        }
        self.preprocess(&mut rows, &source.spec)?;
        Ok(rows)
    }

    /// The run's source (or `other`) read as the run reads tables: through
    /// its typed columns, or as numbers alone.
    pub fn load_source(&self, other: Option<(&str, &LoadOptions)>) -> Result<Source> {
        let settings = &self.config.settings;
        let (spec, mut options) = match other {
            None => (
                settings.data.as_deref().unwrap_or("digits"),
                settings.load_options(),
            ),
            Some((spec, options)) => (spec, options.clone()),
        };
        options.reading = self.table_reading();
        // The run's columns decide the types; the options' own choices
        // are for fitting new ones.
        options.columns.column_types = None;
        options.columns.drop_columns.clear();
        load(spec, &options)
    }

    /// How the run's outputs are written in the data's units.
    pub fn units(&self) -> crate::generate::Units<'_> {
        crate::generate::Units {
            scaler: self.scaler.as_ref(),
            columns: self.config.model.table.as_ref(),
            label: self.label_column(),
        }
    }

    /// How a typed table's label column is written back: under its header's
    /// name (`--label-column income`), the classes by their names. None for
    /// every other run, whose CSVs keep a `label` column of class numbers.
    fn label_column(&self) -> Option<crate::generate::LabelColumn<'_>> {
        let name = self.config.settings.label_column.as_deref()?;
        let names = self.config.data.class_names.as_deref()?;
        (self.config.model.table.is_some() && name.parse::<usize>().is_err()).then_some(
            crate::generate::LabelColumn {
                name,
                class_names: names,
            },
        )
    }

    /// How the run reads a table's cells.
    pub fn table_reading(&self) -> TableReading {
        match &self.config.model.table {
            Some(t) => TableReading::Typed(t.clone()),
            None => TableReading::Numbers,
        }
    }

    /// Puts one extra dataset through the run's preprocessing.
    pub fn preprocess(&self, data: &mut crate::data::Dataset, origin: &str) -> Result<()> {
        preprocess(
            data,
            self.scaler.as_ref(),
            &self.config.settings.preprocessing(),
            origin,
        )
    }

    fn check_kind(&self, source: &Source) -> Result<()> {
        let want = &self.config.model.input;
        let got = source.train.kind();
        let same_shape = match (want, got) {
            (DataKind::Table { columns: a }, DataKind::Table { columns: b }) => a.len() == b.len(),
            (a, b) => a == b,
        };
        if !same_shape {
            return Err(Error::Data(format!(
                "{} holds {}, but the run {} was trained on {}; give data of the same shape",
                source.spec,
                got.describe(),
                self.dir.display(),
                want.describe()
            )));
        }
        Ok(())
    }

    /// The per-epoch metrics recorded so far.
    pub fn metrics<M: for<'de> Deserialize<'de>>(&self) -> Result<Vec<M>> {
        read_metrics(&self.path(files::METRICS))
    }
}

/// The `family` a run's `config.json` names, where it names one (text
/// runs do; image and table runs, the first family, do not).
pub fn family_of(dir: &Path) -> Option<String> {
    #[derive(Deserialize)]
    struct Family {
        family: Option<String>,
    }
    let bytes = std::fs::read(dir.join(files::CONFIG)).ok()?;
    serde_json::from_slice::<Family>(&bytes).ok()?.family
}

/// The family of a text run (a sentence VAE or a language model).
pub const TEXT_FAMILY: &str = "text";

/// The chosen weights file of the run in `dir` and its tensors; `then`
/// says what to do when no epoch has finished yet.
pub(crate) fn read_weights(
    dir: &Path,
    weights: Weights,
    then: &str,
) -> Result<(PathBuf, crate::model::weights::TensorFile)> {
    let name = match weights {
        Weights::Best => files::BEST,
        Weights::Last => files::LAST,
    };
    let path = dir.join(name);
    if !path.is_file() {
        return Err(Error::run(
            dir,
            format!("has no {name}: no epoch has finished yet; {then}"),
        ));
    }
    let file = from_safetensors(&read_file(&path)?, &path)?;
    Ok((path, file))
}

/// Reads a JSON file, naming it in errors.
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T> {
    let bytes = read_file(path)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::format(
            path,
            format!("is not valid ({e}); the file is corrupt or from another program"),
        )
    })
}

/// Writes pretty JSON atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::Data(format!("cannot encode {}: {e}", path.display())))?;
    text.push(b'\n');
    write_atomic(path, &text)
}

/// Reads a JSON-lines file (missing file: no lines).
pub fn read_metrics<M: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<M>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = String::from_utf8_lossy(&read_file(path)?).into_owned();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| {
                Error::format(path, format!("line {} is not a metrics record: {e}", i + 1))
            })
        })
        .collect()
}

/// Writes a JSON-lines file atomically.
pub fn write_metrics<M: Serialize>(path: &Path, records: &[M]) -> Result<()> {
    let mut text = Vec::new();
    for record in records {
        serde_json::to_writer(&mut text, record)
            .map_err(|e| Error::Data(format!("cannot encode metrics: {e}")))?;
        text.push(b'\n');
    }
    write_atomic(path, &text)
}

/// Saves a model's weights (with string metadata) to a safetensors file.
pub fn save_weights<M: burn::module::Module>(
    path: &Path,
    model: &M,
    metadata: BTreeMap<String, String>,
) -> Result<()> {
    write_atomic(path, &to_safetensors(&named_tensors(model), metadata)?)
}

/// Metadata key of the training state inside a checkpoint.
const STATE_KEY: &str = "vaekit.train_state";
/// Prefix of model tensors inside a checkpoint.
const MODEL_PREFIX: &str = "model.";

/// Writes a checkpoint: model tensors under `model.`, the given extra tensors
/// (optimizer moments) as named, and `state` as JSON metadata.
pub fn save_checkpoint<S: Serialize>(
    path: &Path,
    model: &Vae,
    extra: Vec<(String, TensorData)>,
    state: &S,
) -> Result<()> {
    let mut tensors: Vec<(String, TensorData)> = named_tensors(model)
        .into_iter()
        .map(|(name, data)| (format!("{MODEL_PREFIX}{name}"), data))
        .collect();
    tensors.extend(extra);
    let state = serde_json::to_string(state)
        .map_err(|e| Error::Data(format!("cannot encode the training state: {e}")))?;
    let metadata = BTreeMap::from([(STATE_KEY.to_string(), state)]);
    write_atomic(path, &to_safetensors(&tensors, metadata)?)
}

/// A checkpoint read back: the model's tensors, the other tensors, the state.
pub struct Checkpoint<S> {
    /// Model tensors, by parameter name.
    pub model: HashMap<String, TensorData>,
    /// Everything else (optimizer moments), by name.
    pub extra: HashMap<String, TensorData>,
    /// The training state.
    pub state: S,
}

/// Reads a checkpoint written by [`save_checkpoint`].
pub fn load_checkpoint<S: for<'de> Deserialize<'de>>(path: &Path) -> Result<Checkpoint<S>> {
    let file = from_safetensors(&read_file(path)?, path)?;
    let state_json = file.metadata.get(STATE_KEY).ok_or_else(|| {
        Error::format(path, "has no training state; it is not a vaekit checkpoint")
    })?;
    let state = serde_json::from_str(state_json).map_err(|e| {
        Error::format(
            path,
            format!("has an unreadable training state ({e}); start a new run"),
        )
    })?;
    let (mut model, mut extra) = (HashMap::new(), HashMap::new());
    for (name, data) in file.tensors {
        match name.strip_prefix(MODEL_PREFIX) {
            Some(param) => model.insert(param.to_string(), data),
            None => extra.insert(name, data),
        };
    }
    Ok(Checkpoint {
        model,
        extra,
        state,
    })
}
