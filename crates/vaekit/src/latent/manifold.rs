//! The decoded manifold: images decoded over a grid of codes that split the
//! standard-normal prior of two dimensions into equally likely cells
//! ([`normal_quantile_grid`]), as in figure 4 of Kingma and Welling (2014).
//!
//! A 2-D code is drawn whole. For a larger code the grid spans the **two
//! dimensions with the largest KL on the data** (the ones the model uses
//! most) and holds every other dimension at 0, the prior's mean; the picture's
//! title names the two. Codes of one dimension are refused. Only image data
//! has a picture: a table is refused.

use image::RgbImage;

use super::paths::{dims_by_kl, normal_quantile_grid};
use super::space::{CodeSpace, check_class, kl_on_data};
use crate::data::{DataKind, Dataset};
use crate::error::{Error, Result};
use crate::generate::image_shape;
use crate::model::Vae;
use crate::report::{GridLabels, annotate_grid, image_grid};
use crate::run::Run;

/// Largest grid side.
pub const MAX_GRID: usize = 100;

/// Images decoded over a grid of prior quantiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifold {
    /// The dimension across (left to right) and the one down (top to bottom).
    pub axes: (usize, usize),
    /// The quantile values, increasing: across from left, down from the bottom.
    pub quantiles: Vec<f64>,
    /// Row-major `[grid * grid, input_dim]` decoded means, row by row from the top.
    pub values: Vec<f32>,
    /// The name of the code's values (`z` or `z2`).
    pub name: &'static str,
    /// Size of the code (the dimensions off the two axes are 0).
    pub code_dim: usize,
}

/// Checks that a manifold grid of side `grid` can be drawn for `model` on
/// data of `kind`; call before any other work so that nothing is written on
/// failure.
pub fn check_manifold(model: &Vae, kind: &DataKind, grid: usize) -> Result<()> {
    if image_shape(kind).is_none() {
        return Err(Error::setting(
            "--manifold",
            "the run was trained on a table, which has no picture; the manifold grid is for image data",
        ));
    }
    if !(2..=MAX_GRID).contains(&grid) {
        return Err(Error::setting(
            "--grid",
            format!("{grid} is not a usable grid side; give 2 to {MAX_GRID}"),
        ));
    }
    if CodeSpace::of(model).dim() < 2 {
        return Err(Error::setting(
            "--manifold",
            "the code has one dimension; a manifold grid needs two",
        ));
    }
    Ok(())
}

/// Decodes a `grid x grid` manifold of `model`: the code's two dimensions,
/// or the two with the largest `kl` (the KL of each code dimension on the
/// data) with the others at 0. `class` is the class of a conditional model.
pub fn decode_manifold(
    model: &Vae,
    kind: &DataKind,
    kl: &[f64],
    grid: usize,
    class: Option<u32>,
) -> Result<Manifold> {
    check_manifold(model, kind, grid)?;
    let space = CodeSpace::of(model);
    let dim = space.dim();
    let axes = if dim == 2 {
        (0, 1)
    } else {
        let order = dims_by_kl(kl);
        match order[..] {
            [a, b, ..] if kl.len() == dim => (a.min(b), a.max(b)),
            _ => {
                return Err(Error::Data(format!(
                    "choosing the manifold's axes needs the KL of all {dim} code dimensions, not {}",
                    kl.len()
                )));
            }
        }
    };
    let quantiles = normal_quantile_grid(grid);
    let mut codes = vec![0.0f32; grid * grid * dim];
    for (r, &down) in quantiles.iter().rev().enumerate() {
        for (c, &across) in quantiles.iter().enumerate() {
            let at = (r * grid + c) * dim;
            codes[at + axes.0] = across as f32;
            codes[at + axes.1] = down as f32;
        }
    }
    Ok(Manifold {
        axes,
        quantiles,
        values: space.decode(model, &codes, class),
        name: space.name(),
        code_dim: dim,
    })
}

/// [`decode_manifold`] for a run: the KL that picks the axes of a code larger
/// than 2-D is measured on `data`.
pub fn decode_run_manifold(
    model: &Vae,
    run: &Run,
    data: &Dataset,
    grid: usize,
    class: Option<u32>,
) -> Result<Manifold> {
    let kind = &run.config.model.input;
    check_manifold(model, kind, grid)?;
    let class = check_class(model, class, "--class")?;
    let kl = if CodeSpace::of(model).dim() > 2 {
        kl_on_data(model, run, data, None)?
    } else {
        Vec::new()
    };
    decode_manifold(model, kind, &kl, grid, class)
}

/// The manifold as a labelled image grid: the quantile values of the
/// dimension across on top, of the dimension down on the left.
pub fn manifold_picture(manifold: &Manifold, kind: &DataKind) -> Result<RgbImage> {
    let shape = image_shape(kind)
        .ok_or_else(|| Error::setting("--manifold", "only image data has a manifold picture"))?;
    let grid = manifold.quantiles.len();
    let tiles = image_grid(&manifold.values, shape, grid)?;
    let value = |q: &f64| format!("{q:.2}");
    let columns: Vec<String> = manifold.quantiles.iter().map(value).collect();
    let rows: Vec<String> = manifold.quantiles.iter().rev().map(value).collect();
    let (a, b) = manifold.axes;
    let name = manifold.name;
    let rest = if manifold.code_dim > 2 {
        format!(", the other {} at 0", manifold.code_dim - 2)
    } else {
        String::new()
    };
    let title = format!("decoded over the prior's quantiles: {name}{a} across, {name}{b} up{rest}");
    annotate_grid(
        &tiles,
        grid,
        grid,
        &GridLabels {
            title: &title,
            rows: &rows,
            columns: &columns,
        },
    )
}
