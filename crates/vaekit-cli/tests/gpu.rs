//! The GPU code path, in builds with a GPU backend (`--features wgpu`):
//! train, eval with importance weighting, sample, encode and score run with
//! `--device wgpu` on the embedded digits and must agree with the CPU
//! backend (same seed, same data; initial weights are drawn on the CPU for
//! every device, so the runs start equal). On a machine without a GPU,
//! Mesa's software Vulkan driver (lavapipe, Debian's mesa-vulkan-drivers)
//! runs it; `.ci/run` installs it. The device runs plain burn, never the
//! CPU's fused kernels, so each model kind below exercises their plain-burn
//! paths: the MLP (fused linear layers and likelihoods), batch norm, the
//! convolutions (the patch kernels) and the two-layer model.
#![cfg(feature = "wgpu")]

mod common;

use std::path::Path;

use common::{text, vaekit};

/// Why the wgpu device cannot be used here, if it cannot: a probe encodes
/// with a CPU-trained run on it.
fn no_gpu(dir: &Path) -> Option<String> {
    common::ok(
        dir,
        &[
            "train", "--data", "digits", "--out", "probe", "--epochs", "1", "--limit", "100",
        ],
    );
    let out = vaekit(
        dir,
        &[
            "--device",
            "wgpu",
            "encode",
            "--run",
            "probe",
            "--out",
            "probe.csv",
        ],
    );
    (!out.status.success()).then(|| text(&out.stderr))
}

/// `vaekit --device DEVICE ARGS`, which must succeed; its stdout.
fn on(device: &str, dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["--device", device];
    all.extend_from_slice(args);
    common::ok(dir, &all)
}

/// A number after `key` in a JSON text (flat enough for this).
fn json_number(json: &str, key: &str) -> f64 {
    let at = json
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("no {key} in {json}"));
    json[at + key.len() + 3..]
        .split([',', '}'])
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number for {key} in {json}"))
}

/// The numbers of a CSV file, row by row (the header left out).
fn csv_numbers(path: &Path) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').filter_map(|c| c.parse().ok()).collect())
        .collect()
}

fn assert_close(what: &str, a: f64, b: f64, tolerance: f64) {
    assert!(
        (a - b).abs() <= tolerance * (1.0 + a.abs().max(b.abs())),
        "{what}: cpu {a} against wgpu {b}"
    );
}

fn assert_tables_close(what: &str, a: &[Vec<f64>], b: &[Vec<f64>], tolerance: f64) {
    assert_eq!(a.len(), b.len(), "{what}: rows");
    for (i, (ra, rb)) in a.iter().zip(b).enumerate() {
        assert_eq!(ra.len(), rb.len(), "{what}: row {i}");
        for (x, y) in ra.iter().zip(rb) {
            assert_close(&format!("{what} row {i}"), *x, *y, tolerance);
        }
    }
}

#[test]
fn every_command_on_the_gpu_backend_agrees_with_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    if let Some(why) = no_gpu(dir) {
        eprintln!(
            "skipped: no wgpu device answers here (install mesa-vulkan-drivers and libvulkan1 for lavapipe): {why}"
        );
        return;
    }
    // A mixed table with holes: typed columns, their likelihoods and the
    // encoder's missing-cell mask.
    let mut table = String::from("height,weight,colour,legs\n");
    for i in 0..300 {
        let colour = ["red", "green", "blue"][i % 3];
        let weight = match i % 11 {
            4 => String::new(),
            _ => format!("{:.1}", 50.0 + (i % 17) as f64 * 1.5),
        };
        table.push_str(&format!("{},{weight},{colour},{}\n", 150 + i % 40, i % 5));
    }
    std::fs::write(dir.join("mixed.csv"), table).unwrap();
    let kinds: [(&str, &str, &[&str]); 5] = [
        ("mlp", "digits", &["--hidden", "64", "--latent", "4"]),
        (
            "bn",
            "digits",
            &["--hidden", "32,32", "--batch-norm", "--latent", "4"],
        ),
        (
            "conv",
            "digits",
            &["--arch", "conv", "--conv-channels", "8,16", "--latent", "4"],
        ),
        (
            "hvae",
            "digits",
            &[
                "--model",
                "hvae",
                "--hidden",
                "32",
                "--latent",
                "4",
                "--top-latent",
                "2",
                "--top-hidden",
                "8",
            ],
        ),
        ("table", "mixed.csv", &["--hidden", "32", "--latent", "3"]),
    ];
    for (name, data, flags) in kinds {
        for device in ["cpu", "wgpu"] {
            let out = format!("{name}-{device}");
            let mut args = vec![
                "train", "--data", data, "--out", &out, "--epochs", "2", "--limit", "600",
                "--quiet",
            ];
            args.extend_from_slice(flags);
            on(device, dir, &args);
        }
        // Two epochs of float32 training on two backends: the same model
        // up to rounding that the steps carry along.
        let cpu = on(
            "cpu",
            dir,
            &["eval", "--run", &format!("{name}-cpu"), "--json"],
        );
        let gpu = on(
            "wgpu",
            dir,
            &["eval", "--run", &format!("{name}-wgpu"), "--json"],
        );
        for key in ["neg_elbo", "recon", "kl"] {
            let tolerance = if key == "kl" { 2e-2 } else { 2e-3 };
            let (a, b) = (json_number(&cpu, key), json_number(&gpu, key));
            assert_close(&format!("{name} {key}"), a, b, tolerance);
        }
    }

    // One run, every command on both devices.
    let run = "mlp-cpu";
    let iw = |device| {
        on(
            device,
            dir,
            &["eval", "--run", run, "--iw-samples", "50", "--json"],
        )
    };
    let (cpu, gpu) = (iw("cpu"), iw("wgpu"));
    assert_close(
        "iw nll",
        json_number(&cpu, "nll"),
        json_number(&gpu, "nll"),
        1e-4,
    );
    assert_close(
        "elbo",
        json_number(&cpu, "neg_elbo"),
        json_number(&gpu, "neg_elbo"),
        1e-4,
    );
    for device in ["cpu", "wgpu"] {
        let score = format!("score-{device}.csv");
        let codes = format!("codes-{device}.csv");
        let samples = format!("samples-{device}.csv");
        on(device, dir, &["score", "--run", run, "--out", &score]);
        on(device, dir, &["encode", "--run", run, "--out", &codes]);
        on(
            device,
            dir,
            &[
                "sample", "--run", run, "--n", "16", "--seed", "3", "--out", &samples,
            ],
        );
    }
    let table = |name: &str, device: &str| csv_numbers(&dir.join(format!("{name}-{device}.csv")));
    assert_tables_close(
        "scores",
        &table("score", "cpu"),
        &table("score", "wgpu"),
        1e-4,
    );
    assert_tables_close(
        "codes",
        &table("codes", "cpu"),
        &table("codes", "wgpu"),
        1e-4,
    );
    assert_tables_close(
        "samples",
        &table("samples", "cpu"),
        &table("samples", "wgpu"),
        1e-4,
    );
}
