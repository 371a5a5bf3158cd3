//! The durable mode: a script call answered only once replicas hold what it wrote.
//!
//! The script and `WAIT replicas timeout` go in one pipeline on one connection, so the
//! `WAIT` covers the script's writes (Redis counts a connection's own writes). The script's
//! answer is given to the caller only if `WAIT` reports at least `replicas` acknowledgements;
//! otherwise the call fails as unavailable and its reservation, made on the master but not
//! known to be replicated, stays there unused (it can only make the limit stricter).

use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{RedisError, RedisResult, ServerErrorKind, Value};

use crate::script::{Keys, LuaScript, ScriptCall};

/// How many replicas must acknowledge a call, and how long `WAIT` waits for them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReplicaWait {
    replicas: u32,
    /// Whole milliseconds, at least 1.
    timeout_ms: u64,
}

impl ReplicaWait {
    pub(crate) fn new(replicas: u32, timeout: Duration) -> ReplicaWait {
        let millis = timeout.as_nanos().div_ceil(1_000_000);
        ReplicaWait {
            replicas,
            timeout_ms: u64::try_from(millis).unwrap_or(u64::MAX).max(1),
        }
    }
}

/// Runs `call` of `script` on `keys` followed by `WAIT`, on `conn` (routed by the key's slot
/// on a cluster: `WAIT` names no key, so the pipeline goes where the script goes).
pub(crate) async fn run_durable(
    conn: &mut impl ConnectionLike,
    wait: ReplicaWait,
    script: &LuaScript,
    keys: Keys<'_>,
    call: &ScriptCall,
) -> RedisResult<Value> {
    let (reply, acknowledged) = send(
        conn,
        wait,
        "EVALSHA",
        script.script().get_hash(),
        keys,
        call,
    )
    .await?;
    let (reply, acknowledged) = match reply {
        Value::ServerError(error) if error.kind() == Some(ServerErrorKind::NoScript) => {
            // A node that lacks the script (a replica just promoted: scripts are not
            // replicated) runs it from its source.
            send(conn, wait, "EVAL", script.source(), keys, call).await?
        }
        other => (other, acknowledged),
    };
    let reply = reply.extract_error()?;
    if acknowledged < i64::from(wait.replicas) {
        let message = format!(
            "the call reached {acknowledged} of {} replicas within {} ms",
            wait.replicas, wait.timeout_ms
        );
        return Err(RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            message,
        )));
    }
    Ok(reply)
}

/// Sends `command` (`EVALSHA` with the hash, or `EVAL` with the source) and `WAIT` in one
/// pipeline; returns the script's reply and the number of replicas that acknowledged.
async fn send(
    conn: &mut impl ConnectionLike,
    wait: ReplicaWait,
    command: &str,
    script: &str,
    keys: Keys<'_>,
    call: &ScriptCall,
) -> RedisResult<(Value, i64)> {
    let mut pipeline = redis::pipe();
    pipeline
        .cmd(command)
        .arg(script)
        .arg(keys.count())
        .arg(keys)
        .arg(call);
    pipeline.cmd("WAIT").arg(wait.replicas).arg(wait.timeout_ms);
    let mut replies = conn.req_packed_commands(&pipeline, 0, 2).await?.into_iter();
    let (Some(reply), Some(acknowledged)) = (replies.next(), replies.next()) else {
        return Err(unexpected("fewer than two replies to the script and WAIT"));
    };
    match acknowledged.extract_error()? {
        Value::Int(count) => Ok((reply, count)),
        other => Err(unexpected(&format!("{other:?} in answer to WAIT"))),
    }
}

fn unexpected(what: &str) -> RedisError {
    RedisError::from((
        redis::ErrorKind::UnexpectedReturnType,
        "unexpected reply",
        what.to_string(),
    ))
}
