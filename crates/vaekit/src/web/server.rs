//! The explorer's HTTP server: `tiny_http` on 127.0.0.1 only, a few worker
//! threads so that several tabs are answered at once, request bodies read
//! up to a limit, and a stop that every worker sees within a tenth of a
//! second (Ctrl-C in the binary calls it).
//!
//! Only requests addressed to this machine are answered (the `Host` header
//! must name 127.0.0.1, localhost or [::1]): a web page elsewhere cannot
//! reach the explorer through a name that resolves here.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::explore::{Explorer, MAX_BODY, Response};
use crate::error::{Error, Result};

/// Threads answering requests.
const WORKERS: usize = 4;

/// A bound server, not yet serving.
pub struct Server {
    http: tiny_http::Server,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

/// Stops a [`Server`] from another thread (a signal handler).
#[derive(Debug, Clone)]
pub struct Stopper(Arc<AtomicBool>);

impl Stopper {
    /// Asks the server to stop; [`Server::serve`] returns soon after.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Server {
    /// Binds 127.0.0.1 at `port` (0: a free port).
    ///
    /// # Errors
    ///
    /// [`Error::Setting`] when the port cannot be bound (taken, or below
    /// 1024 without the right).
    pub fn bind(port: u16) -> Result<Server> {
        let refused = |e: &dyn std::fmt::Display| {
            Error::setting(
                "--port",
                format!(
                    "cannot listen on 127.0.0.1:{port} ({e}); give another port, or --port 0 for a free one"
                ),
            )
        };
        let listener = listener(port).map_err(|e| refused(&e))?;
        let http = tiny_http::Server::from_listener(listener, None).map_err(|e| refused(&e))?;
        let addr = http
            .server_addr()
            .to_ip()
            .ok_or_else(|| Error::Data("the server is not on an IP address".into()))?;
        Ok(Server {
            http,
            addr,
            stop: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The page's address.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// What stops the server.
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop.clone())
    }

    /// Answers requests with `explorer` until stopped.
    pub fn serve(&self, explorer: &Explorer) {
        std::thread::scope(|scope| {
            for _ in 0..WORKERS {
                scope.spawn(|| {
                    while !self.stop.load(Ordering::SeqCst) {
                        match self.http.recv_timeout(Duration::from_millis(100)) {
                            Ok(Some(request)) => answer(request, explorer, self.addr.port()),
                            Ok(None) => {}
                            Err(_) => break,
                        }
                    }
                });
            }
        });
    }
}

/// A socket listening on 127.0.0.1 at `port`, with TCP_NODELAY, which the
/// connections it accepts inherit. tiny_http writes a response's headers and
/// its body in two writes when the body is over its 1 KiB buffer; with
/// Nagle's algorithm on, the body then waits for the client's delayed
/// acknowledgement of the headers, 40 ms on Linux, on every decoded point of
/// a kept-alive connection (bench/explore-latency.py measured 42 ms a
/// click before, 0.4 ms after).
fn listener(port: u16) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.set_tcp_nodelay(true)?;
    // As std's TcpListener::bind does on Unix: a port just freed can be bound again.
    #[cfg(unix)]
    socket.set_reuse_address(true)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

/// Whether `host` (a `Host` header) names this machine at `port`.
fn local_host(host: &str, port: u16) -> bool {
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == *name || host == format!("{name}:{port}"))
}

fn answer(mut request: tiny_http::Request, explorer: &Explorer, port: u16) {
    let host = request
        .headers()
        .iter()
        .find(|h| h.field.equiv("Host"))
        .map(|h| h.value.as_str().to_string());
    let response = match (host, request.body_length()) {
        (Some(host), _) if !local_host(&host, port) => Response::error(
            403,
            "the explorer answers requests addressed to 127.0.0.1 only",
        ),
        (None, _) => Response::error(400, "the request has no Host header"),
        (_, Some(n)) if n > MAX_BODY => {
            Response::error(413, &format!("the request body is over {MAX_BODY} bytes"))
        }
        _ => {
            let mut body = Vec::new();
            let read = request
                .as_reader()
                .take(MAX_BODY as u64 + 1)
                .read_to_end(&mut body);
            match read {
                Err(_) => Response::error(400, "the request body could not be read"),
                Ok(_) => {
                    let method = request.method().as_str().to_string();
                    explorer.handle(&method, request.url(), &body)
                }
            }
        }
    };
    let headers = [
        ("Content-Type", response.content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ];
    let mut reply = tiny_http::Response::from_data(response.body).with_status_code(response.status);
    for (k, v) in headers {
        if let Ok(h) = tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            reply = reply.with_header(h);
        }
    }
    // A client gone before the answer is not the server's problem.
    let _ = request.respond(reply);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_is_answered() {
        assert!(local_host("127.0.0.1:8080", 8080));
        assert!(local_host("localhost:8080", 8080));
        assert!(local_host("localhost", 8080));
        assert!(!local_host("localhost:8081", 8080));
        assert!(!local_host("evil.example:8080", 8080));
        assert!(!local_host("127.0.0.1.evil.example", 8080));
    }
}
