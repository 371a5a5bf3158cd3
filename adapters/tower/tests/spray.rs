//! The spray test, over real TCP: one client keeps to its quota while a flood of distinct
//! addresses (one request each) fills the table.
//!
//! A key is busy for `T = period / count` after a lone request. A spray of `R` new keys per
//! second keeps `R · T` of them busy, so a table with room for `R · T` plus the clients
//! served never refuses anyone for want of room (the sizing rule in the crate docs). Here:
//! 10 requests per second per address (`T` = 100 ms), a spray of 1,000 addresses per second,
//! one client: capacity 101, in one shard (exact capacity). One slot fewer and the spray is
//! refused with a full table: the rule is tight.

mod common;

use std::time::Duration;

use common::{Recorder, client, get_with, serve};
use http::StatusCode;
use pacer_core::{ManualTimer, Quota};
use pacer_tower::server::{ClientIp, Limit, Outcome, RateLimitLayer};

const PER_SECOND: u32 = 10;
const SPRAY_PER_SECOND: u64 = 1_000;
const SECONDS: u64 = 1;

/// Runs the spray through a table of `capacity`; returns (client refusals, spray refusals).
async fn spray(capacity: usize) -> (usize, usize, Recorder) {
    let timer = ManualTimer::new();
    let recorder = Recorder::default();
    let limit = Limit::new(
        "per-client",
        ClientIp::x_forwarded_for(1),
        Quota::per_second(PER_SECOND).unwrap(),
        capacity,
    )
    .unwrap()
    .shards(1);
    let layer = RateLimitLayer::builder(timer.clone())
        .limit(limit)
        .observer(recorder.clone())
        .build()
        .unwrap();
    let address = serve(layer.clone()).await;
    let http = client(None);
    let interval = 1_000_000_000 / u64::from(PER_SECOND);
    let spray_gap = 1_000_000_000 / SPRAY_PER_SECOND;
    // Every event by its instant: the client at each whole interval, sprayed address i half a
    // gap after i gaps.
    let mut events: Vec<(u64, Option<u64>)> = (0..SECONDS * u64::from(PER_SECOND))
        .map(|k| (k * interval, None))
        .chain((0..SECONDS * SPRAY_PER_SECOND).map(|i| (i * spray_gap + spray_gap / 2, Some(i))))
        .collect();
    events.sort();
    let (mut client_refused, mut spray_refused) = (0, 0);
    for (at, sprayed) in events {
        timer.set(at);
        let address_header = match sprayed {
            None => "198.51.100.7".to_owned(),
            Some(i) => format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
        };
        let answer = get_with(&http, address, "/", &[("x-forwarded-for", &address_header)]).await;
        if answer.status != StatusCode::OK {
            assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
            match sprayed {
                None => client_refused += 1,
                Some(_) => spray_refused += 1,
            }
        }
    }
    let (held, room) = layer.keys("per-client", "default").unwrap();
    assert!(held <= room && room == capacity);
    timer.advance(Duration::from_secs(1));
    (client_refused, spray_refused, recorder)
}

#[tokio::test]
async fn at_the_documented_capacity_the_client_is_never_refused() {
    let busy = (SPRAY_PER_SECOND / u64::from(PER_SECOND)) as usize; // R · T
    let (client_refused, spray_refused, recorder) = spray(busy + 1).await;
    assert_eq!(client_refused, 0, "the client kept to its quota");
    assert_eq!(spray_refused, 0, "the table had room for the whole spray");
    assert_eq!(recorder.count(Outcome::TableFull), 0);
    assert_eq!(
        recorder.count(Outcome::Admitted),
        (SECONDS * (SPRAY_PER_SECOND + u64::from(PER_SECOND))) as usize
    );
}

#[tokio::test]
async fn one_slot_fewer_and_new_keys_find_the_table_full() {
    let busy = (SPRAY_PER_SECOND / u64::from(PER_SECOND)) as usize;
    let (client_refused, spray_refused, recorder) = spray(busy).await;
    assert_eq!(
        client_refused, 0,
        "a busy key is never forgotten for a new one"
    );
    assert!(spray_refused > 0);
    assert_eq!(recorder.count(Outcome::TableFull), spray_refused);
}
