//! The comparison programs run end to end on tiny cases (the real runs take minutes and are
//! not part of the test suite).

use std::process::Command;

fn run(bin: &str, args: &[&str]) -> String {
    let out = Command::new(bin).args(args).output().expect("spawn");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{bin} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The herd on its tiny case (20 tasks at 2,000/s, current-thread runtime, cut at 20 s),
/// with `extra` arguments.
fn tiny_herd(extra: &[&str]) -> String {
    let mut args = vec![
        "--case",
        "20:2000",
        "--runtime",
        "current",
        "--timeout",
        "20",
    ];
    args.extend_from_slice(extra);
    run(env!("CARGO_BIN_EXE_herd"), &args)
}

#[test]
fn herd_runs_a_tiny_case() {
    let out = tiny_herd(&[]);
    for name in [
        "| pacer |",
        "| pacer-precise |",
        "| governor |",
        "| leaky-bucket |",
        "| baseline |",
    ] {
        assert!(out.contains(name), "no row for {name}:\n{out}");
    }
    assert!(out.contains("pacer / peer"), "{out}");
    assert!(!out.contains("CUT"), "{out}");
    // pacer's own code allocates nothing per acquisition, on either tokio timer (the last
    // column: allocations per acquisition beyond the baseline's).
    for name in ["| pacer |", "| pacer-precise |"] {
        let row = out.lines().find(|line| line.contains(name)).unwrap();
        assert!(row.ends_with("| +0.00 |"), "{row}");
    }
    // The observed traffic of every row. The 20 passes at 2,000/s span about 10 ms, so one
    // window of one period (1 s) holds all of them; a window of ten intervals (5 ms) holds
    // at least one and no more than that.
    let period = column(&out, "most in 1 period");
    let ten = column(&out, "most in 10 intervals");
    for row in out
        .lines()
        .filter(|line| line.starts_with("| current-thread |"))
    {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let count = |i: usize| -> usize {
            cells[i]
                .parse()
                .unwrap_or_else(|_| panic!("column {i} is not a count: {row}"))
        };
        assert_eq!(count(period), 20, "{row}");
        assert!((1..=20).contains(&count(ten)), "{row}");
    }
}

/// The index, in a row split at `|`, of the herd table's column named `name`.
fn column(out: &str, name: &str) -> usize {
    let header = out
        .lines()
        .find(|line| line.starts_with("| runtime |"))
        .unwrap_or_else(|| panic!("no table:\n{out}"));
    header
        .split('|')
        .map(str::trim)
        .position(|cell| cell == name)
        .unwrap_or_else(|| panic!("no column {name:?} in {header}"))
}

#[test]
fn herd_pools_the_cpu_of_repeated_runs() {
    let out = tiny_herd(&["--limiter", "pacer", "--limiter", "leaky", "--runs", "2"]);
    assert!(out.contains("over all 2 runs of each"), "{out}");
    assert!(
        out.contains("  pacer current-thread N=20 R=2000: ") && out.contains("vs leaky-bucket "),
        "{out}"
    );
    assert!(
        out.contains("pacer's achieved rate first pass to last"),
        "{out}"
    );
    assert!(
        out.contains("  pacer current-thread N=20 R=2000: median ") && out.contains(" of 2\n"),
        "{out}"
    );
    // Every limiter's observed traffic over both runs: one period holds all 20 passes.
    assert!(
        out.contains("the most passes in any window of one period and of ten intervals"),
        "{out}"
    );
    for name in ["pacer", "leaky-bucket"] {
        let prefix = format!("  {name} current-thread N=20 R=2000: one period 20, ten intervals ");
        assert!(out.contains(&prefix), "no {prefix:?}:\n{out}");
    }
}

#[test]
fn herd_runs_the_optional_rows_on_request() {
    let out = tiny_herd(&[
        "--limiter",
        "pacer-gate",
        "--limiter",
        "pacer-futures-timer",
        "--limiter",
        "baseline",
        "--gate-slots",
        "4",
    ]);
    assert!(out.contains("| pacer-gate | ok |"), "{out}");
    assert!(out.contains("| pacer-futures-timer | ok |"), "{out}");
    assert!(!out.contains("| pacer |"), "{out}");
}

#[test]
fn accuracy_runs_a_short_sweep() {
    let out = run(
        env!("CARGO_BIN_EXE_accuracy"),
        &["--rate", "1000", "--seconds", "0.05", "--concurrent"],
    );
    assert!(out.contains("| tokio (multi"), "{out}");
    assert!(out.contains("| tokio + PreciseTimer"), "{out}");
    assert!(out.contains("| smol"), "{out}");
}

#[test]
fn redis_runs_a_tiny_case() {
    // The program starts its own redis-server; without one installed there is nothing to run
    // (RedisServer says so, and fails where CI requires Redis).
    let Some(server) = pacer_tests::RedisServer::start() else {
        return;
    };
    let out = run(
        env!("CARGO_BIN_EXE_redis"),
        &[
            "--url",
            &server.url(),
            "--calls",
            "200",
            "--tasks",
            "4",
            "--seconds",
            "0.2",
            "--processes",
            "1,2",
        ],
    );
    for name in ["ping", "window", "pacer admit", "pacer refuse", "one Redis"] {
        assert!(out.contains(name), "no row for {name}:\n{out}");
    }
}

#[test]
fn redis_faults_runs_a_tiny_case() {
    // It starts its own redis-server for each case; see redis_runs_a_tiny_case.
    if pacer_tests::RedisServer::start().is_none() {
        return;
    }
    let out = run(
        env!("CARGO_BIN_EXE_redis_faults"),
        &[
            "--rates",
            "1000",
            "--keys",
            "2",
            "--tasks-per-key",
            "1",
            "--seconds",
            "0.4",
            "--case",
            "empty",
        ],
    );
    assert!(out.contains("| 1000/s, burst 5 | try_acquire"), "{out}");
    assert!(out.contains("none (restarted empty)"), "{out}");
}

#[test]
fn redis_memory_runs_a_tiny_case() {
    if pacer_tests::RedisServer::start().is_none() {
        return;
    }
    // 1,000 keys idle 0.2 s after their cell: the entries are gone about 1.2 s later.
    let out = run(
        env!("CARGO_BIN_EXE_redis_memory"),
        &["--keys", "1000", "--period", "0.2"],
    );
    assert!(out.contains("(1000 expired by Redis)"), "{out}");
    assert!(out.contains("PASS"), "{out}");
}

#[test]
fn http_runs_a_tiny_case() {
    let out = run(
        env!("CARGO_BIN_EXE_http"),
        &[
            "--spray",
            "2000",
            "--seconds",
            "0.05",
            "--rounds",
            "1",
            "--decisions",
            "1000",
            "--keys",
            "1000",
        ],
    );
    let last = out.lines().last().unwrap_or("");
    assert!(last.starts_with("http: 2000 client IPs: pacer +"), "{out}");
    assert!(
        last.contains("requests/s pacer/tower_governor/none: "),
        "{out}"
    );
    assert!(
        last.contains("keyed ns at 1000 keys on 2 threads pacer/governor: "),
        "{out}"
    );
    // Every sprayed address was answered, and pacer admitted all (10 per second each).
    assert!(out.contains("admitted 2000 refused 0"), "{out}");
}

#[test]
fn herd_dumps_its_passes_and_plots_draws_from_them() {
    let dir = std::env::temp_dir().join(format!("pacer-plots-smoke-{}", std::process::id()));
    let data = dir.join("data");
    tiny_herd(&[
        "--limiter",
        "pacer",
        "--dump",
        data.to_str().expect("a UTF-8 path"),
    ]);
    let dumped = std::fs::read_to_string(data.join("current-20-2000-pacer-0.csv"))
        .expect("herd --dump wrote the run's passes");
    let passes: Vec<u64> = dumped
        .lines()
        .map(|l| l.parse().expect("nanoseconds"))
        .collect();
    assert_eq!(passes.len(), 20);
    assert!(passes.windows(2).all(|w| w[0] <= w[1]), "sorted");

    // `plots` draws the two cases it is made for; give it a small made-up run of each
    // (one pass every interval, 2 s long), under the names herd --dump gives.
    for (n, rate) in [(10_000u64, 1_000u64), (500, 100)] {
        let instants: String = (0..2 * rate)
            .map(|i| format!("{}\n", i * 1_000_000_000 / rate))
            .collect();
        for limiter in [
            "pacer",
            "pacer-precise",
            "governor",
            "leaky-bucket",
            "baseline",
        ] {
            let file = data.join(format!("multi-{n}-{rate}-{limiter}-0.csv"));
            std::fs::write(file, &instants).expect("write made-up data");
        }
    }
    let out = run(
        env!("CARGO_BIN_EXE_plots"),
        &[data.to_str().unwrap(), dir.to_str().unwrap()],
    );
    for figure in ["herd-rate.svg", "observed-traffic.svg"] {
        assert!(out.contains(figure), "{out}");
        let svg = std::fs::read_to_string(dir.join(figure)).expect("an SVG");
        assert!(
            svg.starts_with("<svg") && svg.contains("pacer-precise"),
            "{figure}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn pushback_runs_a_tiny_case() {
    // 40 calls, phases of 0.2 s: each of the five runs admits all 40, and the summary has its
    // shape.
    let out = run(
        env!("CARGO_BIN_EXE_pushback"),
        &["--calls", "40", "--in-flight", "5", "--phase-secs", "0.2"],
    );
    let last = out.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("pushback: 40 calls, server 100/50/100 per s; headers mode: 429s pacer "),
        "{out}"
    );
    assert!(last.contains("; calls started while paused "), "{out}");
    assert_eq!(out.matches(" |       40 | ").count(), 5, "{out}");
}
