use super::*;
use crate::run::Run;

#[test]
fn warmup_ramps_linearly_then_holds() {
    assert_eq!(warmup_beta(2.0, 0.0, 0, 10), 2.0);
    assert!((warmup_beta(1.0, 2.0, 0, 10) - 0.05).abs() < 1e-12);
    assert!((warmup_beta(1.0, 2.0, 9, 10) - 0.5).abs() < 1e-12);
    assert_eq!(warmup_beta(1.0, 2.0, 19, 10), 1.0);
    assert_eq!(warmup_beta(1.0, 2.0, 500, 10), 1.0);
}

/// Rows of `values` with `dim` values each.
fn rows(values: &[f32], dim: usize) -> Vec<&[f32]> {
    values.chunks(dim).collect()
}

#[test]
fn the_encoder_sees_about_half_the_rows_with_the_mask_filled_in() {
    let device = Device::default();
    let kind = DataKind::Image {
        channels: 1,
        height: 4,
        width: 2,
    };
    let (n, dim) = (400, 8);
    let values: Vec<f32> = (0..n * dim).map(|i| 1.0 + i as f32).collect();
    let x = Tensor::<2>::from_data(TensorData::new(values.clone(), [n, dim]), &device);
    let fill: Vec<f32> = (0..dim).map(|j| -(j as f32)).collect();
    let mut rng = random::seeded(7, Stream::Train);
    let seen = encoder_view(&x, MaskSpec::TopHalf, &kind, &fill, &mut rng).unwrap();
    let seen = seen.into_data().try_into_vec::<f32>().unwrap();
    let mut hidden_rows = 0;
    for (got, whole) in rows(&seen, dim).into_iter().zip(rows(&values, dim)) {
        if got == whole {
            continue;
        }
        // The top two rows of pixels (the first four values) take the
        // fill; the bottom half is the example's own.
        assert_eq!(&got[..4], &fill[..4]);
        assert_eq!(&got[4..], &whole[4..]);
        hidden_rows += 1;
    }
    // Binomial(400, 1/2): 200 +- 10 (one standard deviation).
    assert!((150..=250).contains(&hidden_rows), "{hidden_rows} of {n}");

    // random:P hides about P of the values of the rows it picks.
    let mut rng = random::seeded(8, Stream::Train);
    let seen = encoder_view(&x, MaskSpec::Random(0.25), &kind, &fill, &mut rng).unwrap();
    let seen = seen.into_data().try_into_vec::<f32>().unwrap();
    let changed = seen.iter().zip(&values).filter(|(a, b)| a != b).count();
    let share = changed as f64 / (n * dim) as f64;
    assert!((share - 0.125).abs() < 0.03, "{share}");
    for (i, (&got, &whole)) in seen.iter().zip(&values).enumerate() {
        assert!(got == whole || got == fill[i % dim]);
    }
}

/// A small, quick model on the embedded digits.
fn digits_run(epochs: usize) -> TrainSettings {
    TrainSettings {
        data: Some("digits".into()),
        hidden: Some(vec![32]),
        latent: Some(4),
        epochs: Some(epochs),
        batch_size: Some(100),
        seed: Some(5),
        ..TrainSettings::default()
    }
}

fn request(settings: TrainSettings, out: &Path, resume: bool) -> TrainRequest {
    TrainRequest {
        settings,
        out: out.to_path_buf(),
        resume,
        device: Device::flex(),
    }
}

fn saved_state(dir: &Path) -> TrainState {
    load_checkpoint::<TrainState>(&dir.join(files::CHECKPOINT))
        .unwrap()
        .state
}

/// The names of the temporary files left in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect()
}

#[test]
fn a_full_disk_while_checkpointing_keeps_the_previous_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    train(request(digits_run(1), &out, false), &mut Silent).unwrap();
    let before = std::fs::read(out.join(files::CHECKPOINT)).unwrap();

    crate::io::failing::fail_writes_to(Some(files::CHECKPOINT));
    let failed = train(request(digits_run(2), &out, true), &mut Silent);
    crate::io::failing::fail_writes_to(None);
    let message = failed.unwrap_err().to_string();
    assert!(
        message.contains("No space left") && message.contains(files::CHECKPOINT),
        "{message}"
    );
    assert_eq!(std::fs::read(out.join(files::CHECKPOINT)).unwrap(), before);
    assert!(temp_files(&out).is_empty(), "{:?}", temp_files(&out));

    // With room again, the run goes on from the checkpoint it kept, to the
    // weights of a run that never failed.
    train(request(digits_run(2), &out, true), &mut Silent).unwrap();
    assert_eq!(saved_state(&out).epoch, 2);
    let straight = dir.path().join("straight");
    train(request(digits_run(2), &straight, false), &mut Silent).unwrap();
    assert_eq!(
        std::fs::read(out.join(files::LAST)).unwrap(),
        std::fs::read(straight.join(files::LAST)).unwrap()
    );
}

/// Asks to stop after `after` steps, as a Ctrl-C would.
struct StopAfter {
    after: usize,
    steps: usize,
}

impl TrainObserver for StopAfter {
    fn on_step(&mut self, _step: usize, _output: &StepOutput) {
        self.steps += 1;
    }
    fn stop_requested(&mut self) -> bool {
        self.steps >= self.after
    }
}

#[test]
fn an_interrupted_run_keeps_its_last_finished_epoch_and_resumes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // 14 steps an epoch (1350 rows, batches of 100): stop in the second.
    let mut stop = StopAfter {
        after: 20,
        steps: 0,
    };
    let e = train(request(digits_run(3), &out, false), &mut stop).unwrap_err();
    assert!(matches!(e, Error::Interrupted { epochs: 1 }), "{e}");
    assert_eq!(saved_state(&out).epoch, 1);
    assert_eq!(
        read_metrics::<EpochMetrics>(&out.join(files::METRICS))
            .unwrap()
            .len(),
        1
    );
    train(request(digits_run(3), &out, true), &mut Silent).unwrap();
    let straight = dir.path().join("straight");
    train(request(digits_run(3), &straight, false), &mut Silent).unwrap();
    assert_eq!(
        std::fs::read(out.join(files::LAST)).unwrap(),
        std::fs::read(straight.join(files::LAST)).unwrap()
    );

    // Interrupted before any epoch ended, a new run leaves nothing.
    let early = dir.path().join("early");
    let mut stop = StopAfter { after: 1, steps: 0 };
    let e = train(request(digits_run(3), &early, false), &mut stop).unwrap_err();
    assert!(matches!(e, Error::Interrupted { epochs: 0 }), "{e}");
    assert!(!early.exists());
}

#[test]
fn early_stopping_ends_a_run_that_stops_improving_and_resume_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let settings = TrainSettings {
        early_stop: Some(2),
        min_delta: Some(0.5),
        lr: Some(3e-3),
        ..digits_run(400)
    };
    let outcome = train(request(settings, &out, false), &mut Silent).unwrap();
    assert_eq!(outcome.stopped, Some(StopReason::EarlyStop));
    let metrics = &outcome.metrics;
    let last = metrics.last().unwrap();
    assert!(last.epoch < 400, "{}", last.epoch);
    assert_eq!(last.stopped, Some(StopReason::EarlyStop));
    // The rule, checked from the scores: the last two epochs were not better
    // by 0.5 nats than the best before them, and every earlier epoch was
    // within two of one that was.
    let val = |m: &EpochMetrics| m.val.as_ref().unwrap().neg_elbo;
    let state = saved_state(&out);
    let plateau = state.plateau.unwrap();
    assert_eq!(last.epoch - plateau.epoch, 2);
    assert_eq!(plateau.neg_elbo, val(&metrics[plateau.epoch - 1]));
    for m in &metrics[plateau.epoch..] {
        assert!(val(m) >= plateau.neg_elbo - 0.5);
    }
    let saved: TrainSettings = Run::open(&out).unwrap().config.settings;
    assert_eq!((saved.early_stop, saved.min_delta), (Some(2), Some(0.5)));
    let lines = std::fs::read_to_string(out.join(files::METRICS)).unwrap();
    assert!(
        lines
            .lines()
            .last()
            .unwrap()
            .contains(r#""stopped":"early-stop""#)
    );

    // Resumed with only --epochs, the rule still holds: the run stops
    // again as soon as it has not improved for two epochs.
    let resumed = train(request(digits_run(400), &out, true), &mut Silent).unwrap();
    assert_eq!(resumed.stopped, Some(StopReason::EarlyStop));
    let state = saved_state(&out);
    assert_eq!(state.epoch - state.plateau.unwrap().epoch, 2);
    assert!(state.epoch > last.epoch);

    // No validation rows, nothing to watch.
    let none = dir.path().join("none");
    let settings = TrainSettings {
        early_stop: Some(2),
        val_fraction: Some(0.0),
        ..digits_run(5)
    };
    let e = train(request(settings, &none, false), &mut Silent).unwrap_err();
    assert!(e.to_string().contains("--val-fraction"), "{e}");
    assert!(!none.exists());
}

#[test]
fn max_time_ends_the_run_at_a_finished_epoch_counted_over_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let timed = |max: &str| TrainSettings {
        max_time: Some(max.into()),
        ..digits_run(1_000_000)
    };
    let outcome = train(request(timed("0.5"), &out, false), &mut Silent).unwrap();
    assert_eq!(outcome.stopped, Some(StopReason::MaxTime));
    let first = saved_state(&out);
    assert_eq!(first.epoch, outcome.metrics.len());
    assert_eq!(
        outcome.metrics.last().unwrap().stopped,
        Some(StopReason::MaxTime)
    );
    assert!(first.trained_seconds > 0.0);
    // A longer limit on resuming goes on, counting the time already spent.
    let resumed = train(request(timed("1"), &out, true), &mut Silent).unwrap();
    assert_eq!(resumed.stopped, Some(StopReason::MaxTime));
    let second = saved_state(&out);
    assert!(second.epoch > first.epoch && second.trained_seconds > first.trained_seconds);

    // A first epoch longer than the limit keeps nothing, and says so.
    let short = dir.path().join("short");
    let e = train(request(timed("0.000001"), &short, false), &mut Silent).unwrap_err();
    assert!(e.to_string().contains("--max-time"), "{e}");
    assert!(!short.exists());
}

#[test]
fn a_locked_run_directory_refuses_a_second_writer_with_its_process_id() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    train(request(digits_run(1), &out, false), &mut Silent).unwrap();
    let held = RunLock::take(&out).unwrap();
    let pid = std::process::id().to_string();
    for resume in [true, false] {
        let e = train(request(digits_run(2), &out, resume), &mut Silent).unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains(&pid) && message.contains("another vaekit process"),
            "{message}"
        );
    }
    assert_eq!(saved_state(&out).epoch, 1);
    drop(held);
    train(request(digits_run(2), &out, true), &mut Silent).unwrap();
    assert_eq!(saved_state(&out).epoch, 2);
}
