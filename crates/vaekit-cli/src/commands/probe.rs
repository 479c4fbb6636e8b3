use anyhow::Result;
use vaekit::augment::{AugmentFormat, write_dataset};
use vaekit::burn::tensor::Device;
use vaekit::classify::{Classifier, LogisticConfig};
use vaekit::probe::{ProbeOptions, labelled_subset, load_extra, probe, test_split};

use super::{open_run, say};
use crate::cli::{ProbeArgs, ProbeClassifier};

pub fn run(args: &ProbeArgs, device: Device) -> Result<()> {
    let (run, model) = open_run(&args.run, &device)?;
    let other = args.data.other();
    let data = run.prepare_data(other.as_ref().map(|(s, o)| (s.as_str(), o)))?;
    let split = test_split(&data, args.split)?;
    let test = data.split(split)?;
    let train = match args.train_limit {
        Some(n) => labelled_subset(&data.train, n, args.seed)?,
        None => data.train.clone(),
    };
    if let Some(path) = &args.save_labelled {
        let format = AugmentFormat::choose(path, None, run.config.data.format);
        write_dataset(
            path,
            format,
            &train,
            run.units(),
            data.class_names.as_deref(),
        )?;
    }
    let extra = match &args.add_train {
        Some(spec) => Some(load_extra(&run, spec, &args.data.source.load_options())?),
        None => None,
    };
    let classifier = match args.classifier {
        ProbeClassifier::Logreg => Classifier::Logreg(LogisticConfig {
            l2: args.l2,
            ..LogisticConfig::default()
        }),
        ProbeClassifier::Knn => Classifier::Knn { k: args.k },
    };
    let options = ProbeOptions {
        classifier,
        batch_size: args.batch_size,
    };
    let report = probe(&model, &train, test, extra.as_ref(), &options)?;
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("split".into(), split.to_string().into());
            object.insert("run".into(), run.dir.display().to_string().into());
        }
        return say(value);
    }
    say(format!(
        "{:<12} {:>5}  {:<10} {:>8} {:>7}  {:>8}  {:>8}",
        "features", "dims", "classifier", "train n", "test n", "accuracy", "seconds"
    ))?;
    for row in &report.rows {
        say(format!(
            "{:<12} {:>5}  {:<10} {:>8} {:>7}  {:>8.4}  {:>8.1}",
            row.features,
            row.dims,
            row.classifier,
            row.train_n,
            row.test_n,
            row.accuracy,
            row.seconds
        ))?;
    }
    if report.extra_n > 0 {
        say(format!(
            "train n includes {} extra examples from {}",
            report.extra_n,
            args.add_train.as_deref().unwrap_or_default()
        ))?;
    }
    if let Some(path) = &args.save_labelled {
        say(format!(
            "wrote the {} labelled training examples to {}",
            train.len(),
            path.display()
        ))?;
    }
    Ok(())
}
