//! `vaekit explore`: the latent space of a run, answered point by point.
//!
//! An [`Explorer`] encodes up to 70,000 examples of a run's data once,
//! lays their codes out on a plane (PCA, t-SNE, or the code's own axes for
//! a 2-D code) and scores each (its -ELBO, its reconstruction error, a
//! k-means cluster). [`Explorer::handle`] then answers the page's requests
//! from memory: the points, an example beside its reconstruction with its
//! posterior drawn on the plane, the decoding of any point of the plane
//! (lifted back into the code space: exactly through the PCA plane, by the
//! nearest examples' codes for t-SNE), interpolations between two
//! examples, and grids of chosen examples. It knows nothing of HTTP beyond
//! a method, a path and a body ([`super::server`] carries them), so every
//! answer is tested without a network.
//!
//! Every request is checked: an unknown path is a 404, a malformed or
//! oversized body, an index past the data, a code of the wrong size or with
//! a value that is not finite a 400 with a message; nothing a request holds
//! can stop the explorer.

use serde::{Deserialize, Serialize};

use super::{page, png_data_uri, script_json};
use crate::data::prepare::{PreparedData, Split};
use crate::data::{DataKind, Dataset};
use crate::error::{Error, Result};
use crate::eval::EvalOptions;
use crate::generate::image_shape;
use crate::latent::map::{MapMethod, latent_map};
use crate::latent::paths::{PathKind, path};
use crate::latent::pca::{Pca, symmetric_eigen};
use crate::latent::space::CodeSpace;
use crate::model::Vae;
use crate::report::grid::{ImageShape, image_grid};
use crate::run::Run;
use crate::score::{ScoreKind, ScoreOptions, elbo_per_example};
use crate::stats::kmeans::{KMeansConfig, kmeans};

/// The page's script.
const SCRIPT: &str = include_str!("assets/explore.js");

/// The most examples an explorer maps.
pub const MAX_POINTS: usize = 70_000;
/// The most examples a t-SNE map takes (its cost grows as n log n with a
/// large constant: minutes at this size on two cores).
pub const MAX_TSNE_POINTS: usize = 20_000;
/// The largest request body, in bytes.
pub const MAX_BODY: usize = 64 * 1024;
/// The most examples one grid shows.
pub const MAX_GRID: usize = 400;
/// The most steps of an interpolation.
pub const MAX_STEPS: usize = 64;
/// Codes averaged to lift a t-SNE point back into the code space.
const NEIGHBOURS: usize = 8;

/// What an explorer maps.
#[derive(Debug, Clone, PartialEq)]
pub struct ExploreOptions {
    /// One split only (default: every split, training rows first).
    pub split: Option<Split>,
    /// The first this many examples.
    pub limit: usize,
    /// The map (default: the axes of a 2-D code, else PCA).
    pub method: Option<MapMethod>,
    /// k-means clusters (default: the number of classes, else 10).
    pub clusters: Option<usize>,
}

impl Default for ExploreOptions {
    fn default() -> Self {
        ExploreOptions {
            split: None,
            limit: MAX_POINTS,
            method: None,
            clusters: None,
        }
    }
}

/// How the plane maps back to codes.
#[derive(Debug, Clone)]
enum Plane {
    /// A 2-D code's own axes.
    Axes,
    /// The first two principal components.
    Pca(Pca),
    /// t-SNE: no inverse; the nearest examples stand in.
    Tsne,
}

/// An answer: a status, its content type and body.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    fn json<T: Serialize>(value: &T) -> Response {
        match serde_json::to_vec(value) {
            Ok(body) => Response {
                status: 200,
                content_type: "application/json",
                body,
            },
            Err(e) => Response::error(500, &format!("cannot write the answer: {e}")),
        }
    }

    /// A JSON `{"error": message}` with `status`.
    pub fn error(status: u16, message: &str) -> Response {
        Response {
            status,
            content_type: "application/json",
            body: serde_json::json!({ "error": message })
                .to_string()
                .into_bytes(),
        }
    }
}

/// A decoded example: an image, or a table row's cells.
#[derive(Debug, Serialize)]
struct Rendered {
    image: Option<String>,
    header: Option<Vec<String>>,
    rows: Option<Vec<Vec<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecodeRequest {
    /// A point of the plane...
    x: Option<f64>,
    y: Option<f64>,
    /// ...or a code.
    z: Option<Vec<f64>>,
    /// The class a conditional model decodes with (default: the nearest
    /// example's).
    class: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InterpolateRequest {
    from: usize,
    to: usize,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    steps: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GridRequest {
    indices: Vec<usize>,
}

/// A run's examples on a plane, ready to answer the page.
pub struct Explorer {
    run: Run,
    model: Vae,
    data: Dataset,
    space: CodeSpace,
    codes: Vec<f32>,
    x: Vec<f64>,
    y: Vec<f64>,
    plane: Plane,
    method: MapMethod,
    axis_labels: Vec<String>,
    scores: Vec<f64>,
    errors: Vec<f64>,
    clusters: Vec<u32>,
    what: String,
}

impl Explorer {
    /// Encodes, maps and scores the examples of `prepared` (the run's data
    /// or another source, prepared as the run's) that `options` choose.
    ///
    /// # Errors
    ///
    /// A setting out of range ([`Error::Setting`]), and the errors of
    /// encoding and scoring.
    pub fn new(
        run: Run,
        model: Vae,
        prepared: &PreparedData,
        options: &ExploreOptions,
    ) -> Result<Explorer> {
        if options.limit == 0 || options.limit > MAX_POINTS {
            return Err(Error::setting(
                "--limit",
                format!(
                    "the explorer maps 1 to {MAX_POINTS} examples, not {}",
                    options.limit
                ),
            ));
        }
        let (data, what) = match options.split {
            Some(split) => (prepared.split(split)?.clone(), format!("the {split} split")),
            None => {
                let mut all = prepared.train.clone();
                for part in [&prepared.val, &prepared.test].into_iter().flatten() {
                    all = all.concat(part)?;
                }
                (all, "every split (training rows first)".to_string())
            }
        };
        let n = data.len().min(options.limit);
        let data = data.subset(&(0..n).collect::<Vec<_>>());
        let space = CodeSpace::of(&model);
        let codes = space.encode_first(&model, &data, None, 1000)?;
        let dim = space.dim();
        let method = options.method.unwrap_or(match dim {
            2 => MapMethod::Axes,
            _ => MapMethod::Pca,
        });
        if method == MapMethod::Tsne && n > MAX_TSNE_POINTS {
            return Err(Error::setting(
                "--method tsne",
                format!(
                    "t-SNE maps at most {MAX_TSNE_POINTS} examples here, not {n}; give --limit {MAX_TSNE_POINTS} or use pca"
                ),
            ));
        }
        let (coords, axis_labels, plane) = match method {
            MapMethod::Pca if dim >= 2 => {
                let pca = Pca::fit(&codes, dim)?;
                let labels = (0..2)
                    .map(|k| {
                        format!(
                            "PC{} ({:.1} % of variance)",
                            k + 1,
                            100.0 * pca.explained_ratio[k]
                        )
                    })
                    .collect();
                (pca.project(&codes, 2), labels, Plane::Pca(pca))
            }
            _ => {
                let map = latent_map(&codes, dim, 2, Some(method), space.name())?;
                let plane = match method {
                    MapMethod::Tsne => Plane::Tsne,
                    _ => Plane::Axes,
                };
                (map.coords, map.axis_labels, plane)
            }
        };
        let (x, y) = coords.chunks_exact(2).map(|p| (p[0], p[1])).unzip();
        let eval = EvalOptions::for_run(&run.config.settings);
        let score_options = ScoreOptions::new(ScoreKind::NegElbo, None, None, eval)?;
        let terms = elbo_per_example(&model, &data, &score_options, &mut |_| {})?;
        let k = options
            .clusters
            .or(model.classes())
            .or(run.config.data.class_names.as_ref().map(Vec::len))
            .unwrap_or(10)
            .clamp(1, n);
        let clusters = kmeans(
            &codes,
            dim,
            &KMeansConfig {
                restarts: 2,
                ..KMeansConfig::new(k)
            },
        )?
        .assignments;
        Ok(Explorer {
            run,
            model,
            data,
            space,
            codes,
            x,
            y,
            plane,
            method,
            axis_labels,
            scores: terms.iter().map(|(r, k)| r + k).collect(),
            errors: terms.iter().map(|(r, _)| *r).collect(),
            clusters,
            what,
        })
    }

    /// Examples on the map.
    pub fn len(&self) -> usize {
        self.x.len()
    }

    /// Always false: an explorer maps at least one example.
    pub fn is_empty(&self) -> bool {
        self.x.is_empty()
    }

    /// The page.
    pub fn page(&self) -> String {
        let title = format!("vaekit explore: {}", self.run.dir.display());
        let body = include_str!("assets/explore.html");
        page(
            &title,
            body,
            &script_json(&self.meta()).unwrap_or_else(|_| "{}".into()),
            SCRIPT,
        )
    }

    /// The answer to `method` on `target` (a path with its query) with
    /// `body`.
    pub fn handle(&self, method: &str, target: &str, body: &[u8]) -> Response {
        if body.len() > MAX_BODY {
            return Response::error(413, &format!("the request body is over {MAX_BODY} bytes"));
        }
        let (route, query) = target.split_once('?').unwrap_or((target, ""));
        let answer = match (method, route) {
            ("GET", "/") | ("GET", "/index.html") => {
                return Response {
                    status: 200,
                    content_type: "text/html; charset=utf-8",
                    body: self.page().into_bytes(),
                };
            }
            ("GET", "/api/meta") => Ok(Response::json(&self.meta())),
            ("GET", "/api/points") => Ok(self.points()),
            ("GET", "/api/example") => query_index(query).and_then(|i| self.example(i)),
            ("POST", "/api/decode") => parse(body).and_then(|r| self.decode(r)),
            ("POST", "/api/interpolate") => parse(body).and_then(|r| self.interpolate(r)),
            ("POST", "/api/grid") => parse(body).and_then(|r| self.grid(r)),
            (_, "/" | "/index.html" | "/api/meta" | "/api/points" | "/api/example") => {
                return Response::error(405, &format!("{route} answers GET only"));
            }
            (_, "/api/decode" | "/api/interpolate" | "/api/grid") => {
                return Response::error(405, &format!("{route} answers POST only"));
            }
            _ => {
                return Response::error(404, &format!("nothing is served at {route}"));
            }
        };
        answer.unwrap_or_else(|message| Response::error(400, &message))
    }

    fn meta(&self) -> serde_json::Value {
        let kind = &self.run.config.model.input;
        serde_json::json!({
            "title": format!("{} examples of {}: {} map of {} ({}-D)", self.len(), self.what, self.method, self.space.name(), self.space.dim()),
            "kind": if image_shape(kind).is_some() { "image" } else { "table" },
            "n": self.len(),
            "code_dim": self.space.dim(),
            "code_name": self.space.name(),
            "method": self.method.to_string(),
            "axis_labels": self.axis_labels,
            "class_names": self.run.config.data.class_names,
            "has_labels": self.data.labels().is_some(),
            "conditional": self.model.classes().is_some(),
            "ellipses": self.ellipses(),
            "limits": { "grid": MAX_GRID, "steps": MAX_STEPS, "body": MAX_BODY },
        })
    }

    /// Whether an example's posterior can be drawn on the plane: its
    /// Gaussian's projection through the axes or the PCA plane of a
    /// one-layer model.
    fn ellipses(&self) -> bool {
        !self.space.is_top_layer() && !matches!(self.plane, Plane::Tsne)
    }

    fn points(&self) -> Response {
        Response::json(&serde_json::json!({
            "x": self.x,
            "y": self.y,
            "label": self.data.labels(),
            "score": self.scores,
            "error": self.errors,
            "cluster": self.clusters,
        }))
    }

    fn example(&self, i: usize) -> std::result::Result<Response, String> {
        if i >= self.len() {
            return Err(format!(
                "example {i} does not exist: the map has {} (0 to {})",
                self.len(),
                self.len() - 1
            ));
        }
        let original = self.data.row(i).to_vec();
        let (_, recon) = crate::generate::reconstruct(&self.model, &self.data.subset(&[i]), 1)
            .map_err(|e| e.to_string())?;
        let label = self.data.labels().map(|l| l[i]);
        let names = self.run.config.data.class_names.as_ref();
        let ellipse = self.ellipse(i).map_err(|e| e.to_string())?;
        Ok(Response::json(&serde_json::json!({
            "index": i,
            "label": label,
            "label_name": label.and_then(|l| names.and_then(|n| n.get(l as usize))),
            "score": self.scores[i],
            "error": self.errors[i],
            "cluster": self.clusters[i],
            "x": self.x[i],
            "y": self.y[i],
            "code": &self.codes[i * self.space.dim()..(i + 1) * self.space.dim()],
            "ellipse": ellipse,
            "original": self.render(&original).map_err(|e| e.to_string())?,
            "reconstruction": self.render(&recon).map_err(|e| e.to_string())?,
        })))
    }

    /// The posterior of example `i` on the plane: the ellipse one standard
    /// deviation around its mean (centre, half-axes, angle in radians), or
    /// None where the plane has no such projection.
    fn ellipse(&self, i: usize) -> Result<Option<[f64; 5]>> {
        if !self.ellipses() {
            return Ok(None);
        }
        let x = crate::batch::model_input(
            &self.model,
            &self.data,
            &[i],
            None,
            &crate::batch::model_device(&self.model),
        );
        let sd: Vec<f64> = self
            .model
            .encode(x)
            .logvar
            .mul_scalar(0.5)
            .exp()
            .into_data()
            .convert::<f64>()
            .try_into_vec::<f64>()
            .map_err(|e| Error::Data(format!("cannot read the posterior: {e:?}")))?;
        let dim = sd.len();
        // The projected covariance P diag(sd^2) P^T of the plane's two axes.
        let axis = |k: usize, j: usize| match &self.plane {
            Plane::Pca(p) => p.components[k * dim + j],
            _ => f64::from(u8::from(k == j)),
        };
        let mut cov = [0.0f64; 4];
        for a in 0..2 {
            for b in 0..2 {
                cov[a * 2 + b] = (0..dim)
                    .map(|j| axis(a, j) * sd[j] * sd[j] * axis(b, j))
                    .sum();
            }
        }
        let (values, vectors) = symmetric_eigen(&cov, 2);
        let angle = vectors[2].atan2(vectors[0]);
        Ok(Some([
            self.x[i],
            self.y[i],
            values[0].max(0.0).sqrt(),
            values[1].max(0.0).sqrt(),
            angle,
        ]))
    }

    /// The code at point (x, y) of the plane.
    fn lift(&self, x: f64, y: f64) -> Vec<f32> {
        let dim = self.space.dim();
        match &self.plane {
            Plane::Axes => vec![x as f32, y as f32],
            Plane::Pca(p) => (0..dim)
                .map(|j| (p.mean[j] + x * p.components[j] + y * p.components[dim + j]) as f32)
                .collect(),
            Plane::Tsne => {
                // Inverse-distance weights of the nearest examples' codes.
                let nearest = self.nearest(x, y, NEIGHBOURS);
                let mut code = vec![0.0f64; dim];
                let mut total = 0.0;
                for (i, d) in nearest {
                    let w = 1.0 / (d + 1e-9);
                    total += w;
                    for (c, &v) in code.iter_mut().zip(&self.codes[i * dim..(i + 1) * dim]) {
                        *c += w * f64::from(v);
                    }
                }
                code.iter().map(|c| (c / total) as f32).collect()
            }
        }
    }

    /// The point of the plane of `code`: its projection, or for t-SNE the
    /// place of the example whose code is nearest.
    fn place(&self, code: &[f32]) -> (f64, f64) {
        let dim = self.space.dim();
        match &self.plane {
            Plane::Axes => (f64::from(code[0]), f64::from(code[1])),
            Plane::Pca(p) => {
                let at = p.project(code, 2);
                (at[0], at[1])
            }
            Plane::Tsne => {
                let nearest = (0..self.len())
                    .min_by(|&a, &b| {
                        let d = |i: usize| -> f32 {
                            self.codes[i * dim..(i + 1) * dim]
                                .iter()
                                .zip(code)
                                .map(|(a, b)| (a - b) * (a - b))
                                .sum()
                        };
                        d(a).total_cmp(&d(b))
                    })
                    .unwrap_or(0);
                (self.x[nearest], self.y[nearest])
            }
        }
    }

    /// The `k` examples nearest to (x, y) on the plane, with their distances.
    fn nearest(&self, x: f64, y: f64, k: usize) -> Vec<(usize, f64)> {
        let mut all: Vec<(usize, f64)> = self
            .x
            .iter()
            .zip(&self.y)
            .enumerate()
            .map(|(i, (&a, &b))| (i, ((a - x).powi(2) + (b - y).powi(2)).sqrt()))
            .collect();
        let k = k.min(all.len());
        if k > 0 {
            all.select_nth_unstable_by(k - 1, |a, b| a.1.total_cmp(&b.1));
        }
        all.truncate(k);
        all
    }

    /// The class to decode with: `asked`, else the nearest example's, for a
    /// conditional model; None for another.
    fn class_for(
        &self,
        asked: Option<u32>,
        x: f64,
        y: f64,
    ) -> std::result::Result<Option<u32>, String> {
        match (self.model.classes(), asked) {
            (None, None) => Ok(None),
            (None, Some(_)) => {
                Err("this model is not conditional: it decodes without a class".into())
            }
            (Some(c), Some(class)) if class as usize >= c => Err(format!(
                "class {class} does not exist: the model has {c} (0 to {})",
                c - 1
            )),
            (Some(_), Some(class)) => Ok(Some(class)),
            (Some(_), None) => Ok(self
                .nearest(x, y, 1)
                .first()
                .and_then(|&(i, _)| self.data.labels().map(|l| l[i]))
                .or(Some(0))),
        }
    }

    fn decode(&self, r: DecodeRequest) -> std::result::Result<Response, String> {
        let dim = self.space.dim();
        let (code, (x, y)) = match (r.z, r.x, r.y) {
            (Some(z), None, None) => {
                if z.len() != dim {
                    return Err(format!(
                        "the code has {} values and this model's has {dim}",
                        z.len()
                    ));
                }
                if let Some(v) = z.iter().find(|v| !v.is_finite() || v.abs() > 1e6) {
                    return Err(format!(
                        "the code holds {v}: every value must be a finite number of at most 1e6"
                    ));
                }
                let code: Vec<f32> = z.iter().map(|&v| v as f32).collect();
                let at = self.place(&code);
                (code, at)
            }
            (None, Some(x), Some(y)) => {
                if !(x.is_finite() && y.is_finite() && x.abs() <= 1e6 && y.abs() <= 1e6) {
                    return Err("x and y must be finite numbers of at most 1e6".into());
                }
                (self.lift(x, y), (x, y))
            }
            _ => return Err(
                "give a point of the plane as {\"x\": X, \"y\": Y}, or a code as {\"z\": [...]}"
                    .into(),
            ),
        };
        let class = self.class_for(r.class, x, y)?;
        let decoded = self.space.decode(&self.model, &code, class);
        Ok(Response::json(&serde_json::json!({
            "x": x,
            "y": y,
            "z": code,
            "class": class,
            "decoded": self.render(&decoded).map_err(|e| e.to_string())?,
        })))
    }

    fn interpolate(&self, r: InterpolateRequest) -> std::result::Result<Response, String> {
        for i in [r.from, r.to] {
            if i >= self.len() {
                return Err(format!(
                    "example {i} does not exist: the map has {} (0 to {})",
                    self.len(),
                    self.len() - 1
                ));
            }
        }
        let kind: PathKind = r.path.as_deref().unwrap_or("linear").parse()?;
        let steps = r.steps.unwrap_or(10);
        if !(2..=MAX_STEPS).contains(&steps) {
            return Err(format!(
                "an interpolation has 2 to {MAX_STEPS} steps, not {steps}"
            ));
        }
        let dim = self.space.dim();
        let code = |i: usize| &self.codes[i * dim..(i + 1) * dim];
        let codes = path(code(r.from), code(r.to), steps, kind).map_err(|e| e.to_string())?;
        let class = self.class_for(None, self.x[r.from], self.y[r.from])?;
        let decoded = self.space.decode(&self.model, &codes, class);
        let points: Vec<[f64; 2]> = codes
            .chunks_exact(dim)
            .map(|c| {
                let (x, y) = self.place(c);
                [x, y]
            })
            .collect();
        Ok(Response::json(&serde_json::json!({
            "path": kind.to_string(),
            "points": points,
            "decoded": self.render_strip(&decoded, steps).map_err(|e| e.to_string())?,
        })))
    }

    fn grid(&self, r: GridRequest) -> std::result::Result<Response, String> {
        if r.indices.is_empty() || r.indices.len() > MAX_GRID {
            return Err(format!(
                "a grid shows 1 to {MAX_GRID} examples, not {}",
                r.indices.len()
            ));
        }
        if let Some(&bad) = r.indices.iter().find(|&&i| i >= self.len()) {
            return Err(format!(
                "example {bad} does not exist: the map has {} (0 to {})",
                self.len(),
                self.len() - 1
            ));
        }
        let values = self.data.subset(&r.indices).values().to_vec();
        let columns = (r.indices.len() as f64).sqrt().ceil() as usize;
        let rendered = match self.shape() {
            Some(shape) => Rendered {
                image: Some(
                    png_data_uri(
                        &image_grid(&values, shape, columns.max(1)).map_err(|e| e.to_string())?,
                    )
                    .map_err(|e| e.to_string())?,
                ),
                header: None,
                rows: None,
            },
            None => self.render(&values).map_err(|e| e.to_string())?,
        };
        Ok(Response::json(
            &serde_json::json!({ "indices": r.indices, "decoded": rendered }),
        ))
    }

    fn shape(&self) -> Option<ImageShape> {
        image_shape(&self.run.config.model.input)
    }

    /// Examples (model values, row-major) as one picture, or as rows of the
    /// table's own cells.
    fn render(&self, values: &[f32]) -> Result<Rendered> {
        let n = values.len() / self.data.dim().max(1);
        self.render_strip(values, n.max(1))
    }

    /// As [`Explorer::render`], images side by side in `columns`.
    fn render_strip(&self, values: &[f32], columns: usize) -> Result<Rendered> {
        match self.shape() {
            Some(shape) => Ok(Rendered {
                image: Some(png_data_uri(&image_grid(values, shape, columns)?)?),
                header: None,
                rows: None,
            }),
            None => {
                let units = self.run.units();
                let mut values = values.to_vec();
                units.inverse(&mut values);
                let kind: &DataKind = &self.run.config.model.input;
                let (header, rows) = units.cells(kind, &values);
                Ok(Rendered {
                    image: None,
                    header: Some(header),
                    rows: Some(rows),
                })
            }
        }
    }
}

/// The `i` of a query `i=N`.
fn query_index(query: &str) -> std::result::Result<usize, String> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("i="))
        .ok_or_else(|| "give the example as ?i=N".to_string())?
        .parse::<usize>()
        .map_err(|_| "the example's index must be a whole number from 0".to_string())
}

/// A JSON request body.
fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> std::result::Result<T, String> {
    serde_json::from_slice(body)
        .map_err(|e| format!("the request is not the JSON this path takes: {e}"))
}
