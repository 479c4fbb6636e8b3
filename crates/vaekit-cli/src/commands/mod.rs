//! One module per command: each turns its arguments into a library call and
//! prints the result.

pub mod augment;
pub mod cluster;
pub mod compress;
pub mod demo;
pub mod encode;
pub mod eval;
pub mod impute;
pub mod info;
pub mod interpolate;
pub mod latent;
pub mod probe;
pub mod reconstruct;
pub mod sample;
pub mod score;
pub mod text;
pub mod train;
pub mod traverse;
pub mod web;

use std::io::Write;

use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::data::Dataset;
use vaekit::data::prepare::Split;
use vaekit::model::Vae;
use vaekit::run::Run;

use crate::cli::{OtherDataArgs, RunArgs};

/// Prints a line on stdout.
pub fn say(text: impl std::fmt::Display) -> Result<()> {
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}

/// The rows a command works on: every example of another source (`--data`)
/// or of the run's own data in input order, or one split of them.
pub fn chosen_rows(run: &Run, data: &OtherDataArgs, split: Option<Split>) -> Result<Dataset> {
    let other = data.other();
    let other = other.as_ref().map(|(s, o)| (s.as_str(), o));
    Ok(match split {
        None => run.input_rows(other)?,
        Some(split) => run.prepare_data(other)?.split(split)?.clone(),
    })
}

/// Opens a run and loads its chosen weights.
pub fn open_run(args: &RunArgs, device: &Device) -> Result<(Run, Vae)> {
    let run = Run::open(&args.run)?;
    let model = run.load_model(args.weights, device)?;
    Ok((run, model))
}
