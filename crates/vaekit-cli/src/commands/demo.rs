use anyhow::{Context, Result};
use vaekit::burn::tensor::Device;
use vaekit::demo::demo;

use super::say;
use crate::cli::DemoArgs;
use crate::progress::Progress;

pub fn run(args: &DemoArgs, device: Device, quiet: bool) -> Result<()> {
    let mut progress = Progress::new(quiet);
    let report = demo(&args.out, device, &mut progress)
        .with_context(|| format!("the demo could not finish in {}", args.out.display()))?;
    say(format!("run:             {}", report.run_dir.display()))?;
    say(format!("samples:         {}", report.samples.display()))?;
    say(format!(
        "reconstructions: {}",
        report.reconstructions.display()
    ))?;
    say(format!("training curves: {}", report.loss_plot.display()))?;
    say(format!(
        "test -ELBO:      {:.3} nats per digit ({} test digits; reconstruction {:.3}, KL {:.3})",
        report.test.neg_elbo, report.test.n, report.test.recon, report.test.kl
    ))
}
