use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::eval::iw::evaluate_iw;
use vaekit::eval::{ACTIVE_UNIT_THRESHOLD, EvalOptions, evaluate_elbo};

use super::{open_run, say};
use crate::cli::EvalArgs;
use crate::progress::counter;

pub fn run(args: &EvalArgs, device: Device, quiet: bool) -> Result<()> {
    if super::text::is_text(&args.run) {
        return super::text::eval(args, device);
    }
    if let Some(synthetic) = &args.synthetic {
        return judge_synthetic(args, synthetic, &device);
    }
    let (run, model) = open_run(&args.run, &device)?;
    let other = args.data.other();
    let data = run.prepare_data(other.as_ref().map(|(s, o)| (s.as_str(), o)))?;
    let split = args.split.unwrap_or_else(|| data.default_eval_split());
    let dataset = data.split(split)?;
    let settings = &run.config.settings;
    let options = EvalOptions {
        batch_size: args.batch_size,
        limit: args.limit,
        ..EvalOptions::for_run(settings)
    };
    let report = evaluate_elbo(&model, dataset, &options)?;
    let iw = match args.iw_samples {
        Some(k) => {
            let bar = counter(report.n, quiet, &format!("IW estimate, K = {k}"));
            let mut tick = |done: usize| {
                if let Some(bar) = &bar {
                    bar.set_position(done as u64);
                }
            };
            let result = evaluate_iw(&model, dataset, &options, k, &mut tick);
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            Some(result?)
        }
        None => None,
    };
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("split".into(), split.to_string().into());
            object.insert("run".into(), run.dir.display().to_string().into());
            object.insert("weights".into(), serde_json::to_value(args.run.weights)?);
            if let Some(iw) = &iw {
                object.insert("iw".into(), serde_json::to_value(iw)?);
            }
        }
        return say(value);
    }
    say(format!(
        "{split} split of {}: {} examples of {} values",
        other.as_ref().map_or_else(
            || settings.data.clone().unwrap_or_default(),
            |(s, _)| s.clone()
        ),
        report.n,
        report.dim
    ))?;
    say(format!(
        "-ELBO          {:.3} nats per example ({:.5} nats, {:.5} bits per dimension)",
        report.neg_elbo, report.neg_elbo_per_dim, report.bits_per_dim
    ))?;
    say(format!("reconstruction {:.3}", report.recon))?;
    for block in &report.recon_by_block {
        say(format!("  {:<12} {:.3}", block.name, block.recon))?;
    }
    say(format!("KL             {:.3}", report.kl))?;
    if let Some(iw) = &iw {
        say(format!(
            "-log p(x)      {:.3} ± {:.3} nats per example ({:.5} bits per dimension), importance-weighted with K = {}",
            iw.nll, iw.std_error, iw.bits_per_dim, iw.samples
        ))?;
        say(format!(
            "               Monte Carlo error {:.3} nats; effective samples {:.1} of {} on average; {:.1} s",
            iw.mc_std_error, iw.mean_ess, iw.samples, iw.seconds
        ))?;
    }
    say(format!(
        "active units   {} of {} (variance of the posterior mean > {ACTIVE_UNIT_THRESHOLD})",
        report.active_units,
        report.activity.len()
    ))?;
    say(format!(
        "KL per dim     {}",
        report
            .kl_per_dim
            .iter()
            .map(|k| format!("{k:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    ))?;
    say(format!(
        "scored in {:.3} s ({:.0} examples/s)",
        report.seconds, report.examples_per_second
    ))
}

/// `eval --synthetic`: a synthetic table's scores against the real rows.
fn judge_synthetic(args: &EvalArgs, synthetic: &std::path::Path, device: &Device) -> Result<()> {
    let run = vaekit::run::Run::open(&args.run.run)?;
    let other = args.data.other();
    let report = vaekit::synthetic::judge_files(
        &run,
        other.as_ref().map(|(s, o)| (s.as_str(), o)),
        synthetic,
        args.holdout.as_deref(),
        args.target.as_deref(),
        device,
    )?;
    if args.json {
        return say(serde_json::to_value(&report)?);
    }
    say(format!(
        "{} synthetic rows against {} real rows (SDMetrics' definitions)",
        report.synthetic_rows, report.real_rows
    ))?;
    say(format!("quality             {:.4}", report.quality))?;
    say(format!("column shapes       {:.4}", report.column_shapes))?;
    for s in &report.shapes {
        say(format!("  {:<18} {:.4}  {}", s.column, s.score, s.metric))?;
    }
    say(format!(
        "column pair trends  {:.4} (over the {} of {} pairs whose real columns are associated; {:.4} over all)",
        report.column_pair_trends,
        report.pairs.iter().filter(|p| p.counted).count(),
        report.pairs.len(),
        report.column_pair_trends_all_pairs
    ))?;
    if let Some(e) = &report.efficacy {
        say(format!(
            "efficacy (F1{} of {}, {} on {} held-out rows): trained on synthetic rows {:.4}, on real rows {:.4}",
            e.positive
                .as_ref()
                .map(|p| format!(" of '{p}'"))
                .unwrap_or_else(|| " macro".into()),
            e.target,
            e.classifier,
            e.test_rows,
            e.synthetic_f1,
            e.real_f1
        ))?;
    }
    let c = &report.closest_records;
    say(format!(
        "closest real record median distance {:.4} over {} synthetic rows ({:.1} % exact copies){}",
        c.synthetic_median,
        c.rows,
        100.0 * c.exact_copies,
        c.holdout_median
            .map(|h| format!("; held-out real rows: {h:.4}"))
            .unwrap_or_default()
    ))
}
