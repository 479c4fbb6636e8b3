//! Interpolation: the decoded path between two codes, those of two examples
//! (their posterior means, so the two ends are reconstructions) or two draws
//! from the prior, straight or spherical ([`PathKind`]).
//!
//! Images give a strip (one tile per step, optionally with the two originals
//! at its ends) and an animated GIF that goes there and back (every step,
//! then back through the middle ones, so the loop has no jump). Tables give
//! the path as CSV rows in the data's original units, through the run's
//! scaler. A conditional model decodes every step with one given class.

use std::path::Path;

use image::RgbImage;

use super::extension;
use super::paths::{PathKind, check_steps, fractions, path};
use super::space::{CodeSpace, check_class};
use crate::data::{DataKind, Dataset};
use crate::error::{Error, Result};
use crate::generate::{Units, image_shape, write_examples};
use crate::model::Vae;
use crate::report::gif::check_frame_ms;
use crate::report::{GridLabels, annotate_grid, image_grid, save_gif, save_png};

/// Largest number of steps.
pub const MAX_STEPS: usize = 200;

/// The two ends of an interpolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// Two examples of the data, by index.
    Examples {
        /// Index of the first example.
        from: usize,
        /// Index of the last example.
        to: usize,
    },
    /// Two draws from the prior with this seed.
    Prior {
        /// Seed of the draws.
        seed: u64,
    },
}

/// A decoded path.
#[derive(Debug, Clone, PartialEq)]
pub struct Interpolation {
    /// Where the path starts and ends.
    pub ends: Ends,
    /// The path's shape.
    pub kind: PathKind,
    /// Row-major `[steps, code_dim]` codes.
    pub codes: Vec<f32>,
    /// Row-major `[steps, input_dim]` decoded means.
    pub values: Vec<f32>,
    /// The two examples as the model sees them (`[2, input_dim]`), for
    /// example ends.
    pub originals: Option<Vec<f32>>,
    /// Number of steps, ends included.
    pub steps: usize,
}

/// Checks the outputs before any work: `out` is `.png` (images) or `.csv`,
/// `gif` is `.gif` with a usable frame delay in milliseconds, and needs images.
pub fn check_outputs(out: &Path, gif: Option<(&Path, u32)>, kind: &DataKind) -> Result<()> {
    let ext = extension;
    match (ext(out).as_deref(), image_shape(kind)) {
        (Some("png"), Some(_)) | (Some("csv"), _) => {}
        (Some("png"), None) => {
            return Err(Error::setting(
                "--out",
                "the run was trained on a table, which has no picture; write the path as a .csv file",
            ));
        }
        _ => {
            return Err(Error::setting(
                "--out",
                format!(
                    "cannot tell what to write from the name {}; end it in .png (images) or .csv",
                    out.display()
                ),
            ));
        }
    }
    if let Some((gif, frame_ms)) = gif {
        check_frame_ms(frame_ms)?;
        if image_shape(kind).is_none() {
            return Err(Error::setting(
                "--gif",
                "the run was trained on a table, which has no picture to animate; write the path with --out FILE.csv",
            ));
        }
        if ext(gif).as_deref() != Some("gif") {
            return Err(Error::setting(
                "--gif",
                format!("{} does not end in .gif", gif.display()),
            ));
        }
    }
    Ok(())
}

/// Decodes `steps` codes along `kind` between `ends`: examples of `data`
/// (needed for example ends) or prior draws. `class` is required for a
/// conditional model and refused otherwise.
pub fn interpolate(
    model: &Vae,
    data: Option<&Dataset>,
    ends: Ends,
    steps: usize,
    kind: PathKind,
    class: Option<u32>,
) -> Result<Interpolation> {
    check_steps(steps, MAX_STEPS)?;
    let class = check_class(model, class, "--class")?;
    let space = CodeSpace::of(model);
    let (pair, originals) = match (ends, data) {
        (Ends::Examples { from, to }, Some(data)) => {
            let codes = space.encode(model, data, &[from, to])?;
            let mut originals = data.row(from).to_vec();
            originals.extend_from_slice(data.row(to));
            (codes, Some(originals))
        }
        (Ends::Examples { .. }, None) => {
            return Err(Error::Data(
                "interpolating between examples needs their data".into(),
            ));
        }
        (Ends::Prior { seed }, _) => (space.prior_samples(model, 2, seed), None),
    };
    let d = space.dim();
    let codes = path(&pair[..d], &pair[d..], steps, kind)?;
    let values = space.decode(model, &codes, class);
    Ok(Interpolation {
        ends,
        kind,
        codes,
        values,
        originals,
        steps,
    })
}

/// The strip: a tile per step, with the original examples at both ends when
/// `with_originals` (and the ends are examples), labelled with the path's
/// fraction.
pub fn interpolation_strip(
    interpolation: &Interpolation,
    kind: &DataKind,
    with_originals: bool,
) -> Result<RgbImage> {
    let shape = image_shape(kind)
        .ok_or_else(|| Error::setting("--out", "only image data has a strip picture"))?;
    let per = kind.dim();
    let mut tiles = Vec::with_capacity((interpolation.steps + 2) * per);
    let mut columns: Vec<String> = fractions(interpolation.steps)
        .iter()
        .map(|t| format!("{t:.2}"))
        .collect();
    let originals = interpolation.originals.as_ref().filter(|_| with_originals);
    if let Some(o) = originals {
        tiles.extend_from_slice(&o[..per]);
        columns.insert(0, "original".into());
        columns.push("original".into());
    }
    tiles.extend_from_slice(&interpolation.values);
    if let Some(o) = originals {
        tiles.extend_from_slice(&o[per..]);
    }
    let n = columns.len();
    let grid = image_grid(&tiles, shape, n)?;
    let ends = match interpolation.ends {
        Ends::Examples { from, to } => format!("examples {from} and {to}"),
        Ends::Prior { seed } => format!("two prior draws (seed {seed})"),
    };
    let title = format!("{} path between {ends}", interpolation.kind);
    annotate_grid(
        &grid,
        1,
        n,
        &GridLabels {
            title: &title,
            rows: &[],
            columns: &columns,
        },
    )
}

/// The animation's frames: every step, then back through the middle ones.
pub fn interpolation_frames(
    interpolation: &Interpolation,
    kind: &DataKind,
) -> Result<Vec<RgbImage>> {
    let shape = image_shape(kind)
        .ok_or_else(|| Error::setting("--gif", "only image data can be animated"))?;
    let per = kind.dim();
    let steps = interpolation.steps;
    let order = (0..steps).chain((1..steps.saturating_sub(1)).rev());
    order
        .map(|i| image_grid(&interpolation.values[i * per..(i + 1) * per], shape, 1))
        .collect()
}

/// Writes an interpolation: `out` as a strip (`.png`) or CSV rows in the
/// data's units (`.csv`), and `gif` as an animation with `frame_ms` per frame.
pub fn write_interpolation<'a>(
    interpolation: &Interpolation,
    kind: &DataKind,
    units: impl Into<Units<'a>>,
    out: &Path,
    gif: Option<(&Path, u32)>,
    with_originals: bool,
) -> Result<()> {
    check_outputs(out, gif, kind)?;
    // Everything is rendered before anything is written.
    let frames = match gif {
        Some(_) => Some(interpolation_frames(interpolation, kind)?),
        None => None,
    };
    let is_png = extension(out).as_deref() == Some("png");
    if is_png {
        save_png(
            out,
            &interpolation_strip(interpolation, kind, with_originals)?,
        )?;
    } else {
        write_examples(out, &interpolation.values, kind, units)?;
    }
    if let (Some((path, ms)), Some(frames)) = (gif, frames) {
        save_gif(path, &frames, ms)?;
    }
    Ok(())
}
