use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::data::prepare::Split;
use vaekit::score::{ScoreKind, ScoreReport, score_run};

use super::{open_run, say};
use crate::cli::ScoreArgs;
use crate::progress::counter;

pub fn run(args: &ScoreArgs, device: Device, quiet: bool) -> Result<()> {
    if super::text::is_text(&args.run) {
        return super::text::score(args, device);
    }
    let (run, model) = open_run(&args.run, &device)?;
    let request = args.request(&run.config.settings)?;
    let bar = counter(0, quiet, &format!("scoring ({})", args.score));
    let mut tick = |done: usize, total: usize| {
        if let Some(bar) = &bar {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
    };
    let result = score_run(&run, &model, &request, &mut tick);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = result?;
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("run".into(), run.dir.display().to_string().into());
            object.insert("weights".into(), serde_json::to_value(args.run.weights)?);
            if let Some(out) = &args.out {
                object.insert("out".into(), out.display().to_string().into());
            }
        }
        return say(value);
    }
    print_text(args, &report)
}

fn print_text(args: &ScoreArgs, report: &ScoreReport) -> Result<()> {
    let draws = match report.score {
        ScoreKind::IwNll => format!("K = {}", report.samples),
        _ => format!("{} draw(s) of z", report.samples),
    };
    // Another source holds out nothing: its train split is every row of it.
    let what = match (&args.data.data, report.split) {
        (Some(other), Split::Train) => format!("every row of {other}"),
        (Some(other), split) => format!("the {split} split of {other}"),
        (None, split) => format!("the run's {split} split"),
    };
    say(format!(
        "scored {} examples of {what} with {} ({draws}) in {:.1} s; mean {:.3} nats",
        report.n, report.score, report.seconds, report.mean
    ))?;
    if let Some(d) = &report.detection {
        say(format!(
            "AUROC {:.4}, average precision {:.4} ({} normal examples, {} anomalies)",
            d.auroc, d.average_precision, d.normal, d.anomalies
        ))?;
    }
    if let Some(t) = &report.threshold {
        say(format!(
            "threshold {:.3} nats: the {:.4} quantile of {} normal examples of the run's {} split ({:.2}% of them above it)",
            t.threshold,
            1.0 - t.target_fpr,
            t.calibration_examples,
            t.calibrate_on,
            100.0 * t.calibration_fpr
        ))?;
        let mut line = format!(
            "flagged {} of {} ({:.2}%)",
            t.flagged,
            report.n,
            100.0 * t.flagged as f64 / report.n.max(1) as f64
        );
        if let (Some(fpr), Some(tpr)) = (t.fpr, t.tpr) {
            line.push_str(&format!(
                "; false-positive rate {fpr:.4} (target {}), true-positive rate {tpr:.4}",
                t.target_fpr
            ));
        }
        say(line)?;
    }
    if let Some(out) = &args.out {
        say(format!("wrote the scores to {}", out.display()))?;
    }
    Ok(())
}
