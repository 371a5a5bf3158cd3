//! The stream throttle under an irregularly moving clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use pacer_core::{Clock, Quota};

use super::fixture::pacer;
use super::steps::{first_reading_at_or_after, step_to_end};
use super::{Rt, lock, ms};
use crate::check::assert_conforms;

/// The stream throttle yields each item at the first reading at or after its slot, with slots
/// one interval apart, whatever steps the clock takes.
pub fn throttle_spacing<R: Rt>(rt: &R) {
    let quota = Quota::per_second(20).unwrap(); // 50 ms
    let (pacer, timer) = pacer(quota);
    let seen = Arc::new(Mutex::new(Vec::new()));
    {
        let (pacer, seen) = (pacer.clone(), seen.clone());
        rt.go(async move {
            let items = futures::stream::iter(0..12u32);
            let mut paced = std::pin::pin!(pacer.throttle(items));
            while let Some(item) = paced.next().await {
                lock(&seen).push((item, pacer.timer().now()));
            }
        });
    }
    let visited = step_to_end(rt, &timer, &[Duration::from_millis(7)]);
    let seen = lock(&seen).clone();
    assert_eq!(seen.len(), 12);
    for (k, &(item, reading)) in seen.iter().enumerate() {
        assert_eq!(item, k as u32, "in order");
        let slot = ms(50) * k as u64;
        assert_eq!(reading, first_reading_at_or_after(&visited, slot));
    }
    assert!(seen.windows(2).all(|w| w[1].1 - w[0].1 >= ms(49)));
    assert_conforms(&pacer.limiter().admitted_cells(), quota);
}
