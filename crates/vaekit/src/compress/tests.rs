//! The coder on small untrained models: the round trip is exact, what a
//! file costs is what the stack grew by, and every way a file can be wrong
//! is refused before anything is decoded.

use burn::tensor::Device;

use super::*;
use crate::data::DataKind;
use crate::distributions::Likelihood;
use crate::model::prior::Prior as PriorKind;
use crate::model::{Architecture, ModelConfig};
use crate::nn::Activation;

const SIDE: usize = 6;

fn kind() -> DataKind {
    DataKind::Image {
        channels: 1,
        height: SIDE,
        width: SIDE,
    }
}

fn model(seed: u64, likelihood: Likelihood) -> Vae {
    let config = ModelConfig {
        input: kind(),
        architecture: Architecture::Mlp {
            hidden: vec![16],
            activation: Activation::Relu,
        },
        latent_dim: 4,
        likelihood,
        top: None,
        classes: None,
        prior: PriorKind::Standard,
        batch_norm: false,
        table: None,
    };
    let device = Device::default();
    device.seed(seed);
    config.init(&device).unwrap()
}

/// `n` binary images with some structure (stripes of varying width).
fn images(n: usize) -> Dataset {
    let values = (0..n * SIDE * SIDE)
        .map(|i| {
            let (image, pixel) = (i / (SIDE * SIDE), i % (SIDE * SIDE));
            f32::from(u8::from(
                (pixel % SIDE + image).is_multiple_of(3) || (pixel * 7 + image).is_multiple_of(11),
            ))
        })
        .collect();
    Dataset::new(values, kind(), None).unwrap()
}

#[test]
fn images_come_back_bit_for_bit_and_the_file_is_what_the_stack_grew_by() {
    let vae = model(1, Likelihood::Bernoulli);
    let data = images(200);
    let made = compress_dataset(&vae, &data, Container::Npy, None).unwrap();
    let (header, back, _) = decompress_dataset(&vae, &made.bytes).unwrap();
    assert_eq!(back.values(), data.values());
    assert_eq!(
        (header.count, header.shape),
        (200, [1, SIDE as u32, SIDE as u32])
    );
    assert_eq!(header.container, Container::Npy);
    // The file: the stack's growth, the initial words, the header and the
    // checksum, and at most a word of rounding.
    let grown: f64 = made.bits.iter().sum();
    let overhead = 8.0 * (109 + 32) as f64 + 32.0 * SEED_WORDS as f64;
    let file_bits = 8.0 * made.bytes.len() as f64;
    assert!(
        (file_bits - grown - overhead).abs() <= 64.0,
        "{file_bits} bits against {grown} grown + {overhead}"
    );
    // An untrained decoder gives each pixel about a bit.
    let per_pixel = grown / (200 * SIDE * SIDE) as f64;
    assert!(
        (0.5..2.0).contains(&per_pixel),
        "{per_pixel} bits per pixel"
    );
}

#[test]
fn one_image_and_no_image_round_trip_too() {
    let vae = model(2, Likelihood::Bernoulli);
    for n in [1, 0] {
        let data = images(n.max(1)).subset(&(0..n).collect::<Vec<_>>());
        let coder = Coder::of(&vae).unwrap();
        let pixels = binary_pixels(&data).unwrap();
        let (bytes, _) = compress_file(&coder, [1, 6, 6], Container::Idx, &pixels).unwrap();
        let (_, back) = decompress_file(&coder, &bytes).unwrap();
        assert_eq!(back, pixels);
    }
}

#[test]
fn the_bits_are_pinned() {
    // A change of any kernel, model or rounding that would make old files
    // unreadable changes this hash: such a change needs a new VERSION.
    let vae = model(4, Likelihood::Bernoulli);
    let made = compress_dataset(&vae, &images(20), Container::Npy, None).unwrap();
    let hash: [u8; 32] = sha2::Sha256::digest(&made.bytes).into();
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "35f6984698d205ac40dd2d467c06a60bbe5dd954e129ce653215db92406c2735"
    );
}

#[test]
fn another_run_a_damaged_file_and_grey_pixels_are_refused() {
    let vae = model(1, Likelihood::Bernoulli);
    let made = compress_dataset(&vae, &images(30), Container::Npy, None).unwrap();
    let other = model(5, Likelihood::Bernoulli);
    let err = decompress_dataset(&other, &made.bytes)
        .unwrap_err()
        .to_string();
    assert!(err.contains("another run"), "{err}");
    let mut damaged = made.bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    let err = decompress_dataset(&vae, &damaged).unwrap_err().to_string();
    assert!(err.contains("damaged"), "{err}");
    let err = decompress_dataset(&vae, &made.bytes[..made.bytes.len() - 7])
        .unwrap_err()
        .to_string();
    assert!(err.contains("truncated"), "{err}");
    // Grey values need a binarization, which then makes the file.
    let grey = Dataset::new(vec![0.25; 2 * SIDE * SIDE], kind(), None).unwrap();
    let err = compress_dataset(&vae, &grey, Container::Npy, None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not 0 or 1") && err.contains("binarize"),
        "{err}"
    );
    let drawn = compress_dataset(&vae, &grey, Container::Npy, Some(3)).unwrap();
    let (_, back, _) = decompress_dataset(&vae, &drawn.bytes).unwrap();
    let ones = back.values().iter().filter(|&&v| v == 1.0).count();
    assert!(ones > 0 && ones < back.values().len() / 2, "{ones}");
    // A Gaussian model does not code binary pixels.
    let gaussian = model(
        1,
        Likelihood::Gaussian {
            variance: crate::distributions::GaussianVariance::Scalar,
            min_variance: 1e-3,
        },
    );
    let err = Coder::of(&gaussian).unwrap_err().to_string();
    assert!(err.contains("Bernoulli"), "{err}");
}

#[test]
fn the_coder_is_the_same_on_one_thread_and_on_two() {
    let vae = model(6, Likelihood::Bernoulli);
    let data = images(40);
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                compress_dataset(&vae, &data, Container::Npy, None)
                    .unwrap()
                    .bytes
            })
    };
    let (one, two) = (on(1), on(2));
    assert_eq!(one, two);
    let (_, back, _) = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| decompress_dataset(&vae, &two).unwrap());
    assert_eq!(back.values(), data.values());
}
