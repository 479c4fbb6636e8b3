use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::data::Dataset;
use vaekit::data::prepare::Split;
use vaekit::latent::colour::{by_column, check_column};
use vaekit::latent::manifold::{check_manifold, decode_run_manifold, manifold_picture};
use vaekit::latent::map::{check_extension, map_dataset, write_map_coords, write_map_png};
use vaekit::latent::space::check_class;
use vaekit::report::save_png;
use vaekit::run::Run;

use super::{open_run, say};
use crate::cli::{LatentArgs, OtherDataArgs};

/// The chosen split of the run's data (or of another source), and words for it.
pub fn split_data(
    run: &Run,
    data: &OtherDataArgs,
    split: Option<Split>,
) -> Result<(Dataset, String)> {
    let other = data.other();
    let prepared = run.prepare_data(other.as_ref().map(|(s, o)| (s.as_str(), o)))?;
    let split = split.unwrap_or_else(|| prepared.default_eval_split());
    let source = other.map_or_else(
        || run.config.settings.data.clone().unwrap_or_default(),
        |(s, _)| s,
    );
    // The last part of a path is enough to say which source it is.
    let source = std::path::Path::new(&source)
        .file_name()
        .map_or(source.clone(), |n| n.to_string_lossy().into_owned());
    Ok((
        prepared.split(split)?.clone(),
        format!("the {split} split of {source}"),
    ))
}

pub fn run(args: &LatentArgs, device: Device) -> Result<()> {
    if super::text::is_text(&args.run) {
        return super::text::latent(args, device);
    }
    let (run, model) = open_run(&args.run, &device)?;
    let kind = &run.config.model.input;
    // Every setting is checked before anything is computed or written.
    if let Some(out) = &args.out {
        check_extension(out, "--out", "png")?;
    }
    if let Some(coords) = &args.coords {
        check_extension(coords, "--coords", "csv")?;
    }
    if let Some(column) = &args.colour_by {
        check_column(&run.units(), column)?;
    }
    if let Some(path) = &args.manifold {
        check_extension(path, "--manifold", "png")?;
        check_manifold(&model, kind, args.grid)?;
        check_class(&model, args.class, "--class")?;
    }
    let (data, what) = split_data(&run, &args.data, args.split)?;
    if let Some(out) = &args.out {
        let m = map_dataset(
            &model,
            &data,
            &what,
            Some(args.limit),
            args.dims,
            args.method,
        )?;
        let (labels, names, title) = match &args.colour_by {
            Some(column) => {
                let c = by_column(&run.units(), &data, column, m.map.len())?;
                let title = format!("{}, coloured by {column}", m.title);
                (Some(c.classes), Some(c.names), title)
            }
            None => (m.labels, run.config.data.class_names.clone(), m.title),
        };
        let legend = args.colour_by.as_deref();
        write_map_png(
            out,
            &m.map,
            labels.as_deref(),
            names.as_deref(),
            legend,
            &title,
        )?;
        if let Some(coords) = &args.coords {
            let named = args.colour_by.as_deref().zip(names.as_deref());
            write_map_coords(coords, &m.map, labels.as_deref(), named)?;
        }
        let variance = m
            .map
            .explained_ratio
            .as_ref()
            .map_or_else(String::new, |r| {
                let shares: Vec<String> = r
                    .iter()
                    .take(m.map.dims)
                    .map(|v| format!("{:.1} %", 100.0 * v))
                    .collect();
                format!("; the axes hold {} of the variance", shares.join(", "))
            });
        say(format!(
            "wrote the {} map of {} codes to {}{variance} (encoded in {:.2} s, projected in {:.2} s)",
            m.map.method,
            m.map.len(),
            out.display(),
            m.encode_seconds,
            m.map.seconds
        ))?;
        if let Some(coords) = &args.coords {
            say(format!("wrote the coordinates to {}", coords.display()))?;
        }
    }
    if let Some(path) = &args.manifold {
        let manifold = decode_run_manifold(&model, &run, &data, args.grid, args.class)?;
        save_png(path, &manifold_picture(&manifold, kind)?)?;
        let (a, b) = manifold.axes;
        say(format!(
            "wrote the {g}x{g} manifold of {n}{a} and {n}{b} to {}",
            path.display(),
            g = args.grid,
            n = manifold.name
        ))?;
    }
    Ok(())
}
