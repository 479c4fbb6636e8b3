//! `vaekit compress`, `decompress` and `info` on a `.vkz` file, run for real
//! on the embedded digits: the images come back bit for bit, the file costs
//! about the model's -ELBO, and a wrong run, a damaged file or grey pixels
//! are refused with a message and nothing written.

mod common;
use common::{bad_input, ok};

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text.trim()).unwrap()
}

#[test]
fn digits_compress_decompress_and_recompress_to_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = |out: &str, seed: &str| {
        ok(
            d,
            &[
                "train",
                "--data",
                "digits",
                "--out",
                out,
                "--likelihood",
                "bernoulli",
                "--binarize",
                "dynamic",
                "--hidden",
                "64",
                "--latent",
                "8",
                "--epochs",
                "15",
                "--seed",
                seed,
                "-q",
            ],
        )
    };
    train("run", "0");
    let made = json(&ok(
        d,
        &[
            "compress",
            "--run",
            "run",
            "--split",
            "test",
            "--binarize-seed",
            "0",
            "--out",
            "test.vkz",
            "--json",
        ],
    ));
    let images = made["images"].as_u64().unwrap();
    assert_eq!(images, 297);
    let info = ok(d, &["info", "test.vkz"]);
    assert!(info.contains("297 of 1x8x8 binary pixels"), "{info}");
    ok(
        d,
        &[
            "decompress",
            "--run",
            "run",
            "test.vkz",
            "--out",
            "back.npy",
        ],
    );
    // The decoded pixels, compressed again as they are, give the same file.
    let again = json(&ok(
        d,
        &[
            "compress",
            "--run",
            "run",
            "--data",
            "back.npy",
            "--out",
            "again.vkz",
            "--json",
        ],
    ));
    assert_eq!(again["images"], made["images"]);
    let (a, b) = (
        std::fs::read(d.join("test.vkz")).unwrap(),
        std::fs::read(d.join("again.vkz")).unwrap(),
    );
    // (The embedded digits are recorded as NPY input, as back.npy is.)
    assert_eq!(a, b);
    // The coder's bits per image against the model's -ELBO on the same
    // pixels, one sample of z each: within a few percent over 297 images.
    let eval = json(&ok(
        d,
        &["eval", "--run", "run", "--data", "back.npy", "--json"],
    ));
    let elbo_bits = eval["neg_elbo"].as_f64().unwrap() / std::f64::consts::LN_2;
    let coded = made["mean_bits_per_image"].as_f64().unwrap();
    assert!(
        (coded / elbo_bits - 1.0).abs() < 0.05,
        "{coded} bits per image against a -ELBO of {elbo_bits} bits"
    );
    // The whole file: the images' bits and at most the header, the initial
    // bits and the checksum (1,640 bits) more.
    assert!(8.0 * a.len() as f64 <= coded * images as f64 + 1700.0);

    // Another run's networks, a damaged file, grey pixels: refused.
    train("other", "1");
    bad_input(
        d,
        &["decompress", "--run", "other", "test.vkz", "--out", "x.npy"],
        &["another run"],
    );
    let mut damaged = a.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 4;
    std::fs::write(d.join("damaged.vkz"), &damaged).unwrap();
    bad_input(
        d,
        &[
            "decompress",
            "--run",
            "run",
            "damaged.vkz",
            "--out",
            "x.npy",
        ],
        &["damaged"],
    );
    std::fs::write(d.join("short.vkz"), &a[..a.len() - 3]).unwrap();
    bad_input(
        d,
        &["decompress", "--run", "run", "short.vkz", "--out", "x.npy"],
        &["truncated"],
    );
    bad_input(
        d,
        &["compress", "--run", "run", "--out", "grey.vkz"],
        &["not 0 or 1", "--binarize-seed"],
    );
    for never in ["x.npy", "grey.vkz"] {
        assert!(!d.join(never).exists(), "{never} was written");
    }
}

/// 300 8-bit images of 8x8 (bright strokes of varying grey on a mostly
/// dark ground) in an `.npy` file of u8.
fn eight_bit_images(path: &std::path::Path) {
    let pixels: Vec<u8> = (0..300 * 64)
        .map(|i: usize| {
            let (image, pixel) = (i / 64, i % 64);
            let (row, col) = (pixel / 8, pixel % 8);
            let stroke = (col + image % 5).abs_diff(row + 1) <= 1 || (row * 3 + image) % 7 == col;
            match stroke {
                true => 255 - ((image * 13 + pixel * 7) % 90) as u8,
                false => u8::from((image + pixel) % 11 == 0) * 40,
            }
        })
        .collect();
    let bytes = common::npy("|u1", &[300, 8, 8], &pixels);
    std::fs::write(path, bytes).unwrap();
}

/// The VampPrior, a second stochastic layer (Bit-Swap's order) and 8-bit
/// pixels under a discretized logistic: each model the coder takes
/// compresses the digits to about its -ELBO and decompresses them bit for
/// bit, and a file of one does not decode with another.
#[test]
fn vampprior_two_layer_and_eight_bit_models_compress_to_their_elbo() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    eight_bit_images(&d.join("eight.npy"));
    let common = [
        "--hidden", "64", "--latent", "8", "--epochs", "12", "--seed", "0", "-q",
    ];
    let models: [(&str, &str, &[&str], &[&str]); 3] = [
        (
            "vamp",
            "digits",
            &[
                "--likelihood",
                "bernoulli",
                "--binarize",
                "dynamic",
                "--prior",
                "vamp",
                "--pseudo-inputs",
                "10",
            ],
            &["--split", "test", "--binarize-seed", "0"],
        ),
        (
            "hvae",
            "digits",
            &[
                "--likelihood",
                "bernoulli",
                "--binarize",
                "dynamic",
                "--model",
                "hvae",
                "--top-latent",
                "4",
                "--top-hidden",
                "32",
            ],
            &["--split", "test", "--binarize-seed", "0"],
        ),
        ("eight", "eight.npy", &["--likelihood", "logistic"], &[]),
    ];
    for (name, data, train, pick) in models {
        let mut args = vec!["train", "--data", data, "--out", name];
        args.extend(train);
        args.extend(common);
        ok(d, &args);
        let file = format!("{name}.vkz");
        let mut args = vec!["compress", "--run", name, "--out", &file, "--json"];
        args.extend(pick);
        let made = json(&ok(d, &args));
        let back = format!("{name}-back.npy");
        ok(d, &["decompress", "--run", name, &file, "--out", &back]);
        let again = format!("{name}-again.vkz");
        ok(
            d,
            &["compress", "--run", name, "--data", &back, "--out", &again],
        );
        assert_eq!(
            std::fs::read(d.join(&file)).unwrap(),
            std::fs::read(d.join(&again)).unwrap(),
            "{name}: the decoded images compress to the same file"
        );
        let eval = json(&ok(d, &["eval", "--run", name, "--data", &back, "--json"]));
        let elbo_bits = eval["neg_elbo"].as_f64().unwrap() / std::f64::consts::LN_2;
        let coded = made["mean_bits_per_image"].as_f64().unwrap();
        assert!(
            (coded / elbo_bits - 1.0).abs() < 0.05,
            "{name}: {coded} bits per image against a -ELBO of {elbo_bits} bits"
        );
    }
    // Eight codes an image: the importance-weighted bound, below the
    // -ELBO's bits, decoded bit for bit.
    let one = json(&ok(
        d,
        &[
            "compress",
            "--run",
            "vamp",
            "--split",
            "test",
            "--binarize-seed",
            "0",
            "--out",
            "one.vkz",
            "--json",
        ],
    ));
    let iw = json(&ok(
        d,
        &[
            "compress",
            "--run",
            "vamp",
            "--split",
            "test",
            "--binarize-seed",
            "0",
            "--iw-samples",
            "8",
            "--out",
            "iw.vkz",
            "--json",
        ],
    ));
    let (a, b) = (
        one["mean_bits_per_image"].as_f64().unwrap(),
        iw["mean_bits_per_image"].as_f64().unwrap(),
    );
    assert!(b < a, "{b} bits per image with 8 codes against {a} with 1");
    ok(
        d,
        &[
            "decompress",
            "--run",
            "vamp",
            "iw.vkz",
            "--out",
            "iw-back.npy",
        ],
    );
    assert_eq!(
        std::fs::read(d.join("iw-back.npy")).unwrap(),
        std::fs::read(d.join("vamp-back.npy")).unwrap()
    );
    let info = ok(d, &["info", "iw.vkz"]);
    assert!(info.contains("importance sampling, 8 codes"), "{info}");
    bad_input(
        d,
        &[
            "compress",
            "--run",
            "hvae",
            "--split",
            "test",
            "--binarize-seed",
            "0",
            "--iw-samples",
            "4",
            "--out",
            "x.vkz",
        ],
        &["one stochastic layer"],
    );
    // A convolutional decoder gives the logistic's two outputs per pixel as
    // two channels; it trains and samples, and the coder says it takes MLPs.
    ok(
        d,
        &[
            "train",
            "--data",
            "eight.npy",
            "--out",
            "conv",
            "--likelihood",
            "logistic",
            "--arch",
            "conv",
            "--conv-channels",
            "8,16",
            "--latent",
            "4",
            "--epochs",
            "2",
            "-q",
        ],
    );
    ok(
        d,
        &["sample", "--run", "conv", "--n", "16", "--out", "conv.png"],
    );
    let eval = json(&ok(d, &["eval", "--run", "conv", "--json"]));
    assert!(eval["neg_elbo"].as_f64().unwrap().is_finite(), "{eval}");
    bad_input(
        d,
        &[
            "compress",
            "--run",
            "conv",
            "--data",
            "eight.npy",
            "--out",
            "x.vkz",
        ],
        &["convolutional"],
    );
    let info = ok(d, &["info", "eight.vkz"]);
    assert!(info.contains("300 of 1x8x8 8-bit pixels"), "{info}");
    bad_input(
        d,
        &["decompress", "--run", "hvae", "vamp.vkz", "--out", "x.npy"],
        &["another run"],
    );
    bad_input(
        d,
        &[
            "compress", "--run", "eight", "--data", "digits", "--out", "x.vkz",
        ],
        &["8-bit pixels", "digits"],
    );
    bad_input(
        d,
        &[
            "train",
            "--data",
            "digits",
            "--likelihood",
            "logistic",
            "--out",
            "y",
        ],
        &["8-bit", "--likelihood gaussian"],
    );
    for never in ["x.npy", "x.vkz", "y"] {
        assert!(!d.join(never).exists(), "{never} was written");
    }
}
