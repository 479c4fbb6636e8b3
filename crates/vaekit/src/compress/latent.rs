//! The latent side of the coder: a code's buckets popped or pushed under
//! diagonal Gaussians (q(z|x), q(z2|z1), p(z1|z2)), and the prior of the top
//! code.
//!
//! Under N(0, I) every bucket has mass 2^-12 (see [`super::models`]). A
//! mixture prior p(z) = sum_k pi_k N(z; mu_k, diag(sd_k^2)) (the VampPrior,
//! a Gaussian mixture) is not a product over the dimensions, so the code is
//! pushed with its component as one more latent variable, bits-back again:
//!
//! 1. pop the component k from p(k | z) (bits that come back);
//! 2. push the code's buckets under N(mu_k, sd_k^2), dimension by dimension;
//! 3. push k under the weights pi.
//!
//! The stack grows by -log p(z | k) - log pi_k + log p(k | z) = -log p(z),
//! to the rounding of the integer probabilities. p(k | z) is computed from
//! the components' densities at the buckets' centres: a bucket's mass under
//! component k is its density there times the bucket's width, and the width
//! is the same for every k, so it cancels from the normalized
//! responsibilities (to the variation of the density across a bucket, which
//! near 0 is 6e-4 wide against the narrowest components' 0.05 or more).
//! Decoding needs the same integers: the responsibilities are sums of f64
//! products in a fixed order and `libm`'s exp, and `constriction`'s
//! quantization of them is integer and float arithmetic alone.
//!
//! **The grid.** The buckets are equal-mass under N(0, 1); a code whose
//! prior is not N(0, I) has each dimension's buckets moved and scaled to
//! the prior's own mean and spread ([`Grid`]). A mixture's codes can lie
//! far out in N(0, 1)'s tails, where its buckets are wide (1.8 at 4), and a
//! decoder reading a bucket's centre there misplaces the code: on a
//! VampPrior model of MNIST the pixels cost 6 nats more than the -ELBO's
//! reconstruction term before the grid followed the prior, 0.2 after. A
//! Gaussian over a dimension is standardized by the grid before its bucket
//! masses are taken, and a bucket's centre mapped back before a network
//! reads it; under N(0, I) the grid is the identity and changes no bit.

use constriction::stream::model::DefaultContiguousCategoricalEntropyModel;
use constriction::stream::stack::DefaultAnsCoder;
use constriction::stream::{Decode, Encode};

use constriction::stream::model::EncoderModel;

use super::models::{Buckets, LATENT_BITS, PRECISION, Prior};

/// log(2 pi).
const LOG_2PI: f64 = 1.837_877_066_409_345_5;

/// A coding step that failed: the name of what was being coded.
pub(crate) type Step = &'static str;

/// Where a code's buckets lie: dimension i's are the standard buckets
/// scaled by `scale[i]` and moved by `shift[i]`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Grid {
    shift: Vec<f64>,
    scale: Vec<f64>,
}

impl Grid {
    /// The standard buckets in every one of `dim` dimensions.
    pub(crate) fn standard(dim: usize) -> Grid {
        Grid {
            shift: vec![0.0; dim],
            scale: vec![1.0; dim],
        }
    }

    /// The grid at the marginal mean and standard deviation of each
    /// dimension of a mixture of diagonal Gaussians (means `mu` and
    /// standard deviations `sd`, `[K, dim]` row-major, weights summing to
    /// 1), summed over the components in order.
    pub(crate) fn of_mixture(dim: usize, mu: &[f32], sd: &[f32], weights: &[f64]) -> Grid {
        let (mut shift, mut scale) = (vec![0.0f64; dim], vec![0.0f64; dim]);
        for (k, &w) in weights.iter().enumerate() {
            for i in 0..dim {
                let (m, s) = (f64::from(mu[k * dim + i]), f64::from(sd[k * dim + i]));
                shift[i] += w * m;
                scale[i] += w * (s * s + m * m);
            }
        }
        for (s, m) in scale.iter_mut().zip(&shift) {
            *s = (*s - m * m).max(1e-6).sqrt();
        }
        Grid { shift, scale }
    }

    /// N(mu, sd^2) over the grid's buckets, in the standard buckets' units.
    pub(crate) fn gaussian(&self, mu: &[f32], sd: &[f32]) -> Gaussian {
        let (mu, sd) = mu
            .iter()
            .zip(sd)
            .zip(self.shift.iter().zip(&self.scale))
            .map(|((&m, &s), (&shift, &scale))| {
                ((f64::from(m) - shift) / scale, f64::from(s) / scale)
            })
            .unzip();
        Gaussian { mu, sd }
    }

    /// The values a network reads for `code`: its buckets' centres.
    pub(crate) fn centres(&self, code: &[u32], buckets: &Buckets) -> Vec<f32> {
        code.iter()
            .zip(self.shift.iter().zip(&self.scale))
            .map(|(&j, (&shift, &scale))| (shift + scale * f64::from(buckets.centre(j))) as f32)
            .collect()
    }
}

/// A diagonal Gaussian over a code's dimensions, in the standard buckets'
/// units (see [`Grid::gaussian`]).
pub(crate) struct Gaussian {
    mu: Vec<f64>,
    sd: Vec<f64>,
}

impl Gaussian {
    /// Pops a code from the stack, dimension 0 first (this takes bits back).
    pub(crate) fn pop(
        &self,
        ans: &mut DefaultAnsCoder,
        buckets: &Buckets,
    ) -> Result<Vec<u32>, Step> {
        self.mu
            .iter()
            .zip(&self.sd)
            .map(|(&m, &s)| ans.decode_symbol(buckets.posterior(m, s)))
            .collect::<Result<_, _>>()
            .map_err(|_| "taking bits back")
    }

    /// Pushes `code` back, last dimension first: undoes [`Gaussian::pop`].
    pub(crate) fn unpop(
        &self,
        ans: &mut DefaultAnsCoder,
        code: &[u32],
        buckets: &Buckets,
    ) -> Result<(), Step> {
        for ((&j, &m), &s) in code.iter().zip(&self.mu).zip(&self.sd).rev() {
            ans.encode_symbol(j, buckets.posterior(m, s))
                .map_err(|_| "the bits given back")?;
        }
        Ok(())
    }

    /// Pushes `code`, dimension 0 first.
    pub(crate) fn push(
        &self,
        ans: &mut DefaultAnsCoder,
        code: &[u32],
        buckets: &Buckets,
    ) -> Result<(), Step> {
        for ((&j, &m), &s) in code.iter().zip(&self.mu).zip(&self.sd) {
            ans.encode_symbol(j, buckets.posterior(m, s))
                .map_err(|_| "coding the latent code")?;
        }
        Ok(())
    }

    /// log Q(code): the log of the buckets' coded probabilities.
    pub(crate) fn log_mass(&self, code: &[u32], buckets: &Buckets) -> f64 {
        code.iter()
            .zip(self.mu.iter().zip(&self.sd))
            .map(|(&j, (&m, &s))| log_probability(&buckets.posterior(m, s), j))
            .sum()
    }

    /// Pops a pushed code, last dimension first: undoes [`Gaussian::push`].
    pub(crate) fn unpush(
        &self,
        ans: &mut DefaultAnsCoder,
        buckets: &Buckets,
    ) -> Result<Vec<u32>, Step> {
        let mut code = vec![0u32; self.mu.len()];
        for ((j, &m), &s) in code.iter_mut().zip(&self.mu).zip(&self.sd).rev() {
            *j = ans
                .decode_symbol(buckets.posterior(m, s))
                .map_err(|_| "a latent code")?;
        }
        Ok(code)
    }
}

/// log P(symbol) of an entropy model: the log of its integer probability
/// out of 2^24, in `libm`'s f64 arithmetic.
pub(crate) fn log_probability<S, M: EncoderModel<PRECISION, Symbol = S, Probability = u32>>(
    model: &M,
    symbol: S,
) -> f64 {
    let p = model
        .left_cumulative_and_probability(symbol)
        .map_or(0.0, |(_, p)| f64::from(p.get()));
    libm::log(p / (1u64 << PRECISION) as f64)
}

/// The ANS model of a categorical distribution given as f64 weights.
type Categorical = DefaultContiguousCategoricalEntropyModel;

pub(crate) fn categorical(weights: &[f64]) -> Result<Categorical, Step> {
    Categorical::from_floating_point_probabilities_fast(weights, None)
        .map_err(|()| "weighing the mixture's components")
}

/// A mixture of diagonal Gaussians as the prior of the top code.
#[derive(Debug, Clone)]
pub(crate) struct MixturePrior {
    dim: usize,
    /// `[K, dim]` row-major.
    mu: Vec<f32>,
    sd: Vec<f32>,
    /// 1 / sd, for the responsibilities.
    precision: Vec<f64>,
    /// log pi_k - sum_i log sd_ki: each component's log density at its mean,
    /// up to the constant every component shares.
    offset: Vec<f64>,
    /// pi_k.
    weights: Vec<f64>,
    /// pi as the coder reads it (None for one component, which is not coded).
    weights_model: Option<Categorical>,
    /// Each dimension's buckets at the mixture's mean and spread there.
    grid: Grid,
}

impl MixturePrior {
    /// The mixture of components with means `mu` and standard deviations
    /// `sd` (`[K, dim]` row-major) and log-weights `log_weights` (K numbers,
    /// normalized here); an error when the weights are not finite.
    pub(crate) fn new(
        dim: usize,
        mu: Vec<f32>,
        sd: Vec<f32>,
        log_weights: &[f64],
    ) -> Result<MixturePrior, Step> {
        let top = log_weights
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let unnormalized: Vec<f64> = log_weights.iter().map(|&l| libm::exp(l - top)).collect();
        let total: f64 = unnormalized.iter().sum();
        let weights: Vec<f64> = unnormalized.iter().map(|w| w / total).collect();
        let precision: Vec<f64> = sd.iter().map(|&s| 1.0 / f64::from(s).max(1e-12)).collect();
        let offset = precision
            .chunks_exact(dim.max(1))
            .zip(&weights)
            .map(|(p, &w)| libm::log(w) + p.iter().map(|&p| libm::log(p)).sum::<f64>())
            .collect();
        let weights_model = match weights.len() {
            1 => None,
            _ => Some(categorical(&weights)?),
        };
        let grid = Grid::of_mixture(dim, &mu, &sd, &weights);
        Ok(MixturePrior {
            dim,
            mu,
            sd,
            precision,
            offset,
            weights,
            weights_model,
            grid,
        })
    }

    fn len(&self) -> usize {
        self.weights.len()
    }

    /// Component `k` over the mixture's grid.
    fn component(&self, k: usize) -> Gaussian {
        let span = k * self.dim..(k + 1) * self.dim;
        self.grid.gaussian(&self.mu[span.clone()], &self.sd[span])
    }

    /// log pi_k + log N(z; mu_k, sd_k^2) up to the constant every component
    /// shares (-dim/2 log 2 pi), at `z` (the buckets' centres).
    fn log_joint(&self, k: usize, z: &[f32]) -> f64 {
        let span = k * self.dim..(k + 1) * self.dim;
        let square: f64 = z
            .iter()
            .zip(&self.mu[span.clone()])
            .zip(&self.precision[span])
            .map(|((&z, &m), &p)| {
                let t = (f64::from(z) - f64::from(m)) * p;
                t * t
            })
            .sum();
        self.offset[k] - 0.5 * square
    }

    /// p(k | z) for the code at `z` (the buckets' centres).
    fn responsibilities(&self, z: &[f32]) -> Result<Categorical, Step> {
        let log_joint: Vec<f64> = (0..self.len()).map(|k| self.log_joint(k, z)).collect();
        let top = log_joint.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = log_joint.iter().map(|&l| libm::exp(l - top)).collect();
        categorical(&weights)
    }

    /// Adds the mixture's parameters' bits to `h`.
    pub(crate) fn hash_into(&self, h: &mut sha2::Sha256) {
        use sha2::Digest;
        h.update(b"mixture");
        h.update((self.dim as u64).to_le_bytes());
        for v in self.mu.iter().chain(&self.sd) {
            h.update(v.to_bits().to_le_bytes());
        }
        for w in &self.weights {
            h.update(w.to_bits().to_le_bytes());
        }
    }
}

/// The prior of the top latent code.
#[derive(Debug, Clone)]
pub(crate) enum TopPrior {
    /// N(0, I): every bucket 2^-12.
    Standard,
    /// A mixture, its component coded bits-back.
    Mixture(MixturePrior),
}

impl TopPrior {
    /// Pushes `code` under the prior.
    pub(crate) fn push(
        &self,
        ans: &mut DefaultAnsCoder,
        code: &[u32],
        buckets: &Buckets,
    ) -> Result<(), Step> {
        match self {
            TopPrior::Standard => {
                for &j in code {
                    ans.encode_symbol(j, Prior)
                        .map_err(|_| "coding the latent code")?;
                }
                Ok(())
            }
            TopPrior::Mixture(m) => match &m.weights_model {
                None => m.component(0).push(ans, code, buckets),
                Some(weights) => {
                    let z = m.grid.centres(code, buckets);
                    let k = ans
                        .decode_symbol(&m.responsibilities(&z)?)
                        .map_err(|_| "taking the mixture component's bits back")?;
                    m.component(k).push(ans, code, buckets)?;
                    ans.encode_symbol(k, weights)
                        .map_err(|_| "coding the mixture component")
                }
            },
        }
    }

    /// Pops a code of `dim` dimensions pushed by [`TopPrior::push`].
    pub(crate) fn unpush(
        &self,
        ans: &mut DefaultAnsCoder,
        dim: usize,
        buckets: &Buckets,
    ) -> Result<Vec<u32>, Step> {
        match self {
            TopPrior::Standard => {
                let mut code = vec![0u32; dim];
                for j in code.iter_mut().rev() {
                    *j = ans.decode_symbol(Prior).map_err(|_| "a latent code")?;
                }
                Ok(code)
            }
            TopPrior::Mixture(m) => match &m.weights_model {
                None => m.component(0).unpush(ans, buckets),
                Some(weights) => {
                    let k = ans
                        .decode_symbol(weights)
                        .map_err(|_| "a mixture component")?;
                    let code = m.component(k).unpush(ans, buckets)?;
                    let z = m.grid.centres(&code, buckets);
                    ans.encode_symbol(k, &m.responsibilities(&z)?)
                        .map_err(|_| "the mixture component's bits given back")?;
                    Ok(code)
                }
            },
        }
    }

    /// log p(code) under the prior, for importance weights: exact under
    /// N(0, I) (every bucket 2^-12); for a mixture the components' densities
    /// at the buckets' centres times the buckets' widths (a bucket j of
    /// standard mass 2^-12 around a standardized centre c is about
    /// 2^-12 / phi(c) wide, times the grid's scale).
    pub(crate) fn log_mass(&self, code: &[u32], buckets: &Buckets) -> f64 {
        let bucket = -(LATENT_BITS as f64) * std::f64::consts::LN_2;
        match self {
            TopPrior::Standard => bucket * code.len() as f64,
            TopPrior::Mixture(m) => {
                let z = m.grid.centres(code, buckets);
                let joint: Vec<f64> = (0..m.len()).map(|k| m.log_joint(k, &z)).collect();
                let top = joint.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let density = top
                    + libm::log(joint.iter().map(|&l| libm::exp(l - top)).sum::<f64>())
                    - 0.5 * code.len() as f64 * LOG_2PI;
                let width: f64 = code
                    .iter()
                    .zip(&m.grid.scale)
                    .map(|(&j, &scale)| {
                        let c = f64::from(buckets.centre(j));
                        bucket + 0.5 * (LOG_2PI + c * c) + libm::log(scale)
                    })
                    .sum();
                density + width
            }
        }
    }

    /// The buckets of the top code, of `dim` dimensions.
    pub(crate) fn grid(&self, dim: usize) -> Grid {
        match self {
            TopPrior::Standard => Grid::standard(dim),
            TopPrior::Mixture(m) => m.grid.clone(),
        }
    }

    /// Adds what the prior's coding depends on to `h` (nothing for N(0, I),
    /// so that files made before mixtures existed keep their fingerprint).
    pub(crate) fn hash_into(&self, h: &mut sha2::Sha256) {
        if let TopPrior::Mixture(m) = self {
            m.hash_into(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use statrs::distribution::{ContinuousCDF, Normal};

    /// A code pushed under a mixture costs -log2 p(z) of its buckets (on
    /// the mixture's grid), p(z) summed over the components here with
    /// statrs' normal CDF (not the coder's libm), and comes back off the
    /// stack as it went on.
    #[test]
    fn a_mixture_prior_costs_minus_log_p_of_the_buckets() {
        let (mu, sd) = (
            vec![-1.0f32, 0.5, 0.3, -0.2, 1.5, 1.0],
            vec![0.4f32, 0.3, 1.0, 0.8, 0.2, 0.5],
        );
        let weights = [0.2f64, 0.3, 0.5];
        let log_weights: Vec<f64> = weights.iter().map(|w| w.ln() + 7.0).collect();
        let prior =
            TopPrior::Mixture(MixturePrior::new(2, mu.clone(), sd.clone(), &log_weights).unwrap());
        let buckets = Buckets::new();
        let standard = Normal::new(0.0, 1.0).unwrap();
        let edge = |j: u32| match j {
            0 => f64::NEG_INFINITY,
            4096 => f64::INFINITY,
            j => standard.inverse_cdf(f64::from(j) / 4096.0),
        };
        // The mixture's grid: each dimension's marginal mean and sd.
        let moments = |i: usize| {
            let m: f64 = (0..3).map(|k| weights[k] * f64::from(mu[k * 2 + i])).sum();
            let second: f64 = (0..3)
                .map(|k| {
                    weights[k]
                        * (f64::from(sd[k * 2 + i]).powi(2) + f64::from(mu[k * 2 + i]).powi(2))
                })
                .sum();
            (m, (second - m * m).sqrt())
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let start: Vec<u32> = (0..64).map(|_| rng.random()).collect();
        let mut ans = DefaultAnsCoder::from_binary(start.clone()).unwrap();
        let (mut grown, mut expected) = (0.0f64, 0.0f64);
        let mut codes = Vec::new();
        for _ in 0..300 {
            // z drawn from the mixture.
            let u: f64 = rng.random();
            let k = if u < 0.2 {
                0
            } else if u < 0.5 {
                1
            } else {
                2
            };
            let code: Vec<u32> = (0..2)
                .map(|i| {
                    let e: f64 =
                        rand_distr::Distribution::sample(&rand_distr::StandardNormal, &mut rng);
                    {
                        let (shift, scale) = moments(i);
                        buckets.bucket_of(
                            (f64::from(mu[k * 2 + i]) + f64::from(sd[k * 2 + i]) * e - shift)
                                / scale,
                        )
                    }
                })
                .collect();
            let p: f64 = (0..3)
                .map(|k| {
                    let mass: f64 = code
                        .iter()
                        .enumerate()
                        .map(|(i, &j)| {
                            let n = Normal::new(f64::from(mu[k * 2 + i]), f64::from(sd[k * 2 + i]))
                                .unwrap();
                            let (shift, scale) = moments(i);
                            let at = |j: u32| shift + scale * edge(j);
                            n.cdf(at(j + 1)) - n.cdf(at(j))
                        })
                        .product();
                    weights[k] * mass
                })
                .sum();
            expected -= p.log2();
            let before = ans.num_valid_bits();
            prior.push(&mut ans, &code, &buckets).unwrap();
            grown += ans.num_valid_bits() as f64 - before as f64;
            codes.push(code);
        }
        assert!(
            (grown - expected).abs() < 0.01 * expected + 8.0,
            "the stack grew by {grown} bits against -log2 p(z) = {expected}"
        );
        for code in codes.iter().rev() {
            assert_eq!(&prior.unpush(&mut ans, 2, &buckets).unwrap(), code);
        }
        assert_eq!(ans.into_binary().unwrap(), start);
    }
}
