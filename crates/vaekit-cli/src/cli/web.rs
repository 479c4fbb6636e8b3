//! The arguments of `vaekit report` and `vaekit explore`.

use std::path::PathBuf;

use clap::Args;
use vaekit::data::prepare::Split;
use vaekit::latent::map::MapMethod;
use vaekit::run::Weights;

use super::OtherDataArgs;

pub const REPORT_HELP: &str = "\
One HTML file that shows the whole run and opens offline: settings, training curves with
read-outs, the evaluation (with --iw-samples, the importance-weighted -log p(x)), KL per
latent dimension, samples, reconstructions, traversals and a map of the codes whose points
show their example; for a table, each column's histogram for real rows against synthetic
ones.

Examples:
  vaekit report runs/mnist --out report.html
  vaekit report runs/mnist --out report.html --iw-samples 100 --force
  vaekit report runs/penguins --out penguins.html";

pub const EXPLORE_HELP: &str = "\
Serves one page on 127.0.0.1 (the address is printed; --port 0 picks a free port): the map
of up to 70,000 encoded examples, coloured by label, anomaly score, cluster or
reconstruction error; point at a dot for its example and reconstruction, click anywhere to
decode that point, click two dots for the interpolation between them, drag over a region
for its examples. Ctrl-C stops it.

Examples:
  vaekit explore runs/mnist
  vaekit explore runs/mnist --port 8080 --limit 10000 --method tsne
  vaekit explore runs/penguins --port 0";

/// The run, given as RUN or --run RUN.
#[derive(Debug, Args)]
pub struct RunTarget {
    /// The run directory written by `vaekit train`.
    #[arg(
        value_name = "RUN_DIR",
        required_unless_present = "run_flag",
        conflicts_with = "run_flag"
    )]
    pub run: Option<PathBuf>,
    /// The run directory (the same as RUN_DIR).
    #[arg(long = "run", id = "run_flag", value_name = "RUN_DIR")]
    pub run_flag: Option<PathBuf>,
    /// Which weights: best (by validation -ELBO) or last [default: best].
    #[arg(long, value_name = "WHICH", default_value = "best")]
    pub weights: Weights,
}

impl RunTarget {
    pub fn dir(&self) -> PathBuf {
        self.run
            .clone()
            .or_else(|| self.run_flag.clone())
            .unwrap_or_default()
    }
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub run: RunTarget,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// The HTML file to write.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace --out if it exists.
    #[arg(long)]
    pub force: bool,
    /// The split evaluated and mapped [default: test where the source has one, else val].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// Also estimate -log p(x) by importance weighting with K samples per example.
    #[arg(long, value_name = "K")]
    pub iw_samples: Option<usize>,
    /// Examples on the latent map (their thumbnails are in the file).
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub map_points: usize,
    /// Seed of the samples.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct ExploreArgs {
    #[command(flatten)]
    pub run: RunTarget,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// The port on 127.0.0.1 (0: a free one, printed).
    #[arg(long, value_name = "P", default_value_t = 8765)]
    pub port: u16,
    /// Only this split (train, val or test) [default: every split, training rows first].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// The first N examples (at most 70,000).
    #[arg(long, value_name = "N", default_value_t = 70_000)]
    pub limit: usize,
    /// The map: pca, tsne or axes [default: axes for a 2-D code, else pca].
    #[arg(long, value_name = "METHOD")]
    pub method: Option<MapMethod>,
    /// k-means clusters to colour by [default: the number of classes, else 10].
    #[arg(long, value_name = "K")]
    pub clusters: Option<usize>,
}
