//! A local HTTP server that replays recorded answers of an outside service
//! (the NPPES NPI Registry), so the production client runs unchanged with
//! only its base URL pointed here. Plain HTTP/1.1 on tokio: one request per
//! connection, GET only. Answers are chosen by the query's parameters.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The recordings, kept verbatim in the repository (tests/fixtures/nppes).
pub fn recordings() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/nppes")
}

/// What the server sends for a request.
#[derive(Clone)]
pub enum Reply {
    /// A recorded answer file, as it is.
    Recording(&'static str),
    /// A status and a body, for faults no recording has.
    Raw(u16, &'static str),
    /// Accept and never answer.
    Hang,
}

/// A route: every listed parameter must be in the query with that value.
pub struct Route {
    pub params: Vec<(&'static str, &'static str)>,
    pub reply: Reply,
}

/// Shorthand for a route.
pub fn route(params: &[(&'static str, &'static str)], reply: Reply) -> Route {
    Route {
        params: params.to_vec(),
        reply,
    }
}

/// Which recording answers a lookup of which NPI (the recordings' names
/// are hashes): an organization, an individual, and an NPI the registry
/// does not know.
pub fn by_number() -> Vec<Route> {
    vec![
        route(
            &[("number", "1568946812")],
            Reply::Recording("api-8bdc8b.json"),
        ),
        route(
            &[("number", "1720377294")],
            Reply::Recording("api-b2f594.json"),
        ),
        route(
            &[("number", "1234567893")],
            Reply::Recording("api-a2f836.json"),
        ),
    ]
}

/// A running replay server.
pub struct ReplayServer {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl ReplayServer {
    /// Its base URL, as the settings would name the registry.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/", self.addr)
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Serves `routes` on a free local port until the test ends.
    pub async fn start(routes: Vec<Route>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let routes = Arc::new(routes);
        let counter = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let routes = routes.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                    let query: Vec<(String, String)> = target
                        .split_once('?')
                        .map(|(_, q)| {
                            q.split('&')
                                .filter_map(|kv| kv.split_once('='))
                                .map(|(k, v)| (decode(k), decode(v)))
                                .collect()
                        })
                        .unwrap_or_default();
                    let reply = routes
                        .iter()
                        .find(|r| {
                            r.params
                                .iter()
                                .all(|(k, v)| query.iter().any(|(qk, qv)| qk == k && qv == v))
                        })
                        .map(|r| r.reply.clone())
                        .unwrap_or(Reply::Raw(404, "no recording for this request"));
                    let (status, body) = match reply {
                        Reply::Hang => {
                            tokio::time::sleep(std::time::Duration::from_secs(600)).await;
                            return;
                        }
                        Reply::Raw(status, body) => (status, body.as_bytes().to_vec()),
                        Reply::Recording(file) => {
                            (200, std::fs::read(recordings().join(file)).unwrap())
                        }
                    };
                    let response = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.write_all(&body).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { addr, requests }
    }
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
