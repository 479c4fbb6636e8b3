//! Maps of the latent space: every example's code (its posterior mean) placed
//! in two or three dimensions, by PCA, by t-SNE, or on the raw axes.
//!
//! * **PCA** works for any code size and keeps distances along its axes; the
//!   axis titles give each component's share of the variance.
//! * **t-SNE** (the Barnes-Hut approximation of the `bhtsne` crate, θ = 0.5,
//!   1000 iterations) keeps neighbourhoods, not distances: clusters that are
//!   apart in the code space stay apart, but the space between them and their
//!   sizes mean little. Its start is the PCA map scaled to a standard deviation
//!   of 1e-4 (as scikit-learn's `init="pca"`), so a map is reproducible and not
//!   drawn from the crate's own unseeded generator. The perplexity is 30, lowered
//!   for small sets to what the crate accepts (fewer than a third of the points).
//! * **Axes** shows the code's own first dimensions: the default when the code
//!   has exactly as many dimensions as the map.

use std::path::Path;
use std::str::FromStr;

use bhtsne::tSNE;

use super::pca::Pca;
use crate::error::{Error, Result};
use crate::io::write_atomic_with;
use crate::report::save_png;
use crate::report::scatter::{ScatterPlot, render_scatter};

/// Perplexity of t-SNE where the data allows it.
pub const TSNE_PERPLEXITY: f32 = 30.0;
/// Iterations of t-SNE.
pub const TSNE_EPOCHS: usize = 1000;
/// Fewest points t-SNE is run on.
pub const TSNE_MIN_POINTS: usize = 10;

/// How codes are placed on the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapMethod {
    /// Principal components.
    Pca,
    /// Barnes-Hut t-SNE.
    Tsne,
    /// The code's first dimensions as they are.
    Axes,
}

impl FromStr for MapMethod {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "pca" => Ok(Self::Pca),
            "tsne" | "t-sne" => Ok(Self::Tsne),
            "axes" => Ok(Self::Axes),
            other => Err(format!("unknown method '{other}'; use pca, tsne or axes")),
        }
    }
}

impl std::fmt::Display for MapMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Pca => "PCA",
            Self::Tsne => "t-SNE",
            Self::Axes => "axes",
        })
    }
}

/// Codes placed in 2 or 3 dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct LatentMap {
    /// The method used.
    pub method: MapMethod,
    /// Map dimensions: 2 or 3.
    pub dims: usize,
    /// Row-major `[n, dims]` coordinates.
    pub coords: Vec<f64>,
    /// What each map axis is, e.g. `"PC1 (34.0 % of variance)"`.
    pub axis_labels: Vec<String>,
    /// PCA: the share of the variance of every component (all of them).
    pub explained_ratio: Option<Vec<f64>>,
    /// Seconds the projection took.
    pub seconds: f64,
}

impl LatentMap {
    /// Number of points.
    pub fn len(&self) -> usize {
        self.coords.len() / self.dims.max(1)
    }

    /// True when the map has no point.
    pub fn is_empty(&self) -> bool {
        self.coords.is_empty()
    }
}

/// Places `codes` (row-major `[n, code_dim]`) in `dims` (2 or 3) dimensions.
/// `method` None picks the raw axes when `code_dim == dims`, else PCA. `name`
/// names the code's values in axis titles (`z`, or `z2`).
///
/// # Errors
///
/// [`Error::Setting`] for `dims` other than 2 or 3 or more than the code
/// has, or t-SNE on fewer than [`TSNE_MIN_POINTS`] points;
/// [`Error::Data`] for codes PCA cannot use (fewer than 2, non-finite).
pub fn latent_map(
    codes: &[f32],
    code_dim: usize,
    dims: usize,
    method: Option<MapMethod>,
    name: &str,
) -> Result<LatentMap> {
    if dims != 2 && dims != 3 {
        return Err(Error::setting(
            "--dims",
            format!("a map has 2 or 3 dimensions, not {dims}"),
        ));
    }
    if code_dim < dims {
        return Err(Error::setting(
            "--dims",
            format!(
                "the code has {code_dim} dimension(s), fewer than a {dims}-D map shows; use --dims {code_dim}"
            ),
        ));
    }
    let method = method.unwrap_or(if code_dim == dims {
        MapMethod::Axes
    } else {
        MapMethod::Pca
    });
    let started = std::time::Instant::now();
    let n = codes.len() / code_dim.max(1);
    let (coords, axis_labels, explained_ratio) = match method {
        MapMethod::Axes => {
            let coords = codes
                .chunks_exact(code_dim)
                .flat_map(|row| row[..dims].iter().map(|&v| f64::from(v)))
                .collect();
            let labels = (0..dims).map(|k| format!("{name}{k}")).collect();
            (coords, labels, None)
        }
        MapMethod::Pca => {
            let pca = Pca::fit(codes, code_dim)?;
            let labels = pca_labels(&pca, dims);
            (pca.project(codes, dims), labels, Some(pca.explained_ratio))
        }
        MapMethod::Tsne => {
            if n < TSNE_MIN_POINTS {
                return Err(Error::setting(
                    "--method",
                    format!(
                        "t-SNE needs at least {TSNE_MIN_POINTS} examples, not {n}; use --method pca"
                    ),
                ));
            }
            let pca = Pca::fit(codes, code_dim)?;
            let start = pca.project(codes, dims);
            let labels = (1..=dims).map(|k| format!("t-SNE {k}")).collect();
            (tsne(codes, code_dim, dims, &start), labels, None)
        }
    };
    if coords.len() != n * dims {
        return Err(Error::Data(format!(
            "the {method} map has {} coordinates for {n} examples in {dims} dimensions",
            coords.len()
        )));
    }
    Ok(LatentMap {
        method,
        dims,
        coords,
        axis_labels,
        explained_ratio,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn pca_labels(pca: &Pca, dims: usize) -> Vec<String> {
    (0..dims)
        .map(|k| match pca.explained_ratio.get(k) {
            Some(r) => format!("PC{} ({:.1} % of variance)", k + 1, 100.0 * r),
            None => format!("PC{}", k + 1),
        })
        .collect()
}

/// Barnes-Hut t-SNE of `codes` from the PCA coordinates `start` (rescaled).
fn tsne(codes: &[f32], code_dim: usize, dims: usize, start: &[f64]) -> Vec<f64> {
    let rows: Vec<&[f32]> = codes.chunks_exact(code_dim).collect();
    let n = rows.len();
    // The crate requires 3 * perplexity < n - 1.
    let perplexity = TSNE_PERPLEXITY.min(((n - 1) / 3).saturating_sub(1).max(1) as f32);
    let first = start.iter().step_by(dims).copied();
    let (mean, sq) = first.fold((0.0, 0.0), |(m, s), v| (m + v, s + v * v));
    let sd = (sq / n as f64 - (mean / n as f64).powi(2)).max(0.0).sqrt();
    let scale = if sd > 0.0 { 1e-4 / sd } else { 1.0 };
    let init: Vec<f32> = start.iter().map(|&v| (v * scale) as f32).collect();
    let euclidean = |a: &&[f32], b: &&[f32]| {
        a.iter()
            .zip(b.iter())
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f32>()
            .sqrt()
    };
    let embedding = if dims == 3 {
        tSNE::<f32, &[f32], 3>::new(&rows)
            .perplexity(perplexity)
            .epochs(TSNE_EPOCHS)
            .initial_embedding(init)
            .barnes_hut(0.5, euclidean)
            .embedding()
    } else {
        tSNE::<f32, &[f32], 2>::new(&rows)
            .perplexity(perplexity)
            .epochs(TSNE_EPOCHS)
            .initial_embedding(init)
            .barnes_hut(0.5, euclidean)
            .embedding()
    };
    embedding.into_iter().map(f64::from).collect()
}

/// Checks that `path` (given with `flag`) names a file of type `ext`
/// (`"png"`, `"csv"`), before any work.
pub fn check_extension(path: &Path, flag: &str, ext: &str) -> Result<()> {
    if super::extension(path).as_deref() == Some(ext) {
        Ok(())
    } else {
        Err(Error::setting(
            flag,
            format!(
                "{} does not end in .{ext}; give a .{ext} file",
                path.display()
            ),
        ))
    }
}

/// The map of a dataset's codes, with what is needed to draw it.
#[derive(Debug, Clone, PartialEq)]
pub struct DataMap {
    /// The projected codes.
    pub map: LatentMap,
    /// The labels of the mapped examples, where the data has them.
    pub labels: Option<Vec<u32>>,
    /// A title saying what is drawn.
    pub title: String,
    /// Seconds the encoding took.
    pub encode_seconds: f64,
}

/// Encodes the first `limit` examples of `data` (`what` describes them in the
/// title, e.g. "the test split of mnist") into `model`'s code space
/// ([`CodeSpace`](super::space::CodeSpace)) and maps them with [`latent_map`].
pub fn map_dataset(
    model: &crate::model::Vae,
    data: &crate::data::Dataset,
    what: &str,
    limit: Option<usize>,
    dims: usize,
    method: Option<MapMethod>,
) -> Result<DataMap> {
    let space = super::space::CodeSpace::of(model);
    let started = std::time::Instant::now();
    let codes = space.encode_first(model, data, limit, 1000)?;
    let encode_seconds = started.elapsed().as_secs_f64();
    let map = latent_map(&codes, space.dim(), dims, method, space.name())?;
    let n = map.len();
    let labels = data.labels().map(|l| l[..n].to_vec());
    let title = format!(
        "{} map of {} ({}-D): {n} examples of {what}",
        map.method,
        space.name(),
        space.dim()
    );
    Ok(DataMap {
        map,
        labels,
        title,
        encode_seconds,
    })
}

/// Draws `map` as a PNG at `path`: one scatter panel for a 2-D map, the three
/// pairs of axes side by side for a 3-D one; points coloured by `labels` (with
/// a legend, headed `legend` [default: "class"], naming each class by
/// `class_names` where given) or all in one colour.
///
/// # Errors
///
/// Those of [`render_scatter`] and [`save_png`].
pub fn write_map_png(
    path: &Path,
    map: &LatentMap,
    labels: Option<&[u32]>,
    class_names: Option<&[String]>,
    legend: Option<&str>,
    title: &str,
) -> Result<()> {
    let plot = ScatterPlot {
        title,
        dims: map.dims,
        coords: &map.coords,
        axis_labels: &map.axis_labels,
        labels,
        class_names,
        legend_title: legend,
    };
    save_png(path, &render_scatter(&plot)?)
}

/// Writes the coordinates as CSV: `x, y[, z][, label]`, one row per example
/// in the map's order; with `named` (a header and the classes' names, as a
/// map coloured by a column has), the last column is that header and each
/// label is written as its name.
pub fn write_map_coords(
    path: &Path,
    map: &LatentMap,
    labels: Option<&[u32]>,
    named: Option<(&str, &[String])>,
) -> Result<()> {
    let mut header: Vec<&str> = ["x", "y", "z"][..map.dims].to_vec();
    if labels.is_some() {
        header.push(named.map_or("label", |(h, _)| h));
    }
    let cell = |l: u32| match named {
        Some((_, names)) => names.get(l as usize).cloned().unwrap_or_default(),
        None => l.to_string(),
    };
    write_atomic_with(path, |w| {
        let mut out = csv::Writer::from_writer(w);
        out.write_record(&header)?;
        for (i, row) in map.coords.chunks_exact(map.dims).enumerate() {
            let mut record: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            if let Some(labels) = labels {
                record.push(labels.get(i).copied().map_or_else(String::new, cell));
            }
            out.write_record(&record)?;
        }
        out.flush()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two tight, far-apart groups in 5-D.
    fn two_groups(n: usize) -> Vec<f32> {
        (0..n)
            .flat_map(|i| {
                let centre = if i % 2 == 0 { 5.0 } else { -5.0 };
                (0..5).map(move |j| centre + ((i * 7 + j * 3) % 11) as f32 * 0.01)
            })
            .collect()
    }

    #[test]
    fn the_default_is_axes_for_a_code_of_the_maps_size() {
        let codes = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let map = latent_map(&codes, 2, 2, None, "z").unwrap();
        assert_eq!(map.method, MapMethod::Axes);
        assert_eq!(map.coords, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(map.axis_labels, vec!["z0", "z1"]);
        let map = latent_map(&codes, 3, 2, None, "z").unwrap();
        assert_eq!(map.method, MapMethod::Pca);
        assert!(
            map.axis_labels[0].starts_with("PC1 ("),
            "{:?}",
            map.axis_labels
        );
        assert!(latent_map(&codes, 2, 3, Some(MapMethod::Axes), "z").is_err());
        assert!(latent_map(&codes, 2, 4, None, "z").is_err());
    }

    #[test]
    fn tsne_keeps_separate_groups_apart() {
        let codes = two_groups(40);
        let map = latent_map(&codes, 5, 2, Some(MapMethod::Tsne), "z").unwrap();
        assert_eq!(map.coords.len(), 80);
        let point = |i: usize| (map.coords[2 * i], map.coords[2 * i + 1]);
        let centre = |g: usize| {
            let (x, y) = (g..40)
                .step_by(2)
                .map(point)
                .fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
            (x / 20.0, y / 20.0)
        };
        let dist =
            |a: (f64, f64), b: (f64, f64)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        // Every point is nearer its own group's centre than the other group's.
        for i in 0..40 {
            let own = dist(point(i), centre(i % 2));
            let other = dist(point(i), centre(1 - i % 2));
            assert!(own < other, "point {i}: {own} vs {other}; {:?}", map.coords);
        }
        assert!(latent_map(&codes[..25], 5, 2, Some(MapMethod::Tsne), "z").is_err());
    }

    #[test]
    fn coordinates_are_written_as_csv() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("coords.csv");
        let map = latent_map(&[1.0, 2.0, 3.0, 4.0], 2, 2, None, "z").unwrap();
        write_map_coords(&path, &map, Some(&[7, 3]), None).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "x,y,label\n1,2,7\n3,4,3\n");
    }
}
