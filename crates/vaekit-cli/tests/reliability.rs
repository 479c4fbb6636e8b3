//! What a user meets in long real runs, through the binary: Ctrl-C and
//! SIGTERM, a second process on one run directory, sizes that do not fit
//! in memory, stopping rules, and CSV dialects.

mod common;

use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{bad_input, ok, text};

/// `vaekit ARGS` started in `dir`, its output kept.
fn start(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_vaekit"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `ready` holds (checked every 20 ms, for at most a minute).
fn wait_for(what: &str, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "waited a minute for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) on a child of this process.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
}

/// Waits for `child`: its status and what it wrote to stderr.
fn finish(child: Child) -> (ExitStatus, String) {
    let out = child.wait_with_output().unwrap();
    (out.status, text(&out.stderr))
}

fn metrics_lines(run: &Path) -> usize {
    std::fs::read_to_string(run.join("metrics.jsonl")).map_or(0, |t| t.lines().count())
}

/// The names in `dir` that a write left behind half-made.
fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect()
}

/// The epoch of the run's checkpoint, read through `vaekit info`.
fn epochs_done(dir: &Path, run: &str) -> usize {
    let info = ok(dir, &["info", run]);
    let line = info
        .lines()
        .find(|l| l.contains("epochs"))
        .unwrap_or_default();
    line.split(|c: char| !c.is_ascii_digit())
        .find(|w| !w.is_empty())
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no epochs in {info}"))
}

/// Resumes the run `run` in `dir` for one more epoch: its checkpoint is
/// whole and its folder free.
fn resumes_one_more_epoch(dir: &Path) {
    let done = epochs_done(dir, "run");
    let more = (done + 1).to_string();
    ok(
        dir,
        &["train", "--out", "run", "--resume", "--epochs", &more],
    );
    assert_eq!(epochs_done(dir, "run"), done + 1);
}

const LONG_RUN: [&str; 9] = [
    "train", "--data", "digits", "--out", "run", "--epochs", "1000000", "--hidden", "32",
];

#[test]
fn ctrl_c_stops_training_at_a_step_keeps_the_checkpoint_and_says_how_to_resume() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let child = start(dir.path(), &LONG_RUN);
    wait_for("two epochs", || metrics_lines(&run) >= 2);
    signal(&child, libc::SIGINT);
    let (status, err) = finish(child);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted by Ctrl-C"), "{err}");
    assert!(err.contains("vaekit train --out run --resume"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(temp_files(&run).is_empty());
    // The checkpoint is whole: the run goes on from it.
    assert!(epochs_done(dir.path(), "run") >= 2);
    resumes_one_more_epoch(dir.path());
}

#[test]
fn sigterm_stops_training_with_143_and_a_second_signal_quits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let child = start(dir.path(), &LONG_RUN);
    wait_for("an epoch", || metrics_lines(&run) >= 1);
    signal(&child, libc::SIGTERM);
    let (status, err) = finish(child);
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(err.contains("interrupted by SIGTERM"), "{err}");

    // Two signals in a row: the second ends the process without waiting
    // for the step, and no write is left half-made whenever it lands.
    let child = start(
        dir.path(),
        &["train", "--out", "run", "--resume", "--epochs", "1000000"],
    );
    // (Its own epochs: signals sent before it has set up its handling
    // would end it the default way.)
    let before = metrics_lines(&run);
    wait_for("two more epochs", || metrics_lines(&run) >= before + 2);
    signal(&child, libc::SIGINT);
    signal(&child, libc::SIGINT);
    let (status, err) = finish(child);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(temp_files(&run).is_empty(), "{:?}", temp_files(&run));
    resumes_one_more_epoch(dir.path());
}

#[test]
fn ctrl_c_ends_a_long_evaluation_at_once_with_no_output() {
    let dir = tempfile::tempdir().unwrap();
    ok(
        dir.path(),
        &[
            "train", "--data", "digits", "--out", "run", "--epochs", "1", "--quiet",
        ],
    );
    let child = start(
        dir.path(),
        &[
            "score",
            "--run",
            "run",
            "--samples",
            "100000",
            "--out",
            "scores.csv",
        ],
    );
    std::thread::sleep(Duration::from_millis(800));
    signal(&child, libc::SIGINT);
    let (status, err) = finish(child);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(!dir.path().join("scores.csv").exists());
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn a_second_process_on_a_run_directory_is_refused_with_the_first_ones_id() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let child = start(dir.path(), &LONG_RUN);
    wait_for("an epoch", || metrics_lines(&run) >= 1);
    let pid = format!("pid {}", child.id());
    bad_input(
        dir.path(),
        &["train", "--out", "run", "--resume", "--epochs", "2000000"],
        &["being written by another vaekit process", &pid],
    );
    bad_input(
        dir.path(),
        &["train", "--data", "digits", "--out", "run"],
        &["being written by another vaekit process", &pid],
    );
    signal(&child, libc::SIGINT);
    assert_eq!(finish(child).0.code(), Some(130));
    // Once it has ended, the folder is free again.
    resumes_one_more_epoch(dir.path());
}

#[test]
fn a_network_or_batch_too_large_for_memory_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value) in [("--latent", "1000000000"), ("--hidden", "300000,300000")] {
        let err = bad_input(
            dir.path(),
            &["train", "--data", "digits", "--out", "big", flag, value],
            &[
                "needs about",
                "TB",
                "of memory is available",
                "a smaller network",
            ],
        );
        assert!(!err.contains("memory allocation"), "{err}");
        assert!(!dir.path().join("big").exists());
    }
    // Many samples of z per example make every pass large too.
    let many = [
        "train",
        "--data",
        "digits",
        "--out",
        "big",
        "--train-samples",
        "10000",
        "--batch-size",
        "1000",
        "--hidden",
        "4000,4000",
    ];
    bad_input(dir.path(), &many, &["--batch-size", "for one pass"]);
}

#[test]
fn early_stopping_and_max_time_end_runs_and_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(
        dir.path(),
        &[
            "train",
            "--data",
            "digits",
            "--out",
            "es",
            "--epochs",
            "2000",
            "--early-stop",
            "3",
            "--min-delta",
            "0.2",
        ],
    );
    assert!(out.contains("stopped early after epoch"), "{out}");
    let config = std::fs::read_to_string(dir.path().join("es/config.json")).unwrap();
    assert!(config.contains(r#""early-stop": 3"#) && config.contains(r#""min-delta": 0.2"#));
    let metrics = std::fs::read_to_string(dir.path().join("es/metrics.jsonl")).unwrap();
    assert!(
        metrics
            .lines()
            .last()
            .unwrap()
            .contains(r#""stopped":"early-stop""#)
    );
    assert!(metrics.lines().count() < 2000);

    let out = ok(
        dir.path(),
        &[
            "train",
            "--data",
            "digits",
            "--out",
            "mt",
            "--epochs",
            "1000000",
            "--max-time",
            "1s",
        ],
    );
    assert!(out.contains("another epoch would pass --max-time"), "{out}");
    let config = std::fs::read_to_string(dir.path().join("mt/config.json")).unwrap();
    assert!(config.contains(r#""max-time": "1s""#), "{config}");

    bad_input(
        dir.path(),
        &[
            "train",
            "--data",
            "digits",
            "--out",
            "x",
            "--max-time",
            "soon",
        ],
        &["--max-time", "45m"],
    );
    bad_input(
        dir.path(),
        &[
            "train",
            "--data",
            "digits",
            "--out",
            "x",
            "--min-delta",
            "1",
        ],
        &["--min-delta", "--early-stop"],
    );
    bad_input(
        dir.path(),
        &[
            "train",
            "--data",
            "digits",
            "--out",
            "x",
            "--early-stop",
            "2",
            "--val-fraction",
            "0",
        ],
        &["--early-stop", "--val-fraction"],
    );
}

#[test]
fn semicolon_tab_and_pipe_tables_are_sniffed_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let mut table = String::from("\u{feff}height;weight;colour\r\n");
    for i in 0..60 {
        let colour = ["red", "green", "blue"][i % 3];
        table.push_str(&format!("{};{};{colour}\r\n", 150 + i, 50 + i / 2));
    }
    std::fs::write(dir.path().join("semi.csv"), &table).unwrap();
    std::fs::write(dir.path().join("tabs.txt"), table.replace(';', "\t")).unwrap();
    std::fs::write(dir.path().join("pipes.csv"), table.replace(';', "|")).unwrap();
    for (file, shown) in [
        ("semi.csv", "';' (semicolon)"),
        ("tabs.txt", "separated by tab"),
        ("pipes.csv", "'|' (pipe)"),
    ] {
        let info = ok(dir.path(), &["info", file]);
        assert!(info.contains(shown), "{file}: {info}");
        assert!(info.contains("height") && info.contains("colour"), "{info}");
    }
    ok(
        dir.path(),
        &[
            "train", "--data", "semi.csv", "--out", "semi", "--epochs", "2", "--quiet",
        ],
    );
    let sampled = ok(
        dir.path(),
        &["sample", "--run", "semi", "--n", "3", "--out", "s.csv"],
    );
    assert!(!sampled.contains("error"));
    // Given, the delimiter is used as it is: a comma splits nothing here,
    // and the message says which would.
    bad_input(
        dir.path(),
        &["info", "semi.csv", "--delimiter", ","],
        &["height;weight;colour", "is one column", "--delimiter ';'"],
    );
    bad_input(
        dir.path(),
        &["info", "semi.csv", "--delimiter", "ab"],
        &["not a delimiter"],
    );
    bad_input(
        dir.path(),
        &["info", "digits", "--delimiter", ";"],
        &["--delimiter", "CSV"],
    );
}

#[test]
fn a_read_only_folder_is_a_clear_error_that_leaves_nothing() {
    // SAFETY: geteuid(2) has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("skipped: running as root, which writes into read-only folders anyway");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = common::vaekit(
        dir.path(),
        &[
            "train",
            "--data",
            "digits",
            "--out",
            "locked/run",
            "--epochs",
            "1",
        ],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("locked/run") && !err.contains("panicked"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(&locked).unwrap().count(), 0);
}

#[test]
fn ctrl_c_stops_a_text_run_keeping_its_last_finished_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = "the cat sat on the mat\na dog ran in the park\nthe dog sat\n".repeat(40);
    std::fs::write(dir.path().join("c.txt"), corpus).unwrap();
    let run = dir.path().join("run");
    let args = [
        "train", "--data", "c.txt", "--out", "run", "--epochs", "100000", "--hidden", "16",
    ];
    let child = start(dir.path(), &args);
    wait_for("an epoch", || metrics_lines(&run) >= 1);
    signal(&child, libc::SIGINT);
    let (status, err) = finish(child);
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("keeps the weights of epoch"), "{err}");
    assert!(run.join("model.safetensors").is_file() && temp_files(&run).is_empty());
    ok(
        dir.path(),
        &["sample", "--run", "run", "--n", "2", "--out", "s.txt"],
    );
}
