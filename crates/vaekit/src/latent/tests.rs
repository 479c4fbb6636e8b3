//! The pictures of the latent space on small untrained models: shapes, orders
//! and ends, which hold whatever the weights.

use burn::tensor::Device;

use super::interpolate::{Ends, interpolate, interpolation_frames, interpolation_strip};
use super::manifold::{decode_manifold, manifold_picture};
use super::paths::PathKind;
use super::space::CodeSpace;
use super::traverse::{Base, DimChoice, traversal_picture, traverse};
use crate::data::{DataKind, Dataset};
use crate::distributions::Likelihood;
use crate::model::prior::Prior;
use crate::model::{Architecture, ModelConfig, TopLayerConfig, Vae};
use crate::nn::Activation;

const SIDE: usize = 4;

fn kind() -> DataKind {
    DataKind::Image {
        channels: 1,
        height: SIDE,
        width: SIDE,
    }
}

fn model(latent_dim: usize, top: Option<usize>) -> Vae {
    built(latent_dim, top, None, 3)
}

/// A small MLP model of the 4x4 images: `top` the size of a second
/// latent layer, `classes` those of a conditional model.
fn built(latent_dim: usize, top: Option<usize>, classes: Option<usize>, seed: u64) -> Vae {
    let config = ModelConfig {
        input: kind(),
        architecture: Architecture::Mlp {
            hidden: vec![8],
            activation: Activation::Tanh,
        },
        latent_dim,
        likelihood: Likelihood::Bernoulli,
        top: top.map(|latent_dim| TopLayerConfig {
            latent_dim,
            hidden: vec![6],
            activation: Activation::Tanh,
        }),
        classes,
        prior: Prior::Standard,
        batch_norm: false,
        table: None,
    };
    let device = Device::default();
    crate::random::with_seeded_device(&device, seed, || config.init(&device).unwrap())
}

fn data(n: usize) -> Dataset {
    let values = (0..n * SIDE * SIDE)
        .map(|i| ((i * 31) % 17) as f32 / 16.0)
        .collect();
    Dataset::new(values, kind(), Some((0..n as u32).map(|i| i % 3).collect())).unwrap()
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-5)
}

#[test]
fn traversal_rows_follow_the_kl_and_vary_one_dimension() {
    let model = model(3, None);
    let data = data(5);
    let kl = [0.1, 2.0, 0.5];
    let t = traverse(
        &model,
        Some(&data),
        Base::Example(2),
        &kl,
        DimChoice::All,
        3.0,
        5,
        None,
    )
    .unwrap();
    assert_eq!(t.dims, vec![1, 2, 0]);
    assert_eq!(t.kl, vec![2.0, 0.5, 0.1]);
    assert_eq!(t.values, vec![-3.0, -1.5, 0.0, 1.5, 3.0]);
    assert_eq!(t.decoded.len(), 3 * 5 * SIDE * SIDE);
    // Row 0, column 4 decodes example 2's code with dimension 1 set to 3.
    let space = CodeSpace::of(&model);
    let mut code = space.encode(&model, &data, &[2]).unwrap();
    code[1] = 3.0;
    let want = space.decode(&model, &code, None);
    assert!(close(&t.decoded[4 * 16..5 * 16], &want));
    // The picture has a row per dimension: taller for 3 rows than for 2.
    let two = traverse(
        &model,
        Some(&data),
        Base::Example(2),
        &kl,
        DimChoice::Top(2),
        3.0,
        5,
        None,
    )
    .unwrap();
    assert_eq!(two.dims, vec![1, 2]);
    let (p3, p2) = (
        traversal_picture(&t, &kind()).unwrap(),
        traversal_picture(&two, &kind()).unwrap(),
    );
    assert_eq!(p3.width(), p2.width());
    // One more row of 56-pixel tiles and a 2-pixel gutter.
    assert_eq!(p3.height() - p2.height(), 58);
    // Bad requests.
    for (base, dims, steps) in [
        (Base::Example(5), DimChoice::All, 5),
        (Base::Example(0), DimChoice::Top(4), 5),
        (Base::Example(0), DimChoice::All, 1),
    ] {
        assert!(traverse(&model, Some(&data), base, &kl, dims, 3.0, steps, None).is_err());
    }
    assert!(
        traverse(
            &model,
            None,
            Base::Prior { seed: 1 },
            &kl[..2],
            DimChoice::All,
            3.0,
            5,
            None
        )
        .is_err()
    );
}

#[test]
fn interpolation_ends_are_reconstructions() {
    let model = model(3, None);
    let data = data(6);
    let ends = Ends::Examples { from: 1, to: 4 };
    for kind_of_path in [PathKind::Linear, PathKind::Slerp] {
        let i = interpolate(&model, Some(&data), ends, 6, kind_of_path, None).unwrap();
        assert_eq!(i.values.len(), 6 * 16);
        let space = CodeSpace::of(&model);
        let codes = space.encode(&model, &data, &[1, 4]).unwrap();
        assert!(close(&i.codes[..3], &codes[..3]) && close(&i.codes[15..], &codes[3..]));
        let recon = space.decode(&model, &codes, None);
        assert!(close(&i.values[..16], &recon[..16]));
        assert!(close(&i.values[5 * 16..], &recon[16..]));
        // Strip: 6 steps, or 8 tiles with the originals (56-pixel tiles).
        let plain = interpolation_strip(&i, &kind(), false).unwrap();
        let both = interpolation_strip(&i, &kind(), true).unwrap();
        assert!(plain.width() >= 6 * 58 && both.width() >= 8 * 58 && both.width() > plain.width());
        // There and back: 6 + 4 frames.
        assert_eq!(interpolation_frames(&i, &kind()).unwrap().len(), 10);
    }
    let prior = interpolate(
        &model,
        None,
        Ends::Prior { seed: 4 },
        3,
        PathKind::Slerp,
        None,
    )
    .unwrap();
    assert_eq!(prior.values.len(), 3 * 16);
    assert!(prior.originals.is_none());
    assert!(
        interpolate(
            &model,
            Some(&data),
            Ends::Examples { from: 0, to: 6 },
            4,
            PathKind::Linear,
            None
        )
        .is_err()
    );
    assert!(interpolate(&model, Some(&data), ends, 4, PathKind::Linear, Some(1)).is_err());
}

#[test]
fn the_manifold_of_a_larger_code_spans_its_two_busiest_dimensions() {
    let model = model(5, None);
    let kl = [0.2, 0.0, 1.5, 0.1, 0.9];
    let m = decode_manifold(&model, &kind(), &kl, 4, None).unwrap();
    assert_eq!(m.axes, (2, 4));
    assert_eq!(m.values.len(), 16 * 16);
    // The top-left tile decodes (z2, z4) = (lowest, highest quantile), the rest 0.
    let q = &m.quantiles;
    let code = [0.0, 0.0, q[0] as f32, 0.0, q[3] as f32];
    let want = CodeSpace::of(&model).decode(&model, &code, None);
    assert!(close(&m.values[..16], &want));
    let picture = manifold_picture(&m, &kind()).unwrap();
    assert!(picture.width() > 4 * 58 && picture.height() > 4 * 58);
    let table = DataKind::Table {
        columns: vec!["a".into()],
    };
    assert!(decode_manifold(&model, &table, &kl, 4, None).is_err());
    assert!(decode_manifold(&model, &kind(), &kl, 1, None).is_err());
    assert!(decode_manifold(&model, &kind(), &kl[..3], 4, None).is_err());
}

#[test]
fn a_hierarchical_model_moves_through_its_top_layer() {
    let model = model(3, Some(2));
    let space = CodeSpace::of(&model);
    assert_eq!((space.dim(), space.name()), (2, "z2"));
    let data = data(4);
    assert_eq!(space.encode(&model, &data, &[0, 3]).unwrap().len(), 4);
    assert_eq!(space.decode(&model, &[0.5, -0.5], None).len(), 16);
    // Its 2-D top layer is drawn whole.
    let m = decode_manifold(&model, &kind(), &[0.3, 0.1], 3, None).unwrap();
    assert_eq!((m.axes, m.values.len()), ((0, 1), 9 * 16));
}

fn conditional_model(classes: usize) -> Vae {
    built(3, None, Some(classes), 5)
}

#[test]
fn the_fitted_mixture_has_the_moments_of_the_aggregate_posterior() {
    use super::encode_dataset;
    use super::fitted::fit_codes;

    let (model, rows) = (model(2, None), data(3000));
    let fitted = fit_codes(&model, &rows, 4, 0).unwrap();
    assert_eq!(fitted.mixtures.len(), 1);
    let gmm = &fitted.mixtures[0];
    assert_eq!((gmm.k, gmm.dim), (4, 2));
    // The aggregate posterior (1/n) sum_i N(mu_i, sigma_i^2) has mean
    // mean(mu) and variance mean(mu^2 + sigma^2) - mean(mu)^2, whatever
    // draws the fit saw; a mixture fitted by EM keeps a sample's mean and
    // variance, so it agrees up to the draws' sampling error.
    let codes = encode_dataset(&model, &rows, 100).unwrap();
    let n = codes.len() as f64;
    for d in 0..2 {
        let mu = (0..codes.len()).map(|i| codes.mu[i * 2 + d] as f64);
        let var = (0..codes.len()).map(|i| (codes.logvar[i * 2 + d] as f64).exp());
        let mean = mu.clone().sum::<f64>() / n;
        let second = mu.zip(var).map(|(m, v)| m * m + v).sum::<f64>() / n;
        let variance = second - mean * mean;
        let fit_mean: f64 = (0..4).map(|c| gmm.weights[c] * gmm.means[c * 2 + d]).sum();
        let fit_second: f64 = (0..4)
            .map(|c| gmm.weights[c] * (gmm.variances[c * 2 + d] + gmm.means[c * 2 + d].powi(2)))
            .sum();
        let fit_variance = fit_second - fit_mean * fit_mean;
        assert!(
            (fit_mean - mean).abs() < 4.0 * (variance / n).sqrt(),
            "dimension {d}: mean {fit_mean} vs {mean}"
        );
        assert!(
            (fit_variance / variance - 1.0).abs() < 0.1,
            "dimension {d}: variance {fit_variance} vs {variance}"
        );
    }
    // Draws from it decode to examples, reproducibly for a seed.
    let draw = |seed| {
        crate::generate::sample_from(
            &model,
            crate::generate::CodeSource::Fitted(&fitted),
            50,
            seed,
            None,
        )
        .unwrap()
    };
    let (a, b, c) = (draw(1), draw(1), draw(2));
    assert_eq!(a.values.len(), 50 * SIDE * SIDE);
    assert!(close(&a.values, &b.values) && !close(&a.values, &c.values));
}

#[test]
fn a_conditional_model_gets_a_mixture_per_class_and_draws_each_from_its_own() {
    use super::fitted::fit_codes;
    use crate::generate::{CodeSource, sample_from};
    use crate::stats::gmm::DiagonalGmm;

    let model = conditional_model(3);
    let fitted = fit_codes(&model, &data(600), 2, 0).unwrap();
    assert_eq!(fitted.mixtures.len(), 3);
    // Mixtures of one point each, far apart: class c's samples must be
    // decoded from class c's point, which a draw of class c at that code
    // shows.
    let point = |c: usize| DiagonalGmm {
        k: 1,
        dim: 3,
        weights: vec![1.0],
        means: vec![4.0 * c as f64 - 4.0; 3],
        variances: vec![1e-12; 3],
        log_likelihood: Vec::new(),
    };
    let pinned = crate::generate::FittedCodes {
        mixtures: (0..3).map(point).collect(),
    };
    for c in 0..3u32 {
        let got = sample_from(&model, CodeSource::Fitted(&pinned), 2, 0, Some(c)).unwrap();
        let alone = crate::generate::FittedCodes {
            mixtures: vec![point(c as usize)],
        };
        let want = sample_from(&model, CodeSource::Fitted(&alone), 2, 0, Some(c)).unwrap();
        assert!(close(&got.values, &want.values), "class {c}");
    }
}

#[test]
fn fitting_codes_refuses_what_it_cannot_fit() {
    use super::fitted::fit_codes;

    let message =
        |r: crate::error::Result<crate::generate::FittedCodes>| r.unwrap_err().to_string();
    let rows = data(30);
    assert!(message(fit_codes(&model(2, None), &rows, 0, 0)).contains("--code-mixture"));
    assert!(message(fit_codes(&model(2, None), &rows, 31, 0)).contains("fewer than the 31"));
    // Class 0 of a conditional model has 10 of the 30 rows.
    assert!(message(fit_codes(&conditional_model(3), &rows, 11, 0)).contains("class 0 has 10"));
    assert!(message(fit_codes(&model(2, Some(2)), &rows, 2, 0)).contains("hierarchical"));
}
