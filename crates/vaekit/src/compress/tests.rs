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

/// A two-layer model: z1 of 4 dimensions, z2 of 3 through 8 tanh units.
fn two_layer(seed: u64) -> Vae {
    let top = crate::model::TopLayerConfig {
        latent_dim: 3,
        hidden: vec![8],
        activation: Activation::Tanh,
    };
    model_with(seed, Likelihood::Bernoulli, PriorKind::Standard, Some(top))
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
        "ca4e16aaa7228efe9cfb37fa005787cf8d9dd957b43c1f75f0f4b363e62b6455"
    );
    let vamp = model_with(
        4,
        Likelihood::Bernoulli,
        PriorKind::Vamp { pseudo_inputs: 5 },
        None,
    );
    let hvae = two_layer(4);
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
            "87d351a822d0cdb7f1e09d18446fe78f9c4d70b56d145d49b0042a3235a5afd2",
            "3ed0dd98cd33cf7a3ad64f30c8ec5fb307bcedd8944889829311d14b919476b3",
            "7745e735885a4bc243ffbbebc944923afda2515d1a8bcad04dd440a284746a3d",
        ]
    );
}

#[test]
fn a_mixtures_grid_is_at_its_mean_and_spread() {
    // Weights 1/4 and 3/4 of N(-1, 0.5^2) and N(3, 1): mean -1/4 + 9/4 = 2,
    // variance 1/4 (0.25 + 1) + 3/4 (1 + 9) - 2^2 = 3.8125.
    let grid = Grid::of_mixture(1, &[-1.0, 3.0], &[0.5, 1.0], &[0.25, 0.75]);
    let buckets = Buckets::new();
    for j in [100u32, 2048, 4000] {
        let want = 2.0 + 3.8125f64.sqrt() * f64::from(buckets.centre(j));
        let got = f64::from(grid.centres(&[j], &buckets)[0]);
        assert!(
            (got - want).abs() < 1e-5 * want.abs().max(1.0),
            "{j}: {got} against {want}"
        );
    }
}

#[test]
fn a_two_layer_models_lower_grid_follows_p_z1() {
    // z1's grid against p(z1)'s mean and spread from 20,000 independent
    // draws of z2 ~ N(0, I): the grid's 512 fixed draws estimate the same.
    let hvae = two_layer(4);
    let coder = Coder::of(&hvae).unwrap();
    let upper = coder.top.as_ref().unwrap();
    let (d1, d2) = (coder.encoder.mu.d_out(), upper.up.mu.d_out());
    let mut rng = random::seeded(7, random::Stream::Sample);
    let draws = 20_000;
    let (mut first, mut second) = (vec![0.0f64; d1], vec![0.0f64; d1]);
    for _ in 0..draws {
        let (mu, sd) = upper.down.posterior(&random::normal(&mut rng, d2));
        for i in 0..d1 {
            let (m, s) = (f64::from(mu[i]), f64::from(sd[i]));
            first[i] += m / draws as f64;
            second[i] += (s * s + m * m) / draws as f64;
        }
    }
    // The grid's shift and scale, read back from two buckets' centres.
    let buckets = &coder.buckets;
    let (low, high) = (1000u32, 3000u32);
    let at = |j: u32| coder.grid.centres(&vec![j; d1], buckets);
    let (a, b) = (at(low), at(high));
    let (cl, ch) = (
        f64::from(buckets.centre(low)),
        f64::from(buckets.centre(high)),
    );
    for i in 0..d1 {
        let scale = (f64::from(b[i]) - f64::from(a[i])) / (ch - cl);
        let shift = f64::from(a[i]) - scale * cl;
        let sd = (second[i] - first[i] * first[i]).sqrt();
        assert!(
            (scale / sd - 1.0).abs() < 0.1,
            "dimension {i}: scale {scale} against {sd}"
        );
        assert!(
            (shift - first[i]).abs() < 0.1 * sd,
            "dimension {i}: shift {shift} against {}",
            first[i]
        );
    }
}

#[test]
fn a_version_1_two_layer_file_still_decodes() {
    // Version 1 coded z1 on N(0, I)'s buckets: such a file decodes with
    // them, and the grid it decodes with is not the one version 2 writes.
    let coder = Coder::of(&two_layer(4)).unwrap();
    let old = coder.as_of(1).into_owned();
    assert_ne!(old.grid, coder.grid);
    let pixels = binary_pixels(&images(10)).unwrap();
    let shape = [1, SIDE as u32, SIDE as u32];
    let (bytes, _) = compress_file(&old, shape, Container::Npy, &pixels, 1).unwrap();
    let (mut header, words) = file::read(&bytes).unwrap();
    header.version = 1;
    let (read_back, back) = decompress_file(&coder, &file::write(&header, &words)).unwrap();
    assert_eq!((read_back.version, back), (1, pixels));
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
        two_layer(7),
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
    let hvae = two_layer(9);
    let err = compress_dataset(&hvae, &images(3), Container::Npy, None, 4)
        .unwrap_err()
        .to_string();
    assert!(err.contains("one stochastic layer"), "{err}");
    let err = compress_dataset(&models[0], &images(3), Container::Npy, None, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("1 to 64"), "{err}");
}
