//! `vaekit report` on a text run: the same page as an image run's, with
//! sentences where the pictures were (samples, reconstructions and a
//! homotopy between two sentences) and a map whose points show their
//! sentence, coloured by length.

use super::report::{
    CurveSeries, Curves, EvalView, MapData, Report, ReportData, ReportOptions, TextBlock, iw_note,
    report_page,
};
use crate::error::Result;
use crate::latent::map::latent_map;
use crate::run::{files, read_metrics};
use crate::text::decode::{
    DecodeOptions, Decoding, encode_sentences, interpolate, reconstruct, sample_sentences,
};
use crate::text::eval::{TextEvalOptions, TextReport, evaluate};
use crate::text::model::SentenceVae;
use crate::text::run::TextRun;
use crate::text::train::TextEpochMetrics;

/// Length bands of the map's colours.
const LENGTHS: [(usize, usize); 4] = [(1, 5), (6, 10), (11, 15), (16, usize::MAX)];

/// Builds the report of a text run (the sentence VAE or the language
/// model, which has no code to map).
///
/// # Errors
///
/// A setting out of range, and any error of reading the split, evaluating
/// or decoding.
pub fn build_text_report(
    run: &TextRun,
    model: &SentenceVae,
    options: &ReportOptions,
) -> Result<Report> {
    super::report::check_map_points(options.map_points)?;
    let split = options.split.unwrap_or_else(|| run.default_split());
    let sentences = run.split(split)?.sentences;
    let settings = &run.config.settings;
    let eval = evaluate(
        model,
        &sentences,
        &TextEvalOptions {
            iw_samples: options.iw_samples,
            seed: settings.seed,
            ..TextEvalOptions::default()
        },
    );
    let level = settings.tokenizer.level;
    let decoding = DecodeOptions {
        how: Decoding::Greedy,
        max_length: settings.tokenizer.max_length,
        allow_unk: false,
    };
    let mut texts = vec![TextBlock {
        title: "Samples".into(),
        caption: format!(
            "20 draws from the prior, decoded greedily (seed {})",
            options.seed
        ),
        lines: sample_sentences(model, &run.vocab, level, 20, decoding, options.seed)?,
        pairs: Vec::new(),
    }];
    let mut map = MapData::empty();
    if model.latent() > 0 {
        let first: Vec<Vec<u32>> = sentences.iter().take(10).cloned().collect();
        let encoded = crate::text::corpus::Encoded {
            sentences: first,
            ..run.split(split)?
        };
        let pairs = reconstruct(model, &run.vocab, level, &encoded, decoding, 0)?;
        texts.push(TextBlock {
            title: "Reconstructions".into(),
            caption: format!(
                "the first sentences of the {split} split and their greedy decodings from the posterior mean"
            ),
            lines: Vec::new(),
            pairs: pairs.into_iter().map(|p| (p.input, p.output)).collect(),
        });
        if sentences.len() >= 2 {
            let path = interpolate(
                model,
                &run.vocab,
                level,
                [&sentences[0], &sentences[1]],
                6,
                decoding,
            )?;
            texts.push(TextBlock {
                title: "Homotopy".into(),
                caption: "seven codes evenly spaced from the first sentence's posterior mean to the second's, decoded greedily (Bowman et al. 2016)".into(),
                lines: path,
                pairs: Vec::new(),
            });
        }
        let mapped: Vec<Vec<u32>> = sentences.iter().take(options.map_points).cloned().collect();
        let codes = encode_sentences(model, &mapped, 256)?;
        let m = latent_map(&codes.mu, codes.latent_dim, 2, None, "z")?;
        let (x, y) = m.coords.chunks_exact(2).map(|p| (p[0], p[1])).unzip();
        map = MapData {
            title: format!(
                "{} map of z ({}-D): {} sentences of the {split} split, coloured by length",
                m.method,
                codes.latent_dim,
                m.len()
            ),
            axis_labels: m.axis_labels.clone(),
            x,
            y,
            labels: Some(
                mapped
                    .iter()
                    .map(|s| LENGTHS.iter().position(|&(_, b)| s.len() <= b).unwrap_or(3) as u32)
                    .collect(),
            ),
            class_names: Some(
                LENGTHS
                    .iter()
                    .map(|&(a, b)| match b {
                        usize::MAX => format!("{a}+ tokens"),
                        b => format!("{a}-{b} tokens"),
                    })
                    .collect(),
            ),
            sprite: None,
            texts: Some(
                mapped
                    .iter()
                    .map(|s| run.vocab.detokenize(s, level))
                    .collect(),
            ),
            legend: Some("length".into()),
        };
    }
    let metrics: Vec<TextEpochMetrics> = read_metrics(&run.dir.join(files::METRICS))?;
    let title = format!("vaekit report: {}", run.dir.display());
    let n = map.x.len();
    let report = ReportData {
        title,
        kind: "text",
        settings: serde_json::to_value(settings).unwrap_or_default(),
        data: serde_json::to_value(&run.config.data).unwrap_or_default(),
        curves: curves(&metrics),
        eval: eval_view(&eval, split),
        pictures: Vec::new(),
        texts,
        map,
        histograms: Vec::new(),
        rows: None,
    };
    Ok(Report {
        html: report_page(&report)?,
        split,
        neg_elbo: eval.neg_elbo,
        map_points: n,
    })
}

/// Each epoch's curves of a text run.
fn curves(metrics: &[TextEpochMetrics]) -> Curves {
    let series = |name, chart, f: &dyn Fn(&TextEpochMetrics) -> Option<f64>| CurveSeries {
        name,
        chart,
        values: metrics.iter().map(f).collect(),
    };
    Curves {
        epoch: metrics.iter().map(|m| m.epoch).collect(),
        series: vec![
            series("train -ELBO", "elbo", &|m| Some(m.train_recon + m.train_kl)),
            series("validation -ELBO", "elbo", &|m| {
                m.val.as_ref().map(|v| v.neg_elbo)
            }),
            series("train reconstruction", "parts", &|m| Some(m.train_recon)),
            series("validation reconstruction", "parts", &|m| {
                m.val.as_ref().map(|v| v.recon)
            }),
            series("train KL", "kl", &|m| Some(m.train_kl)),
            series("validation KL", "kl", &|m| m.val.as_ref().map(|v| v.kl)),
            series("beta", "beta", &|m| Some(m.beta)),
        ],
    }
}

/// The figures of a text run's evaluation on `split`.
fn eval_view(r: &TextReport, split: crate::data::prepare::Split) -> EvalView {
    let mut numbers: Vec<(String, serde_json::Value)> = vec![
        ("sentences".into(), r.sentences.into()),
        ("words (end tokens included)".into(), r.words.into()),
        ("-ELBO (nats per sentence)".into(), r.neg_elbo.into()),
        ("reconstruction".into(), r.recon.into()),
        ("KL".into(), r.kl.into()),
        ("-ELBO per word".into(), r.neg_elbo_per_word.into()),
        ("perplexity, ELBO bound".into(), r.elbo_perplexity.into()),
    ];
    if let (Some(nll), Some(k)) = (r.iw_nll, r.iw_samples) {
        numbers.push((
            format!("-log p(x), importance-weighted, K = {k}"),
            nll.into(),
        ));
        numbers.push(("perplexity".into(), r.perplexity.into()));
    }
    if let Some(mi) = r.mutual_information {
        numbers.push(("mutual information I(x; z)".into(), mi.into()));
    }
    let active = r.active_units.unwrap_or(0);
    numbers.push((
        "active units".into(),
        format!("{active} of {}", r.kl_per_dim.len()).into(),
    ));
    EvalView {
        numbers,
        kl_per_dim: r.kl_per_dim.clone(),
        active_units: active,
        by_block: Vec::new(),
        note: iw_note(split, r.iw_nll.is_some()).replace("per example", "per sentence"),
    }
}
