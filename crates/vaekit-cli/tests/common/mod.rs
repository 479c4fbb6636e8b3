//! Running the built `vaekit` binary, shared by the CLI test files (each
//! file under tests/ is its own binary and uses what it needs of these).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

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

/// Runs `vaekit explore RUN` in `dir` on a free port; returns it and its
/// page's address.
pub fn explore(dir: &Path, run: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vaekit"))
        .args(["--threads", "1", "explore", run, "--port", "0"])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (child, url)
}

/// One raw HTTP request; returns the status code and the body.
pub fn http(url: &str, request: &str) -> (u16, String) {
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream
        .write_all(request.replace("HOST", host).as_bytes())
        .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

pub fn post(url: &str, path: &str, body: &str) -> (u16, String) {
    http(
        url,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: HOST\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

pub fn get(url: &str, path: &str) -> (u16, String) {
    http(
        url,
        &format!("GET {path} HTTP/1.1\r\nHost: HOST\r\nConnection: close\r\n\r\n"),
    )
}

/// Sends Ctrl-C to `child` and waits: its exit status and what it printed.
pub fn interrupt(mut child: Child) -> (std::process::ExitStatus, String) {
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out);
    }
    (status, out)
}
