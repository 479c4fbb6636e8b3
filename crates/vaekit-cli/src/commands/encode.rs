use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::latent::{encode_dataset, write_encoded};

use super::{chosen_rows, open_run, say};
use crate::cli::EncodeArgs;

pub fn run(args: &EncodeArgs, device: Device) -> Result<()> {
    if super::text::is_text(&args.run) {
        return super::text::encode(args, device);
    }
    let (run, model) = open_run(&args.run, &device)?;
    let rows = chosen_rows(&run, &args.data, args.split)?;
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
