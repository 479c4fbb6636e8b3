use anyhow::Result;
use std::path::Path;
use vaekit::burn::tensor::Device;
use vaekit::run::Run;

use vaekit::text::run::TextRun;
use vaekit::web::explore::{ExploreOptions, Explorer, text_sentences};
use vaekit::web::report::{ReportOptions, build_report, write_report};
use vaekit::web::server::Server;
use vaekit::web::text_report::build_text_report;

use super::say;
use crate::cli::{ExploreArgs, ReportArgs, RunTarget};

fn open(target: &RunTarget, device: &Device) -> Result<(Run, vaekit::model::Vae)> {
    Ok(vaekit::web::open_run(
        &target.dir(),
        target.weights,
        device,
    )?)
}

pub fn report(args: &ReportArgs, device: Device) -> Result<()> {
    // The file is checked before anything is computed.
    if args.out.exists() && !args.force {
        write_report(&args.out, "", false)?;
    }
    let options = ReportOptions {
        split: args.split,
        iw_samples: args.iw_samples,
        map_points: args.map_points,
        seed: args.seed,
    };
    let dir = args.run.dir();
    let report = match vaekit::text::run::is_text_run(&dir) {
        true => {
            if args.data.data.is_some() {
                anyhow::bail!(vaekit::Error::Setting {
                    name: "--data".into(),
                    message:
                        "a text run's report shows its own splits; drop --data (or use --split)"
                            .into(),
                });
            }
            let run = TextRun::open(&dir)?;
            let model = run.load_model(args.run.weights, &device)?;
            build_text_report(&run, &model, &options)?
        }
        false => {
            let (run, model) = open(&args.run, &device)?;
            let other = args.data.other();
            let data = run.prepare_data(other.as_ref().map(|(s, o)| (s.as_str(), o)))?;
            build_report(&run, &model, &data, &options)?
        }
    };
    write_report(&args.out, &report.html, args.force)?;
    say(format!(
        "wrote the report of {} to {} ({:.1} MB; -ELBO {:.3} nats on the {} split, {} examples on the map)",
        dir.display(),
        args.out.display(),
        report.html.len() as f64 / 1e6,
        report.neg_elbo,
        report.split,
        report.map_points
    ))
}

pub fn explore(args: &ExploreArgs, device: Device) -> Result<()> {
    // The port is taken first: a busy one is said before minutes of encoding.
    let server = Server::bind(args.port)?;
    let options = ExploreOptions {
        split: args.split,
        limit: args.limit,
        method: args.method,
        clusters: args.clusters,
    };
    let dir = args.run.dir();
    let explorer = match vaekit::text::run::is_text_run(&dir) {
        true => {
            let run = TextRun::open(&dir)?;
            let model = run.load_model(args.run.weights, &device)?;
            let data = args.data.data.as_deref().map(Path::new);
            let (sentences, what) = text_sentences(&run, data, args.split)?;
            Explorer::for_text(run, model, sentences, &what, &options)?
        }
        false => {
            let (run, model) = open(&args.run, &device)?;
            let other = args.data.other();
            let data = run.prepare_data(other.as_ref().map(|(s, o)| (s.as_str(), o)))?;
            Explorer::new(run, model, &data, &options)?
        }
    };
    let stopper = server.stopper();
    crate::signals::graceful(Some(Box::new(move || stopper.stop())));
    say(format!(
        "exploring {} examples at {} (Ctrl-C stops)",
        explorer.len(),
        server.url()
    ))?;
    server.serve(&explorer);
    say("stopped")
}
