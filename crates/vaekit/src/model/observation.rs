//! The observation model p(x|z): a likelihood per block of the data's values,
//! built from the data's [`Schema`].
//!
//! The decoder gives one raw output per value (a logit for a Bernoulli value,
//! a mean for a Gaussian one); each block reads its columns of those outputs.
//! The loss, the reconstruction report, the means and the samples all ask the
//! blocks, so a new kind of value (categories, counts) is a new likelihood
//! here and never a branch in the model.
//!
//! Blocks that lie side by side with the same likelihood are computed as one
//! span: an image's pixels, or a table whose columns share a likelihood, cost
//! one pass over the whole row, as before the blocks existed.

use std::ops::Range;

use burn::prelude::*;
use burn::tensor::activation;
use rand::RngExt;
use rand_distr::{Gamma, Poisson, StandardNormal};

use crate::data::schema::Schema;
use crate::distributions::{
    Likelihood, bernoulli_nll_from_logits, bernoulli_nll_per_value, categorical_nll_per_value,
    gaussian_nll, gaussian_nll_per_value, logistic_nll_per_value, negative_binomial_nll_per_value,
    poisson_nll_per_value, sum_rows,
};
use crate::kernels;
use crate::kernels::likelihoods::{Block, BlockKind, Blocks, masked_nll_by_block, masked_nll_rows};
use crate::random::Rng;

/// The fused kernels' blocks of these columns and likelihoods, or None when
/// one of them is a likelihood those kernels do not compute.
fn kernel_blocks<'a>(
    parts: impl Iterator<Item = (&'a Range<usize>, Likelihood)>,
) -> Option<Vec<Block>> {
    parts
        .map(|(columns, likelihood)| {
            let kind = match likelihood {
                Likelihood::Bernoulli => BlockKind::Bernoulli,
                Likelihood::Gaussian { .. } => BlockKind::Gaussian,
                Likelihood::Poisson => BlockKind::Poisson,
                Likelihood::Categorical => BlockKind::Categorical,
                Likelihood::NegativeBinomial | Likelihood::Logistic => return None,
            };
            Some(Block {
                columns: columns.clone(),
                kind,
            })
        })
        .collect()
}

/// One block of the data and the likelihood that scores it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedBlock {
    /// The schema's name for the block (a table's column, `pixels`).
    pub name: String,
    /// Its columns in a row of the data and of the decoder's outputs.
    pub columns: Range<usize>,
    /// p(x_block | z).
    pub likelihood: Likelihood,
}

/// Neighbouring blocks of one likelihood, computed together.
#[derive(Debug, Clone, PartialEq)]
struct Span {
    columns: Range<usize>,
    likelihood: Likelihood,
}

/// p(x|z) as independent blocks over the values of an example.
///
/// The Gaussian blocks' learned log-variance belongs to the model (it is a
/// trained weight, `obs_logvar` in the saved files); methods that need it take
/// it as `logvar`, `[1, 1]` (one for every value) or `[1, dim]` (one per value).
/// A Gaussian block given no log-variance uses unit variance.
///
/// The decoder's raw outputs are `[batch, raw_dim]`: one per value, and
/// where a block's likelihood has a second parameter per value that follows
/// z (the logistic's log-scale), a second `dim` columns after the first,
/// in the same order; every method reads that layout.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationModel {
    blocks: Vec<ObservedBlock>,
    spans: Vec<Span>,
    dim: usize,
    /// The spans as the CPU's fused masked loss reads them (None when one
    /// of them is a likelihood it does not compute).
    fused: Option<Blocks>,
    /// The blocks themselves, as the fused report by block reads them (None
    /// as for `fused`).
    fused_blocks: Option<Vec<Block>>,
    /// Decoder outputs per value (see [`Likelihood::outputs_per_value`]).
    outputs_per_value: usize,
}

impl ObservationModel {
    /// One likelihood for every block of `schema`: what a run's
    /// `--likelihood` gives today.
    pub fn uniform(schema: &Schema, likelihood: Likelihood) -> ObservationModel {
        Self::new(schema, |_| likelihood)
    }

    /// The likelihood `choose` gives each block of `schema`.
    pub fn new(
        schema: &Schema,
        mut choose: impl FnMut(&crate::data::schema::Block) -> Likelihood,
    ) -> ObservationModel {
        let blocks: Vec<ObservedBlock> = schema
            .blocks
            .iter()
            .map(|b| ObservedBlock {
                name: b.name.clone(),
                columns: b.columns.clone(),
                likelihood: choose(b),
            })
            .collect();
        let mut spans: Vec<Span> = Vec::new();
        for b in &blocks {
            // A categorical block's softmax is its own: it never joins a span.
            match spans.last_mut() {
                Some(s)
                    if s.likelihood == b.likelihood
                        && b.likelihood != Likelihood::Categorical
                        && s.columns.end == b.columns.start =>
                {
                    s.columns.end = b.columns.end;
                }
                _ => spans.push(Span {
                    columns: b.columns.clone(),
                    likelihood: b.likelihood,
                }),
            }
        }
        let fused =
            kernel_blocks(spans.iter().map(|s| (&s.columns, s.likelihood))).map(Blocks::from);
        let fused_blocks = kernel_blocks(blocks.iter().map(|b| (&b.columns, b.likelihood)));
        let outputs_per_value = blocks
            .iter()
            .map(|b| b.likelihood.outputs_per_value())
            .max()
            .unwrap_or(1);
        ObservationModel {
            blocks,
            spans,
            dim: schema.dim(),
            fused,
            fused_blocks,
            outputs_per_value,
        }
    }

    /// The decoder's outputs per example: `dim`, or twice that where a
    /// likelihood reads a second parameter per value.
    pub fn raw_dim(&self) -> usize {
        self.dim * self.outputs_per_value
    }

    /// The raw outputs' first `dim` columns (a parameter per value) and the
    /// second ones where the model has them.
    ///
    /// # Shapes
    /// - `raw`: `[batch, raw_dim]`; returns `[batch, dim]` and `[batch, dim]`
    fn split(&self, raw: Tensor<2>) -> (Tensor<2>, Option<Tensor<2>>) {
        let [batch, width] = raw.dims();
        if self.outputs_per_value == 1 || width <= self.dim {
            return (raw, None);
        }
        (
            raw.clone().slice([0..batch, 0..self.dim]),
            Some(raw.slice([0..batch, self.dim..width])),
        )
    }

    /// The blocks, in column order.
    pub fn blocks(&self) -> &[ObservedBlock] {
        &self.blocks
    }

    /// Values per example.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// -log p(x|z) of every value.
    ///
    /// # Shapes
    /// - `raw`, `x`: `[batch, dim]`; returns `[batch, dim]`
    pub fn nll_per_value(
        &self,
        raw: Tensor<2>,
        x: Tensor<2>,
        logvar: Option<&Tensor<2>>,
    ) -> Tensor<2> {
        let (raw, second) = self.split(raw);
        self.per_span(raw, x, |span, raw, x| match span.likelihood {
            Likelihood::Logistic => {
                let log_scale = self.span_columns(second.as_ref(), span, &raw);
                logistic_nll_per_value(raw, log_scale, x)
            }
            Likelihood::Bernoulli => bernoulli_nll_per_value(raw, x),
            Likelihood::Gaussian { .. } => {
                let logvar = span_logvar(logvar, &span.columns, self.dim, &raw);
                gaussian_nll_per_value(raw, logvar, x)
            }
            Likelihood::Poisson => poisson_nll_per_value(raw, x),
            Likelihood::NegativeBinomial => {
                let log_r = span_logvar(logvar, &span.columns, self.dim, &raw);
                negative_binomial_nll_per_value(raw, log_r, x)
            }
            Likelihood::Categorical => categorical_nll_per_value(raw, x),
        })
    }

    /// -log p(x|z) per example, summed over the values `observed` marks with
    /// 1 (every value when it is None): missing cells are left out.
    ///
    /// # Shapes
    /// - `raw`, `x`, `observed`: `[batch, dim]`; returns `[batch]`
    pub fn nll(
        &self,
        raw: Tensor<2>,
        x: Tensor<2>,
        logvar: Option<&Tensor<2>>,
        observed: Option<Tensor<2>>,
    ) -> Tensor<1> {
        match (&self.spans[..], observed) {
            // One span over every value: the row sums directly (one fused
            // kernel for the Bernoulli on the CPU).
            ([span], None) => match span.likelihood {
                Likelihood::Bernoulli if kernels::fused_applies(&raw) => {
                    kernels::bernoulli_nll_rows(raw, x)
                }
                Likelihood::Bernoulli => bernoulli_nll_from_logits(raw, x),
                Likelihood::Gaussian { .. } => {
                    let logvar = span_logvar(logvar, &span.columns, self.dim, &raw);
                    gaussian_nll(raw, logvar, x)
                }
                Likelihood::Poisson
                | Likelihood::NegativeBinomial
                | Likelihood::Categorical
                | Likelihood::Logistic => sum_rows(self.nll_per_value(raw, x, logvar)),
            },
            (_, None) => sum_rows(self.nll_per_value(raw, x, logvar)),
            // A table's blocks, in one pass per row on the CPU.
            (_, Some(observed)) => match &self.fused {
                Some(blocks) if kernels::fused_applies(&raw) => {
                    let logvar = match logvar {
                        Some(l) => l.clone(),
                        None => Tensor::zeros([1, 1], &raw.device()),
                    };
                    masked_nll_rows(raw, x, logvar, observed, blocks.clone())
                }
                _ => sum_rows(self.nll_per_value(raw, x, logvar) * observed),
            },
        }
    }

    /// Each block's share of -log p(x|z) per example (over the `observed`
    /// values only, when given): the reconstruction report by block.
    ///
    /// # Shapes
    /// - as for [`ObservationModel::nll`]; returns `[batch, blocks]`
    pub fn nll_per_block(
        &self,
        raw: Tensor<2>,
        x: Tensor<2>,
        logvar: Option<&Tensor<2>>,
        observed: Option<Tensor<2>>,
    ) -> Tensor<2> {
        if let Some(blocks) = self
            .fused_blocks
            .as_ref()
            .filter(|_| kernels::fused_applies(&raw))
        {
            let logvar = match logvar {
                Some(l) => l.clone(),
                None => Tensor::zeros([1, 1], &raw.device()),
            };
            return masked_nll_by_block(raw, x, logvar, observed, blocks);
        }
        self.plain_nll_per_block(raw, x, logvar, observed)
    }

    /// [`ObservationModel::nll_per_block`] as a composition of tensor
    /// operations (any device, any likelihood).
    fn plain_nll_per_block(
        &self,
        raw: Tensor<2>,
        x: Tensor<2>,
        logvar: Option<&Tensor<2>>,
        observed: Option<Tensor<2>>,
    ) -> Tensor<2> {
        let mut per_value = self.nll_per_value(raw, x, logvar);
        if let Some(observed) = observed {
            per_value = per_value * observed;
        }
        if self.blocks.iter().all(|b| b.columns.len() == 1) {
            return per_value;
        }
        let [batch, _] = per_value.dims();
        let sums = self
            .blocks
            .iter()
            .map(|b| {
                per_value
                    .clone()
                    .slice([0..batch, b.columns.clone()])
                    .sum_dim(1)
            })
            .collect();
        Tensor::cat(sums, 1)
    }

    /// The mean of p(x|z): the probabilities of Bernoulli values and of
    /// each category, the means of Gaussian and count values; for a
    /// logistic value its location within [0, 1] (its median, and its mean
    /// to within the tails' mass that the edge levels take).
    ///
    /// # Shapes
    /// - `raw`: `[batch, raw_dim]`; returns `[batch, dim]`
    pub fn mean(&self, raw: Tensor<2>) -> Tensor<2> {
        let (raw, _) = self.split(raw);
        let x = raw.clone();
        self.per_span(raw, x, |span, raw, _| match span.likelihood {
            Likelihood::Bernoulli => activation::sigmoid(raw),
            Likelihood::Gaussian { .. } => raw,
            Likelihood::Poisson | Likelihood::NegativeBinomial => raw.exp(),
            Likelihood::Categorical => activation::softmax(raw, 1),
            Likelihood::Logistic => raw.clamp(0.0, 1.0),
        })
    }

    /// The columns of `span` in the raw outputs' second parameter.
    fn span_columns(&self, second: Option<&Tensor<2>>, span: &Span, like: &Tensor<2>) -> Tensor<2> {
        let Some(second) = second else {
            return Tensor::zeros(like.dims(), &like.device());
        };
        let [batch, _] = second.dims();
        match span.columns.len() == self.dim {
            true => second.clone(),
            false => second.clone().slice([0..batch, span.columns.clone()]),
        }
    }

    /// A draw of x from p(x|z), row by row and value by value from `rng`:
    /// 0 or 1 for a Bernoulli value, mean + sd * N(0, 1) for a Gaussian one,
    /// a count for a Poisson or negative binomial one (a Poisson draw at a
    /// Gamma(r, mean / r) rate), one category one-hot for a categorical
    /// block.
    ///
    /// A logistic value is its location plus the scale times a logistic
    /// draw, rounded to the nearest level within [0, 1].
    ///
    /// # Shapes
    /// - `raw`: `[batch, raw_dim]`; returns `batch * dim` values, row-major
    pub fn sample(&self, raw: Tensor<2>, logvar: Option<&Tensor<2>>, rng: &mut Rng) -> Vec<f32> {
        let dim = self.dim;
        let (raw, second) = self.split(raw);
        let location: Vec<f32> = raw
            .clone()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        let scale: Vec<f32> = second
            .map(|s| {
                s.clamp_min(crate::distributions::LOGISTIC_MIN_LOG_SCALE)
                    .exp()
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        let sd: Vec<f32> = match logvar {
            Some(l) => l
                .clone()
                .mul_scalar(0.5)
                .exp()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap_or_default(),
            None => Vec::new(),
        };
        // The sd of a Gaussian value; its square is the dispersion r of a
        // negative binomial one.
        let sd_of = |col: usize| match sd.len() {
            0 => 1.0,
            1 => sd[0],
            _ => sd.get(col).copied().unwrap_or(1.0),
        };
        let mut values: Vec<f32> = self
            .mean(raw)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        for (r, row) in values.chunks_mut(dim.max(1)).enumerate() {
            for span in &self.spans {
                let Some(part) = row.get_mut(span.columns.clone()) else {
                    continue;
                };
                let start = span.columns.start;
                if span.likelihood == Likelihood::Categorical {
                    let u: f32 = rng.random();
                    let mut chosen = part.len().saturating_sub(1);
                    let mut total = 0.0;
                    for (k, p) in part.iter().enumerate() {
                        total += *p;
                        if u < total {
                            chosen = k;
                            break;
                        }
                    }
                    for (k, v) in part.iter_mut().enumerate() {
                        *v = f32::from(u8::from(k == chosen));
                    }
                    continue;
                }
                for (offset, v) in part.iter_mut().enumerate() {
                    let col = start + offset;
                    *v = match span.likelihood {
                        Likelihood::Bernoulli => f32::from(u8::from(rng.random::<f32>() < *v)),
                        Likelihood::Gaussian { .. } => {
                            *v + sd_of(col) * rng.sample::<f32, _>(StandardNormal)
                        }
                        Likelihood::Poisson => poisson_draw(f64::from(*v), rng),
                        Likelihood::Logistic => {
                            let at = r * dim + col;
                            let u = rng.random::<f64>().clamp(1e-12, 1.0 - 1e-12);
                            let draw = f64::from(location.get(at).copied().unwrap_or(*v))
                                + f64::from(scale.get(at).copied().unwrap_or(1.0))
                                    * (u / (1.0 - u)).ln();
                            let top = (crate::distributions::LOGISTIC_LEVELS - 1) as f64;
                            ((draw * top).round().clamp(0.0, top) / top) as f32
                        }
                        Likelihood::NegativeBinomial => {
                            let r = f64::from(sd_of(col)).powi(2);
                            match Gamma::new(r, f64::from(*v) / r) {
                                Ok(g) => poisson_draw(rng.sample::<f64, _>(g), rng),
                                Err(_) => poisson_draw(f64::from(*v), rng),
                            }
                        }
                        Likelihood::Categorical => unreachable!("handled above"),
                    };
                }
            }
        }
        values
    }

    /// `f` of each span's columns of `raw` and `x`, joined back into rows
    /// (no slicing when one span covers every value).
    fn per_span(
        &self,
        raw: Tensor<2>,
        x: Tensor<2>,
        f: impl Fn(&Span, Tensor<2>, Tensor<2>) -> Tensor<2>,
    ) -> Tensor<2> {
        if let [span] = &self.spans[..] {
            return f(span, raw, x);
        }
        let [batch, _] = raw.dims();
        let parts = self
            .spans
            .iter()
            .map(|s| {
                let cols = s.columns.clone();
                f(
                    s,
                    raw.clone().slice([0..batch, cols.clone()]),
                    x.clone().slice([0..batch, cols]),
                )
            })
            .collect();
        Tensor::cat(parts, 1)
    }
}

/// A Poisson draw at `rate` (a rate of 0, or one too small or too large to
/// draw, gives the nearest sensible count: 0, or the rate itself).
fn poisson_draw(rate: f64, rng: &mut Rng) -> f32 {
    match Poisson::new(rate) {
        Ok(p) if rate < 1e12 => rng.sample::<f64, _>(p) as f32,
        _ if rate.is_finite() && rate > 0.0 => rate.round() as f32,
        _ => 0.0,
    }
}

/// The log-variance of `columns` from the model's `[1, 1]` or `[1, dim]` one
/// (zeros, unit variance, when the model has none).
fn span_logvar(
    logvar: Option<&Tensor<2>>,
    columns: &Range<usize>,
    dim: usize,
    like: &Tensor<2>,
) -> Tensor<2> {
    match logvar {
        None => Tensor::zeros([1, 1], &like.device()),
        Some(l) if l.dims()[1] == dim && columns.len() != dim => {
            l.clone().slice([0..1, columns.clone()])
        }
        Some(l) => l.clone(),
    }
}

#[cfg(test)]
#[path = "observation_tests.rs"]
mod tests;
