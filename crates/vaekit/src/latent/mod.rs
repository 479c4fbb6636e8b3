//! The latent space: as features (posterior means and log-variances of every
//! example, in input order, written as CSV or NPY for other tools, here), and
//! as pictures a person looks at:
//!
//! * [`map`]: every example's code placed in 2-D or 3-D (PCA, t-SNE or the raw
//!   axes) and drawn coloured by label, or by a table's column ([`colour`]);
//! * [`manifold`]: images decoded over a grid of prior quantiles of two
//!   dimensions;
//! * [`interpolate`]: the decoded path between two codes, straight or
//!   spherical, as a strip, an animation or table rows;
//! * [`traverse`]: each dimension swept over the prior while the others stay
//!   at one code, a row per dimension in order of the KL it carries.
//!
//! [`fitted`] fits a mixture to the training rows' codes, for samples drawn
//! where the data's codes lie rather than from the prior.
//!
//! [`space`] says which code they move through (z, or the top layer z2 of a
//! hierarchical VAE); [`paths`] and [`pca`] hold the arithmetic.

pub mod colour;
pub mod fitted;
pub mod interpolate;
pub mod manifold;
pub mod map;
pub mod paths;
pub mod pca;
pub mod space;
pub mod traverse;

use std::path::Path;

use npyz::WriterBuilder;
use serde::Serialize;

use crate::batch::{check_width, model_device, model_input};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::io::write_atomic_with;
use crate::model::Vae;

/// The lower-cased extension of `path`, if it has one.
pub(crate) fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// Posterior parameters of a dataset's examples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Encoded {
    /// Size of the latent code.
    pub latent_dim: usize,
    /// Means, row-major `[n, latent_dim]`.
    pub mu: Vec<f32>,
    /// Log-variances, row-major `[n, latent_dim]`.
    pub logvar: Vec<f32>,
    /// Labels in the same order, where the data has them.
    pub labels: Option<Vec<u32>>,
    /// Seconds the encoding took (data already in memory).
    pub seconds: f64,
}

impl Encoded {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.mu.len() / self.latent_dim.max(1)
    }

    /// True when no example was encoded.
    pub fn is_empty(&self) -> bool {
        self.mu.is_empty()
    }
}

/// Encodes every example of `data`, in order, `batch_size` at a time.
pub fn encode_dataset(model: &Vae, data: &Dataset, batch_size: usize) -> Result<Encoded> {
    check_width(model, data)?;
    let started = std::time::Instant::now();
    let device = model_device(model);
    let (mut mu, mut logvar) = (Vec::new(), Vec::new());
    let all: Vec<usize> = (0..data.len()).collect();
    for chunk in all.chunks(batch_size.max(1)) {
        let q = model.encode(model_input(model, data, chunk, None, &device));
        mu.extend(q.mu.into_data().try_into_vec::<f32>().unwrap_or_default());
        logvar.extend(
            q.logvar
                .into_data()
                .try_into_vec::<f32>()
                .unwrap_or_default(),
        );
    }
    Ok(Encoded {
        latent_dim: model.latent_dim(),
        mu,
        logvar,
        labels: data.labels().map(<[u32]>::to_vec),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The column names of [`write_encoded`]'s outputs: `mu_0.., logvar_0.., [label]`.
pub fn encoded_columns(encoded: &Encoded) -> Vec<String> {
    let k = encoded.latent_dim;
    (0..k)
        .map(|i| format!("mu_{i}"))
        .chain((0..k).map(|i| format!("logvar_{i}")))
        .chain(encoded.labels.as_ref().map(|_| "label".to_string()))
        .collect()
}

fn row(encoded: &Encoded, r: usize) -> impl Iterator<Item = f32> + '_ {
    let k = encoded.latent_dim;
    encoded.mu[r * k..(r + 1) * k]
        .iter()
        .chain(&encoded.logvar[r * k..(r + 1) * k])
        .copied()
        .chain(encoded.labels.as_ref().map(|l| l[r] as f32))
}

/// Writes the codes to `path`: `.csv` with a header row ([`encoded_columns`]),
/// or `.npy`, a float32 array `[n, columns]` in the same column order.
pub fn write_encoded(path: &Path, encoded: &Encoded) -> Result<()> {
    let ext = extension(path);
    let columns = encoded_columns(encoded);
    match ext.as_deref() {
        Some("csv") => write_atomic_with(path, |w| {
            let mut out = csv::Writer::from_writer(w);
            out.write_record(&columns)?;
            for r in 0..encoded.len() {
                out.write_record(row(encoded, r).map(|v| v.to_string()))?;
            }
            out.flush()
        }),
        Some("npy") => write_atomic_with(path, |w| {
            let mut writer = npyz::WriteOptions::<f32>::new()
                .default_dtype()
                .shape(&[encoded.len() as u64, columns.len() as u64])
                .writer(w)
                .begin_nd()?;
            for r in 0..encoded.len() {
                writer.extend(row(encoded, r))?;
            }
            writer.finish()
        }),
        _ => Err(Error::setting(
            "--out",
            format!(
                "cannot tell the format from the name {}; end it in .csv or .npy",
                path.display()
            ),
        )),
    }
}

#[cfg(test)]
mod tests;
