//! The code space that the pictures move through, and the way back to data.
//!
//! For a one-layer model it is z itself: an example's code is its posterior
//! mean, and a code decodes to the mean of p(x|z). For a hierarchical VAE
//! (x -> z1 -> z2) it is the **top** layer z2, whose prior is N(0, I), so that
//! spherical paths, prior quantiles and "standard deviations of the prior"
//! mean what they say: an example's code is the mean of q(z2|z1) at z1 = the
//! mean of q(z1|x), and a code z2 decodes through the mean of p(z1|z2). With a
//! VampPrior the prior is a mixture, and the axes are still read in units of
//! N(0, 1).

use burn::tensor::{Tensor, TensorData};
use rand::RngExt;

use crate::batch::{check_width, model_device, model_input, noise, one_hot};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::eval::{ElboReport, EvalOptions, evaluate_elbo};
use crate::model::Vae;
use crate::random::{self, Stream};
use crate::run::Run;

/// Where a model's pictures move: z, or z2 of a hierarchical VAE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSpace {
    /// Size of z (z1 in a hierarchical VAE).
    latent_dim: usize,
    /// Size of z2 in a hierarchical VAE (0 otherwise).
    top_dim: usize,
}

fn to_values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap_or_default()
}

impl CodeSpace {
    /// The code space of `model`.
    pub fn of(model: &Vae) -> CodeSpace {
        CodeSpace {
            latent_dim: model.latent_dim(),
            top_dim: model.noise_dim() - model.latent_dim(),
        }
    }

    /// Size of a code.
    pub fn dim(&self) -> usize {
        if self.top_dim > 0 {
            self.top_dim
        } else {
            self.latent_dim
        }
    }

    /// True for the top layer of a hierarchical VAE.
    pub fn is_top_layer(&self) -> bool {
        self.top_dim > 0
    }

    /// The name of a code's values in labels: `z`, or `z2`.
    pub fn name(&self) -> &'static str {
        if self.is_top_layer() { "z2" } else { "z" }
    }

    /// The codes of examples `indices` of `data` (see the module docs).
    ///
    /// # Shapes
    /// - returns row-major `[indices.len(), dim]`
    pub fn encode(&self, model: &Vae, data: &Dataset, indices: &[usize]) -> Result<Vec<f32>> {
        check_width(model, data)?;
        if let Some(&bad) = indices.iter().find(|&&i| i >= data.len()) {
            return Err(Error::setting(
                "--index",
                format!(
                    "example {bad} does not exist: the data has {} examples (0 to {})",
                    data.len(),
                    data.len().saturating_sub(1)
                ),
            ));
        }
        let device = model_device(model);
        let x = model_input(model, data, indices, None, &device);
        if !self.is_top_layer() {
            return Ok(to_values(model.encode(x).mu));
        }
        // Zero noise: z1 at the mean of q(z1|x), and the means it reports for
        // z2 are those of q(z2|z1) there.
        let eps = Tensor::zeros([indices.len(), model.noise_dim()], &device);
        let means = model.elbo_terms(x, eps).means;
        let rows = indices.len();
        Ok(to_values(means.slice([
            0..rows,
            self.latent_dim..self.latent_dim + self.top_dim,
        ])))
    }

    /// The codes of the first `limit` examples of `data` (all of them with
    /// None), `batch_size` at a time.
    ///
    /// # Shapes
    /// - returns row-major `[min(limit, n), dim]`
    pub fn encode_first(
        &self,
        model: &Vae,
        data: &Dataset,
        limit: Option<usize>,
        batch_size: usize,
    ) -> Result<Vec<f32>> {
        let n = limit.map_or(data.len(), |l| l.min(data.len()));
        if n == 0 {
            return Err(Error::Data("there are no examples to encode".into()));
        }
        let all: Vec<usize> = (0..n).collect();
        let mut codes = Vec::with_capacity(n * self.dim());
        for chunk in all.chunks(batch_size.max(1)) {
            codes.extend(self.encode(model, data, chunk)?);
        }
        Ok(codes)
    }

    /// Decodes codes to the mean of p(x|code), with class `class` for a
    /// conditional model (call [`check_class`] first).
    ///
    /// # Shapes
    /// - `codes`: row-major `[n, dim]`; returns row-major `[n, input_dim]`
    pub fn decode(&self, model: &Vae, codes: &[f32], class: Option<u32>) -> Vec<f32> {
        let n = codes.len() / self.dim().max(1);
        let device = model_device(model);
        let codes = Tensor::from_data(TensorData::new(codes.to_vec(), [n, self.dim()]), &device);
        let z = if self.is_top_layer() {
            let eps1 = Tensor::zeros([n, self.latent_dim], &device);
            model.prior_codes(Tensor::cat(vec![eps1, codes], 1), &[])
        } else {
            codes
        };
        let y = match (model.classes(), class) {
            (Some(classes), Some(c)) => Some(one_hot(&vec![c; n], classes, &device)),
            _ => None,
        };
        to_values(model.likelihood_mean(model.decode(model.decoder_input(z, y))))
    }

    /// `n` codes drawn from the prior with `seed` (z2 ~ N(0, I) for a
    /// hierarchical VAE, a mixture component's draw for a VampPrior).
    ///
    /// # Shapes
    /// - returns row-major `[n, dim]`
    pub fn prior_samples(&self, model: &Vae, n: usize, seed: u64) -> Vec<f32> {
        let device = model_device(model);
        let mut rng = random::seeded(seed, Stream::Sample);
        if self.is_top_layer() {
            return random::normal(&mut rng, n * self.top_dim);
        }
        let eps = noise(&mut rng, n, model.noise_dim(), &device);
        let choice: Vec<usize> = match model.pseudo_input_count() {
            Some(k) => (0..n).map(|_| rng.random_range(0..k)).collect(),
            None => Vec::new(),
        };
        to_values(model.prior_codes(eps, &choice))
    }

    /// The KL of each dimension of this space from an evaluation's
    /// [`ElboReport::kl_per_dim`] (z, or z1 then z2).
    pub fn kl_per_dim(&self, report: &ElboReport) -> Vec<f64> {
        let kl = &report.kl_per_dim;
        let start = if self.is_top_layer() {
            self.latent_dim
        } else {
            0
        };
        kl.get(start..start + self.dim())
            .map_or_else(|| vec![f64::NAN; self.dim()], <[f64]>::to_vec)
    }
}

/// The KL of each code dimension on `data` (the first `limit` examples), from
/// an evaluation of the -ELBO with `run`'s binarization and seed.
pub fn kl_on_data(
    model: &Vae,
    run: &Run,
    data: &Dataset,
    limit: Option<usize>,
) -> Result<Vec<f64>> {
    let settings = &run.config.settings;
    let options = EvalOptions {
        binarize: settings.binarize.unwrap_or_default(),
        seed: settings.seed.unwrap_or(0),
        limit,
        ..EvalOptions::default()
    };
    Ok(CodeSpace::of(model).kl_per_dim(&evaluate_elbo(model, data, &options)?))
}

/// The class to decode with: required for a conditional model (`flag` names
/// the option in messages), refused for an unconditional one.
pub fn check_class(model: &Vae, class: Option<u32>, flag: &str) -> Result<Option<u32>> {
    match (model.classes(), class) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(Error::setting(
            flag,
            "the model is not conditional on a label; drop it",
        )),
        (Some(classes), None) => Err(Error::setting(
            flag,
            format!(
                "the model is conditional (cvae): say which class to decode, 0 to {}",
                classes - 1
            ),
        )),
        (Some(classes), Some(c)) if c as usize >= classes => Err(Error::setting(
            flag,
            format!("the model has classes 0 to {}; {c} is not one", classes - 1),
        )),
        (Some(_), Some(c)) => Ok(Some(c)),
    }
}
