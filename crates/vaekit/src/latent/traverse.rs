//! Latent traversals: each code dimension swept from `-range` to `range`
//! (in standard deviations of the N(0, 1) prior) while every other dimension
//! stays at one code, that of an example (its posterior mean) or a prior
//! draw. One row per dimension, ordered by the KL the dimension carries on
//! the data, largest first, so the dimensions the model uses come first and
//! the collapsed ones (KL near 0, rows that do not change) last.

use std::path::Path;
use std::str::FromStr;

use image::RgbImage;

use super::extension;
use super::paths::{check_steps, dims_by_kl, traversal_codes, traversal_values};
use super::space::{CodeSpace, check_class};
use crate::data::{DataKind, Dataset};
use crate::error::{Error, Result};
use crate::generate::{Units, image_shape, write_examples};
use crate::model::Vae;
use crate::report::{GridLabels, annotate_grid, image_grid, save_png};

/// Largest number of steps per dimension.
pub const MAX_STEPS: usize = 50;

/// Which dimensions to traverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DimChoice {
    /// Every dimension.
    #[default]
    All,
    /// The N with the largest KL.
    Top(usize),
}

impl FromStr for DimChoice {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        if s == "all" {
            return Ok(Self::All);
        }
        match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Self::Top(n)),
            _ => Err(format!(
                "'{s}' is neither `all` nor a positive number of dimensions"
            )),
        }
    }
}

/// The code the traversal starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The posterior mean of an example, by index.
    Example(usize),
    /// A draw from the prior with this seed.
    Prior {
        /// Seed of the draw.
        seed: u64,
    },
}

/// A decoded traversal.
#[derive(Debug, Clone, PartialEq)]
pub struct Traversal {
    /// Where it starts.
    pub base: Base,
    /// The traversed dimensions, one per row, by decreasing KL.
    pub dims: Vec<usize>,
    /// The KL of each row's dimension on the data, nats per example.
    pub kl: Vec<f64>,
    /// The values each row's dimension takes, one per column.
    pub values: Vec<f64>,
    /// Row-major `[dims.len() * steps, input_dim]` decoded means, row by row.
    pub decoded: Vec<f32>,
    /// The name of the code's values (`z` or `z2`).
    pub name: &'static str,
}

/// Decodes a traversal of `model` around `base`. `kl` is the KL of each code
/// dimension on the data ([`CodeSpace::kl_per_dim`]); `class` is the class
/// for a conditional model, by default the example's own label.
#[allow(clippy::too_many_arguments)]
pub fn traverse(
    model: &Vae,
    data: Option<&Dataset>,
    base: Base,
    kl: &[f64],
    dims: DimChoice,
    range: f64,
    steps: usize,
    class: Option<u32>,
) -> Result<Traversal> {
    check_steps(steps, MAX_STEPS)?;
    let space = CodeSpace::of(model);
    if kl.len() != space.dim() {
        return Err(Error::Data(format!(
            "ordering the traversal needs the KL of all {} code dimensions, not {}",
            space.dim(),
            kl.len()
        )));
    }
    let (code, own_label) = match (base, data) {
        (Base::Example(i), Some(data)) => (
            space.encode(model, data, &[i])?,
            data.labels().map(|l| l[i]),
        ),
        (Base::Example(_), None) => {
            return Err(Error::Data("traversing an example needs its data".into()));
        }
        (Base::Prior { seed }, _) => (space.prior_samples(model, 1, seed), None),
    };
    let class = match (model.classes(), class) {
        (Some(_), None) => check_class(model, own_label, "--class")?,
        _ => check_class(model, class, "--class")?,
    };
    let order = dims_by_kl(kl);
    let count = match dims {
        DimChoice::All => order.len(),
        DimChoice::Top(n) if n <= order.len() => n,
        DimChoice::Top(n) => {
            return Err(Error::setting(
                "--dims",
                format!("the code has {} dimensions; {n} is too many", order.len()),
            ));
        }
    };
    let chosen = order[..count].to_vec();
    let codes = traversal_codes(&code, &chosen, range, steps)?;
    Ok(Traversal {
        base,
        kl: chosen.iter().map(|&d| kl[d]).collect(),
        dims: chosen,
        values: traversal_values(range, steps),
        decoded: space.decode(model, &codes, class),
        name: space.name(),
    })
}

/// The traversal as a labelled grid: a row per dimension, labelled with the
/// dimension and its KL, a column per value.
pub fn traversal_picture(traversal: &Traversal, kind: &DataKind) -> Result<RgbImage> {
    let shape = image_shape(kind)
        .ok_or_else(|| Error::setting("--out", "only image data has a traversal picture"))?;
    let steps = traversal.values.len();
    let grid = image_grid(&traversal.decoded, shape, steps)?;
    let name = traversal.name;
    let rows: Vec<String> = traversal
        .dims
        .iter()
        .zip(&traversal.kl)
        .map(|(d, kl)| format!("{name}{d}  KL {kl:.2} nats"))
        .collect();
    let columns: Vec<String> = traversal.values.iter().map(|v| format!("{v:.2}")).collect();
    let start = match traversal.base {
        Base::Example(i) => format!("example {i}'s code"),
        Base::Prior { seed } => format!("a prior draw (seed {seed})"),
    };
    let title = format!("each {name} dimension swept in prior sd, the rest at {start}");
    annotate_grid(
        &grid,
        traversal.dims.len(),
        steps,
        &GridLabels {
            title: &title,
            rows: &rows,
            columns: &columns,
        },
    )
}

/// Writes a traversal: a labelled grid (`.png`, images) or CSV rows in the
/// data's units (`.csv`), dimension after dimension.
pub fn write_traversal<'a>(
    path: &Path,
    traversal: &Traversal,
    kind: &DataKind,
    units: impl Into<Units<'a>>,
) -> Result<()> {
    let is_png = extension(path).as_deref() == Some("png");
    if is_png && image_shape(kind).is_some() {
        save_png(path, &traversal_picture(traversal, kind)?)
    } else {
        write_examples(path, &traversal.decoded, kind, units)
    }
}
