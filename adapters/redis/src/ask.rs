//! Following a cluster's `ASK` redirect with `ASKING` and the command back to back.
//!
//! While a slot moves between masters, the old master answers `ASK` for a key it no longer
//! holds, and the new one serves that key only for a command that directly follows an
//! `ASKING` on the same connection. redis-rs follows `ASK` by itself, but sends the two as
//! separate requests on a connection that other tasks share, so another redirected request
//! can come between them and take the `ASKING`; the command then meets `MOVED` and goes back
//! to the old master, and a request that loses this race on every retry fails with the
//! `ASK` error (seen with four tasks on two connections during a migration). Only then does
//! this step in: it sends `ASKING` and the script as one pipeline to the node the redirect
//! names, so nothing can come between them. The command did not run where it was
//! redirected from, so running it here runs it once.

use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::SingleNodeRoutingInfo;
use redis::{RedisError, RedisResult, Value};

use crate::script::{Keys, LuaScript, ScriptCall};

/// Runs `call` of `script` on `keys` at the node that `redirect` (an `ASK` error) names,
/// right after `ASKING`; `redirect` itself if it names no node.
pub(crate) async fn run_after_ask(
    conn: &mut ClusterConnection,
    redirect: RedisError,
    script: &LuaScript,
    keys: Keys<'_>,
    call: &ScriptCall,
) -> RedisResult<Value> {
    let Some((host, port)) = redirect
        .redirect_node()
        .and_then(|(node, _slot)| node.rsplit_once(':'))
        .and_then(|(host, port)| Some((host.to_string(), port.parse::<u16>().ok()?)))
    else {
        return Err(redirect);
    };
    let mut pipeline = redis::pipe();
    pipeline.cmd("ASKING");
    // EVAL with the source, not EVALSHA: the node may not have loaded the script yet.
    pipeline
        .cmd("EVAL")
        .arg(script.source())
        .arg(keys.count())
        .arg(keys)
        .arg(call);
    let route = SingleNodeRoutingInfo::ByAddress { host, port };
    let replies = conn.route_pipeline(pipeline, 0, 2, route).await?;
    match replies.into_iter().nth(1) {
        Some(reply) => reply.extract_error(),
        None => Err(redirect),
    }
}
