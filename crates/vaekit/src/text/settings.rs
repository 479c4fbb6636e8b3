//! The settings of a text run, checked once before any work and saved in
//! its `config.json`.

use serde::{Deserialize, Serialize};

use super::corpus::TokenizerConfig;
use super::model::SentenceVaeConfig;
use super::rnn::CellKind;
use crate::error::{Error, Result};

/// How the KL term's weight beta moves over training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum KlAnneal {
    /// beta = 1 from the first step.
    Constant,
    /// beta ramps from 0 to 1 over the first `--kl-anneal-epochs` epochs
    /// (Bowman et al. 2016).
    #[default]
    Linear,
    /// `--kl-cycles` cycles, each ramping beta from 0 to 1 over its first
    /// half and holding 1 over the second (Fu et al. 2019).
    Cyclical,
}

impl std::str::FromStr for KlAnneal {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "constant" | "none" => Ok(Self::Constant),
            "linear" => Ok(Self::Linear),
            "cyclical" => Ok(Self::Cyclical),
            other => Err(format!(
                "unknown KL schedule '{other}'; use constant, linear or cyclical"
            )),
        }
    }
}

/// Everything a text run is trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextSettings {
    /// The training sentences: a `.txt` (or `.txt.gz`) file, or a CSV with
    /// `text_column`.
    pub data: String,
    /// The CSV column that holds the text.
    pub text_column: Option<String>,
    /// Validation sentences; None holds out `val_fraction` of the
    /// training lines (a `NAME.train.txt` finds its `NAME.valid.txt`).
    pub valid: Option<String>,
    /// Test sentences (a `NAME.train.txt` finds its `NAME.test.txt`).
    pub test: Option<String>,
    /// Share of the training lines held out when no validation file is given.
    pub val_fraction: f64,
    /// Use only the first N training lines.
    pub limit: Option<usize>,
    /// Tokens and vocabulary.
    pub tokenizer: TokenizerConfig,
    /// Width of the token embedding.
    pub embed: usize,
    /// Size of the recurrent states.
    pub hidden: usize,
    /// Recurrent layers of each network.
    pub layers: usize,
    /// The recurrent cell, GRU or LSTM.
    #[serde(default)]
    pub cell: CellKind,
    /// The encoder reads each sentence both ways.
    #[serde(default)]
    pub bidirectional: bool,
    /// BN-VAE's fixed scale of the batch-normalized posterior means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mu_batch_norm: Option<f64>,
    /// Size of z.
    pub latent: usize,
    /// Train the language model (the decoder alone, no z) instead of the VAE.
    pub language_model: bool,
    /// Passes over the training sentences.
    pub epochs: usize,
    /// Sentences per step.
    pub batch_size: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Bound on the global gradient norm (0: none).
    pub clip_grad: f64,
    /// Dropout on the embeddings and on the decoder's outputs.
    pub dropout: f64,
    /// Share of the decoder's input words replaced by `<unk>` in training.
    pub word_dropout: f64,
    /// The schedule of the KL weight.
    pub kl_anneal: KlAnneal,
    /// `Linear`: epochs of the ramp.
    pub kl_anneal_epochs: f64,
    /// `Cyclical`: cycles over the run.
    pub kl_cycles: usize,
    /// Floor of each latent dimension's batch-mean KL, in nats (0: none).
    pub free_bits: f64,
    /// He et al.'s aggressive training: before each decoder step, encoder
    /// steps until their loss stops falling, while the validation mutual
    /// information keeps rising.
    #[serde(default)]
    pub aggressive: bool,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for TextSettings {
    /// The published PTB setting (Bowman et al.; He et al. 2019): embedding
    /// 256, hidden 256, z 32, dropout 0.5, Adam, gradient clipping at 5.
    fn default() -> Self {
        TextSettings {
            data: String::new(),
            text_column: None,
            valid: None,
            test: None,
            val_fraction: 0.1,
            limit: None,
            tokenizer: TokenizerConfig::default(),
            embed: 256,
            hidden: 256,
            layers: 1,
            cell: CellKind::Gru,
            bidirectional: false,
            mu_batch_norm: None,
            latent: 32,
            language_model: false,
            epochs: 20,
            batch_size: 32,
            lr: 1e-3,
            clip_grad: 5.0,
            dropout: 0.5,
            word_dropout: 0.0,
            kl_anneal: KlAnneal::Linear,
            kl_anneal_epochs: 5.0,
            kl_cycles: 4,
            free_bits: 0.0,
            aggressive: false,
            seed: 0,
        }
    }
}

impl TextSettings {
    /// Checks every setting (before any file is read).
    pub fn validate(&self) -> Result<()> {
        self.tokenizer.validate()?;
        self.model_config(self.tokenizer.vocab_size).validate()?;
        let unit = |name: &str, v: f64, hi_open: bool| {
            let ok = v.is_finite() && v >= 0.0 && if hi_open { v < 1.0 } else { v <= 1.0 };
            if !ok {
                return Err(Error::setting(
                    name,
                    format!(
                        "{v}; use a share in [0, 1{}",
                        if hi_open { ")" } else { "]" }
                    ),
                ));
            }
            Ok(())
        };
        unit("--val-fraction", self.val_fraction, true)?;
        unit("--dropout", self.dropout, true)?;
        unit("--word-dropout", self.word_dropout, false)?;
        if self.epochs == 0 || self.epochs > 100_000 {
            return Err(Error::setting(
                "--epochs",
                format!("{}; use 1 to 100000", self.epochs),
            ));
        }
        if self.batch_size == 0 || self.batch_size > 65_536 {
            return Err(Error::setting(
                "--batch-size",
                format!("{}; use 1 to 65536 sentences", self.batch_size),
            ));
        }
        if !(self.lr.is_finite() && self.lr > 0.0 && self.lr < 10.0) {
            return Err(Error::setting(
                "--lr",
                format!("{}; use a rate in (0, 10)", self.lr),
            ));
        }
        for (name, v) in [
            ("--clip-grad", self.clip_grad),
            ("--free-bits", self.free_bits),
            ("--kl-anneal-epochs", self.kl_anneal_epochs),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::setting(name, format!("{v}; use 0 or more")));
            }
        }
        if let Some(gamma) = self.mu_batch_norm
            && !(gamma.is_finite() && gamma > 0.0 && gamma <= 10.0)
        {
            return Err(Error::setting(
                "--mu-batch-norm",
                format!("{gamma}; use a scale in (0, 10] (BN-VAE's published 0.6 to 0.9)"),
            ));
        }
        if self.kl_anneal == KlAnneal::Cyclical && self.kl_cycles == 0 {
            return Err(Error::setting("--kl-cycles", "0; use at least 1 cycle"));
        }
        if self.language_model
            && (self.free_bits > 0.0
                || self.word_dropout > 0.0
                || self.bidirectional
                || self.aggressive
                || self.mu_batch_norm.is_some())
        {
            return Err(Error::setting(
                "--model lm",
                "the language model has no z and no encoder: --free-bits, --word-dropout, --bidirectional, --mu-batch-norm and --aggressive do not apply",
            ));
        }
        Ok(())
    }

    /// The model's shapes for a vocabulary of `vocab` tokens.
    pub fn model_config(&self, vocab: usize) -> SentenceVaeConfig {
        SentenceVaeConfig {
            vocab,
            embed: self.embed,
            hidden: self.hidden,
            layers: self.layers,
            latent: if self.language_model { 0 } else { self.latent },
            cell: self.cell,
            bidirectional: self.bidirectional && !self.language_model,
            mu_batch_norm: self.mu_batch_norm.filter(|_| !self.language_model),
        }
    }

    /// The KL weight at step `step` (from 0) of a run of `total` steps,
    /// `per_epoch` to an epoch.
    pub fn beta(&self, step: usize, per_epoch: usize, total: usize) -> f64 {
        match self.kl_anneal {
            KlAnneal::Constant => 1.0,
            KlAnneal::Linear => {
                let ramp = self.kl_anneal_epochs * per_epoch as f64;
                if ramp <= 0.0 {
                    1.0
                } else {
                    ((step + 1) as f64 / ramp).min(1.0)
                }
            }
            KlAnneal::Cyclical => {
                let cycle = (total as f64 / self.kl_cycles.max(1) as f64).max(1.0);
                let within = (step as f64 % cycle) / cycle;
                (within / 0.5).min(1.0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kl_schedules_ramp_as_documented() {
        let mut s = TextSettings {
            kl_anneal_epochs: 2.0,
            ..TextSettings::default()
        };
        // Linear over 2 epochs of 10 steps.
        assert!((s.beta(0, 10, 100) - 0.05).abs() < 1e-12);
        assert!((s.beta(9, 10, 100) - 0.5).abs() < 1e-12);
        assert_eq!(s.beta(19, 10, 100), 1.0);
        assert_eq!(s.beta(50, 10, 100), 1.0);
        s.kl_anneal = KlAnneal::Cyclical;
        s.kl_cycles = 4;
        // Cycles of 25 steps: up over 12.5, then flat.
        assert_eq!(s.beta(0, 10, 100), 0.0);
        assert!((s.beta(5, 10, 100) - 0.4).abs() < 1e-12);
        assert_eq!(s.beta(20, 10, 100), 1.0);
        assert_eq!(s.beta(25, 10, 100), 0.0);
        s.kl_anneal = KlAnneal::Constant;
        assert_eq!(s.beta(0, 10, 100), 1.0);
    }

    #[test]
    fn absurd_settings_are_refused_by_name() {
        let bad = |s: TextSettings| s.validate().unwrap_err().to_string();
        let d = TextSettings::default;
        assert!(
            bad(TextSettings {
                dropout: 1.0,
                ..d()
            })
            .contains("--dropout")
        );
        assert!(
            bad(TextSettings {
                word_dropout: -0.1,
                ..d()
            })
            .contains("--word-dropout")
        );
        assert!(bad(TextSettings { epochs: 0, ..d() }).contains("--epochs"));
        assert!(bad(TextSettings { hidden: 0, ..d() }).contains("--hidden"));
        assert!(
            bad(TextSettings {
                lr: f64::NAN,
                ..d()
            })
            .contains("--lr")
        );
        let lm = TextSettings {
            language_model: true,
            free_bits: 1.0,
            ..d()
        };
        assert!(bad(lm).contains("no z"));
        assert!(d().validate().is_ok());
    }
}
