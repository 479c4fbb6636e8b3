use super::*;

fn image() -> DataKind {
    DataKind::Image {
        channels: 1,
        height: 28,
        width: 28,
    }
}

#[test]
fn learning_rate_schedules_follow_their_formulas() {
    let with = |schedule, lr_final| {
        TrainSettings {
            lr: Some(2e-3),
            lr_schedule: Some(schedule),
            lr_final,
            ..Default::default()
        }
        .resolve(&image())
        .unwrap()
    };
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    let constant = with(LrSchedule::Constant, None);
    assert_eq!(constant.lr_final, None);
    assert!([0, 50, 100].iter().all(|&t| constant.lr_at(t, 100) == 2e-3));
    // Half a cosine to 0: the value at a quarter is lr (1 + cos(pi/4)) / 2.
    let cosine = with(LrSchedule::Cosine, None);
    assert_eq!(cosine.lr_final, Some(0.0));
    assert!(close(cosine.lr_at(0, 100), 2e-3));
    assert!(close(
        cosine.lr_at(25, 100),
        2e-3 * (1.0 + 0.5f64.sqrt()) / 2.0
    ));
    assert!(close(cosine.lr_at(50, 100), 1e-3));
    assert!(close(cosine.lr_at(100, 100), 0.0));
    let floor = with(LrSchedule::Cosine, Some(5e-4));
    assert!(close(floor.lr_at(50, 100), 1.25e-3));
    assert!(close(floor.lr_at(100, 100), 5e-4));
    // Geometric to a tenth by default: half-way is lr / sqrt(10).
    let exp = with(LrSchedule::Exp, None);
    assert_eq!(exp.lr_final, Some(2e-4));
    assert!(close(exp.lr_at(50, 100), 2e-3 / 10f64.sqrt()));
    assert!(close(exp.lr_at(100, 100), 2e-4));
    let steps: Vec<f64> = (0..=10).map(|t| exp.lr_at(t, 10)).collect();
    assert!(
        steps
            .windows(2)
            .all(|w| close(w[1] / w[0], 0.1f64.powf(0.1)))
    );
}

#[test]
fn learning_rate_schedules_refuse_what_cannot_be_meant() {
    let refusal = |schedule: Option<LrSchedule>, lr_final: f64| {
        let err = TrainSettings {
            lr: Some(1e-3),
            lr_schedule: schedule,
            lr_final: Some(lr_final),
            ..Default::default()
        }
        .resolve(&image())
        .unwrap_err()
        .to_string();
        assert!(err.contains("--lr-final"), "{err}");
        err
    };
    assert!(refusal(None, 1e-4).contains("--lr-schedule cosine"));
    assert!(refusal(Some(LrSchedule::Cosine), 1e-2).contains("between 0 and --lr"));
    assert!(refusal(Some(LrSchedule::Exp), -1.0).contains("between 0 and --lr"));
    assert!(refusal(Some(LrSchedule::Exp), 0.0).contains("never reaches 0"));
    assert!(refusal(Some(LrSchedule::Cosine), f64::NAN).contains("between 0"));
    assert_eq!("exp".parse::<LrSchedule>(), Ok(LrSchedule::Exp));
    assert!(
        "linear"
            .parse::<LrSchedule>()
            .unwrap_err()
            .contains("cosine")
    );
}

#[test]
fn runs_saved_before_arch_existed_still_read() {
    // Their `model` held the architecture; it now reads as the plain VAE
    // (and `Run::open` takes the architecture from the model config).
    for old in ["mlp", "conv"] {
        let text = format!("{{\"model\": \"{old}\", \"latent\": 4}}");
        let s: TrainSettings = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (s.model, s.arch, s.latent),
            (Some(ModelKind::Vae), None, Some(4))
        );
    }
    assert!(
        "conv"
            .parse::<ModelKind>()
            .unwrap_err()
            .contains("--arch conv")
    );
}

#[test]
fn model_defaults_follow_the_model() {
    let hvae = TrainSettings {
        model: Some(ModelKind::Hvae),
        ..Default::default()
    }
    .resolve(&image())
    .unwrap();
    assert_eq!(
        (
            hvae.hidden.clone(),
            hvae.latent,
            hvae.top_latent,
            hvae.activation
        ),
        (
            Some(vec![200, 200]),
            Some(100),
            Some(50),
            Some(Activation::Tanh)
        )
    );
    let iwae = TrainSettings {
        model: Some(ModelKind::Iwae),
        ..Default::default()
    }
    .resolve(&image())
    .unwrap();
    assert_eq!(
        (iwae.objective, iwae.train_samples),
        (Some(ObjectiveKind::Iw), Some(5))
    );
    assert_eq!(iwae.objective(1.0), Objective::Iwae);
    let vamp = TrainSettings {
        prior: Some(PriorKind::Vamp),
        ..Default::default()
    }
    .resolve(&image())
    .unwrap();
    assert_eq!(vamp.pseudo_inputs, Some(500));
    assert_eq!(
        vamp.model_config(&image()).unwrap().prior,
        Prior::Vamp { pseudo_inputs: 500 }
    );
}

#[test]
fn defaults_depend_on_the_data() {
    let s = TrainSettings::default().resolve(&image()).unwrap();
    assert_eq!(s.likelihood, Some(LikelihoodKind::Bernoulli));
    assert_eq!(s.scaler, Some(ScalerKind::MinMax));
    let table = DataKind::Table {
        columns: vec!["a".into()],
    };
    let s = TrainSettings::default().resolve(&table).unwrap();
    assert_eq!(s.likelihood, Some(LikelihoodKind::Gaussian));
    assert_eq!(s.scaler, Some(ScalerKind::Standard));
}

#[test]
fn absurd_values_name_their_flag() {
    let cases: Vec<(TrainSettings, &str)> = vec![
        (
            TrainSettings {
                latent: Some(0),
                ..Default::default()
            },
            "--latent",
        ),
        (
            TrainSettings {
                batch_size: Some(0),
                ..Default::default()
            },
            "--batch-size",
        ),
        (
            TrainSettings {
                lr: Some(0.0),
                ..Default::default()
            },
            "--lr",
        ),
        (
            TrainSettings {
                lr: Some(-1.0),
                ..Default::default()
            },
            "--lr",
        ),
        (
            TrainSettings {
                lr: Some(f64::NAN),
                ..Default::default()
            },
            "--lr",
        ),
        (
            TrainSettings {
                val_fraction: Some(1.0),
                ..Default::default()
            },
            "--val-fraction",
        ),
        (
            TrainSettings {
                val_fraction: Some(-0.5),
                ..Default::default()
            },
            "--val-fraction",
        ),
        (
            TrainSettings {
                epochs: Some(0),
                ..Default::default()
            },
            "--epochs",
        ),
        (
            TrainSettings {
                beta: Some(f64::INFINITY),
                ..Default::default()
            },
            "--beta",
        ),
        (
            TrainSettings {
                clip_grad: Some(-1.0),
                ..Default::default()
            },
            "--clip-grad",
        ),
        (
            TrainSettings {
                hidden: Some(vec![0]),
                ..Default::default()
            },
            "--hidden",
        ),
        (
            TrainSettings {
                image_size: Some([0, 5]),
                ..Default::default()
            },
            "--image-size",
        ),
    ];
    for (settings, flag) in cases {
        let err = settings.resolve(&image()).unwrap_err();
        assert!(err.to_string().contains(flag), "{flag}: {err}");
        assert!(err.is_input_error());
    }
}

#[test]
fn overlay_prefers_the_top_layer() {
    let file = TrainSettings {
        lr: Some(0.01),
        epochs: Some(3),
        ..Default::default()
    };
    let flags = TrainSettings {
        epochs: Some(5),
        ..Default::default()
    };
    let merged = file.overlay(flags);
    assert_eq!(merged.lr, Some(0.01));
    assert_eq!(merged.epochs, Some(5));
}

#[test]
fn toml_uses_flag_names_and_rejects_typos() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "batch-size = 64\nhidden = [500, 500]\nlikelihood = \"gaussian\"\n",
    )
    .unwrap();
    let s = TrainSettings::from_toml_file(&good).unwrap();
    assert_eq!(s.batch_size, Some(64));
    assert_eq!(s.hidden, Some(vec![500, 500]));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "batchsize = 64\n").unwrap();
    let err = TrainSettings::from_toml_file(&bad).unwrap_err().to_string();
    assert!(
        err.contains("bad.toml") && err.contains("batchsize"),
        "{err}"
    );
}

#[test]
fn an_encoder_mask_reads_as_its_flag_and_is_refused_where_it_cannot_apply() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(&file, "encoder-mask = \"random:0.3\"\n").unwrap();
    let s = TrainSettings::from_toml_file(&file).unwrap();
    assert_eq!(s.encoder_mask, Some(MaskSpec::Random(0.3)));
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["encoder-mask"], "random:0.3");
    let back: TrainSettings = serde_json::from_value(json).unwrap();
    assert_eq!(back, s);
    std::fs::write(&file, "encoder-mask = \"random:2\"\n").unwrap();
    let err = TrainSettings::from_toml_file(&file)
        .unwrap_err()
        .to_string();
    assert!(err.contains("random:2"), "{err}");

    let resolved = TrainSettings {
        encoder_mask: Some(MaskSpec::TopHalf),
        ..Default::default()
    }
    .resolve(&image())
    .unwrap();
    assert_eq!(resolved.encoder_mask, Some(MaskSpec::TopHalf));
    let table = DataKind::Table {
        columns: vec!["a".into(), "b".into()],
    };
    for (settings, kind, says) in [
        (MaskSpec::TopHalf, None, "table"),
        (
            MaskSpec::Random(0.2),
            Some(ModelKind::Cvae),
            "unconditional",
        ),
    ] {
        let settings = TrainSettings {
            encoder_mask: Some(settings),
            model: kind,
            ..Default::default()
        };
        let on = if kind.is_some() {
            image()
        } else {
            table.clone()
        };
        let err = settings.resolve(&on).unwrap_err().to_string();
        assert!(
            err.contains("--encoder-mask") && err.contains(says),
            "{err}"
        );
    }
    let ok = TrainSettings {
        encoder_mask: Some(MaskSpec::Random(0.2)),
        ..Default::default()
    };
    assert!(ok.resolve(&table).is_ok());
}

#[test]
fn resume_conflicts_ignore_epochs() {
    let saved = TrainSettings::default().resolve(&image()).unwrap();
    let given = TrainSettings {
        epochs: Some(20),
        lr: Some(1e-3),
        ..Default::default()
    };
    assert!(given.conflicts_with(&saved).is_empty());
    let given = TrainSettings {
        lr: Some(0.01),
        ..Default::default()
    };
    let conflicts = given.conflicts_with(&saved);
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].0, "--lr");
}

#[test]
fn a_fine_tuning_run_inherits_the_data_and_network_only() {
    let source = TrainSettings {
        data: Some("digits".into()),
        hidden: Some(vec![500, 500]),
        latent: Some(50),
        binarize: Some(Binarize::Dynamic),
        lr_schedule: Some(LrSchedule::Cosine),
        epochs: Some(480),
        seed: Some(3),
        ..Default::default()
    }
    .resolve(&image())
    .unwrap();
    let given = TrainSettings {
        init_from: Some("runs/wide".into()),
        objective: Some(ObjectiveKind::Iw),
        latent: Some(50),
        epochs: Some(20),
        ..Default::default()
    };
    let s = given.inheriting(&source).resolve(&image()).unwrap();
    assert_eq!(s.data.as_deref(), Some("digits"));
    assert_eq!(s.hidden, Some(vec![500, 500]));
    assert_eq!(s.binarize, Some(Binarize::Dynamic));
    assert_eq!((s.model, s.activation), (source.model, source.activation));
    // The training settings are the new run's own, defaults included.
    assert_eq!(s.epochs, Some(20));
    assert_eq!(s.objective, Some(ObjectiveKind::Iw));
    assert_eq!(s.train_samples, Some(5));
    assert_eq!(
        (s.lr_schedule, s.seed),
        (Some(LrSchedule::Constant), Some(0))
    );
    assert_eq!(s.init_from.as_deref(), Some(Path::new("runs/wide")));

    // A mixture prior: fitted after pretraining in a new run, kept as
    // given in one started from another's weights (unless it pretrains).
    let gmm = TrainSettings {
        prior: Some(PriorKind::Gmm),
        epochs: Some(10),
        ..Default::default()
    };
    assert_eq!(gmm.resolve(&image()).unwrap().mixture_fit_epoch(), Some(3));
    let tuned = TrainSettings {
        init_from: Some("runs/gmm".into()),
        ..gmm.clone()
    };
    let resolved = tuned.resolve(&image()).unwrap();
    assert_eq!(
        (resolved.pretrain_epochs, resolved.mixture_fit_epoch()),
        (Some(0), None)
    );
    let repretrained = TrainSettings {
        pretrain_epochs: Some(2),
        ..tuned
    };
    assert_eq!(
        repretrained.resolve(&image()).unwrap().mixture_fit_epoch(),
        Some(3)
    );
    assert_eq!(TrainSettings::default().mixture_fit_epoch(), None);
    // Every inherited name is a setting's (the settings refuse unknown keys).
    for key in INHERITED {
        let one = serde_json::json!({ *key: null });
        assert!(
            serde_json::from_value::<TrainSettings>(one).is_ok(),
            "{key}"
        );
    }
}

#[test]
fn parsers_accept_documented_forms() {
    assert_eq!(parse_image_size("28x32").unwrap(), [28, 32]);
    assert!(parse_image_size("28").is_err());
    assert_eq!(parse_sizes("500,500").unwrap(), vec![500, 500]);
    assert_eq!(parse_sizes("none").unwrap(), Vec::<usize>::new());
    assert!(parse_sizes("a,b").is_err());
}
