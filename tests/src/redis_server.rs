//! A private `redis-server` for one test: started on a free loopback port, stopped on drop.
//!
//! Tests that need Redis call [`RedisServer::start`]. Where no `redis-server` binary is found,
//! it returns `None` and the test returns early, saying so on stderr, so `cargo test` passes
//! on a machine with only the Rust toolchain. CI sets `PACER_REQUIRE_REDIS=1`, which turns a
//! missing server into a failure: there the Redis tests always run.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` child process that only this test uses.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts a server (the binary named by `REDIS_SERVER`, else `redis-server` on the
    /// `PATH`) on a free port, without persistence, and waits until it answers.
    ///
    /// Returns `None` if there is no such binary, unless `PACER_REQUIRE_REDIS` is set, in
    /// which case that panics. A server that exits at once (its port taken in the meantime
    /// by another test's) is started again on another port, up to 5 times. Panics if none
    /// answers within 10 s.
    pub fn start() -> Option<RedisServer> {
        let binary = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        for _attempt in 0..5 {
            let port = free_port();
            let spawned = Command::new(&binary)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let child = match spawned {
                Ok(child) => child,
                Err(error) if std::env::var_os("PACER_REQUIRE_REDIS").is_some() => {
                    panic!("PACER_REQUIRE_REDIS is set but `{binary}` could not start: {error}")
                }
                Err(error) => {
                    // Straight to stderr, past the test harness's capture, so the skip shows.
                    let _ = writeln!(
                        std::io::stderr(),
                        "skipping a Redis test: `{binary}` could not start ({error}); \
                         install redis-server to run it (CI sets PACER_REQUIRE_REDIS=1)"
                    );
                    return None;
                }
            };
            let mut server = RedisServer { child, port };
            if server.wait_until_ready(Duration::from_secs(10)) {
                return Some(server);
            }
        }
        panic!("`{binary}` exited at once five times: see its log by running it by hand");
    }

    /// The server's URL, for `redis::Client::open`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The TCP port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server now (SIGKILL), as a crash or a lost network would: clients that
    /// use it afterwards find it gone.
    pub fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Freezes the server (SIGSTOP), as a stalled host or a network that drops packets
    /// would: connections stay open and requests get no answer.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Whether this server answers within `limit`; false if it exited first.
    /// Panics if it is still running but silent after `limit`.
    fn wait_until_ready(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return false;
            }
            if answers_as(self.port, self.child.id()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "redis-server on port {} did not answer within {limit:?}",
            self.port
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill(); // SIGKILL ends a paused server too
    }
}

/// A port that was free a moment ago (the OS picks it).
fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    listener.local_addr().expect("a bound address").port()
}

/// Whether the server on `port` answers, and is process `pid` (not another test's server
/// that took the port first): its `INFO server` names its process id.
fn answers_as(port: u16, pid: u32) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"INFO server\r\n").is_err() {
        return false;
    }
    let wanted = format!("process_id:{pid}\r\n");
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(read @ 1..) = stream.read(&mut chunk) {
        reply.extend_from_slice(&chunk[..read]);
        if String::from_utf8_lossy(&reply).contains(&wanted) {
            return true;
        }
    }
    false
}
