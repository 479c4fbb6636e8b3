//! Why vaekit has its own recurrent cells: times one training step's worth
//! of work (the forward pass over a batch of sequences and its backward
//! pass) through burn 0.22.1's `Gru` and `Lstm` and through
//! `vaekit::text::rnn::Rnn` (GRU and LSTM cells) on the sentence VAE's
//! shapes, and prints burn's time / ours. burn's run the input products
//! inside the loop, a step at a time; ours project every step's input in
//! one product per gate before it.
//!
//! ```sh
//! RAYON_NUM_THREADS=2 cargo bench -p vaekit --bench recurrent
//! ```

mod common;
use common::median_ms;

use vaekit::burn::nn::{GruConfig as BurnGruConfig, LstmConfig as BurnLstmConfig};
use vaekit::burn::tensor::{Device, Distribution, Tensor};
use vaekit::text::rnn::{CellKind, RnnConfig};

fn main() {
    let device = Device::flex().autodiff();
    println!("| cell | batch | steps | input | hidden | burn (ms) | vaekit (ms) | burn / vaekit |");
    println!("|---|---|---|---|---|---|---|---|");
    for cell in [CellKind::Gru, CellKind::Lstm] {
        for (batch, steps, input, hidden) in [
            (32, 10, 256, 256),
            (32, 20, 288, 256),
            (64, 10, 288, 256),
            (128, 10, 288, 512),
        ] {
            let ours = RnnConfig::new(input, hidden).with_cell(cell).init(&device);
            let x = Tensor::<3>::random(
                [batch, steps, input],
                Distribution::Normal(0.0, 1.0),
                &device,
            )
            .require_grad();
            let h0 = Tensor::<2>::zeros([batch, hidden], &device);
            let burn_ms = match cell {
                CellKind::Gru => {
                    let theirs = BurnGruConfig::new(input, hidden, true).init(&device);
                    median_ms(5, || {
                        let out = theirs.forward(x.clone(), Some(h0.clone()));
                        let _ = out.sum().backward();
                    })
                }
                CellKind::Lstm => {
                    let theirs = BurnLstmConfig::new(input, hidden, true).init(&device);
                    median_ms(5, || {
                        let (out, _) = theirs.forward(x.clone(), None);
                        let _ = out.sum().backward();
                    })
                }
            };
            let ours_ms = median_ms(5, || {
                let (out, _) = ours.forward(x.clone(), h0.clone(), None);
                let _ = out.sum().backward();
            });
            println!(
                "| {cell} | {batch} | {steps} | {input} | {hidden} | {burn_ms:.2} | {ours_ms:.2} | {:.2} |",
                burn_ms / ours_ms
            );
        }
    }
}
