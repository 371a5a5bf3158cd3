//! A private Redis Sentinel for one test: one Sentinel process watching a master of the test's
//! own, on a free loopback port, stopped on drop.
//!
//! It runs `redis-server <config> --sentinel` (the same binary, in Sentinel mode), with a
//! quorum of one and short timeouts, so that a master killed in a test is replaced within a
//! few seconds: it is judged down after 500 ms without an answer (the default is 30 s), and
//! Sentinel then waits up to a second (a random delay of its own) before it promotes a
//! replica.

use std::collections::HashMap;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::redis_server::{RedisServer, free_port, server_binary, spawn};
use crate::scratch_dir::ScratchDir;

/// The name of the group the Sentinel watches (`sentinel monitor <name> ...`).
pub const MASTER_NAME: &str = "pacer";

/// A running Sentinel, only this test's, watching one master and its replicas.
#[derive(Debug)]
pub struct RedisSentinel {
    child: Child,
    port: u16,
    /// Its configuration file (Sentinel rewrites it as it learns); removed on drop.
    _dir: ScratchDir,
}

impl RedisSentinel {
    /// Starts a Sentinel watching `master` as group [`MASTER_NAME`] and waits, 20 s at most,
    /// until it knows the master's `replicas` replicas and sees every one of them up (a
    /// replica it does not know cannot be promoted).
    ///
    /// Panics if it cannot start: the master's own start already found the binary.
    pub fn start(master: &RedisServer, replicas: usize) -> RedisSentinel {
        let binary = server_binary();
        for _attempt in 0..5 {
            let port = free_port();
            let dir = ScratchDir::new();
            let config = dir.path().join("sentinel.conf");
            let text = format!(
                "port {port}\n\
                 bind 127.0.0.1\n\
                 dir {dir}\n\
                 sentinel monitor {MASTER_NAME} 127.0.0.1 {master} 1\n\
                 sentinel down-after-milliseconds {MASTER_NAME} 500\n\
                 sentinel failover-timeout {MASTER_NAME} 2000\n\
                 sentinel parallel-syncs {MASTER_NAME} 1\n",
                dir = dir.path().display(),
                master = master.port(),
            );
            std::fs::write(&config, text)
                .unwrap_or_else(|error| panic!("write {}: {error}", config.display()));
            let args = [config.display().to_string(), "--sentinel".to_string()];
            let child = spawn(&binary, &args)
                .unwrap_or_else(|error| panic!("`{binary} --sentinel` could not start: {error}"));
            let mut sentinel = RedisSentinel {
                child,
                port,
                _dir: dir,
            };
            if sentinel.wait_until_watching(replicas, Duration::from_secs(20)) {
                return sentinel;
            }
        }
        panic!("`{binary} --sentinel` exited at once five times");
    }

    /// The Sentinel's URL, for `pacer_redis::Connection::connect_sentinel`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The port of the master Sentinel names now, and whether its failover (if any) is over
    /// (its `SENTINEL MASTER` flags are `master` alone). While a failover runs, `SENTINEL
    /// GET-MASTER-ADDR-BY-NAME` already names the replica being promoted, but the master
    /// entry that clients look up (`SENTINEL MASTERS`) still names the old one.
    pub fn master(&self) -> (u16, bool) {
        let master: HashMap<String, String> = redis::cmd("SENTINEL")
            .arg("MASTER")
            .arg(MASTER_NAME)
            .query(&mut self.connection())
            .expect("SENTINEL MASTER");
        let port = master
            .get("port")
            .and_then(|port| port.parse().ok())
            .expect("SENTINEL MASTER has a port");
        (
            port,
            master.get("flags").map(String::as_str) == Some("master"),
        )
    }

    /// Waits until Sentinel names the server on `port` as the master and its failover is
    /// over, `limit` at most; panics after.
    pub fn wait_for_master(&self, port: u16, limit: Duration) {
        let start = Instant::now();
        while self.master() != (port, true) {
            assert!(
                start.elapsed() < limit,
                "Sentinel did not name port {port} the master within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts a failover now, with the master still up (`SENTINEL FAILOVER`): Sentinel
    /// promotes a replica and names it, and leaves the old master as it is for a while (it
    /// demotes it to a replica some seconds later).
    pub fn failover(&self) {
        let () = redis::cmd("SENTINEL")
            .arg("FAILOVER")
            .arg(MASTER_NAME)
            .query(&mut self.connection())
            .map(|_: redis::Value| ())
            .expect("SENTINEL FAILOVER");
    }

    fn connection(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).expect("a valid URL");
        client
            .get_connection_with_timeout(Duration::from_secs(5))
            .unwrap_or_else(|error| panic!("connect to Sentinel {}: {error}", self.url()))
    }

    /// Whether it comes to watch the master with `replicas` replicas up within `limit`;
    /// false if it exited first. Panics if it is still running but not there after `limit`.
    fn wait_until_watching(&mut self, replicas: usize, limit: Duration) -> bool {
        let start = Instant::now();
        loop {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return false;
            }
            if self.watches(replicas) {
                return true;
            }
            assert!(
                start.elapsed() < limit,
                "Sentinel on port {} did not see the master and {replicas} replicas within \
                 {limit:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether this Sentinel (not another process that took the port) sees the master up
    /// and `replicas` replicas up.
    fn watches(&self, replicas: usize) -> bool {
        let client = redis::Client::open(self.url()).expect("a valid URL");
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
            return false;
        };
        let Ok(info) = redis::cmd("INFO").arg("server").query::<String>(&mut conn) else {
            return false;
        };
        let ours = info.contains(&format!("process_id:{}\r\n", self.child.id()))
            && info.contains("redis_mode:sentinel");
        if !ours {
            return false;
        }
        let master: Result<HashMap<String, String>, _> = redis::cmd("SENTINEL")
            .arg("MASTER")
            .arg(MASTER_NAME)
            .query(&mut conn);
        let known: Result<Vec<HashMap<String, String>>, _> = redis::cmd("SENTINEL")
            .arg("REPLICAS")
            .arg(MASTER_NAME)
            .query(&mut conn);
        let (Ok(master), Ok(known)) = (master, known) else {
            return false;
        };
        let up = |node: &HashMap<String, String>, role: &str| {
            node.get("flags").map(String::as_str) == Some(role)
                && node
                    .get("master-link-status")
                    .is_none_or(|link| link == "ok")
        };
        up(&master, "master")
            && known.len() == replicas
            && known.iter().all(|replica| up(replica, "slave"))
    }
}

impl Drop for RedisSentinel {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
