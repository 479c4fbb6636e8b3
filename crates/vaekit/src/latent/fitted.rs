//! The codes of the training rows as a distribution to draw from: a Gaussian
//! mixture fitted to one draw of q(z|x) per row ([`fit_codes`]), which
//! [`crate::generate::sample_from`] decodes instead of prior draws.
//!
//! One draw per row rather than the posterior means: the aggregate posterior
//! is the mixture of the q(z|x), whose spread the means alone understate.

use super::encode_dataset;
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::generate::FittedCodes;
use crate::model::Vae;
use crate::random::{self, Stream};
use crate::stats::gmm::fit_diagonal_gmm;
use crate::stats::kmeans::{KMeansConfig, kmeans};

/// Largest number of components [`fit_codes`] takes.
pub const MAX_COMPONENTS: usize = 1000;

/// EM steps after k-means.
const EM_STEPS: usize = 20;

/// Smallest variance of a component in any dimension: a floor well below
/// a posterior's typical variance that keeps a component on a handful of
/// rows from collapsing to a point.
const MIN_VARIANCE: f64 = 1e-4;

/// Fits a `components`-component diagonal Gaussian mixture to the codes of
/// `data` (the training rows), one draw of q(z|x) per row; for a conditional
/// model, one mixture per class, each to that class's rows. k-means (one
/// start of at most 25 iterations, seeded by `seed`) gives EM's start.
///
/// # Errors
///
/// [`Error::Setting`] for 0 or too many components, or a hierarchical model
/// (whose z1 is drawn given z2, not from one code); [`Error::Data`] when a
/// class has fewer rows than components or the rows have no labels.
pub fn fit_codes(model: &Vae, data: &Dataset, components: usize, seed: u64) -> Result<FittedCodes> {
    if components == 0 || components > MAX_COMPONENTS {
        return Err(Error::setting(
            "--code-mixture",
            format!(
                "{components} components; give between 1 and {MAX_COMPONENTS} (10 to 50 suit most data)"
            ),
        ));
    }
    if model.noise_dim() != model.latent_dim() {
        return Err(Error::setting(
            "--code-mixture",
            "a hierarchical model draws z1 given z2, so there is no one code to fit; sample it from its prior (drop --code-mixture)",
        ));
    }
    let encoded = encode_dataset(model, data, 1000)?;
    let dim = encoded.latent_dim;
    let mut rng = random::seeded(seed, Stream::Sample);
    let eps = random::normal(&mut rng, encoded.mu.len());
    let codes: Vec<f32> = encoded
        .mu
        .iter()
        .zip(&encoded.logvar)
        .zip(&eps)
        .map(|((m, lv), e)| m + (0.5 * lv).exp() * e)
        .collect();
    let groups: Vec<Vec<f32>> = match (model.classes(), &encoded.labels) {
        (None, _) => vec![codes],
        (Some(classes), Some(labels)) => {
            let mut groups = vec![Vec::new(); classes];
            for (row, &label) in codes.chunks_exact(dim).zip(labels) {
                if let Some(g) = groups.get_mut(label as usize) {
                    g.extend_from_slice(row);
                }
            }
            groups
        }
        (Some(_), None) => {
            return Err(Error::Data(
                "a conditional model's codes are fitted per class, and these rows have no labels"
                    .into(),
            ));
        }
    };
    let mixtures = groups
        .iter()
        .enumerate()
        .map(|(class, points)| {
            let rows = points.len() / dim.max(1);
            if rows < components {
                return Err(Error::Data(format!(
                    "{} has {rows} training rows, fewer than the {components} components asked for; give a smaller --code-mixture",
                    match groups.len() {
                        1 => "the data".to_string(),
                        _ => format!("class {class}"),
                    }
                )));
            }
            let config = KMeansConfig {
                restarts: 1,
                max_iterations: 25,
                seed,
                ..KMeansConfig::new(components)
            };
            let start = kmeans(points, dim, &config)?;
            fit_diagonal_gmm(points, &start, EM_STEPS, MIN_VARIANCE)
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(FittedCodes { mixtures })
}
