//! The entropy models of the bits-back coder, as `constriction`'s ANS coder
//! reads them: integer probabilities out of 2^[`PRECISION`], computed from
//! the exact networks' outputs by the same f64 arithmetic on every machine
//! (`libm`'s functions, see [`super::exact`]).
//!
//! - A pixel is Bernoulli with p = sigmoid(logit), rounded to an integer out
//!   of 2^24 and kept within 1..2^24 - 1, so that either value can be coded.
//! - A latent dimension is discretized into 2^[`LATENT_BITS`] buckets of equal
//!   mass under the prior N(0, 1), as BB-ANS and HiLLoC do: under the prior
//!   every bucket has probability 2^-12 exactly, and under the posterior
//!   N(mu, sd^2) bucket j has the posterior's mass between its edges, with
//!   one unit of 2^-24 added to every bucket so that none is impossible
//!   (see [`Posterior`]). The decoder reads the bucket's centre, the prior's
//!   median within it.
//!
//! Precisions. 24 bits of probability is `constriction`'s default for its
//! 32-bit words and 64-bit state, and it lets a pixel's probability go down
//! to 6e-8 (MNIST's confident pixels cost 1e-7 bits, not the 1e-4 of 16
//! bits). 12 bits of latent buckets make a bucket 1/4096 of the prior's mass:
//! near 0 about 6e-4 wide, under a hundredth of the narrowest posterior
//! standard deviation of an MNIST VAE (about 0.1), so the discretization
//! costs well under a hundredth of a bit per dimension; the leak of one unit
//! per bucket is 4096 of 2^24, 0.02 % of the posterior's mass. A finer grid
//! costs 3 erfc evaluations per dimension and bit of search and gains nothing
//! measurable.

use std::borrow::Borrow;
use std::num::NonZeroU32;

use constriction::stream::model::{DecoderModel, EncoderModel, EntropyModel};

/// Bits of every probability (out of 2^24).
pub const PRECISION: usize = 24;
/// Bits of a latent dimension's bucket index.
pub const LATENT_BITS: usize = 12;

const ONE: u64 = 1 << PRECISION;
const BUCKETS: usize = 1 << LATENT_BITS;

fn nonzero(p: u32) -> NonZeroU32 {
    NonZeroU32::new(p).expect("every probability here is at least 1")
}

/// The symbol of `n` whose interval holds `quantile`, by bisection: the
/// last whose left cumulative is at most it, with that cumulative and the
/// symbol's probability (`cumulative` rises strictly from 0 at symbol 0 to
/// 2^24 at `n`).
fn invert(n: usize, cumulative: impl Fn(usize) -> u32, quantile: u32) -> (usize, u32, NonZeroU32) {
    let (mut lo, mut hi) = (0usize, n);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        match cumulative(mid) <= quantile {
            true => lo = mid,
            false => hi = mid,
        }
    }
    let (left, right) = (cumulative(lo), cumulative(lo + 1));
    (lo, left, nonzero(right - left))
}

/// The standard normal CDF, from `libm`'s erfc.
fn normal_cdf(t: f64) -> f64 {
    0.5 * libm::erfc(-t / std::f64::consts::SQRT_2)
}

/// The standard normal quantile of `p` in (0, 1), by bisection on
/// [`normal_cdf`] (exact to the last bit of the bisection, the same on every
/// machine; called 2^13 times when the coder is made).
fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if mid == lo || mid == hi {
            break;
        }
        match normal_cdf(mid) < p {
            true => lo = mid,
            false => hi = mid,
        }
    }
    0.5 * (lo + hi)
}

/// A pixel's Bernoulli model: the probability of a 1 out of 2^24.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pixel {
    one: u32,
}

impl Pixel {
    /// The model of p = sigmoid(logit).
    pub fn of_logit(logit: f32) -> Pixel {
        let p = 1.0 / (1.0 + libm::exp(-f64::from(logit)));
        let one = (p * ONE as f64).round().clamp(1.0, (ONE - 1) as f64) as u32;
        Pixel { one }
    }

    fn zero(&self) -> u32 {
        (ONE as u32) - self.one
    }
}

impl EntropyModel<PRECISION> for Pixel {
    type Symbol = bool;
    type Probability = u32;
}

impl EncoderModel<PRECISION> for Pixel {
    fn left_cumulative_and_probability(
        &self,
        symbol: impl Borrow<bool>,
    ) -> Option<(u32, NonZeroU32)> {
        Some(match *symbol.borrow() {
            false => (0, nonzero(self.zero())),
            true => (self.zero(), nonzero(self.one)),
        })
    }
}

impl DecoderModel<PRECISION> for Pixel {
    fn quantile_function(&self, quantile: u32) -> (bool, u32, NonZeroU32) {
        match quantile < self.zero() {
            true => (false, 0, nonzero(self.zero())),
            false => (true, self.zero(), nonzero(self.one)),
        }
    }
}

/// An 8-bit pixel's model: the decoder's discretized logistic (location
/// `mean`, scale exp(log-scale)) over the levels 0..=255, the edge levels
/// taking the tails, as integers: the cumulative at level v's left edge
/// (v - 1/2) / 255 is floor(sigmoid((edge - mean) / scale) * (2^24 - 256)) + v,
/// 0 at level 0 and 2^24 past level 255, rising by at least 1 per level so
/// that every level can be coded (256 of 2^24, 0.0015 % of the mass, spread
/// over the levels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Level {
    mean: f64,
    inv_scale: f64,
}

/// The levels of an 8-bit pixel.
const LEVELS: usize = crate::distributions::LOGISTIC_LEVELS;

impl Level {
    /// The model of a pixel whose decoder outputs are `mean` and
    /// `log_scale` (bounded below as the training loss bounds it).
    pub fn of(mean: f32, log_scale: f32) -> Level {
        let log_scale = f64::from(log_scale).max(crate::distributions::LOGISTIC_MIN_LOG_SCALE);
        Level {
            mean: f64::from(mean),
            inv_scale: libm::exp(-log_scale),
        }
    }

    fn cumulative(&self, v: usize) -> u32 {
        match v {
            0 => 0,
            v if v >= LEVELS => ONE as u32,
            v => {
                let edge = (v as f64 - 0.5) / (LEVELS - 1) as f64;
                let t = (edge - self.mean) * self.inv_scale;
                let mass = 1.0 / (1.0 + libm::exp(-t));
                let scaled = (mass * (ONE as usize - LEVELS) as f64).floor();
                scaled.clamp(0.0, (ONE as usize - LEVELS) as f64) as u32 + v as u32
            }
        }
    }
}

impl EntropyModel<PRECISION> for Level {
    type Symbol = u8;
    type Probability = u32;
}

impl EncoderModel<PRECISION> for Level {
    fn left_cumulative_and_probability(&self, v: impl Borrow<u8>) -> Option<(u32, NonZeroU32)> {
        let v = usize::from(*v.borrow());
        let (left, right) = (self.cumulative(v), self.cumulative(v + 1));
        Some((left, nonzero(right - left)))
    }
}

impl DecoderModel<PRECISION> for Level {
    fn quantile_function(&self, quantile: u32) -> (u8, u32, NonZeroU32) {
        let (v, left, p) = invert(LEVELS, |v| self.cumulative(v), quantile);
        (v as u8, left, p)
    }
}

/// The latent grid: the edges of the buckets of equal prior mass and their
/// centres.
#[derive(Debug, Clone, PartialEq)]
pub struct Buckets {
    /// `edges[j]`, j = 1..BUCKETS, is the prior's quantile j / BUCKETS
    /// (`edges[0]` is unused: the first bucket starts at minus infinity).
    edges: Vec<f64>,
    /// The prior's quantile (j + 1/2) / BUCKETS.
    centres: Vec<f32>,
}

impl Buckets {
    pub fn new() -> Buckets {
        let quantile = |q: f64| normal_quantile(q / BUCKETS as f64);
        Buckets {
            edges: (0..BUCKETS).map(|j| quantile(j as f64)).collect(),
            centres: (0..BUCKETS)
                .map(|j| quantile(j as f64 + 0.5) as f32)
                .collect(),
        }
    }

    /// The bucket of `z`.
    #[cfg(test)]
    pub(crate) fn bucket_of(&self, z: f64) -> u32 {
        self.edges[1..].partition_point(|&e| e <= z) as u32
    }

    /// The value the decoder reads for bucket `j`.
    pub fn centre(&self, j: u32) -> f32 {
        self.centres[j as usize]
    }

    /// A Gaussian N(mu, sd^2) over the buckets (q(z_i | x), or a prior's).
    pub fn posterior(&self, mu: f64, sd: f64) -> Posterior<'_> {
        Posterior {
            edges: &self.edges,
            mu,
            sd: sd.max(1e-12),
        }
    }
}

impl Default for Buckets {
    fn default() -> Self {
        Buckets::new()
    }
}

/// The prior over a dimension's buckets: each has probability 2^-12.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prior;

const PRIOR_MASS: u32 = 1 << (PRECISION - LATENT_BITS);

impl EntropyModel<PRECISION> for Prior {
    type Symbol = u32;
    type Probability = u32;
}

impl EncoderModel<PRECISION> for Prior {
    fn left_cumulative_and_probability(&self, j: impl Borrow<u32>) -> Option<(u32, NonZeroU32)> {
        let j = *j.borrow();
        ((j as usize) < BUCKETS).then(|| (j * PRIOR_MASS, nonzero(PRIOR_MASS)))
    }
}

impl DecoderModel<PRECISION> for Prior {
    fn quantile_function(&self, quantile: u32) -> (u32, u32, NonZeroU32) {
        let j = quantile / PRIOR_MASS;
        (j, j * PRIOR_MASS, nonzero(PRIOR_MASS))
    }
}

/// The posterior N(mu, sd^2) over a dimension's buckets, as integers: the
/// cumulative at bucket j's left edge is floor(Phi((edge_j - mu) / sd) *
/// (2^24 - 4096)) + j, which is 0 at j = 0, 2^24 past the last bucket, and
/// rises by at least 1 from each bucket to the next.
#[derive(Debug, Clone, Copy)]
pub struct Posterior<'a> {
    edges: &'a [f64],
    mu: f64,
    sd: f64,
}

impl Posterior<'_> {
    fn cumulative(&self, j: usize) -> u32 {
        match j {
            0 => 0,
            j if j >= BUCKETS => ONE as u32,
            j => {
                let mass = normal_cdf((self.edges[j] - self.mu) / self.sd);
                let scaled = (mass * (ONE as usize - BUCKETS) as f64).floor();
                scaled.clamp(0.0, (ONE as usize - BUCKETS) as f64) as u32 + j as u32
            }
        }
    }
}

impl EntropyModel<PRECISION> for Posterior<'_> {
    type Symbol = u32;
    type Probability = u32;
}

impl EncoderModel<PRECISION> for Posterior<'_> {
    fn left_cumulative_and_probability(&self, j: impl Borrow<u32>) -> Option<(u32, NonZeroU32)> {
        let j = *j.borrow() as usize;
        if j >= BUCKETS {
            return None;
        }
        let (left, right) = (self.cumulative(j), self.cumulative(j + 1));
        Some((left, nonzero(right - left)))
    }
}

impl DecoderModel<PRECISION> for Posterior<'_> {
    fn quantile_function(&self, quantile: u32) -> (u32, u32, NonZeroU32) {
        let (j, left, p) = invert(BUCKETS, |j| self.cumulative(j), quantile);
        (j as u32, left, p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_buckets_split_the_prior_into_equal_masses() {
        let b = Buckets::new();
        assert_eq!(b.edges.len(), BUCKETS);
        assert!(
            (b.edges[BUCKETS / 2]).abs() < 1e-12,
            "the middle edge is the median"
        );
        for j in 1..BUCKETS {
            let mass = normal_cdf(b.edges[j]);
            assert!(
                (mass - j as f64 / BUCKETS as f64).abs() < 1e-12,
                "{j}: {mass}"
            );
        }
        assert!(b.edges.windows(2).skip(1).all(|w| w[0] < w[1]));
        assert!(b.centres[0] < b.edges[1] as f32 && b.centres[1] > b.edges[1] as f32);
    }

    #[test]
    fn the_posterior_is_a_proper_distribution_that_decodes_what_it_encodes() {
        let b = Buckets::new();
        for (mu, sd) in [(0.0f32, 1.0f32), (1.3, 0.05), (-2.5, 0.3), (9.0, 0.01)] {
            let q = b.posterior(f64::from(mu), f64::from(sd));
            let mut total = 0u64;
            for j in 0..BUCKETS as u32 {
                let (left, p) = q.left_cumulative_and_probability(j).unwrap();
                assert_eq!(u64::from(left), total);
                total += u64::from(p.get());
                // Every quantile inside the bucket decodes to it.
                for quantile in [left, left + p.get() - 1] {
                    assert_eq!(q.quantile_function(quantile).0, j);
                }
            }
            assert_eq!(total, ONE);
            // Most of the mass lies within two standard deviations.
            let inside: u64 = (0..BUCKETS as u32)
                .filter(|&j| ((b.centre(j) - mu) / sd).abs() < 2.0)
                .map(|j| u64::from(q.left_cumulative_and_probability(j).unwrap().1.get()))
                .sum();
            if mu.abs() < 3.0 {
                assert!(inside as f64 / ONE as f64 > 0.94, "{mu} {sd}: {inside}");
            }
        }
        assert!(
            b.posterior(0.0, 1.0)
                .left_cumulative_and_probability(BUCKETS as u32)
                .is_none()
        );
    }

    /// Every level codable, the masses the logistic's (computed here with
    /// std's exp), and the decoder inverts the encoder.
    #[test]
    fn eight_bit_levels_follow_the_discretized_logistic() {
        for (mean, log_scale) in [(0.5f32, -3.0f32), (-0.2, -5.0), (1.3, -1.0), (0.02, -9.0)] {
            let m = Level::of(mean, log_scale);
            let s = f64::from(log_scale).max(-7.0).exp();
            let sigmoid = |t: f64| 1.0 / (1.0 + (-t).exp());
            let cdf = |v: i32| match v {
                v if v <= 0 => 0.0,
                v if v >= 256 => 1.0,
                v => sigmoid(((f64::from(v) - 0.5) / 255.0 - f64::from(mean)) / s),
            };
            let mut total = 0u64;
            for v in 0..=255u8 {
                let (left, p) = m.left_cumulative_and_probability(v).unwrap();
                assert_eq!(u64::from(left), total);
                total += u64::from(p.get());
                let want = cdf(i32::from(v) + 1) - cdf(i32::from(v));
                let got = f64::from(p.get()) / ONE as f64;
                assert!(
                    (got - want).abs() < 2e-6 + 1e-4 * want,
                    "{mean} {log_scale} {v}: {got} against {want}"
                );
                for quantile in [left, left + p.get() - 1] {
                    assert_eq!(m.quantile_function(quantile).0, v);
                }
            }
            assert_eq!(total, ONE);
        }
    }

    #[test]
    fn pixels_keep_both_values_codable() {
        for logit in [-100.0f32, -3.0, 0.0, 2.0, 100.0] {
            let m = Pixel::of_logit(logit);
            let (_, p0) = m.left_cumulative_and_probability(false).unwrap();
            let (l1, p1) = m.left_cumulative_and_probability(true).unwrap();
            assert_eq!(u64::from(p0.get()) + u64::from(p1.get()), ONE);
            assert_eq!(l1, p0.get());
            assert!(m.quantile_function(l1).0);
            assert!(!m.quantile_function(l1 - 1).0);
        }
        let half = Pixel::of_logit(0.0);
        assert_eq!(half.one, 1 << 23);
    }
}
