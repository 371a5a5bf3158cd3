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

/// The length of a call's first argument: the quota (count as a 4-byte integer, period in
/// ns as a double, burst as a 4-byte integer), the operation's letter, and its two numbers as
/// doubles, little-endian, as the script's `struct.unpack('<I4dI4c1dd', ...)` reads them.
const HEAD: usize = 33;

/// The largest magnitude a double holds exactly as an integer: the script's numbers stay
/// within it, and a number sent beyond it is sent as this, which the script treats as the
/// far-off value it is (a wait or a pause that long is beyond every bound it checks).
const EXACT: f64 = 9_007_199_254_740_992.0;

/// The arguments of one call of the script, after its keys: one binary argument with the
/// quota, the operation and its first two numbers (what a reservation needs, so that the
/// server converts one value, not eight), then any further integers as text (a cancel's
/// token). Built without formatting a number, written straight into the command.
#[derive(Clone, Debug)]
pub(crate) struct ScriptCall {
    head: [u8; HEAD],
    rest: Vec<i64>,
}

impl ScriptCall {
    /// A call of `op` with the quota (`count`, `period_ns`, `burst`) and the operation's
    /// numbers `x` and `y`.
    pub(crate) fn new(
        count: u32,
        period_ns: u64,
        burst: u32,
        op: u8,
        x: i128,
        y: i128,
    ) -> ScriptCall {
        let mut head = [0u8; HEAD];
        head[0..4].copy_from_slice(&count.to_le_bytes());
        head[4..12].copy_from_slice(&exact(i128::from(period_ns)).to_le_bytes());
        head[12..16].copy_from_slice(&burst.to_le_bytes());
        head[16] = op;
        head[17..25].copy_from_slice(&exact(x).to_le_bytes());
        head[25..33].copy_from_slice(&exact(y).to_le_bytes());
        ScriptCall {
            head,
            rest: Vec::new(),
        }
    }

    /// Adds an integer after the first argument, as text.
    pub(crate) fn arg(&mut self, value: i64) -> &mut ScriptCall {
        self.rest.push(value);
        self
    }
}

/// `value` as a double, exact within the script's range and clamped beyond it.
fn exact(value: i128) -> f64 {
    let limit = EXACT as i128;
    value.clamp(-limit, limit) as f64
}

impl ToRedisArgs for ScriptCall {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        out.write_arg(&self.head);
        for n in &self.rest {
            // Writing into a byte buffer cannot fail.
            let _ = write!(out.writer_for_next_arg(), "{n}");
        }
    }

    fn num_of_args(&self) -> usize {
        1 + self.rest.len()
    }
}

/// The keys of a call: a limit's key, written as one argument from two parts (a keyed
/// limiter's prefix and the caller's key, so that no string is built for it), and the entry
/// of the whole table's pause after it, where there is one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keys<'a> {
    prefix: &'a str,
    name: &'a str,
    table: Option<&'a str>,
}

impl<'a> Keys<'a> {
    /// The key `prefix` + `name`, then `table` if any.
    pub(crate) fn new(prefix: &'a str, name: &'a str, table: Option<&'a str>) -> Keys<'a> {
        Keys {
            prefix,
            name,
            table,
        }
    }

    /// How many keys the script is given.
    pub(crate) fn count(&self) -> usize {
        1 + usize::from(self.table.is_some())
    }
}

impl ToRedisArgs for Keys<'_> {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        {
            let mut key = out.writer_for_next_arg();
            // Writing into a byte buffer cannot fail.
            let _ = key.write_all(self.prefix.as_bytes());
            let _ = key.write_all(self.name.as_bytes());
        }
        if let Some(table) = self.table {
            out.write_arg(table.as_bytes());
        }
    }

    fn num_of_args(&self) -> usize {
        self.count()
    }
}

#[cfg(test)]
mod tests {
    use super::{Keys, ScriptCall};
    use redis::ToRedisArgs;

    #[test]
    fn keys_are_the_prefixed_key_then_the_table() {
        let keys = Keys::new("api:", "alice", Some("pacer-table-pause:api:"));
        assert_eq!(keys.count(), 2);
        assert_eq!(
            keys.to_redis_args(),
            vec![b"api:alice".to_vec(), b"pacer-table-pause:api:".to_vec()]
        );
        assert_eq!(
            Keys::new("", "k", None).to_redis_args(),
            vec![b"k".to_vec()]
        );
    }

    #[test]
    fn the_head_is_the_script_s_struct_layout() {
        let call = ScriptCall::new(3, 1_000_000_000, 7, b'r', 2, -1);
        assert_eq!(&call.head[0..4], &[3, 0, 0, 0]);
        assert_eq!(call.head[4..12], 1e9f64.to_le_bytes());
        assert_eq!(&call.head[12..16], &[7, 0, 0, 0]);
        assert_eq!(call.head[16], b'r');
        assert_eq!(call.head[17..25], 2f64.to_le_bytes());
        assert_eq!(call.head[25..33], (-1f64).to_le_bytes());
        // Beyond 2^53 a number is clamped, not rounded into another value.
        let far = ScriptCall::new(1, 1, 1, b'z', -1, i128::from(u64::MAX));
        assert_eq!(far.head[25..33], 9_007_199_254_740_992f64.to_le_bytes());
    }
}
