//! The `vaekit` command. It parses arguments, calls the library and prints;
//! all logic lives in the `vaekit` crate.

mod cli;
mod commands;
mod progress;
mod signals;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command};

fn main() -> ExitCode {
    // A bug must still end in a short message, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        eprintln!(
            "vaekit: internal error: {what}. This is a bug in vaekit; please report it with the command you ran."
        );
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    signals::install()?;
    vaekit::device::keep_freed_buffers();
    vaekit::device::set_threads(cli.global.threads)?;
    // A server waits for requests most of the time: its threads sleep.
    let idle_mostly = matches!(cli.command, Command::Explore(_));
    match cli.global.no_spin || idle_mostly {
        true => vaekit::device::on_worker_thread(|| run_command(&cli)),
        false => vaekit::device::with_spinning_workers(|| run_command(&cli)),
    }
}

fn run_command(cli: &Cli) -> anyhow::Result<()> {
    let device = || vaekit::device::parse_device(&cli.global.device);
    let quiet = cli.global.quiet;
    match &cli.command {
        Command::Train(args) => commands::train::run(args, device()?, quiet),
        Command::Eval(args) => commands::eval::run(args, device()?, quiet),
        Command::Sample(args) => commands::sample::run(args, device()?),
        Command::Reconstruct(args) => commands::reconstruct::run(args, device()?),
        Command::Encode(args) => commands::encode::run(args, device()?),
        Command::Impute(args) => commands::impute::run(args, device()?),
        Command::Score(args) => commands::score::run(args, device()?, quiet),
        Command::Latent(args) => commands::latent::run(args, device()?),
        Command::Interpolate(args) => commands::interpolate::run(args, device()?),
        Command::Traverse(args) => commands::traverse::run(args, device()?),
        Command::Cluster(args) => commands::cluster::run(args, device()?),
        Command::Info(args) => commands::info::run(args),
        Command::Probe(args) => commands::probe::run(args, device()?),
        Command::Augment(args) => commands::augment::run(args, device()?),
        Command::Demo(args) => commands::demo::run(args, device()?, quiet),
        Command::Compress(args) => commands::compress::compress(args, device()?),
        Command::Decompress(args) => commands::compress::decompress(args, device()?),
        Command::Report(args) => commands::web::report(args, device()?),
        Command::Explore(args) => commands::web::explore(args, device()?),
    }
}

/// Prints the error once (with the causes its message does not already
/// contain) and picks the exit code: 2 for bad input, 1 for failures. A closed
/// stdout (`vaekit info x | head`) is not an error.
fn report(err: &anyhow::Error) -> ExitCode {
    if let Some(io) = err.downcast_ref::<std::io::Error>()
        && io.kind() == std::io::ErrorKind::BrokenPipe
    {
        return ExitCode::SUCCESS;
    }
    // The command has said what was kept and how to go on.
    if let Some(vaekit::Error::Interrupted { .. }) = err.downcast_ref::<vaekit::Error>() {
        return ExitCode::from(signals::received().map_or(130, signals::exit_code));
    }
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    eprintln!("error: {text}");
    let input = err
        .downcast_ref::<vaekit::Error>()
        .is_some_and(vaekit::Error::is_input_error);
    ExitCode::from(if input { 2 } else { 1 })
}
