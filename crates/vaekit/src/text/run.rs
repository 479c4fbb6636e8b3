//! A text run's directory: the same files as any run (`config.json`,
//! `model.safetensors`, `best.safetensors`, `metrics.jsonl`) plus
//! `vocab.txt`, the vocabulary a token a line. Its `config.json` says
//! `"family": "text"`, which is how the commands tell it from an image or
//! table run.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::corpus::{self, Encoded, Vocabulary};
use super::model::{SentenceVae, SentenceVaeConfig};
use super::settings::TextSettings;
use crate::data::prepare::Split;
use crate::error::{Error, Result};
use crate::io::read_file;
use crate::model::weights::load_named;
use crate::run::{Weights, files, read_json, read_weights};

/// The vocabulary file of a text run.
pub const VOCAB: &str = files::VOCAB;

/// The family name a text run's config carries.
pub const FAMILY: &str = crate::run::TEXT_FAMILY;

/// What a text run was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextDataSummary {
    /// Training sentences (after skipping empty lines).
    pub train_sentences: usize,
    /// Their tokens, end tokens not counted.
    pub train_tokens: usize,
    /// Validation sentences.
    pub val_sentences: usize,
    /// Test sentences, where there is a test file.
    pub test_sentences: Option<usize>,
    /// Tokens in the vocabulary.
    pub vocab: usize,
    /// What reading the training lines cut and skipped.
    pub train_report: String,
}

/// The content of a text run's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextRunConfig {
    /// Always [`FAMILY`].
    pub family: String,
    /// The vaekit version that made the run.
    pub vaekit_version: String,
    /// The settings trained with.
    pub settings: TextSettings,
    /// The model's shapes.
    pub model: SentenceVaeConfig,
    /// The data trained on.
    pub data: TextDataSummary,
}

/// An opened text run.
#[derive(Debug, Clone)]
pub struct TextRun {
    /// The directory.
    pub dir: PathBuf,
    /// Its config.
    pub config: TextRunConfig,
    /// Its vocabulary.
    pub vocab: Vocabulary,
}

/// `true` when `dir` holds a text run (its config says so).
pub fn is_text_run(dir: &Path) -> bool {
    crate::run::family_of(dir).as_deref() == Some(FAMILY)
}

impl TextRun {
    /// Opens a text run (its config and vocabulary).
    pub fn open(dir: &Path) -> Result<TextRun> {
        if !is_text_run(dir) {
            return Err(Error::run(
                dir,
                "is not a text run (no config.json with \"family\": \"text\"); pass the --out \
                 folder of a `vaekit train` run on a text source",
            ));
        }
        let config: TextRunConfig = read_json(&dir.join(files::CONFIG))?;
        let vocab_path = dir.join(VOCAB);
        let text = String::from_utf8(read_file(&vocab_path)?)
            .map_err(|_| Error::format(&vocab_path, "is not UTF-8; the run is corrupt"))?;
        let vocab = Vocabulary::from_saved(&text, &vocab_path)?;
        if vocab.len() != config.model.vocab {
            return Err(Error::format(
                &vocab_path,
                format!(
                    "holds {} tokens but the model has {}; the run is corrupt, train it again",
                    vocab.len(),
                    config.model.vocab
                ),
            ));
        }
        Ok(TextRun {
            dir: dir.to_path_buf(),
            config,
            vocab,
        })
    }

    /// Builds the model and loads the chosen weights (without autodiff).
    pub fn load_model(
        &self,
        weights: Weights,
        device: &burn::tensor::Device,
    ) -> Result<SentenceVae> {
        let (path, file) = read_weights(&self.dir, weights, "train it first")?;
        crate::random::with_device_generator(|| {
            let model = self.config.model.init(device);
            load_named(model, file.tensors, &path)
        })
    }

    /// The sentences of `path` (or of the run's own split `split`:
    /// `train`, `val` or `test`), tokenized as the run's were.
    pub fn sentences(&self, path: &Path) -> Result<(Vec<String>, Encoded)> {
        let lines = corpus::read_sentences(path, self.config.settings.text_column.as_deref())?;
        let encoded = corpus::encode(&lines, &self.config.settings.tokenizer, &self.vocab);
        if encoded.sentences.is_empty() {
            return Err(Error::format(path, "holds no sentence with a token"));
        }
        Ok((lines, encoded))
    }

    /// The sentences of one of the run's splits, tokenized as training
    /// saw them: the test file, the validation file, or, for lines held out
    /// of the training file, the same seeded split again (refused when the
    /// training file has changed since: its vocabulary would differ).
    pub fn split(&self, split: Split) -> Result<Encoded> {
        let s = &self.config.settings;
        let column = s.text_column.as_deref();
        let file = match split {
            Split::Test => Some(s.test.as_ref().ok_or_else(|| {
                Error::run(
                    &self.dir,
                    "was trained without a test file; pass the sentences with --data, or use \
                     --split val",
                )
            })?),
            Split::Val => s.valid.as_ref(),
            Split::Train => None,
        };
        if let Some(path) = file {
            let lines = corpus::read_sentences(Path::new(path), column)?;
            return Ok(corpus::encode(&lines, &s.tokenizer, &self.vocab));
        }
        let data = super::train::prepare(s)?;
        if data.vocab != self.vocab {
            return Err(Error::run(
                &self.dir,
                format!(
                    "{} has changed since the run was trained (its vocabulary differs); pass \
                     the sentences with --data",
                    s.data
                ),
            ));
        }
        Ok(match split {
            Split::Train => data.train,
            _ => data.val,
        })
    }

    /// The split commands use when none is named: test where the run has a
    /// test file, else validation.
    pub fn default_split(&self) -> Split {
        match self.config.settings.test {
            Some(_) => Split::Test,
            None => Split::Val,
        }
    }
}

/// Writes `lines` to `path` atomically, a line each.
pub fn write_lines(path: &Path, lines: &[String]) -> Result<()> {
    let mut text = lines.join("\n");
    text.push('\n');
    crate::io::write_atomic(path, text.as_bytes())
}
