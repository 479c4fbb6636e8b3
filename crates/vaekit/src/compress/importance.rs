//! Bits-back with importance sampling (Ruan, Ullrich, Severo, Townsend,
//! Khisti, Doucet, Makhzani and Maddison, "Improving lossless compression
//! rates via Monte Carlo bits-back coding", ICML 2021): an image costs the
//! K-sample importance-weighted bound, -log (1/K) sum_k w_k with
//! w_k = p(x, z_k) / q(z_k | x), instead of the -ELBO.
//!
//! The latent variables are K codes and the index j of the one that
//! explains x. Decoding reads them in this order, so encoding is its exact
//! reverse:
//!
//! 1. pop j, uniform over the K;
//! 2. pop z_j under the prior;
//! 3. pop x under p(x | z_j);
//! 4. pop the other K - 1 codes under q(z | x), in increasing k;
//! 5. push j under the normalized weights w_k of all K codes;
//! 6. push the K codes under q(z | x), the last first.
//!
//! Encoding pops K codes from q (bits that come back), pops j from the
//! weights, gives K - 1 codes back, and pushes x, z_j and j: the stack grows
//! by log q(z_j|x) + log (w_j / sum w) - log p(x|z_j) - log p(z_j) + log K
//! = -log (1/K) sum_k w_k. The weights use the same integer probabilities
//! the coder pushes with (and, for a mixture prior, its density at the
//! buckets' centres): any error in them only adds its KL to the rate, and
//! both sides compute them alike. The K decoder passes run on the rayon
//! threads, each on one thread, so the numbers do not depend on how many
//! there are.

use constriction::stream::stack::DefaultAnsCoder;
use constriction::stream::{Decode, Encode};
use rayon::prelude::*;

use super::latent::{Gaussian, Step, categorical, log_probability};
use super::models::{Level, Pixel};
use super::{Coder, Depth};

/// The most codes an image may be coded with.
pub const MAX_PARTICLES: usize = 64;

impl Coder {
    /// log p(x | z) + log p(z) - log q(z | x) of `code` for `image`.
    fn log_weight(&self, image: &[u8], q: &Gaussian, code: &[u32]) -> f64 {
        let buckets = &self.buckets;
        let raw = self.decoder.logits(&self.grid.centres(code, buckets));
        let pixels: f64 = match self.depth {
            Depth::Binary => image
                .iter()
                .zip(&raw)
                .map(|(&p, &logit)| log_probability(&Pixel::of_logit(logit), p != 0))
                .sum(),
            Depth::EightBit => image
                .iter()
                .enumerate()
                .map(|(k, &p)| log_probability(&Level::of(raw[k], raw[self.dim + k]), p))
                .sum(),
        };
        pixels + self.prior.log_mass(code, buckets) - q.log_mass(code, buckets)
    }

    /// The normalized importance weights of `codes`, as f64 in a fixed order.
    fn weights(&self, image: &[u8], q: &Gaussian, codes: &[Vec<u32>]) -> Vec<f64> {
        let log_w: Vec<f64> = codes
            .par_iter()
            .map(|code| self.log_weight(image, q, code))
            .collect();
        let top = log_w.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        log_w.iter().map(|&l| libm::exp(l - top)).collect()
    }

    /// One image onto the stack with `k` codes (see the module docs).
    pub(super) fn push_image_weighted(
        &self,
        ans: &mut DefaultAnsCoder,
        image: &[u8],
        k: usize,
    ) -> Result<(), Step> {
        let buckets = &self.buckets;
        let (mu, sd) = self.encoder.posterior(&self.encoder_input(image));
        let q = self.grid.gaussian(&mu, &sd);
        let codes = (0..k)
            .map(|_| q.pop(ans, buckets))
            .collect::<Result<Vec<_>, _>>()?;
        let weights = categorical(&self.weights(image, &q, &codes))?;
        let j = ans
            .decode_symbol(&weights)
            .map_err(|_| "taking the chosen code's bits back")?;
        for (i, code) in codes.iter().enumerate().rev() {
            if i != j {
                q.unpop(ans, code, buckets)?;
            }
        }
        let raw = self.decoder.logits(&self.grid.centres(&codes[j], buckets));
        self.push_pixels(ans, image, &raw)?;
        self.prior.push(ans, &codes[j], buckets)?;
        ans.encode_symbol(j, &categorical(&vec![1.0; k])?)
            .map_err(|_| "coding the chosen code")
    }

    /// [`Coder::push_image_weighted`] undone.
    pub(super) fn pop_image_weighted(
        &self,
        ans: &mut DefaultAnsCoder,
        image: &mut [u8],
        k: usize,
    ) -> Result<(), Step> {
        let buckets = &self.buckets;
        let j = ans
            .decode_symbol(&categorical(&vec![1.0; k])?)
            .map_err(|_| "the chosen code")?;
        let chosen = self.prior.unpush(ans, self.encoder.mu.d_out(), buckets)?;
        let raw = self.decoder.logits(&self.grid.centres(&chosen, buckets));
        self.pop_pixels(ans, image, &raw)?;
        let (mu, sd) = self.encoder.posterior(&self.encoder_input(image));
        let q = self.grid.gaussian(&mu, &sd);
        let mut codes = Vec::with_capacity(k);
        for i in 0..k {
            codes.push(match i == j {
                true => chosen.clone(),
                false => q.pop(ans, buckets)?,
            });
        }
        let weights = categorical(&self.weights(image, &q, &codes))?;
        ans.encode_symbol(j, &weights)
            .map_err(|_| "the chosen code's bits given back")?;
        for code in codes.iter().rev() {
            q.unpop(ans, code, buckets)?;
        }
        Ok(())
    }
}
