//! The training curves a run writes beside itself (`loss.png`).

use std::path::Path;

use super::EpochMetrics;
use crate::error::Result;
use crate::report::{LinePlot, Series, loss_plot_png};

/// Draws the training (and validation) -ELBO per epoch.
pub fn write_loss_plot(path: &Path, metrics: &[EpochMetrics]) -> Result<()> {
    // A mixture-prior run's pretraining epochs optimized the reconstruction
    // alone: they are drawn as that, not as a -ELBO.
    let curve = |name: &str, point: &dyn Fn(&EpochMetrics) -> Option<f64>| Series {
        name: name.into(),
        points: metrics
            .iter()
            .filter_map(|m| point(m).map(|y| (m.epoch as f64, y)))
            .collect(),
    };
    let series: Vec<Series> = [
        curve("pretraining: train recon", &|m| {
            m.pretraining.then_some(m.train_recon)
        }),
        curve("train -ELBO", &|m| {
            (!m.pretraining).then_some(m.train_neg_elbo)
        }),
        curve("validation -ELBO", &|m| {
            m.val
                .as_ref()
                .filter(|_| !m.pretraining)
                .map(|v| v.neg_elbo)
        }),
    ]
    .into_iter()
    .filter(|s| !s.points.is_empty())
    .collect();
    let plot = LinePlot {
        title: "Training curves",
        x_label: "epoch",
        y_label: "nats per example",
        series: &series,
    };
    loss_plot_png(path, &plot, 800, 500)
}
