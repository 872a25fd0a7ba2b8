//! A TCP proxy in front of PostgreSQL that cuts connections at random points.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rand::{Rng, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy. Each accepted connection gets a random byte budget;
/// when the traffic through it (either way) exceeds it, both sides are cut.
pub struct CuttingProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// Connections cut so far.
    pub cuts: Arc<AtomicU64>,
    cutting: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttingProxy {
    /// Proxies to `upstream`, cutting each connection after a random number of
    /// bytes in `budget` (seeded, so a failing run can be replayed).
    pub async fn start(upstream: SocketAddr, budget: std::ops::Range<u64>, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cuts = Arc::new(AtomicU64::new(0));
        let cutting = Arc::new(AtomicBool::new(true));
        let rng = Arc::new(Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)));
        let (c, on) = (cuts.clone(), cutting.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let limit = if on.load(Ordering::Relaxed) {
                    rng.lock().unwrap().gen_range(budget.clone())
                } else {
                    u64::MAX
                };
                let cuts = c.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    pipe(client, server, limit, cuts).await;
                });
            }
        });
        Self {
            addr,
            cuts,
            cutting,
            task,
        }
    }

    /// New connections are no longer cut (the network "recovers").
    pub fn heal(&self) {
        self.cutting.store(false, Ordering::Relaxed);
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pipe(client: TcpStream, server: TcpStream, limit: u64, cuts: Arc<AtomicU64>) {
    let used = Arc::new(AtomicU64::new(0));
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = copy(&mut cr, &mut sw, limit, used.clone());
    let down = copy(&mut sr, &mut cw, limit, used);
    // Whichever side ends first (a cut, or a normal close) ends both.
    let cut = tokio::select! {
        c = up => c,
        c = down => c,
    };
    if cut {
        cuts.fetch_add(1, Ordering::Relaxed);
    }
}

/// Copies until EOF (false) or until the shared budget runs out (true).
async fn copy(
    from: &mut tokio::net::tcp::OwnedReadHalf,
    to: &mut tokio::net::tcp::OwnedWriteHalf,
    limit: u64,
    used: Arc<AtomicU64>,
) -> bool {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let before = used.fetch_add(n as u64, Ordering::Relaxed);
        if before + n as u64 > limit {
            // Forward part of it, then cut mid-message.
            let part = limit.saturating_sub(before) as usize;
            let _ = to.write_all(&buf[..part.min(n)]).await;
            return true;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return false;
        }
    }
}
