//! Where tensors live, chosen at run time.
//!
//! The CPU backend (burn's `flex`) is always built in. GPU backends are cargo
//! features of this crate (`cuda`, `rocm`, `wgpu`, `metal`, `vulkan`); a device
//! string names one, so the same program moves to a GPU with `--device cuda`
//! once it is built with `--features cuda`.

use burn::tensor::Device;

use crate::error::{Error, Result};

/// The device names this build accepts, for help and messages.
pub fn available_devices() -> Vec<&'static str> {
    let mut names = vec!["cpu"];
    if cfg!(feature = "cuda") {
        names.push("cuda[:N]");
    }
    if cfg!(feature = "rocm") {
        names.push("rocm[:N]");
    }
    if cfg!(feature = "wgpu") {
        names.push("wgpu");
    }
    if cfg!(feature = "metal") {
        names.push("metal");
    }
    if cfg!(feature = "vulkan") {
        names.push("vulkan");
    }
    names
}

/// Parses `cpu`, `cuda`, `cuda:1`, `rocm:0`, `wgpu`, `metal` or `vulkan`.
pub fn parse_device(text: &str) -> Result<Device> {
    let (name, index) = match text.split_once(':') {
        Some((name, index)) => {
            let index: usize = index.parse().map_err(|_| {
                Error::setting(
                    "--device",
                    format!("'{index}' is not a device number; write e.g. cuda:0"),
                )
            })?;
            (name, index)
        }
        None => (text, 0),
    };
    let _ = index;
    let device = match name {
        "cpu" | "flex" => Some(Device::flex()),
        #[cfg(feature = "cuda")]
        "cuda" => Some(Device::cuda(index)),
        #[cfg(feature = "rocm")]
        "rocm" => Some(Device::rocm(index)),
        #[cfg(feature = "wgpu")]
        "wgpu" => Some(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "metal")]
        "metal" => Some(Device::metal(burn::tensor::DeviceKind::DefaultDevice)),
        #[cfg(feature = "vulkan")]
        "vulkan" => Some(Device::vulkan(burn::tensor::DeviceKind::DefaultDevice)),
        _ => None,
    };
    device.ok_or_else(|| {
        let known = ["cuda", "rocm", "wgpu", "metal", "vulkan"];
        let hint = if known.contains(&name) {
            format!(
                "this vaekit was built without {name} support; rebuild it with `--features {name}`"
            )
        } else {
            format!("unknown device '{text}'")
        };
        Error::setting(
            "--device",
            format!(
                "{hint}; this build offers {}",
                available_devices().join(", ")
            ),
        )
    })
}

/// Sets the number of CPU threads the tensor kernels use (`None`: one per
/// core). Call once, before any tensor work; later calls are refused.
pub fn set_threads(threads: Option<usize>) -> Result<()> {
    if threads == Some(0) {
        return Err(Error::setting("--threads", "use at least 1 thread"));
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        // The work of a whole command runs on these threads (see
        // `on_worker_thread`): give them a main thread's stack.
        .stack_size(8 << 20)
        .build_global()
        .map_err(|e| Error::setting("--threads", format!("cannot set the thread count: {e}")))
}

/// Runs `f` on one of the CPU backend's worker threads and returns its result.
///
/// Called from any other thread, every parallel kernel parks the caller and
/// wakes the workers, then wakes the caller again when they are done: two
/// context switches per kernel, dozens per training step, and about a tenth of
/// the MLP epoch's profile in the scheduler on two cores (bench/NOTES.md,
/// step 11). On a worker thread the caller shares the kernel's work with the
/// others instead. The CLI runs every command this way.
pub fn on_worker_thread<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    rayon::scope(|_| f())
}

/// Runs `f` (on a worker thread, see [`on_worker_thread`]) while the other
/// workers spin, looking for work, instead of going to sleep between
/// parallel kernels.
///
/// rayon puts an idle worker to sleep after a few dozen rounds of looking,
/// and the next parallel kernel wakes it with a system call: on a two-core
/// virtual machine the wake-ups were about a tenth of the MLP epoch's profile
/// (`futex_wake`, bench/NOTES.md, step 14). OpenMP, which PyTorch uses,
/// spins in the same way. A spinner that finds no work for 5 ms (while the
/// data loads, say) naps instead, for up to a millisecond at a time, so a
/// long serial stretch does not keep the other cores busy; the first kernel
/// after it may wait up to that millisecond for a helper, but never for a
/// system call of its own thread. Use it for compute-bound work such as
/// training.
///
/// Each spinner is a job that runs other jobs while it waits (`rayon::yield_now`)
/// and stops when `f` returns. So that no spinner can sit on top of a job that
/// `f` waits for, spinners start only before `f` does: one that a worker picks
/// up later (because it was busy) returns at once.
pub fn with_spinning_workers<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::time::{Duration, Instant};
    // How long a spinner keeps spinning after its last job, and the range of
    // its naps after that.
    const SPIN_FOR: Duration = Duration::from_millis(5);
    const NAP_MIN: Duration = Duration::from_micros(20);
    const NAP_MAX: Duration = Duration::from_millis(1);
    let spinners = rayon::current_num_threads().saturating_sub(1);
    let Some(me) = rayon::current_thread_index() else {
        return on_worker_thread(|| with_spinning_workers(f));
    };
    if spinners == 0 {
        return f();
    }
    let (started, open, stop) = (
        AtomicUsize::new(0),
        AtomicBool::new(true),
        AtomicBool::new(false),
    );
    rayon::scope(|scope| {
        for _ in 0..spinners {
            scope.spawn(|_| {
                if rayon::current_thread_index() == Some(me) || !open.load(SeqCst) {
                    return;
                }
                started.fetch_add(1, SeqCst);
                let (mut last_work, mut nap) = (Instant::now(), Duration::ZERO);
                while !stop.load(SeqCst) {
                    if rayon::yield_now() == Some(rayon::Yield::Executed) {
                        (last_work, nap) = (Instant::now(), Duration::ZERO);
                    } else if last_work.elapsed() < SPIN_FOR {
                        for _ in 0..8 {
                            std::hint::spin_loop();
                        }
                    } else {
                        // Long without work (loading data, writing files):
                        // naps of up to a millisecond instead of a busy core.
                        nap = (nap * 2).clamp(NAP_MIN, NAP_MAX);
                        std::thread::sleep(nap);
                    }
                }
            });
        }
        // Wait (without running jobs, which could be a spinner) until every
        // spinner runs, or a few milliseconds when the workers are busy.
        let deadline = Instant::now() + Duration::from_millis(5);
        while started.load(SeqCst) < spinners && Instant::now() < deadline {
            std::hint::spin_loop();
        }
        open.store(false, SeqCst);
        let out = f();
        stop.store(true, SeqCst);
        out
    })
}

/// Asks the C allocator to keep freed buffers of up to 32 MiB for reuse
/// instead of returning them to the operating system. Call once at start-up;
/// it only changes anything with glibc (Linux), and only speed.
///
/// glibc serves large blocks with fresh `mmap` pages and unmaps them on free,
/// so a training step that allocates the same 10 MiB patch matrices every time
/// page-faults through them again: on the conv VAE that was about a quarter of
/// the step (bench/NOTES.md). With a fixed threshold those blocks come from the
/// heap and are reused; the data set itself (larger) is still mapped apart.
/// All threads share the one heap: the worker threads that run a command
/// ([`on_worker_thread`]) would otherwise get heaps of their own, of at most
/// 64 MiB each, which map and unmap such blocks again (page faults of the conv
/// VAE's 200 steps: 0.10 million from the main thread, 1.5 million from a
/// worker with its own heap; bench/NOTES.md, step 11).
pub fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning parameters; it is
    // called before the process allocates large blocks or starts threads.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_always_available_and_others_explain_themselves() {
        assert!(parse_device("cpu").is_ok());
        let err = parse_device("tpu").unwrap_err().to_string();
        assert!(
            err.contains("unknown device") && err.contains("cpu"),
            "{err}"
        );
        if !cfg!(feature = "cuda") {
            let err = parse_device("cuda:0").unwrap_err().to_string();
            assert!(err.contains("--features cuda"), "{err}");
        }
        assert!(parse_device("cuda:x").is_err());
    }

    /// A parallel sum with nested joins, the kind of work a training step is.
    fn parallel_work(n: u64) -> u64 {
        use rayon::prelude::*;
        (0..n)
            .into_par_iter()
            .map(|i| {
                let (a, b) = rayon::join(|| i % 7, || i % 3);
                a + b
            })
            .sum()
    }

    fn expected(n: u64) -> u64 {
        (0..n).map(|i| i % 7 + i % 3).sum()
    }

    #[test]
    fn spinning_workers_run_the_work_and_stop() {
        // A pool of its own with three threads: two spinners, whatever the
        // machine's core count.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let got = pool.install(|| with_spinning_workers(|| parallel_work(200_000)));
        assert_eq!(got, expected(200_000));
        // Called again inside itself, and from outside any pool.
        let nested = pool
            .install(|| with_spinning_workers(|| with_spinning_workers(|| parallel_work(50_000))));
        assert_eq!(nested, expected(50_000));
        assert_eq!(
            with_spinning_workers(|| parallel_work(1000)),
            expected(1000)
        );
        // With one thread there is nothing to spin.
        let single = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        assert_eq!(single.install(|| with_spinning_workers(|| 42)), 42);
    }

    #[test]
    fn concurrent_callers_with_spinners_all_finish() {
        // Four callers share a pool of three threads, so that spinners meet
        // busy workers and one caller's work runs inside another's spinner:
        // every caller must still finish (a deadlock would hang here, so each
        // result is awaited with a time limit).
        let pool = std::sync::Arc::new(
            rayon::ThreadPoolBuilder::new()
                .num_threads(3)
                .build()
                .unwrap(),
        );
        let (send, receive) = std::sync::mpsc::channel();
        for caller in 0..4u64 {
            let (pool, send) = (pool.clone(), send.clone());
            std::thread::spawn(move || {
                let n = 20_000 + caller * 1000;
                let got = pool.install(|| with_spinning_workers(|| parallel_work(n)));
                send.send((got, expected(n))).unwrap();
            });
        }
        for _ in 0..4 {
            let (got, want) = receive
                .recv_timeout(std::time::Duration::from_secs(60))
                .expect("a caller did not finish within 60 s");
            assert_eq!(got, want);
        }
    }
}
