use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::compress::{compress_dataset, container_of, decompress_dataset, write_images};
use vaekit::io::{read_file, write_atomic};

use super::{chosen_rows, open_run, say};
use crate::cli::{CompressArgs, DecompressArgs};

pub fn compress(args: &CompressArgs, device: Device) -> Result<()> {
    let (run, model) = open_run(&args.run, &device)?;
    // The run's own source was read as its config records; another one is
    // read here to learn its format.
    let format = match args.data.other() {
        None => run.config.data.format,
        Some((spec, options)) => run.load_source(Some((&spec, &options)))?.format,
    };
    let mut rows = chosen_rows(&run, &args.data, args.split)?;
    if let Some(n) = args.limit {
        rows = rows.subset(&(0..n.min(rows.len())).collect::<Vec<_>>());
    }
    let made = compress_dataset(
        &model,
        &rows,
        container_of(format),
        args.binarize_seed,
        args.iw_samples,
    )?;
    write_atomic(&args.out, &made.bytes)?;
    let images = made.bits.len();
    let mean_bits = made.bits.iter().sum::<f64>() / images.max(1) as f64;
    if args.json {
        return say(serde_json::json!({
            "images": images,
            "bytes": made.bytes.len(),
            "bits_per_dim": made.bits_per_dim(),
            "mean_bits_per_image": mean_bits,
            "seconds": made.seconds,
            "images_per_second": images as f64 / made.seconds.max(1e-9),
        }));
    }
    say(format!(
        "compressed {images} images to {} ({} bytes, {:.4} bits per pixel; {:.1} bits per image on the coder's stack, {:.2} nats) in {:.2} s, {:.0} images/s",
        args.out.display(),
        made.bytes.len(),
        made.bits_per_dim(),
        mean_bits,
        mean_bits * std::f64::consts::LN_2,
        made.seconds,
        images as f64 / made.seconds.max(1e-9)
    ))
}

pub fn decompress(args: &DecompressArgs, device: Device) -> Result<()> {
    let (_, model) = open_run(&args.run, &device)?;
    let bytes = read_file(&args.file)?;
    let (header, data, seconds) = decompress_dataset(&model, &bytes)?;
    let format = write_images(&args.out, args.format, &header, &data)?;
    say(format!(
        "decompressed {} images to {} ({format}) in {seconds:.2} s, {:.0} images/s; checksum verified",
        data.len(),
        args.out.display(),
        data.len() as f64 / seconds.max(1e-9)
    ))
}
