//! One optimizer step on one batch, apart from the epoch loop around it
//! (burn's `TrainStep`), and the KL warm-up's beta at a step.

use burn::tensor::Tensor;

use crate::model::Vae;
use crate::model::objective::Objective;
use crate::nn::{restore_running_statistics, running_statistics};
use crate::optim::{Adam, ParamGradients};

/// What one training step did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutput {
    /// The objective's batch mean: recon + beta * KL for the ELBO, the negative
    /// importance-weighted bound for IWAE.
    pub loss: f64,
    /// Mean reconstruction term.
    pub recon: f64,
    /// Mean KL term.
    pub kl: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// False when the step was skipped for a non-finite loss or gradient.
    pub applied: bool,
}

/// One optimizer step on one batch.
///
/// The encoder reads `seen` where given (the batch with some values hidden,
/// see [`Objective::loss`]), else `x`. `clip` bounds the global gradient
/// norm. The step is skipped (model returned unchanged, batch-norm running
/// statistics included) when the loss or the gradient norm is not finite.
///
/// # Shapes
/// - `x`: `[batch, input_dim]`; `seen` the same; `eps`: `[batch * K, latent_dim]`,
///   K samples per example
pub fn train_step(
    model: Vae,
    adam: &mut Adam,
    x: Tensor<2>,
    seen: Option<Tensor<2>>,
    eps: Tensor<2>,
    objective: Objective,
    clip: Option<f64>,
) -> (Vae, StepOutput) {
    // A skipped step must leave the batch norms' running statistics as they
    // were too: the forward pass below moves them.
    let statistics = running_statistics(&model.batch_norms());
    let loss = objective.loss(&model, x, seen, eps);
    let (model, output) = optimizer_step(model, adam, loss.total, loss.recon, loss.kl, clip);
    if !output.applied {
        restore_running_statistics(&model.batch_norms(), statistics);
    }
    (model, output)
}

/// The backward pass of `total` and one Adam update of `model` with the
/// global gradient norm clipped to `clip`, or no update when the loss or
/// the gradient norm is not finite; `recon` and `kl` are read beside the
/// loss (one device synchronisation for the three and the norm). Shared by
/// every model's training step.
///
/// # Shapes
/// - `total`, `recon`, `kl`: `[1]`
pub fn optimizer_step<M: burn::module::Module>(
    model: M,
    adam: &mut Adam,
    total: Tensor<1>,
    recon: Tensor<1>,
    kl: Tensor<1>,
    clip: Option<f64>,
) -> (M, StepOutput) {
    let collect = |m: &M, g: &burn::tensor::Gradients| vec![ParamGradients::collect(m, g)];
    optimizer_step_parts(model, &mut [adam], [total, recon, kl], clip, collect)
}

/// [`optimizer_step`] with the parameters in parts, each updated by its own
/// optimizer: `collect` gives one set of gradients per optimizer in `adams`
/// (an empty set leaves that optimizer untouched: a step of one part
/// alone). The norm clipped is that of all the parts together.
///
/// # Shapes
/// - `total`, `recon`, `kl`: `[1]`
pub fn optimizer_step_parts<M: burn::module::Module>(
    model: M,
    adams: &mut [&mut Adam],
    [total, recon, kl]: [Tensor<1>; 3],
    clip: Option<f64>,
    collect: impl FnOnce(&M, &burn::tensor::Gradients) -> Vec<ParamGradients>,
) -> (M, StepOutput) {
    let parts = collect(&model, &total.backward());
    let mut readings = vec![total.inner(), recon.inner(), kl.inner()];
    readings.extend(parts.iter().filter_map(ParamGradients::norm_squared));
    let values = Tensor::cat(readings, 0)
        .into_data()
        .try_into_vec::<f32>()
        .unwrap_or_default();
    let read = |i: usize| values.get(i).map_or(f64::NAN, |&v| v as f64);
    let (loss, recon, kl) = (read(0), read(1), read(2));
    let grad_norm = (3..values.len()).map(read).sum::<f64>().sqrt();
    let applied = loss.is_finite() && grad_norm.is_finite();
    let mut model = model;
    if applied {
        let scale = match clip {
            Some(max) if grad_norm > max => max / (grad_norm + 1e-6),
            _ => 1.0,
        };
        for (adam, grads) in adams.iter_mut().zip(parts) {
            if !grads.is_empty() {
                model = adam.step(model, grads, scale);
            }
        }
    }
    (
        model,
        StepOutput {
            loss,
            recon,
            kl,
            grad_norm,
            applied,
        },
    )
}

/// The beta of step `step` (counted from 0 over the whole run): a linear ramp
/// from 0 to `beta` over `warmup_epochs` epochs, then `beta`.
pub fn warmup_beta(beta: f64, warmup_epochs: f64, step: usize, steps_per_epoch: usize) -> f64 {
    if warmup_epochs <= 0.0 {
        return beta;
    }
    let progress = (step + 1) as f64 / (warmup_epochs * steps_per_epoch as f64);
    beta * progress.min(1.0)
}
