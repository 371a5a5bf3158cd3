//! `Connection`: one Redis server, a Sentinel-watched group or a Redis Cluster, behind one
//! type; and the durable mode that waits for replicas before answering.
//!
//! Every script pacer-redis runs names exactly one key, so on a cluster redis-rs routes it by
//! that key's slot to the master that holds it, and follows `MOVED` and `ASK` redirects
//! (a slot that moved, or is moving) by itself. Through Sentinel the master is found again
//! whenever the connection breaks or answers `READONLY` ([`crate::sentinel`]).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{
    Cmd, ErrorKind, Pipeline, RedisFuture, RedisResult, RetryMethod, ServerErrorKind, Value,
};

use crate::Error;
use crate::ask::run_after_ask;
use crate::durable::{ReplicaWait, run_durable};
use crate::script::{Keys, LuaScript, ScriptCall};
use crate::sentinel::SentinelMaster;

/// How long connecting to a server, and a reply, may take before the connection gives up.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection to Redis that pacer-redis's limiters run their scripts on: to one server
/// (a [`ConnectionManager`]) or to a Redis Cluster (a [`ClusterConnection`]).
///
/// Made by [`Connection::connect`] or [`Connection::connect_cluster`] with settings that
/// suit a rate limiter, or from a connection you built (`.into()`). Cloning it is cheap and
/// shares the underlying connection, so many limiters can use one.
///
/// ```no_run
/// use pacer_redis::{Connection, RedisKeyedLimiter, RedisLimiter, Quota};
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), pacer_redis::Error> {
/// let conn = Connection::connect_cluster(["redis://10.0.0.1:7000/", "redis://10.0.0.2:7000/"])
///     .await?;
/// let per_user = RedisKeyedLimiter::new(conn.clone(), "limit:user:", Quota::per_second(10)?,
///     pacer_redis::TokioTimer::new())?;
/// let global = RedisLimiter::new(conn, "limit:global", Quota::per_second(1_000)?,
///     pacer_redis::TokioTimer::new())?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Connection {
    inner: Inner,
    /// The durable mode's `WAIT`, if set ([`Connection::wait_for_replicas`]).
    replica_wait: Option<ReplicaWait>,
}

#[derive(Clone)]
enum Inner {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    Sentinel(Arc<SentinelMaster>),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.inner {
            Inner::Single(_) => "one server",
            Inner::Cluster(_) => "cluster",
            Inner::Sentinel(_) => "sentinel",
        };
        f.debug_struct("Connection")
            .field("kind", &kind)
            .field("replica_wait", &self.replica_wait)
            .finish()
    }
}

impl Connection {
    /// Connects to the Redis server at `url`.
    ///
    /// The connection reconnects by itself. Its settings suit a rate limiter, which should
    /// answer quickly either way: a connection attempt times out after 1 s, a reply after
    /// 1 s, and a lost connection is retried twice before a call gives up. For other
    /// settings build a [`ConnectionManager`] and convert it (`.into()`).
    ///
    /// Fails with [`Error::Unavailable`] if Redis cannot be reached now.
    pub async fn connect(url: &str) -> Result<Connection, Error> {
        let client = redis::Client::open(url).map_err(Error::Unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(CONNECTION_TIMEOUT))
            .set_number_of_retries(2);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(Error::Unavailable)?;
        Ok(conn.into())
    }

    /// Connects to the Redis Cluster that `nodes` (URLs of some of its masters) belong to.
    ///
    /// The connection learns the cluster's slots from them, keeps a connection to every
    /// master, routes each script to the master of its key's slot and follows `MOVED` and
    /// `ASK` redirects. A connection attempt and a reply each time out after 1 s; a call
    /// is retried a few times while the cluster heals (a limiter's own timeout, 1 s unless
    /// set otherwise, bounds it all). For other settings build a [`ClusterConnection`] with
    /// [`redis::cluster::ClusterClient`] and convert it (`.into()`).
    ///
    /// Fails with [`Error::Unavailable`] if no node can be reached now.
    pub async fn connect_cluster<'a>(
        nodes: impl IntoIterator<Item = &'a str>,
    ) -> Result<Connection, Error> {
        let client = ClusterClientBuilder::new(nodes)
            .connection_timeout(CONNECTION_TIMEOUT)
            .response_timeout(CONNECTION_TIMEOUT)
            .retries(4)
            .min_retry_wait(10)
            .max_retry_wait(200)
            .build()
            .map_err(Error::Unavailable)?;
        let conn = client
            .get_async_connection()
            .await
            .map_err(Error::Unavailable)?;
        Ok(conn.into())
    }

    /// Connects to the master of the group `master_name` that the Sentinels at `sentinels`
    /// (URLs of some of them) watch.
    ///
    /// Sentinel names the master; when the connection to it breaks, or the node answers
    /// `READONLY` (a master demoted to a replica while this client stayed connected), the
    /// call asks Sentinel for the master again and is sent once more to the one named now.
    /// While a failover is under way Sentinel still names the old master, so calls fail with
    /// [`Error::Unavailable`] until it has promoted a replica; then they go on, without a
    /// restart. A connection attempt and a reply each time out after 1 s.
    ///
    /// The Sentinels' URLs may carry their own credentials; the master is reached with
    /// redis-rs's defaults for the address Sentinel gives (database 0, no password, no TLS).
    ///
    /// What a failover can cost a limit, and how [`wait_for_replicas`](Connection::wait_for_replicas)
    /// bounds it, is in the crate's docs ([Failover](crate#failover)).
    ///
    /// Fails with [`Error::Unavailable`] if no Sentinel answers, none knows `master_name`,
    /// the master it names cannot be reached now, or `sentinels` is empty.
    ///
    /// ```no_run
    /// use pacer_redis::{Connection, RedisKeyedLimiter, Quota, TokioTimer};
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), pacer_redis::Error> {
    /// let conn = Connection::connect_sentinel(
    ///     ["redis://10.0.0.1:26379/", "redis://10.0.0.2:26379/"],
    ///     "limits",
    /// )
    /// .await?;
    /// let per_user = RedisKeyedLimiter::new(conn, "limit:user:", Quota::per_second(10)?,
    ///     TokioTimer::new())?;
    /// per_user.acquire("alice").await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_sentinel<'a>(
        sentinels: impl IntoIterator<Item = &'a str>,
        master_name: &str,
    ) -> Result<Connection, Error> {
        let sentinels: Vec<String> = sentinels.into_iter().map(str::to_string).collect();
        let master = SentinelMaster::connect(sentinels, master_name, CONNECTION_TIMEOUT)
            .await
            .map_err(Error::Unavailable)?;
        Ok(Connection {
            inner: Inner::Sentinel(master),
            replica_wait: None,
        })
    }

    /// The durable mode: every script call is followed, in the same round trip, by `WAIT
    /// replicas timeout`, and its answer is given only once `replicas` replicas of the
    /// master have acknowledged it. Otherwise the call fails with [`Error::Unavailable`]
    /// and admits nothing (fail closed: with fewer than `replicas` replicas connected, no
    /// call succeeds).
    ///
    /// A replica that acknowledged holds every reservation this client was given, so if it
    /// is the one promoted, a failover hands out none of them again. Sentinel promotes the
    /// replica with the most replicated data, by what it last heard from each (up to a
    /// second old), so wait for every replica that can be promoted (or run one) for that to
    /// hold whatever the timing. A Redis Cluster's replicas rank themselves by replication
    /// offset likewise. On a cluster, a call redirected with `ASK` (its slot in migration)
    /// fails with [`Error::Unavailable`] instead of being followed.
    ///
    /// Its price: one acknowledgement from a replica per call, and, because a `WAIT` holds
    /// the connection until it returns, calls on one connection wait for each other's
    /// acknowledgements (figures in `docs/redis-failover.md` of pacer's repository).
    ///
    /// `timeout` is rounded up to whole milliseconds (`WAIT` takes milliseconds; at least 1,
    /// since `WAIT ... 0` would wait forever). `replicas` of 0 waits for nothing.
    pub fn wait_for_replicas(mut self, replicas: u32, timeout: Duration) -> Connection {
        self.replica_wait = Some(ReplicaWait::new(replicas, timeout));
        self
    }

    /// Whether this is a connection to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.inner, Inner::Cluster(_))
    }

    /// Runs `call` of `script` on `keys` (a limit's key, and a keyed limiter's table pause
    /// entry after it): `EVALSHA`, loading the script where the server lacks it, routed by
    /// the first key's slot on a cluster.
    ///
    /// On a cluster, a call that still meets a redirect once redis-rs's own retries are
    /// spent runs again: after `MOVED` (redis-rs has refreshed its slot map since) as
    /// before, and after `ASK` right behind `ASKING` at the node named ([`crate::ask`]).
    /// A redirect means the call did not run, so it still runs at most once.
    pub(crate) async fn run_script(
        &self,
        script: &LuaScript,
        keys: Keys<'_>,
        call: &ScriptCall,
    ) -> RedisResult<Value> {
        let mut conn = self.clone();
        // EVALSHA built here in one buffer (redis-rs's ScriptInvocation would copy every
        // argument twice); a server without the script gets it loaded, and the call again.
        // The rare paths (loading, durable, ASK) are boxed, so that the common call's future
        // stays small (432 bytes where it was 2 KB).
        let mut command = redis::cmd("EVALSHA");
        command
            .arg(script.script().get_hash())
            .arg(keys.count())
            .arg(keys)
            .arg(call);
        let mut attempts = 0;
        loop {
            let result = match self.replica_wait {
                None => match command.query_async::<Value>(&mut conn).await {
                    Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                        Box::pin(load_and_run(&mut conn, script, &command)).await
                    }
                    other => other,
                },
                Some(wait) => Box::pin(run_durable(&mut conn, wait, script, keys, call)).await,
            };
            let Inner::Cluster(cluster) = &mut conn.inner else {
                return result;
            };
            match result {
                // `ASKING` and the script are sent without a `WAIT`: a durable call that
                // meets a slot in migration fails instead (`Unavailable`, nothing admitted).
                Err(error)
                    if matches!(error.retry_method(), RetryMethod::AskRedirect)
                        && self.replica_wait.is_none() =>
                {
                    return Box::pin(run_after_ask(cluster, error, script, keys, call)).await;
                }
                Err(error)
                    if matches!(error.retry_method(), RetryMethod::MovedRedirect)
                        && attempts < 2 =>
                {
                    attempts += 1;
                }
                other => return other,
            }
        }
    }
}

/// Loads `script` on the server that lacked it, and runs `command` (its `EVALSHA`) again.
async fn load_and_run(
    conn: &mut Connection,
    script: &LuaScript,
    command: &redis::Cmd,
) -> RedisResult<Value> {
    script.script().load_async(conn).await?;
    command.query_async::<Value>(conn).await
}

impl From<ConnectionManager> for Connection {
    fn from(conn: ConnectionManager) -> Connection {
        Connection {
            inner: Inner::Single(conn),
            replica_wait: None,
        }
    }
}

impl From<ClusterConnection> for Connection {
    fn from(conn: ClusterConnection) -> Connection {
        Connection {
            inner: Inner::Cluster(conn),
            replica_wait: None,
        }
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match &mut self.inner {
            Inner::Single(conn) => conn.req_packed_command(cmd),
            Inner::Cluster(conn) => conn.req_packed_command(cmd),
            Inner::Sentinel(master) => Box::pin(async move { master.command(cmd).await }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match &mut self.inner {
            Inner::Single(conn) => conn.req_packed_commands(pipeline, offset, count),
            Inner::Cluster(conn) => conn.req_packed_commands(pipeline, offset, count),
            Inner::Sentinel(master) => {
                Box::pin(async move { master.pipeline(pipeline, offset, count).await })
            }
        }
    }

    fn get_db(&self) -> i64 {
        match &self.inner {
            Inner::Single(conn) => conn.get_db(),
            Inner::Cluster(conn) => conn.get_db(),
            Inner::Sentinel(_) => 0,
        }
    }
}
