//! The command line: clap types, and their translation into library settings
//! (the one place where the two meet).

mod compress;
mod score;
mod text;
mod train;
mod web;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
pub use compress::{CompressArgs, DecompressArgs};
pub use score::ScoreArgs;
pub use text::{DecodeArgs, text_settings};
pub use train::TrainArgs;
use vaekit::augment::AugmentFormat;
use vaekit::data::prepare::Split;
use vaekit::data::{Format, LoadOptions};
use vaekit::impute::{Draw, EncoderReads, MaskSpec, Method};
use vaekit::latent::map::MapMethod;
use vaekit::latent::paths::PathKind;
use vaekit::latent::traverse::DimChoice;
use vaekit::run::Weights;
use vaekit::settings::{TrainSettings, parse_delimiter, parse_image_size};
pub use web::{ExploreArgs, ReportArgs, RunTarget};

const MAIN_EXAMPLES: &str = "\
Examples:
  vaekit demo                                   train on the embedded digits, write pictures
  vaekit train --data ../data/mnist --out runs/mnist --epochs 10
  vaekit eval --run runs/mnist
  vaekit sample --run runs/mnist --n 64 --out samples.png
  vaekit score --run runs/mnist --score iw-nll --out scores.csv
  vaekit latent --run runs/mnist --method tsne --out map.png
  vaekit impute --run runs/mnist --mask top-half --out filled.png
  vaekit info ../data/mnist";

/// Variational autoencoders: train on your data, evaluate, generate, and use the latent space.
#[derive(Debug, Parser)]
#[command(name = "vaekit", version, after_help = MAIN_EXAMPLES, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Where to compute: cpu, or cuda[:N], rocm[:N], wgpu, metal, vulkan in builds with that feature.
    #[arg(long, global = true, default_value = "cpu", value_name = "DEVICE")]
    pub device: String,
    /// CPU threads for the tensor kernels [default: all cores].
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Let idle CPU threads sleep between kernels instead of spinning: a little
    /// slower, but it leaves the cores to other work (several vaekit runs sharing a machine).
    #[arg(long, global = true)]
    pub no_spin: bool,
    /// Print only results and errors: no progress bars or per-epoch lines.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a VAE and write a run directory.
    #[command(after_help = "\
Examples:
  vaekit train --data digits --out runs/digits --epochs 50 --hidden 256,256 --latent 8
  vaekit train --data ../data/mnist --out runs/mnist --val-fraction 0 --epochs 10
  vaekit train --data images/ --image-size 32x32 --arch conv --likelihood gaussian --out runs/faces
  vaekit train --data table.csv --label-column species --out runs/table
  vaekit train --data ../data/mnist --binarize dynamic --model iwae --train-samples 50 --out runs/iwae
  vaekit train --data ../data/mnist --binarize dynamic --model hvae --objective iw --train-samples 50 --out runs/hvae
  vaekit train --out runs/mnist --resume --epochs 20      continue a run to 20 epochs
  vaekit train --init-from runs/mnist --out runs/mnist-iw --objective iw --epochs 5 --lr 1e-4   fine-tune a run
  vaekit train --config settings.toml --out runs/x         keys are the long flag names")]
    Train(Box<TrainArgs>),
    /// Score a run: -ELBO, reconstruction and KL, active units, and the importance-weighted log-likelihood.
    #[command(after_help = "\
Examples:
  vaekit eval --run runs/mnist                  the test split, or validation if there is none
  vaekit eval --run runs/mnist --split train --json
  vaekit eval --run runs/mnist --iw-samples 5000     the test log-likelihood as papers report it
  vaekit eval --run runs/mnist --iw-samples 5000 --limit 500   a quick estimate
  vaekit eval --run runs/mnist --data other/mnist-like/")]
    Eval(EvalArgs),
    /// Draw samples from the prior and write them as an image grid (or CSV for tables).
    #[command(after_help = "\
Examples:
  vaekit sample --run runs/mnist --n 64 --out samples.png
  vaekit sample --run runs/table --n 500 --out synthetic.csv --seed 3
  vaekit sample --run runs/adult-cvae --n 32561 --class-shares --out synthetic.csv
  vaekit sample --run runs/cvae --class 7 --n 16 --out sevens.png
  vaekit sample --run runs/cvae --n 10 --out per-class.png     10 of every class, a row each")]
    Sample(SampleArgs),
    /// Write examples beside their reconstructions.
    #[command(after_help = "\
Examples:
  vaekit reconstruct --run runs/mnist --n 32 --out recon.png
  vaekit reconstruct --run runs/mnist --split train --out recon-train.png")]
    Reconstruct(ReconstructArgs),
    /// Write the latent mean and log-variance of every example (CSV or NPY).
    #[command(after_help = "\
Columns: mu_0..mu_{K-1}, logvar_0..logvar_{K-1}, then label where the data has labels.
Rows follow the input: the training file's rows, then the test file's (or one --split).

Examples:
  vaekit encode --run runs/mnist --out codes.csv
  vaekit encode --run runs/mnist --split test --out test-codes.npy
  vaekit encode --run runs/mnist --data new-images/ --out new.csv")]
    Encode(EncodeArgs),
    /// Cluster the examples: k-means on the latent means, or a gmm-prior model's own clusters.
    #[command(after_help = "\
Writes index,cluster (and label, where the data has labels) per example, in input
order, and with labels prints accuracy (best matching of clusters to labels), NMI and ARI.

Examples:
  vaekit cluster --run runs/mnist --out clusters.csv             k-means, k = number of classes
  vaekit cluster --run runs/vade --split test --out test.csv     the model's own clusters (gmm prior)
  vaekit cluster --run runs/vade --method kmeans --k 20 --restarts 5 --out k20.csv
  vaekit cluster --run runs/mnist --data new-images/ --k 10 --out new.csv --json")]
    Cluster(ClusterArgs),
    /// Draw the latent space: a map of the encoded data coloured by label, and the decoded manifold grid.
    #[command(after_help = "\
The map shows each example's code (posterior mean; the top layer z2 of an hvae) by
PCA, by t-SNE (Barnes-Hut, from the bhtsne crate) or on the raw axes (the default for a
2-D code). The manifold decodes a grid of prior quantiles of a 2-D code; for a larger
code it spans the two dimensions with the largest KL on the data, the others at 0.

Examples:
  vaekit latent --run runs/mnist2d --out map.png --manifold manifold.png
  vaekit latent --run runs/mnist --out map.png --method tsne --limit 2000
  vaekit latent --run runs/mnist --out map3d.png --dims 3 --coords map3d.csv
  vaekit latent --run runs/cvae2d --manifold sevens.png --class 7 --grid 15")]
    Latent(LatentArgs),
    /// Decode the path between two examples (or two prior draws) as an image strip, a GIF, or CSV rows.
    #[command(after_help = "\
The ends are the codes (posterior means) of examples --from and --to of the split, so
the first and last pictures are reconstructions. slerp turns along the great circle
between the codes while their length changes linearly. hvae runs interpolate the top
layer z2; cvae runs decode every step with --class.

Examples:
  vaekit interpolate --run runs/mnist --from 3 --to 8 --out path.png --originals
  vaekit interpolate --run runs/mnist --prior --seed 7 --path slerp --steps 16 --out p.png --gif p.gif
  vaekit interpolate --run runs/table --from 0 --to 1 --out path.csv      rows in the data's units")]
    Interpolate(InterpolateArgs),
    /// Sweep each latent dimension over the prior, the rest held at one code: a row per dimension, by KL.
    #[command(after_help = "\
Rows are ordered by the KL each dimension carries on the split (largest first) and
labelled with it; columns go from -range to +range prior standard deviations.

Examples:
  vaekit traverse --run runs/mnist --index 0 --out traversal.png
  vaekit traverse --run runs/mnist --prior --seed 3 --dims 5 --range 2.5 --steps 11 --out t.png")]
    Traverse(TraverseArgs),
    /// Score every example as an anomaly (higher = less like the training data); AUROC, average precision, thresholds.
    #[command(after_help = "\
The CSV has one row per scored example, in input order: index, score (nats),
then label (where the data has labels), anomaly (1 = known anomaly, with
--normal-class or --anomaly-labels) and flag (1 = above the threshold, with
--target-fpr).

--anomaly-labels FILE: a text file with one line per scored example, in input
order, each 0 (normal) or 1 (anomaly); blank lines and lines starting with #
are skipped.

--target-fpr F: the threshold is the (1 - F) quantile of the scores of the
normal examples of the run's --calibrate-on split (default val: held out from
the training data; with --normal-class, only that class's examples count). An
example is flagged when its score is above it. The false-positive and
true-positive rates it achieves on the scored data are reported.

Examples:
  vaekit score --run runs/mnist --out scores.csv                 -ELBO of each test example
  vaekit score --run runs/three --score iw-nll --iw-samples 100 --normal-class 3
  vaekit score --run runs/three --normal-class 3 --target-fpr 0.05 --out flags.csv
  vaekit score --run runs/table --data new.csv --anomaly-labels truth.txt --json
  vaekit score --run runs/mnist --split train --score recon --samples 5 --out recon.csv")]
    Score(ScoreArgs),
    /// Fill in missing values (empty table cells, or image pixels hidden by a mask) with a trained VAE.
    #[command(after_help = "\
Missing values: empty cells of a CSV table (empty, NA, NaN, null, ?), and/or values hidden by
--mask (top-half, left-half for images; random:P for any data) or --mask-file: a PNG of the
images' size (non-black = missing) or an NPY/CSV/IDX array of one example's shape, or of one
per example (nonzero = missing). Tables are imputed in the run's scaled units and written back
in the original units; observed cells are copied unchanged.

Examples:
  vaekit impute --run runs/table --data holes.csv --out filled.csv
  vaekit impute --run runs/mnist --mask top-half --limit 16 --out halves.png --completed filled.npy
  vaekit impute --run runs/mnist --mask-file mask.png --method miwae --samples 100 --out filled.png
  vaekit impute --run runs/mnist --mask top-half --limit 1000 --evaluate
  vaekit impute --run runs/table --mask random:0.2 --evaluate --json    RMSE: VAE vs mean vs k-NN")]
    Impute(ImputeArgs),
    /// Describe a data source or a run directory.
    #[command(after_help = "\
Examples:
  vaekit info digits
  vaekit info ../data/mnist
  vaekit info runs/mnist --json")]
    Info(InfoArgs),
    /// Accuracy of a classifier on the latent means against the raw values (a probe of the latent space).
    #[command(after_help = "\
Trains the classifier on the run's training split (or --train-limit N labelled examples of it,
N/classes per class) and scores it on the test split, or validation if there is none.

Examples:
  vaekit probe --run runs/mnist                          logistic regression, all labels
  vaekit probe --run runs/mnist --classifier knn --k 5 --train-limit 100
  vaekit probe --run runs/mnist --train-limit 100 --add-train synthetic/   with augmented data
  vaekit probe --run runs/mnist --train-limit 100 --save-labelled few/     the 100 examples, as data
  vaekit probe --run runs/mnist --json")]
    Probe(ProbeArgs),
    /// Write new examples drawn from the model as a data set (IDX, PNG folder, NPY or CSV).
    #[command(after_help = "\
A conditional run (--model cvae) gives labelled examples: --n of one --class, or --n of
every class (--per-class, the default). An unconditional run gives --n unlabelled ones.
The format is --format, else .csv/.npy by the name, else the training data's.

Examples:
  vaekit augment --run runs/cvae --n 1000 --per-class --out synthetic/      IDX folder, like MNIST
  vaekit augment --run runs/cvae --n 500 --class 3 --out threes/ --format images
  vaekit augment --run runs/table --n 200 --out more.csv                    original units
  vaekit augment --run runs/mnist --n 64 --out extra.npy")]
    Augment(AugmentArgs),
    /// Train on the embedded digits and write samples, reconstructions and curves.
    #[command(after_help = "\
Example:
  vaekit demo --out vaekit-demo")]
    Demo(DemoArgs),
    /// Compress binary images losslessly with a VAE (bits-back coding) into a .vkz file.
    #[command(after_help = compress::COMPRESS_HELP)]
    Compress(CompressArgs),
    /// Restore the images of a .vkz file exactly.
    #[command(after_help = compress::DECOMPRESS_HELP)]
    Decompress(DecompressArgs),
    /// Write one self-contained HTML report of a run.
    #[command(after_help = web::REPORT_HELP)]
    Report(ReportArgs),
    /// Serve a live latent-space explorer of a run on 127.0.0.1.
    #[command(after_help = web::EXPLORE_HELP)]
    Explore(ExploreArgs),
}

/// How to read a data source.
#[derive(Debug, Args, Clone, Default)]
pub struct DataArgs {
    /// Read the source as this format instead of detecting it: digits, idx-dir, idx, npy, csv, images.
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Labels for a single IDX or NPY file (an IDX labels file or a 1-D NPY array).
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// CSV column holding the labels, by name or 0-based index.
    #[arg(long, value_name = "NAME|INDEX")]
    pub label_column: Option<String>,
    /// Resize the images of an image folder to HxW, such as 28x28.
    #[arg(long, value_name = "HxW", value_parser = parse_image_size)]
    pub image_size: Option<[usize; 2]>,
    /// CSV column types, overriding the inferred ones: name=TYPE,... with TYPE real, integer, count, binary, categorical or modes; `auto` types every column of a table of numbers too; or a file of name=TYPE lines.
    #[arg(long, value_name = "NAME=TYPE,...|auto|FILE")]
    pub column_types: Option<String>,
    /// CSV columns to leave out, by name (an ID column, say).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub drop_columns: Option<Vec<String>>,
    /// CSV cells that mean "missing", replacing the default empty, NA, N/A, NaN, null, none and ?.
    #[arg(long, value_name = "MARK,...", value_delimiter = ',')]
    pub missing_values: Option<Vec<String>>,
    /// CSV: ignore this many lines at the top of the file (a title line, such as the one that opens UCI's adult.test).
    #[arg(long, value_name = "N")]
    pub skip_lines: Option<usize>,
    /// CSV: the field delimiter (one character, or tab, comma, semicolon, pipe, space) [default: sniffed from the file; `vaekit info` shows which].
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<char>,
}

impl DataArgs {
    /// These options as training settings (the other fields unset).
    pub fn settings(&self) -> TrainSettings {
        TrainSettings {
            format: self.format,
            labels: self.labels.clone(),
            label_column: self.label_column.clone(),
            image_size: self.image_size,
            column_types: self.column_types.clone(),
            drop_columns: self.drop_columns.clone(),
            missing_values: self.missing_values.clone(),
            skip_lines: self.skip_lines,
            delimiter: self.delimiter,
            ..TrainSettings::default()
        }
    }

    pub fn load_options(&self) -> LoadOptions {
        self.settings().load_options()
    }
}

/// A run and which of its weights to use.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The run directory written by `vaekit train`.
    #[arg(long, value_name = "RUN_DIR")]
    pub run: PathBuf,
    /// Which weights: best (by validation -ELBO) or last [default: best].
    #[arg(long, value_name = "WHICH", default_value = "best")]
    pub weights: Weights,
}

/// Another source than the run's own, read with the run's preprocessing.
#[derive(Debug, Args)]
pub struct OtherDataArgs {
    /// Use this source instead of the run's own (same shape; the run's scaler is applied).
    #[arg(long, value_name = "SOURCE")]
    pub data: Option<String>,
    #[command(flatten)]
    pub source: DataArgs,
}

impl OtherDataArgs {
    pub fn other(&self) -> Option<(String, LoadOptions)> {
        self.data.clone().map(|d| (d, self.source.load_options()))
    }
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// train, val or test [default: test where the source has one, else val].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Examples per forward pass; with --iw-samples, rows (examples x samples) per pass (memory only).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub batch_size: usize,
    /// Also estimate log p(x) by importance weighting with K samples per example (5000 in the papers).
    #[arg(long, value_name = "K")]
    pub iw_samples: Option<usize>,
    /// Evaluate only the first N examples of the split (quick checks).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Judge this synthetic table (CSV) against the real rows (the run's training file, or --data) as SDMetrics does: column shapes, pair trends, quality, distance to the closest record.
    #[arg(long, value_name = "FILE")]
    pub synthetic: Option<PathBuf>,
    /// With --synthetic: real rows held out of training (CSV), whose distance to the training rows is the privacy baseline.
    #[arg(long, value_name = "FILE", requires = "synthetic")]
    pub holdout: Option<PathBuf>,
    /// With --synthetic and --holdout: machine-learning efficacy, the F1 of a logistic regression that predicts this column (binary or categorical) from the others, trained on the synthetic rows and on the real ones, tested on the held-out rows.
    #[arg(long, value_name = "COLUMN", requires = "holdout")]
    pub target: Option<String>,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub decode: DecodeArgs,
    /// Number of samples.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub n: usize,
    /// Output: .png (an image grid) or .csv (values; tables in their original units).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Seed of the prior draws.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// A conditional model (cvae): draw --n samples of this class; without it, --n of every class, one grid row per class.
    #[arg(long, value_name = "C")]
    pub class: Option<u32>,
    /// A conditional model: --n samples in all, its classes at their shares of the training rows (a synthetic table of the whole data, the label column written as the table had it).
    #[arg(long, conflicts_with = "class")]
    pub class_shares: bool,
    /// Draw the codes from a Gaussian mixture of K components fitted to the training rows' codes (per class for a conditional model) instead of from the prior: samples then come from where the data's codes lie (ex-post density estimation). The run's data is read again to fit it.
    #[arg(long, value_name = "K")]
    pub code_mixture: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ReconstructArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub decode: DecodeArgs,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// Number of examples, taken from the start of the split.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub n: usize,
    /// train, val or test [default: test where the source has one, else val].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// Output: .png (pairs side by side) or .csv.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct EncodeArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// Only this split (train, val or test) [default: every example, in input order].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// Output: .csv or .npy (float32 [n, columns]).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Examples per forward pass (memory only).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub batch_size: usize,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// A data source (`digits`, a file or folder) or a run directory.
    #[arg(value_name = "SOURCE|RUN_DIR")]
    pub target: String,
    #[command(flatten)]
    pub source: DataArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder for the run and its pictures (new or empty).
    #[arg(long, value_name = "DIR", default_value = "vaekit-demo")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImputeArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// The run's own data: train, val or test [default: test where the source has one, else val].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// Hide values by a rule: top-half or left-half (images), random:P (each value with probability P).
    #[arg(long, value_name = "RULE")]
    pub mask: Option<MaskSpec>,
    /// Hide the values a mask file marks (nonzero = missing; see below).
    #[arg(long, value_name = "FILE")]
    pub mask_file: Option<PathBuf>,
    /// gibbs (pseudo-Gibbs, Rezende et al. 2014) or miwae (importance resampling, Mattei & Frellsen 2019).
    #[arg(long, value_name = "METHOD", default_value = "gibbs")]
    pub method: Method,
    /// Rounds of encode, decode and refill.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub iterations: usize,
    /// miwae: importance samples per example.
    #[arg(long, value_name = "K", default_value_t = 50)]
    pub samples: usize,
    /// gibbs: z is the posterior mean or a draw of q(z|x).
    #[arg(long, value_name = "HOW", default_value = "mean")]
    pub gibbs_z: Draw,
    /// gibbs: missing values get the decoder's mean or a draw of p(x|z).
    #[arg(long, value_name = "HOW", default_value = "mean")]
    pub gibbs_x: Draw,
    /// What the encoder reads each round: completion (the last round's estimate filled in) or observed (the observed values, the missing ones at the training means) [default: observed for a run trained with --encoder-mask, else completion].
    #[arg(long, value_name = "WHAT")]
    pub encoder_reads: Option<EncoderReads>,
    /// Score instead: impute the hidden values of complete data with gibbs, miwae, the column mean and k-NN, and print each RMSE.
    #[arg(long)]
    pub evaluate: bool,
    /// Neighbours of the k-NN baseline (--evaluate).
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub neighbours: usize,
    /// Only the first N examples.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Output: .csv (tables in original units), .png (images: original, masked, imputed rows), .npy or .idx.
    #[arg(long, value_name = "FILE", required_unless_present_any = ["evaluate", "completed"])]
    pub out: Option<PathBuf>,
    /// Also write every completed example: .npy, .idx (images) or .csv.
    #[arg(long, value_name = "FILE")]
    pub completed: Option<PathBuf>,
    /// Images in the .png picture.
    #[arg(long, value_name = "N", default_value_t = 16)]
    pub show: usize,
    /// Seed of a random mask and of the methods' draws.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Rows (examples x samples) per forward pass (memory only).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub batch_size: usize,
    /// --evaluate: print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// Split to test on: val or test [default: test where the source has one, else val].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// logreg (multinomial logistic regression, standardized features) or knn.
    #[arg(long, value_name = "KIND", default_value = "logreg")]
    pub classifier: ProbeClassifier,
    /// Neighbours that vote, with --classifier knn.
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub k: usize,
    /// L2 penalty of the logistic regression (scikit-learn's 1/C).
    #[arg(long, value_name = "L2", default_value_t = 1.0)]
    pub l2: f64,
    /// Train on only N labelled training examples, N/classes of each class, drawn with --seed.
    #[arg(long, value_name = "N")]
    pub train_limit: Option<usize>,
    /// Seed of the --train-limit draw.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Add these labelled examples to the training rows (e.g. `vaekit augment` output), read like --data.
    #[arg(long, value_name = "SOURCE")]
    pub add_train: Option<String>,
    /// Also write the labelled training examples used, as data (a folder or .csv/.npy; like augment --out).
    #[arg(long, value_name = "PATH")]
    pub save_labelled: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Examples per encoder pass (memory only).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub batch_size: usize,
}

/// The classifiers of `vaekit probe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProbeClassifier {
    /// Multinomial logistic regression.
    Logreg,
    /// k-nearest neighbours.
    Knn,
}

#[derive(Debug, Args)]
pub struct AugmentArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Examples to draw (of each class with --per-class).
    #[arg(long, value_name = "N")]
    pub n: usize,
    /// A conditional model: draw --n examples of this class.
    #[arg(long, value_name = "C", conflicts_with = "per_class")]
    pub class: Option<u32>,
    /// A conditional model: draw --n examples of every class.
    #[arg(long)]
    pub per_class: bool,
    /// Output: a new folder (idx, images) or a .npy or .csv file.
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// idx, images, npy or csv [default: by the name, else the training data's format].
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<AugmentFormat>,
    /// Seed of the prior draws.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
}

#[derive(Debug, Args)]
pub struct LatentArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// train, val or test [default: test where the source has one, else val].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// The map, a .png: the codes of the split's first --limit examples, coloured by label.
    #[arg(long, value_name = "FILE.png", required_unless_present = "manifold")]
    pub out: Option<PathBuf>,
    /// pca, tsne or axes [default: axes when the code has --dims dimensions, else pca].
    #[arg(long, value_name = "METHOD")]
    pub method: Option<MapMethod>,
    /// Map at most the first N examples of the split.
    #[arg(long, value_name = "N", default_value_t = 5000)]
    pub limit: usize,
    /// 2, or 3 (three pairwise panels in one picture).
    #[arg(long, value_name = "D", default_value_t = 2)]
    pub dims: usize,
    /// Also write the map's coordinates as CSV (x, y[, z][, label]).
    #[arg(long, value_name = "FILE.csv", requires = "out")]
    pub coords: Option<PathBuf>,
    /// A table with typed columns: colour the points by this column (its categories, or five bins of its numbers) instead of by label.
    #[arg(
        long,
        visible_alias = "color-by",
        value_name = "COLUMN",
        requires = "out"
    )]
    pub colour_by: Option<String>,
    /// Write the decoded manifold grid (image data) to this .png.
    #[arg(long, value_name = "FILE.png")]
    pub manifold: Option<PathBuf>,
    /// Side of the manifold grid.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub grid: usize,
    /// A conditional model (cvae): the class to decode the manifold with.
    #[arg(long, value_name = "C")]
    pub class: Option<u32>,
}

#[derive(Debug, Args)]
pub struct InterpolateArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub decode: DecodeArgs,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// train, val or test [default: test where the source has one, else val].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// Index in the split of the example the path starts from.
    #[arg(
        long,
        value_name = "I",
        required_unless_present = "prior",
        conflicts_with = "prior"
    )]
    pub from: Option<usize>,
    /// Index in the split of the example the path ends at.
    #[arg(
        long,
        value_name = "J",
        required_unless_present = "prior",
        conflicts_with = "prior"
    )]
    pub to: Option<usize>,
    /// Go between two draws from the prior instead of two examples.
    #[arg(long)]
    pub prior: bool,
    /// Seed of the prior draws.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Pictures along the path, both ends included.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub steps: usize,
    /// linear or slerp.
    #[arg(long, value_name = "PATH", default_value = "linear")]
    pub path: PathKind,
    /// Output: .png (a strip; images) or .csv (rows in the data's units).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also write an animated GIF that goes there and back (images).
    #[arg(long, value_name = "FILE.gif")]
    pub gif: Option<PathBuf>,
    /// Milliseconds each GIF frame is shown.
    #[arg(long, value_name = "MS", default_value_t = 120)]
    pub frame_ms: u32,
    /// Put the two original examples at the ends of the strip.
    #[arg(long)]
    pub originals: bool,
    /// A conditional model (cvae): the class to decode with (required).
    #[arg(long, value_name = "C")]
    pub class: Option<u32>,
}

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct TraverseArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// train, val or test [default: test where the source has one, else val]; also the data the KL is measured on.
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// Hold the other dimensions at this example's code (index in the split) [default: 0].
    #[arg(long, value_name = "I", conflicts_with = "prior")]
    pub index: Option<usize>,
    /// Hold them at a draw from the prior instead.
    #[arg(long)]
    pub prior: bool,
    /// Seed of the prior draw.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Sweep from -R to +R prior standard deviations.
    #[arg(long, value_name = "R", default_value_t = 3.0)]
    pub range: f64,
    /// Pictures per dimension.
    #[arg(long, value_name = "N", default_value_t = 9)]
    pub steps: usize,
    /// all, or N: the N dimensions with the largest KL.
    #[arg(long, value_name = "all|N", default_value = "all")]
    pub dims: DimChoice,
    /// Output: .png (a grid; images) or .csv (rows in the data's units).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// A conditional model (cvae): the class to decode with [default: the example's label].
    #[arg(long, value_name = "C")]
    pub class: Option<u32>,
}

#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub run: RunArgs,
    #[command(flatten)]
    pub data: OtherDataArgs,
    /// Only this split (train, val or test) [default: every example, in input order].
    #[arg(long, value_name = "SPLIT")]
    pub split: Option<Split>,
    /// kmeans (on the posterior means) or prior (argmax q(c|x) of a gmm-prior model) [default: prior for a gmm-prior run, else kmeans].
    #[arg(long, value_name = "METHOD")]
    pub method: Option<vaekit::cluster::Method>,
    /// Number of clusters [default: the number of classes of labelled data; the mixture's components for prior].
    #[arg(long, value_name = "K")]
    pub k: Option<usize>,
    /// Where k-means runs: latent (the posterior means) or tsne (their 2-D t-SNE map, where each class tends to be one island; k-means cuts it into 5 pieces per cluster, merged along nearest-neighbour links; minutes for tens of thousands of examples).
    #[arg(long, value_name = "SPACE", default_value_t = vaekit::cluster::Space::Latent)]
    pub space: vaekit::cluster::Space,
    /// k-means starts; the one of lowest inertia is kept.
    #[arg(long, value_name = "R", default_value_t = 10)]
    pub restarts: usize,
    /// Seed of the k-means starts.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// Output CSV: index,cluster[,label] per example.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}
