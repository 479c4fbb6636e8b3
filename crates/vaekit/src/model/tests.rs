use super::*;
use crate::data::DataKind;
use crate::distributions::GaussianVariance;
use crate::model::objective::Objective;
use crate::model::prior::Prior;
use crate::model::weights::{load_named, named_tensors};
use crate::nn::Activation;

fn mlp_config() -> ModelConfig {
    ModelConfig {
        input: DataKind::Image {
            channels: 1,
            height: 2,
            width: 3,
        },
        architecture: Architecture::Mlp {
            hidden: vec![5],
            activation: Activation::Tanh,
        },
        latent_dim: 2,
        likelihood: Likelihood::Bernoulli,
        top: None,
        classes: None,
        prior: Prior::Standard,
        batch_norm: false,
        table: None,
    }
}

/// Loss of the tiny model at its current weights, in f64 from f32 outputs.
fn loss_at(model: &Vae, objective: Objective, x: &Tensor<2>, eps: &Tensor<2>) -> f64 {
    let loss = objective.loss(model, x.clone(), None, eps.clone());
    loss.total.into_scalar::<f32>() as f64
}

/// Deterministic noise in about [-1.3, 1.3].
fn fixed_noise(rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..rows * cols)
        .map(|i| ((i * 7 + 3) % 13) as f32 / 5.0 - 1.2)
        .collect();
    Tensor::from_data(burn::tensor::TensorData::new(values, [rows, cols]), device)
}

#[test]
fn hierarchical_terms_agree_with_each_other_and_generate() {
    // The ELBO's KL (closed form for z2) and the mean sampled log ratio
    // estimate the same quantity; with many samples they agree.
    let device = Device::flex();
    let config = ModelConfig {
        top: Some(TopLayerConfig {
            latent_dim: 3,
            hidden: vec![4],
            activation: Activation::Tanh,
        }),
        ..mlp_config()
    };
    crate::random::with_seeded_device(&device, 5, || {
        let model = config.init(&device).unwrap();
        assert_eq!((model.latent_dim(), model.noise_dim()), (2, 5));
        let x = Tensor::<2>::from_floats([[0.0, 0.2, 1.0, 0.7, 0.1, 0.9]], &device);
        let k = 20_000;
        let mut rng = crate::random::seeded(1, crate::random::Stream::Eval);
        let eps = crate::batch::noise(&mut rng, k, 5, &device);
        let terms = model.elbo_terms(x.clone(), eps.clone());
        let sampled = model.sampled_terms(x, eps);
        let values = |t: Tensor<1>| t.into_data().try_into_vec::<f32>().unwrap();
        let kl = values(terms.kl.clone())[0] as f64;
        let per_dim = values(terms.kl_per_dim.clone().reshape([5]));
        assert!((per_dim.iter().map(|&v| v as f64).sum::<f64>() - kl).abs() < 1e-3);
        let ratios = values(sampled.log_ratio.reshape([k]));
        let mean = ratios.iter().map(|&v| v as f64).sum::<f64>() / k as f64;
        let sd = (ratios
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / k as f64)
            .sqrt();
        assert!(
            (mean - kl).abs() < 4.0 * sd / (k as f64).sqrt() + 1e-3,
            "sampled {mean} vs ELBO's {kl}"
        );
        assert_eq!(terms.means.dims(), [1, 5]);
        let codes = model.prior_codes(fixed_noise(4, 5, &device), &[]);
        assert_eq!(model.decode(codes).dims(), [4, 6]);
    })
}

/// Checks autodiff's gradient of `objective` at `x` against central
/// differences (step `h`, f32) at a few coordinates of every trained
/// tensor of a model built from `config` (seed 3) on `x`'s device; returns
/// how many coordinates were checked. Running statistics of batch norms
/// have no gradient and are skipped.
fn assert_gradients_match(
    h: f32,
    config: &ModelConfig,
    objective: Objective,
    samples: usize,
    x: Tensor<2>,
) -> usize {
    let device = x.device();
    crate::random::with_seeded_device(&device, 3, || {
        let model = config.init(&device).unwrap();
        let eps = fixed_noise(x.dims()[0] * samples, model.noise_dim(), &device);
        let grads = objective
            .loss(&model, x.clone(), None, eps.clone())
            .total
            .backward();
        let named = named_tensors(&model);
        let analytic: Vec<Option<Vec<f32>>> = {
            struct Grab<'a> {
                grads: &'a burn::tensor::Gradients,
                out: &'a mut Vec<Option<Vec<f32>>>,
            }
            impl burn::module::ModuleVisitor for Grab<'_> {
                fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                    let g = param.val().grad(self.grads);
                    self.out
                        .push(g.map(|g| g.into_data().try_into_vec::<f32>().unwrap()));
                }
            }
            let mut out = Vec::new();
            model.visit(&mut Grab {
                grads: &grads,
                out: &mut out,
            });
            out
        };
        let mut checked = 0;
        for ((name, data), grad) in named.iter().zip(&analytic) {
            let Some(grad) = grad else {
                assert!(
                    name.ends_with("running_mean") || name.ends_with("running_var"),
                    "{name} has no gradient"
                );
                continue;
            };
            let values = data.try_to_vec::<f32>().unwrap();
            // A few coordinates of every tensor keep the test quick.
            for i in (0..values.len()).step_by(values.len().div_ceil(4).max(1)) {
                let perturbed = |delta: f32| {
                    let mut tensors = named.clone();
                    let entry = tensors.iter_mut().find(|(n, _)| n == name).unwrap();
                    let mut v = values.clone();
                    v[i] += delta;
                    entry.1 = burn::tensor::TensorData::new(v, entry.1.shape().clone());
                    let m = load_named(
                        config.init(&device).unwrap(),
                        tensors.into_iter().collect(),
                        std::path::Path::new("test"),
                    )
                    .unwrap();
                    loss_at(&m, objective, &x, &eps)
                };
                let numeric = (perturbed(h) - perturbed(-h)) / (2.0 * h as f64);
                let analytic = grad[i] as f64;
                let tol = 5e-3 * numeric.abs().max(analytic.abs()).max(1.0);
                assert!(
                    (numeric - analytic).abs() < tol,
                    "{name}[{i}]: numeric {numeric} vs autodiff {analytic}"
                );
                checked += 1;
            }
        }
        checked
    })
}

#[test]
fn gradients_match_finite_differences() {
    // A tiny model in f32: central differences with h = 1e-2 on a smooth
    // (tanh) network agree with autodiff to a few parts in a thousand. The
    // ELBO with free bits and the IWAE bound (3 samples per example) too.
    let elbo = Objective::Elbo {
        beta: 1.0,
        free_bits: 0.0,
    };
    let free_bits = Objective::Elbo {
        beta: 0.5,
        free_bits: 0.3,
    };
    let gaussian = Likelihood::Gaussian {
        variance: GaussianVariance::PerPixel,
        min_variance: 1e-3,
    };
    let top = Some(TopLayerConfig {
        latent_dim: 2,
        hidden: vec![3],
        activation: Activation::Tanh,
    });
    let mut checked_cases = 0;
    for (likelihood, objective, samples, top) in [
        (Likelihood::Bernoulli, elbo, 1, None),
        (gaussian, elbo, 1, None),
        (Likelihood::Bernoulli, free_bits, 1, None),
        (Likelihood::Bernoulli, Objective::Iwae, 3, None),
        (gaussian, Objective::Iwae, 3, None),
        (Likelihood::Bernoulli, elbo, 2, top.clone()),
        (Likelihood::Bernoulli, Objective::Iwae, 3, top.clone()),
        (Likelihood::Bernoulli, elbo, 1, None),
        (Likelihood::Bernoulli, elbo, 3, None),
        (gaussian, Objective::Iwae, 2, None),
        (Likelihood::Bernoulli, elbo, 1, None),
        (gaussian, elbo, 3, None),
        (Likelihood::Bernoulli, Objective::Iwae, 3, None),
    ] {
        // Case 7 is conditional on a label of 3 classes; the next two have
        // a VampPrior of 3 pseudo-inputs, the last three a Gaussian
        // mixture of 3 components (whose gradients are checked too).
        let classes = (checked_cases == 7).then_some(3);
        let prior = match checked_cases {
            8 | 9 => Prior::Vamp { pseudo_inputs: 3 },
            10.. => Prior::Gmm { components: 3 },
            _ => Prior::Standard,
        };
        checked_cases += 1;
        let config = ModelConfig {
            likelihood,
            top,
            classes,
            prior,
            ..mlp_config()
        };
        let device = Device::flex().autodiff();
        let x = Tensor::<2>::from_floats(
            [
                [0.0, 0.2, 1.0, 0.7, 0.1, 0.9],
                [1.0, 0.5, 0.0, 0.3, 0.8, 0.4],
            ],
            &device,
        );
        let x = match classes {
            Some(c) => Tensor::cat(vec![x, crate::batch::one_hot(&[0, 2], c, &device)], 1),
            None => x,
        };
        assert!(assert_gradients_match(1e-2, &config, objective, samples, x) > 20);
    }
    assert_eq!(checked_cases, 13);
}

#[test]
fn batch_norm_gradients_match_finite_differences() {
    // Batch-normalized hidden layers in training: the batch statistics
    // are part of the function, so every row's loss depends on the
    // others'. One and two stochastic layers, on the ELBO and the IWAE
    // bound; the running statistics take no gradient.
    let top = Some(TopLayerConfig {
        latent_dim: 2,
        hidden: vec![3],
        activation: Activation::Tanh,
    });
    for (top, objective, samples) in [
        (
            None,
            Objective::Elbo {
                beta: 1.0,
                free_bits: 0.0,
            },
            1,
        ),
        (None, Objective::Iwae, 3),
        (
            top,
            Objective::Elbo {
                beta: 1.0,
                free_bits: 0.0,
            },
            2,
        ),
    ] {
        let config = ModelConfig {
            top,
            batch_norm: true,
            ..mlp_config()
        };
        let device = Device::flex().autodiff();
        let x = Tensor::<2>::from_floats(
            [
                [0.0, 0.2, 1.0, 0.7, 0.1, 0.9],
                [1.0, 0.5, 0.0, 0.3, 0.8, 0.4],
                [0.3, 0.9, 0.6, 0.0, 1.0, 0.2],
                [0.7, 0.1, 0.4, 0.9, 0.5, 0.6],
            ],
            &device,
        );
        // The batch statistics make the loss more curved: a smaller step
        // keeps the differences' truncation error under the tolerance.
        assert!(assert_gradients_match(2e-3, &config, objective, samples, x) > 20);
    }
}

#[test]
fn a_skipped_step_leaves_the_running_statistics_as_they_were() {
    use crate::nn::running_statistics;
    use crate::optim::{Adam, AdamConfig};
    use crate::train::train_step;
    let config = ModelConfig {
        batch_norm: true,
        ..mlp_config()
    };
    let device = Device::flex().autodiff();
    let mut model = config.init(&device).unwrap();
    let mut adam = Adam::new(AdamConfig::default());
    let read = |model: &Vae| -> Vec<f32> {
        running_statistics(&model.batch_norms())
            .into_iter()
            .flatten()
            .flat_map(|t| t.into_data().try_into_vec::<f32>().unwrap())
            .collect()
    };
    let batch = |first: f32| {
        Tensor::<2>::from_floats(
            [
                [first, 0.2, 1.0, 0.7, 0.1, 0.9],
                [1.0, 0.5, 0.0, 0.3, 0.8, 0.4],
            ],
            &device,
        )
    };
    let eps = Tensor::<2>::from_floats([[0.3, -0.2], [-1.0, 0.5]], &device);
    let objective = Objective::Elbo {
        beta: 1.0,
        free_bits: 0.0,
    };
    // encoder and decoder, one hidden layer each: 4 vectors of 5 values
    let start = read(&model);
    assert_eq!(start.len(), 20);
    for (first, applied) in [(0.0, true), (f32::NAN, false), (0.5, true)] {
        let before = read(&model);
        let (next, step) = train_step(
            model,
            &mut adam,
            batch(first),
            None,
            eps.clone(),
            objective,
            None,
        );
        model = next;
        assert_eq!(step.applied, applied, "{first}");
        let after = read(&model);
        assert!(after.iter().all(|v| v.is_finite()), "{after:?}");
        assert_eq!(
            after == before,
            !applied,
            "{first}: {before:?} -> {after:?}"
        );
        if !applied {
            // What a checkpoint saves is the restored statistics too.
            let saved = named_tensors(&model);
            let (_, mean) = saved
                .iter()
                .find(|(n, _)| n == "encoder.Mlp.norms.0.running_mean")
                .unwrap();
            assert_eq!(
                mean.clone().try_into_vec::<f32>().unwrap(),
                before[..5].to_vec()
            );
        }
    }
    assert_ne!(read(&model), start);
}

#[test]
fn batch_norm_statistics_are_saved_with_the_weights() {
    // The running statistics are named tensors: a model rebuilt from
    // them evaluates exactly as the trained one.
    let config = ModelConfig {
        batch_norm: true,
        ..mlp_config()
    };
    let device = Device::flex().autodiff();
    crate::random::with_seeded_device(&device.clone(), 1, || {
        let model = config.init(&device).unwrap();
        let x = Tensor::<2>::from_floats(
            [
                [0.0, 0.2, 1.0, 0.7, 0.1, 0.9],
                [1.0, 0.5, 0.0, 0.3, 0.8, 0.4],
                [0.3, 0.9, 0.6, 0.0, 1.0, 0.2],
            ],
            &device,
        );
        // Two training-mode passes move the running statistics off 0 and 1.
        let _ = model.encode(x.clone());
        let _ = model.encode(x.clone());
        let valid = model.valid();
        let named = named_tensors(&valid);
        let names: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
        for expected in [
            "encoder.Mlp.norms.0.gamma",
            "encoder.Mlp.norms.0.running_mean",
            "encoder.Mlp.norms.0.running_var",
            "decoder.Mlp.norms.0.beta",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} missing from {names:?}"
            );
        }
        let mean = &named
            .iter()
            .find(|(n, _)| n == "encoder.Mlp.norms.0.running_mean")
            .unwrap()
            .1;
        assert!(
            mean.try_to_vec::<f32>()
                .unwrap()
                .iter()
                .any(|v| v.abs() > 1e-3)
        );
        let inner = device.inner();
        let rebuilt = load_named(
            config.init(&inner).unwrap(),
            named.into_iter().collect(),
            std::path::Path::new("test"),
        )
        .unwrap();
        let x = Tensor::<2>::from_data(x.into_data(), &inner);
        let (a, b) = (valid.encode(x.clone()).mu, rebuilt.encode(x).mu);
        assert_eq!(a.into_data(), b.into_data());
        // A model without batch norm has no such tensors: old runs load.
        let plain = named_tensors(&mlp_config().init(&inner).unwrap());
        assert!(plain.iter().all(|(n, _)| !n.contains("norms")));
    })
}

#[test]
fn batch_norm_is_refused_where_it_does_not_apply() {
    for (architecture, prior, says) in [
        (
            Architecture::Conv { channels: vec![4] },
            Prior::Standard,
            "--arch mlp",
        ),
        (
            mlp_config().architecture,
            Prior::Vamp { pseudo_inputs: 3 },
            "pseudo-inputs",
        ),
    ] {
        let config = ModelConfig {
            architecture,
            prior,
            batch_norm: true,
            ..mlp_config()
        };
        let message = config.validate().unwrap_err().to_string();
        assert!(
            message.contains("--batch-norm") && message.contains(says),
            "{message}"
        );
    }
}

#[test]
fn invalid_settings_are_rejected_with_the_flag_name() {
    let mut c = mlp_config();
    c.latent_dim = 0;
    assert!(c.validate().unwrap_err().to_string().contains("--latent"));
    let mut c = mlp_config();
    c.architecture = Architecture::Conv {
        channels: vec![8, 8, 8],
    };
    assert!(
        c.validate()
            .unwrap_err()
            .to_string()
            .contains("--conv-channels")
    );
    let mut c = mlp_config();
    c.input = DataKind::Table {
        columns: vec!["a".into()],
    };
    c.architecture = Architecture::Conv { channels: vec![8] };
    assert!(c.validate().unwrap_err().to_string().contains("--arch mlp"));
}
