//! `vaekit compress` and `vaekit decompress`.

use std::path::PathBuf;

use clap::Args;
use vaekit::augment::AugmentFormat;
use vaekit::data::prepare::Split;

use super::{OtherDataArgs, RunArgs};

pub const COMPRESS_HELP: &str = "\
Bits-back coding with ANS (BB-ANS) under an MLP VAE: images in, a .vkz file out whose
size is close to the images' summed -ELBO. A Bernoulli run codes binary images; grey
images in [0, 1] are binarized once with --binarize-seed (each pixel 1 when a uniform
draw falls below it), and the file holds those pixels. With --iw-samples K the file
costs the K-sample importance-weighted bound, below the -ELBO. A run trained with
--likelihood logistic codes 8-bit images as they are. One stochastic layer under
N(0, I), the VampPrior or a Gaussian mixture, or two layers (--model hvae, coded in
Bit-Swap's order). `vaekit info FILE.vkz` shows what a file holds.

Examples:
  vaekit compress --run runs/mnist-bernoulli --split test --binarize-seed 0 --out test.vkz
  vaekit compress --run runs/mnist-bernoulli --data binary.npy --out binary.vkz
  vaekit compress --run runs/mnist-logistic --split test --out test8.vkz
  vaekit compress --run runs/mnist-vamp --split test --binarize-seed 0 --iw-samples 16 --out test.vkz";

pub const DECOMPRESS_HELP: &str = "\
Writes the images back exactly, as the compressed input came (an IDX folder, an .npy
file or a PNG folder), or as --format asks. The run must be the one that compressed
the file: its fingerprint is checked first.

Examples:
  vaekit decompress --run runs/mnist-bernoulli test.vkz --out test-images/
  vaekit decompress --run runs/mnist-bernoulli test.vkz --out test.npy --format npy";

#[derive(Debug, Args)]
pub struct CompressArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// Only this split (train, val or test) [default: every example, in input order].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// Compress the first N images only.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Binarize grey images once with this seed before coding (each pixel 1 when a uniform draw falls below its value).
    #[arg(long, value_name = "SEED")]
    pub binarize_seed: Option<u64>,
    /// Code each image with K codes of q(z|x) (bits-back with importance sampling, Ruan et al. 2021): the file costs the K-sample importance-weighted bound instead of the -ELBO, at K decoder passes per image (one-layer models; 1 to 64).
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub iw_samples: usize,
    /// The compressed file to write (.vkz).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DecompressArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// The compressed file.
    #[arg(value_name = "FILE.vkz")]
    pub file: PathBuf,
    /// Where the images go: a new folder (IDX, PNG) or an .npy file.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Write this layout instead of the input's: idx, npy or images.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<AugmentFormat>,
}
