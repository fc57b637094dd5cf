//! Starts and stops the DynamoDB/SQS emulator (moto, via `infra/local/emulator.py`) on loopback.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MotoError {
    #[error("no Python with moto found: run `make setup` (installs it into .venv) or set LEADFLOW_PYTHON")]
    NotFound,
    #[error("could not start moto_server: {0}")]
    Spawn(std::io::Error),
    #[error("moto_server did not answer on {0} within 30 s")]
    NotReady(SocketAddr),
}

/// The repository root (this crate lives in `infra/local`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python that has moto: `LEADFLOW_PYTHON`, else the project's `.venv`.
fn python() -> Result<PathBuf, MotoError> {
    if let Ok(path) = std::env::var("LEADFLOW_PYTHON") {
        return Ok(PathBuf::from(path));
    }
    let venv = repo_root().join(".venv/bin/python");
    venv.exists().then_some(venv).ok_or(MotoError::NotFound)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("loopback has a free port")
}

/// A running emulator; killed when dropped.
pub struct MotoServer {
    child: Child,
    pub port: u16,
}

impl MotoServer {
    pub fn start(port: Option<u16>, quiet: bool) -> Result<Self, MotoError> {
        let port = port.unwrap_or_else(free_port);
        let mut cmd = Command::new(python()?);
        cmd.arg(repo_root().join("infra/local/emulator.py"))
            .args(["127.0.0.1", &port.to_string()]);
        if quiet {
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let child = cmd.spawn().map_err(MotoError::Spawn)?;
        let server = Self { child, port };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                return Err(MotoError::NotReady(addr));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(server)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the emulator (all its state is lost), e.g. to test recovery.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        self.stop();
    }
}
