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

    /// The value the decoder reads for bucket `j`.
    pub fn centre(&self, j: u32) -> f32 {
        self.centres[j as usize]
    }

    /// q(z_i | x) over the buckets, for posterior mean `mu` and sd `sd`.
    pub fn posterior(&self, mu: f32, sd: f32) -> Posterior<'_> {
        Posterior {
            edges: &self.edges,
            mu: f64::from(mu),
            sd: f64::from(sd).max(1e-12),
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
        // The last bucket whose left cumulative is at most the quantile.
        let (mut lo, mut hi) = (0usize, BUCKETS);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            match self.cumulative(mid) <= quantile {
                true => lo = mid,
                false => hi = mid,
            }
        }
        let (left, right) = (self.cumulative(lo), self.cumulative(lo + 1));
        (lo as u32, left, nonzero(right - left))
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
            let q = b.posterior(mu, sd);
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
