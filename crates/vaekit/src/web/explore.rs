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

use super::subject::{ModelSubject, Rendered, Subject, TextSubject};
use super::{page, script_json};
use crate::data::prepare::{PreparedData, Split};
use crate::error::{Error, Result};
use crate::latent::map::{MapMethod, latent_map};
use crate::latent::paths::{PathKind, path};
use crate::latent::pca::{Pca, symmetric_eigen};
use crate::latent::space::CodeSpace;
use crate::model::Vae;
use crate::run::Run;
use crate::stats::kmeans::{KMeansConfig, kmeans};
use crate::text::corpus::Encoded;
use crate::text::model::SentenceVae;
use crate::text::run::TextRun;

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
    subject: Box<dyn Subject>,
    title: String,
    codes: Vec<f32>,
    dim: usize,
    code_name: &'static str,
    x: Vec<f64>,
    y: Vec<f64>,
    plane: Plane,
    method: MapMethod,
    axis_labels: Vec<String>,
    scores: Vec<f64>,
    second: Vec<f64>,
    second_name: &'static str,
    clusters: Vec<u32>,
    what: String,
}

impl Explorer {
    /// Encodes, maps and scores the examples of `prepared` (an image or
    /// table run's data, or another source prepared as the run's) that
    /// `options` choose.
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
        check_limit(options.limit)?;
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
        let title = run.dir.display().to_string();
        let subject = ModelSubject {
            run,
            model,
            data,
            space,
        };
        Explorer::of(Box::new(subject), title, what, options)
    }

    /// The same for a text run's `sentences` (`what` says which).
    ///
    /// # Errors
    ///
    /// As [`Explorer::new`]; the language model, which has no code, is
    /// refused.
    pub fn for_text(
        run: TextRun,
        model: SentenceVae,
        mut sentences: Encoded,
        what: &str,
        options: &ExploreOptions,
    ) -> Result<Explorer> {
        check_limit(options.limit)?;
        if model.latent() == 0 {
            return Err(Error::setting(
                "RUN_DIR",
                "the language model has no latent space to explore; train a sentence VAE (--model vae)",
            ));
        }
        sentences.sentences.truncate(options.limit);
        let title = run.dir.display().to_string();
        let subject = TextSubject::new(run, model, sentences)?;
        Explorer::of(Box::new(subject), title, what.to_string(), options)
    }

    fn of(
        subject: Box<dyn Subject>,
        title: String,
        what: String,
        options: &ExploreOptions,
    ) -> Result<Explorer> {
        let n = subject.len();
        if n < 2 {
            return Err(Error::Data(format!(
                "the explorer maps at least 2 examples; {what} has {n}"
            )));
        }
        let codes = subject.codes()?;
        let (dim, code_name) = subject.code();
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
                let map = latent_map(&codes, dim, 2, Some(method), code_name)?;
                let plane = match method {
                    MapMethod::Tsne => Plane::Tsne,
                    _ => Plane::Axes,
                };
                (map.coords, map.axis_labels, plane)
            }
        };
        let (x, y) = coords.chunks_exact(2).map(|p| (p[0], p[1])).unzip();
        let scores = subject.scores()?;
        let k = options
            .clusters
            .or(subject.classes())
            .or(subject.labels().1.as_ref().map(Vec::len))
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
            subject,
            title,
            codes,
            dim,
            code_name,
            x,
            y,
            plane,
            method,
            axis_labels,
            scores: scores.neg_elbo,
            second: scores.second,
            second_name: scores.second_name,
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
        let title = format!("vaekit explore: {}", self.title);
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
        let (labels, names) = self.subject.labels();
        serde_json::json!({
            "title": format!("{} examples of {}: {} map of {} ({}-D)", self.len(), self.what, self.method, self.code_name, self.dim),
            "kind": self.subject.kind(),
            "n": self.len(),
            "code_dim": self.dim,
            "code_name": self.code_name,
            "method": self.method.to_string(),
            "axis_labels": self.axis_labels,
            "class_names": names,
            "has_labels": labels.is_some(),
            "conditional": self.subject.classes().is_some(),
            "second_name": self.second_name,
            "ellipses": !matches!(self.plane, Plane::Tsne),
            "limits": { "grid": MAX_GRID, "steps": MAX_STEPS, "body": MAX_BODY },
        })
    }

    fn points(&self) -> Response {
        Response::json(&serde_json::json!({
            "x": self.x,
            "y": self.y,
            "label": self.subject.labels().0,
            "score": self.scores,
            "error": self.second,
            "cluster": self.clusters,
        }))
    }

    fn exists(&self, i: usize) -> std::result::Result<(), String> {
        match i < self.len() {
            true => Ok(()),
            false => Err(format!(
                "example {i} does not exist: the map has {} (0 to {})",
                self.len(),
                self.len() - 1
            )),
        }
    }

    fn example(&self, i: usize) -> std::result::Result<Response, String> {
        self.exists(i)?;
        let (labels, names) = self.subject.labels();
        let label = labels.map(|l| l[i]);
        let text = |e: Error| e.to_string();
        Ok(Response::json(&serde_json::json!({
            "index": i,
            "label": label,
            "label_name": label.and_then(|l| names.as_ref().and_then(|n| n.get(l as usize).cloned())),
            "score": self.scores[i],
            "error": self.second[i],
            "cluster": self.clusters[i],
            "x": self.x[i],
            "y": self.y[i],
            "code": &self.codes[i * self.dim..(i + 1) * self.dim],
            "ellipse": self.ellipse(i).map_err(text)?,
            "original": self.subject.originals(&[i], 1).map_err(text)?,
            "reconstruction": self.subject.reconstruction(i).map_err(text)?,
        })))
    }

    /// The posterior of example `i` on the plane: the ellipse one standard
    /// deviation around its mean (centre, half-axes, angle in radians), or
    /// None where the plane has no such projection (t-SNE, or a code with
    /// no posterior of its own).
    fn ellipse(&self, i: usize) -> Result<Option<[f64; 5]>> {
        if matches!(self.plane, Plane::Tsne) {
            return Ok(None);
        }
        let Some(sd) = self.subject.sd(i)? else {
            return Ok(None);
        };
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
        let dim = self.dim;
        match &self.plane {
            Plane::Axes => vec![x as f32, y as f32],
            Plane::Pca(p) => (0..dim)
                .map(|j| (p.mean[j] + x * p.components[j] + y * p.components[dim + j]) as f32)
                .collect(),
            Plane::Tsne => {
                // Inverse-distance weights of the nearest examples' codes.
                let mut code = vec![0.0f64; dim];
                let mut total = 0.0;
                for (i, d) in self.nearest(x, y, NEIGHBOURS) {
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
        let dim = self.dim;
        match &self.plane {
            Plane::Axes => (f64::from(code[0]), f64::from(code[1])),
            Plane::Pca(p) => {
                let at = p.project(code, 2);
                (at[0], at[1])
            }
            Plane::Tsne => {
                let distance = |i: usize| -> f32 {
                    self.codes[i * dim..(i + 1) * dim]
                        .iter()
                        .zip(code)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum()
                };
                let nearest = (0..self.len())
                    .min_by(|&a, &b| distance(a).total_cmp(&distance(b)))
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
        match (self.subject.classes(), asked) {
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
                .and_then(|&(i, _)| self.subject.labels().0.map(|l| l[i]))
                .or(Some(0))),
        }
    }

    fn decode(&self, r: DecodeRequest) -> std::result::Result<Response, String> {
        let dim = self.dim;
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
            _ => {
                return Err("give a point of the plane as {\"x\": X, \"y\": Y}, or a code as {\"z\": [...]}".into());
            }
        };
        let class = self.class_for(r.class, x, y)?;
        let decoded = self
            .subject
            .decode(&code, class, 1)
            .map_err(|e| e.to_string())?;
        Ok(Response::json(&serde_json::json!({
            "x": x,
            "y": y,
            "z": code,
            "class": class,
            "decoded": decoded,
        })))
    }

    fn interpolate(&self, r: InterpolateRequest) -> std::result::Result<Response, String> {
        self.exists(r.from)?;
        self.exists(r.to)?;
        let kind: PathKind = r.path.as_deref().unwrap_or("linear").parse()?;
        let steps = r.steps.unwrap_or(10);
        if !(2..=MAX_STEPS).contains(&steps) {
            return Err(format!(
                "an interpolation has 2 to {MAX_STEPS} steps, not {steps}"
            ));
        }
        let dim = self.dim;
        let code = |i: usize| &self.codes[i * dim..(i + 1) * dim];
        let codes = path(code(r.from), code(r.to), steps, kind).map_err(|e| e.to_string())?;
        let class = self.class_for(None, self.x[r.from], self.y[r.from])?;
        let decoded = self
            .subject
            .decode(&codes, class, steps)
            .map_err(|e| e.to_string())?;
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
            "decoded": decoded,
        })))
    }

    fn grid(&self, r: GridRequest) -> std::result::Result<Response, String> {
        if r.indices.is_empty() || r.indices.len() > MAX_GRID {
            return Err(format!(
                "a grid shows 1 to {MAX_GRID} examples, not {}",
                r.indices.len()
            ));
        }
        for &i in &r.indices {
            self.exists(i)?;
        }
        let columns = (r.indices.len() as f64).sqrt().ceil() as usize;
        let rendered: Rendered = self
            .subject
            .originals(&r.indices, columns.max(1))
            .map_err(|e| e.to_string())?;
        Ok(Response::json(
            &serde_json::json!({ "indices": r.indices, "decoded": rendered }),
        ))
    }
}

/// The sentences a text run's explorer maps: those of `data` (a file), or
/// of one split of the run's, or of every split (training sentences
/// first); and words saying which.
pub fn text_sentences(
    run: &TextRun,
    data: Option<&std::path::Path>,
    split: Option<Split>,
) -> Result<(Encoded, String)> {
    if let Some(path) = data {
        return Ok((run.sentences(path)?.1, path.display().to_string()));
    }
    if let Some(split) = split {
        return Ok((run.split(split)?, format!("the {split} split")));
    }
    let mut all = run.split(Split::Train)?;
    for split in [Split::Val, Split::Test] {
        if let Ok(part) = run.split(split) {
            all.sentences.extend(part.sentences);
        }
    }
    Ok((all, "every split (training sentences first)".into()))
}

/// The explorer's limit of examples, checked.
fn check_limit(limit: usize) -> Result<()> {
    match (1..=MAX_POINTS).contains(&limit) {
        true => Ok(()),
        false => Err(Error::setting(
            "--limit",
            format!("the explorer maps 1 to {MAX_POINTS} examples, not {limit}"),
        )),
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
