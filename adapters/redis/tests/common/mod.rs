//! What the end-to-end tests share, whichever runtime they run on.

use std::future::Future;
use std::time::{Duration, Instant};

use pacer_redis::{Error, Quota};

/// One cell per 100 s, for the tests of a returned slot: a newcomer's wait shrinks by itself
/// as real time passes, and at this quota it cannot shrink by a whole cell within the 10 s
/// that [`eventually`] allows, so only a cancel can make the check pass.
pub(crate) fn one_per_hundred_seconds() -> Quota {
    Quota::new(1, Duration::from_secs(100)).unwrap()
}

/// Waits until `done` holds, pausing 1 ms with the runtime's `sleep` between looks; fails
/// after 10 s, a bound that only guards against a hang.
pub(crate) async fn eventually<P: Future>(
    what: &str,
    sleep: impl Fn(Duration) -> P,
    mut done: impl AsyncFnMut() -> bool,
) {
    let start = Instant::now();
    while !done().await {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: still not so after 10 s"
        );
        sleep(Duration::from_millis(1)).await;
    }
}

/// Asserts that `outcome` is the error of a call that got no answer within `limit`.
pub(crate) fn assert_timed_out<T: std::fmt::Debug>(outcome: Result<T, Error>, limit: &str) {
    match outcome {
        Err(error @ Error::Unavailable(_)) => {
            let expected = format!("no answer from Redis within {limit}");
            assert!(error.to_string().contains(&expected), "{error}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
