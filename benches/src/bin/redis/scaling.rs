//! Decisions per second against the number of client processes, on one Redis and on a
//! cluster: the parent side of the scaling runs (the children are [`crate::child`]).
//!
//! For each target and each number of processes `P`, `P` children connect and warm up, then
//! all start at once on a line written to their stdin and make keyed decisions for the same
//! time. The rate is the sum of the children's decisions over their windows; the client CPU
//! per decision is the children's own CPU time over their windows (getrusage) divided by
//! their decisions; the server CPU per decision is what the target's servers used meanwhile
//! (`INFO cpu`), divided by the same.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use crate::child::ChildArgs;
use crate::target::Target;

/// One run's outcome.
pub(crate) struct Run {
    pub(crate) processes: usize,
    pub(crate) rate: f64,
    pub(crate) client_cpu_us: f64,
    pub(crate) server_cpu_us: f64,
    /// Server CPU time per second of the run: how many cores the servers kept busy.
    pub(crate) server_cores: f64,
    pub(crate) errors: u64,
}

/// Runs `processes` children against `target` for `seconds` each, `tasks` tasks per child,
/// spreading their decisions over `keys` keys.
pub(crate) fn run(
    target: &Target,
    processes: usize,
    tasks: usize,
    seconds: f64,
    keys: usize,
) -> Run {
    let exe = std::env::current_exe().expect("the program's own path");
    let args = ChildArgs {
        target: target.clone(),
        tasks,
        seconds,
        keys,
    };
    let mut children: Vec<(Child, BufReader<ChildStdout>)> = (0..processes)
        .map(|_| {
            let mut child = Command::new(&exe)
                .args(args.to_args())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("start a child");
            let stdout = BufReader::new(child.stdout.take().unwrap());
            (child, stdout)
        })
        .collect();
    for (_, stdout) in &mut children {
        let line = read_line(stdout);
        assert_eq!(line.trim(), "ready", "a child did not get ready: {line:?}");
    }
    let server_before = target.server_cpu();
    for (child, _) in &mut children {
        let stdin = child.stdin.as_mut().unwrap();
        stdin
            .write_all(b"go\n")
            .and_then(|()| stdin.flush())
            .unwrap();
    }
    let mut rate = 0.0;
    let (mut decisions, mut cpu, mut errors) = (0u64, Duration::ZERO, 0u64);
    let mut longest = Duration::ZERO;
    for (_, stdout) in &mut children {
        let line = read_line(stdout);
        let fields: Vec<u64> = line
            .strip_prefix("done ")
            .unwrap_or_else(|| panic!("a child said {line:?}"))
            .split_whitespace()
            .map(|field| field.parse().unwrap())
            .collect();
        let [made, elapsed, used, failed] = fields[..] else {
            panic!("a child said {line:?}");
        };
        let elapsed = Duration::from_nanos(elapsed);
        rate += made as f64 / elapsed.as_secs_f64();
        decisions += made;
        cpu += Duration::from_nanos(used);
        errors += failed;
        longest = longest.max(elapsed);
    }
    let server = target.server_cpu().saturating_sub(server_before);
    for (mut child, _) in children {
        let status = child.wait().unwrap();
        assert!(status.success(), "a child failed: {status}");
    }
    let per_decision = |time: Duration| time.as_secs_f64() * 1e6 / decisions.max(1) as f64;
    Run {
        processes,
        rate,
        client_cpu_us: per_decision(cpu),
        server_cpu_us: per_decision(server),
        server_cores: server.as_secs_f64() / longest.as_secs_f64(),
        errors,
    }
}

fn read_line(stdout: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read a child's output");
    line
}
