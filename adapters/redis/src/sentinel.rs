//! `SentinelMaster`: the master of a Sentinel-watched group, found again when it changes.
//!
//! Sentinel names the group's master; when the master fails, Sentinel promotes a replica and
//! names that one instead. A client learns of it in one of two ways: its connection to the
//! old master breaks (the master died), or the old master, back as a replica, answers every
//! write with `READONLY` (it was demoted while the client stayed connected). Either answer
//! means the command did not run on the group's master, so this asks Sentinel for the
//! master again, connects to it and sends the command once more there.
//!
//! A command whose connection broke after it was sent may have run on the old master: sent
//! again, it runs once more on the new one. For pacer's script that can only reserve cells
//! twice (the first reservation stays unused), never admit more than the limit.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::sentinel::Sentinel;
use redis::{AsyncConnectionConfig, Cmd, ErrorKind, Pipeline, RedisError, RedisResult, Value};

/// The master Sentinel names for one group, and a connection to it.
pub(crate) struct SentinelMaster {
    /// The Sentinel client (it keeps its own connections to the Sentinels). Locked while
    /// one task looks for the master, so that tasks failing at once look only once.
    sentinel: async_lock::Mutex<Sentinel>,
    /// The group's name, as in `sentinel monitor <name> ...`.
    name: String,
    /// The connection every call uses now, and how many times it was replaced.
    current: Mutex<Current>,
    /// Timeouts of a connection to a master.
    config: AsyncConnectionConfig,
}

#[derive(Clone)]
struct Current {
    generation: u64,
    conn: Option<MultiplexedConnection>,
}

impl SentinelMaster {
    /// Asks the Sentinels at `sentinels` for the master of group `name` and connects to it.
    pub(crate) async fn connect(
        sentinels: Vec<String>,
        name: &str,
        timeout: Duration,
    ) -> RedisResult<Arc<SentinelMaster>> {
        let master = Arc::new(SentinelMaster {
            sentinel: async_lock::Mutex::new(Sentinel::build(sentinels)?),
            name: name.to_string(),
            current: Mutex::new(Current {
                generation: 0,
                conn: None,
            }),
            config: AsyncConnectionConfig::new()
                .set_connection_timeout(Some(timeout))
                .set_response_timeout(Some(timeout)),
        });
        master.find_master(0).await?;
        Ok(master)
    }

    /// Sends `cmd` to the master; again to the master Sentinel names now if the first one
    /// could not run it.
    pub(crate) async fn command(&self, cmd: &Cmd) -> RedisResult<Value> {
        let (generation, mut conn) = self.connection().await?;
        let first = conn.req_packed_command(cmd).await;
        // A server's error comes back as a reply here; redis-rs makes it an `Err` later.
        let wrong_node = match &first {
            Err(error) => not_the_master(error),
            Ok(reply) => is_readonly(reply),
        };
        if !wrong_node {
            return first;
        }
        let (_, mut conn) = self.find_master(generation).await?;
        conn.req_packed_command(cmd).await
    }

    /// Sends `count` commands of `pipeline` from `offset` to the master, as
    /// [`command`](SentinelMaster::command) does; a reply of `READONLY` to any of them
    /// counts as the wrong node.
    pub(crate) async fn pipeline(
        &self,
        pipeline: &Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        let (generation, mut conn) = self.connection().await?;
        let first = conn.req_packed_commands(pipeline, offset, count).await;
        let wrong_node = match &first {
            Err(error) => not_the_master(error),
            Ok(replies) => replies.iter().any(is_readonly),
        };
        if !wrong_node {
            return first;
        }
        let (_, mut conn) = self.find_master(generation).await?;
        conn.req_packed_commands(pipeline, offset, count).await
    }

    /// The connection in use, or a new one if there is none.
    async fn connection(&self) -> RedisResult<(u64, MultiplexedConnection)> {
        let current = self.current.lock().expect("not poisoned").clone();
        match current.conn {
            Some(conn) => Ok((current.generation, conn)),
            None => self.find_master(current.generation).await,
        }
    }

    /// Replaces connection number `failed` by one to the master Sentinel names now, unless
    /// another task already replaced it (then that one is used).
    async fn find_master(&self, failed: u64) -> RedisResult<(u64, MultiplexedConnection)> {
        let mut sentinel = self.sentinel.lock().await;
        {
            let current = self.current.lock().expect("not poisoned");
            if current.generation != failed
                && let Some(conn) = &current.conn
            {
                return Ok((current.generation, conn.clone()));
            }
        }
        // Sentinel's answer is checked by redis-rs: the node named must say it is a master.
        let found = async {
            let client = sentinel.async_master_for(&self.name, None).await?;
            client
                .get_multiplexed_async_connection_with_config(&self.config)
                .await
        }
        .await;
        let mut current = self.current.lock().expect("not poisoned");
        current.generation += 1;
        current.conn = found.as_ref().ok().cloned();
        let conn = found?;
        Ok((current.generation, conn))
    }
}

/// Whether `error` says that the command did not run on the group's master: the connection
/// failed or broke, the node is a replica now (`READONLY`), or a replica cut off from its
/// master (`MASTERDOWN`).
fn not_the_master(error: &RedisError) -> bool {
    matches!(
        error.kind(),
        ErrorKind::Io
            | ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
            | ErrorKind::Server(redis::ServerErrorKind::MasterDown)
    ) || error.is_connection_dropped()
}

fn is_readonly(reply: &Value) -> bool {
    matches!(reply, Value::ServerError(error)
        if matches!(error.kind(), Some(redis::ServerErrorKind::ReadOnly | redis::ServerErrorKind::MasterDown)))
}
