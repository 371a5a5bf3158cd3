//! A private Redis Cluster for one test: masters started on free loopback ports, joined by
//! `redis-cli --cluster create`, stopped on drop; and the steps of moving a slot between
//! masters while clients use it.
//!
//! Like [`RedisServer`], [`RedisCluster::start`] returns `None` (saying so on stderr) where
//! `redis-server` or `redis-cli` is missing, and panics instead under `PACER_REQUIRE_REDIS`.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::redis_server::{RedisServer, info_field, required, skipping};

/// The settings of every node: failures are noticed within a second (the default is 15 s).
const NODE_SETTINGS: &[&str] = &["--cluster-node-timeout", "1000"];

/// A running Redis Cluster of masters, with or without replicas, only this test's.
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts `masters` (at least 3, as `redis-cli --cluster create` requires) cluster-mode
    /// servers, joins them into one cluster with the 16,384 slots spread evenly, and waits
    /// until every node reports the cluster ok.
    ///
    /// Returns `None` without `redis-server` or `redis-cli` (the binary named by `REDIS_CLI`,
    /// else the one on the `PATH`), unless `PACER_REQUIRE_REDIS` is set. Panics if the
    /// cluster does not form within 30 s.
    pub fn start(masters: usize) -> Option<RedisCluster> {
        RedisCluster::start_with_replicas(masters, 0)
    }

    /// [`start`](RedisCluster::start) with `replicas` replicas for each master
    /// (`--cluster-replicas`): `masters × (1 + replicas)` nodes, and waits until every replica
    /// follows its master's stream as well, so that it can take over. With the nodes' timeout
    /// of 1 s, a master killed is replaced by its replica within a few seconds.
    pub fn start_with_replicas(masters: usize, replicas: usize) -> Option<RedisCluster> {
        let cli = cli_binary();
        if let Err(error) = Command::new(&cli).arg("--version").output() {
            if required() {
                panic!("PACER_REQUIRE_REDIS is set but `{cli}` could not start: {error}");
            }
            skipping(&format!(
                "`{cli}` could not start ({error}); install redis-tools to run it"
            ));
            return None;
        }
        let total = masters * (1 + replicas);
        let mut nodes = Vec::with_capacity(total);
        for _ in 0..total {
            nodes.push(RedisServer::start_cluster_node(NODE_SETTINGS)?);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port()))
            .collect();
        let created = Command::new(&cli)
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .unwrap_or_else(|error| panic!("run `{cli} --cluster create`: {error}"));
        assert!(
            created.status.success(),
            "`{cli} --cluster create` failed:\n{}{}",
            String::from_utf8_lossy(&created.stdout),
            String::from_utf8_lossy(&created.stderr)
        );
        let cluster = RedisCluster { nodes };
        cluster.wait_until_ok(Duration::from_secs(30));
        cluster.wait_until_replicas_sync(Duration::from_secs(30));
        Some(cluster)
    }

    /// Every node's URL, for `redis::cluster::ClusterClient` or
    /// `pacer_redis::Connection::connect_cluster`.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }

    /// The nodes, in the order they were started.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// Node `index`, to stop or restart it.
    pub fn node_mut(&mut self, index: usize) -> &mut RedisServer {
        &mut self.nodes[index]
    }

    /// The index of a replica of master `master`, by the replicas' own views.
    pub fn replica_of(&self, master: usize) -> usize {
        let id = self.id(master);
        (0..self.nodes.len())
            .find(|&index| {
                self.node_view(index).iter().any(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    fields.len() > 3 && fields[2].contains("myself") && fields[3] == id
                })
            })
            .unwrap_or_else(|| panic!("master {master} has no replica"))
    }

    /// Waits until node `node` serves `slot` by its own view and every running node says
    /// `cluster_state:ok`, `limit` at most (after a failover: until the replica took over).
    pub fn wait_until_serves(&self, slot: u16, node: usize, limit: Duration) {
        let start = Instant::now();
        loop {
            let serving = self
                .node_view(node)
                .iter()
                .any(|line| line.contains("myself") && serves(line, slot));
            let ok = self.running().all(|index| {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut self.nodes[index].connection())
                    .expect("CLUSTER INFO");
                info_field(&info, "cluster_state").as_deref() == Some("ok")
            });
            if serving && ok {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "node {node} did not serve slot {slot} within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The slot of `key` (`CLUSTER KEYSLOT`).
    pub fn slot_of(&self, key: &str) -> u16 {
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut self.nodes[self.running().next().expect("a node runs")].connection())
            .expect("CLUSTER KEYSLOT")
    }

    /// The index of the node that serves `slot` now, by that node's own view (the one node
    /// that would answer a command on it without a redirect).
    pub fn owner_of(&self, slot: u16) -> usize {
        let owners: Vec<usize> = self
            .running()
            .filter(|&index| {
                self.node_view(index)
                    .iter()
                    .any(|line| line.contains("myself") && serves(line, slot))
            })
            .collect();
        assert_eq!(owners.len(), 1, "slot {slot} served by nodes {owners:?}");
        owners[0]
    }

    /// The node that holds `key`'s slot now.
    pub fn owner_of_key(&self, key: &str) -> usize {
        self.owner_of(self.slot_of(key))
    }

    /// The first step of moving `slot` from node `from` to node `to`: `to` imports it and
    /// `from` migrates it. From here `from` answers commands on keys of the slot that it
    /// still holds and redirects the rest to `to` with `ASK`.
    pub fn begin_migration(&self, slot: u16, from: usize, to: usize) {
        self.setslot(to, slot, "IMPORTING", &self.id(from));
        self.setslot(from, slot, "MIGRATING", &self.id(to));
    }

    /// The second step: moves every key of `slot` that `from` holds to `to` (`MIGRATE`, which
    /// moves each key atomically, with its time to live). Returns how many moved.
    pub fn migrate_keys(&self, slot: u16, from: usize, to: usize) -> usize {
        let mut conn = self.nodes[from].connection();
        let mut moved = 0;
        loop {
            let keys: Vec<String> = redis::cmd("CLUSTER")
                .arg("GETKEYSINSLOT")
                .arg(slot)
                .arg(100)
                .query(&mut conn)
                .expect("CLUSTER GETKEYSINSLOT");
            if keys.is_empty() {
                return moved;
            }
            let () = redis::cmd("MIGRATE")
                .arg("127.0.0.1")
                .arg(self.nodes[to].port())
                .arg("")
                .arg(0)
                .arg(5000)
                .arg("KEYS")
                .arg(&keys)
                .query(&mut conn)
                .map(|_: redis::Value| ())
                .expect("MIGRATE");
            moved += keys.len();
        }
    }

    /// The last step: every node learns that `to` serves `slot`. From here the old owner
    /// answers commands on it with `MOVED`.
    pub fn finish_migration(&self, slot: u16, to: usize) {
        let id = self.id(to);
        // The new owner first, then the others (as redis-cli's resharding does).
        let mut order: Vec<usize> = (0..self.nodes.len()).filter(|&n| n != to).collect();
        order.insert(0, to);
        for index in order {
            self.setslot(index, slot, "NODE", &id);
        }
    }

    /// How many commands node `index` has answered with error `kind` (`MOVED`, `ASK`, ...),
    /// from its `INFO errorstats`.
    pub fn errors(&self, index: usize, kind: &str) -> u64 {
        let stats: String = redis::cmd("INFO")
            .arg("errorstats")
            .query(&mut self.nodes[index].connection())
            .expect("INFO errorstats");
        info_field(&stats, &format!("errorstat_{kind}"))
            .and_then(|value| value.strip_prefix("count=")?.parse().ok())
            .unwrap_or(0)
    }

    /// Node `index`'s cluster id.
    fn id(&self, index: usize) -> String {
        redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut self.nodes[index].connection())
            .expect("CLUSTER MYID")
    }

    fn setslot(&self, index: usize, slot: u16, state: &str, id: &str) {
        let () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg(state)
            .arg(id)
            .query(&mut self.nodes[index].connection())
            .unwrap_or_else(|error| panic!("CLUSTER SETSLOT {slot} {state} on {index}: {error}"));
    }

    /// Node `index`'s `CLUSTER NODES`, one line per node it knows.
    fn node_view(&self, index: usize) -> Vec<String> {
        let nodes: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut self.nodes[index].connection())
            .expect("CLUSTER NODES");
        nodes.lines().map(str::to_string).collect()
    }

    /// The indexes of the nodes not stopped by the test.
    fn running(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&index| !self.nodes[index].is_stopped())
    }

    /// Waits until every replica's link to its master is up.
    fn wait_until_replicas_sync(&self, limit: Duration) {
        let start = Instant::now();
        for node in &self.nodes {
            while node.role() == "slave" && node.info("master_link_status").as_deref() != Some("up")
            {
                assert!(
                    start.elapsed() < limit,
                    "a replica did not sync within {limit:?}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Waits until every node says `cluster_state:ok` and knows every other node.
    fn wait_until_ok(&self, limit: Duration) {
        let start = Instant::now();
        let want_known = self.nodes.len().to_string();
        loop {
            let ok = self.nodes.iter().all(|node| {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut node.connection())
                    .expect("CLUSTER INFO");
                info_field(&info, "cluster_state").as_deref() == Some("ok")
                    && info_field(&info, "cluster_known_nodes").as_deref()
                        == Some(want_known.as_str())
            });
            if ok {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "the cluster was not ok within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether a `CLUSTER NODES` line lists `slot` among the node's slots (a number or a range
/// `a-b`; entries in brackets are slots being moved, not served).
fn serves(line: &str, slot: u16) -> bool {
    line.split_whitespace().skip(8).any(|entry| {
        if entry.starts_with('[') {
            return false;
        }
        match entry.split_once('-') {
            Some((low, high)) => match (low.parse::<u16>(), high.parse::<u16>()) {
                (Ok(low), Ok(high)) => (low..=high).contains(&slot),
                _ => false,
            },
            None => entry.parse::<u16>() == Ok(slot),
        }
    })
}

/// The `redis-cli` binary: `REDIS_CLI`, else the one on the `PATH`.
fn cli_binary() -> String {
    std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".into())
}
