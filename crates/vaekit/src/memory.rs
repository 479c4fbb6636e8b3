//! The memory a job may use, and the refusal of a job that needs more:
//! `--latent 1000000000` is refused with the figure and what to change,
//! instead of ending in the allocator's abort. What a model needs is
//! estimated by [`crate::model::size`].

use crate::error::{Error, Result};

/// Bytes of one float.
pub(crate) const FLOAT: u64 = 4;
/// Floats a forward pass holds per activation.
pub(crate) const INFERENCE_PER_ACTIVATION: u64 = 2;

/// What a job needs and the memory there is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryNeed {
    /// Bytes of parameters and their copies.
    pub model_bytes: u64,
    /// Bytes of one pass's activations.
    pub batch_bytes: u64,
}

impl MemoryNeed {
    /// The two together.
    pub fn total(&self) -> u64 {
        self.model_bytes.saturating_add(self.batch_bytes)
    }
}

/// What one forward pass of `rows` rows through a loaded model needs at
/// least: its input, the code and the reconstruction, per row (the hidden
/// layers come on top).
pub fn pass_need(input_width: usize, latent: usize, rows: usize) -> MemoryNeed {
    let per_row = (input_width as u64)
        .saturating_mul(2)
        .saturating_add((latent as u64).saturating_mul(3));
    MemoryNeed {
        model_bytes: 0,
        batch_bytes: per_row
            .saturating_mul(rows as u64)
            .saturating_mul(INFERENCE_PER_ACTIVATION * FLOAT),
    }
}

/// The memory this process may still use: the smaller of the system's
/// available memory (`MemAvailable` of /proc/meminfo) and what is left under
/// a cgroup limit (a container's). None where neither can be read.
pub fn available() -> Option<u64> {
    let system = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| meminfo_available(&text));
    [system, cgroup_left()].into_iter().flatten().min()
}

/// `MemAvailable` of /proc/meminfo's text, in bytes.
fn meminfo_available(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// What is left under the cgroup's memory limit (v2, then v1), where it has one.
fn cgroup_left() -> Option<u64> {
    let read =
        |path: &str| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    let (limit, used) = match read("/sys/fs/cgroup/memory.max") {
        Some(limit) => (limit, read("/sys/fs/cgroup/memory.current")),
        None => (
            read("/sys/fs/cgroup/memory/memory.limit_in_bytes")?,
            read("/sys/fs/cgroup/memory/memory.usage_in_bytes"),
        ),
    };
    // "max" does not parse, and v1 writes a huge number for no limit.
    (limit < 1 << 60).then(|| limit.saturating_sub(used.unwrap_or(0)))
}

/// Bytes in words: `1.5 GB`, `312 MB`.
pub fn human(bytes: u64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => format!("{bytes} bytes"),
        _ => format!("{value:.1} {}", units[unit]),
    }
}

/// Refuses a job whose `need` is above `available` bytes, naming what it
/// would take and the flag to change: the network's (`model_flags`) when
/// its parameters alone do not fit, else the one that sets the pass's rows
/// (`rows_flag`).
pub fn check_fits(
    what: &str,
    need: MemoryNeed,
    available: Option<u64>,
    model_flags: &str,
    rows_flag: &str,
) -> Result<()> {
    let Some(available) = available else {
        return Ok(());
    };
    if need.total() <= available {
        return Ok(());
    }
    let (flag, change) = match need.model_bytes > available {
        true => (model_flags, format!("a smaller network ({model_flags})")),
        false => (rows_flag, format!("a smaller {rows_flag}")),
    };
    Err(Error::setting(
        flag,
        format!(
            "{what} needs about {} ({} for the network's parameters and their copies, {} for one pass), \
             and {} of memory is available; use {change}",
            human(need.total()),
            human(need.model_bytes),
            human(need.batch_bytes),
            human(available),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_need_above_what_is_available_names_the_flag_to_change() {
        let need = |model_bytes, batch_bytes| MemoryNeed {
            model_bytes,
            batch_bytes,
        };
        let e = check_fits(
            "training",
            need(20 << 30, 1 << 20),
            Some(16 << 30),
            "--hidden",
            "--batch-size",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("invalid setting --hidden")
                && e.contains("21.5 GB")
                && e.contains("17.2 GB"),
            "{e}"
        );
        let e = check_fits(
            "training",
            need(1 << 20, 20 << 30),
            Some(16 << 30),
            "--hidden",
            "--batch-size",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("invalid setting --batch-size"), "{e}");
        assert!(check_fits("training", need(1 << 20, 1 << 20), Some(16 << 30), "", "").is_ok());
        // Where the memory cannot be read, nothing is refused.
        assert!(check_fits("training", need(u64::MAX, 0), None, "", "").is_ok());
        // A pass of absurdly many rows saturates instead of wrapping round.
        assert_eq!(pass_need(784, 20, usize::MAX).total(), u64::MAX);
    }

    #[test]
    fn memory_readings_parse() {
        let text = "MemTotal:       24000000 kB\nMemFree:  100 kB\nMemAvailable:   20000000 kB\n";
        assert_eq!(meminfo_available(text), Some(20_000_000 * 1024));
        assert_eq!(meminfo_available("MemTotal: 5 kB\n"), None);
        assert!(available().is_none_or(|a| a > 1 << 20));
        assert_eq!(human(999), "999 bytes");
        assert_eq!(human(1_500_000_000), "1.5 GB");
    }
}
