//! Several limits in one decision, over real TCP: per key, per route and global together.
//! A request goes only if every limit admits it; a refusal takes nothing from any limit.
//!
//! The property test drives random sequences of requests against an independent model, one
//! plain `Gcra` per limit and key, where a request is admitted exactly when every one of its
//! limits would admit it, and only then is it recorded in each. If the layer ever charged a
//! limit for a request another limit refused, its later answers would differ from the
//! model's.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{client, get_with, serve};
use http::{HeaderName, StatusCode};
use pacer_core::{Clock, Gcra, ManualTimer, Quota, Scheduler};
use pacer_tower::server::{Global, HeaderKey, Limit, RateLimitLayer, RoutePath};
use proptest::prelude::*;

fn per_key_quota() -> Quota {
    Quota::per_second(2).unwrap().with_burst(2).unwrap()
}
fn per_route_quota() -> Quota {
    Quota::per_second(3).unwrap()
}
fn global_quota() -> Quota {
    Quota::per_second(5).unwrap().with_burst(3).unwrap()
}

fn layer(timer: &ManualTimer) -> RateLimitLayer<ManualTimer> {
    RateLimitLayer::builder(timer.clone())
        .limit(
            Limit::new(
                "per-key",
                HeaderKey::new(HeaderName::from_static("x-api-key")),
                per_key_quota(),
                10,
            )
            .unwrap(),
        )
        .limit(Limit::new("per-route", RoutePath::path(), per_route_quota(), 10).unwrap())
        .limit(Limit::new("global", Global, global_quota(), 1).unwrap())
        .build()
        .unwrap()
}

/// The model: one GCRA per (limit, key).
#[derive(Default)]
struct Model {
    limits: HashMap<(usize, String), Gcra>,
}

impl Model {
    fn admit(&mut self, now: u64, key: &str, route: &str) -> bool {
        let wanted = [
            (0, key.to_owned(), per_key_quota()),
            (1, route.to_owned(), per_route_quota()),
            (2, String::new(), global_quota()),
        ];
        let all = wanted.iter().all(|(limit, key, quota)| {
            let gcra = self
                .limits
                .entry((*limit, key.clone()))
                .or_insert_with(|| Gcra::new(*quota));
            gcra.earliest(now, 1).unwrap() <= now
        });
        if all {
            for (limit, key, _) in wanted {
                let gcra = self.limits.get_mut(&(limit, key)).unwrap();
                assert_eq!(gcra.reserve(now, 1).unwrap().at(), now);
            }
        }
        all
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn answers_equal_the_all_or_none_model(
        steps in prop::collection::vec((0u64..400, 0usize..3, 0usize..2), 1..40)
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let timer = ManualTimer::new();
            let address = serve(layer(&timer)).await;
            let http = client(None);
            let mut model = Model::default();
            for (i, (gap_ms, key, route)) in steps.into_iter().enumerate() {
                timer.advance(Duration::from_millis(gap_ms));
                let key = ["alice", "bob", "carol"][key];
                let route = ["/", "/search"][route];
                let expected = model.admit(timer.now(), key, route);
                let answer = get_with(&http, address, route, &[("x-api-key", key)]).await;
                let admitted = answer.status == StatusCode::OK;
                assert_eq!(admitted, expected, "step {i}: {key} {route}");
                if !admitted {
                    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
                    assert!(answer.header("retry-after").is_some());
                }
            }
        });
    }
}

/// Many requests at once from many connections, on a runtime with two threads: the global
/// limit (12 at once) refuses most of the first wave; a per-key limit charged for those
/// refusals would admit fewer in the second wave, after the global limit refilled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refusals_charge_no_other_limit() {
    let timer = ManualTimer::new();
    let per_key = Limit::new(
        "per-key",
        HeaderKey::new(HeaderName::from_static("x-api-key")),
        Quota::per_minute(5).unwrap().with_burst(5).unwrap(),
        10,
    )
    .unwrap();
    let global = Limit::new(
        "global",
        Global,
        Quota::per_second(12).unwrap().with_burst(12).unwrap(),
        1,
    )
    .unwrap();
    let layer = RateLimitLayer::builder(timer.clone())
        .limit(per_key)
        .limit(global)
        .build()
        .unwrap();
    let address = serve(layer).await;

    async fn wave(address: std::net::SocketAddr) -> [usize; 4] {
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                tokio::spawn(async move {
                    let key = ["a", "b", "c", "d"][i % 4];
                    let http = client(None);
                    let answer = get_with(&http, address, "/", &[("x-api-key", key)]).await;
                    (i % 4, answer.status == StatusCode::OK)
                })
            })
            .collect();
        let mut admitted = [0; 4];
        for task in tasks {
            let (key, ok) = task.await.unwrap();
            admitted[key] += usize::from(ok);
        }
        admitted
    }

    let first = wave(address).await;
    assert_eq!(first.iter().sum::<usize>(), 12, "{first:?}");
    assert!(first.iter().all(|&n| n <= 5), "{first:?}");
    // The global limit is whole again after 1 s; the per-key limits have not refilled a cell.
    timer.advance(Duration::from_secs(1));
    let second = wave(address).await;
    for key in 0..4 {
        assert_eq!(
            first[key] + second[key],
            5,
            "key {key}: {first:?} then {second:?}"
        );
    }
}
