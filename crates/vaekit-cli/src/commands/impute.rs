use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::impute::{
    EncoderReads, EvaluateOptions, ImputeOptions, InputRequest, evaluate, impute_with_vae,
    prepare_input, write_output,
};

use super::{open_run, say};
use crate::cli::ImputeArgs;

pub fn run(args: &ImputeArgs, device: Device) -> Result<()> {
    if super::text::is_text(&args.run) {
        return super::text::impute(args, device);
    }
    let (run, model) = open_run(&args.run, &device)?;
    let options = ImputeOptions {
        method: args.method,
        iterations: args.iterations,
        samples: args.samples,
        gibbs_z: args.gibbs_z,
        gibbs_x: args.gibbs_x,
        encoder_reads: args
            .encoder_reads
            .unwrap_or_else(|| EncoderReads::for_run(&run)),
        batch_size: args.batch_size,
        seed: args.seed,
    };
    let other = args.data.other();
    let request = InputRequest {
        other: other.as_ref().map(|(s, o)| (s.as_str(), o)),
        split: args.split,
        limit: args.limit,
        mask: args.mask,
        mask_file: args.mask_file.as_deref(),
        seed: args.seed,
    };
    let input = prepare_input(&run, &request)?;
    let data = &input.incomplete;
    let missing = data.mask.count();
    if args.evaluate {
        let truth = input.known_truth()?;
        let evaluation = evaluate(
            &model,
            data,
            truth,
            &input.reference,
            run.scaler.as_ref(),
            &EvaluateOptions {
                vae: options,
                neighbours: args.neighbours,
            },
        )?;
        if args.json {
            let mut value = serde_json::to_value(&evaluation)?;
            if let Some(object) = value.as_object_mut() {
                object.insert("data".into(), input.description.clone().into());
                object.insert("run".into(), run.dir.display().to_string().into());
                object.insert("iterations".into(), args.iterations.into());
                object.insert("samples".into(), args.samples.into());
                object.insert("neighbours".into(), args.neighbours.into());
                object.insert(
                    "encoder_reads".into(),
                    serde_json::to_value(options.encoder_reads)?,
                );
            }
            say(value)?;
        } else {
            say(format!(
                "{}: {} examples, {} values hidden ({:.1} %)",
                input.description,
                evaluation.examples,
                evaluation.hidden,
                100.0 * evaluation.hidden_fraction
            ))?;
            let units = if run.scaler.is_some() {
                "RMSE (scaled)   RMSE (original units)"
            } else {
                "RMSE"
            };
            say(format!("method   {units}   seconds"))?;
            for s in &evaluation.scores {
                let original = s
                    .rmse_original_units
                    .map_or(String::new(), |r| format!("   {r:>21.5}"));
                say(format!(
                    "{:<8} {:>13.5}{original}   {:.2}",
                    s.method, s.rmse, s.seconds
                ))?;
            }
        }
        if args.out.is_none() && args.completed.is_none() {
            return Ok(());
        }
    }
    let started = std::time::Instant::now();
    let imputed = impute_with_vae(&model, &data.data, &data.mask, &options)?;
    let seconds = started.elapsed().as_secs_f64();
    let completed = data.completed(&imputed, run.scaler.as_ref());
    for (path, flag) in [(&args.out, "--out"), (&args.completed, "--completed")] {
        if let Some(path) = path {
            write_output(
                path,
                flag,
                data,
                &completed,
                input.class_names.as_deref(),
                args.show,
            )?;
        }
    }
    let written: Vec<String> = [&args.out, &args.completed]
        .into_iter()
        .flatten()
        .map(|p| p.display().to_string())
        .collect();
    if !args.evaluate || !args.json {
        say(format!(
            "imputed {missing} missing values ({:.1} %) of {} examples of {} with {} ({} iterations) in {seconds:.2} s; wrote {}",
            100.0 * data.mask.fraction(),
            data.data.len(),
            input.description,
            args.method,
            args.iterations,
            written.join(" and ")
        ))?;
    }
    Ok(())
}
