//! One module per command: each turns its arguments into a library call and
//! prints the result.

pub mod augment;
pub mod cluster;
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
pub mod train;
pub mod traverse;

use std::io::Write;

use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::model::Vae;
use vaekit::model::run::Run;

use crate::cli::RunArgs;

/// Prints a line on stdout.
pub fn say(text: impl std::fmt::Display) -> Result<()> {
    writeln!(std::io::stdout().lock(), "{text}")?;
    Ok(())
}

/// Opens a run and loads its chosen weights.
pub fn open_run(args: &RunArgs, device: &Device) -> Result<(Run, Vae)> {
    let run = Run::open(&args.run)?;
    let model = run.load_model(args.weights, device)?;
    Ok((run, model))
}
