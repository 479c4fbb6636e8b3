use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::eval::{EvalOptions, evaluate_elbo};

use super::{open_run, say};
use crate::cli::EvalArgs;

pub fn run(args: &EvalArgs, device: Device) -> Result<()> {
    let (run, model) = open_run(&args.run, &device)?;
    let other = args.data.other();
    let data = run.prepare_data(other.as_ref().map(|(s, o)| (s.as_str(), o)))?;
    let split = args.split.unwrap_or_else(|| data.default_eval_split());
    let dataset = data.split(split)?;
    let settings = &run.config.settings;
    let options = EvalOptions {
        batch_size: args.batch_size,
        binarize: settings.binarize.unwrap_or_default(),
        seed: settings.seed.unwrap_or(0),
    };
    let report = evaluate_elbo(&model, dataset, &options)?;
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("split".into(), split.to_string().into());
            object.insert("run".into(), run.dir.display().to_string().into());
            object.insert("weights".into(), serde_json::to_value(args.run.weights)?);
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
    say(format!("KL             {:.3}", report.kl))?;
    say(format!(
        "scored in {:.3} s ({:.0} examples/s)",
        report.seconds, report.examples_per_second
    ))
}
