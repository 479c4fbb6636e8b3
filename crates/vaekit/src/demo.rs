//! `vaekit demo`: the main job on the embedded digits, start to finish.
//!
//! Trains an MLP VAE on the 1,500 training digits, then writes prior samples,
//! reconstructions of the test digits and the training curves beside the run,
//! and scores the 297 test digits. The settings were chosen by measurement to
//! give recognisable digits in well under a minute on two cores.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::data::prepare::Split;
use crate::error::Result;
use crate::eval::{ElboReport, EvalOptions, evaluate_elbo};
use crate::generate::{reconstruct, sample_prior, write_comparison, write_samples};
use crate::run::{Run, Weights, files};
use crate::settings::TrainSettings;
use crate::train::{TrainObserver, TrainRequest, train};

/// Files the demo writes besides the run's own.
pub const SAMPLES: &str = "samples.png";
/// Reconstructions of test digits.
pub const RECONSTRUCTIONS: &str = "reconstructions.png";

/// The demo's training settings.
pub fn demo_settings() -> TrainSettings {
    TrainSettings {
        data: Some("digits".into()),
        hidden: Some(vec![256, 256]),
        latent: Some(8),
        epochs: Some(150),
        batch_size: Some(64),
        lr: Some(2e-3),
        val_fraction: Some(0.1),
        seed: Some(0),
        ..TrainSettings::default()
    }
}

/// Where the demo put things, and its test score.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// The run directory.
    pub run_dir: PathBuf,
    /// Prior samples.
    pub samples: PathBuf,
    /// Test digits beside their reconstructions.
    pub reconstructions: PathBuf,
    /// Training curves.
    pub loss_plot: PathBuf,
    /// The test split's -ELBO.
    pub test: ElboReport,
}

/// Runs the demo into `out` (a new or empty folder).
pub fn demo(out: &Path, device: Device, observer: &mut dyn TrainObserver) -> Result<DemoReport> {
    let request = TrainRequest {
        settings: demo_settings(),
        out: out.to_path_buf(),
        resume: false,
        device: device.clone(),
    };
    train(request, observer)?;
    let run = Run::open(out)?;
    let model = run.load_model(Weights::Best, &device)?;
    let data = run.prepare_data(None)?;
    let kind = &run.config.model.input;
    let samples = out.join(SAMPLES);
    write_samples(&samples, &sample_prior(&model, 64, 0, None)?, kind, None)?;
    let test = data.split(Split::Test)?;
    let (originals, recons) = reconstruct(&model, test, 32)?;
    let reconstructions = out.join(RECONSTRUCTIONS);
    write_comparison(&reconstructions, &originals, &recons, kind, None)?;
    let report = evaluate_elbo(&model, test, &EvalOptions::for_run(&run.config.settings))?;
    Ok(DemoReport {
        run_dir: out.to_path_buf(),
        samples,
        reconstructions,
        loss_plot: out.join(files::LOSS_PLOT),
        test: report,
    })
}
