//! Run directories saved by an earlier vaekit, one of every model variant
//! (`tests/fixtures/runs/`, made by `tests/fixtures/make.sh` at the commit in
//! `runs/MADE_BY`), must keep loading, give the numbers that code gave them
//! (`tests/fixtures/expected.json`), and resume to the epoch that an
//! uninterrupted run of that code reached. A change to the library that moves
//! a weight's name, a config field or a score fails here.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The scores agree to this many nats: the same code gives the same bits, and
/// this leaves room only for a different order of floating-point sums.
const TOLERANCE: f64 = 1e-4;

/// The resumed epoch trains for a whole epoch, which carries a different
/// order of sums through every step: a kernel that adds its products in
/// another order (the posterior's two heads as one product, at 9e38377)
/// moved the batch-normalized run's resumed epoch by 3.5e-4 nats; this
/// bound leaves room for rounding of that size and no more.
const RESUMED_TOLERANCE: f64 = 2e-3;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A copy of the fixtures (runs and the table they read) to work in, so that
/// resuming does not touch the committed runs.
fn working_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary folder");
    copy_tree(&fixtures(), dir.path());
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn vaekit_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_vaekit"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the vaekit binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "vaekit {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}):\n{stdout}"))
}

fn number(value: &serde_json::Value, path: &[&str]) -> f64 {
    let mut v = value;
    for key in path {
        v = &v[*key];
    }
    v.as_f64()
        .unwrap_or_else(|| panic!("no number at {path:?} in {value}"))
}

fn assert_close(variant: &str, what: &str, got: f64, expected: f64) {
    let tolerance = match what.starts_with("the resumed epoch") {
        true => RESUMED_TOLERANCE,
        false => TOLERANCE,
    };
    assert!(
        (got - expected).abs() <= tolerance,
        "{variant}: {what} is {got}, the saving code gave {expected}"
    );
}

/// Evaluates the saved run (ELBO and the importance-weighted estimate), then
/// resumes it for one more epoch and compares with the uninterrupted run.
fn check(variant: &str) {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
            .unwrap();
    let expected = &expected[variant];
    assert!(expected.is_object(), "expected.json has no {variant}");
    let dir = working_copy();
    let run = format!("runs/{variant}");

    let eval = vaekit_json(dir.path(), &["eval", "--run", &run, "--json"]);
    for term in ["neg_elbo", "recon", "kl"] {
        assert_close(
            variant,
            term,
            number(&eval, &[term]),
            number(expected, &["eval", term]),
        );
    }
    // A table's reconstruction is reported by column too, and the columns
    // add up to the whole.
    let blocks = eval["recon_by_block"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    if variant == "table" {
        assert_eq!(blocks.len(), 13, "{eval}");
        let sum: f64 = blocks.iter().map(|b| number(b, &["recon"])).sum();
        assert_close(
            variant,
            "the columns' reconstruction",
            sum,
            number(&eval, &["recon"]),
        );
    } else {
        assert!(blocks.is_empty(), "an image is one block: {eval}");
    }
    let iw = vaekit_json(
        dir.path(),
        &["eval", "--run", &run, "--iw-samples", "20", "--json"],
    );
    assert_close(
        variant,
        "the IW estimate",
        number(&iw, &["iw", "nll"]),
        number(expected, &["iw", "iw", "nll"]),
    );

    let epochs = number(expected, &["epochs"]) as usize;
    let more = (epochs + 1).to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_vaekit"))
        .args(["train", "--out", &run, "--resume", "--epochs", &more, "-q"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{variant}: resume failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metrics = std::fs::read_to_string(dir.path().join(&run).join("metrics.jsonl")).unwrap();
    let lines: Vec<&str> = metrics.lines().collect();
    assert_eq!(lines.len(), epochs + 1, "{variant}: one line per epoch");
    let last: serde_json::Value = serde_json::from_str(lines[epochs]).unwrap();
    let straight = &expected["resumed_last_epoch"];
    assert_eq!(last["epoch"], straight["epoch"]);
    assert_close(
        variant,
        "the resumed epoch's training -ELBO",
        number(&last, &["train_neg_elbo"]),
        number(straight, &["train_neg_elbo"]),
    );
    assert_close(
        variant,
        "the resumed epoch's validation -ELBO",
        number(&last, &["val", "neg_elbo"]),
        number(straight, &["val", "neg_elbo"]),
    );
}

#[test]
fn an_mlp_run_loads_scores_and_resumes() {
    check("mlp");
}

#[test]
fn a_conv_run_loads_scores_and_resumes() {
    check("conv");
}

#[test]
fn a_hierarchical_run_loads_scores_and_resumes() {
    check("hvae");
}

#[test]
fn a_vamp_prior_run_loads_scores_and_resumes() {
    check("vamp");
}

#[test]
fn a_mixture_prior_run_loads_scores_and_resumes() {
    check("gmm");
}

#[test]
fn a_conditional_run_loads_scores_and_resumes() {
    check("cvae");
}

#[test]
fn an_iwae_run_loads_scores_and_resumes() {
    check("iwae");
}

#[test]
fn a_batch_normalized_gaussian_run_loads_scores_and_resumes() {
    check("bn-gaussian");
}

#[test]
fn a_table_run_loads_scores_and_resumes() {
    check("table");
}
