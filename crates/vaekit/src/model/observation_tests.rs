//! The observation model's tests: each likelihood against its formula by
//! hand, the fused kernels against the plain composition, samples and means.

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

/// The logistic model reads its decoder's two halves (locations, then
/// log-scales): the loss is the per-value formula on them, its gradient
/// the finite difference's, the mean the clamped location, and samples
/// lie on the 8-bit grid near their locations.
#[test]
fn logistic_pixels_read_locations_and_scales_from_the_raw_outputs() {
    let kind = DataKind::Image {
        channels: 1,
        height: 2,
        width: 3,
    };
    let model = ObservationModel::uniform(&Schema::of(&kind), Likelihood::Logistic);
    assert_eq!((model.dim(), model.raw_dim()), (6, 12));
    let location = [0.1f32, 0.5, 0.9, -0.3, 1.2, 0.42];
    let log_scale = [-3.0f32, -2.0, -4.0, -1.0, -5.0, -6.5];
    let x = [0.0f32, 0.5, 232.0 / 255.0, 0.0, 1.0, 107.0 / 255.0];
    let raw: Vec<f32> = location.iter().chain(&log_scale).copied().collect();
    let want = v(logistic_nll_per_value(
        t(&location, 1, 6),
        t(&log_scale, 1, 6),
        t(&x, 1, 6),
    ));
    let got = v(model.nll_per_value(t(&raw, 1, 12), t(&x, 1, 6), None));
    assert_eq!(got, want);
    let total = |raw: &[f32]| {
        let rows = model.nll(t(raw, 1, 12), t(&x, 1, 6), None, None);
        f64::from(rows.into_data().try_to_vec::<f32>().unwrap()[0])
    };
    // The gradient of the row's sum against central differences.
    let raw_t = Tensor::<2>::from_data(
        TensorData::new(raw.clone(), [1, 12]),
        &Device::flex().autodiff(),
    )
    .require_grad();
    let x_t = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [1, 6]), &raw_t.device());
    let grads = model.nll(raw_t.clone(), x_t, None, None).sum().backward();
    let grad = raw_t
        .grad(&grads)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for k in 0..12 {
        let h = 1e-3f32;
        let (mut up, mut down) = (raw.clone(), raw.clone());
        up[k] += h;
        down[k] -= h;
        let numeric = (total(&up) - total(&down)) / (2.0 * f64::from(h));
        assert!(
            (f64::from(grad[k]) - numeric).abs() < 0.02 * numeric.abs().max(1.0),
            "output {k}: {} against {numeric}",
            grad[k]
        );
    }
    let mean = v(model.mean(t(&raw, 1, 12)));
    let clamped: Vec<f32> = location.iter().map(|l| l.clamp(0.0, 1.0)).collect();
    assert_eq!(mean, clamped);
    let mut rng = crate::random::seeded(3, crate::random::Stream::Sample);
    let draws = model.sample(t(&raw, 1, 12).repeat_dim(0, 200), None, &mut rng);
    for (k, d) in draws.iter().enumerate() {
        let level = d * 255.0;
        assert!(
            (level - level.round()).abs() < 1e-3 && (0.0..=1.0).contains(d),
            "{d}"
        );
        let (l, s) = (location[k % 6].clamp(0.0, 1.0), log_scale[k % 6].exp());
        assert!(
            (d - l).abs() < 30.0 * s + 1.0 / 255.0 || k % 6 == 3,
            "{k}: {d} far from {l}"
        );
    }
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
    crate::random::with_seeded_device(&device, 8, || {
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
                    // Once with the targets and mask sliced off one wider
                    // tensor, as a model's input passes them (read in place).
                    true if width == 1 => {
                        let joined = Tensor::cat(vec![x.clone(), observed.clone()], 1);
                        let x = joined.clone().slice([0..rows, 0..dim]);
                        let observed = joined.slice([0..rows, dim..2 * dim]);
                        model.nll(raw.clone(), x, Some(&logvar), Some(observed))
                    }
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
            // The report by block, with and without a mask.
            for mask in [Some(observed.clone()), None] {
                let (raw, x, lv) = (
                    raw.clone().inner(),
                    x.clone().inner(),
                    logvar.clone().inner(),
                );
                let by_block = |fused: bool| {
                    let f = match fused {
                        true => ObservationModel::nll_per_block,
                        false => ObservationModel::plain_nll_per_block,
                    };
                    let mask = mask.clone().map(|m| m.inner());
                    values_of(f(&model, raw.clone(), x.clone(), Some(&lv), mask))
                };
                let what = format!("report by block, width {width}, mask {}", mask.is_some());
                assert_close(&by_block(true), &by_block(false), 1e-5, &what);
            }
        }
    })
}
