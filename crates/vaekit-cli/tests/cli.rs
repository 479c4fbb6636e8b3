//! The `vaekit` binary, run for real in temporary folders: every command on
//! good input, and every kind of bad input the foundation promises to catch
//! (exit code 2, a message naming the file or setting, no panic, nothing written).
//!
//! Over 800 lines on purpose: each file under tests/ is its own test binary,
//! and these tests share one trained run ([`shared_run`]) and their helpers;
//! split, every part would train and link its own.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;
use common::{bad_input, ok, vaekit};

/// The quick training settings used throughout.
const QUICK: &[&str] = &[
    "--hidden",
    "32",
    "--latent",
    "4",
    "--batch-size",
    "100",
    "-q",
];

fn train_args<'a>(data: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["train", "--data", data, "--out", out];
    args.extend_from_slice(QUICK);
    args.extend_from_slice(extra);
    if !extra.contains(&"--epochs") {
        args.extend_from_slice(&["--epochs", "2"]);
    }
    args
}

/// One trained digits run shared by the read-only command tests.
fn shared_run() -> &'static Path {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        ok(dir.path(), &train_args("digits", "run", &[]));
        let path = dir.path().join("run");
        (dir, path)
    });
    path
}

fn idx(type_byte: u8, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0, 0, type_byte, dims.len() as u8];
    for d in dims {
        bytes.extend_from_slice(&d.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    bytes
}

fn npy_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let payload: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    common::npy("<f4", shape, &payload)
}

fn no_run_made(dir: &Path) {
    assert!(
        !dir.join("run").exists(),
        "a failed command left a run directory behind"
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    let dir = tempfile::tempdir().unwrap();
    assert!(ok(dir.path(), &["--help"]).contains("Examples"));
    for command in [
        "train",
        "eval",
        "sample",
        "reconstruct",
        "encode",
        "score",
        "info",
        "demo",
        "impute",
        "probe",
        "augment",
        "latent",
        "interpolate",
        "traverse",
        "cluster",
    ] {
        let help = ok(dir.path(), &[command, "--help"]);
        assert!(
            help.contains("Example"),
            "{command} --help has no example:\n{help}"
        );
        assert!(help.contains(&format!("vaekit {command}")), "{command}");
    }
    // --model's help names every model the library accepts.
    let help = ok(dir.path(), &["train", "--help"]);
    let model = help
        .split("--model <MODEL>")
        .nth(1)
        .and_then(|rest| rest.split("\n      --").next())
        .expect("train --help describes --model");
    let model = model.split_whitespace().collect::<Vec<_>>().join(" ");
    for kind in vaekit::settings::ModelKind::ALL {
        assert!(
            model.contains(&format!("{kind} (")),
            "--model's help leaves out {kind}:\n{model}"
        );
    }
}

#[test]
fn train_then_eval_sample_reconstruct_encode_and_info() {
    let run = shared_run();
    let dir = run.parent().unwrap();
    for name in [
        "config.json",
        "model.safetensors",
        "best.safetensors",
        "checkpoint.safetensors",
        "metrics.jsonl",
        "loss.png",
    ] {
        assert!(run.join(name).is_file(), "{name}");
    }

    let json: serde_json::Value =
        serde_json::from_str(ok(dir, &["eval", "--run", "run", "--json"]).trim()).unwrap();
    for key in ["neg_elbo", "recon", "kl", "n", "split"] {
        assert!(json.get(key).is_some(), "eval --json lacks {key}: {json}");
    }
    assert_eq!(json["split"], "test");
    assert_eq!(json["n"], 297);
    let (neg, recon, kl) = (
        json["neg_elbo"].as_f64().unwrap(),
        json["recon"].as_f64().unwrap(),
        json["kl"].as_f64().unwrap(),
    );
    assert!((neg - recon - kl).abs() < 1e-6 * neg.abs().max(1.0));
    assert!(neg > 0.0 && kl >= 0.0);
    let kl_per_dim: Vec<f64> = json["kl_per_dim"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(kl_per_dim.len(), 4);
    assert!((kl_per_dim.iter().sum::<f64>() - kl).abs() < 1e-3 * kl.max(1.0));
    let active = json["active_units"].as_u64().unwrap();
    assert!((1..=4).contains(&active), "{json}");

    // The importance-weighted estimate: tighter with more samples, and with
    // one sample the ELBO's estimator (recon + a sampled KL).
    let iw = |k: &str| -> serde_json::Value {
        let args = [
            "eval",
            "--run",
            "run",
            "--json",
            "--limit",
            "100",
            "--iw-samples",
            k,
        ];
        let json: serde_json::Value = serde_json::from_str(ok(dir, &args).trim()).unwrap();
        assert_eq!(json["n"], 100);
        json["iw"].clone()
    };
    let (one, many) = (iw("1"), iw("200"));
    assert_eq!(many["samples"], 200);
    let nll = |v: &serde_json::Value| v["nll"].as_f64().unwrap();
    assert!(nll(&many) < nll(&one) - 0.05, "K=200 {many} vs K=1 {one}");
    let bits = nll(&many) / (64.0 * std::f64::consts::LN_2);
    assert!((many["bits_per_dim"].as_f64().unwrap() - bits).abs() < 1e-9);
    assert!(many["std_error"].as_f64().unwrap() > 0.0);
    let text_iw = ok(
        dir,
        &[
            "eval",
            "--run",
            "run",
            "--limit",
            "20",
            "--iw-samples",
            "30",
        ],
    );
    assert!(
        text_iw.contains("-log p(x)")
            && text_iw.contains("K = 30")
            && text_iw.contains("active units"),
        "{text_iw}"
    );
    bad_input(
        dir,
        &["eval", "--run", "run", "--iw-samples", "0"],
        &["--iw-samples"],
    );

    let text_eval = ok(dir, &["eval", "--run", "run", "--split", "val"]);
    assert!(
        text_eval.contains("-ELBO") && text_eval.contains("val"),
        "{text_eval}"
    );

    let said = ok(
        dir,
        &["sample", "--run", "run", "--n", "16", "--out", "s.png"],
    );
    assert!(said.contains("wrote 16 samples"), "{said}");
    let png = image::open(dir.join("s.png")).unwrap();
    assert!(png.width() >= 4 * 8 && png.height() >= 4 * 8);
    ok(
        dir,
        &["reconstruct", "--run", "run", "--n", "8", "--out", "r.png"],
    );
    assert!(dir.join("r.png").is_file());

    ok(dir, &["encode", "--run", "run", "--out", "codes.csv"]);
    let csv = std::fs::read_to_string(dir.join("codes.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "mu_0,mu_1,mu_2,mu_3,logvar_0,logvar_1,logvar_2,logvar_3,label"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1797, "every digit, in input order");
    // The first digit of the embedded file is a 0, the second a 1.
    assert!(rows[0].ends_with(",0") && rows[1].ends_with(",1"));
    ok(
        dir,
        &[
            "encode",
            "--run",
            "run",
            "--split",
            "test",
            "--out",
            "codes.npy",
        ],
    );
    let npy = std::fs::read(dir.join("codes.npy")).unwrap();
    assert!(npy.starts_with(b"\x93NUMPY"));
    let header = String::from_utf8_lossy(&npy[10..80]);
    assert!(header.contains("'shape': (297, 9"), "{header}");

    let info = ok(dir, &["info", "run"]);
    assert!(
        info.contains("latent 4") && info.contains("2 of 2 epochs"),
        "{info}"
    );
    let info = ok(dir, &["info", "digits"]);
    assert!(
        info.contains("8x8 grayscale") && info.contains("1500") && info.contains("297"),
        "{info}"
    );
    let info: serde_json::Value =
        serde_json::from_str(&ok(dir, &["info", "digits", "--json"])).unwrap();
    assert_eq!(info["what"], "source");
}

#[test]
fn spinning_or_sleeping_threads_train_to_the_same_weights() {
    // --no-spin changes only how idle threads wait, never a result.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &train_args("digits", "spin", &["--threads", "2"]));
    ok(
        d,
        &train_args("digits", "sleep", &["--threads", "2", "--no-spin"]),
    );
    let weights = |run: &str| std::fs::read(d.join(run).join("model.safetensors")).unwrap();
    assert_eq!(weights("spin"), weights("sleep"));
}

/// The binary trains on a worker of the pool, where each step runs beside
/// the preparation of the next batch (its rows, mask and noise): a run
/// resumed from its checkpoint still ends with the weights of one trained
/// straight through, bit for bit, for a batch-normalized MLP and for a
/// conditional model of a mixed table with missing cells.
#[test]
fn a_resumed_run_ends_bit_for_bit_where_a_straight_run_ends() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("colour,size,count,label\n");
    for i in 0..240 {
        let size = match i % 17 {
            0 => "NA".to_string(),
            _ => format!("{:.2}", (i % 23) as f64 * 0.7 + (i % 3) as f64),
        };
        let (colour, label) = (["red", "green", "blue"][i % 3], ["yes", "no"][(i / 3) % 2]);
        csv += &format!("{colour},{size},{},{label}\n", i % 7);
    }
    std::fs::write(d.join("t.csv"), csv).unwrap();
    let runs = [
        ("bn", vec!["--data", "digits", "--batch-norm"]),
        (
            "table",
            vec![
                "--data",
                "t.csv",
                "--label-column",
                "label",
                "--model",
                "cvae",
            ],
        ),
    ];
    for (name, data) in runs {
        let (straight, split) = (format!("{name}-straight"), format!("{name}-split"));
        for (out, epochs) in [(&straight, "3"), (&split, "1")] {
            let mut args = vec!["train", "--out", out, "--epochs", epochs, "--hidden", "16"];
            args.extend(["--latent", "3", "--batch-size", "50", "--seed", "5", "-q"]);
            args.extend(&data);
            ok(d, &args);
        }
        ok(
            d,
            &["train", "--out", &split, "--resume", "--epochs", "3", "-q"],
        );
        let weights = |run: &str| std::fs::read(d.join(run).join("model.safetensors")).unwrap();
        assert!(
            weights(&straight) == weights(&split),
            "{name}: the resumed run's weights differ from the straight run's"
        );
    }
}

#[test]
fn config_file_and_resume_work_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("s.toml"),
        "data = \"digits\"\nhidden = [16]\nlatent = 3\nbatch-size = 200\nepochs = 5\n\
         model = \"hvae\"\nobjective = \"iw\"\ntrain-samples = 2\ntop-latent = 2\ntop-hidden = [8]\n\
         lr-schedule = \"exp\"\nlr-final = 1e-4\n",
    )
    .unwrap();
    ok(
        d,
        &[
            "train", "--config", "s.toml", "--epochs", "1", "--out", "run", "-q",
        ],
    );
    let config = run_config(&d.join("run"));
    assert_eq!(config["settings"]["latent"], 3);
    assert_eq!(config["settings"]["epochs"], 1, "flags override the file");
    ok(
        d,
        &["train", "--out", "run", "--resume", "--epochs", "2", "-q"],
    );
    let metrics = std::fs::read_to_string(d.join("run/metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2);
    // The hierarchical model the file asked for works with every command.
    let info = ok(d, &["info", "run"]);
    assert!(
        info.contains("hvae")
            && info.contains("z2 of 2")
            && info.contains("IWAE bound, 2 samples")
            && info.contains("lr 0.001 (exp schedule to 0.0001)"),
        "{info}"
    );
    let eval = ok(
        d,
        &["eval", "--run", "run", "--iw-samples", "5", "--limit", "10"],
    );
    assert!(
        eval.contains("K = 5") && eval.contains("of 5 (variance"),
        "{eval}"
    );
    ok(d, &["sample", "--run", "run", "--n", "4", "--out", "s.png"]);
    ok(
        d,
        &["reconstruct", "--run", "run", "--n", "4", "--out", "r.png"],
    );
    ok(d, &["encode", "--run", "run", "--out", "codes.csv"]);

    // Fine-tuning it on the ELBO: the network comes from the run, the
    // objective and schedule are the new run's own.
    ok(
        d,
        &[
            "train",
            "--init-from",
            "run",
            "--out",
            "tuned",
            "--objective",
            "elbo",
            "--epochs",
            "1",
            "-q",
        ],
    );
    let info = ok(d, &["info", "tuned"]);
    assert!(
        info.contains("hvae")
            && info.contains("z2 of 2")
            && info.contains("ELBO with beta 1")
            && info.contains("lr 0.001,")
            && info.contains("started from the weights of run"),
        "{info}"
    );
    bad_input(
        d,
        &[
            "train",
            "--init-from",
            "run",
            "--out",
            "t2",
            "--latent",
            "7",
            "-q",
        ],
        &[
            "different model",
            "latent_dim is 3 there, 7 here",
            "--init-from",
        ],
    );
    bad_input(
        d,
        &["train", "--init-from", "nowhere", "--out", "t2", "-q"],
        &["nowhere", "does not exist"],
    );
    bad_input(
        d,
        &["train", "--init-from", "run", "--out", "run", "--resume"],
        &["--init-from", "--resume"],
    );
    assert!(!d.join("t2").exists());
}

#[test]
fn the_demo_writes_its_pictures_and_a_test_score() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(dir.path(), &["demo", "--out", "demo", "-q"]);
    for name in [
        "samples.png",
        "reconstructions.png",
        "loss.png",
        "model.safetensors",
    ] {
        assert!(dir.path().join("demo").join(name).is_file(), "{name}");
    }
    assert!(out.contains("test -ELBO"), "{out}");
    let score: f64 = out
        .lines()
        .find(|l| l.starts_with("test -ELBO"))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok())
        .unwrap();
    // The untrained model scores about 44 nats on these digits; training must help.
    assert!(score < 30.0, "demo test -ELBO {score}");
}

#[test]
fn missing_and_empty_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    bad_input(d, &train_args("nope.csv", "run", &[]), &["nope.csv"]);
    std::fs::write(d.join("empty.csv"), b"").unwrap();
    bad_input(
        d,
        &train_args("empty.csv", "run", &[]),
        &["empty.csv", "empty"],
    );
    no_run_made(d);
}

#[test]
fn broken_idx_files_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("magic.idx"),
        b"\x01\x02\x08\x03\0\0\0\x01\0\0\0\x01\0\0\0\x01\x05",
    )
    .unwrap();
    bad_input(
        d,
        &train_args("magic.idx", "run", &[]),
        &["magic.idx", "00 00"],
    );
    std::fs::write(d.join("short.idx"), idx(0x08, &[10, 2, 2], &[7; 12])).unwrap();
    bad_input(
        d,
        &train_args("short.idx", "run", &[]),
        &["short.idx", "truncated"],
    );
    std::fs::write(d.join("images.idx"), idx(0x08, &[3, 2, 2], &[9; 12])).unwrap();
    std::fs::write(d.join("labels.idx"), idx(0x08, &[2], &[0, 1])).unwrap();
    bad_input(
        d,
        &train_args("images.idx", "run", &["--labels", "labels.idx"]),
        &["labels.idx", "3", "2"],
    );
    no_run_made(d);
}

#[test]
fn bad_tables_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A column of words is categorical, but not when its every value
    // differs (an identifier), and not with a likelihood for every value.
    let mut ids = String::from("name,x\n");
    for i in 0..30 {
        ids.push_str(&format!("p{i},{}\n", i % 4));
    }
    std::fs::write(d.join("ids.csv"), ids).unwrap();
    bad_input(
        d,
        &train_args("ids.csv", "run", &[]),
        &[
            "ids.csv",
            "column 1 (name)",
            "identifier",
            "--drop-columns name",
        ],
    );
    std::fs::write(d.join("word.csv"), "a,b\n1,2\n3,four\n").unwrap();
    bad_input(
        d,
        &train_args("word.csv", "run", &["--likelihood", "bernoulli"]),
        &["--likelihood", "per column"],
    );
    bad_input(
        d,
        &train_args("word.csv", "run", &["--column-types", "b=count"]),
        &[
            "--column-types",
            "line 3, column 2 (b)",
            "'four' is not a number",
        ],
    );
    std::fs::write(d.join("ragged.csv"), "a,b\n1,2\n3,4,5\n").unwrap();
    bad_input(
        d,
        &train_args("ragged.csv", "run", &[]),
        &["ragged.csv", "line 3"],
    );
    // A run trained on complete numbers reads complete numbers.
    std::fs::write(d.join("full.csv"), "a,b\n1,2\n3,4\n5,7\n2,2\n").unwrap();
    std::fs::write(d.join("nan.csv"), "a,b\n1,2\n3,NaN\n").unwrap();
    ok(
        d,
        &train_args("full.csv", "numbers", &["--val-fraction", "0"]),
    );
    bad_input(
        d,
        &["eval", "--run", "numbers", "--data", "nan.csv"],
        &["nan.csv", "missing value", "line 3, column 2 (b)"],
    );
    std::fs::remove_dir_all(d.join("numbers")).unwrap();
    std::fs::write(d.join("inf.csv"), "a,b\n1,2\n3,inf\n").unwrap();
    bad_input(
        d,
        &train_args("inf.csv", "run", &[]),
        &["inf.csv", "infinite"],
    );
    std::fs::write(
        d.join("nan.npy"),
        npy_f32(&[2, 2], &[0.1, f32::NAN, 0.3, 0.4]),
    )
    .unwrap();
    bad_input(d, &train_args("nan.npy", "run", &[]), &["nan.npy", "NaN"]);
    no_run_made(d);
}

#[test]
fn images_of_different_sizes_need_image_size() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let folder = d.join("pics/cats");
    std::fs::create_dir_all(&folder).unwrap();
    image::GrayImage::new(8, 8)
        .save(folder.join("a.png"))
        .unwrap();
    image::GrayImage::new(6, 9)
        .save(folder.join("b.png"))
        .unwrap();
    bad_input(
        d,
        &train_args("pics", "run", &[]),
        &["--image-size", "a.png", "b.png"],
    );
    no_run_made(d);
    // With a size they load and train.
    ok(
        d,
        &train_args(
            "pics",
            "run",
            &[
                "--image-size",
                "8x8",
                "--epochs",
                "1",
                "--val-fraction",
                "0",
                "--arch",
                "conv",
                "--conv-channels",
                "4",
            ],
        ),
    );
}

#[test]
fn absurd_settings_name_their_flag() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("table.csv"), "a,b\n1,2\n3,4\n5,7\n").unwrap();
    for (flag, value) in [
        ("--latent", "0"),
        ("--batch-size", "0"),
        ("--lr", "0"),
        ("--lr", "-1"),
        ("--lr", "NaN"),
        ("--val-fraction", "1.5"),
        ("--val-fraction", "-0.1"),
        ("--epochs", "0"),
        ("--limit", "0"),
        ("--train-samples", "0"),
        ("--train-samples", "100000"),
        ("--free-bits", "-0.5"),
    ] {
        bad_input(d, &train_args("digits", "run", &[flag, value]), &[flag]);
    }
    // The architecture moved from --model to --arch; the old spelling says so.
    bad_input(
        d,
        &train_args("digits", "run", &["--model", "conv"]),
        &["--arch conv"],
    );
    bad_input(
        d,
        &train_args("digits", "run", &["--model", "iwae", "--beta", "4"]),
        &["--model iwae", "--beta"],
    );
    bad_input(
        d,
        &train_args("table.csv", "run", &["--model", "cvae"]),
        &["--model cvae", "labels"],
    );
    bad_input(
        d,
        &train_args("digits", "run", &["--prior", "vamp", "--free-bits", "1"]),
        &["--free-bits", "--prior vamp"],
    );
    bad_input(
        d,
        &train_args("digits", "run", &["--model", "iwae", "--objective", "elbo"]),
        &["--objective", "--model vae"],
    );
    bad_input(
        d,
        &train_args("digits", "run", &["--lr-final", "1e-4"]),
        &["--lr-final", "--lr-schedule cosine"],
    );
    bad_input(
        d,
        &train_args(
            "digits",
            "run",
            &["--lr-schedule", "exp", "--lr-final", "0.5"],
        ),
        &["--lr-final", "between 0 and --lr"],
    );
    bad_input(
        d,
        &train_args("digits", "run", &["--lr-schedule", "linear"]),
        &["--lr-schedule", "cosine"],
    );
    bad_input(
        d,
        &train_args("digits", "run", &["--pseudo-inputs", "50"]),
        &["--pseudo-inputs", "--prior vamp"],
    );
    bad_input(
        d,
        &train_args("digits", "run", &["--prior", "vamp", "--model", "hvae"]),
        &["--prior vamp"],
    );
    bad_input(
        d,
        &train_args(
            "digits",
            "run",
            &["--prior", "vamp", "--pseudo-inputs", "0"],
        ),
        &["--pseudo-inputs"],
    );
    bad_input(
        d,
        &train_args("digits", "run", &["--top-latent", "5"]),
        &["--top-latent", "--model hvae"],
    );
    bad_input(
        d,
        &train_args("digits", "run", &["--model", "hvae", "--top-latent", "0"]),
        &["--top-latent"],
    );
    bad_input(
        d,
        &train_args(
            "digits",
            "run",
            &["--arch", "conv", "--conv-channels", "8,8,8,8"],
        ),
        &["--conv-channels"],
    );
    bad_input(
        d,
        &train_args("digits", "run", &["--device", "tpu"]),
        &["--device"],
    );
    no_run_made(d);
    // clap's own parse errors are usage errors too.
    let out = vaekit(
        d,
        &[
            "train", "--data", "digits", "--out", "run", "--latent", "many",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn runs_are_protected() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &train_args("digits", "run", &["--epochs", "1"]));
    let before = std::fs::read(d.join("run/model.safetensors")).unwrap();
    bad_input(d, &train_args("digits", "run", &[]), &["run", "--resume"]);
    assert_eq!(
        std::fs::read(d.join("run/model.safetensors")).unwrap(),
        before
    );

    bad_input(
        d,
        &[
            "train", "--out", "run", "--resume", "--epochs", "3", "--latent", "9",
        ],
        &["--latent", "does not match"],
    );
    let checkpoint = d.join("run/checkpoint.safetensors");
    let bytes = std::fs::read(&checkpoint).unwrap();
    std::fs::write(&checkpoint, &bytes[..bytes.len() - 100]).unwrap();
    bad_input(
        d,
        &["train", "--out", "run", "--resume", "--epochs", "3"],
        &["checkpoint.safetensors"],
    );
    std::fs::write(d.join("run/best.safetensors"), b"garbage").unwrap();
    bad_input(d, &["eval", "--run", "run"], &["best.safetensors"]);
    bad_input(d, &["eval", "--run", "nowhere"], &["nowhere"]);
}

#[test]
fn commands_on_a_run_check_their_arguments() {
    let run = shared_run();
    let dir = run.parent().unwrap();
    bad_input(
        dir,
        &["sample", "--run", "run", "--n", "0", "--out", "x.png"],
        &["--n"],
    );
    bad_input(
        dir,
        &["sample", "--run", "run", "--out", "x.gif"],
        &["--out", ".png"],
    );
    bad_input(
        dir,
        &[
            "eval",
            "--run",
            "run",
            "--split",
            "train",
            "--data",
            "../missing-dir",
        ],
        &["missing-dir"],
    );
    std::fs::write(dir.join("wide.csv"), "a,b,c\n1,2,3\n").unwrap();
    bad_input(
        dir,
        &["eval", "--run", "run", "--data", "wide.csv"],
        &["wide.csv", "same shape"],
    );
    assert!(!dir.join("x.png").exists() && !dir.join("x.gif").exists());
}

/// -log Poisson(k; rate), from ln k! summed by hand.
fn poisson_nll(k: f64, rate: f64) -> f64 {
    let log_factorial: f64 = (1..=k as u64).map(|i| (i as f64).ln()).sum();
    rate - k * rate.ln() + log_factorial
}

#[test]
fn tables_of_counts_train_with_a_poisson_likelihood() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Four count columns driven by one hidden factor f = 0..4.
    let rows: Vec<[u32; 4]> = (0..400u32)
        .map(|i| {
            let f = i % 5;
            [f, 2 * f + i % 2, 4 - f, 1 + i % 3]
        })
        .collect();
    let mut csv = String::from("a,b,c,d\n");
    for r in &rows {
        csv.push_str(&format!("{},{},{},{}\n", r[0], r[1], r[2], r[3]));
    }
    std::fs::write(d.join("counts.csv"), &csv).unwrap();
    // The source's schema reads each column's type from its values.
    let info = ok(d, &["info", "counts.csv"]);
    assert!(
        info.contains("columns: a (count), b (count), c (count), d (count)"),
        "{info}"
    );
    ok(
        d,
        &train_args(
            "counts.csv",
            "run",
            &["--likelihood", "poisson", "--epochs", "60"],
        ),
    );
    // Unscaled: no scaler is saved, and the config says so.
    assert!(!d.join("run/scaler.json").exists());
    assert_eq!(run_config(&d.join("run"))["settings"]["scaler"], "none");
    let eval: serde_json::Value = serde_json::from_str(&ok(
        d,
        &["eval", "--run", "run", "--split", "val", "--json"],
    ))
    .unwrap();
    // Against the best model that ignores the factor: a Poisson per column
    // at that column's mean, scored on the same rows.
    let n = rows.len() as f64;
    let means: Vec<f64> = (0..4)
        .map(|c| rows.iter().map(|r| f64::from(r[c])).sum::<f64>() / n)
        .collect();
    let independent: f64 = rows
        .iter()
        .map(|r| {
            (0..4)
                .map(|c| poisson_nll(f64::from(r[c]), means[c]))
                .sum::<f64>()
        })
        .sum::<f64>()
        / n;
    let neg_elbo = eval["neg_elbo"].as_f64().unwrap();
    assert!(
        neg_elbo < independent,
        "the VAE's -ELBO {neg_elbo} does not beat independent Poissons' {independent}"
    );
    assert_eq!(eval["recon_by_block"].as_array().unwrap().len(), 4);
    // Samples are rates in the data's units (no scaler to invert).
    ok(
        d,
        &["sample", "--run", "run", "--n", "20", "--out", "s.csv"],
    );
    let sampled = std::fs::read_to_string(d.join("s.csv")).unwrap();
    let values: Vec<f64> = sampled
        .lines()
        .skip(1)
        .flat_map(|l| {
            l.split(',')
                .map(|v| v.parse::<f64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(values.len(), 80);
    assert!(values.iter().all(|v| *v >= 0.0 && *v < 30.0), "{values:?}");

    // What a Poisson model cannot take, refused with nothing written.
    bad_input(
        d,
        &train_args("digits", "img", &["--likelihood", "poisson"]),
        &["--likelihood poisson", "tables of counts"],
    );
    bad_input(
        d,
        &train_args(
            "counts.csv",
            "scaled",
            &["--likelihood", "poisson", "--scaler", "standard"],
        ),
        &["--scaler", "counts"],
    );
    std::fs::write(d.join("fractions.csv"), csv.replacen("0,", "0.5,", 1)).unwrap();
    bad_input(
        d,
        &train_args("fractions.csv", "frac", &["--likelihood", "poisson"]),
        &["0.5", "counts"],
    );
    for run in ["img", "scaled", "frac"] {
        assert!(!d.join(run).exists(), "{run} was written");
    }
}

#[test]
fn tables_train_with_a_scaler_and_generate_in_their_own_units() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Two correlated columns in the thousands, one small, and a text label.
    let mut csv = String::from("height,weight,ratio,kind\n");
    for i in 0..200 {
        let h = 1000.0 + (i % 50) as f64 * 10.0;
        let kind = if i % 2 == 0 { "even" } else { "odd" };
        csv.push_str(&format!(
            "{h},{},{},{kind}\n",
            h * 2.0 + (i % 7) as f64,
            (i % 10) as f64 / 10.0
        ));
    }
    std::fs::write(d.join("t.csv"), csv).unwrap();
    ok(
        d,
        &train_args("t.csv", "run", &["--label-column", "kind", "--epochs", "5"]),
    );
    assert!(d.join("run/scaler.json").is_file());
    let info = ok(d, &["info", "t.csv", "--label-column", "kind"]);
    assert!(
        info.contains("even, odd") && info.contains("table of 3 columns"),
        "{info}"
    );

    ok(
        d,
        &["sample", "--run", "run", "--n", "50", "--out", "s.csv"],
    );
    let sampled = std::fs::read_to_string(d.join("s.csv")).unwrap();
    let mut lines = sampled.lines();
    assert_eq!(lines.next().unwrap(), "height,weight,ratio");
    let heights: Vec<f64> = lines
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(heights.len(), 50);
    let mean = heights.iter().sum::<f64>() / 50.0;
    assert!(
        mean > 800.0 && mean < 1700.0,
        "samples are not in the data's units: mean height {mean}"
    );

    ok(
        d,
        &[
            "reconstruct",
            "--run",
            "run",
            "--split",
            "val",
            "--n",
            "5",
            "--out",
            "r.csv",
        ],
    );
    let header = std::fs::read_to_string(d.join("r.csv")).unwrap();
    assert!(
        header.starts_with("original_height,original_weight,original_ratio,reconstruction_height")
    );
    bad_input(d, &["sample", "--run", "run", "--out", "s.png"], &[".csv"]);
    let json: serde_json::Value =
        serde_json::from_str(ok(d, &["eval", "--run", "run", "--json"]).trim()).unwrap();
    assert_eq!(json["split"], "val");
    assert!(json["neg_elbo"].as_f64().unwrap().is_finite());
}

#[test]
fn limit_trains_on_the_first_examples_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = ok(
        d,
        &train_args(
            "digits",
            "run",
            &["--limit", "300", "--epochs", "1", "--val-fraction", "0.2"],
        ),
    );
    assert!(out.contains("run saved"), "{out}");
    let config = run_config(&d.join("run"));
    assert_eq!(config["data"]["train_examples"], 240);
    assert_eq!(config["data"]["val_examples"], 60);
    assert_eq!(config["settings"]["limit"], 300);
    let eval = ok(d, &["eval", "--run", "run", "--split", "val", "--json"]);
    let eval: serde_json::Value = serde_json::from_str(eval.trim()).unwrap();
    assert_eq!(eval["n"], 60);
    assert!(eval["seconds"].as_f64().unwrap() >= 0.0);
}

#[test]
fn a_batch_normalized_run_trains_evaluates_and_samples() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &train_args("digits", "run", &["--batch-norm"]));
    let config = run_config(&d.join("run"));
    assert_eq!(config["model"]["batch_norm"], true);
    assert_eq!(config["settings"]["batch-norm"], true);
    let info = ok(d, &["info", "run"]);
    assert!(info.contains("batch normalization"), "{info}");
    // Evaluation uses the saved running statistics: the same numbers twice,
    // and the IW bound at or below the ELBO's -log p(x) estimate.
    let eval = |k: &str| -> serde_json::Value {
        let out = ok(d, &["eval", "--run", "run", "--iw-samples", k, "--json"]);
        serde_json::from_str(out.trim()).unwrap()
    };
    let (a, b) = (eval("50"), eval("50"));
    assert_eq!(a["neg_elbo"], b["neg_elbo"]);
    let (elbo, iw) = (
        a["neg_elbo"].as_f64().unwrap(),
        a["iw"]["nll"].as_f64().unwrap(),
    );
    assert!(
        elbo.is_finite() && iw <= elbo + 1e-6,
        "-ELBO {elbo}, IW {iw}"
    );
    ok(d, &["sample", "--run", "run", "--n", "4", "--out", "s.png"]);
    assert!(d.join("s.png").is_file());
    // It is for the MLP networks; nothing is written when refused.
    bad_input(
        d,
        &train_args("digits", "conv", &["--batch-norm", "--arch", "conv"]),
        &["--batch-norm", "--arch mlp"],
    );
    assert!(!d.join("conv").exists(), "a refused run left a directory");
}

#[test]
fn a_conditional_model_samples_by_class() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &train_args("digits", "run", &["--model", "cvae", "--epochs", "1"]),
    );
    assert!(ok(d, &["info", "run"]).contains("10 classes"));
    ok(
        d,
        &[
            "sample",
            "--run",
            "run",
            "--class",
            "3",
            "--n",
            "4",
            "--out",
            "threes.png",
        ],
    );
    let said = ok(
        d,
        &["sample", "--run", "run", "--n", "2", "--out", "all.csv"],
    );
    assert!(said.contains("20 samples"), "{said}");
    let csv = std::fs::read_to_string(d.join("all.csv")).unwrap();
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(",label"));
    let labels: Vec<&str> = lines.map(|l| l.rsplit(',').next().unwrap()).collect();
    assert_eq!(labels.len(), 20);
    assert_eq!(
        (labels[0], labels[1], labels[2], labels[19]),
        ("0", "0", "1", "9")
    );
    let png = image::open(d.join("threes.png")).unwrap();
    assert!(png.width() >= 2 * 8);
    bad_input(
        d,
        &["sample", "--run", "run", "--class", "10", "--out", "x.png"],
        &["--class"],
    );
    ok(d, &train_args("digits", "plain", &["--epochs", "1"]));
    bad_input(
        d,
        &["sample", "--run", "plain", "--class", "1", "--out", "x.png"],
        &["--class", "--model cvae"],
    );
    ok(
        d,
        &["eval", "--run", "run", "--iw-samples", "3", "--limit", "5"],
    );
    ok(
        d,
        &["reconstruct", "--run", "run", "--n", "4", "--out", "r.png"],
    );
    ok(d, &["encode", "--run", "run", "--out", "codes.csv"]);
    // The convolutional encoder takes the label beside its features.
    ok(
        d,
        &train_args(
            "digits",
            "conv",
            &[
                "--model",
                "cvae",
                "--arch",
                "conv",
                "--conv-channels",
                "4",
                "--epochs",
                "1",
            ],
        ),
    );
    ok(
        d,
        &[
            "sample", "--run", "conv", "--class", "5", "--n", "4", "--out", "c.png",
        ],
    );
    ok(
        d,
        &["eval", "--run", "conv", "--iw-samples", "3", "--limit", "5"],
    );
}

#[test]
fn impute_fills_empty_table_cells_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Column b duplicates a (times 2), c is noise: b's value is known from a.
    let mut csv = String::from("a,b,c\n");
    for i in 0..300 {
        let a = (i % 37) as f64 * 0.25 + 3.0;
        csv.push_str(&format!("{a},{},{}\n", 2.0 * a, ((i * 7) % 11) as f64));
    }
    std::fs::write(d.join("t.csv"), csv).unwrap();
    ok(d, &train_args("t.csv", "run", &["--epochs", "300"]));
    // Holes: b in rows 1 and 3 (truth 2a: 18 and 8), a in row 2 (truth 4.5),
    // each far from its column's mean (a 7.5, b 15).
    let holes = "a,b,c\n4.25,8.5,3\n9.0,,1.0001\nNA,9,4\n4.0,NaN,0.1\n";
    std::fs::write(d.join("holes.csv"), holes).unwrap();
    // Every other command still refuses the table, pointing to impute.
    bad_input(
        d,
        &[
            "encode",
            "--run",
            "run",
            "--data",
            "holes.csv",
            "--out",
            "e.csv",
        ],
        &["holes.csv", "missing value", "vaekit impute"],
    );
    let said = ok(
        d,
        &[
            "impute",
            "--run",
            "run",
            "--data",
            "holes.csv",
            "--out",
            "filled.csv",
        ],
    );
    assert!(said.contains("imputed 3 missing values"), "{said}");
    let filled = std::fs::read_to_string(d.join("filled.csv")).unwrap();
    let rows: Vec<Vec<String>> = filled
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    assert_eq!(rows[0], ["a", "b", "c"]);
    assert_eq!(rows.len(), 5);
    let input: Vec<Vec<&str>> = holes
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    for (r, row) in rows[1..].iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let value: f32 = cell.parse().unwrap();
            assert!(value.is_finite(), "{filled}");
            if let Ok(given) = input[r][c].parse::<f32>()
                && !given.is_nan()
            {
                // Observed cells come back bit for bit.
                assert_eq!(value.to_bits(), given.to_bits(), "row {r} column {c}");
            }
        }
    }
    // The duplicate column is recovered within 1.5, far closer than its mean.
    let value = |r: usize, c: usize| rows[r][c].parse::<f64>().unwrap();
    for (imputed, truth) in [(value(2, 1), 18.0), (value(3, 0), 4.5), (value(4, 1), 8.0)] {
        assert!((imputed - truth).abs() < 1.5, "{filled}");
    }
}

#[test]
fn impute_images_with_a_mask_writes_the_picture_and_the_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = shared_run().to_str().unwrap();
    let said = ok(
        d,
        &[
            "impute",
            "--run",
            run,
            "--mask",
            "top-half",
            "--limit",
            "8",
            "--out",
            "halves.png",
            "--completed",
            "filled.idx",
            "--method",
            "miwae",
            "--samples",
            "10",
            "--iterations",
            "2",
        ],
    );
    assert!(
        said.contains("imputed 256 missing values (50.0 %) of 8 examples"),
        "{said}"
    );
    // Three rows (original, masked, imputed) of 8 tiles of 8x8 pixels drawn at 56x56.
    let picture = image::open(d.join("halves.png")).unwrap();
    assert_eq!(
        (picture.width(), picture.height()),
        (8 * 56 + 9 * 2, 3 * 56 + 4 * 2)
    );
    let idx = std::fs::read(d.join("filled.idx")).unwrap();
    assert_eq!(&idx[..4], &[0, 0, 8, 3]);
    assert_eq!(idx.len(), 16 + 8 * 64);
    // The bottom halves are the input's own pixels, bit for bit.
    ok(
        d,
        &[
            "impute",
            "--run",
            run,
            "--mask",
            "top-half",
            "--limit",
            "8",
            "--out",
            "filled.csv",
        ],
    );
    ok(
        d,
        &[
            "reconstruct",
            "--run",
            run,
            "--n",
            "8",
            "--out",
            "pairs.csv",
        ],
    );
    let cells = |file: &str| -> Vec<Vec<f32>> {
        std::fs::read_to_string(d.join(file))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(',').map(|c| c.parse().unwrap()).collect())
            .collect()
    };
    let (filled, pairs) = (cells("filled.csv"), cells("pairs.csv"));
    assert_eq!(filled.len(), 8);
    for (f, p) in filled.iter().zip(&pairs) {
        // 64 pixels, then the digit's label.
        assert_eq!(f.len(), 65);
        assert_eq!(&f[32..64], &p[32..64]);
        assert!(f[..32].iter().all(|v| (0.0..=1.0).contains(v)));
    }

    let json: serde_json::Value = serde_json::from_str(
        ok(
            d,
            &[
                "impute",
                "--run",
                run,
                "--mask",
                "random:0.3",
                "--limit",
                "40",
                "--evaluate",
                "--json",
                "--samples",
                "10",
                "--iterations",
                "2",
            ],
        )
        .trim(),
    )
    .unwrap();
    let methods: Vec<&str> = json["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["gibbs", "miwae", "mean", "knn"]);
    for score in json["scores"].as_array().unwrap() {
        let rmse = score["rmse"].as_f64().unwrap();
        assert!(rmse > 0.0 && rmse < 1.0, "{json}");
    }
}

#[test]
fn an_encoder_trained_with_a_mask_reads_the_observed_values_when_imputing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &train_args("digits", "run", &["--encoder-mask", "top-half"]),
    );
    let config = run_config(&d.join("run"));
    assert_eq!(config["settings"]["encoder-mask"], "top-half");
    let info = ok(d, &["info", "run"]);
    assert!(
        info.contains("encoder trained for imputation: top-half hidden"),
        "{info}"
    );
    let scores = |run: &str, extra: &[&str]| -> (String, f64) {
        let mut args = vec![
            "impute",
            "--run",
            run,
            "--mask",
            "top-half",
            "--evaluate",
            "--json",
            "--samples",
            "10",
        ];
        args.extend_from_slice(extra);
        let j = json(&ok(d, &args));
        let gibbs = j["scores"][0]["rmse"].as_f64().unwrap();
        (j["encoder_reads"].as_str().unwrap().to_string(), gibbs)
    };
    // Reading the observed values, deterministic pseudo-Gibbs gives the same
    // fill in every round; reading its own completion, it moves.
    let once = scores("run", &["--iterations", "1"]);
    let thrice = scores("run", &["--iterations", "3"]);
    assert_eq!(once.0, "observed");
    assert_eq!(once, thrice);
    let moving = scores(
        "run",
        &["--iterations", "3", "--encoder-reads", "completion"],
    );
    assert_eq!(moving.0, "completion");
    assert_ne!(moving.1, once.1);
    let plain = scores(shared_run().to_str().unwrap(), &[]);
    assert_eq!(plain.0, "completion");

    // A half-image mask means nothing for a table, nor a mask for a cvae.
    let rows: String = (0..20).map(|i| format!("{i},{}\n", 2 * i)).collect();
    std::fs::write(d.join("t.csv"), format!("a,b\n{rows}")).unwrap();
    bad_input(
        d,
        &train_args("t.csv", "table", &["--encoder-mask", "top-half"]),
        &["--encoder-mask", "table", "random:P"],
    );
    bad_input(
        d,
        &train_args(
            "digits",
            "cvae",
            &["--encoder-mask", "random:0.2", "--model", "cvae"],
        ),
        &["--encoder-mask", "unconditional"],
    );
    bad_input(
        d,
        &train_args("digits", "bad", &["--encoder-mask", "random:0"]),
        &["--encoder-mask", "random:0"],
    );
    bad_input(
        d,
        &[
            "impute",
            "--run",
            "run",
            "--mask",
            "top-half",
            "--evaluate",
            "--encoder-reads",
            "sideways",
        ],
        &["--encoder-reads", "sideways", "completion or observed"],
    );
    for never in ["table", "cvae", "bad"] {
        assert!(!d.join(never).exists(), "{never} was created");
    }
}

#[test]
fn impute_refuses_bad_masks_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = shared_run().to_str().unwrap();
    std::fs::write(d.join("mask.npy"), npy_f32(&[7, 7], &[1.0; 49])).unwrap();
    bad_input(
        d,
        &[
            "impute",
            "--run",
            run,
            "--mask-file",
            "mask.npy",
            "--out",
            "o.png",
        ],
        &["--mask-file", "mask.npy", "49 values", "8x8"],
    );
    bad_input(
        d,
        &[
            "impute",
            "--run",
            run,
            "--mask",
            "random:1.5",
            "--out",
            "o.png",
        ],
        &["--mask", "random:1.5"],
    );
    bad_input(
        d,
        &["impute", "--run", run, "--out", "o.png"],
        &["nothing is missing", "--mask"],
    );
    bad_input(
        d,
        &[
            "impute", "--run", run, "--mask", "top-half", "--out", "o.txt",
        ],
        &["--out", "o.txt"],
    );
    bad_input(
        d,
        &["impute", "--run", run, "--mask", "top-half"],
        &["--out"],
    );
    let left: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "mask.npy")
        .collect();
    assert!(left.is_empty(), "a failed impute left {left:?}");
}

/// The `config.json` of the run in `run`.
fn run_config(run: &Path) -> serde_json::Value {
    json(&std::fs::read_to_string(run.join("config.json")).unwrap())
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).expect("one JSON object")
}

/// Examples per split and label counts of a source, as `vaekit info` reads it.
fn examples_and_labels(d: &Path, args: &[&str]) -> (u64, usize) {
    let mut all = vec!["info"];
    all.extend_from_slice(args);
    all.push("--json");
    let info = json(&ok(d, &all));
    let train = &info["splits"][0];
    let classes = train["label_counts"].as_array().map_or(0, Vec::len);
    (train["examples"].as_u64().unwrap(), classes)
}

#[test]
fn probe_scores_latent_and_raw_features() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = shared_run().to_str().unwrap();
    let help = ok(d, &["probe", "--help"]);
    assert!(help.contains("Examples") && help.contains("vaekit probe"));

    let report = json(&ok(d, &["probe", "--run", run, "--json"]));
    assert_eq!(report["split"], "test");
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0]["features"].as_str(), rows[0]["dims"].as_u64()),
        (Some("latent mean"), Some(4))
    );
    assert_eq!(
        (rows[1]["features"].as_str(), rows[1]["dims"].as_u64()),
        (Some("raw"), Some(64))
    );
    assert_eq!(rows[1]["train_n"], 1350); // 1500 less the 10% validation rows
    assert_eq!(rows[1]["test_n"], 297);
    // Logistic regression on the 8x8 digits' pixels is right about 95% of the
    // time (scikit-learn's documentation examples); a 2-epoch, 4-dimensional
    // code still carries much of the class.
    let raw = rows[1]["accuracy"].as_f64().unwrap();
    let latent = rows[0]["accuracy"].as_f64().unwrap();
    assert!(raw > 0.9, "{raw}");
    assert!(latent > 0.3, "{latent}");

    // Few labels with k-NN, saving the labelled examples as data.
    let table = ok(
        d,
        &[
            "probe",
            "--run",
            run,
            "--classifier",
            "knn",
            "--k",
            "3",
            "--train-limit",
            "50",
            "--save-labelled",
            "few.npy",
        ],
    );
    assert!(
        table.contains("3-nn") && table.contains("latent mean"),
        "{table}"
    );
    assert!(table.contains("      50 "), "{table}");
    assert_eq!(
        examples_and_labels(d, &["few.npy", "--labels", "few-labels.npy"]),
        (50, 10)
    );

    // Unlabelled data cannot be probed; k must fit the training rows.
    // An IDX folder with a test split but no label files.
    let pixels: Vec<u8> = (0..20 * 64).map(|i| (i % 256) as u8).collect();
    std::fs::create_dir(d.join("unlabelled")).unwrap();
    for name in ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"] {
        std::fs::write(
            d.join("unlabelled").join(name),
            idx(0x08, &[20, 8, 8], &pixels),
        )
        .unwrap();
    }
    bad_input(
        d,
        &["probe", "--run", run, "--split", "train"],
        &["--split", "trained on"],
    );
    bad_input(
        d,
        &["probe", "--run", run, "--data", "unlabelled"],
        &["no labels"],
    );
    bad_input(
        d,
        &[
            "probe",
            "--run",
            run,
            "--classifier",
            "knn",
            "--k",
            "60",
            "--train-limit",
            "50",
        ],
        &["--k"],
    );
}

#[test]
fn augment_writes_labelled_data_that_vaekit_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let help = ok(d, &["augment", "--help"]);
    assert!(help.contains("Examples") && help.contains("vaekit augment"));
    ok(
        d,
        &train_args("digits", "cvae", &["--model", "cvae", "--epochs", "1"]),
    );

    let said = ok(
        d,
        &[
            "augment",
            "--run",
            "cvae",
            "--n",
            "3",
            "--per-class",
            "--out",
            "syn.npy",
        ],
    );
    assert!(said.contains("30 labelled examples"), "{said}");
    assert_eq!(
        examples_and_labels(d, &["syn.npy", "--labels", "syn-labels.npy"]),
        (30, 10)
    );
    ok(
        d,
        &[
            "augment", "--run", "cvae", "--n", "3", "--out", "idx", "--format", "idx",
        ],
    );
    assert_eq!(examples_and_labels(d, &["idx"]), (30, 10));
    ok(
        d,
        &[
            "augment", "--run", "cvae", "--n", "2", "--class", "4", "--out", "fours", "--format",
            "images",
        ],
    );
    let files = std::fs::read_dir(d.join("fours/4")).unwrap().count();
    assert_eq!(files, 2);
    ok(
        d,
        &["augment", "--run", "cvae", "--n", "2", "--out", "syn.csv"],
    );
    assert_eq!(
        examples_and_labels(d, &["syn.csv", "--label-column", "label"]),
        (20, 10)
    );

    // Synthetic examples as extra training rows of a probe.
    let run = shared_run().to_str().unwrap();
    let table = ok(
        d,
        &[
            "probe",
            "--run",
            run,
            "--train-limit",
            "20",
            "--add-train",
            "syn.npy",
            "--labels",
            "syn-labels.npy",
        ],
    );
    assert!(
        table.contains("      50 ") && table.contains("30 extra"),
        "{table}"
    );

    // Bad requests leave nothing behind.
    ok(d, &train_args("digits", "plain", &["--epochs", "1"]));
    bad_input(
        d,
        &[
            "augment",
            "--run",
            "plain",
            "--n",
            "3",
            "--per-class",
            "--out",
            "none.npy",
        ],
        &["--per-class", "--model cvae"],
    );
    bad_input(
        d,
        &[
            "augment",
            "--run",
            "cvae",
            "--n",
            "3",
            "--class",
            "10",
            "--out",
            "none2.npy",
        ],
        &["--class"],
    );
    bad_input(
        d,
        &[
            "augment", "--run", "cvae", "--n", "3", "--out", "idx", "--format", "idx",
        ],
        &["already exists"],
    );
    for name in [
        "none.npy",
        "none-labels.npy",
        "none2.npy",
        "none2-labels.npy",
    ] {
        assert!(!d.join(name).exists(), "{name} was left behind");
    }
    // A conditional model's codes cannot be probed for the label it reads.
    bad_input(d, &["probe", "--run", "cvae"], &["conditional"]);
}

/// Column `name` of a CSV file's rows.
fn csv_column(path: &Path, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("{} has no column {name}: {header:?}", path.display()));
    lines
        .map(|l| l.split(',').nth(at).unwrap().to_string())
        .collect()
}

#[test]
fn one_class_training_and_scoring_find_the_other_digits() {
    // The one-class protocol on the embedded digits: train on the 3s alone,
    // score the whole test split, the other nine digits are the anomalies.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &train_args("digits", "run", &["--only-class", "3", "--epochs", "30"]),
    );
    let config = run_config(&d.join("run"));
    let trained = config["data"]["train_examples"].as_u64().unwrap()
        + config["data"]["val_examples"].as_u64().unwrap();
    assert!(
        (100..200).contains(&trained),
        "{trained} threes of 1500 digits"
    );
    let args = [
        "score",
        "--run",
        "run",
        "--score",
        "iw-nll",
        "--iw-samples",
        "20",
        "--normal-class",
        "3",
        "--target-fpr",
        "0.1",
        "--out",
        "scores.csv",
        "--json",
    ];
    let json: serde_json::Value = serde_json::from_str(ok(d, &args).trim()).unwrap();
    assert_eq!(
        (json["split"].as_str(), json["n"].as_u64()),
        (Some("test"), Some(297))
    );
    let auroc = json["detection"]["auroc"].as_f64().unwrap();
    let ap = json["detection"]["average_precision"].as_f64().unwrap();
    // Chance is 0.5 and 0.9 (the share of anomalies); a 3 is far from most digits.
    assert!(auroc > 0.8 && ap > 0.9, "AUROC {auroc}, AP {ap}");

    // One row per test example, in input order: the labels are encode's.
    let scores = d.join("scores.csv");
    let index = csv_column(&scores, "index");
    assert_eq!(index.len(), 297);
    assert!(index.iter().enumerate().all(|(i, v)| *v == i.to_string()));
    ok(
        d,
        &[
            "encode",
            "--run",
            "run",
            "--split",
            "test",
            "--out",
            "codes.csv",
        ],
    );
    let labels = csv_column(&scores, "label");
    let encoded: Vec<String> = csv_column(&d.join("codes.csv"), "label")
        .iter()
        .map(|v| v.parse::<f64>().unwrap().to_string())
        .collect();
    assert_eq!(labels, encoded);
    let anomaly = csv_column(&scores, "anomaly");
    assert!(
        labels
            .iter()
            .zip(&anomaly)
            .all(|(l, a)| (l != "3") == (a == "1"))
    );

    // The flags are the scores above the reported threshold, and their rates
    // among the 3s and the others are the reported FPR and TPR.
    let threshold = &json["threshold"];
    let t = threshold["threshold"].as_f64().unwrap();
    let flag = csv_column(&scores, "flag");
    let score: Vec<f64> = csv_column(&scores, "score")
        .iter()
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(score.iter().zip(&flag).all(|(s, f)| (*s > t) == (f == "1")));
    let rate = |anomalous: bool| {
        let chosen: Vec<&String> = flag
            .iter()
            .zip(&anomaly)
            .filter(|(_, a)| (*a == "1") == anomalous)
            .map(|(f, _)| f)
            .collect();
        chosen.iter().filter(|f| **f == "1").count() as f64 / chosen.len() as f64
    };
    assert!((rate(false) - threshold["fpr"].as_f64().unwrap()).abs() < 1e-9);
    assert!((rate(true) - threshold["tpr"].as_f64().unwrap()).abs() < 1e-9);
    assert!(threshold["calibration_fpr"].as_f64().unwrap() <= 0.1);
    assert_eq!(threshold["calibrate_on"], "val");

    let text = ok(
        d,
        &[
            "score",
            "--run",
            "run",
            "--normal-class",
            "3",
            "--score",
            "recon",
        ],
    );
    assert!(text.contains("AUROC") && text.contains("recon"), "{text}");
}

#[test]
fn score_refuses_bad_requests_and_writes_nothing() {
    let run = shared_run();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = run.to_str().unwrap();
    let score = |extra: &[&'static str]| -> Vec<String> {
        let mut args = vec!["score", "--run", run, "--out", "s.csv"];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect()
    };
    let refuse = |extra: &[&'static str], needles: &[&str]| {
        let args = score(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        bad_input(d, &args, needles);
        assert!(!d.join("s.csv").exists(), "{extra:?} left a file behind");
    };
    refuse(&["--score", "elbo"], &["unknown score 'elbo'", "iw-nll"]);
    refuse(
        &["--normal-class", "12"],
        &["--normal-class", "label 12", "[0, 1, 2"],
    );
    refuse(
        &["--score", "recon", "--iw-samples", "5"],
        &["--iw-samples"],
    );
    refuse(&["--target-fpr", "1.5"], &["--target-fpr"]);
    std::fs::write(d.join("truth.txt"), "0\n1\n").unwrap();
    refuse(&["--anomaly-labels", "truth.txt"], &["2 labels for 297"]);
    // Unlabelled images shaped like the digits.
    let values: Vec<f32> = (0..10 * 64).map(|i| (i % 17) as f32 / 16.0).collect();
    std::fs::write(d.join("plain.npy"), npy_f32(&[10, 8, 8], &values)).unwrap();
    refuse(
        &["--data", "plain.npy", "--normal-class", "0"],
        &["--normal-class", "no labels"],
    );
    bad_input(
        d,
        &["score", "--run", run, "--out", "s.txt"],
        &["--out", ".csv"],
    );
    // The same unlabelled data scores fine, every row in order.
    ok(
        d,
        &[
            "score",
            "--run",
            run,
            "--data",
            "plain.npy",
            "--out",
            "s.csv",
        ],
    );
    assert_eq!(csv_column(&d.join("s.csv"), "index").len(), 10);
}

/// The size of the PNG or first GIF frame at `path`, which must decode.
fn picture_size(path: &Path) -> (u32, u32) {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_rgb8()
        .dimensions()
}

#[test]
fn latent_space_pictures_of_a_2d_digits_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(
        d,
        &[
            "train",
            "--data",
            "digits",
            "--out",
            "run",
            "--hidden",
            "32",
            "--latent",
            "2",
            "--batch-size",
            "100",
            "--epochs",
            "2",
            "-q",
        ],
    );
    for command in ["latent", "interpolate", "traverse"] {
        assert!(
            ok(d, &[command, "--help"]).contains("Examples:"),
            "{command}"
        );
    }

    // The map on the raw axes (the default for a 2-D code), the manifold, the coordinates.
    let said = ok(
        d,
        &[
            "latent",
            "--run",
            "run",
            "--out",
            "map.png",
            "--manifold",
            "m.png",
            "--grid",
            "5",
            "--coords",
            "c.csv",
            "--limit",
            "100",
        ],
    );
    assert!(said.contains("axes map of 100 codes"), "{said}");
    assert_eq!(picture_size(&d.join("map.png")), (1000, 760));
    let coords = std::fs::read_to_string(d.join("c.csv")).unwrap();
    assert_eq!(coords.lines().next(), Some("x,y,label"));
    assert_eq!(coords.lines().count(), 101);
    // 5 x 5 tiles of 56 pixels with 2-pixel gutters, under a title and labels.
    let (w, h) = picture_size(&d.join("m.png"));
    assert!(w >= 5 * 56 + 12 && h == 34 + 22 + 5 * 56 + 12, "{w}x{h}");

    let said = ok(
        d,
        &[
            "latent", "--run", "run", "--out", "t.png", "--method", "tsne", "--limit", "60",
        ],
    );
    assert!(said.contains("t-SNE map of 60 codes"), "{said}");
    assert_eq!(picture_size(&d.join("t.png")), (1000, 760));

    // A strip of 6 steps with the originals beside it, and a GIF there and back.
    ok(
        d,
        &[
            "interpolate",
            "--run",
            "run",
            "--from",
            "0",
            "--to",
            "7",
            "--steps",
            "6",
            "--path",
            "slerp",
            "--out",
            "s.png",
            "--gif",
            "s.gif",
            "--originals",
        ],
    );
    let (w, h) = picture_size(&d.join("s.png"));
    assert!(w >= 8 * 56 + 18 && h == 34 + 22 + 56 + 4, "{w}x{h}");
    let file = std::io::BufReader::new(std::fs::File::open(d.join("s.gif")).unwrap());
    use image::AnimationDecoder;
    let frames = image::codecs::gif::GifDecoder::new(file)
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 6 + 4);
    assert_eq!(frames[0].buffer().dimensions(), (60, 60));
    ok(
        d,
        &[
            "interpolate",
            "--run",
            "run",
            "--prior",
            "--seed",
            "3",
            "--out",
            "p.png",
        ],
    );
    assert!(picture_size(&d.join("p.png")).0 >= 10 * 56);

    // A traversal: one row per dimension.
    ok(
        d,
        &[
            "traverse", "--run", "run", "--index", "4", "--steps", "7", "--out", "tr.png",
        ],
    );
    let (w, h) = picture_size(&d.join("tr.png"));
    assert!(w > 7 * 56 + 16 && h == 34 + 22 + 2 * 56 + 6, "{w}x{h}");

    // Bad input: exit 2, and nothing written.
    let cases: &[(&[&str], &str, &[&str])] = &[
        (
            &[
                "interpolate",
                "--run",
                "run",
                "--from",
                "0",
                "--to",
                "5000",
                "--out",
                "x.png",
            ],
            "x.png",
            &["--index", "5000"],
        ),
        (
            &[
                "interpolate",
                "--run",
                "run",
                "--from",
                "0",
                "--to",
                "1",
                "--out",
                "x.jpg",
            ],
            "x.jpg",
            &["--out", ".png"],
        ),
        (
            &[
                "interpolate",
                "--run",
                "run",
                "--prior",
                "--out",
                "x.png",
                "--gif",
                "x.gif",
                "--frame-ms",
                "1",
            ],
            "x.png",
            &["--frame-ms"],
        ),
        (
            &[
                "traverse", "--run", "run", "--index", "99999", "--out", "x.png",
            ],
            "x.png",
            &["99999"],
        ),
        (
            &["traverse", "--run", "run", "--dims", "3", "--out", "x.png"],
            "x.png",
            &["--dims"],
        ),
        (
            &[
                "latent",
                "--run",
                "run",
                "--out",
                "x.png",
                "--manifold",
                "y.png",
                "--grid",
                "1",
            ],
            "x.png",
            &["--grid"],
        ),
        (
            &[
                "latent", "--run", "run", "--out", "x.png", "--method", "tsne", "--limit", "5",
            ],
            "x.png",
            &["t-SNE", "10"],
        ),
        (
            &["latent", "--run", "run", "--out", "x.png", "--dims", "4"],
            "x.png",
            &["--dims"],
        ),
        (
            &["latent", "--run", "run", "--out", "x.png", "--dims", "3"],
            "x.png",
            &["--dims", "2 dimension"],
        ),
        (
            &[
                "latent",
                "--run",
                "run",
                "--out",
                "x.png",
                "--colour-by",
                "x3",
            ],
            "x.png",
            &["--colour-by", "typed columns"],
        ),
    ];
    for (args, output, needles) in cases {
        bad_input(d, args, needles);
        assert!(!d.join(output).exists(), "{args:?} left {output}");
    }
}

#[test]
fn latent_pictures_of_larger_codes_and_tables() {
    // The shared run has a 4-D code: PCA map, manifold over its two busiest dimensions.
    let run = shared_run();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = run.to_str().unwrap();
    let said = ok(
        d,
        &[
            "latent",
            "--run",
            run,
            "--out",
            "map.png",
            "--manifold",
            "m.png",
            "--grid",
            "4",
        ],
    );
    assert!(
        said.contains("PCA map") && said.contains("of the variance"),
        "{said}"
    );
    assert_eq!(picture_size(&d.join("map.png")), (1000, 760));
    assert!(picture_size(&d.join("m.png")).1 == 34 + 22 + 4 * 56 + 10);
    // Three dimensions: three pairwise panels, with t-SNE too.
    for method in ["pca", "tsne"] {
        ok(
            d,
            &[
                "latent", "--run", run, "--out", "m3.png", "--dims", "3", "--method", method,
                "--limit", "80",
            ],
        );
        assert_eq!(picture_size(&d.join("m3.png")), (1900, 620));
    }
    ok(
        d,
        &[
            "traverse", "--run", run, "--prior", "--dims", "2", "--out", "t.png",
        ],
    );
    assert_eq!(picture_size(&d.join("t.png")).1, 34 + 22 + 2 * 56 + 6);

    // A conditional model decodes with one given class.
    ok(d, &train_args("digits", "cvae", &["--model", "cvae"]));
    let path = [
        "interpolate",
        "--run",
        "cvae",
        "--from",
        "0",
        "--to",
        "1",
        "--out",
        "c.png",
    ];
    bad_input(d, &path, &["--class", "conditional"]);
    assert!(!d.join("c.png").exists());
    ok(d, &[&path[..], &["--class", "4"]].concat());
    assert!(picture_size(&d.join("c.png")).0 >= 10 * 56);

    // A table: interpolation as CSV rows in the data's units; no pictures.
    let mut csv = String::from("a,b\n");
    for i in 0..60 {
        csv.push_str(&format!("{},{}\n", 100 + i, (i % 5) as f64 / 10.0));
    }
    std::fs::write(d.join("t.csv"), csv).unwrap();
    ok(d, &train_args("t.csv", "tab", &[]));
    ok(
        d,
        &[
            "interpolate",
            "--run",
            "tab",
            "--from",
            "0",
            "--to",
            "1",
            "--steps",
            "4",
            "--out",
            "p.csv",
        ],
    );
    let rows = std::fs::read_to_string(d.join("p.csv")).unwrap();
    assert_eq!(rows.lines().next(), Some("a,b"));
    assert_eq!(rows.lines().count(), 5);
    let first: f64 = rows
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(first > 50.0, "not in the data's units: {rows}");
    for (args, output, needles) in [
        (
            &[
                "interpolate",
                "--run",
                "tab",
                "--from",
                "0",
                "--to",
                "1",
                "--out",
                "p2.csv",
                "--gif",
                "p.gif",
            ][..],
            "p2.csv",
            &["--gif", "table"][..],
        ),
        (
            &["latent", "--run", "tab", "--manifold", "m2.png"][..],
            "m2.png",
            &["--manifold", "table"][..],
        ),
        (
            &["traverse", "--run", "tab", "--out", "t2.png"][..],
            "t2.png",
            &["--out", "table"][..],
        ),
    ] {
        bad_input(d, args, needles);
        assert!(!d.join(output).exists(), "{args:?} left {output}");
    }
}

/// The rows of a clusters CSV: (index, cluster, label).
fn cluster_rows(path: &Path) -> Vec<(usize, u32, u32)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("index,cluster,label"));
    lines
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            (
                v[0].parse().unwrap(),
                v[1].parse().unwrap(),
                v[2].parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn cluster_by_kmeans_and_by_a_mixture_prior() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = shared_run().to_str().unwrap();
    // k-means on a standard-prior run: k is the number of digit classes.
    let printed = ok(d, &["cluster", "--run", run, "--out", "k.csv"]);
    assert!(
        printed.contains("(kmeans)") && printed.contains("accuracy"),
        "{printed}"
    );
    let rows = cluster_rows(&d.join("k.csv"));
    assert_eq!(rows.len(), 1797);
    assert!(
        rows.iter()
            .enumerate()
            .all(|(i, r)| r.0 == i && r.1 < 10 && r.2 < 10)
    );
    let json = ok(
        d,
        &[
            "cluster", "--run", run, "--split", "test", "--k", "5", "--out", "t.csv", "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (v["method"].as_str(), v["k"].as_u64()),
        (Some("kmeans"), Some(5))
    );
    let accuracy = v["agreement"]["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.2 && accuracy <= 1.0, "{v}");
    assert_eq!(
        cluster_rows(&d.join("t.csv")).len(),
        v["examples"].as_u64().unwrap() as usize
    );
    // The islands of a t-SNE map of a trained model's codes: every example
    // gets one of the 10 clusters, and they follow the digits far better
    // than chance (about 0.1; the merging itself is tested on shapes in the
    // library, and on MNIST in docs/RESULTS.md).
    ok(
        d,
        &[
            "train",
            "--data",
            "digits",
            "--out",
            "long",
            "--epochs",
            "60",
            "--hidden",
            "64",
            "--latent",
            "8",
            "--batch-size",
            "100",
            "-q",
        ],
    );
    let json = ok(
        d,
        &[
            "cluster", "--run", "long", "--space", "tsne", "--out", "s.csv", "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (v["space"].as_str(), v["k"].as_u64()),
        (Some("tsne"), Some(10))
    );
    let rows = cluster_rows(&d.join("s.csv"));
    assert_eq!(rows.len(), 1797);
    assert_eq!(
        rows.iter()
            .map(|r| r.1)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        10
    );
    let accuracy = v["agreement"]["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.5, "{v}");

    // A mixture-prior run: its own clusters by default.
    ok(
        d,
        &train_args(
            "digits",
            "gmm",
            &[
                "--prior",
                "gmm",
                "--components",
                "6",
                "--pretrain-epochs",
                "2",
                "--epochs",
                "4",
            ],
        ),
    );
    // The two pretraining epochs say so in the metrics (their KL measures
    // nothing that was optimized); the epochs with the mixture do not.
    let metrics = std::fs::read_to_string(d.join("gmm/metrics.jsonl")).unwrap();
    let flags: Vec<bool> = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["pretraining"] == true)
        .collect();
    assert_eq!(flags, [true, true, false, false]);
    let json = ok(d, &["cluster", "--run", "gmm", "--out", "p.csv", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (v["method"].as_str(), v["k"].as_u64()),
        (Some("prior"), Some(6))
    );
    assert!(cluster_rows(&d.join("p.csv")).iter().all(|r| r.1 < 6));
    bad_input(
        d,
        &[
            "cluster", "--run", "gmm", "--space", "tsne", "--out", "no.csv",
        ],
        &["--space", "--method kmeans"],
    );
    assert!(!d.join("no.csv").exists());
    assert!(ok(d, &["info", "gmm"]).contains("Gaussian mixture prior with 6 components"));
    ok(d, &["sample", "--run", "gmm", "--n", "8", "--out", "s.png"]);
    assert!(d.join("s.png").is_file());
    assert!(ok(d, &["eval", "--run", "gmm"]).contains("KL"));

    // Bad input: exit 2, the flag named, nothing written.
    bad_input(
        d,
        &[
            "cluster", "--run", run, "--method", "prior", "--out", "bad.csv",
        ],
        &["--method prior", "--prior gmm"],
    );
    bad_input(
        d,
        &["cluster", "--run", run, "--k", "0", "--out", "bad.csv"],
        &["--k"],
    );
    bad_input(
        d,
        &["cluster", "--run", "gmm", "--k", "3", "--out", "bad.csv"],
        &["--k", "6"],
    );
    assert!(!d.join("bad.csv").exists());
}

#[test]
fn the_mixture_prior_refuses_what_it_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let gmm = |extra: &[&'static str]| {
        let mut args = vec!["--prior", "gmm"];
        args.extend_from_slice(extra);
        args
    };
    for (extra, needles) in [
        (
            gmm(&["--free-bits", "0.5"]),
            &["--free-bits", "--prior gmm"][..],
        ),
        (gmm(&["--model", "hvae"]), &["--prior gmm", "hvae"][..]),
        (gmm(&["--model", "cvae"]), &["--prior gmm", "cvae"][..]),
        (gmm(&["--components", "0"]), &["--components"][..]),
        (
            gmm(&["--pseudo-inputs", "5"]),
            &["--pseudo-inputs", "--prior vamp"][..],
        ),
        (gmm(&["--pretrain-epochs", "2"]), &["--pretrain-epochs"][..]),
        (
            vec!["--components", "5"],
            &["--components", "--prior gmm"][..],
        ),
        (
            vec!["--prior", "vamp", "--pretrain-epochs", "1"],
            &["--prior gmm"][..],
        ),
    ] {
        bad_input(d, &train_args("digits", "run", &extra), needles);
        no_run_made(d);
    }
}

/// A small mixed table with holes: a category, a binary flag, a count and a
/// real that depend on the category.
fn mixed_table(rows: usize) -> String {
    let mut csv = String::from("id,colour,flag,visits,height\n");
    for i in 0..rows {
        let (colour, base) = [("red", 10.0), ("green", 40.0), ("blue", 160.0)][i % 3];
        // A few zeros: whole numbers from 0 up that reach 0 are counts.
        let visits = match i % 23 {
            2 => 0.0,
            _ => (base * (1.0 + 0.3 * ((i * 7 % 11) as f64 / 11.0 - 0.5))).round(),
        };
        let height = 1.5 + 0.1 * (i % 3) as f64 + 0.01 * (i % 5) as f64;
        let colour = if i % 17 == 5 { "" } else { colour };
        let flag = if i % 13 == 4 {
            "NA".to_string()
        } else {
            (i % 3 == 0)
                .to_string()
                .replace("true", "1")
                .replace("false", "0")
        };
        csv.push_str(&format!("row{i},{colour},{flag},{visits},{height}\n"));
    }
    csv
}

#[test]
fn a_mixed_table_with_holes_trains_and_every_command_speaks_its_columns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("mixed.csv"), mixed_table(300)).unwrap();
    let info = ok(d, &["info", "mixed.csv", "--drop-columns", "id"]);
    for needle in [
        "colour",
        "categorical",
        "flag",
        "binary",
        "visits",
        "count",
        "height",
        "real",
    ] {
        assert!(info.contains(needle), "info lacks {needle}:\n{info}");
    }
    ok(
        d,
        &train_args(
            "mixed.csv",
            "run",
            &["--drop-columns", "id", "--epochs", "150"],
        ),
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/config.json")).unwrap()).unwrap();
    assert_eq!(
        config["model"]["table"]["columns"][0]["kind"]["type"],
        "categorical"
    );

    // Samples: the table's own columns, categories as their names, the flag
    // 0 or 1, visits whole numbers, and each colour's visits near its own.
    ok(
        d,
        &["sample", "--run", "run", "--n", "600", "--out", "s.csv"],
    );
    let sampled = std::fs::read_to_string(d.join("s.csv")).unwrap();
    let mut lines = sampled.lines();
    assert_eq!(lines.next().unwrap(), "colour,flag,visits,height");
    let mut by_colour: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert!(["red", "green", "blue"].contains(&cells[0]), "{line}");
        assert!(["0", "1"].contains(&cells[1]), "{line}");
        let visits: f64 = cells[2].parse().unwrap();
        assert!(visits >= 0.0 && visits.fract() == 0.0, "{line}");
        let _: f64 = cells[3].parse().unwrap();
        by_colour
            .entry(cells[0].to_string())
            .or_default()
            .push(visits);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (red, blue) = (
        median(by_colour.get_mut("red").unwrap()),
        median(by_colour.get_mut("blue").unwrap()),
    );
    assert!(
        red < 25.0 && blue > 60.0,
        "visits do not follow colour: red {red}, blue {blue}"
    );

    // Evaluation reports each column, and skips the missing cells.
    let json: serde_json::Value =
        serde_json::from_str(ok(d, &["eval", "--run", "run", "--json"]).trim()).unwrap();
    assert!(json["neg_elbo"].as_f64().unwrap().is_finite(), "{json}");
    let eval = ok(d, &["eval", "--run", "run"]);
    assert!(eval.contains("colour") && eval.contains("visits"), "{eval}");

    // Imputation fills the empty cells with type-correct values and keeps the rest.
    ok(
        d,
        &[
            "impute",
            "--run",
            "run",
            "--data",
            "mixed.csv",
            "--out",
            "filled.csv",
        ],
    );
    let filled = std::fs::read_to_string(d.join("filled.csv")).unwrap();
    let original = mixed_table(300);
    for (f, o) in filled.lines().skip(1).zip(original.lines().skip(1)) {
        let f: Vec<&str> = f.split(',').collect();
        let o: Vec<&str> = o.split(',').skip(1).collect();
        assert!(
            ["red", "green", "blue"].contains(&f[0]) && ["0", "1"].contains(&f[1]),
            "{f:?}"
        );
        assert_imputed_row(&f, &o, &["", "NA"]);
        assert_eq!(f[2], o[2], "observed visits are kept");
    }

    // The encoders and scorers read the table through the run's columns.
    ok(d, &["encode", "--run", "run", "--out", "codes.csv"]);
    let said = ok(d, &["score", "--run", "run", "--data", "mixed.csv"]);
    assert!(
        said.contains("300 examples of every row of mixed.csv"),
        "{said}"
    );

    // The map coloured by a column: colours whose visits differ tenfold lie
    // apart (each point nearer its own colour's centre than another's), and
    // the coordinates name each point's colour; a real column is binned.
    let map = |column: &str| {
        let args = [
            "latent",
            "--run",
            "run",
            "--split",
            "train",
            "--out",
            "map.png",
            "--coords",
            "map.csv",
            "--colour-by",
            column,
        ];
        ok(d, &args);
        csv_cells(&std::fs::read_to_string(d.join("map.csv")).unwrap())
    };
    let (header, rows) = map("colour");
    assert_eq!(header, ["x", "y", "colour"]);
    let point = |r: &[String]| [r[0].parse::<f64>().unwrap(), r[1].parse::<f64>().unwrap()];
    let colours = ["red", "green", "blue"];
    let centre = |c: &str| {
        let (mut sum, mut n) = ([0.0; 2], 0.0);
        for p in rows.iter().filter(|r| r[2] == c).map(|r| point(r)) {
            sum = [sum[0] + p[0], sum[1] + p[1]];
            n += 1.0;
        }
        [sum[0] / n, sum[1] / n]
    };
    let centres: Vec<[f64; 2]> = colours.iter().map(|c| centre(c)).collect();
    let (mut right, mut coloured) = (0, 0);
    for r in rows.iter().filter(|r| r[2] != "missing") {
        assert!(colours.contains(&r[2].as_str()), "{r:?}");
        let p = point(r);
        let d2 = |c: &[f64; 2]| (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2);
        let nearest = (0..3)
            .min_by(|&a, &b| d2(&centres[a]).total_cmp(&d2(&centres[b])))
            .unwrap();
        right += usize::from(colours[nearest] == r[2]);
        coloured += 1;
    }
    assert!(rows.iter().any(|r| r[2] == "missing"), "empty colour cells");
    assert!(right * 10 >= coloured * 8, "{right} of {coloured}");
    let (header, rows) = map("height");
    assert_eq!(header[2], "height");
    let bins: std::collections::BTreeSet<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(bins.len(), 5, "{bins:?}");
    for bin in bins {
        let (lo, hi) = bin.split_once(" to ").unwrap_or((bin, bin));
        let (lo, hi): (f64, f64) = (lo.parse().unwrap(), hi.parse().unwrap());
        assert!(
            (1.5..=1.74).contains(&lo) && lo <= hi && hi <= 1.74,
            "{bin}"
        );
    }
    bad_input(
        d,
        &[
            "latent",
            "--run",
            "run",
            "--out",
            "x.png",
            "--colour-by",
            "id",
        ],
        &[
            "--colour-by",
            "'id' is not a column",
            "colour, flag, visits, height",
        ],
    );
    assert!(!d.join("x.png").exists());
    // A category the model never saw is named.
    std::fs::write(
        d.join("new.csv"),
        "id,colour,flag,visits,height\nx,purple,1,10,1.5\n",
    )
    .unwrap();
    bad_input(
        d,
        &["score", "--run", "run", "--data", "new.csv"],
        &[
            "new.csv",
            "line 2, column 2 (colour)",
            "'purple'",
            "did not see in training",
        ],
    );

    // Numbers coded by their modes (the default from 1,000 values up, asked
    // for here): samples and filled cells come back in the columns' units.
    ok(
        d,
        &train_args(
            "mixed.csv",
            "modes",
            &[
                "--drop-columns",
                "id",
                "--column-types",
                "visits=modes,height=modes",
                "--epochs",
                "150",
            ],
        ),
    );
    let info = ok(
        d,
        &[
            "info",
            "mixed.csv",
            "--drop-columns",
            "id",
            "--column-types",
            "height=modes",
        ],
    );
    assert!(info.contains("modes, 1.5 to 1.74"), "{info}");
    ok(
        d,
        &["sample", "--run", "modes", "--n", "300", "--out", "m.csv"],
    );
    let (header, sampled) = csv_cells(&std::fs::read_to_string(d.join("m.csv")).unwrap());
    assert_eq!(header, ["colour", "flag", "visits", "height"]);
    for row in &sampled {
        let visits: f64 = row[2].parse().unwrap();
        let height: f64 = row[3].parse().unwrap();
        assert!(
            visits.fract() == 0.0 && (-20.0..260.0).contains(&visits),
            "{row:?}"
        );
        assert!((1.3..1.95).contains(&height), "{row:?}");
    }
    ok(
        d,
        &[
            "impute",
            "--run",
            "modes",
            "--data",
            "mixed.csv",
            "--out",
            "mf.csv",
        ],
    );
    let (_, filled) = csv_cells(&std::fs::read_to_string(d.join("mf.csv")).unwrap());
    assert_eq!(filled.len(), 300);
    assert!(
        filled
            .iter()
            .all(|r| ["red", "green", "blue"].contains(&r[0].as_str()))
    );
}

/// A file under `../shared/data/tabular` and a temporary folder to work in;
/// None, after saying why, when the shared data folder does not hold it.
fn shared_table(name: &str) -> Option<(tempfile::TempDir, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|a| a.join("shared/data/tabular").join(name))
        .find(|p| p.exists());
    if path.is_none() {
        eprintln!("skipped: ../shared/data/tabular/{name} is absent");
    }
    Some((tempfile::tempdir().unwrap(), path?.display().to_string()))
}

/// Checks a row that `impute` wrote against the row it was given: every
/// observed cell kept (numbers to 1e-6), every `missing` one filled.
fn assert_imputed_row(filled: &[&str], given: &[&str], missing: &[&str]) {
    for (f, g) in filled.iter().zip(given) {
        if missing.contains(g) {
            assert!(
                !missing.contains(f),
                "a missing cell stayed empty: {filled:?}"
            );
            continue;
        }
        match (f.parse::<f64>(), g.parse::<f64>()) {
            (Ok(a), Ok(b)) => assert!(
                (a - b).abs() < 1e-6,
                "an observed cell changed: {given:?} became {filled:?}"
            ),
            _ => assert_eq!(
                f, g,
                "an observed cell changed: {given:?} became {filled:?}"
            ),
        }
    }
}

/// Rows of a headed CSV without quotes, split into cells.
fn csv_cells(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let split = |l: &str| l.split(',').map(str::to_string).collect::<Vec<_>>();
    let header = split(lines.next().unwrap());
    (header, lines.filter(|l| !l.is_empty()).map(split).collect())
}

#[test]
fn penguins_with_their_na_cells_train_sample_impute_and_are_judged() {
    let Some((dir, data)) = shared_table("penguins.csv") else {
        return;
    };
    let (d, data) = (dir.path(), data.as_str());
    let (header, rows) = csv_cells(&std::fs::read_to_string(data).unwrap());

    // Info: the types a reader would give, and the NA cells counted in the file.
    let info: serde_json::Value = serde_json::from_str(&ok(d, &["info", data, "--json"])).unwrap();
    let columns = info["columns"].as_array().unwrap();
    let kinds: Vec<&str> = columns
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "categorical",
            "categorical",
            "real",
            "real",
            "integer",
            "integer",
            "categorical",
            "categorical"
        ]
    );
    for (j, column) in columns.iter().enumerate() {
        let na = rows.iter().filter(|r| r[j] == "NA").count();
        assert_eq!(column["name"], header[j].as_str());
        assert_eq!(column["missing"], na, "{column}");
    }
    assert_eq!(columns[6]["missing"], 11);

    ok(
        d,
        &[
            "train",
            "--data",
            data,
            "--out",
            "run",
            "--epochs",
            "150",
            "--batch-size",
            "64",
            "--seed",
            "0",
            "-q",
        ],
    );

    // Samples: the file's columns and values, and its dependences: Gentoos
    // are the heavy ones, and Torgersen is an island of Adelies.
    ok(
        d,
        &[
            "sample", "--run", "run", "--n", "3000", "--seed", "1", "--out", "s.csv",
        ],
    );
    let (sampled_header, sampled) = csv_cells(&std::fs::read_to_string(d.join("s.csv")).unwrap());
    assert_eq!(sampled_header, header);
    let mass = |rows: &[Vec<String>], species: &str| {
        let v: Vec<f64> = rows
            .iter()
            .filter(|r| r[0] == species && r[5] != "NA")
            .map(|r| r[5].parse().unwrap())
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    for row in &sampled {
        assert!(
            ["Adelie", "Chinstrap", "Gentoo"].contains(&row[0].as_str()),
            "{row:?}"
        );
        assert!(["male", "female"].contains(&row[6].as_str()), "{row:?}");
        assert!(
            ["2007", "2008", "2009"].contains(&row[7].as_str()),
            "{row:?}"
        );
        for j in [4, 5] {
            let v: f64 = row[j].parse().unwrap();
            assert!(v >= 0.0 && v.fract() == 0.0, "{row:?}");
        }
    }
    let (gentoo, adelie) = (mass(&sampled, "Gentoo"), mass(&sampled, "Adelie"));
    assert!(
        gentoo - adelie > 0.6 * (mass(&rows, "Gentoo") - mass(&rows, "Adelie")),
        "body mass does not follow species: Gentoo {gentoo}, Adelie {adelie}"
    );
    let torgersen: Vec<_> = sampled.iter().filter(|r| r[1] == "Torgersen").collect();
    let adelies = torgersen.iter().filter(|r| r[0] == "Adelie").count();
    assert!(
        adelies as f64 > 0.8 * torgersen.len() as f64,
        "{adelies} of {} Torgersen penguins are Adelies",
        torgersen.len()
    );

    // Judged as SDMetrics judges: the samples keep pair trends that a table
    // of the same columns shuffled apart (each column rotated) loses.
    let mut shuffled = header.join(",") + "\n";
    for i in 0..rows.len() {
        let row: Vec<&str> = (0..header.len())
            .map(|j| rows[(i + 37 * j) % rows.len()][j].as_str())
            .collect();
        shuffled += &(row.join(",") + "\n");
    }
    std::fs::write(d.join("shuffled.csv"), shuffled).unwrap();
    let judge = |file: &str| -> serde_json::Value {
        serde_json::from_str(&ok(
            d,
            &[
                "eval",
                "--run",
                "run",
                "--synthetic",
                file,
                "--data",
                data,
                "--json",
            ],
        ))
        .unwrap()
    };
    let (model, apart) = (judge("s.csv"), judge("shuffled.csv"));
    let score = |v: &serde_json::Value, key: &str| v[key].as_f64().unwrap();
    eprintln!(
        "penguins: shapes {:.3}, pair trends {:.3} against {:.3} shuffled; body mass Gentoo {gentoo:.0} Adelie {adelie:.0}; Torgersen {adelies} Adelies of {}",
        score(&model, "column_shapes"),
        score(&model, "column_pair_trends"),
        score(&apart, "column_pair_trends"),
        torgersen.len()
    );
    assert!(score(&model, "column_shapes") > 0.8, "{model}");
    assert!(
        score(&model, "column_pair_trends") > score(&apart, "column_pair_trends") + 0.05,
        "pair trends: model {} against shuffled columns {}",
        score(&model, "column_pair_trends"),
        score(&apart, "column_pair_trends")
    );
    assert!(
        (score(&apart, "column_shapes") - 1.0).abs() < 1e-9,
        "shuffled rows keep every column's shape: {apart}"
    );
    // Efficacy: the species is told from the bills and flippers, on real
    // rows near always; trained on the samples nearly as well, and not at
    // all on the shuffled table, whose species go with nothing.
    let efficacy = |file: &str| -> serde_json::Value {
        let out = ok(
            d,
            &[
                "eval",
                "--run",
                "run",
                "--synthetic",
                file,
                "--holdout",
                data,
                "--target",
                "species",
                "--json",
            ],
        );
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["efficacy"].clone()
    };
    let (model_f1, apart_f1) = (efficacy("s.csv"), efficacy("shuffled.csv"));
    eprintln!("penguins efficacy: samples {model_f1}, shuffled {apart_f1}");
    assert!(model_f1["real_f1"].as_f64().unwrap() > 0.95, "{model_f1}");
    assert!(
        model_f1["synthetic_f1"].as_f64().unwrap() > 0.8,
        "{model_f1}"
    );
    assert!(
        apart_f1["synthetic_f1"].as_f64().unwrap() < 0.6,
        "{apart_f1}"
    );
    assert_eq!(
        model_f1["positive"],
        serde_json::Value::Null,
        "three species: macro F1"
    );
    let bad_target = |target: &str, needles: &[&str]| {
        bad_input(
            d,
            &[
                "eval",
                "--run",
                "run",
                "--synthetic",
                "s.csv",
                "--holdout",
                data,
                "--target",
                target,
            ],
            needles,
        )
    };
    bad_target("bill_length_mm", &["--target", "numeric"]);
    // A column the table does not have is named, with the ones it has.
    bad_target("beak_colour", &["--target", "beak_colour", "species"]);
    // Efficacy needs held-out rows to test on.
    let out = vaekit(
        d,
        &[
            "eval",
            "--run",
            "run",
            "--synthetic",
            "s.csv",
            "--target",
            "species",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--holdout"), "{err}");

    // The latent-space commands read the table through its columns.
    ok(d, &["latent", "--run", "run", "--out", "map.png"]);
    assert!(image::open(d.join("map.png")).is_ok());
    ok(
        d,
        &[
            "cluster",
            "--run",
            "run",
            "--k",
            "3",
            "--out",
            "clusters.csv",
        ],
    );
    let clusters = std::fs::read_to_string(d.join("clusters.csv")).unwrap();
    assert_eq!(clusters.lines().count(), rows.len() + 1, "{clusters}");
    // With the species as the label, the other columns' codes tell it.
    ok(
        d,
        &[
            "train",
            "--data",
            data,
            "--label-column",
            "species",
            "--out",
            "labelled",
            "--epochs",
            "60",
            "--batch-size",
            "64",
            "-q",
        ],
    );
    let probe: serde_json::Value =
        serde_json::from_str(&ok(d, &["probe", "--run", "labelled", "--json"])).unwrap();
    let latent = probe["rows"][0]["accuracy"].as_f64().unwrap();
    eprintln!("penguins: species from the latent codes, accuracy {latent:.3}");
    assert!(latent > 0.85, "species from the latent codes: {probe}");

    // A conditional model on the species draws them at their training
    // shares (152, 124, 68 of 344, less the validation rows), written under
    // the column's name as the file writes them.
    ok(
        d,
        &[
            "train",
            "--data",
            data,
            "--label-column",
            "species",
            "--model",
            "cvae",
            "--out",
            "cvae",
            "--epochs",
            "30",
            "--batch-size",
            "64",
            "--val-fraction",
            "0",
            "-q",
        ],
    );
    ok(
        d,
        &[
            "sample",
            "--run",
            "cvae",
            "--class-shares",
            "--n",
            "688",
            "--out",
            "c.csv",
        ],
    );
    let (c_header, c_rows) = csv_cells(&std::fs::read_to_string(d.join("c.csv")).unwrap());
    assert_eq!(c_header.last().unwrap(), "species");
    let count = |s: &str| c_rows.iter().filter(|r| r.last().unwrap() == s).count();
    assert_eq!(
        (count("Adelie"), count("Gentoo"), count("Chinstrap")),
        (304, 248, 136)
    );
    // Codes from mixtures fitted per species keep the shares, and each
    // species' rows keep its own measurements: Gentoo penguins are the
    // heavy ones (4,000-6,300 g; the others 2,700-4,800 g).
    ok(
        d,
        &[
            "sample",
            "--run",
            "cvae",
            "--class-shares",
            "--code-mixture",
            "3",
            "--n",
            "688",
            "--out",
            "m.csv",
        ],
    );
    let (m_header, m_rows) = csv_cells(&std::fs::read_to_string(d.join("m.csv")).unwrap());
    assert_eq!(m_header, c_header);
    let species = |s: &str| -> Vec<&Vec<String>> {
        m_rows.iter().filter(|r| r.last().unwrap() == s).collect()
    };
    assert_eq!(
        (
            species("Adelie").len(),
            species("Gentoo").len(),
            species("Chinstrap").len()
        ),
        (304, 248, 136)
    );
    let mass = m_header.iter().position(|h| h == "body_mass_g").unwrap();
    let mean_mass = |s: &str| {
        let masses: Vec<f64> = species(s)
            .iter()
            .filter_map(|r| r[mass].parse().ok())
            .collect();
        masses.iter().sum::<f64>() / masses.len() as f64
    };
    let (gentoo, adelie) = (mean_mass("Gentoo"), mean_mass("Adelie"));
    assert!(
        gentoo > adelie + 700.0,
        "Gentoo {gentoo} g, Adelie {adelie} g"
    );
    for (k, message) in [("0", "give between 1"), ("200", "fewer than the 200")] {
        bad_input(
            d,
            &[
                "sample",
                "--run",
                "cvae",
                "--class-shares",
                "--code-mixture",
                k,
                "--n",
                "10",
                "--out",
                "x.csv",
            ],
            &["--code-mixture", message],
        );
    }
    assert!(!d.join("x.csv").exists());
    bad_input(
        d,
        &[
            "sample",
            "--run",
            "run",
            "--class-shares",
            "--n",
            "10",
            "--out",
            "x.csv",
        ],
        &["--class-shares", "not conditional"],
    );

    // Imputation fills every NA cell with a value of its column's type and
    // keeps the observed ones.
    ok(
        d,
        &[
            "impute",
            "--run",
            "run",
            "--data",
            data,
            "--out",
            "filled.csv",
        ],
    );
    let (_, filled) = csv_cells(&std::fs::read_to_string(d.join("filled.csv")).unwrap());
    assert_eq!(filled.len(), rows.len());
    for (f, o) in filled.iter().zip(&rows) {
        assert!(["male", "female"].contains(&f[6].as_str()), "{f:?}");
        let (f, o): (Vec<&str>, Vec<&str>) = (
            f.iter().map(String::as_str).collect(),
            o.iter().map(String::as_str).collect(),
        );
        assert_imputed_row(&f, &o, &["NA", ""]);
    }
}

#[test]
fn uci_adult_data_as_shipped_reads_with_its_separators_and_question_marks() {
    let Some((dir, data)) = shared_table("adult/adult.data") else {
        return;
    };
    let (d, data) = (dir.path(), data.as_str());
    let info: serde_json::Value =
        serde_json::from_str(&ok(d, &["info", data, "--format", "csv", "--json"])).unwrap();
    assert_eq!(info["splits"][0]["examples"], 32_561);
    let columns = info["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 15);
    // UCI's adult.names: workclass, occupation and native-country have
    // unknowns ("?"), 1836, 1843 and 583 of them; the cells are trimmed.
    for (j, kind, missing) in [
        (1, "categorical", 1836),
        (6, "categorical", 1843),
        (13, "categorical", 583),
    ] {
        assert_eq!(columns[j]["kind"], kind, "{}", columns[j]);
        assert_eq!(columns[j]["missing"], missing, "{}", columns[j]);
    }
    // Numbers of 32,561 rows are coded by their modes: capital gains (x10)
    // by a spike at 0 among them.
    for j in [0, 2, 10, 11, 12] {
        assert_eq!(columns[j]["kind"], "modes", "{}", columns[j]);
        assert!(columns[j]["modes"].as_u64().unwrap() >= 2, "{}", columns[j]);
    }
    assert_eq!(columns[4]["kind"], "categorical", "16 levels of education");
    assert_eq!(columns[14]["values"][0][0], "<=50K");
    assert_eq!(columns[14]["values"][0][1], 24_720);
    // And it trains as it is, holes and all.
    ok(
        d,
        &[
            "train", "--data", data, "--format", "csv", "--out", "run", "--limit", "2000",
            "--epochs", "1", "-q",
        ],
    );
    ok(
        d,
        &["sample", "--run", "run", "--n", "10", "--out", "s.csv"],
    );
    let sampled = std::fs::read_to_string(d.join("s.csv")).unwrap();
    assert!(sampled.starts_with("x0,x1,x2"), "{sampled}");

    // UCI's adult.test opens with a title line, skipped by --skip-lines
    // (the error without it says so); its incomes end in '.', which a run
    // trained on adult.data names as unseen, at the file's own line 2.
    let test = data.replace("adult.data", "adult.test");
    bad_input(
        d,
        &["info", &test, "--format", "csv"],
        &["line 2 has 15 fields, expected 1", "--skip-lines 1"],
    );
    let info: serde_json::Value = serde_json::from_str(&ok(
        d,
        &[
            "info",
            &test,
            "--format",
            "csv",
            "--skip-lines",
            "1",
            "--json",
        ],
    ))
    .unwrap();
    assert_eq!(info["splits"][0]["examples"], 16_281);
    let args = [
        "score",
        "--run",
        "run",
        "--data",
        &test,
        "--format",
        "csv",
        "--skip-lines",
        "1",
    ];
    bad_input(
        d,
        &args,
        &["line 2, column 15 (x14)", "'<=50K.'", "<=50K, >50K"],
    );
}
