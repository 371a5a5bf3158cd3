//! The Lua script every limiter runs (`gcra.lua`), and the arguments of one call of it.

use std::sync::{Arc, LazyLock};

use redis::Script;

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

/// The arguments of one call of the script, after its one key: the operation, then numbers.
#[derive(Clone, Debug)]
pub(crate) struct ScriptCall {
    args: Vec<String>,
}

impl ScriptCall {
    pub(crate) fn new(op: &str) -> ScriptCall {
        ScriptCall {
            args: vec![op.to_string()],
        }
    }

    pub(crate) fn arg(&mut self, value: impl ToString) -> &mut ScriptCall {
        self.args.push(value.to_string());
        self
    }

    pub(crate) fn args(&self) -> &[String] {
        &self.args
    }
}
