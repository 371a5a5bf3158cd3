//! Where the scaling runs send their decisions: one Redis server, or a Redis Cluster.

use std::time::Duration;

use pacer_redis::{Quota, RedisKeyedLimiter};

/// One Redis server (its URL) or a cluster (the URLs of its masters).
#[derive(Clone, Debug)]
pub(crate) enum Target {
    Single(String),
    Cluster(Vec<String>),
}

impl Target {
    /// The name in the table.
    pub(crate) fn name(&self) -> String {
        match self {
            Target::Single(_) => "one Redis".to_string(),
            Target::Cluster(urls) => format!("{}-master cluster", urls.len()),
        }
    }

    /// The two arguments a child is given: the kind, then the URL(s), comma-separated.
    pub(crate) fn to_args(&self) -> [String; 2] {
        match self {
            Target::Single(url) => ["single".into(), url.clone()],
            Target::Cluster(urls) => ["cluster".into(), urls.join(",")],
        }
    }

    /// The target that [`to_args`](Target::to_args) described.
    pub(crate) fn from_args(kind: &str, urls: &str) -> Option<Target> {
        match kind {
            "single" => Some(Target::Single(urls.to_string())),
            "cluster" => Some(Target::Cluster(urls.split(',').map(String::from).collect())),
            _ => None,
        }
    }

    /// A keyed limiter on a connection of its own to the target.
    pub(crate) async fn limiter(&self, prefix: &str, quota: Quota) -> RedisKeyedLimiter {
        let limiter = match self {
            Target::Single(url) => RedisKeyedLimiter::connect(url, prefix, quota).await,
            Target::Cluster(urls) => {
                RedisKeyedLimiter::connect_cluster(urls.iter().map(String::as_str), prefix, quota)
                    .await
            }
        };
        limiter.unwrap_or_else(|error| panic!("connect to {}: {error}", self.name()))
    }

    /// CPU time (user + system) the target's servers have used so far, all together, by
    /// their `INFO cpu`.
    pub(crate) fn server_cpu(&self) -> Duration {
        let urls = match self {
            Target::Single(url) => std::slice::from_ref(url),
            Target::Cluster(urls) => urls.as_slice(),
        };
        urls.iter().map(|url| node_cpu(url)).sum()
    }
}

fn node_cpu(url: &str) -> Duration {
    let mut conn = redis::Client::open(url)
        .and_then(|client| client.get_connection())
        .unwrap_or_else(|error| panic!("connect to {url}: {error}"));
    let info: String = redis::cmd("INFO")
        .arg("cpu")
        .query(&mut conn)
        .unwrap_or_else(|error| panic!("INFO cpu on {url}: {error}"));
    let field = |name: &str| -> f64 {
        info.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|value| value.trim().parse().ok())
            .unwrap_or(0.0)
    };
    Duration::from_secs_f64(field("used_cpu_user") + field("used_cpu_sys"))
}
