//! A private `redis-server` for one test: started on a free loopback port, stopped on drop.
//!
//! Tests that need Redis call [`RedisServer::start`] (or [`RedisServer::start_with`] for more
//! settings). Where no `redis-server` binary is found, it returns `None` and the test returns
//! early, saying so on stderr, so `cargo test` passes on a machine with only the Rust
//! toolchain. CI sets `PACER_REQUIRE_REDIS=1`, which turns a missing server into a failure:
//! there the Redis tests always run.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::scratch_dir::ScratchDir;

/// A running `redis-server` child process that only this test uses, with a directory of its
/// own for whatever files it writes.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
    /// Every argument it was started with, to start it again the same way.
    args: Vec<String>,
    /// Whether [`kill`](RedisServer::kill) stopped it (and no restart followed).
    stopped: bool,
    /// Its files; kept for as long as the server (removed on drop).
    _dir: ScratchDir,
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
        RedisServer::start_with(&[])
    }

    /// [`start`](RedisServer::start) with more settings, given as `redis-server` takes them
    /// on its command line (`["--appendonly", "yes"]`); they come after the defaults, so they
    /// override them.
    pub fn start_with(settings: &[&str]) -> Option<RedisServer> {
        RedisServer::start_node(settings, false)
    }

    /// A server for a Redis Cluster: cluster mode on, with its bus on a second free port.
    pub(crate) fn start_cluster_node(settings: &[&str]) -> Option<RedisServer> {
        RedisServer::start_node(settings, true)
    }

    fn start_node(settings: &[&str], cluster: bool) -> Option<RedisServer> {
        let binary = server_binary();
        for _attempt in 0..5 {
            let port = free_port();
            let dir = ScratchDir::new();
            let mut args: Vec<String> = [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                &dir.path().display().to_string(),
                // A replica's first copy starts at once (the default waits 5 s for more
                // replicas to share it).
                "--repl-diskless-sync-delay",
                "0",
            ]
            .iter()
            .map(|arg| arg.to_string())
            .collect();
            if cluster {
                let bus = free_port().to_string();
                args.extend(["--cluster-enabled", "yes", "--cluster-port", &bus].map(String::from));
            }
            args.extend(settings.iter().map(|arg| arg.to_string()));
            let child = match spawn(&binary, &args) {
                Ok(child) => child,
                Err(error) if required() => {
                    panic!("PACER_REQUIRE_REDIS is set but `{binary}` could not start: {error}")
                }
                Err(error) => {
                    skipping(&format!(
                        "`{binary}` could not start ({error}); install redis-server to run it"
                    ));
                    return None;
                }
            };
            let mut server = RedisServer {
                child,
                port,
                args,
                stopped: false,
                _dir: dir,
            };
            if server.wait_until_ready(Duration::from_secs(10)) {
                return Some(server);
            }
        }
        panic!("`{binary}` exited at once five times: see its log by running it by hand");
    }

    /// A server replicating `master` (`--replicaof`), with `settings` as for
    /// [`start_with`](RedisServer::start_with); waits until its copy of the master's data is
    /// complete and it follows the master's stream (`master_link_status:up`), 10 s at most.
    pub fn start_replica_of(master: &RedisServer, settings: &[&str]) -> Option<RedisServer> {
        let master_port = master.port().to_string();
        let mut all = vec!["--replicaof", "127.0.0.1", &master_port];
        all.extend_from_slice(settings);
        let replica = RedisServer::start_with(&all)?;
        replica.wait_until_replicating(Duration::from_secs(10));
        master.wait_for_replica_ack();
        Some(replica)
    }

    /// Writes a key of its own and waits until a replica acknowledged it (`WAIT 1`, 10 s at
    /// most; panics after), then deletes it: from here this master's writes reach its
    /// replicas and they acknowledge them.
    fn wait_for_replica_ack(&self) {
        let key = "pacer-tests:replica-ready";
        let mut conn = self.connection();
        let () = redis::cmd("SET")
            .arg(key)
            .arg(1)
            .query(&mut conn)
            .expect("SET");
        let acknowledged: u64 = redis::cmd("WAIT")
            .arg(1)
            .arg(10_000)
            .query(&mut conn)
            .expect("WAIT");
        assert!(
            acknowledged >= 1,
            "no replica of port {} acknowledged a write within 10 s",
            self.port
        );
        let _: u64 = redis::cmd("DEL").arg(key).query(&mut conn).expect("DEL");
    }

    /// Makes this server a replica of `master` (`REPLICAOF`), as Sentinel does to a master it
    /// demoted, and waits until it follows the master's stream, 10 s at most. Clients stay
    /// connected, and their writes are refused with `READONLY` from here.
    pub fn replicate(&self, master: &RedisServer) {
        let () = redis::cmd("REPLICAOF")
            .arg("127.0.0.1")
            .arg(master.port())
            .query(&mut self.connection())
            .map(|_: redis::Value| ())
            .expect("REPLICAOF");
        self.wait_until_replicating(Duration::from_secs(10));
    }

    /// Closes this master's links to its replicas (`CLIENT KILL TYPE replica`): what they
    /// had not received stays only here until they reconnect, which a paused replica cannot.
    /// With a replica [`pause`](RedisServer::pause)d first, this makes a replica that lags
    /// by exactly the writes the master takes from here until it is killed.
    pub fn cut_replicas(&self) {
        let _: redis::Value = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("replica")
            .query(&mut self.connection())
            .expect("CLIENT KILL TYPE replica");
    }

    /// The server's role by its own `INFO replication`: `master` or `slave`.
    pub fn role(&self) -> String {
        self.info("role").expect("INFO has role")
    }

    /// Waits until this replica's link to its master is up.
    fn wait_until_replicating(&self, limit: Duration) {
        let start = Instant::now();
        while self.info("master_link_status").as_deref() != Some("up") {
            assert!(
                start.elapsed() < limit,
                "the replica on port {} did not sync within {limit:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the server (SIGKILL, if it still runs) and starts it again on the same port,
    /// with the same settings and directory: empty without persistence, or with what its
    /// append-only file kept. Waits until it answers and has loaded that file; panics if it
    /// does not within 10 s.
    pub fn restart(&mut self) {
        self.kill();
        let binary = server_binary();
        self.child = spawn(&binary, &self.args)
            .unwrap_or_else(|error| panic!("`{binary}` could not start again: {error}"));
        self.stopped = false;
        assert!(
            self.wait_until_ready(Duration::from_secs(10)),
            "`{binary}` exited at once when started again on port {}",
            self.port
        );
    }

    /// A new connection to the server, for commands a test sends itself.
    pub fn connection(&self) -> redis::Connection {
        let client = redis::Client::open(self.url()).expect("a valid URL");
        client
            .get_connection_with_timeout(Duration::from_secs(5))
            .unwrap_or_else(|error| panic!("connect to {}: {error}", self.url()))
    }

    /// The value of `field` in the server's `INFO` (all sections), if it has one.
    pub fn info(&self, field: &str) -> Option<String> {
        let info: String = redis::cmd("INFO")
            .arg("everything")
            .query(&mut self.connection())
            .expect("INFO");
        info_field(&info, field)
    }

    /// Bytes the server has allocated (`used_memory` in `INFO memory`).
    pub fn used_memory(&self) -> u64 {
        let value = self.info("used_memory").expect("INFO has used_memory");
        value.parse().expect("used_memory is a number")
    }

    /// Keys in the server's database 0 (`DBSIZE`).
    pub fn keys(&self) -> u64 {
        redis::cmd("DBSIZE")
            .query(&mut self.connection())
            .expect("DBSIZE")
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
        self.stopped = true;
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// Whether [`kill`](RedisServer::kill) stopped it (and it was not restarted since).
    pub fn is_stopped(&self) -> bool {
        self.stopped
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

/// The `redis-server` binary: `REDIS_SERVER`, else the one on the `PATH`.
pub(crate) fn server_binary() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into())
}

pub(crate) fn spawn(binary: &str, args: &[String]) -> std::io::Result<Child> {
    Command::new(binary)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

/// Whether a missing Redis must fail the run (`PACER_REQUIRE_REDIS` set, as in CI).
pub(crate) fn required() -> bool {
    std::env::var_os("PACER_REQUIRE_REDIS").is_some()
}

/// Says on stderr, past the test harness's capture, that a Redis test does not run.
pub(crate) fn skipping(why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "skipping a Redis test: {why} (CI sets PACER_REQUIRE_REDIS=1)"
    );
}

/// The value of `field` in an `INFO` reply.
pub(crate) fn info_field(info: &str, field: &str) -> Option<String> {
    let wanted = format!("{field}:");
    info.lines()
        .find_map(|line| line.strip_prefix(&wanted))
        .map(|value| value.trim().to_string())
}

/// A port that was free a moment ago (the OS picks it).
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
    listener.local_addr().expect("a bound address").port()
}

/// Whether the server on `port` answers, is process `pid` (not another test's server that
/// took the port first: its `INFO` names its process id), and has loaded its data.
fn answers_as(port: u16, pid: u32) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"INFO\r\n").is_err() {
        return false;
    }
    let wanted = [format!("process_id:{pid}\r\n"), "loading:0\r\n".to_string()];
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(read @ 1..) = stream.read(&mut chunk) {
        reply.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&reply);
        if wanted.iter().all(|line| text.contains(line.as_str())) {
            return true;
        }
    }
    false
}
