//! The flags that only text runs read, and their translation into the
//! library's [`TextSettings`] and [`Decoding`].

use clap::Args;
use vaekit::settings::ModelKind;
use vaekit::text::corpus::TokenLevel;
use vaekit::text::decode::Decoding;
use vaekit::text::rnn::CellKind;
use vaekit::text::settings::{KlAnneal, TextSettings};

use super::TrainArgs;

/// `vaekit train` flags for a text source (a .txt or .txt.gz file, or a CSV with --text-column).
#[derive(Debug, Args)]
pub struct TextArgs {
    /// Text: the CSV column that holds the sentences (the source is then read as text).
    #[arg(long, value_name = "NAME")]
    pub text_column: Option<String>,
    /// Text: validation sentences [default: NAME.valid.txt beside NAME.train.txt, else --val-fraction of the training lines].
    #[arg(long, value_name = "FILE")]
    pub valid: Option<String>,
    /// Text: test sentences [default: NAME.test.txt beside NAME.train.txt].
    #[arg(long, value_name = "FILE")]
    pub test: Option<String>,
    /// Text: tokens are words or characters (word, char) [default: word].
    #[arg(long, value_name = "LEVEL")]
    pub token_level: Option<TokenLevel>,
    /// Text: tokens in the vocabulary, the 4 special ones included; rarer words read as <unk> [default: 10000].
    #[arg(long, value_name = "N")]
    pub vocab_size: Option<usize>,
    /// Text: tokens kept of a sentence; longer ones are cut and counted [default: 50].
    #[arg(long, value_name = "N")]
    pub max_length: Option<usize>,
    /// Text: keep upper case (lower-cased by default).
    #[arg(long)]
    pub keep_case: bool,
    /// Text: keep punctuation attached to words (split off by default).
    #[arg(long)]
    pub keep_punctuation: bool,
    /// Text: width of the token embedding [default: 256].
    #[arg(long, value_name = "N")]
    pub embed: Option<usize>,
    /// Text: recurrent layers in the encoder and the decoder [default: 1].
    #[arg(long, value_name = "N")]
    pub rnn_layers: Option<usize>,
    /// Text: the recurrent cell of both networks, gru or lstm [default: gru].
    #[arg(long, value_name = "CELL")]
    pub cell: Option<CellKind>,
    /// Text: the encoder reads each sentence forwards and backwards, q(z|x) from both last states.
    #[arg(long)]
    pub bidirectional: bool,
    /// Text: BN-VAE, the posterior means batch-normalized with this fixed scale (0.6 to 0.9 published), so each dimension keeps a KL of at least scale^2 / 2.
    #[arg(long, value_name = "GAMMA")]
    pub mu_batch_norm: Option<f64>,
    /// Text: He et al.'s aggressive training: before each decoder step, encoder steps on random batches until their loss stops falling (at most 100), for as long as the validation mutual information rises.
    #[arg(long)]
    pub aggressive: bool,
    /// Text: dropout on the embeddings and the decoder's outputs [default: 0.5].
    #[arg(long, value_name = "P")]
    pub dropout: Option<f64>,
    /// Text: share of the decoder's input words replaced by <unk> in training (Bowman's word dropout) [default: 0].
    #[arg(long, value_name = "P")]
    pub word_dropout: Option<f64>,
    /// Text: the KL weight's schedule: constant, linear (0 to 1 over --kl-warmup epochs) or cyclical (--kl-cycles ramps) [default: linear].
    #[arg(long, value_name = "SCHEDULE")]
    pub kl_anneal: Option<KlAnneal>,
    /// Text: cycles of the cyclical schedule [default: 4].
    #[arg(long, value_name = "N")]
    pub kl_cycles: Option<usize>,
}

/// How `sample`, `reconstruct` and `interpolate` turn a text run's codes into sentences.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// Text: draw each word at this temperature instead of taking the likeliest [default: greedy for the VAE, 1 for the language model].
    #[arg(long, value_name = "T", conflicts_with = "beam")]
    pub temperature: Option<f64>,
    /// Text: beam search of this width.
    #[arg(long, value_name = "W")]
    pub beam: Option<usize>,
    /// Text: let the decoder write <unk> (by default the likeliest known word goes where it would).
    #[arg(long)]
    pub allow_unk: bool,
    /// Text: the longest sentence written, in tokens [default: the run's --max-length].
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<usize>,
}

impl DecodeArgs {
    /// The decoding these flags ask for (`language_model`: the default samples).
    pub fn decoding(&self, language_model: bool) -> Decoding {
        match (self.temperature, self.beam) {
            (Some(temperature), _) => Decoding::Sample { temperature },
            (None, Some(width)) => Decoding::Beam { width },
            (None, None) if language_model => Decoding::Sample { temperature: 1.0 },
            (None, None) => Decoding::Greedy,
        }
    }
}

/// The flags of `vaekit train` that image and table runs read and text runs
/// do not, by name, where given.
fn unused_flags(args: &TrainArgs) -> Vec<&'static str> {
    let given = [
        (args.arch.is_some(), "--arch"),
        (args.prior.is_some(), "--prior"),
        (args.likelihood.is_some(), "--likelihood"),
        (args.binarize.is_some(), "--binarize"),
        (args.scaler.is_some(), "--scaler"),
        (args.batch_norm, "--batch-norm"),
        (args.objective.is_some(), "--objective"),
        (args.train_samples.is_some(), "--train-samples"),
        (args.conv_channels.is_some(), "--conv-channels"),
        (args.encoder_mask.is_some(), "--encoder-mask"),
        (args.only_class.is_some(), "--only-class"),
        (args.init_from.is_some(), "--init-from"),
        (args.resume, "--resume"),
        (args.beta.is_some(), "--beta"),
        (args.lr_schedule.is_some(), "--lr-schedule"),
        (args.early_stop.is_some(), "--early-stop"),
        (args.min_delta.is_some(), "--min-delta"),
        (args.max_time.is_some(), "--max-time"),
    ];
    given.iter().filter(|g| g.0).map(|g| g.1).collect()
}

/// The text settings of `vaekit train`'s flags, over the library's defaults.
pub fn text_settings(args: &TrainArgs) -> vaekit::Result<TextSettings> {
    let setting = |name: &str, message: String| vaekit::Error::Setting {
        name: name.to_string(),
        message,
    };
    let unused = unused_flags(args);
    if !unused.is_empty() {
        return Err(setting(
            unused[0],
            format!(
                "{} do(es) not apply to a text source; a sentence VAE takes --model vae|lm, \
                 --hidden, --latent, --embed, --word-dropout, --kl-anneal, --free-bits and the \
                 training flags",
                unused.join(", ")
            ),
        ));
    }
    let language_model = match args.model {
        None | Some(ModelKind::Vae) => false,
        Some(ModelKind::Lm) => true,
        Some(other) => {
            return Err(setting(
                "--model",
                format!(
                    "{other} is a model of images and tables; a text source trains --model vae \
                     (the sentence VAE) or --model lm (the language model)"
                ),
            ));
        }
    };
    let t = &args.text;
    let d = TextSettings::default();
    let data = args.data.clone().unwrap_or_default();
    let (valid, test) = vaekit::text::corpus::sibling_splits(std::path::Path::new(&data));
    let path = |p: Option<std::path::PathBuf>| p.map(|p| p.display().to_string());
    let hidden = match args.hidden.as_ref().map(|h| h.0.as_slice()) {
        None => d.hidden,
        Some([h]) => *h,
        Some(_) => {
            return Err(setting(
                "--hidden",
                "a text run takes one width, the recurrent state size, such as 256".into(),
            ));
        }
    };
    Ok(TextSettings {
        data,
        text_column: t.text_column.clone(),
        valid: t.valid.clone().or_else(|| path(valid)),
        test: t.test.clone().or_else(|| path(test)),
        val_fraction: args.val_fraction.unwrap_or(d.val_fraction),
        limit: args.limit,
        tokenizer: vaekit::text::corpus::TokenizerConfig {
            level: t.token_level.unwrap_or(d.tokenizer.level),
            vocab_size: t.vocab_size.unwrap_or(d.tokenizer.vocab_size),
            lowercase: !t.keep_case,
            split_punctuation: !t.keep_punctuation,
            max_length: t.max_length.unwrap_or(d.tokenizer.max_length),
        },
        embed: t.embed.unwrap_or(d.embed),
        hidden,
        layers: t.rnn_layers.unwrap_or(d.layers),
        cell: t.cell.unwrap_or(d.cell),
        bidirectional: t.bidirectional,
        mu_batch_norm: t.mu_batch_norm,
        aggressive: t.aggressive,
        latent: args.latent.unwrap_or(d.latent),
        language_model,
        epochs: args.epochs.unwrap_or(d.epochs),
        batch_size: args.batch_size.unwrap_or(d.batch_size),
        lr: args.lr.unwrap_or(d.lr),
        clip_grad: args.clip_grad.unwrap_or(d.clip_grad),
        dropout: t.dropout.unwrap_or(d.dropout),
        word_dropout: t.word_dropout.unwrap_or(d.word_dropout),
        kl_anneal: t.kl_anneal.unwrap_or(d.kl_anneal),
        kl_anneal_epochs: args.kl_warmup.unwrap_or(d.kl_anneal_epochs),
        kl_cycles: t.kl_cycles.unwrap_or(d.kl_cycles),
        free_bits: args.free_bits.unwrap_or(d.free_bits),
        seed: args.seed.unwrap_or(d.seed),
    })
}
