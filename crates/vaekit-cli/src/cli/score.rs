//! The arguments of `vaekit score`.

use std::path::PathBuf;

use clap::Args;
use vaekit::data::prepare::Split;
use vaekit::eval::EvalOptions;
use vaekit::score::{AnomalyTruth, ScoreKind, ScoreOptions, ScoreRequest};
use vaekit::settings::TrainSettings;

use super::{OtherDataArgs, RunArgs};

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// train, val (or validation) or test [default: test where the source has one, else val].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// neg-elbo (-ELBO), recon (reconstruction only) or iw-nll (importance-weighted -log p(x)).
    #[arg(long, value_name = "SCORE", default_value = "neg-elbo")]
    pub score: ScoreKind,
    /// neg-elbo, recon: draws of z averaged per example [default: 1].
    #[arg(long, value_name = "N")]
    pub samples: Option<usize>,
    /// iw-nll: samples of z per example (K) [default: 100].
    #[arg(long, value_name = "K")]
    pub iw_samples: Option<usize>,
    /// Examples of this class are normal, all others anomalies (needs labelled data).
    #[arg(long, value_name = "C", conflicts_with = "anomaly_labels")]
    pub normal_class: Option<u32>,
    /// A file of 0 (normal) or 1 (anomaly), one line per scored example in input order.
    #[arg(long, value_name = "FILE")]
    pub anomaly_labels: Option<PathBuf>,
    /// Flag examples above the threshold that flags this share of the calibration split's normal examples, such as 0.05.
    #[arg(long, value_name = "F")]
    pub target_fpr: Option<f64>,
    /// The split of the run's own data the --target-fpr threshold is chosen on.
    #[arg(
        long,
        value_name = "SPLIT",
        default_value = "val",
        requires = "target_fpr"
    )]
    pub calibrate_on: Split,
    /// Write the scores to this CSV file.
    #[arg(long, value_name = "FILE.csv")]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Rows (examples x samples) per forward pass (memory only).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub batch_size: usize,
}

impl ScoreArgs {
    /// The library request these flags describe, with the run's binarization and seed.
    pub fn request(&self, settings: &TrainSettings) -> vaekit::Result<ScoreRequest> {
        let eval = EvalOptions {
            batch_size: self.batch_size,
            ..EvalOptions::for_run(settings)
        };
        let truth = match (self.normal_class, &self.anomaly_labels) {
            (Some(class), _) => AnomalyTruth::NormalClass(class),
            (None, Some(path)) => AnomalyTruth::File(path.clone()),
            (None, None) => AnomalyTruth::Unknown,
        };
        Ok(ScoreRequest {
            other: self.data.other(),
            split: self.split,
            options: ScoreOptions::new(self.score, self.samples, self.iw_samples, eval)?,
            truth,
            target_fpr: self.target_fpr,
            calibrate_on: self.calibrate_on,
            out: self.out.clone(),
        })
    }
}
