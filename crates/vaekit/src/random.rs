//! Seeded randomness. Every random draw in vaekit (shuffling, the
//! reparameterization noise, dynamic binarization, prior samples) comes from a
//! [`ChaCha8Rng`] that the caller owns and passes in, so runs are reproducible
//! from `--seed` and a checkpoint can store the generator's exact state.

use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// The generator used everywhere.
pub type Rng = ChaCha8Rng;

/// Independent streams derived from one seed, so evaluation draws never shift
/// the training sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Shuffling, noise and binarization while training.
    Train,
    /// Noise of evaluations (fixed, so scores are comparable).
    Eval,
    /// Prior samples for pictures and synthetic data.
    Sample,
    /// Dynamic binarization of evaluations, apart from their noise so that
    /// neither sequence depends on how many examples go in one pass.
    EvalBinarize,
}

/// A generator for `stream` of `seed`.
/// Runs `init` (which draws initial weights from burn's per-device generator)
/// right after seeding that generator with `seed`, while holding a lock, so
/// that another thread seeding or drawing through vaekit in between cannot
/// change the weights: the same seed gives the same model even when several
/// models are built at once in one process (tests, or a library user's threads).
pub fn with_seeded_device<T>(
    device: &burn::tensor::Device,
    seed: u64,
    init: impl FnOnce() -> T,
) -> T {
    with_device_generator(|| {
        device.seed(seed);
        init()
    })
}

/// Runs `f`, which draws from burn's per-device generator without needing
/// particular values (a model built only to load saved weights into), under
/// the lock of [`with_seeded_device`], so that its draws cannot fall between
/// another thread's seeding and that thread's draws (a resumed run then
/// ended elsewhere than an uninterrupted one now and then when tests ran in
/// parallel).
///
/// The lock is re-entrant on its thread: code run under it (a test's body
/// that trains a model) may take it again.
pub fn with_device_generator<T>(f: impl FnOnce() -> T) -> T {
    static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    thread_local! {
        static HELD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if HELD.get() {
        return f();
    }
    let _guard = DEVICE_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    /// Marks the lock held by this thread while it lives, also through a panic.
    struct Held;
    impl Drop for Held {
        fn drop(&mut self) {
            HELD.set(false);
        }
    }
    HELD.set(true);
    let _held = Held;
    f()
}

/// Builds a module whose initial weights `init` draws from burn's generator
/// seeded with `seed` on the CPU, whatever `device` is, and moves it there.
/// Each backend's generator draws its own sequence, so drawing on the CPU is
/// what makes a seed give the same initial model on every device (and a run
/// on a GPU comparable with the same run on the CPU).
pub fn init_on_cpu<M: burn::module::Module, E>(
    device: &burn::tensor::Device,
    seed: u64,
    init: impl FnOnce(&burn::tensor::Device) -> Result<M, E>,
) -> Result<M, E> {
    let cpu = match device.is_autodiff() {
        true => burn::tensor::Device::flex().autodiff(),
        false => burn::tensor::Device::flex(),
    };
    let module = with_seeded_device(&cpu, seed, || init(&cpu))?;
    Ok(match *device == cpu {
        true => module,
        false => module.fork(device),
    })
}

pub fn seeded(seed: u64, stream: Stream) -> Rng {
    let mut rng = Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}

/// `len` standard-normal draws.
pub fn normal(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.sample(StandardNormal)).collect()
}

/// Replaces each value p in [0, 1] by a Bernoulli(p) draw.
pub fn binarize(values: &mut [f32], rng: &mut Rng) {
    for v in values {
        *v = if rng.random::<f32>() < *v { 1.0 } else { 0.0 };
    }
}

/// A random permutation of 0..n.
pub fn permutation(n: usize, rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a = normal(&mut seeded(5, Stream::Train), 8);
        assert_eq!(a, normal(&mut seeded(5, Stream::Train), 8));
        assert_ne!(a, normal(&mut seeded(5, Stream::Eval), 8));
        assert_ne!(a, normal(&mut seeded(6, Stream::Train), 8));
    }

    #[test]
    fn normal_draws_have_unit_moments() {
        let v = normal(&mut seeded(1, Stream::Train), 100_000);
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / v.len() as f64;
        assert!(
            mean.abs() < 0.02 && (var - 1.0).abs() < 0.02,
            "{mean} {var}"
        );
    }

    /// Why tests seed burn's generator only through [`with_seeded_device`]:
    /// it is one per device, shared by every thread, so a draw on another
    /// thread between a test's seeding and its own draws changes what it
    /// gets (tests run in parallel threads of one process).
    #[test]
    fn the_device_generator_is_shared_by_threads_and_the_lock_keeps_a_seed_its_own() {
        use burn::tensor::{Device, Distribution, Tensor};
        let device = Device::flex();
        let draw = |device: &Device| {
            Tensor::<1>::random([4], Distribution::Default, device)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()
        };
        with_device_generator(|| {
            device.seed(1);
            let first = draw(&device);
            device.seed(1);
            let other = device.clone();
            // Another thread's draw, between the seeding and this one's.
            std::thread::spawn(move || draw(&other)).join().unwrap();
            assert_ne!(draw(&device), first);
            // Under the lock, re-entered, a seed gives its own values.
            let again = with_seeded_device(&device, 1, || draw(&device));
            assert_eq!(again, first);
        });
    }

    #[test]
    fn binarize_keeps_the_mean() {
        let mut v = vec![0.3f32; 100_000];
        binarize(&mut v, &mut seeded(2, Stream::Train));
        assert!(v.iter().all(|&x| x == 0.0 || x == 1.0));
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        assert!((mean - 0.3).abs() < 0.01);
    }
}
