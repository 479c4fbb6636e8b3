//! The commands on text: each parses, calls `vaekit::text` and prints, as
//! the image and table commands do.

use std::path::Path;

use anyhow::{Context, Result};
use vaekit::burn::tensor::Device;
use vaekit::data::prepare::Split;
use vaekit::text::corpus::Encoded;
use vaekit::text::decode;
use vaekit::text::eval::{TextEvalOptions, evaluate, sentence_scores};
use vaekit::text::model::SentenceVae;
use vaekit::text::run::{TextRun, write_lines};
use vaekit::text::train::{TextTrainRequest, train_text};

use super::say;
use crate::cli::{
    DecodeArgs, EncodeArgs, EvalArgs, InterpolateArgs, OtherDataArgs, ReconstructArgs, RunArgs,
    SampleArgs, ScoreArgs, TrainArgs, text_settings,
};
use crate::progress::Progress;

/// `true` when `--run` names a text run.
pub fn is_text(run: &RunArgs) -> bool {
    vaekit::text::run::is_text_run(&run.run)
}

/// `true` when `vaekit train`'s source is text.
pub fn is_text_source(args: &TrainArgs) -> bool {
    args.data
        .as_deref()
        .is_some_and(|d| vaekit::text::corpus::is_text_source(d, args.text.text_column.as_deref()))
}

/// A usage error (exit code 2) about `flag`.
fn usage(flag: &str, message: impl Into<String>) -> anyhow::Error {
    vaekit::Error::Setting {
        name: flag.to_string(),
        message: message.into(),
    }
    .into()
}

fn open(args: &RunArgs, device: &Device) -> Result<(TextRun, SentenceVae)> {
    let run = TextRun::open(&args.run)?;
    let model = run.load_model(args.weights, device)?;
    Ok((run, model))
}

/// The sentences a command works on: `--data`'s, or a split of the run's.
fn chosen(run: &TextRun, data: &OtherDataArgs, split: Option<Split>) -> Result<(String, Encoded)> {
    if let Some(path) = &data.data {
        let (_, encoded) = run.sentences(Path::new(path))?;
        return Ok((path.clone(), encoded));
    }
    let split = split.unwrap_or_else(|| run.default_split());
    let encoded = run.split(split)?;
    if encoded.sentences.is_empty() {
        return Err(usage(
            "--split",
            format!(
                "the {split} split of {} holds no sentence",
                run.dir.display()
            ),
        ));
    }
    Ok((format!("{split}"), encoded))
}

fn options(run: &TextRun, decode: &DecodeArgs, how: decode::Decoding) -> decode::DecodeOptions {
    decode::DecodeOptions {
        how,
        max_length: decode
            .max_tokens
            .unwrap_or(run.config.settings.tokenizer.max_length),
        allow_unk: decode.allow_unk,
    }
}

pub fn train(args: &TrainArgs, device: Device, quiet: bool) -> Result<()> {
    let settings = text_settings(args)?;
    let request = TextTrainRequest {
        settings,
        out: args.out.clone(),
        device,
    };
    let mut progress = Progress::new(quiet);
    crate::signals::graceful(None);
    let outcome = match train_text(request, &mut progress) {
        Err(vaekit::Error::Interrupted { epochs }) => {
            return Err(super::train::interrupted(&args.out, epochs, false));
        }
        other => other.with_context(|| format!("training into {} failed", args.out.display()))?,
    };
    let mut text = format!("run saved in {}", outcome.run_dir.display());
    if let Some((epoch, score)) = outcome.best {
        text.push_str(&format!(
            " (best epoch {epoch}, validation -ELBO {score:.3} nats per sentence)"
        ));
    }
    say(text)
}

pub fn eval(args: &EvalArgs, device: Device) -> Result<()> {
    let (run, model) = open(&args.run, &device)?;
    let (what, mut encoded) = chosen(&run, &args.data, args.split)?;
    if let Some(limit) = args.limit {
        encoded.sentences.truncate(limit);
    }
    let options = TextEvalOptions {
        batch_size: args.batch_size.clamp(1, 4096),
        iw_samples: args.iw_samples,
        seed: run.config.settings.seed,
    };
    let started = std::time::Instant::now();
    let r = evaluate(&model, &encoded.sentences, &options);
    if args.json {
        return say(serde_json::to_string_pretty(&r)?);
    }
    let mut lines = vec![
        format!(
            "{what}: {} sentences, {} words (end tokens included)",
            r.sentences, r.words
        ),
        format!(
            "-ELBO {:.3} nats per sentence (recon {:.3}, KL {:.3}); {:.4} nats per word; perplexity <= {:.2} (ELBO)",
            r.neg_elbo, r.recon, r.kl, r.neg_elbo_per_word, r.elbo_perplexity
        ),
    ];
    match (r.iw_nll, r.iw_samples) {
        (Some(nll), Some(k)) => lines.push(format!(
            "importance-weighted -log p(x) {nll:.3} nats per sentence (K = {k}); perplexity {:.2}",
            r.perplexity
        )),
        _ if model.latent() == 0 => lines.push(format!(
            "language model: exact -log p(x); perplexity {:.2}",
            r.perplexity
        )),
        _ => lines.push("(pass --iw-samples 500 for the importance-weighted perplexity)".into()),
    }
    if let (Some(mi), Some(au)) = (r.mutual_information, r.active_units) {
        lines.push(format!(
            "mutual information I(x; z) {mi:.3} nats; {au} of {} latent dimensions active",
            model.latent()
        ));
    }
    lines.push(format!("({:.1} s)", started.elapsed().as_secs_f64()));
    say(lines.join("\n"))
}

pub fn sample(args: &SampleArgs, device: Device) -> Result<()> {
    let (run, model) = open(&args.run, &device)?;
    if args.class.is_some() || args.class_shares {
        return Err(usage(
            "--class",
            "--class and --class-shares are for conditional image and table models; a text run has no classes",
        ));
    }
    if args.code_mixture.is_some() {
        return Err(usage(
            "--code-mixture",
            "a text run samples sentences from its prior; --code-mixture is for image and table runs",
        ));
    }
    let how = args.decode.decoding(model.latent() == 0);
    let level = run.config.settings.tokenizer.level;
    let sentences = decode::sample_sentences(
        &model,
        &run.vocab,
        level,
        args.n,
        options(&run, &args.decode, how),
        args.seed,
    )?;
    write_sentences(&args.out, &sentences, |s| serde_json::json!({ "text": s }))?;
    say(format!(
        "wrote {} sentences to {}",
        sentences.len(),
        args.out.display()
    ))
}

/// Writes `items` as text lines (`.txt`) or JSON lines (`.jsonl`).
fn write_sentences<T>(
    path: &Path,
    items: &[T],
    json: impl Fn(&T) -> serde_json::Value,
) -> Result<()>
where
    T: std::fmt::Display,
{
    let lines: Vec<String> = match path.extension().and_then(|e| e.to_str()) {
        Some("txt") => items.iter().map(|i| i.to_string()).collect(),
        Some("jsonl") => items.iter().map(|i| json(i).to_string()).collect(),
        _ => {
            return Err(usage(
                "--out",
                format!(
                    "{}: a text run writes .txt (a line each) or .jsonl (JSON lines)",
                    path.display()
                ),
            ));
        }
    };
    write_lines(path, &lines)?;
    Ok(())
}

pub fn reconstruct(args: &ReconstructArgs, device: Device) -> Result<()> {
    let (run, model) = open(&args.run, &device)?;
    let (what, mut encoded) = chosen(&run, &args.data, args.split)?;
    encoded.sentences.truncate(args.n);
    let level = run.config.settings.tokenizer.level;
    let pairs = decode::reconstruct(
        &model,
        &run.vocab,
        level,
        &encoded,
        options(&run, &args.decode, args.decode.decoding(false)),
        0,
    )?;
    let shown: Vec<Pair> = pairs
        .iter()
        .map(|p| Pair(p.input.clone(), p.output.clone()))
        .collect();
    write_sentences(
        &args.out,
        &shown,
        |p| serde_json::json!({ "input": p.0, "output": p.1 }),
    )?;
    say(format!(
        "wrote {} {what} sentences and their reconstructions to {}",
        shown.len(),
        args.out.display()
    ))
}

/// A sentence and its decoding, written as `input<TAB>output`.
struct Pair(String, String);

impl std::fmt::Display for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\t{}", self.0, self.1)
    }
}

pub fn interpolate(args: &InterpolateArgs, device: Device) -> Result<()> {
    let (run, model) = open(&args.run, &device)?;
    let (what, encoded) = chosen(&run, &args.data, args.split)?;
    let (Some(from), Some(to)) = (args.from, args.to) else {
        return Err(usage(
            "--from",
            "a text run interpolates between two sentences: give --from I --to J (their numbers in the split)",
        ));
    };
    let n = encoded.sentences.len();
    let get = |i: usize, flag: &str| {
        encoded.sentences.get(i).map(Vec::as_slice).ok_or_else(|| {
            usage(
                flag,
                format!("{i}: the {what} sentences are numbered 0 to {}", n - 1),
            )
        })
    };
    let pair = [get(from, "--from")?, get(to, "--to")?];
    let level = run.config.settings.tokenizer.level;
    let path = decode::interpolate(
        &model,
        &run.vocab,
        level,
        pair,
        args.steps,
        options(&run, &args.decode, args.decode.decoding(false)),
    )?;
    write_sentences(&args.out, &path, |s| serde_json::json!({ "text": s }))?;
    say(format!(
        "wrote the {} sentences from {what} sentence {from} to {to} to {}",
        path.len(),
        args.out.display()
    ))
}

pub fn encode(args: &EncodeArgs, device: Device) -> Result<()> {
    let (run, model) = open(&args.run, &device)?;
    let (what, encoded) = chosen(&run, &args.data, args.split)?;
    let codes = decode::encode_sentences(&model, &encoded.sentences, args.batch_size)?;
    vaekit::latent::write_encoded(&args.out, &codes)?;
    say(format!(
        "wrote the {}-dimensional codes of {} {what} sentences to {}",
        codes.latent_dim,
        codes.len(),
        args.out.display()
    ))
}

pub fn score(args: &ScoreArgs, device: Device) -> Result<()> {
    let (run, model) = open(&args.run, &device)?;
    let (what, encoded) = chosen(&run, &args.data, args.split)?;
    let scores = sentence_scores(&model, &encoded.sentences, run.config.settings.seed);
    if let Some(out) = &args.out {
        vaekit::io::write_atomic_with(out, |w| {
            use std::io::Write;
            writeln!(w, "line,neg_elbo,neg_elbo_per_word,words")?;
            for (s, line) in scores.iter().zip(&encoded.lines) {
                writeln!(w, "{line},{},{},{}", s.neg_elbo, s.per_word, s.words)?;
            }
            Ok(())
        })?;
    }
    let mean = scores.iter().map(|s| s.per_word).sum::<f64>() / scores.len().max(1) as f64;
    if args.json {
        return say(serde_json::to_string_pretty(&serde_json::json!({
            "sentences": scores.len(), "mean_neg_elbo_per_word": mean, "scores": scores,
        }))?);
    }
    say(format!(
        "scored {} {what} sentences: mean -ELBO {mean:.4} nats per word{}",
        scores.len(),
        args.out
            .as_ref()
            .map(|o| format!("; scores in {}", o.display()))
            .unwrap_or_default()
    ))
}

pub fn impute(args: &crate::cli::ImputeArgs, device: Device) -> Result<()> {
    use vaekit::impute::MaskSpec;
    let (run, model) = open(&args.run, &device)?;
    let tokenizer = &run.config.settings.tokenizer;
    let rounds = args.iterations;
    if args.evaluate {
        // Hide words of complete sentences at random, fill them, and count
        // the words put back; the most frequent training word is the baseline.
        let Some(MaskSpec::Random(p)) = args.mask else {
            return Err(usage(
                "--mask",
                "--evaluate on a text run hides words at random: give --mask random:P",
            ));
        };
        let (what, mut encoded) = chosen(&run, &args.data, args.split)?;
        if let Some(limit) = args.limit {
            encoded.sentences.truncate(limit);
        }
        let r = decode::fill_accuracy(&model, &encoded.sentences, p, args.seed, rounds)?;
        if args.json {
            return say(serde_json::to_string_pretty(&r)?);
        }
        return say(format!(
            "{what}: {} of the words hidden at random (p = {p}, seed {}); filled right {:.4}; \
             the most frequent word ('{}') {:.4}",
            r.hidden_words,
            args.seed,
            r.accuracy,
            run.vocab.token(vaekit::text::corpus::SPECIALS.len() as u32),
            r.most_frequent_word_accuracy
        ));
    }
    let Some(path) = &args.data.data else {
        return Err(usage(
            "--data",
            format!(
                "a text run fills the words written '{}' in the sentences of --data FILE",
                decode::BLANK
            ),
        ));
    };
    let lines = vaekit::text::corpus::read_sentences(
        Path::new(path),
        run.config.settings.text_column.as_deref(),
    )?;
    let (ids, blanks) = decode::with_blanks(&lines, tokenizer, &run.vocab);
    let count: usize = blanks.iter().flatten().filter(|&&b| b).count();
    let filled = decode::fill_blanks(&model, &ids, &blanks, rounds)?;
    let level = tokenizer.level;
    let sentences: Vec<String> = filled
        .iter()
        .map(|f| run.vocab.detokenize(f, level))
        .collect();
    let Some(out) = &args.out else {
        return say(sentences.join("\n"));
    };
    write_sentences(out, &sentences, |s| serde_json::json!({ "text": s }))?;
    say(format!(
        "filled {count} blanks in {} sentences; wrote {}",
        lines.len(),
        out.display()
    ))
}

pub fn latent(args: &crate::cli::LatentArgs, device: Device) -> Result<()> {
    use vaekit::latent::map::{check_extension, latent_map, write_map_coords, write_map_png};
    let (run, model) = open(&args.run, &device)?;
    if args.manifold.is_some() {
        return Err(usage(
            "--manifold",
            "a manifold is a grid of images; a text run maps its sentences (--out)",
        ));
    }
    if args.colour_by.is_some() {
        return Err(usage(
            "--colour-by",
            "colours by a table's column; a text run's points are coloured by length",
        ));
    }
    let Some(out) = &args.out else {
        return Err(usage("--out", "give the map's .png"));
    };
    check_extension(out, "--out", "png")?;
    if let Some(coords) = &args.coords {
        check_extension(coords, "--coords", "csv")?;
    }
    let (what, mut encoded) = chosen(&run, &args.data, args.split)?;
    encoded.sentences.truncate(args.limit);
    let codes = decode::encode_sentences(&model, &encoded.sentences, 256)?;
    let map = latent_map(&codes.mu, codes.latent_dim, args.dims, args.method, "z")?;
    // Coloured by length, the one thing every sentence has.
    let bands = [(1, 5), (6, 10), (11, 15), (16, usize::MAX)];
    let names: Vec<String> = bands
        .iter()
        .map(|&(a, b)| {
            if b == usize::MAX {
                format!("{a}+ tokens")
            } else {
                format!("{a}-{b} tokens")
            }
        })
        .collect();
    let labels: Vec<u32> = encoded
        .sentences
        .iter()
        .map(|s| bands.iter().position(|&(_, b)| s.len() <= b).unwrap_or(3) as u32)
        .collect();
    let title = format!(
        "{} map of z ({}-D): {} sentences of {what}",
        map.method,
        codes.latent_dim,
        map.len()
    );
    write_map_png(
        out,
        &map,
        Some(&labels),
        Some(&names),
        Some("length"),
        &title,
    )?;
    if let Some(coords) = &args.coords {
        write_map_coords(coords, &map, Some(&labels), None)?;
    }
    say(format!(
        "wrote the map of {} sentences to {}",
        map.len(),
        out.display()
    ))
}

pub fn info(dir: &Path, json: bool) -> Result<()> {
    let run = TextRun::open(dir)?;
    let c = &run.config;
    if json {
        return say(serde_json::to_string_pretty(c)?);
    }
    let s = &c.settings;
    let m = &c.model;
    let kind = match m.latent {
        0 => "language model (no z)".to_string(),
        z => format!("sentence VAE, z {z}"),
    };
    say(format!(
        "{}: text run, {kind}\nmodel: embedding {}, {}{} hidden {} x {} layer(s), vocabulary {}\n\
         data: {} ({} training sentences, {} tokens; {} validation{})\n\
         training: {} epochs, batch {}, lr {}, dropout {}, word dropout {}, KL {:?} over {} epochs, free bits {}\n\
         read: {}",
        dir.display(),
        m.embed,
        if m.bidirectional {
            "bidirectional encoder, "
        } else {
            ""
        },
        m.cell,
        m.hidden,
        m.layers,
        m.vocab,
        s.data,
        c.data.train_sentences,
        c.data.train_tokens,
        c.data.val_sentences,
        c.data
            .test_sentences
            .map_or(String::new(), |t| format!(", {t} test")),
        s.epochs,
        s.batch_size,
        s.lr,
        s.dropout,
        s.word_dropout,
        s.kl_anneal,
        s.kl_anneal_epochs,
        s.free_bits,
        c.data.train_report
    ))
}
