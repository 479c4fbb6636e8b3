//! Training runs end to end through the library: run directories, resume,
//! save/load, non-finite losses, and one real-data check on MNIST.
//!
//! Over 800 lines on purpose: the runs share the helpers that train, reopen
//! and compare them ([`trained`], [`weights_of`]), and each file under tests/
//! is a test binary of its own to build and link.

use std::path::{Path, PathBuf};

use vaekit::burn::tensor::{Device, Tensor};
use vaekit::data::Dataset;
use vaekit::data::prepare::Split;
use vaekit::data::prepare::{Binarize, PreparedData};
use vaekit::error::Error;
use vaekit::eval::iw::evaluate_iw;
use vaekit::eval::{EvalOptions, evaluate_elbo};
use vaekit::model::Vae;
use vaekit::model::weights::{from_safetensors, named_tensors};
use vaekit::nn::Activation;
use vaekit::run::{Run, Weights, files};
use vaekit::settings::{LrSchedule, ModelKind, ObjectiveKind, PriorKind, TrainSettings};
use vaekit::train::{Silent, TrainOutcome, TrainRequest, train};

fn cpu() -> Device {
    Device::flex()
}

/// A small, quick model on the embedded digits.
fn small(epochs: usize) -> TrainSettings {
    TrainSettings {
        data: Some("digits".into()),
        hidden: Some(vec![32]),
        latent: Some(4),
        epochs: Some(epochs),
        batch_size: Some(100),
        seed: Some(11),
        ..TrainSettings::default()
    }
}

fn request(settings: TrainSettings, out: &Path, resume: bool) -> TrainRequest {
    TrainRequest {
        settings,
        out: out.to_path_buf(),
        resume,
        device: cpu(),
    }
}

/// A run trained with `settings` into `out`, reopened: what training
/// returned, the run, its best model and its data.
fn trained(settings: TrainSettings, out: &Path) -> (TrainOutcome, Run, Vae, PreparedData) {
    let outcome = train(request(settings, out, false), &mut Silent).unwrap();
    let run = Run::open(out).unwrap();
    let model = run.load_model(Weights::Best, &cpu()).unwrap();
    let data = run.prepare_data(None).unwrap();
    (outcome, run, model, data)
}

fn weights_of(path: &Path) -> Vec<(String, Vec<f32>)> {
    let file = from_safetensors(&std::fs::read(path).unwrap(), path).unwrap();
    let mut v: Vec<(String, Vec<f32>)> = file
        .tensors
        .into_iter()
        .map(|(k, d)| (k, d.try_to_vec::<f32>().unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn max_abs_diff(a: &[(String, Vec<f32>)], b: &[(String, Vec<f32>)]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|((na, va), (nb, vb))| {
            assert_eq!(na, nb);
            va.iter().zip(vb).map(|(x, y)| (x - y).abs())
        })
        .fold(0.0, f32::max)
}

#[test]
fn a_run_directory_holds_everything_described() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let outcome = train(request(small(2), &out, false), &mut Silent).unwrap();
    assert_eq!(outcome.metrics.len(), 2);
    for name in [
        files::CONFIG,
        files::LAST,
        files::BEST,
        files::CHECKPOINT,
        files::METRICS,
        files::LOSS_PLOT,
    ] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let metrics = std::fs::read_to_string(out.join(files::METRICS)).unwrap();
    assert_eq!(metrics.lines().count(), 2);
    let run = Run::open(&out).unwrap();
    assert_eq!(
        run.config.data.train_examples + run.config.data.val_examples,
        1500
    );
    assert_eq!(run.config.settings.latent, Some(4));
    // No temporary files are left behind.
    for entry in std::fs::read_dir(&out).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".tmp"), "{name}");
    }
}

#[test]
fn resume_ends_where_an_uninterrupted_run_ends() {
    // With batch normalization too: its running statistics are in the
    // checkpoint and take no optimizer state.
    for batch_norm in [None, Some(true)] {
        let settings = |epochs| TrainSettings {
            batch_norm,
            ..small(epochs)
        };
        let dir = tempfile::tempdir().unwrap();
        let straight = dir.path().join("straight");
        train(request(settings(3), &straight, false), &mut Silent).unwrap();

        let split = dir.path().join("split");
        train(request(settings(1), &split, false), &mut Silent).unwrap();
        let more = TrainSettings {
            epochs: Some(3),
            ..TrainSettings::default()
        };
        let outcome = train(request(more, &split, true), &mut Silent).unwrap();
        assert_eq!(outcome.metrics.len(), 3);

        let (a, b) = (
            weights_of(&straight.join(files::LAST)),
            weights_of(&split.join(files::LAST)),
        );
        let running = a
            .iter()
            .filter(|(name, _)| name.contains("running_var"))
            .count();
        assert_eq!(running > 0, batch_norm.is_some(), "{batch_norm:?}");
        let diff = max_abs_diff(&a, &b);
        assert!(diff < 1e-5, "weights differ by {diff} ({batch_norm:?})");
        let a = std::fs::read_to_string(straight.join(files::METRICS)).unwrap();
        let b = std::fs::read_to_string(split.join(files::METRICS)).unwrap();
        let loss = |text: &str| -> Vec<f64> {
            text.lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).unwrap()["train_neg_elbo"]
                        .as_f64()
                        .unwrap()
                })
                .collect()
        };
        for (x, y) in loss(&a).iter().zip(loss(&b)) {
            assert!((x - y).abs() < 1e-3, "{x} vs {y}");
        }
    }
}

#[test]
fn saved_weights_load_into_a_model_that_gives_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    train(request(small(1), &out, false), &mut Silent).unwrap();
    let run = Run::open(&out).unwrap();
    let a = run.load_model(Weights::Last, &cpu()).unwrap();
    let b = run.load_model(Weights::Last, &cpu()).unwrap();
    // The loaded model carries exactly the file's tensors.
    let from_file = weights_of(&out.join(files::LAST));
    let mut in_model: Vec<(String, Vec<f32>)> = named_tensors(&a)
        .into_iter()
        .map(|(k, d)| (k, d.try_to_vec::<f32>().unwrap()))
        .collect();
    in_model.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(max_abs_diff(&from_file, &in_model), 0.0);
    // And two loads compute the same thing.
    let x = Tensor::<2>::ones([3, 64], &cpu()).mul_scalar(0.5);
    let (qa, qb) = (a.encode(x.clone()), b.encode(x));
    let mu_a = qa.mu.into_data().try_to_vec::<f32>().unwrap();
    let mu_b = qb.mu.into_data().try_to_vec::<f32>().unwrap();
    assert_eq!(mu_a, mu_b);
    let da = a
        .decode(Tensor::zeros([2, 4], &cpu()))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let db = b
        .decode(Tensor::zeros([2, 4], &cpu()))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(da, db);
}

#[test]
fn an_existing_run_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    train(request(small(1), &out, false), &mut Silent).unwrap();
    let before = std::fs::read(out.join(files::LAST)).unwrap();
    let err = train(request(small(1), &out, false), &mut Silent).unwrap_err();
    assert!(err.to_string().contains("--resume"), "{err}");
    assert!(err.is_input_error());
    assert_eq!(std::fs::read(out.join(files::LAST)).unwrap(), before);
}

#[test]
fn resume_refuses_changed_settings_and_corrupt_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    train(request(small(1), &out, false), &mut Silent).unwrap();

    let changed = TrainSettings {
        lr: Some(0.5),
        epochs: Some(2),
        ..TrainSettings::default()
    };
    let err = train(request(changed, &out, true), &mut Silent).unwrap_err();
    assert!(err.to_string().contains("--lr"), "{err}");

    let done = TrainSettings {
        epochs: Some(1),
        ..TrainSettings::default()
    };
    let err = train(request(done, &out, true), &mut Silent).unwrap_err();
    assert!(err.to_string().contains("--epochs"), "{err}");

    let checkpoint = out.join(files::CHECKPOINT);
    let bytes = std::fs::read(&checkpoint).unwrap();
    std::fs::write(&checkpoint, &bytes[..bytes.len() / 2]).unwrap();
    let more = TrainSettings {
        epochs: Some(2),
        ..TrainSettings::default()
    };
    let err = train(request(more, &out, true), &mut Silent).unwrap_err();
    assert!(matches!(err, Error::Format { .. }), "{err}");
    assert!(err.to_string().contains("checkpoint.safetensors"), "{err}");
}

#[test]
fn a_diverging_run_stops_with_advice_and_leaves_nothing_half_made() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let settings = TrainSettings {
        lr: Some(1e12),
        epochs: Some(3),
        ..small(3)
    };
    let err = train(request(settings, &out, false), &mut Silent).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Training(_)), "{text}");
    assert!(
        text.contains("--lr") && text.contains("--clip-grad"),
        "{text}"
    );
    if !out.join(files::CHECKPOINT).exists() {
        assert!(
            !out.exists(),
            "a failed first epoch must not leave a run directory"
        );
    }
}

#[test]
fn bad_settings_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    for settings in [
        TrainSettings {
            latent: Some(0),
            ..small(1)
        },
        TrainSettings {
            batch_size: Some(0),
            ..small(1)
        },
        TrainSettings {
            lr: Some(f64::NAN),
            ..small(1)
        },
        TrainSettings {
            val_fraction: Some(1.0),
            ..small(1)
        },
        TrainSettings {
            data: Some(dir.path().join("missing").display().to_string()),
            ..small(1)
        },
    ] {
        let err = train(request(settings, &out, false), &mut Silent).unwrap_err();
        assert!(err.is_input_error(), "{err}");
        assert!(!out.exists());
    }
}

#[test]
fn every_architecture_likelihood_and_binarization_trains() {
    use vaekit::distributions::GaussianVariance;
    use vaekit::settings::{ArchitectureKind, LikelihoodKind};
    let dir = tempfile::tempdir().unwrap();
    let variants = [
        (
            ArchitectureKind::Conv,
            LikelihoodKind::Bernoulli,
            Binarize::Dynamic,
            None,
        ),
        (
            ArchitectureKind::Mlp,
            LikelihoodKind::Bernoulli,
            Binarize::Threshold,
            None,
        ),
        (
            ArchitectureKind::Conv,
            LikelihoodKind::Gaussian,
            Binarize::None,
            Some(GaussianVariance::PerPixel),
        ),
        (
            ArchitectureKind::Mlp,
            LikelihoodKind::Gaussian,
            Binarize::None,
            Some(GaussianVariance::Scalar),
        ),
    ];
    for (i, (model, likelihood, binarize, variance)) in variants.into_iter().enumerate() {
        let out = dir.path().join(format!("run{i}"));
        let settings = TrainSettings {
            arch: Some(model),
            likelihood: Some(likelihood),
            binarize: Some(binarize),
            gaussian_variance: variance,
            conv_channels: Some(vec![8, 16]),
            kl_warmup: Some(2.0),
            clip_grad: Some(50.0),
            ..small(2)
        };
        let (outcome, _, model, data) = trained(settings, &out);
        let first = &outcome.metrics[0];
        let last = outcome.metrics.last().unwrap();
        assert!(last.train_neg_elbo.is_finite() && last.val.as_ref().unwrap().neg_elbo.is_finite());
        assert!(
            first.beta < 1.0 && last.beta == 1.0,
            "warm-up ramps beta to 1"
        );
        if likelihood == LikelihoodKind::Bernoulli {
            assert!(
                last.train_neg_elbo < first.train_neg_elbo,
                "run {i} did not learn"
            );
        }
        let report = evaluate_elbo(
            &model,
            data.split(Split::Test).unwrap(),
            &EvalOptions {
                binarize,
                ..EvalOptions::default()
            },
        )
        .unwrap();
        assert!(report.neg_elbo.is_finite() && report.kl >= 0.0);
    }
}

#[test]
fn learning_rate_schedules_drive_the_optimizer() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, schedule: LrSchedule, lr_final: Option<f64>| {
        let settings = TrainSettings {
            lr: Some(2e-3),
            lr_schedule: Some(schedule),
            lr_final,
            ..small(3)
        };
        train(
            request(settings, &dir.path().join(name), false),
            &mut Silent,
        )
        .unwrap()
    };
    let constant = run("constant", LrSchedule::Constant, None);
    // A cosine that ends where it starts is the constant rate, step for step.
    let flat = run("flat", LrSchedule::Cosine, Some(2e-3));
    let losses = |o: &TrainOutcome| o.metrics.iter().map(|m| m.train_loss).collect::<Vec<_>>();
    assert_eq!(losses(&constant), losses(&flat));
    assert!(constant.metrics.iter().all(|m| m.lr == 2e-3));
    // Geometric decay to a tenth: each epoch ends at the rate of its last
    // step, and the smaller steps change the training from the first epoch on.
    let decayed = run("exp", LrSchedule::Exp, None);
    let config = Run::open(&dir.path().join("exp")).unwrap().config;
    let steps_per_epoch = config.data.train_examples.div_ceil(100);
    let total = 3 * steps_per_epoch;
    for m in &decayed.metrics {
        let step = m.epoch * steps_per_epoch - 1;
        let expected = 2e-3 * 0.1f64.powf(step as f64 / total as f64);
        assert!(
            (m.lr - expected).abs() < 1e-12,
            "epoch {}: {} vs {expected}",
            m.epoch,
            m.lr
        );
    }
    assert_ne!(losses(&decayed)[0], losses(&constant)[0]);
    let saved = config.settings;
    assert_eq!(
        (saved.lr_schedule, saved.lr_final),
        (Some(LrSchedule::Exp), Some(2e-4))
    );
}

/// The shared data folder beside the project, if present.
fn shared_data() -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/data"))
        .find(|p| p.is_dir())
}

/// MNIST in the shared data folder; None, after saying why, when it is absent.
fn mnist() -> Option<PathBuf> {
    let data = shared_data()
        .map(|d| d.join("mnist"))
        .filter(|d| d.is_dir());
    if data.is_none() {
        eprintln!("skipped: ../shared/data/mnist is absent");
    }
    data
}

/// The best model of a run trained on MNIST with `settings`, and the run's
/// data; None when MNIST is absent.
fn trained_on_mnist(settings: TrainSettings) -> Option<(Vae, PreparedData)> {
    let data = mnist()?;
    let dir = tempfile::tempdir().unwrap();
    let settings = TrainSettings {
        data: Some(data.display().to_string()),
        ..settings
    };
    let (_, _, model, data) = trained(settings, &dir.path().join("mnist"));
    Some((model, data))
}

#[test]
fn one_epoch_on_mnist_reaches_the_expected_test_elbo() {
    let Some((model, data)) = trained_on_mnist(TrainSettings {
        epochs: Some(1),
        val_fraction: Some(0.0),
        ..TrainSettings::default()
    }) else {
        return;
    };
    let test = data.split(Split::Test).unwrap();
    assert_eq!(test.len(), 10_000);
    let report = evaluate_elbo(&model, test, &EvalOptions::default()).unwrap();
    eprintln!("MNIST test -ELBO after 1 epoch: {:.2}", report.neg_elbo);
    assert!(report.neg_elbo < 130.0, "test -ELBO {}", report.neg_elbo);
    assert!(
        report.neg_elbo > 60.0,
        "implausibly low: {}",
        report.neg_elbo
    );
}

#[test]
fn iwae_and_free_bits_runs_keep_their_bounds_on_every_step() {
    let dir = tempfile::tempdir().unwrap();
    // The IW bound of K samples is never below their average ELBO (Jensen), so
    // the IWAE loss is at most the recon + sampled KL it reports.
    let out = dir.path().join("iwae");
    let settings = TrainSettings {
        model: Some(ModelKind::Iwae),
        train_samples: Some(5),
        ..small(3)
    };
    let outcome = train(request(settings, &out, false), &mut Silent).unwrap();
    for m in &outcome.metrics {
        assert!(
            m.train_loss.is_finite() && m.train_loss <= m.train_neg_elbo + 1e-4,
            "{m:?}"
        );
    }
    assert!(outcome.metrics[2].train_loss < outcome.metrics[0].train_loss);
    let saved = Run::open(&out).unwrap().config.settings;
    assert_eq!(
        (saved.model, saved.train_samples),
        (Some(ModelKind::Iwae), Some(5))
    );
    // Free bits only raise the KL term: the loss is at least the -ELBO.
    let out = dir.path().join("free-bits");
    let settings = TrainSettings {
        free_bits: Some(0.5),
        ..small(2)
    };
    let outcome = train(request(settings, &out, false), &mut Silent).unwrap();
    for m in &outcome.metrics {
        assert!(m.train_loss >= m.train_neg_elbo - 1e-4, "{m:?}");
    }
}

#[test]
fn a_hierarchical_vae_trains_on_either_bound_and_evaluates_and_generates() {
    let dir = tempfile::tempdir().unwrap();
    for objective in [ObjectiveKind::Elbo, ObjectiveKind::Iw] {
        let out = dir.path().join(format!("hvae-{objective}"));
        let settings = TrainSettings {
            model: Some(ModelKind::Hvae),
            objective: Some(objective),
            top_latent: Some(3),
            top_hidden: Some(vec![16]),
            train_samples: Some(3),
            ..small(3)
        };
        let (outcome, run, model, data) = trained(settings, &out);
        let [first, .., last] = outcome.metrics.as_slice() else {
            panic!("3 epochs")
        };
        assert!(last.train_loss < first.train_loss, "{first:?} {last:?}");
        for m in &outcome.metrics {
            match objective {
                ObjectiveKind::Iw => assert!(m.train_loss <= m.train_neg_elbo + 1e-4),
                ObjectiveKind::Elbo => assert!((m.train_loss - m.train_neg_elbo).abs() < 1e-3),
            }
        }
        assert_eq!(run.config.model.top.as_ref().map(|t| t.latent_dim), Some(3));
        assert_eq!((model.latent_dim(), model.noise_dim()), (4, 7));
        let test = data.split(Split::Test).unwrap();
        let elbo = evaluate_elbo(&model, test, &EvalOptions::default()).unwrap();
        assert_eq!((elbo.kl_per_dim.len(), elbo.activity.len()), (7, 7));
        let iw = evaluate_iw(&model, test, &EvalOptions::default(), 50, &mut |_| {}).unwrap();
        assert!(
            iw.nll.is_finite() && iw.nll < elbo.neg_elbo,
            "{} vs {}",
            iw.nll,
            elbo.neg_elbo
        );
        let samples = vaekit::generate::sample_prior(&model, 5, 0, None).unwrap();
        assert_eq!(samples.values.len(), 5 * 64);
        assert!(samples.values.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}

#[test]
fn a_conditional_vae_draws_samples_of_the_class_asked_for() {
    // Samples drawn for class c should look like the training digits of c:
    // a nearest-class-mean classifier fitted on the training images labels
    // most of them c (chance is 1 in 10).
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cvae");
    let settings = TrainSettings {
        model: Some(ModelKind::Cvae),
        hidden: Some(vec![64]),
        ..small(30)
    };
    let (_, run, model, data) = trained(settings, &out);
    assert_eq!(run.config.model.classes, Some(10));
    let train_set = &data.train;
    let labels = train_set.labels().unwrap();
    let mut means = vec![vec![0.0f64; 64]; 10];
    let mut counts = [0usize; 10];
    for (i, &label) in labels.iter().enumerate() {
        counts[label as usize] += 1;
        for (m, &v) in means[label as usize].iter_mut().zip(train_set.row(i)) {
            *m += v as f64;
        }
    }
    for (m, &n) in means.iter_mut().zip(&counts) {
        m.iter_mut().for_each(|v| *v /= n.max(1) as f64);
    }
    let nearest = |x: &[f32]| {
        (0..10)
            .min_by(|&a, &b| {
                let d = |c: usize| -> f64 {
                    means[c]
                        .iter()
                        .zip(x)
                        .map(|(m, &v)| (m - v as f64).powi(2))
                        .sum()
                };
                d(a).total_cmp(&d(b))
            })
            .unwrap()
    };
    let samples = vaekit::generate::sample_prior(&model, 20, 3, None).unwrap();
    let sample_labels = samples.labels.clone().unwrap();
    assert_eq!((sample_labels.len(), samples.columns), (200, 20));
    let right = samples
        .values
        .chunks(64)
        .zip(&sample_labels)
        .filter(|(x, label)| nearest(x) == **label as usize)
        .count();
    eprintln!("cvae samples classified as their class: {right} of 200");
    assert!(right >= 140, "{right} of 200");
    let sevens = vaekit::generate::sample_prior(&model, 8, 0, Some(7)).unwrap();
    assert_eq!(sevens.labels, Some(vec![7; 8]));
    let err = vaekit::generate::sample_prior(&model, 8, 0, Some(10)).unwrap_err();
    assert!(err.to_string().contains("--class"));
    // Data without labels, or with a class the model lacks, is refused.
    let kind = train_set.kind().clone();
    let unlabelled = Dataset::new(train_set.row(0).to_vec(), kind.clone(), None).unwrap();
    let err = evaluate_elbo(&model, &unlabelled, &EvalOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no labels"), "{err}");
    let unknown = Dataset::new(train_set.row(0).to_vec(), kind, Some(vec![10])).unwrap();
    let err = evaluate_elbo(&model, &unknown, &EvalOptions::default()).unwrap_err();
    assert!(err.to_string().contains("label 10"), "{err}");
    // Scoring and encoding take the label from the data.
    let test = data.split(Split::Test).unwrap();
    let report = evaluate_iw(&model, test, &EvalOptions::default(), 20, &mut |_| {}).unwrap();
    assert!(report.nll.is_finite());
}

#[test]
fn a_vamp_prior_model_trains_and_samples_from_its_mixture() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("vamp");
    let settings = TrainSettings {
        prior: Some(PriorKind::Vamp),
        pseudo_inputs: Some(20),
        ..small(4)
    };
    let (outcome, _, model, data) = trained(settings, &out);
    let [first, .., last] = outcome.metrics.as_slice() else {
        panic!("4 epochs")
    };
    assert!(last.train_loss < first.train_loss, "{first:?} {last:?}");
    let names: Vec<String> = weights_of(&out.join(files::BEST))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(names.iter().any(|n| n == "pseudo_inputs"), "{names:?}");
    assert_eq!(model.pseudo_input_count(), Some(20));
    let test = data.split(Split::Test).unwrap();
    let elbo = evaluate_elbo(&model, test, &EvalOptions::default()).unwrap();
    let iw = evaluate_iw(&model, test, &EvalOptions::default(), 50, &mut |_| {}).unwrap();
    assert!(
        elbo.kl > 0.0 && iw.nll < elbo.neg_elbo,
        "{} vs {}",
        iw.nll,
        elbo.neg_elbo
    );
    let samples = vaekit::generate::sample_prior(&model, 6, 1, None).unwrap();
    assert!(samples.values.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn a_short_iwae_paper_model_on_binarized_mnist_has_a_plausible_log_likelihood() {
    // A small version of the IWAE paper's one-stochastic-layer row: its
    // architecture (200-200 tanh, 50-d latent) on dynamically binarized MNIST,
    // but 3 epochs on 10,000 images and K = 100 on 200 test images.
    let Some((model, data)) = trained_on_mnist(TrainSettings {
        limit: Some(10_000),
        epochs: Some(3),
        val_fraction: Some(0.0),
        binarize: Some(Binarize::Dynamic),
        hidden: Some(vec![200, 200]),
        activation: Some(Activation::Tanh),
        latent: Some(50),
        model: Some(ModelKind::Iwae),
        train_samples: Some(5),
        ..TrainSettings::default()
    }) else {
        return;
    };
    let test = data.split(Split::Test).unwrap();
    let options = EvalOptions {
        binarize: Binarize::Dynamic,
        limit: Some(200),
        ..EvalOptions::default()
    };
    let elbo = evaluate_elbo(&model, test, &options).unwrap();
    let iw = evaluate_iw(&model, test, &options, 100, &mut |_| {}).unwrap();
    eprintln!(
        "MNIST, 3 epochs on 10,000: test -ELBO {:.2}, IW NLL (K = 100) {:.2} ± {:.2}, {} active units",
        elbo.neg_elbo, iw.nll, iw.std_error, elbo.active_units
    );
    assert_eq!(iw.n, 200);
    assert!(
        iw.nll < elbo.neg_elbo - 1.0,
        "{} vs {}",
        iw.nll,
        elbo.neg_elbo
    );
    // Far from trained (the paper's figure, 86.76, takes 3,280 epochs), but far
    // below the 543 nats (784 ln 2) of a model that learned nothing; this run
    // measured 184.
    assert!(iw.nll > 70.0 && iw.nll < 200.0, "NLL {}", iw.nll);
    assert!(elbo.active_units >= 5, "{} active units", elbo.active_units);
}

#[test]
fn a_mixture_prior_run_resumes_reloads_and_keeps_its_clusters() {
    use vaekit::cluster::{ClusterOptions, Method, cluster_dataset};
    let dir = tempfile::tempdir().unwrap();
    let settings = |epochs| TrainSettings {
        prior: Some(PriorKind::Gmm),
        components: Some(10),
        pretrain_epochs: Some(2),
        ..small(epochs)
    };
    // Straight through, and stopped after the mixture was fitted then
    // resumed: the checkpoint carries the mixture and its optimizer state.
    let whole = dir.path().join("whole");
    let (_, _, model, data) = trained(settings(4), &whole);
    let parts = dir.path().join("parts");
    train(request(settings(3), &parts, false), &mut Silent).unwrap();
    train(request(settings(4), &parts, true), &mut Silent).unwrap();
    let saved = weights_of(&whole.join(files::LAST));
    assert!(max_abs_diff(&saved, &weights_of(&parts.join(files::LAST))) < 1e-6);
    let names: Vec<&str> = saved.iter().map(|(n, _)| n.as_str()).collect();
    for name in ["mixture.logits", "mixture.mu", "mixture.logvar"] {
        assert!(names.contains(&name), "{names:?}");
    }
    let weights = model.prior_weights().unwrap();
    assert!((weights.iter().sum::<f32>() - 1.0).abs() < 1e-5);

    // Reloaded on a device seeded differently, the model gives the same
    // clusters: they come from the saved mixture, not from a fresh draw.
    let rows = data.split(Split::Test).unwrap();
    let options = ClusterOptions::default();
    let first = cluster_dataset(&model, rows, &options).unwrap();
    assert_eq!(first.method, Method::Prior);
    let device = cpu();
    // Seeded under vaekit's lock: another test's seeded draws must not see it.
    vaekit::random::with_seeded_device(&device, 12345, || {});
    let again = Run::open(&whole)
        .unwrap()
        .load_model(Weights::Best, &device)
        .unwrap();
    let second = cluster_dataset(&again, rows, &options).unwrap();
    assert_eq!(first.clusters, second.clusters);
    let distinct: std::collections::BTreeSet<u32> = first.clusters.iter().copied().collect();
    assert!(distinct.len() > 1, "{distinct:?}");
    // And prior samples come from the mixture.
    let samples = vaekit::generate::sample_prior(&model, 6, 1, None).unwrap();
    assert!(samples.values.iter().all(|v| (0.0..=1.0).contains(v)));
}

/// The case, `--data digits --prior gmm --components 10 --seed 3`:
/// the epoch after the mixture is fitted to the pretrained codes used to
/// start with a KL of 722 nats (the encoder's never-trained log-variance
/// against components a hundred times narrower); q(z|x) now starts at the
/// components' variance, and that epoch's KL is measured at 12.
#[test]
fn the_epoch_after_the_mixture_is_fitted_starts_near_its_prior() {
    let dir = tempfile::tempdir().unwrap();
    let settings = TrainSettings {
        data: Some("digits".into()),
        prior: Some(PriorKind::Gmm),
        components: Some(10),
        pretrain_epochs: Some(2),
        epochs: Some(3),
        seed: Some(3),
        ..TrainSettings::default()
    };
    let outcome = train(request(settings, dir.path(), false), &mut Silent).unwrap();
    let after = &outcome.metrics[2];
    assert!(
        after.train_kl < 40.0,
        "KL {} in the first epoch after the fit",
        after.train_kl
    );
    assert!(
        after.train_neg_elbo < 60.0,
        "-ELBO {}",
        after.train_neg_elbo
    );
}

#[test]
fn a_run_started_from_another_takes_its_network_and_weights() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let (_, _, source_model, data) = trained(small(3), &source);
    let test = data.split(Split::Test).unwrap();
    let score = |model: &Vae| {
        evaluate_elbo(model, test, &EvalOptions::default())
            .unwrap()
            .neg_elbo
    };
    // Only the source and the new training settings are given: the data and
    // the 32-unit, 4-d network come from the source. With a rate far too small
    // to move them, the new run's weights are the source's; a run from a fresh
    // start with the same rate stays far behind.
    let tiny = |extra: TrainSettings| TrainSettings {
        objective: Some(ObjectiveKind::Iw),
        train_samples: Some(3),
        epochs: Some(1),
        lr: Some(1e-12),
        ..extra
    };
    let tuned = dir.path().join("tuned");
    let (_, run, tuned_model, _) = trained(
        tiny(TrainSettings {
            init_from: Some(source.clone()),
            ..TrainSettings::default()
        }),
        &tuned,
    );
    let (from_source, fine_tuned) = (score(&source_model), score(&tuned_model));
    assert!(
        (from_source - fine_tuned).abs() < 1e-3,
        "{from_source} vs {fine_tuned}"
    );
    let (_, _, fresh_model, _) = trained(
        tiny(TrainSettings {
            data: Some("digits".into()),
            hidden: Some(vec![32]),
            latent: Some(4),
            ..TrainSettings::default()
        }),
        &dir.path().join("fresh"),
    );
    let fresh = score(&fresh_model);
    assert!(fresh > from_source + 1.0, "fresh {fresh} vs {from_source}");
    let saved = &run.config.settings;
    assert_eq!(saved.init_from.as_deref(), Some(source.as_path()));
    assert_eq!(
        (saved.hidden.clone(), saved.latent),
        (Some(vec![32]), Some(4))
    );
    assert_eq!(
        (saved.objective, saved.train_samples, saved.seed),
        (Some(ObjectiveKind::Iw), Some(3), Some(0))
    );

    // A network setting that contradicts the source's is refused, by name,
    // and leaves nothing behind.
    let wider = dir.path().join("wider");
    let settings = TrainSettings {
        init_from: Some(source.clone()),
        latent: Some(5),
        ..small(1)
    };
    let err = train(request(settings, &wider, false), &mut Silent).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("latent_dim is 4 there, 5 here"),
        "{message}"
    );
    assert!(!wider.exists());
    let missing = TrainSettings {
        init_from: Some(dir.path().join("nowhere")),
        ..small(1)
    };
    let err = train(request(missing, &wider, false), &mut Silent).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn a_mixture_prior_run_started_from_another_keeps_its_mixture() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    let settings = TrainSettings {
        prior: Some(PriorKind::Gmm),
        pretrain_epochs: Some(1),
        ..small(3)
    };
    train(request(settings, &source, false), &mut Silent).unwrap();
    // No pretraining of its own, so no refitting: with a rate too small to
    // move it, the mixture after an epoch is the one it started from.
    let tuned = dir.path().join("tuned");
    let settings = TrainSettings {
        init_from: Some(source.clone()),
        epochs: Some(1),
        lr: Some(1e-12),
        ..TrainSettings::default()
    };
    train(request(settings, &tuned, false), &mut Silent).unwrap();
    let mixture = |run: &Path| {
        weights_of(&run.join(files::BEST))
            .into_iter()
            .filter(|(name, _)| name.starts_with("mixture."))
            .collect::<Vec<_>>()
    };
    let (before, after) = (mixture(&source), mixture(&tuned));
    assert_eq!(before.len(), 3);
    assert!(max_abs_diff(&before, &after) < 1e-6);
    let saved = Run::open(&tuned).unwrap().config.settings;
    assert_eq!(
        (saved.prior, saved.pretrain_epochs),
        (Some(PriorKind::Gmm), Some(0))
    );
}

#[test]
fn mnist_digits_top_halves_are_filled_better_than_the_mean_and_best_by_an_encoder_trained_for_it() {
    use vaekit::impute::{
        EncoderReads, ImputeOptions, MaskSpec, Method, column_means, impute_with_vae, mean_impute,
        rmse_on_missing,
    };
    let settings = TrainSettings {
        limit: Some(10_000),
        epochs: Some(2),
        val_fraction: Some(0.0),
        ..TrainSettings::default()
    };
    let Some((model, data)) = trained_on_mnist(settings.clone()) else {
        return;
    };
    let train_rows = data.split(Split::Train).unwrap();
    let test = data.split(Split::Test).unwrap();
    let test = test.subset(&(0..200).collect::<Vec<_>>());
    let mask = MaskSpec::TopHalf.build(test.kind(), test.len(), 0).unwrap();
    let means = mean_impute(&test, &mask, &column_means(train_rows));
    let start = Dataset::new(means.clone(), test.kind().clone(), None).unwrap();
    let options = ImputeOptions {
        method: Method::Miwae,
        ..ImputeOptions::default()
    };
    let miwae = impute_with_vae(&model, &start, &mask, &options).unwrap();
    let rmse = |values: &[f32]| rmse_on_missing(values, test.values(), &mask).unwrap();
    let gibbs = impute_with_vae(&model, &start, &mask, &ImputeOptions::default()).unwrap();
    let (miwae, mean, gibbs) = (rmse(&miwae), rmse(&means), rmse(&gibbs));
    eprintln!(
        "MNIST top half, 200 test digits: miwae RMSE {miwae:.4}, gibbs {gibbs:.4}, mean {mean:.4}"
    );
    // Measured 0.2214 against 0.2461 (docs/RESULTS.md has the full-size row).
    assert!(miwae < mean - 0.01, "miwae {miwae} vs mean {mean}");
    assert!(miwae > 0.1, "implausibly good: {miwae}");

    // The same run with the top half hidden from the encoder in half the
    // training examples: pseudo-Gibbs, reading the observed half, fills it
    // in better than the run trained on whole images only.
    let Some((masked, _)) = trained_on_mnist(TrainSettings {
        encoder_mask: Some(MaskSpec::TopHalf),
        ..settings
    }) else {
        return;
    };
    let options = ImputeOptions {
        encoder_reads: EncoderReads::Observed,
        ..ImputeOptions::default()
    };
    let trained_for_it = rmse(&impute_with_vae(&masked, &start, &mask, &options).unwrap());
    eprintln!("the same, encoder trained with the top half hidden: gibbs {trained_for_it:.4}");
    // Measured 0.2239 against 0.2385 (at 10 epochs on all 54,000 images,
    // 0.181 against 0.259: docs/RESULTS.md).
    assert!(
        trained_for_it < gibbs - 0.007,
        "{trained_for_it} vs {gibbs}"
    );
}
