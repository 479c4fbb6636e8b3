//! Running the built `vaekit` binary, shared by the CLI test files (each
//! file under tests/ is its own binary and uses what it needs of these).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn vaekit(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vaekit"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the vaekit binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs and expects success, returning stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = vaekit(dir, args);
    assert!(
        out.status.success(),
        "vaekit {args:?} failed:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Runs and expects a clean failure with exit code 2 whose message contains
/// every one of `needles`; returns stderr.
pub fn bad_input(dir: &Path, args: &[&str], needles: &[&str]) -> String {
    let out = vaekit(dir, args);
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "vaekit {args:?}: expected exit 2, got {:?}\n{err}",
        out.status
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    for needle in needles {
        assert!(
            err.contains(needle),
            "vaekit {args:?}: message lacks '{needle}':\n{err}"
        );
    }
    err
}

/// An `.npy` file's bytes, written by hand: the format's header for an
/// array of `descr` (numpy's type string, `<f4` or `|u1`) and `shape`, then
/// `payload`, the values' bytes in row-major order.
pub fn npy(descr: &str, shape: &[usize], payload: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(payload);
    bytes
}
