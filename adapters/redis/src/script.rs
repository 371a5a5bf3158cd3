//! The Lua script every limiter runs (`gcra.lua`), and the arguments of one call of it.

use std::sync::{Arc, LazyLock};

use std::io::Write;

use redis::{RedisWrite, Script, ToRedisArgs};

/// The script's source: GCRA in exact integer arithmetic on Lua's doubles.
pub(crate) const SOURCE: &str = include_str!("gcra.lua");

static PACER: LazyLock<Arc<LuaScript>> = LazyLock::new(|| Arc::new(LuaScript::new(SOURCE)));

/// A Lua script: its source, for `EVAL`, and its hash, for `EVALSHA`.
#[derive(Debug)]
pub(crate) struct LuaScript {
    source: String,
    script: Script,
}

impl LuaScript {
    pub(crate) fn new(source: &str) -> LuaScript {
        LuaScript {
            source: source.to_string(),
            script: Script::new(source),
        }
    }

    /// pacer's script, `gcra.lua`, shared by every limiter.
    pub(crate) fn pacer() -> Arc<LuaScript> {
        PACER.clone()
    }

    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    pub(crate) fn script(&self) -> &Script {
        &self.script
    }
}

/// The arguments of one call of the script, after its one key: the operation, then
/// integers. They are written straight into the command (`ToRedisArgs`), so a call costs no
/// text of its own.
#[derive(Clone, Debug)]
pub(crate) struct ScriptCall {
    args: Vec<Arg>,
}

#[derive(Clone, Copy, Debug)]
enum Arg {
    Text(&'static str),
    Int(i128),
}

impl ScriptCall {
    pub(crate) fn new(op: &'static str) -> ScriptCall {
        // The longest call, a cancel, has 13 arguments.
        let mut args = Vec::with_capacity(13);
        args.push(Arg::Text(op));
        ScriptCall { args }
    }

    pub(crate) fn arg(&mut self, value: impl Into<i128>) -> &mut ScriptCall {
        self.args.push(Arg::Int(value.into()));
        self
    }
}

impl ToRedisArgs for ScriptCall {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        for arg in &self.args {
            match *arg {
                Arg::Text(text) => out.write_arg(text.as_bytes()),
                Arg::Int(n) => {
                    // Writing into a byte buffer cannot fail.
                    let _ = write!(out.writer_for_next_arg(), "{n}");
                }
            }
        }
    }

    fn num_of_args(&self) -> usize {
        self.args.len()
    }
}
