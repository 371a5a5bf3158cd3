//! Scratch (not committed): cost of the pieces of pacer's decision.
use std::hint::black_box;
use std::time::Instant;

fn time<F: FnMut(u64) -> u64>(name: &str, mut f: F) {
    let n = 50_000_000u64;
    let mut acc = 0u64;
    let t = Instant::now();
    for i in 0..n {
        acc = acc.wrapping_add(f(i));
    }
    let el = t.elapsed();
    black_box(acc);
    println!("{name:50} {:6.2} ns", el.as_nanos() as f64 / n as f64);
}

fn main() {
    fast_main();
    let period: u128 = black_box(1_000_000_000);
    let d: u128 = black_box(1_024_000_000);
    time("empty", |i| black_box(i));
    time("u128 / u64-valued, dividend < 2^64", |i| {
        let num = u128::from(black_box(1_000_000_000u64 + i)) * black_box(10);
        (num / period) as u64
    });
    time("u128 / u64-valued, dividend > 2^64 (t=100s)", |i| {
        let num = u128::from(black_box(100_000_000_000u64 + i)) * d;
        (num / period) as u64
    });
    time("u128 div_ceil, dividend > 2^64", |i| {
        let num = u128::from(black_box(100_000_000_000u64 + i)) * period;
        num.div_ceil(d) as u64
    });
    time("u64 / u64 (reduced fraction 128/125)", |i| {
        let x = black_box(100_000_000_000u64 + i) * 128;
        x / black_box(125u64)
    });
    let a = std::sync::atomic::AtomicU64::new(0);
    time("atomic CAS uncontended", |i| {
        let cur = a.load(std::sync::atomic::Ordering::Acquire);
        let _ = a.compare_exchange(
            cur,
            cur + i,
            std::sync::atomic::Ordering::AcqRel,
            std::sync::atomic::Ordering::Acquire,
        );
        cur
    });
    use pacer_core::{AtomicLimiter, Gcra, Quota, RateLimiter, Scheduler};
    let l = AtomicLimiter::new(Quota::per_second(1_000_000).unwrap());
    time(
        "AtomicLimiter allowed, local now from 1 s (<2^64 regime ~17s)",
        |i| {
            l.try_acquire(black_box(1_000_000_000 + i * 1000), 1)
                .is_ok() as u64
        },
    );
    let l = AtomicLimiter::new(Quota::per_second(1_000_000).unwrap());
    time("AtomicLimiter allowed, local now from 100 s (>2^64)", |i| {
        l.try_acquire(black_box(100_000_000_000 + i * 1000), 1)
            .is_ok() as u64
    });
    let l = AtomicLimiter::new(Quota::per_second(1_000_000).unwrap());
    l.try_acquire(100_000_000_000, 1).unwrap();
    time("AtomicLimiter denied at 100 s", |_| {
        l.try_acquire(black_box(100_000_000_000), 1).is_ok() as u64
    });
    let l = AtomicLimiter::new(Quota::per_second(1_000_000).unwrap());
    l.try_acquire(1_000_000_000, 1).unwrap();
    time("AtomicLimiter denied at 1 s", |_| {
        l.try_acquire(black_box(1_000_000_000), 1).is_ok() as u64
    });
    let mut g = Gcra::new(Quota::per_second(1_000_000).unwrap());
    time("Gcra allowed from 100 s", |i| {
        g.try_acquire(black_box(100_000_000_000 + i * 1000), 1)
            .is_ok() as u64
    });
    let mut g = Gcra::new(Quota::per_second(1_000_000).unwrap());
    time("Gcra allowed from 1 s", |i| {
        g.try_acquire(black_box(1_000_000_000 + i * 1000), 1)
            .is_ok() as u64
    });
    // governor with its fake clock at a fixed offset, advanced by hand
    use governor::clock::FakeRelativeClock;
    let clock = FakeRelativeClock::default();
    clock.advance(std::time::Duration::from_secs(100));
    let gov = governor::RateLimiter::direct_with_clock(
        governor::Quota::per_second(std::num::NonZeroU32::new(1_000_000).unwrap())
            .allow_burst(std::num::NonZeroU32::MIN),
        clock.clone(),
    );
    time("governor allowed (clock.advance + check)", |_| {
        clock.advance(std::time::Duration::from_micros(1));
        gov.check().is_ok() as u64
    });
    time("governor denied (check)", |_| gov.check().is_ok() as u64);
    let mc = pacer_core::ManualClock::new();
    time("ManualClock::advance", |_| {
        mc.advance(std::time::Duration::from_micros(1))
    });
    time("FakeRelativeClock::advance", |_| {
        clock.advance(std::time::Duration::from_micros(1));
        0
    });
}

/// A mimic of AtomicLimiter with the proposed exact-nanosecond fast path (T = period / count
/// whole), same API shape: Result<(at, before, after), at>.
pub struct Fast {
    t: u64,
    burst: u32,
    tat: std::sync::atomic::AtomicU64,
}

impl Fast {
    #[inline(never)]
    pub fn reserve_within(
        &self,
        now: u64,
        cells: u32,
        max_wait: std::time::Duration,
    ) -> Result<(u64, u64, u64), u64> {
        use std::sync::atomic::Ordering;
        if cells == 0 {
            return Ok((now, 0, 0));
        }
        if cells > self.burst {
            return Err(u64::MAX);
        }
        let last = now.saturating_add(u64::try_from(max_wait.as_nanos()).unwrap_or(u64::MAX));
        let mut before = self.tat.load(Ordering::Acquire);
        loop {
            let ahead = before.checked_add(u64::from(cells) * self.t).ok_or(0u64)?;
            let due = ahead.saturating_sub(u64::from(self.burst) * self.t);
            let at = if due <= now { now } else { due };
            if at > last {
                return Err(at);
            }
            let after = before
                .max(at)
                .checked_add(u64::from(cells) * self.t)
                .ok_or(0u64)?;
            match self
                .tat
                .compare_exchange(before, after, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok((at, before, after)),
                Err(a) => before = a,
            }
        }
    }
}

#[test]
fn _unused() {}

pub fn fast_main() {
    let f = Fast {
        t: 1000,
        burst: 1,
        tat: std::sync::atomic::AtomicU64::new(0),
    };
    time("FAST mimic allowed from 100 s", |i| {
        f.reserve_within(
            black_box(100_000_000_000 + i * 1000),
            1,
            std::time::Duration::ZERO,
        )
        .is_ok() as u64
    });
    time("FAST mimic denied", |_| {
        f.reserve_within(black_box(100_000_000_000), 1, std::time::Duration::ZERO)
            .is_ok() as u64
    });
}
