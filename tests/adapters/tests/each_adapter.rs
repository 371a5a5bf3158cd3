//! Each std adapter alone is enough: one program, written once as a macro, names every item a
//! user of a runtime needs (to write throttled code, to test it on virtual time, and to be
//! generic over a limiter or a timer) through one adapter, and runs. This package has no
//! dependency on pacer-core, so a re-export missing from any adapter fails to compile.

macro_rules! uses_only {
    ($adapter:ident, $timer:ident) => {
        mod $adapter {
            use std::time::Duration;

            use $adapter::traits::{
                Clock, KeyedRateLimiter, PacerRef, Pause, RateLimiter, Reconfigure, Scheduler,
                Timer,
            };
            use $adapter::{
                Acquire, Adaptive, AtomicLimiter, Decision, DutyCycle, Error, Feedback,
                FeedbackError, Gate, GatePermit, Gcra, KeyedGcra, KeyedLimiter, KeyedPacer,
                Limiter, Limits, Locked, ManualClock, ManualSleep, ManualTimer, Pacer, Pausable,
                PerKey, Policy, Quota, Reason, Reservation, Run, ShardedKeyedGcra, SlidingWindow,
                Snapshot, Throttle, WhenFull, pacer_core, $timer,
            };

            /// Application code, generic over the limiter and the timer.
            async fn send_all<L: RateLimiter, T: Timer>(
                pacer: &Pacer<L, T>,
                count: usize,
            ) -> Result<Vec<u64>, Error> {
                let mut sent_at = Vec::new();
                for _ in 0..count {
                    let wait: Acquire<'_, &L, T> = pacer.acquire();
                    wait.await?;
                    sent_at.push(pacer.timer().now());
                }
                Ok(sent_at)
            }

            /// Keyed application code, generic over the keyed limiter.
            fn try_key<L: KeyedRateLimiter<str>, T: Timer>(
                limiter: &KeyedPacer<L, T>,
                key: &str,
            ) -> Result<(), Error> {
                let _unpolled: Acquire<'_, PerKey<'_, L, str>, T> = limiter.acquire(key);
                limiter.try_acquire(key, 1)
            }

            fn quota() -> Quota {
                Quota::per_second(10).expect("a valid quota")
            }

            #[test]
            fn runtime_types_are_named_by_the_adapter() {
                let limiter = Limiter::new(quota());
                let _: &$timer = limiter.timer();
                let _: &Pausable<AtomicLimiter> = limiter.limiter();
                assert_eq!(limiter.pause_for(std::time::Duration::ZERO), Ok(false));
                assert!(limiter.try_acquire(1).is_ok());
                let gate = Gate::new(quota(), 2).expect("a valid gate");
                assert_eq!(gate.available(), 2);
                let keyed = KeyedLimiter::<String>::new(quota(), 10).expect("room for keys");
                assert!(try_key(&keyed, "a").is_ok());
                assert!(try_key(&keyed, "a").is_err());
            }

            #[test]
            fn throttled_code_runs_on_a_manual_timer() {
                let timer = ManualTimer::new();
                let pacer = Pacer::from_parts(AtomicLimiter::new(quota()), timer.clone());
                let mut sending = std::pin::pin!(send_all(&pacer, 3));
                let waker = std::task::Waker::noop();
                let mut cx = std::task::Context::from_waker(&waker);
                let mut polls = 0;
                let sent = loop {
                    polls += 1;
                    assert!(polls < 10, "the manual clock moves the sends along");
                    if let std::task::Poll::Ready(sent) = sending.as_mut().poll(&mut cx) {
                        break sent;
                    }
                    let at = timer.next_wake().expect("a send waits for its instant");
                    timer.set(at);
                };
                assert_eq!(sent, Ok(vec![0, 100_000_000, 200_000_000]));
                let sleep: ManualSleep = timer.sleep_until(1);
                drop(sleep);
                let snapshot: Snapshot = pacer.snapshot();
                assert_eq!(snapshot.remaining, 0);
                use std::future::Future;
            }

            #[test]
            fn any_limiter_and_scheduler_can_be_named() {
                let limits = Limits::new([quota(), Quota::per_hour(100).expect("a quota")]);
                let timer = ManualTimer::new();
                let several = Pacer::from_parts(Locked::new(limits), timer.clone());
                assert!(several.try_acquire(1).is_ok());
                let window: SlidingWindow<10> = SlidingWindow::new(quota()).expect("fits");
                let duty: DutyCycle<4> = DutyCycle::new(quota()).expect("fits");
                let _ = Pacer::from_parts(Locked::new(window), timer.clone());
                let _ = Pacer::from_parts(Locked::new(duty), timer.clone());

                let mut gcra = Gcra::new(quota());
                let first: Reservation<_> = gcra.reserve(0, 1).expect("free");
                assert_eq!(first.at(), 0);

                let clock = ManualClock::new();
                clock.advance(Duration::from_millis(5));
                assert_eq!(clock.now(), 5_000_000);

                let keyed = Locked::new(KeyedGcra::<u8, 4>::new(quota()));
                let radio = KeyedPacer::from_parts(keyed, timer.clone());
                assert!(radio.try_acquire(&1, 1).is_ok());
                let table = ShardedKeyedGcra::<String>::new(quota(), 1)
                    .expect("room")
                    .when_full(WhenFull::Refuse);
                let clients = KeyedPacer::from_parts(table, timer.clone());
                assert!(try_key(&clients, "a").is_ok());
                assert!(matches!(
                    try_key(&clients, "b"),
                    Err(pacer_core::Error::TableFull { .. })
                ));

                // The first cell went to `try_acquire` above, and the hourly limit spaces
                // cells 36 s apart: on virtual time the gate's wait ends at once.
                let gate = pacer_core::Gate::from_parts(several, 1).expect("a slot");
                let permit: GatePermit<'_> = timer.block_on(gate.acquire()).expect("free");
                assert_eq!(timer.now(), 36_000_000_000);
                assert_eq!(gate.available(), 0);
                drop(permit);
            }

            #[test]
            fn a_pause_moves_a_throttled_stream_on_virtual_time() {
                use futures_util::StreamExt;
                let timer = ManualTimer::new();
                let limiter = Pausable::new(AtomicLimiter::new(quota()));
                let pacer = Pacer::from_parts(limiter, timer.clone());
                let passed_at = timer.block_on(async {
                    let mut paced =
                        std::pin::pin!(pacer.throttle(futures_util::stream::iter(0..3)));
                    let mut passed_at = Vec::new();
                    while paced.next().await.is_some() {
                        passed_at.push(timer.now());
                        if passed_at.len() == 1 {
                            // The server said "slow down" after the first item.
                            assert_eq!(pacer.pause_for(Duration::from_millis(500)), Ok(true));
                        }
                    }
                    passed_at
                });
                assert_eq!(passed_at, [0, 600_000_000, 700_000_000]);
                assert_eq!(Pause::paused_until(pacer.limiter(), timer.now()), None);
                let adjustable = Locked::new(Gcra::new(quota()));
                assert_eq!(Reconfigure::quota(&adjustable), quota());
            }

            #[test]
            fn server_feedback_is_named_by_the_adapter() {
                let slow_down: Feedback =
                    Feedback::read(429, [("Retry-After", "2")], 0).expect("a valid header");
                let _: Option<Policy> = slow_down.policy;
                let absurd: Result<Feedback, FeedbackError> = Feedback::read_within(
                    503,
                    [("Retry-After", "600")],
                    0,
                    Duration::from_secs(60),
                );
                assert!(absurd.is_err());
                let _: Option<(Adaptive, Decision, Reason)> = None;
            }

            /// A function that returns a throttled stream holding its share of the limiter.
            fn paced<P: PacerRef>(
                pacer: P,
            ) -> Throttle<futures_util::stream::Iter<std::ops::Range<u32>>, P> {
                Throttle::new(pacer, futures_util::stream::iter(0..3))
            }

            #[test]
            fn a_returned_stream_runs_on_virtual_time() {
                use futures_util::StreamExt;
                let timer = ManualTimer::new();
                let pacer = Pacer::from_parts(AtomicLimiter::new(quota()), timer.clone());
                let shared = std::sync::Arc::new(pacer);
                let run: Run<_> =
                    timer.run(paced(std::sync::Arc::clone(&shared)).collect::<Vec<_>>());
                assert_eq!(futures_executor::block_on(run), [0, 1, 2]);
                assert_eq!(timer.now(), 200_000_000);
                let borrowed: Throttle<_, &Pacer<AtomicLimiter, ManualTimer>> =
                    shared.throttle(futures_util::stream::iter([7]));
                assert_eq!(timer.block_on(borrowed.collect::<Vec<_>>()), [7]);
                let refused = shared.try_acquire(1).expect_err("100 ms away");
                assert_eq!(
                    shared.retry_after(&refused),
                    Some(Duration::from_millis(100))
                );
                assert_eq!(shared.retry_after_secs(&refused), Some(1));
            }
        }
    };
}

uses_only!(pacer_tokio, TokioTimer);
uses_only!(pacer_smol, SmolTimer);
uses_only!(pacer_async_std, AsyncStdTimer);
uses_only!(pacer_futures_timer, FuturesTimer);
