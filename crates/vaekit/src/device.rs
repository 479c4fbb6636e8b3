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
}
