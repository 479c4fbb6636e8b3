use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::latent::{encode_dataset, write_encoded};

use super::{open_run, say};
use crate::cli::EncodeArgs;

pub fn run(args: &EncodeArgs, device: Device) -> Result<()> {
    let (run, model) = open_run(&args.run, &device)?;
    let other = args.data.other();
    let other = other.as_ref().map(|(s, o)| (s.as_str(), o));
    let rows = match args.split {
        None => run.input_rows(other)?,
        Some(split) => run.prepare_data(other)?.split(split)?.clone(),
    };
    let encoded = encode_dataset(&model, &rows, args.batch_size)?;
    write_encoded(&args.out, &encoded)?;
    say(format!(
        "wrote the {}-dimensional codes of {} examples to {} (encoded in {:.3} s, {:.0} examples/s)",
        encoded.latent_dim,
        encoded.len(),
        args.out.display(),
        encoded.seconds,
        encoded.len() as f64 / encoded.seconds.max(1e-9)
    ))
}
