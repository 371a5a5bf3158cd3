//! A client process of the scaling runs: the `redis` program started again with `--child`.
//!
//! It connects to its target, warms up, says `ready`, waits for a line on stdin, then makes
//! keyed `try_acquire` decisions from `tasks` tasks on one connection (a current-thread
//! runtime, as a small client service would run) for the given time, and prints
//! `done <decisions> <elapsed ns> <CPU ns> <errors>`: its own CPU time over exactly that
//! window, by `getrusage(RUSAGE_SELF)`.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use pacer_benches::cpu_time;

use crate::target::Target;
use crate::{KEYED_PREFIX, keyed_quota};

/// What a child is told: its target, its tasks, how long to run and over how many keys.
pub(crate) struct ChildArgs {
    pub(crate) target: Target,
    pub(crate) tasks: usize,
    pub(crate) seconds: f64,
    pub(crate) keys: usize,
}

impl ChildArgs {
    /// The arguments that start a child with these settings.
    pub(crate) fn to_args(&self) -> Vec<String> {
        let [kind, urls] = self.target.to_args();
        vec![
            "--child".into(),
            kind,
            "--child-urls".into(),
            urls,
            "--child-tasks".into(),
            self.tasks.to_string(),
            "--seconds".into(),
            self.seconds.to_string(),
            "--keys".into(),
            self.keys.to_string(),
        ]
    }
}

pub(crate) fn run(args: ChildArgs) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let limiter = Arc::new(runtime.block_on(args.target.limiter(KEYED_PREFIX, keyed_quota())));
    let keys: Arc<Vec<String>> = Arc::new((0..args.keys).map(|k| format!("k{k}")).collect());
    // Warm-up: the connection to every master, and the script loaded.
    runtime.block_on(async {
        for key in keys.iter() {
            limiter.try_acquire(key, 1).await.unwrap();
        }
    });
    println!("ready");
    std::io::stdout().flush().unwrap();
    let mut go = String::new();
    std::io::stdin().lock().read_line(&mut go).unwrap();

    let decisions = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let window = Duration::from_secs_f64(args.seconds);
    let (cpu, start) = (cpu_time(), Instant::now());
    runtime.block_on(async {
        let tasks: Vec<_> = (0..args.tasks)
            .map(|task| {
                let (limiter, keys) = (limiter.clone(), keys.clone());
                let (decisions, errors) = (decisions.clone(), errors.clone());
                tokio::spawn(async move {
                    let mut k = task;
                    while start.elapsed() < window {
                        // An admission or a refusal is a decision; anything else is an error.
                        match limiter.try_acquire(&keys[k % keys.len()], 1).await {
                            Ok(()) | Err(pacer_redis::Error::Limit(_)) => {
                                decisions.fetch_add(1, Ordering::Relaxed)
                            }
                            Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                        };
                        k += 1;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let (elapsed, cpu) = (start.elapsed(), cpu_time() - cpu);
    println!(
        "done {} {} {} {}",
        decisions.load(Ordering::Relaxed),
        elapsed.as_nanos(),
        cpu.as_nanos(),
        errors.load(Ordering::Relaxed)
    );
}
