//! Adam with global gradient-norm clipping, and optimizer state that can be saved
//! by parameter name.
//!
//! Written here rather than taken from `burn-optim` for two measured needs: burn's
//! optimizer keys its state by `ParamId`, which is random per process, so a
//! checkpoint could not be resumed into a model rebuilt from its config; and its
//! norm clipping is per tensor, where training recipes (and PyTorch's
//! `clip_grad_norm_`) clip the norm of all gradients together. The update is
//! PyTorch's `torch.optim.Adam` (L2 weight decay added to the gradient,
//! epsilon outside the square root, bias correction), so runs compare with the
//! reference step for step.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::{Gradients, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kernels;
use crate::model::weights::named_tensors;

/// Adam's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AdamConfig {
    /// Step size.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub epsilon: f64,
    /// L2 penalty added to the gradient (PyTorch Adam's `weight_decay`).
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// Gradients of one backward pass, flattened, by parameter.
pub struct ParamGradients {
    grads: HashMap<ParamId, Tensor<1>>,
}

impl ParamGradients {
    /// The gradient of every parameter of `module` that has one.
    pub fn collect<M: Module>(module: &M, grads: &Gradients) -> Self {
        struct Grab<'a> {
            grads: &'a Gradients,
            out: HashMap<ParamId, Tensor<1>>,
        }
        impl ModuleVisitor for Grab<'_> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
                if let Some(g) = param.val().grad(self.grads) {
                    let n = g.shape().num_elements();
                    self.out.insert(param.id, g.reshape([n]));
                }
            }
        }
        let mut grab = Grab {
            grads,
            out: HashMap::new(),
        };
        module.visit(&mut grab);
        Self { grads: grab.out }
    }

    /// No gradients: a step that updates nothing.
    pub fn none() -> Self {
        Self {
            grads: HashMap::new(),
        }
    }

    /// `self` with `other`'s gradients too.
    pub fn merged(mut self, other: ParamGradients) -> Self {
        self.grads.extend(other.grads);
        self
    }

    /// `true` when no parameter has a gradient.
    pub fn is_empty(&self) -> bool {
        self.grads.is_empty()
    }

    /// The squared global L2 norm of all gradients, as a `[1]` tensor (read it
    /// together with the loss to pay for one device synchronisation).
    pub fn norm_squared(&self) -> Option<Tensor<1>> {
        self.grads
            .values()
            .map(|g| match kernels::fused_applies(g) {
                true => kernels::sum_squares(g.clone()),
                false => g.clone().powi_scalar(2).sum(),
            })
            .reduce(|a, b| a + b)
    }
}

/// Adam's state: the step count and two moments per parameter.
pub struct Adam {
    config: AdamConfig,
    step: u64,
    moments: HashMap<ParamId, (Tensor<1>, Tensor<1>)>,
    fused: bool,
}

impl Adam {
    /// A fresh optimizer.
    pub fn new(config: AdamConfig) -> Self {
        Self {
            config,
            step: 0,
            moments: HashMap::new(),
            fused: true,
        }
    }

    /// Whether to use the fused CPU kernel where it applies (the default); the
    /// plain burn composition is the reference it is tested against.
    pub fn with_fused(mut self, fused: bool) -> Self {
        self.fused = fused;
        self
    }

    /// The step size of the next update.
    pub fn lr(&self) -> f64 {
        self.config.lr
    }

    /// Sets the step size of the next updates (a learning-rate schedule).
    pub fn set_lr(&mut self, lr: f64) {
        self.config.lr = lr;
    }

    /// Number of updates made so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// One update of every parameter of `module` that has a gradient, with the
    /// gradients first multiplied by `grad_scale` (the clipping factor, 1 for none).
    pub fn step<M: Module>(&mut self, module: M, grads: ParamGradients, grad_scale: f64) -> M {
        self.step += 1;
        let mut update = Update {
            adam: self,
            grads: grads.grads,
            grad_scale,
        };
        module.map(&mut update)
    }

    /// The moments as named tensors (`adam.m.<param>`, `adam.v.<param>`), for a checkpoint.
    pub fn state_tensors<M: Module>(&self, module: &M) -> Vec<(String, TensorData)> {
        let mut out = Vec::new();
        for (name, id) in param_names(module) {
            if let Some((m, v)) = self.moments.get(&id) {
                out.push((format!("adam.m.{name}"), m.to_data()));
                out.push((format!("adam.v.{name}"), v.to_data()));
            }
        }
        out
    }

    /// Rebuilds the optimizer of a checkpoint for `module` (a model rebuilt from
    /// the same config), taking the `adam.*` entries out of `tensors`.
    pub fn restore<M: Module>(
        config: AdamConfig,
        step: u64,
        module: &M,
        tensors: &mut HashMap<String, TensorData>,
        origin: &std::path::Path,
    ) -> Result<Self> {
        let device = module.devices().into_iter().next();
        let mut moments = HashMap::new();
        for (name, id) in param_names(module) {
            let (m, v) = (
                tensors.remove(&format!("adam.m.{name}")),
                tensors.remove(&format!("adam.v.{name}")),
            );
            match (m, v, &device) {
                (Some(m), Some(v), Some(device)) => {
                    let as_flat = |d: TensorData| {
                        let n = d.num_elements();
                        Tensor::<1>::from_data(d, &device.clone().inner()).reshape([n])
                    };
                    moments.insert(id, (as_flat(m), as_flat(v)));
                }
                (None, None, _) if step == 0 => {}
                _ => {
                    return Err(Error::format(
                        origin,
                        format!(
                            "the optimizer state for '{name}' is missing; the checkpoint is \
                             incomplete: start a new run"
                        ),
                    ));
                }
            }
        }
        Ok(Self {
            config,
            step,
            moments,
            fused: true,
        })
    }
}

/// Path names and ids of the float parameters of `module` the optimizer
/// moves, in visiting order. Tensors on a training device that take no
/// gradient (a batch norm's running statistics) are left out: they have no
/// moments, so a checkpoint holds none for them.
fn param_names<M: Module>(module: &M) -> Vec<(String, ParamId)> {
    struct Ids {
        ids: Vec<(ParamId, bool)>,
    }
    impl ModuleVisitor for Ids {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let tensor = param.val();
            let buffer = tensor.device().is_autodiff() && !tensor.is_require_grad();
            self.ids.push((param.id, buffer));
        }
    }
    let mut ids = Ids { ids: Vec::new() };
    module.visit(&mut ids);
    named_tensors(module)
        .into_iter()
        .zip(ids.ids)
        .filter(|(_, (_, buffer))| !buffer)
        .map(|((name, _), (id, _))| (name, id))
        .collect()
}

struct Update<'a> {
    adam: &'a mut Adam,
    grads: HashMap<ParamId, Tensor<1>>,
    grad_scale: f64,
}

impl ModuleMapper for Update<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove(&id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let c = self.adam.config;
        let dims = tensor.dims();
        let require_grad = tensor.is_require_grad();
        let n = grad.shape().num_elements();
        let flat = tensor.inner().reshape([n]);
        let t = self.adam.step as i32;
        let bias1 = 1.0 - c.beta1.powi(t);
        let bias2 = 1.0 - c.beta2.powi(t);
        let (m, v) = match self.adam.moments.remove(&id) {
            Some(moments) => moments,
            None => (flat.zeros_like(), flat.zeros_like()),
        };
        let (flat, m, v) = if self.adam.fused && kernels::fused_applies(&grad) {
            let step = kernels::AdamStep {
                step_size: (c.lr / bias1) as f32,
                beta1: c.beta1 as f32,
                beta2: c.beta2 as f32,
                inv_bias2_sqrt: (1.0 / bias2.sqrt()) as f32,
                epsilon: c.epsilon as f32,
                weight_decay: c.weight_decay as f32,
                grad_scale: self.grad_scale as f32,
            };
            kernels::adam_update(flat, grad, m, v, &step)
        } else {
            let mut g = grad;
            if self.grad_scale != 1.0 {
                g = g.mul_scalar(self.grad_scale);
            }
            if c.weight_decay != 0.0 {
                g = g + flat.clone().mul_scalar(c.weight_decay);
            }
            let m = m.mul_scalar(c.beta1) + g.clone().mul_scalar(1.0 - c.beta1);
            let v = v.mul_scalar(c.beta2) + g.powi_scalar(2).mul_scalar(1.0 - c.beta2);
            // lr * m_hat / (sqrt(v_hat) + eps), written as PyTorch does it.
            let denom = v
                .clone()
                .sqrt()
                .div_scalar(bias2.sqrt())
                .add_scalar(c.epsilon);
            let delta = m.clone().div(denom).mul_scalar(c.lr / bias1);
            (flat - delta, m, v)
        };
        let updated: Tensor<D> = flat.reshape(dims);
        self.adam.moments.insert(id, (m, v));
        let mut updated = Tensor::from_inner(updated);
        if require_grad {
            updated = updated.require_grad();
        }
        Param::from_mapped_value(id, updated, mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::Device;

    #[derive(Module, Debug)]
    struct One {
        layer: Linear,
    }

    /// Adam by hand in f64 for one scalar parameter with constant gradient `g`.
    fn reference(p0: f64, g: f64, steps: usize, c: AdamConfig) -> f64 {
        let (mut p, mut m, mut v) = (p0, 0.0, 0.0);
        for t in 1..=steps as i32 {
            let g = g + c.weight_decay * p;
            m = c.beta1 * m + (1.0 - c.beta1) * g;
            v = c.beta2 * v + (1.0 - c.beta2) * g * g;
            let m_hat = m / (1.0 - c.beta1.powi(t));
            let v_hat = v / (1.0 - c.beta2.powi(t));
            p -= c.lr * m_hat / (v_hat.sqrt() + c.epsilon);
        }
        p
    }

    #[test]
    fn matches_pytorch_adam_formula() {
        let device = Device::flex().autodiff();
        crate::random::with_seeded_device(&device, 0, || {
            let config = AdamConfig {
                lr: 0.01,
                weight_decay: 0.1,
                ..AdamConfig::default()
            };
            let mut model = One {
                layer: LinearConfig::new(1, 1).init(&device),
            };
            let w0 = named_tensors(&model)[0].1.try_to_vec::<f32>().unwrap()[0] as f64;
            let mut adam = Adam::new(config);
            let x = Tensor::<2>::from_floats([[2.0]], &device);
            for _ in 0..5 {
                // loss = sum(layer(x)) so d/dw = x = 2 at every step.
                let loss = model.layer.forward(x.clone()).sum();
                let grads = ParamGradients::collect(&model, &loss.backward());
                model = adam.step(model, grads, 1.0);
            }
            let w = named_tensors(&model)[0].1.try_to_vec::<f32>().unwrap()[0] as f64;
            let want = reference(w0, 2.0, 5, config);
            assert!((w - want).abs() < 1e-6, "{w} vs {want}");
            assert_eq!(adam.steps(), 5);
        })
    }

    #[test]
    fn fused_adam_matches_the_plain_composition() {
        // Several steps with weight decay and clipping scale, fused vs plain.
        let device = Device::flex().autodiff();
        let config = AdamConfig {
            lr: 0.01,
            weight_decay: 0.05,
            ..AdamConfig::default()
        };
        // Both runs start from the same weights and data, drawn once.
        let start = One {
            layer: LinearConfig::new(300, 70).init(&device),
        };
        let x = Tensor::<2>::random([16, 300], burn::tensor::Distribution::Default, &device);
        let run = |fused: bool| {
            let mut model = start.clone();
            let mut adam = Adam::new(config).with_fused(fused);
            for step in 0..6 {
                let loss = model.layer.forward(x.clone()).powi_scalar(2).sum();
                let grads = ParamGradients::collect(&model, &loss.backward());
                let scale = if step % 2 == 0 { 1.0 } else { 0.5 };
                model = adam.step(model, grads, scale);
            }
            named_tensors(&model)
        };
        let (fused, plain) = (run(true), run(false));
        for ((name, a), (_, b)) in fused.iter().zip(&plain) {
            let (a, b) = (
                a.try_to_vec::<f32>().unwrap(),
                b.try_to_vec::<f32>().unwrap(),
            );
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-6 + 1e-5 * y.abs(), "{name}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn fused_norm_matches_the_plain_one() {
        let device = Device::flex();
        let g = Tensor::<1>::random(
            [100_003],
            burn::tensor::Distribution::Normal(0.0, 3.0),
            &device,
        );
        let fused = kernels::sum_squares(g.clone()).into_scalar::<f32>();
        let plain = g.powi_scalar(2).sum().into_scalar::<f32>();
        assert!((fused - plain).abs() <= 1e-4 * plain, "{fused} vs {plain}");
    }

    #[test]
    fn state_round_trips_by_name() {
        let device = Device::flex().autodiff();
        let mut model = One {
            layer: LinearConfig::new(2, 3).init(&device),
        };
        let mut adam = Adam::new(AdamConfig::default());
        let x = Tensor::<2>::from_floats([[1.0, -1.0]], &device);
        let loss = model.layer.forward(x.clone()).powi_scalar(2).sum();
        let grads = ParamGradients::collect(&model, &loss.backward());
        model = adam.step(model, grads, 1.0);
        let saved = adam.state_tensors(&model);
        assert_eq!(saved.len(), 4);
        // A fresh model (new ParamIds) takes the state by name.
        let fresh = One {
            layer: LinearConfig::new(2, 3).init(&device),
        };
        let mut map: HashMap<_, _> = saved.into_iter().collect();
        let restored = Adam::restore(
            AdamConfig::default(),
            1,
            &fresh,
            &mut map,
            std::path::Path::new("c"),
        )
        .unwrap();
        assert!(map.is_empty());
        assert_eq!(restored.state_tensors(&fresh).len(), 4);
        let mut empty = HashMap::new();
        assert!(
            Adam::restore(
                AdamConfig::default(),
                3,
                &fresh,
                &mut empty,
                std::path::Path::new("c")
            )
            .is_err()
        );
    }

    #[test]
    fn gradient_norm_covers_all_parameters() {
        let device = Device::flex().autodiff();
        let model = One {
            layer: LinearConfig::new(2, 1).init(&device),
        };
        // loss = sum(W x + b) with x = (3, 4): dW = (3, 4), db = 1; norm^2 = 26.
        let x = Tensor::<2>::from_floats([[3.0, 4.0]], &device);
        let loss = model.layer.forward(x).sum();
        let grads = ParamGradients::collect(&model, &loss.backward());
        let n2 = grads.norm_squared().unwrap().into_scalar::<f32>();
        assert!((n2 - 26.0).abs() < 1e-5);
    }
}
