//! How a typed table's rows reach the encoder and leave the decoder: the
//! per-column transforms of [`TableInput`].

use burn::prelude::*;
use burn::tensor::TensorData;

use crate::kernels;

/// The encoder's view of a typed table's row: each value transformed (a
/// count as its standardized log(1 + x), see
/// [`crate::data::TableColumns::input_transform`]), zero where the cell is
/// missing, followed by the mask itself, so that the encoder tells a
/// missing cell from a zero (the partial-VAE and HI-VAE input).
#[derive(Debug, Clone)]
pub(crate) struct TableInput {
    /// 1 where the value is read as log(1 + x).
    log: Vec<f32>,
    /// Subtracted after the log.
    shift: Vec<f32>,
    /// Multiplied after the shift.
    inv_scale: Vec<f32>,
    /// The decoder's output for a count is in the same units: its log-mean
    /// is `raw * scale + shift`, so an untrained decoder already predicts
    /// counts of the column's size (without it, Adam would take thousands
    /// of steps to climb from e^0 to a body mass of 4,000 grams).
    scale: Vec<f32>,
}

impl TableInput {
    pub(crate) fn of(table: &crate::data::TableColumns) -> TableInput {
        let t = table.input_transform();
        TableInput {
            log: t
                .iter()
                .map(|&(log, _, _)| f32::from(u8::from(log)))
                .collect(),
            shift: t.iter().map(|&(_, shift, _)| shift).collect(),
            inv_scale: t.iter().map(|&(_, _, scale)| 1.0 / scale).collect(),
            scale: t
                .iter()
                .map(|&(log, _, scale)| if log { scale } else { 1.0 })
                .collect(),
        }
    }

    /// The decoder's raw outputs in the likelihoods' units (see `scale`).
    ///
    /// # Shapes
    /// - `raw`: `[n, dim]`; returns the same shape
    pub(super) fn output(&self, raw: Tensor<2>) -> Tensor<2> {
        if self.log.iter().all(|&l| l == 0.0) {
            return raw;
        }
        let device = raw.device();
        let row =
            |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v.clone(), [1, v.len()]), &device);
        let shift: Vec<f32> = self
            .shift
            .iter()
            .zip(&self.log)
            .map(|(s, l)| s * l)
            .collect();
        raw * row(self.scale.clone()) + row(shift)
    }

    /// The encoder's input from values and their observed mask, the mask
    /// given as its complement (1 for a missing cell) when `complement` is
    /// set.
    ///
    /// # Shapes
    /// - `values`, `observed`: `[n, dim]`; returns `[n, 2 * dim]`
    pub(super) fn apply(
        &self,
        values: Tensor<2>,
        observed: Tensor<2>,
        complement: bool,
    ) -> Tensor<2> {
        let device = values.device();
        let row =
            |v: &[f32]| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [1, v.len()]), &device);
        // Only counts are transformed (shift 0 and scale 1 elsewhere): a
        // table without any skips the six passes.
        let features = match self.log.contains(&1.0) {
            false => values * observed.clone(),
            true => {
                let log = row(&self.log);
                let logged = values.clone().clamp_min(0.0).log1p() * log.clone()
                    + values * log.neg().add_scalar(1.0);
                (logged - row(&self.shift)) * row(&self.inv_scale) * observed.clone()
            }
        };
        let mask = match complement {
            true => observed.neg().add_scalar(1.0),
            false => observed,
        };
        Tensor::cat(vec![features, mask], 1)
    }

    /// [`TableInput::apply`] of the model input `x` (`[n, 2 * dim + classes]`:
    /// values, observed mask, one-hot label), followed by the label, in one
    /// pass over the rows on the CPU. None where that does not apply (another
    /// device, or an input that takes a gradient): there the composition of
    /// tensor operations runs, five passes and two joins.
    pub(super) fn encoder_input_on_cpu(
        &self,
        x: &Tensor<2>,
        dim: usize,
        complement: bool,
    ) -> Option<Tensor<2>> {
        if !kernels::fused_applies(x) || x.is_require_grad() {
            return None;
        }
        let [rows, width] = x.dims();
        if width < 2 * dim || self.log.len() != dim {
            return None;
        }
        let data = x.to_data();
        let values = data.as_slice::<f32>().ok()?;
        let counts = self.log.contains(&1.0);
        let mut out = vec![0.0f32; rows * width];
        for (input, seen) in values.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
            let (v, rest) = input.split_at(dim);
            let (observed, label) = rest.split_at(dim);
            let (features, rest) = seen.split_at_mut(dim);
            let (mask, seen_label) = rest.split_at_mut(dim);
            for (c, f) in features.iter_mut().enumerate() {
                *f = match counts {
                    // Counts as `apply` transforms them (shift 0 and scale 1 elsewhere).
                    true if self.log[c] == 1.0 => {
                        (v[c].max(0.0).ln_1p() - self.shift[c]) * self.inv_scale[c] * observed[c]
                    }
                    true => (v[c] - self.shift[c]) * self.inv_scale[c] * observed[c],
                    false => v[c] * observed[c],
                };
            }
            for (m, &o) in mask.iter_mut().zip(observed) {
                *m = if complement { 1.0 - o } else { o };
            }
            seen_label.copy_from_slice(label);
        }
        Some(Tensor::from_data(
            TensorData::new(out, [rows, width]),
            &x.device(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::{self, Stream};

    /// The one-pass input equals the tensor composition it replaces, with
    /// and without count columns, the mask as it is and complemented.
    #[test]
    fn the_one_pass_encoder_input_matches_the_composition() {
        let device = Device::flex();
        let (rows, dim, classes) = (37, 5, 3);
        let mut rng = random::seeded(7, Stream::Train);
        let mut x = random::normal(&mut rng, rows * (2 * dim + classes));
        for (r, row) in x.chunks_exact_mut(2 * dim + classes).enumerate() {
            row[0] = (r % 9) as f32; // a count
            for c in 0..dim {
                row[dim + c] = f32::from(u8::from((r + c) % 4 != 0));
            }
            for c in 0..classes {
                row[2 * dim + c] = f32::from(u8::from(r % classes == c));
            }
        }
        let x = Tensor::<2>::from_data(TensorData::new(x, [rows, 2 * dim + classes]), &device);
        let plain = TableInput {
            log: vec![0.0; dim],
            shift: vec![0.0; dim],
            inv_scale: vec![1.0; dim],
            scale: vec![1.0; dim],
        };
        let mut counts = plain.clone();
        (counts.log[0], counts.shift[0], counts.inv_scale[0]) = (1.0, 1.2, 1.0 / 0.6);
        for (t, complement) in [(plain, false), (counts.clone(), true), (counts, false)] {
            let fast = t.encoder_input_on_cpu(&x, dim, complement).unwrap();
            let values = x.clone().slice([0..rows, 0..dim]);
            let observed = x.clone().slice([0..rows, dim..2 * dim]);
            let labels = x.clone().slice([0..rows, 2 * dim..2 * dim + classes]);
            let slow = Tensor::cat(vec![t.apply(values, observed, complement), labels], 1);
            let (fast, slow) = (fast.into_data(), slow.into_data());
            let (fast, slow) = (
                fast.as_slice::<f32>().unwrap(),
                slow.as_slice::<f32>().unwrap(),
            );
            assert_eq!(fast.len(), slow.len());
            for (i, (a, b)) in fast.iter().zip(slow).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                    "[{i}]: {a} vs {b}"
                );
            }
        }
    }
}
