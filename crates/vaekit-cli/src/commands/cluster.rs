use anyhow::Result;
use vaekit::burn::tensor::Device;
use vaekit::cluster::{ClusterOptions, cluster_dataset, write_clusters};

use super::{chosen_rows, open_run, say};
use crate::cli::ClusterArgs;

pub fn run(args: &ClusterArgs, device: Device) -> Result<()> {
    let (run, model) = open_run(&args.run, &device)?;
    let rows = chosen_rows(&run, &args.data, args.split)?;
    let options = ClusterOptions {
        method: args.method,
        k: args.k,
        space: args.space,
        restarts: args.restarts,
        seed: args.seed,
        ..ClusterOptions::default()
    };
    let clustering = cluster_dataset(&model, &rows, &options)?;
    write_clusters(&args.out, &clustering)?;
    if args.json {
        return say(serde_json::to_string_pretty(&clustering)?);
    }
    say(format!(
        "wrote {} clusters ({}{}) of {} examples to {} in {:.1} s",
        clustering.k,
        clustering.method,
        match clustering.space {
            vaekit::cluster::Space::Latent => "",
            vaekit::cluster::Space::Tsne => " islands of a t-SNE map",
        },
        clustering.examples,
        args.out.display(),
        clustering.seconds
    ))?;
    match clustering.agreement {
        Some(a) => say(format!(
            "accuracy {:.4}  NMI {:.4}  ARI {:.4}",
            a.accuracy, a.nmi, a.ari
        )),
        None => Ok(()),
    }
}
