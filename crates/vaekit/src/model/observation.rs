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
    gaussian_nll, gaussian_nll_per_value, negative_binomial_nll_per_value, poisson_nll_per_value,
    sum_rows,
};
use crate::kernels;
use crate::kernels::likelihoods::{Block, BlockKind, Blocks, masked_nll_rows};
use crate::random::Rng;

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
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationModel {
    blocks: Vec<ObservedBlock>,
    spans: Vec<Span>,
    dim: usize,
    /// The spans as the CPU's fused masked loss reads them (None when one
    /// of them is a likelihood it does not compute).
    fused: Option<Blocks>,
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
        let kinds = spans.iter().map(|s| match s.likelihood {
            Likelihood::Bernoulli => Some(BlockKind::Bernoulli),
            Likelihood::Gaussian { .. } => Some(BlockKind::Gaussian),
            Likelihood::Poisson => Some(BlockKind::Poisson),
            Likelihood::Categorical => Some(BlockKind::Categorical),
            Likelihood::NegativeBinomial => None,
        });
        let fused = kinds
            .zip(&spans)
            .map(|(kind, s)| {
                kind.map(|kind| Block {
                    columns: s.columns.clone(),
                    kind,
                })
            })
            .collect::<Option<Vec<Block>>>()
            .map(Blocks::from);
        ObservationModel {
            blocks,
            spans,
            dim: schema.dim(),
            fused,
        }
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
        self.per_span(raw, x, |span, raw, x| match span.likelihood {
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
                Likelihood::Poisson | Likelihood::NegativeBinomial | Likelihood::Categorical => {
                    sum_rows(self.nll_per_value(raw, x, logvar))
                }
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
    /// each category, the means of Gaussian and count values.
    ///
    /// # Shapes
    /// - `raw`: `[batch, dim]`; returns the same shape
    pub fn mean(&self, raw: Tensor<2>) -> Tensor<2> {
        let x = raw.clone();
        self.per_span(raw, x, |span, raw, _| match span.likelihood {
            Likelihood::Bernoulli => activation::sigmoid(raw),
            Likelihood::Gaussian { .. } => raw,
            Likelihood::Poisson | Likelihood::NegativeBinomial => raw.exp(),
            Likelihood::Categorical => activation::softmax(raw, 1),
        })
    }

    /// A draw of x from p(x|z), row by row and value by value from `rng`:
    /// 0 or 1 for a Bernoulli value, mean + sd * N(0, 1) for a Gaussian one,
    /// a count for a Poisson or negative binomial one (a Poisson draw at a
    /// Gamma(r, mean / r) rate), one category one-hot for a categorical
    /// block.
    ///
    /// # Shapes
    /// - `raw`: `[batch, dim]`; returns `batch * dim` values, row-major
    pub fn sample(&self, raw: Tensor<2>, logvar: Option<&Tensor<2>>, rng: &mut Rng) -> Vec<f32> {
        let [_, dim] = raw.dims();
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
        for row in values.chunks_mut(dim.max(1)) {
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
mod tests {
    use super::*;
    use crate::data::DataKind;
    use crate::distributions::GaussianVariance;
    use burn::tensor::TensorData;

    fn t(values: &[f32], rows: usize, cols: usize) -> Tensor<2> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), [rows, cols]),
            &Device::flex(),
        )
    }

    fn v(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    fn table(n: usize) -> Schema {
        Schema::of(&DataKind::Table {
            columns: (0..n).map(|i| format!("c{i}")).collect(),
        })
    }

    const GAUSSIAN: Likelihood = Likelihood::Gaussian {
        variance: GaussianVariance::PerPixel,
        min_variance: 1e-4,
    };

    /// -log N(x; m, e^l) and -log Bernoulli(x; sigmoid(a)), by hand.
    fn gauss(x: f64, m: f64, l: f64) -> f64 {
        0.5 * ((x - m).powi(2) / l.exp() + l + (2.0 * std::f64::consts::PI).ln())
    }
    fn bern(x: f64, a: f64) -> f64 {
        let p = 1.0 / (1.0 + (-a).exp());
        -(x * p.ln() + (1.0 - x) * (1.0 - p).ln())
    }

    #[test]
    fn mixed_blocks_score_each_value_by_its_own_likelihood() {
        // Columns 0 and 2 Bernoulli, 1 Gaussian: three spans.
        let model = ObservationModel::new(&table(3), |b| match b.name.as_str() {
            "c1" => GAUSSIAN,
            _ => Likelihood::Bernoulli,
        });
        assert_eq!(model.spans.len(), 3);
        let raw = t(&[0.3, 1.5, -2.0, -1.0, 0.0, 4.0], 2, 3);
        let x = t(&[1.0, 2.0, 0.0, 0.0, -1.0, 1.0], 2, 3);
        let logvar = t(&[0.0, 0.4, 0.0], 1, 3);
        let want = [
            [bern(1.0, 0.3), gauss(2.0, 1.5, 0.4), bern(0.0, -2.0)],
            [bern(0.0, -1.0), gauss(-1.0, 0.0, 0.4), bern(1.0, 4.0)],
        ];
        let got = v(model.nll_per_value(raw.clone(), x.clone(), Some(&logvar)));
        for (g, w) in got.iter().zip(want.iter().flatten()) {
            assert!((*g as f64 - w).abs() < 1e-5, "{g} vs {w}");
        }
        let rows: Vec<f32> = model
            .nll(raw.clone(), x.clone(), Some(&logvar), None)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (r, w) in rows.iter().zip(&want) {
            assert!((*r as f64 - w.iter().sum::<f64>()).abs() < 1e-4);
        }
        // A missing cell (row 0, column 1) is left out of the sum.
        let observed = t(&[1.0, 0.0, 1.0, 1.0, 1.0, 1.0], 2, 3);
        let masked: Vec<f32> = model
            .nll(raw.clone(), x, Some(&logvar), Some(observed))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert!((masked[0] as f64 - want[0][0] - want[0][2]).abs() < 1e-4);
        // Means: probabilities for Bernoulli columns, the raw mean for the Gaussian.
        let mean = v(model.mean(raw));
        assert!((mean[1] - 1.5).abs() < 1e-6);
        assert!((mean[0] as f64 - 1.0 / (1.0 + (-0.3f64).exp())).abs() < 1e-6);
    }

    #[test]
    fn one_likelihood_is_one_span_and_agrees_with_the_whole_row_formula() {
        let image = Schema::of(&DataKind::Image {
            channels: 1,
            height: 2,
            width: 2,
        });
        let model = ObservationModel::uniform(&image, Likelihood::Bernoulli);
        assert_eq!(model.spans.len(), 1);
        let raw = t(&[0.5, -0.5, 2.0, 0.0], 1, 4);
        let x = t(&[1.0, 0.0, 0.25, 1.0], 1, 4);
        let whole: Vec<f32> = model
            .nll(raw.clone(), x.clone(), None, None)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let by_hand: f64 = [(1.0, 0.5), (0.0, -0.5), (0.25, 2.0), (1.0, 0.0)]
            .iter()
            .map(|&(x, a)| bern(x, a))
            .sum();
        assert!((whole[0] as f64 - by_hand).abs() < 1e-5);
        // The image is one block: its report is the whole.
        let blocks = v(model.nll_per_block(raw, x, None, None));
        assert_eq!(blocks.len(), 1);
        assert!((blocks[0] - whole[0]).abs() < 1e-5);
        // A table of one likelihood is one span too, with a block per column.
        let columns = ObservationModel::uniform(&table(4), GAUSSIAN);
        assert_eq!((columns.spans.len(), columns.blocks().len()), (1, 4));
    }

    #[test]
    fn poisson_blocks_give_rates_as_means_and_counts_as_samples() {
        let model = ObservationModel::uniform(&table(1), Likelihood::Poisson);
        let rows = 4000;
        let raw = t(&vec![3.5f32.ln(); rows], rows, 1);
        let mean = v(model.mean(raw.clone()));
        assert!((mean[0] - 3.5).abs() < 1e-5);
        let mut rng = crate::random::seeded(2, crate::random::Stream::Sample);
        let draws = model.sample(raw, None, &mut rng);
        assert!(draws.iter().all(|&d| d >= 0.0 && d.fract() == 0.0));
        let m = draws.iter().map(|&d| f64::from(d)).sum::<f64>() / rows as f64;
        let var = draws
            .iter()
            .map(|&d| (f64::from(d) - m).powi(2))
            .sum::<f64>()
            / rows as f64;
        // A Poisson's variance is its mean.
        assert!(
            (m - 3.5).abs() < 0.1 && (var - 3.5).abs() < 0.3,
            "{m} {var}"
        );
    }

    #[test]
    fn samples_follow_each_block() {
        let model = ObservationModel::new(&table(2), |b| match b.name.as_str() {
            "c0" => Likelihood::Bernoulli,
            _ => GAUSSIAN,
        });
        let rows = 4000;
        let raw = t(&[0.0f32, 3.0].repeat(rows), rows, 2);
        let logvar = t(&[0.0, (0.5f32).ln() * 2.0], 1, 2);
        let mut rng = crate::random::seeded(1, crate::random::Stream::Sample);
        let draws = model.sample(raw, Some(&logvar), &mut rng);
        let bits: Vec<f32> = draws.iter().step_by(2).copied().collect();
        assert!(bits.iter().all(|&b| b == 0.0 || b == 1.0));
        let p = bits.iter().sum::<f32>() / rows as f32;
        assert!((p - 0.5).abs() < 0.03, "{p}");
        let reals: Vec<f64> = draws.iter().skip(1).step_by(2).map(|&r| r as f64).collect();
        let mean = reals.iter().sum::<f64>() / rows as f64;
        let sd = (reals.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / rows as f64).sqrt();
        assert!(
            (mean - 3.0).abs() < 0.05 && (sd - 0.5).abs() < 0.03,
            "{mean} {sd}"
        );
    }

    #[test]
    fn negative_binomial_and_categorical_blocks_match_their_pmfs() {
        // log NegBin(k; m, r) from the product form: prod_{j<k} (r + j) / k!
        // * (r / (r + m))^r * (m / (r + m))^k.
        fn negbin(k: u32, m: f64, r: f64) -> f64 {
            let rising: f64 = (0..k).map(|j| (r + f64::from(j)).ln()).sum();
            let fact: f64 = (1..=k).map(|j| f64::from(j).ln()).sum();
            rising - fact + r * (r / (r + m)).ln() + f64::from(k) * (m / (r + m)).ln()
        }
        let schema = Schema {
            kind: DataKind::Table {
                columns: vec!["n".into(), "c=a".into(), "c=b".into(), "c=c".into()],
            },
            blocks: vec![
                crate::data::schema::Block {
                    name: "n".into(),
                    columns: 0..1,
                    values: crate::data::schema::ValueType::Count,
                },
                crate::data::schema::Block {
                    name: "c".into(),
                    columns: 1..4,
                    values: crate::data::schema::ValueType::Categorical,
                },
            ],
        };
        let model = ObservationModel::new(&schema, |b| match b.columns.len() {
            1 => Likelihood::NegativeBinomial,
            _ => Likelihood::Categorical,
        });
        let (m, r) = (37.0f64, 0.6f64);
        let logits = [0.5f64, -1.0, 2.0];
        let raw = t(
            &[m.ln() as f32, 0.5, -1.0, 2.0, 3.0f32.ln(), 0.5, -1.0, 2.0],
            2,
            4,
        );
        let x = t(&[12.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0], 2, 4);
        let log_r = t(&[r.ln() as f32, 0.0, 0.0, 0.0], 1, 4);
        let got = v(model.nll_per_block(raw.clone(), x.clone(), Some(&log_r), None));
        let lse = logits.iter().map(|l| l.exp()).sum::<f64>().ln();
        let want = [
            -negbin(12, m, r),
            lse - logits[1],
            -negbin(0, 3.0, r),
            lse - logits[2],
        ];
        for (g, w) in got.iter().zip(want) {
            assert!(
                (f64::from(*g) - w).abs() < 2e-4 * w.abs().max(1.0),
                "{g} vs {w}"
            );
        }
        // Means: the count's mean and the categories' probabilities.
        let mean = v(model.mean(raw.clone()));
        assert!((f64::from(mean[0]) - m).abs() < 1e-3);
        let p: Vec<f64> = logits.iter().map(|l| (l - lse).exp()).collect();
        for k in 0..3 {
            assert!((f64::from(mean[1 + k]) - p[k]).abs() < 1e-6);
        }
        // Draws: one-hot categories at their probabilities, counts with the
        // negative binomial's mean m and variance m + m^2 / r.
        let rows = 6000;
        let raw = t(&[m.ln() as f32, 0.5, -1.0, 2.0].repeat(rows), rows, 4);
        let mut rng = crate::random::seeded(3, crate::random::Stream::Sample);
        let draws = model.sample(raw, Some(&log_r), &mut rng);
        let counts: Vec<f64> = draws.chunks(4).map(|d| f64::from(d[0])).collect();
        let mean = counts.iter().sum::<f64>() / rows as f64;
        let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / rows as f64;
        assert!((mean - m).abs() < 2.0, "{mean}");
        let want_var = m + m * m / r;
        assert!((var / want_var - 1.0).abs() < 0.15, "{var} vs {want_var}");
        for k in 0..3 {
            let share = draws.chunks(4).filter(|d| d[1 + k] == 1.0).count() as f64 / rows as f64;
            assert!((share - p[k]).abs() < 0.02, "{k}: {share} vs {}", p[k]);
        }
        assert!(draws.chunks(4).all(|d| d[1] + d[2] + d[3] == 1.0));
    }

    /// The CPU's fused masked loss against the plain composition (the
    /// per-value terms times the mask, summed per row), in values and in the
    /// gradients of the raw outputs and the log-variance: every kind it
    /// computes, missing cells (a whole categorical block among them), one
    /// shared and one per-value log-variance, and more rows than one task.
    #[test]
    fn the_fused_masked_loss_matches_the_plain_one_in_values_and_gradients() {
        use crate::data::schema::{Block, ValueType};
        use crate::kernels::testing::{assert_close, values_of};
        use burn::tensor::Distribution;
        let block = |name: &str, columns: Range<usize>, values| Block {
            name: name.into(),
            columns,
            values,
        };
        let schema = Schema {
            kind: DataKind::Table {
                columns: (0..12).map(|i| format!("v{i}")).collect(),
            },
            blocks: vec![
                block("g", 0..1, ValueType::Real),
                block("c", 1..4, ValueType::Categorical),
                block("b", 4..5, ValueType::Binary),
                block("p", 5..6, ValueType::Count),
                block("g2", 6..7, ValueType::Real),
                block("c2", 7..12, ValueType::Categorical),
            ],
        };
        let model = ObservationModel::new(&schema, |b| match b.values {
            ValueType::Real => GAUSSIAN,
            ValueType::Categorical => Likelihood::Categorical,
            ValueType::Binary => Likelihood::Bernoulli,
            _ => Likelihood::Poisson,
        });
        assert!(model.fused.is_some());
        let device = Device::flex().autodiff();
        device.seed(8);
        let (rows, dim) = (150, 12);
        let raw = Tensor::<2>::random([rows, dim], Distribution::Normal(0.0, 2.0), &device);
        let mut x = vec![0.0f32; rows * dim];
        let mut observed = vec![1.0f32; rows * dim];
        for r in 0..rows {
            let row = &mut x[r * dim..(r + 1) * dim];
            row[0] = (r % 7) as f32 * 0.3 - 1.0;
            row[1 + r % 3] = 1.0;
            row[4] = (r % 2) as f32;
            row[5] = (r % 5) as f32;
            row[6] = -0.5 + (r % 4) as f32 * 0.25;
            row[7 + r % 5] = 1.0;
            let gone: &[usize] = match r % 4 {
                0 => &[0],
                1 => &[1, 2, 3],
                2 => &[5, 6],
                _ => &[],
            };
            for &c in gone {
                observed[r * dim + c] = 0.0;
            }
        }
        let x = Tensor::<2>::from_data(TensorData::new(x, [rows, dim]), &device);
        let observed = Tensor::<2>::from_data(TensorData::new(observed, [rows, dim]), &device);
        let probe = Tensor::<1>::random([rows], Distribution::Normal(0.0, 1.0), &device);
        for width in [dim, 1] {
            let logvar = Tensor::<2>::random([1, width], Distribution::Normal(0.0, 0.5), &device);
            let run = |fused: bool| {
                let (raw, logvar) = (raw.clone().require_grad(), logvar.clone().require_grad());
                let rows = match fused {
                    true => model.nll(
                        raw.clone(),
                        x.clone(),
                        Some(&logvar),
                        Some(observed.clone()),
                    ),
                    false => sum_rows(
                        model.nll_per_value(raw.clone(), x.clone(), Some(&logvar))
                            * observed.clone(),
                    ),
                };
                let grads = (rows.clone() * probe.clone()).sum().backward();
                [
                    values_of(rows),
                    values_of(raw.grad(&grads).unwrap()),
                    values_of(logvar.grad(&grads).unwrap()),
                ]
            };
            let (fused, plain) = (run(true), run(false));
            for (k, (a, b)) in fused.iter().zip(&plain).enumerate() {
                assert_close(a, b, 1e-4, &format!("log-variance width {width}, part {k}"));
            }
        }
    }
}
