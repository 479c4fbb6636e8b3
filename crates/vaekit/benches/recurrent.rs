//! Why vaekit has its own GRU: times one training step's worth of work (the
//! forward pass over a batch of sequences and its backward pass) through
//! burn 0.22.1's `Gru` and through `vaekit::text::rnn::Gru` on the sentence
//! VAE's shapes, and prints burn's time / ours. burn's runs a product per
//! gate per step (the input ones inside the loop); ours projects every
//! step's input in one product and runs one fused hidden product per step.
//!
//! ```sh
//! RAYON_NUM_THREADS=2 cargo bench -p vaekit --bench recurrent
//! ```

mod common;
use common::median_ms;

use vaekit::burn::nn::GruConfig as BurnGruConfig;
use vaekit::burn::tensor::{Device, Distribution, Tensor};
use vaekit::text::rnn::GruConfig;

fn main() {
    let device = Device::flex().autodiff();
    println!(
        "| batch | steps | input | hidden | burn Gru (ms) | vaekit Gru (ms) | burn / vaekit |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (batch, steps, input, hidden) in [
        (32, 10, 256, 256),
        (32, 20, 288, 256),
        (64, 10, 288, 256),
        (128, 10, 288, 512),
    ] {
        let ours = GruConfig::new(input, hidden).init(&device);
        let theirs = BurnGruConfig::new(input, hidden, true).init(&device);
        let x = Tensor::<3>::random(
            [batch, steps, input],
            Distribution::Normal(0.0, 1.0),
            &device,
        )
        .require_grad();
        let h0 = Tensor::<2>::zeros([batch, hidden], &device);
        let burn_ms = median_ms(5, || {
            let out = theirs.forward(x.clone(), Some(h0.clone()));
            let _ = out.sum().backward();
        });
        let ours_ms = median_ms(5, || {
            let (out, _) = ours.forward(x.clone(), h0.clone(), None);
            let _ = out.sum().backward();
        });
        println!(
            "| {batch} | {steps} | {input} | {hidden} | {burn_ms:.2} | {ours_ms:.2} | {:.2} |",
            burn_ms / ours_ms
        );
    }
}
