//! Batches: the rows a model reads and the noise it draws, in one place that
//! training, evaluation and every use of a run share.
//!
//! A batch is examples `indices` of a [`Dataset`], copied into a `[batch,
//! width]` tensor (binarized afresh when dynamic binarization asks for it),
//! joined by the one-hot label when the model is conditional; the noise is
//! standard-normal, drawn from the caller's seeded generator so that a run
//! and its resume draw the same numbers.

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::model::Vae;
use crate::random::{self, Rng};

/// The device a model's parameters live on.
pub fn model_device(model: &Vae) -> Device {
    model.devices().into_iter().next().unwrap_or_default()
}

/// Checks that `data` has the width `model` expects and, for a conditional
/// model, labels of its classes.
pub fn check_width(model: &Vae, data: &Dataset) -> Result<()> {
    if data.dim() != model.input_dim() {
        return Err(Error::Data(format!(
            "the data has {} values per example but the model takes {}; give data shaped like the training data",
            data.dim(),
            model.input_dim()
        )));
    }
    if let Some(classes) = model.classes() {
        let Some(labels) = data.labels() else {
            return Err(Error::Data(
                "the model is conditional on the label, but the data has no labels; give labelled data (--labels FILE or --label-column)".into(),
            ));
        };
        if let Some(&bad) = labels.iter().find(|&&l| l as usize >= classes) {
            return Err(Error::Data(format!(
                "label {bad} is outside the model's {classes} classes (0..{}); give data with the training data's classes",
                classes - 1
            )));
        }
    }
    Ok(())
}

/// The model's input rows for examples `indices` of `data`: the values
/// (binarized by `rng` when one is given), then the one-hot label for a
/// conditional model. Call [`check_width`] on `data` first.
pub fn model_input(
    model: &Vae,
    data: &Dataset,
    indices: &[usize],
    rng: Option<&mut Rng>,
    device: &Device,
) -> Tensor<2> {
    let mut x = batch_tensor(data, indices, rng, device);
    if model.takes_observed() {
        x = Tensor::cat(vec![x, observed_tensor(data, indices, device)], 1);
    }
    match (model.classes(), data.labels()) {
        (Some(classes), Some(labels)) => {
            let chosen: Vec<u32> = indices.iter().map(|&i| labels[i]).collect();
            Tensor::cat(vec![x, one_hot(&chosen, classes, device)], 1)
        }
        _ => x,
    }
}

/// The observed mask of rows `indices` of `data`: 1 for an observed value,
/// 0 for a missing cell's.
///
/// # Shapes
/// - returns `[indices.len(), data.dim()]`
pub fn observed_tensor(data: &Dataset, indices: &[usize], device: &Device) -> Tensor<2> {
    let dim = data.dim();
    let mut values = vec![1.0f32; indices.len() * dim];
    if data.missing().is_some() {
        for (k, &i) in indices.iter().enumerate() {
            if let Some(m) = data.missing_row(i) {
                // Written without a branch, so that the loop vectorizes.
                for (v, &gone) in values[k * dim..(k + 1) * dim].iter_mut().zip(m) {
                    *v = f32::from(u8::from(!gone));
                }
            }
        }
    }
    Tensor::from_data(TensorData::new(values, [indices.len(), dim]), device)
}

/// One-hot rows of `labels` (a label >= `classes` gives a row of zeros).
///
/// # Shapes
/// - returns `[labels.len(), classes]`
pub fn one_hot(labels: &[u32], classes: usize, device: &Device) -> Tensor<2> {
    let mut values = vec![0.0f32; labels.len() * classes];
    for (row, &label) in labels.iter().enumerate() {
        if (label as usize) < classes {
            values[row * classes + label as usize] = 1.0;
        }
    }
    Tensor::from_data(TensorData::new(values, [labels.len(), classes]), device)
}

/// Rows `indices` of `data` as a `[batch, dim]` tensor on `device`,
/// binarized by `rng` when one is given.
pub fn batch_tensor(
    data: &Dataset,
    indices: &[usize],
    rng: Option<&mut Rng>,
    device: &Device,
) -> Tensor<2> {
    let dim = data.dim();
    // Copied in parallel when large (a batch of 1,000 MNIST images is 3 MB,
    // a tenth of encoding it on one thread: bench/NOTES.md, step 16).
    let mut values = crate::kernels::gathered_rows(indices.len(), dim, |k| data.row(indices[k]));
    if let Some(rng) = rng {
        random::binarize(&mut values, rng);
    }
    Tensor::from_data(TensorData::new(values, [indices.len(), dim]), device)
}

/// Standard-normal noise of shape `[rows, cols]` on `device`.
pub fn noise(rng: &mut Rng, rows: usize, cols: usize, device: &Device) -> Tensor<2> {
    Tensor::from_data(
        TensorData::new(random::normal(rng, rows * cols), [rows, cols]),
        device,
    )
}
