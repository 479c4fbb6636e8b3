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
    model_with(seed, likelihood, PriorKind::Standard, None)
}

fn model_with(
    seed: u64,
    likelihood: Likelihood,
    prior: PriorKind,
    top: Option<crate::model::TopLayerConfig>,
) -> Vae {
    let config = ModelConfig {
        input: kind(),
        architecture: Architecture::Mlp {
            hidden: vec![16],
            activation: Activation::Relu,
        },
        latent_dim: 4,
        likelihood,
        top,
        classes: None,
        prior,
        batch_norm: false,
        table: None,
    };
    // Every weight drawn right after the seeding, under the lock that
    // keeps other tests' seeded draws apart: burn's generator is one for
    // the whole process, and its parameters are drawn at first use.
    let device = Device::default();
    crate::random::with_seeded_device(&device, seed, || {
        let vae = config.init(&device).unwrap();
        crate::model::weights::initialize_now(&vae);
        vae
    })
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

/// The file is the stack's growth, the initial words, the header and the
/// checksum, and at most a word of rounding; returns the growth in bits.
fn assert_the_file_is_the_stacks_growth(made: &Compressed) -> f64 {
    let grown: f64 = made.bits.iter().sum();
    let overhead = 8.0 * (109 + 32) as f64 + 32.0 * SEED_WORDS as f64;
    let file_bits = 8.0 * made.bytes.len() as f64;
    assert!(
        (file_bits - grown - overhead).abs() <= 64.0,
        "{file_bits} bits against {grown} grown + {overhead}"
    );
    grown
}

#[test]
fn images_come_back_bit_for_bit_and_the_file_is_what_the_stack_grew_by() {
    let vae = model(1, Likelihood::Bernoulli);
    let data = images(200);
    let made = compress_dataset(&vae, &data, Container::Npy, None, 1).unwrap();
    let (header, back, _) = decompress_dataset(&vae, &made.bytes).unwrap();
    assert_eq!(back.values(), data.values());
    assert_eq!(
        (header.count, header.shape),
        (200, [1, SIDE as u32, SIDE as u32])
    );
    assert_eq!(header.container, Container::Npy);
    let grown = assert_the_file_is_the_stacks_growth(&made);
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
        let (bytes, _) = compress_file(&coder, [1, 6, 6], Container::Idx, &pixels, 1).unwrap();
        let (_, back) = decompress_file(&coder, &bytes).unwrap();
        assert_eq!(back, pixels);
    }
}

fn file_hash(vae: &Vae, data: &Dataset) -> String {
    let made = compress_dataset(vae, data, Container::Npy, None, 1).unwrap();
    let hash: [u8; 32] = sha2::Sha256::digest(&made.bytes).into();
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_bits_are_pinned() {
    // A change of any kernel, model or rounding that would make old files
    // unreadable changes these hashes: such a change needs a new VERSION.
    // The coder has one code path on every machine (no run-time choice of
    // vector kernels), so these hashes passing on an AVX2 machine and on an
    // AVX-512 one is the check that a file decodes across them.
    let vae = model(4, Likelihood::Bernoulli);
    assert_eq!(
        file_hash(&vae, &images(20)),
        "35f6984698d205ac40dd2d467c06a60bbe5dd954e129ce653215db92406c2735"
    );
    let top = crate::model::TopLayerConfig {
        latent_dim: 3,
        hidden: vec![8],
        activation: Activation::Tanh,
    };
    let vamp = model_with(
        4,
        Likelihood::Bernoulli,
        PriorKind::Vamp { pseudo_inputs: 5 },
        None,
    );
    let hvae = model_with(4, Likelihood::Bernoulli, PriorKind::Standard, Some(top));
    let logistic = model_with(4, Likelihood::Logistic, PriorKind::Standard, None);
    let levels: Vec<f32> = (0..20 * SIDE * SIDE)
        .map(|i| ((i * 53) % 256) as f32 / 255.0)
        .collect();
    let eight = Dataset::new(levels, kind(), None).unwrap();
    let got = [
        file_hash(&vamp, &images(20)),
        file_hash(&hvae, &images(20)),
        file_hash(&logistic, &eight),
    ];
    assert_eq!(
        got,
        [
            "17fc251220a7515195c8f6a445871ebd9b65396978dca90dc1919581b90d44fb",
            "ac3d397c57b5fc20cd78fb52af3ac03191b0575ce82ce3b038b3f0e239d36e36",
            "ca1018938981efba05d672e400e0ace27ee054bbb98280ae741ab44c278ce9f1",
        ]
    );
}

#[test]
fn another_run_a_damaged_file_and_grey_pixels_are_refused() {
    let vae = model(1, Likelihood::Bernoulli);
    let made = compress_dataset(&vae, &images(30), Container::Npy, None, 1).unwrap();
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
    let err = compress_dataset(&vae, &grey, Container::Npy, None, 1)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not 0 or 1") && err.contains("binarize"),
        "{err}"
    );
    let drawn = compress_dataset(&vae, &grey, Container::Npy, Some(3), 1).unwrap();
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
                compress_dataset(&vae, &data, Container::Npy, None, 1)
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

/// The VampPrior, a Gaussian mixture and a second stochastic layer: each
/// codes bit for bit, within a few bits of what the stack grew by, and
/// each kind of model fingerprints differently.
#[test]
fn mixture_priors_and_two_layers_round_trip() {
    let top = crate::model::TopLayerConfig {
        latent_dim: 3,
        hidden: vec![8],
        activation: Activation::Tanh,
    };
    let models = [
        model_with(
            7,
            Likelihood::Bernoulli,
            PriorKind::Vamp { pseudo_inputs: 5 },
            None,
        ),
        model_with(
            7,
            Likelihood::Bernoulli,
            PriorKind::Vamp { pseudo_inputs: 1 },
            None,
        ),
        model_with(
            7,
            Likelihood::Bernoulli,
            PriorKind::Gmm { components: 3 },
            None,
        ),
        model_with(7, Likelihood::Bernoulli, PriorKind::Standard, Some(top)),
    ];
    let data = images(60);
    let mut fingerprints = Vec::new();
    for vae in &models {
        let made = compress_dataset(vae, &data, Container::Npy, None, 1).unwrap();
        let (_, back, _) = decompress_dataset(vae, &made.bytes).unwrap();
        assert_eq!(back.values(), data.values());
        assert_the_file_is_the_stacks_growth(&made);
        fingerprints.push(Coder::of(vae).unwrap().fingerprint());
    }
    fingerprints.sort();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), models.len());
}

/// 8-bit images under a discretized logistic decoder: bit for bit back,
/// the file what the stack grew by, a depth of its own in the header, and
/// binarization (or values off the 8-bit grid) refused.
#[test]
fn eight_bit_images_round_trip_under_the_logistic() {
    let vae = model_with(8, Likelihood::Logistic, PriorKind::Standard, None);
    let values: Vec<f32> = (0..50 * SIDE * SIDE)
        .map(|i| ((i * 37 + i / 7) % 256) as f32 / 255.0)
        .collect();
    let data = Dataset::new(values, kind(), None).unwrap();
    let made = compress_dataset(&vae, &data, Container::Idx, None, 1).unwrap();
    let (header, back, _) = decompress_dataset(&vae, &made.bytes).unwrap();
    assert_eq!(header.depth, Depth::EightBit);
    assert_eq!(back.values(), data.values());
    let grown = assert_the_file_is_the_stacks_growth(&made);
    // An untrained decoder (scale about 1) spreads each pixel over the
    // levels: about log2(255 / 0.25) bits each.
    let per_pixel = grown / (50 * SIDE * SIDE) as f64;
    assert!(
        (7.0..12.0).contains(&per_pixel),
        "{per_pixel} bits per pixel"
    );
    let err = compress_dataset(&vae, &data, Container::Idx, Some(1), 1)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("8-bit") && err.contains("--binarize-seed"),
        "{err}"
    );
    let off_grid = Dataset::new(vec![0.3; SIDE * SIDE], kind(), None).unwrap();
    let err = compress_dataset(&vae, &off_grid, Container::Idx, None, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an 8-bit level"), "{err}");
    // A binary model's file does not decode with it, nor the reverse.
    let binary = model(8, Likelihood::Bernoulli);
    let bits = compress_dataset(&binary, &images(3), Container::Npy, None, 1).unwrap();
    assert!(decompress_dataset(&vae, &bits.bytes).is_err());
}

/// Importance-weighted coding (K codes an image): bit for bit back, K in
/// the header, on a standard-prior, a mixture and an 8-bit model, the same
/// bytes on one thread and on two, and a K the coder cannot take refused.
#[test]
fn importance_weighted_coding_round_trips_and_costs_less() {
    let models = [
        model(9, Likelihood::Bernoulli),
        model_with(
            9,
            Likelihood::Bernoulli,
            PriorKind::Vamp { pseudo_inputs: 4 },
            None,
        ),
        model_with(9, Likelihood::Logistic, PriorKind::Standard, None),
    ];
    let levels: Vec<f32> = (0..40 * SIDE * SIDE)
        .map(|i| ((i * 29 + i / 5) % 256) as f32 / 255.0)
        .collect();
    let eight = Dataset::new(levels, kind(), None).unwrap();
    for (m, vae) in models.iter().enumerate() {
        let data = if m == 2 { eight.clone() } else { images(40) };
        let one = compress_dataset(vae, &data, Container::Npy, None, 1).unwrap();
        let on = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| compress_dataset(vae, &data, Container::Npy, None, 8).unwrap())
        };
        let (eight_codes, again) = (on(2), on(1));
        assert_eq!(eight_codes.bytes, again.bytes);
        let (header, back, _) = decompress_dataset(vae, &eight_codes.bytes).unwrap();
        assert_eq!(header.particles, 8);
        assert_eq!(back.values(), data.values());
        // An untrained model's posterior is nearly its prior, where the
        // bound gains little: no worse than one code, to the bits the first
        // images cannot borrow (the CLI test measures the gain on a trained
        // model).
        let (a, b): (f64, f64) = (one.bits.iter().sum(), eight_codes.bits.iter().sum());
        assert!(
            b < a + 8.0 * 4.0 * 12.0,
            "model {m}: {b} bits with 8 codes against {a} with 1"
        );
    }
    let top = crate::model::TopLayerConfig {
        latent_dim: 3,
        hidden: vec![8],
        activation: Activation::Tanh,
    };
    let hvae = model_with(9, Likelihood::Bernoulli, PriorKind::Standard, Some(top));
    let err = compress_dataset(&hvae, &images(3), Container::Npy, None, 4)
        .unwrap_err()
        .to_string();
    assert!(err.contains("one stochastic layer"), "{err}");
    let err = compress_dataset(&models[0], &images(3), Container::Npy, None, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("1 to 64"), "{err}");
}
