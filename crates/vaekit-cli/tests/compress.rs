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
