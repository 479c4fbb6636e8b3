//! Ending a run before its last epoch: `--early-stop` (no better validation
//! -ELBO for some epochs), `--max-time` (the run's training time), and a
//! loss that stays not finite.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{BestScore, EpochMetrics, TrainState};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::settings::{Stopping, TrainSettings};

/// Why a run ended before its last epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// `--early-stop`: the validation -ELBO stopped improving.
    EarlyStop,
    /// `--max-time`: another epoch would not have finished in time.
    MaxTime,
}

/// The stopping rules of a run and what they need to know of it.
pub(super) struct StopRule {
    stopping: Stopping,
    /// Epochs of autoencoder pretraining (a mixture prior's), which the
    /// patience does not count: their scores are of another objective.
    pretraining: usize,
    epochs: usize,
}

impl StopRule {
    /// The rules of `settings`, for a run of `epochs` epochs that holds out
    /// validation rows (`has_val`).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] for `--early-stop` on a run with no validation rows.
    pub(super) fn new(settings: &TrainSettings, epochs: usize, has_val: bool) -> Result<StopRule> {
        let stopping = settings.stopping();
        if stopping.patience.is_some() && !has_val {
            return Err(Error::setting(
                "--early-stop",
                "it watches the validation -ELBO, and this run holds out no rows; give --val-fraction 0.1 (say), or drop --early-stop",
            ));
        }
        Ok(StopRule {
            stopping,
            pretraining: settings.pretraining(),
            epochs,
        })
    }

    /// Updates the patience's reference with the finished epoch `m` (whose
    /// training, evaluation and saving took `seconds`, already added to
    /// `state.trained_seconds`) and says whether the run stops after it.
    pub(super) fn after_epoch(
        &self,
        state: &mut TrainState,
        m: &EpochMetrics,
        seconds: f64,
    ) -> Option<StopReason> {
        let score = m.val.as_ref().map(|v| v.neg_elbo);
        if let (Some(patience), Some(score)) = (self.stopping.patience, score) {
            let better = |p: &BestScore| score < p.neg_elbo - self.stopping.min_delta;
            if m.epoch <= self.pretraining + 1 || state.plateau.as_ref().is_none_or(better) {
                state.plateau = Some(BestScore {
                    epoch: m.epoch,
                    neg_elbo: score,
                });
            }
            let since = m.epoch - state.plateau.map_or(m.epoch, |p| p.epoch);
            if since >= patience && m.epoch < self.epochs {
                return Some(StopReason::EarlyStop);
            }
        }
        let next_ends = state.trained_seconds + seconds;
        if self.time_up(next_ends) && m.epoch < self.epochs {
            return Some(StopReason::MaxTime);
        }
        None
    }

    /// Whether a run that has trained for `seconds` has passed `--max-time`.
    pub(super) fn time_up(&self, seconds: f64) -> bool {
        self.stopping
            .max_time
            .is_some_and(|max| seconds > max.as_secs_f64())
    }

    /// The error for a first epoch that did not finish within `--max-time`.
    pub(super) fn no_epoch_in_time(&self) -> Error {
        let max = self.stopping.max_time.unwrap_or_default();
        Error::setting(
            "--max-time",
            format!(
                "the first epoch did not finish within {}, so nothing was kept; give a longer --max-time, or fewer rows (--limit)",
                humantime::format_duration(std::time::Duration::from_secs(max.as_secs().max(1)))
            ),
        )
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopReason::EarlyStop => "early-stop",
            StopReason::MaxTime => "max-time",
        })
    }
}

/// Why training stopped and what to change, for a run whose loss kept being
/// non-finite in epoch `epoch` (`bad` of `of` steps).
pub(super) fn nonfinite_error(
    out: &Path,
    epoch: usize,
    settings: &TrainSettings,
    data: &Dataset,
    bad: usize,
    of: usize,
) -> Error {
    let kept = match epoch {
        1 => "No epoch finished, so no run was kept.".to_string(),
        _ => format!(
            "The run in {} keeps its checkpoint of epoch {}.",
            out.display(),
            epoch - 1
        ),
    };
    let clip = match settings.clip_grad {
        Some(c) if c > 0.0 => format!("a smaller --clip-grad (now {c})"),
        _ => "gradient clipping such as --clip-grad 10".to_string(),
    };
    let (lo, hi) = data.value_range();
    Error::Training(format!(
        "the loss or its gradient was not finite in {bad} of {of} steps of epoch {epoch}. {kept} \
         Start a new run with a lower --lr (now {}), {clip}, or check the data scale (values \
         range from {lo} to {hi})",
        settings.lr.unwrap_or(0.0),
    ))
}
