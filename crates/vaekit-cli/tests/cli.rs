//! The `vaekit` binary, run for real in temporary folders: every command on
//! good input, and every kind of bad input the foundation promises to catch
//! (exit code 2, a message naming the file or setting, no panic, nothing written).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn vaekit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaekit"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the vaekit binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs and expects success, returning stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    let out = vaekit(dir, args);
    assert!(
        out.status.success(),
        "vaekit {args:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs and expects a clean failure with exit code 2 whose message contains
/// every one of `needles`; returns stderr.
fn bad_input(dir: &Path, args: &[&str], needles: &[&str]) -> String {
    let out = vaekit(dir, args);
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "vaekit {args:?}: expected exit 2, got {:?}\n{err}",
        out.status
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    for needle in needles {
        assert!(
            err.contains(needle),
            "vaekit {args:?}: message lacks '{needle}':\n{err}"
        );
    }
    err
}

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
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes
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
        "cluster",
        "info",
        "demo",
    ] {
        let help = ok(dir.path(), &[command, "--help"]);
        assert!(
            help.contains("Example"),
            "{command} --help has no example:\n{help}"
        );
        assert!(help.contains(&format!("vaekit {command}")), "{command}");
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
fn config_file_and_resume_work_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("s.toml"),
        "data = \"digits\"\nhidden = [16]\nlatent = 3\nbatch-size = 200\nepochs = 5\n\
         model = \"hvae\"\nobjective = \"iw\"\ntrain-samples = 2\ntop-latent = 2\ntop-hidden = [8]\n",
    )
    .unwrap();
    ok(
        d,
        &[
            "train", "--config", "s.toml", "--epochs", "1", "--out", "run", "-q",
        ],
    );
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/config.json")).unwrap()).unwrap();
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
        info.contains("hvae") && info.contains("z2 of 2") && info.contains("IWAE bound, 2 samples"),
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
    std::fs::write(d.join("word.csv"), "a,b\n1,2\n3,four\n").unwrap();
    bad_input(
        d,
        &train_args("word.csv", "run", &[]),
        &["word.csv", "four", "line 3"],
    );
    std::fs::write(d.join("ragged.csv"), "a,b\n1,2\n3,4,5\n").unwrap();
    bad_input(
        d,
        &train_args("ragged.csv", "run", &[]),
        &["ragged.csv", "line 3"],
    );
    std::fs::write(d.join("nan.csv"), "a,b\n1,2\n3,NaN\n").unwrap();
    bad_input(
        d,
        &train_args("nan.csv", "run", &[]),
        &["nan.csv", "missing value"],
    );
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
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/config.json")).unwrap()).unwrap();
    assert_eq!(config["data"]["train_examples"], 240);
    assert_eq!(config["data"]["val_examples"], 60);
    assert_eq!(config["settings"]["limit"], 300);
    let eval = ok(d, &["eval", "--run", "run", "--split", "val", "--json"]);
    let eval: serde_json::Value = serde_json::from_str(eval.trim()).unwrap();
    assert_eq!(eval["n"], 60);
    assert!(eval["seconds"].as_f64().unwrap() >= 0.0);
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

/// The rows of a clusters CSV: (index, cluster, label).
fn cluster_rows(path: &Path) -> Vec<(usize, u32, u32)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("index,cluster,label"));
    lines
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            (v[0].parse().unwrap(), v[1].parse().unwrap(), v[2].parse().unwrap())
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
    assert!(printed.contains("(kmeans)") && printed.contains("accuracy"), "{printed}");
    let rows = cluster_rows(&d.join("k.csv"));
    assert_eq!(rows.len(), 1797);
    assert!(rows.iter().enumerate().all(|(i, r)| r.0 == i && r.1 < 10 && r.2 < 10));
    let json = ok(
        d,
        &["cluster", "--run", run, "--split", "test", "--k", "5", "--out", "t.csv", "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((v["method"].as_str(), v["k"].as_u64()), (Some("kmeans"), Some(5)));
    let accuracy = v["agreement"]["accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.2 && accuracy <= 1.0, "{v}");
    assert_eq!(cluster_rows(&d.join("t.csv")).len(), v["examples"].as_u64().unwrap() as usize);

    // A mixture-prior run: its own clusters by default.
    ok(
        d,
        &train_args(
            "digits",
            "gmm",
            &["--prior", "gmm", "--components", "6", "--pretrain-epochs", "2", "--epochs", "4"],
        ),
    );
    let json = ok(d, &["cluster", "--run", "gmm", "--out", "p.csv", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((v["method"].as_str(), v["k"].as_u64()), (Some("prior"), Some(6)));
    assert!(cluster_rows(&d.join("p.csv")).iter().all(|r| r.1 < 6));
    assert!(ok(d, &["info", "gmm"]).contains("Gaussian mixture prior with 6 components"));
    ok(d, &["sample", "--run", "gmm", "--n", "8", "--out", "s.png"]);
    assert!(d.join("s.png").is_file());
    assert!(ok(d, &["eval", "--run", "gmm"]).contains("KL"));

    // Bad input: exit 2, the flag named, nothing written.
    bad_input(
        d,
        &["cluster", "--run", run, "--method", "prior", "--out", "bad.csv"],
        &["--method prior", "--prior gmm"],
    );
    bad_input(d, &["cluster", "--run", run, "--k", "0", "--out", "bad.csv"], &["--k"]);
    bad_input(d, &["cluster", "--run", "gmm", "--k", "3", "--out", "bad.csv"], &["--k", "6"]);
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
        (gmm(&["--free-bits", "0.5"]), &["--free-bits", "--prior gmm"][..]),
        (gmm(&["--model", "hvae"]), &["--prior gmm", "hvae"][..]),
        (gmm(&["--model", "cvae"]), &["--prior gmm", "cvae"][..]),
        (gmm(&["--components", "0"]), &["--components"][..]),
        (gmm(&["--pseudo-inputs", "5"]), &["--pseudo-inputs", "--prior vamp"][..]),
        (gmm(&["--pretrain-epochs", "2"]), &["--pretrain-epochs"][..]),
        (vec!["--components", "5"], &["--components", "--prior gmm"][..]),
        (vec!["--prior", "vamp", "--pretrain-epochs", "1"], &["--prior gmm"][..]),
    ] {
        bad_input(d, &train_args("digits", "run", &extra), needles);
        no_run_made(d);
    }
}
