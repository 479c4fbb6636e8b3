//! Ctrl-C (SIGINT) and SIGTERM.
//!
//! A command that can stop cleanly (training, the explorer) asks for
//! [`graceful`] handling: the first signal only raises a flag that it polls
//! (training stops after the current step and keeps the checkpoint of its
//! last finished epoch), and a second signal ends the process at once. Any
//! other command ends at the first signal. Ending at once removes the
//! temporary files of the writes under way, so no output is left
//! half-written, and exits with 128 + the signal (130 for Ctrl-C, 143 for
//! SIGTERM), as a shell does.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// The first signal received, or 0.
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Whether the command stops cleanly at the first signal.
static GRACEFUL: AtomicBool = AtomicBool::new(false);
/// Called at the first signal of a graceful command (the explorer's stop).
static ON_FIRST: OnceLock<Box<dyn Fn() + Send + Sync>> = OnceLock::new();

/// Starts the thread that takes SIGINT and SIGTERM for the whole process.
pub fn install() -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                let first = RECEIVED
                    .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok();
                if !first || !GRACEFUL.load(Ordering::SeqCst) {
                    exit_now(signal);
                }
                if let Some(call) = ON_FIRST.get() {
                    call();
                }
                let _ = writeln!(
                    std::io::stderr(),
                    "\nvaekit: stopping after the current step ({} again quits at once)",
                    name(signal)
                );
            }
        })?;
    Ok(())
}

/// Makes the first signal a request to stop that the command polls with
/// [`received`]; `on_first` is called when it comes.
pub fn graceful(on_first: Option<Box<dyn Fn() + Send + Sync>>) {
    if let Some(call) = on_first {
        let _ = ON_FIRST.set(call);
    }
    GRACEFUL.store(true, Ordering::SeqCst);
}

/// The signal received so far, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// The exit code for a process ended by `signal`: 128 + its number.
pub fn exit_code(signal: i32) -> u8 {
    (128 + signal).clamp(0, 255) as u8
}

/// `Ctrl-C` or `SIGTERM`.
pub fn name(signal: i32) -> &'static str {
    match signal {
        SIGINT => "Ctrl-C",
        SIGTERM => "SIGTERM",
        _ => "the signal",
    }
}

fn exit_now(signal: i32) -> ! {
    let _held = vaekit::io::remove_pending_writes();
    let _ = writeln!(std::io::stderr(), "\nvaekit: stopped by {}", name(signal));
    std::process::exit(exit_code(signal).into())
}
