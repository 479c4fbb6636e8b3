//! `vaekit train`'s flags, and their translation into the library's
//! [`TrainSettings`].

use std::path::PathBuf;

use clap::Args;
use vaekit::data::ScalerKind;
use vaekit::data::prepare::Binarize;
use vaekit::distributions::GaussianVariance;
use vaekit::impute::MaskSpec;
use vaekit::nn::Activation;
use vaekit::settings::{
    ArchitectureKind, LikelihoodKind, LrSchedule, ModelKind, ObjectiveKind, PriorKind,
    TrainSettings, parse_duration, parse_sizes,
};

use super::DataArgs;

#[derive(Debug, Args)]
#[command(allow_negative_numbers = true)]
pub struct TrainArgs {
    /// The data: `digits` (embedded), a folder of IDX files, an IDX, NPY or CSV file, a folder of images, or text (a .txt file, a sentence a line).
    #[arg(long, value_name = "SOURCE")]
    pub data: Option<String>,
    /// The run directory to create (or to continue with --resume).
    #[arg(long, value_name = "RUN_DIR")]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Read settings from a TOML file; flags override it.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Start from the weights of this finished run (fine-tuning), with a fresh optimizer and schedule; its data and network settings are used unless given, the training settings are this run's own.
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "resume")]
    pub init_from: Option<PathBuf>,
    #[command(flatten)]
    pub source: DataArgs,
    #[command(flatten)]
    pub text: super::text::TextArgs,
    /// Use only the first N training examples of the source (quick trials).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Train only on the training examples of these classes, such as 3 or 3,5 (one-class anomaly detection); validation is held out from them, the test split is kept whole.
    #[arg(long, value_name = "C[,C..]", value_delimiter = ',')]
    pub only_class: Option<Vec<u32>>,
    /// Share of the training examples held out for validation, in [0, 1) [default: 0.1].
    #[arg(long, value_name = "F")]
    pub val_fraction: Option<f64>,
    /// Binarize the data: none, dynamic (a fresh draw each time), threshold (> 0.5) [default: none].
    #[arg(long, value_name = "HOW")]
    pub binarize: Option<Binarize>,
    /// Scaler for tables: min-max, standard or none [default: min-max for Bernoulli, standard for Gaussian, none for Poisson].
    #[arg(long, value_name = "KIND")]
    pub scaler: Option<ScalerKind>,
    /// Model: vae (with --beta the beta-VAE), iwae (trained on the importance-weighted bound), hvae (two latent layers), cvae (conditional on the label, which goes into the encoder and decoder; needs labelled data) or lm (the language model of a text source: the sentence VAE's decoder without z) [default: vae].
    #[arg(long, value_name = "MODEL")]
    pub model: Option<ModelKind>,
    /// Training objective: elbo or iw (the importance-weighted bound of --train-samples) [default: iw for iwae, else elbo].
    #[arg(long, value_name = "OBJ")]
    pub objective: Option<ObjectiveKind>,
    /// The prior p(z): standard (N(0, I)), vamp (a mixture of the posteriors at learned pseudo-inputs) or gmm (a learned Gaussian mixture whose components are clusters, VaDE) [default: standard].
    #[arg(long, value_name = "PRIOR")]
    pub prior: Option<PriorKind>,
    /// --prior vamp: the number of pseudo-inputs [default: 500].
    #[arg(long, value_name = "K")]
    pub pseudo_inputs: Option<usize>,
    /// --prior gmm: the number of mixture components (clusters) [default: 10].
    #[arg(long, value_name = "K")]
    pub components: Option<usize>,
    /// --prior gmm: epochs trained as an autoencoder before the mixture is fitted to the codes [default: a fifth of --epochs].
    #[arg(long, value_name = "N")]
    pub pretrain_epochs: Option<usize>,
    /// hvae: size of the second latent layer z2 [default: 50].
    #[arg(long, value_name = "K")]
    pub top_latent: Option<usize>,
    /// hvae: hidden widths between z1 and z2 [default: 100,100].
    #[arg(long, value_name = "SIZES", value_parser = sizes)]
    pub top_hidden: Option<Sizes>,
    /// Network family: mlp or conv [default: mlp].
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<ArchitectureKind>,
    /// MLP hidden layer widths, encoder side first: 400, 500,500, or none [default: 400; 200,200 for hvae; 256 for a table of typed columns].
    #[arg(long, value_name = "SIZES", value_parser = sizes)]
    pub hidden: Option<Sizes>,
    /// Conv channels per strided layer [default: 32,64].
    #[arg(long, value_name = "SIZES", value_parser = sizes)]
    pub conv_channels: Option<Sizes>,
    /// MLP nonlinearity: relu or tanh [default: relu; tanh for hvae].
    #[arg(long, value_name = "FN")]
    pub activation: Option<Activation>,
    /// Batch-normalize every hidden layer of the MLP networks before its nonlinearity (training uses each batch's statistics, everything else the running ones the run saves).
    #[arg(long)]
    pub batch_norm: bool,
    /// Train the encoder for imputation: in half the training examples it sees the values this mask hides (top-half, left-half or random:P, as for `vaekit impute --mask`) replaced by the training means; the decoder is still scored on every value [default: off].
    #[arg(long, value_name = "MASK")]
    pub encoder_mask: Option<MaskSpec>,
    /// Size of the latent code (z1 for hvae) [default: 20; 100 for hvae].
    #[arg(long, value_name = "K")]
    pub latent: Option<usize>,
    /// bernoulli (values in [0,1]), gaussian, poisson (tables of counts, unscaled), or logistic (8-bit images: a discretized logistic per pixel) [default: bernoulli for images, gaussian for tables].
    #[arg(long, value_name = "KIND")]
    pub likelihood: Option<LikelihoodKind>,
    /// Gaussian variance: scalar or per-pixel [default: scalar].
    #[arg(long, value_name = "KIND")]
    pub gaussian_variance: Option<GaussianVariance>,
    /// Passes over the training data [default: 10].
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Examples per step [default: 128].
    #[arg(long, value_name = "N")]
    pub batch_size: Option<usize>,
    /// Adam learning rate [default: 0.001].
    #[arg(long, value_name = "LR")]
    pub lr: Option<f64>,
    /// How the learning rate moves over the run: constant, cosine (half a cosine down to --lr-final) or exp (geometric decay to --lr-final) [default: constant]. The schedule spans --epochs, so resuming to more epochs stretches it.
    #[arg(long, value_name = "SCHEDULE")]
    pub lr_schedule: Option<LrSchedule>,
    /// The learning rate at the last step of a cosine or exp schedule [default: 0 for cosine, --lr / 10 for exp].
    #[arg(long, value_name = "LR")]
    pub lr_final: Option<f64>,
    /// Adam L2 weight decay [default: 0].
    #[arg(long, value_name = "W")]
    pub weight_decay: Option<f64>,
    /// Weight of the KL term; 1 is the ELBO, other values the beta-VAE [default: 1].
    #[arg(long, value_name = "BETA")]
    pub beta: Option<f64>,
    /// Floor each latent dimension's batch-mean KL at this many nats (free bits) [default: 0, none].
    #[arg(long, value_name = "NATS")]
    pub free_bits: Option<f64>,
    /// Samples of z per example in each step: the K of the IWAE bound, or the ELBO's average [default: 5 for iwae, 1 for vae].
    #[arg(long, value_name = "K")]
    pub train_samples: Option<usize>,
    /// Epochs over which beta ramps linearly from 0 [default: 0, no warm-up].
    #[arg(long, value_name = "EPOCHS")]
    pub kl_warmup: Option<f64>,
    /// Clip the global gradient norm to this value [default: 0, no clipping].
    #[arg(long, value_name = "NORM")]
    pub clip_grad: Option<f64>,
    /// Seed of every random choice [default: 0].
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Stop when the validation -ELBO has not improved by more than --min-delta for this many epochs (the best weights are kept in best.safetensors).
    #[arg(long, value_name = "PATIENCE")]
    pub early_stop: Option<usize>,
    /// With --early-stop: the improvement in nats that counts as better [default: 0].
    #[arg(long, value_name = "NATS")]
    pub min_delta: Option<f64>,
    /// Stop before the run's training time (summed over resumed sessions) passes this, such as 45m, 2h or 1h30m; the run ends at a finished epoch.
    #[arg(long, value_name = "DURATION", value_parser = checked_duration)]
    pub max_time: Option<String>,
}

impl TrainArgs {
    /// The settings these flags give (only what was given).
    pub fn settings(&self) -> TrainSettings {
        TrainSettings {
            data: self.data.clone(),
            init_from: self.init_from.clone(),
            limit: self.limit,
            only_class: self.only_class.clone(),
            val_fraction: self.val_fraction,
            binarize: self.binarize,
            scaler: self.scaler,
            model: self.model,
            objective: self.objective,
            prior: self.prior,
            pseudo_inputs: self.pseudo_inputs,
            components: self.components,
            pretrain_epochs: self.pretrain_epochs,
            top_latent: self.top_latent,
            top_hidden: self.top_hidden.clone().map(|s| s.0),
            arch: self.arch,
            hidden: self.hidden.clone().map(|s| s.0),
            conv_channels: self.conv_channels.clone().map(|s| s.0),
            activation: self.activation,
            batch_norm: self.batch_norm.then_some(true),
            encoder_mask: self.encoder_mask,
            latent: self.latent,
            likelihood: self.likelihood,
            gaussian_variance: self.gaussian_variance,
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr: self.lr,
            lr_schedule: self.lr_schedule,
            lr_final: self.lr_final,
            weight_decay: self.weight_decay,
            beta: self.beta,
            free_bits: self.free_bits,
            train_samples: self.train_samples,
            kl_warmup: self.kl_warmup,
            clip_grad: self.clip_grad,
            seed: self.seed,
            early_stop: self.early_stop,
            min_delta: self.min_delta,
            max_time: self.max_time.clone(),
            ..self.source.settings()
        }
    }
}

/// A duration as the user wrote it, once it parses.
fn checked_duration(text: &str) -> Result<String, String> {
    parse_duration(text).map(|_| text.trim().to_string())
}

/// A list of layer sizes as one argument (clap would read a bare `Vec` as
/// repeated arguments).
#[derive(Debug, Clone)]
pub struct Sizes(pub Vec<usize>);

fn sizes(text: &str) -> Result<Sizes, String> {
    parse_sizes(text).map(Sizes)
}
