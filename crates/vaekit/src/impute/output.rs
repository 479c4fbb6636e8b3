//! Writing completed data: a picture of originals, masked inputs and
//! imputations for images, and the completed values as CSV, NPY or IDX.

use std::io::Write;
use std::path::Path;

use image::RgbImage;
use npyz::WriterBuilder;

use super::{Incomplete, Mask};
use crate::data::{DataKind, TableColumns};
use crate::error::{Error, Result};
use crate::io::write_atomic_with;
use crate::report::{ImageShape, image_grid, save_png};

/// Writes a completion by `path`'s extension: `.png` draws
/// [`comparison_picture`] of the first `show` images; `.csv`, `.npy` and
/// `.idx` write every completed row ([`write_completed`], with the rows'
/// labels). `completed` is in the source's units ([`Incomplete::completed`]).
///
/// # Errors
///
/// As [`comparison_picture`] and [`write_completed`].
pub fn write_output(
    path: &Path,
    flag: &str,
    data: &Incomplete,
    completed: &[f32],
    class_names: Option<&[String]>,
    show: usize,
) -> Result<()> {
    let is_png = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    let kind = data.raw.kind();
    if is_png {
        let picture = comparison_picture(data.raw.values(), &data.mask, completed, kind, show)?;
        return save_png(path, &picture);
    }
    if let Some(columns) = &data.columns
        && path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
    {
        return write_typed_csv(path, completed, columns, data.raw.labels(), class_names);
    }
    write_completed(path, flag, completed, kind, data.raw.labels(), class_names)
}

/// Writes completed rows of typed columns as the cells of a CSV: each
/// category by its name, counts as whole numbers, with the label column's
/// class names where there are labels.
fn write_typed_csv(
    path: &Path,
    values: &[f32],
    columns: &TableColumns,
    labels: Option<&[u32]>,
    class_names: Option<&[String]>,
) -> Result<()> {
    let mut header = columns.names();
    if labels.is_some() {
        header.push("label".into());
    }
    let width = columns.width().max(1);
    write_atomic_with(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(&header)?;
        for (r, row) in values.chunks(width).enumerate() {
            let mut record = columns.decode_row(row);
            if let Some(labels) = labels {
                record.push(label_text(labels[r], class_names));
            }
            out.write_record(&record)?;
        }
        out.flush()
    })
}

/// A label as its class name where known, else its number.
fn label_text(label: u32, class_names: Option<&[String]>) -> String {
    class_names
        .and_then(|names| names.get(label as usize).cloned())
        .unwrap_or_else(|| label.to_string())
}

/// Colour of a missing pixel in the masked row of [`comparison_picture`]: a
/// blue that neither black nor white digits nor most photographs contain.
const MISSING_RGB: [f32; 3] = [0.2, 0.35, 0.9];

/// A grid of three rows for the first `columns` images: the originals, the
/// originals with their missing pixels painted blue, and the completed images.
///
/// # Shapes
/// - `originals`, `completed`: row-major images of `kind`, as many as `mask` has rows
///
/// # Errors
///
/// [`Error::Data`] for a table (no picture) or images the grid cannot draw.
pub fn comparison_picture(
    originals: &[f32],
    mask: &Mask,
    completed: &[f32],
    kind: &DataKind,
    columns: usize,
) -> Result<RgbImage> {
    let DataKind::Image {
        channels,
        height,
        width,
    } = *kind
    else {
        return Err(Error::setting(
            "--out",
            "a table has no picture; write the completed table to a .csv file",
        ));
    };
    let dim = kind.dim();
    let n = columns.min(mask.rows()).max(1);
    let plane = height * width;
    // Every tile in RGB, so that the blue of missing pixels can be drawn.
    let rgb = |values: &[f32], missing: Option<&[bool]>| -> Vec<f32> {
        let mut out = vec![0.0; 3 * plane];
        for c in 0..3 {
            for p in 0..plane {
                let source = if channels == 1 { p } else { c * plane + p };
                let hidden = missing.is_some_and(|m| m[source]);
                out[c * plane + p] = if hidden {
                    MISSING_RGB[c]
                } else {
                    values[source]
                };
            }
        }
        out
    };
    let mut tiles = Vec::with_capacity(3 * n * 3 * plane);
    for i in 0..n {
        tiles.extend(rgb(&originals[i * dim..(i + 1) * dim], None));
    }
    for i in 0..n {
        tiles.extend(rgb(&originals[i * dim..(i + 1) * dim], Some(mask.row(i))));
    }
    for i in 0..n {
        tiles.extend(rgb(&completed[i * dim..(i + 1) * dim], None));
    }
    let shape = ImageShape {
        channels: 3,
        height,
        width,
    };
    image_grid(&tiles, shape, n)
}

/// Writes completed rows by `path`'s extension: `.csv` (a header of `columns`,
/// then a `label` column where `labels` are given, as class names where
/// `class_names` are known), `.npy` (float32: `[n, columns]` for tables,
/// `[n, height, width]` or `[n, channels, height, width]` for images), or
/// `.idx` (images only: unsigned bytes, values in [0, 1] times 255, rank 3 or
/// 4 channel-last, as MNIST ships).
///
/// # Errors
///
/// [`Error::Setting`] naming `flag` for an unknown extension or IDX for a
/// table; [`Error::Write`] when the file cannot be written.
pub fn write_completed(
    path: &Path,
    flag: &str,
    values: &[f32],
    kind: &DataKind,
    labels: Option<&[u32]>,
    class_names: Option<&[String]>,
) -> Result<()> {
    let dim = kind.dim().max(1);
    let n = values.len() / dim;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match (ext.as_deref(), kind) {
        (Some("csv"), _) => {
            let mut header: Vec<String> = match kind {
                DataKind::Table { columns } => columns.clone(),
                DataKind::Image { .. } => (0..dim).map(|i| format!("x{i}")).collect(),
            };
            if labels.is_some() {
                header.push("label".into());
            }
            write_atomic_with(path, |w| {
                let mut out = csv::Writer::from_writer(w);
                out.write_record(&header)?;
                for r in 0..n {
                    let mut record: Vec<String> = values[r * dim..(r + 1) * dim]
                        .iter()
                        .map(|v| v.to_string())
                        .collect();
                    if let Some(labels) = labels {
                        record.push(label_text(labels[r], class_names));
                    }
                    out.write_record(&record)?;
                }
                out.flush()
            })
        }
        (Some("npy"), _) => {
            let mut shape = vec![n as u64];
            match *kind {
                DataKind::Image {
                    channels: 1,
                    height,
                    width,
                } => shape.extend([height as u64, width as u64]),
                DataKind::Image {
                    channels,
                    height,
                    width,
                } => shape.extend([channels as u64, height as u64, width as u64]),
                DataKind::Table { .. } => shape.push(dim as u64),
            }
            write_atomic_with(path, |w| {
                let mut writer = npyz::WriteOptions::<f32>::new()
                    .default_dtype()
                    .shape(&shape)
                    .writer(w)
                    .begin_nd()?;
                writer.extend(values.iter().copied())?;
                writer.finish()
            })
        }
        (
            Some("idx"),
            DataKind::Image {
                channels,
                height,
                width,
            },
        ) => {
            let mut dims = vec![n, *height, *width];
            if *channels > 1 {
                dims.push(*channels);
            }
            let too_big = || {
                Error::setting(
                    flag,
                    "the data is too large for the IDX format's 32-bit sizes; write .npy",
                )
            };
            let dims: Vec<u32> = dims
                .iter()
                .map(|&d| u32::try_from(d).map_err(|_| too_big()))
                .collect::<Result<_>>()?;
            let plane = height * width;
            write_atomic_with(path, |w| {
                w.write_all(&[0, 0, 0x08, dims.len() as u8])?;
                for d in &dims {
                    w.write_all(&d.to_be_bytes())?;
                }
                let byte = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
                for image in values.chunks_exact(dim) {
                    // Channel-first in memory, channel-last in the file.
                    let bytes: Vec<u8> = (0..plane)
                        .flat_map(|p| (0..*channels).map(move |c| byte(image[c * plane + p])))
                        .collect();
                    w.write_all(&bytes)?;
                }
                Ok(())
            })
        }
        (Some("idx"), DataKind::Table { .. }) => Err(Error::setting(
            flag,
            "IDX holds images here; write a table to .csv or .npy",
        )),
        _ => Err(Error::setting(
            flag,
            format!(
                "cannot tell the format from the name {}; end it in .csv, .npy or .idx",
                path.display()
            ),
        )),
    }
}
