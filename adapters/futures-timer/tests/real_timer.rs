//! The one test on the real timer: the glue is correct (a sleep never ends before its
//! instant by the timer's own clock). No timing is asserted, and the instants are a few
//! milliseconds away at most.

use pacer_futures_timer::FuturesTimer;
use pacer_futures_timer::traits::{Clock, Timer};

#[test]
fn a_sleep_never_ends_before_its_instant() {
    let timer = FuturesTimer::new();
    futures::executor::block_on(async {
        for offset in [0, 1, 1_000, 2_000_000] {
            let at = timer.now() + offset;
            timer.sleep_until(at).await;
            let now = timer.now();
            assert!(now >= at, "woke at {now}, before {at}");
        }
        // An instant already past completes.
        timer.sleep_until(0).await;
    });
}
