//! A fake forge's HTTP server on a free local port, for tests and
//! `warrant demo`: both fakes (GitHub's and GitLab's) serve through it.

use std::net::SocketAddr;

use tokio::task::JoinHandle;

/// A running server; it stops when dropped.
pub struct FakeServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl FakeServer {
    /// Serves `app` on `127.0.0.1` at a port the system picks.
    pub(crate) async fn start(app: axum::Router) -> std::io::Result<FakeServer> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FakeServer { addr, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
