//! The script against pacer-core's `Gcra`, step by step, on a clock the test sets.
//!
//! The two keep time on different grains (the core in units of at most 1 ns, the script in
//! fractions of 1/count ns), so an instant rounded up to a whole nanosecond may differ by
//! 1 ns between them; both keep the rule, which allows that rounding, and neither drifts.
//!
//! A copy of the script reads its clock from a hash the test writes instead of `TIME`, so
//! every decision can be compared with the core's at the same instant: clocks that step
//! forward, backwards and by hours (which moves the script's origin), bounded waits, weights
//! above the burst, cancels, looks and snapshots. The instants Redis hands out must also pass
//! the independent conformance checker.

use std::sync::Arc;
use std::time::Duration;

use pacer_core::{Gcra, GcraToken, Quota, Scheduler};
use pacer_tests::{RedisServer, XorShift, assert_conforms};
use redis::aio::ConnectionManager;

use crate::engine::{Engine, QuotaArgs};
use crate::script::{LuaScript, SOURCE};
use crate::{Error, RedisReservation};

const CLOCK: &str = "pacer-test:clock";
/// The test clock's instant 0, in seconds since the Unix epoch.
const BASE_S: u64 = 1_800_000_000;
pub(crate) const NS: u64 = 1_000_000_000;

/// The script with its clock read from the `CLOCK` hash (seconds, nanoseconds).
///
/// Its keys also live an hour longer than the script says: Redis expires them by real time,
/// which passes independently of the test clock, so on a slow run a key the test clock
/// still holds busy could otherwise expire between two steps and start afresh.
pub(crate) fn script_on_test_clock() -> Arc<LuaScript> {
    let real = "local clock = redis.call('TIME') -- the server's clock, read once\n\
                local now_s, now_ns = tonumber(clock[1]), tonumber(clock[2]) * 1000";
    let fake = "local clock = redis.call('HMGET', 'pacer-test:clock', 's', 'ns')\n\
                local now_s, now_ns = tonumber(clock[1]), tonumber(clock[2])";
    let expiry = "'PX', ttl)";
    let later = "'PX', ttl + 3600000)";
    assert!(
        SOURCE.contains(real) && SOURCE.contains(expiry),
        "the script's clock or expiry changed; update this test"
    );
    Arc::new(LuaScript::new(
        &SOURCE.replace(real, fake).replace(expiry, later),
    ))
}

pub(crate) async fn connect(server: &RedisServer) -> ConnectionManager {
    let client = redis::Client::open(server.url()).unwrap();
    ConnectionManager::new(client).await.unwrap()
}

pub(crate) fn engine(conn: &ConnectionManager, key: &str, quota: Quota) -> Engine {
    let args = QuotaArgs::new(quota).unwrap();
    Engine::with_script(
        conn.clone().into(),
        Arc::from(key),
        args,
        script_on_test_clock(),
    )
}

/// Sets the test clock to `now` ns after `BASE_S`.
pub(crate) async fn set_clock(conn: &ConnectionManager, now: u64) {
    let mut conn = conn.clone();
    let (s, ns) = (BASE_S + now / NS, now % NS);
    let () = redis::cmd("HSET")
        .arg(CLOCK)
        .arg("s")
        .arg(s)
        .arg("ns")
        .arg(ns)
        .query_async(&mut conn)
        .await
        .map(|_: i64| ())
        .unwrap();
}

/// An instant from Redis (ns since the Unix epoch) on the test clock.
pub(crate) fn local(at: u64) -> u64 {
    at - BASE_S * NS
}

pub(crate) fn quota(count: u32, period: Duration, burst: u32) -> Quota {
    Quota::new(count, period)
        .unwrap()
        .with_burst(burst)
        .unwrap()
}

pub(crate) fn quotas() -> Vec<Quota> {
    vec![
        quota(100, Duration::from_secs(1), 1),
        quota(3, Duration::from_secs(1), 1),
        quota(999_983, Duration::from_secs(1), 5),
        quota(7, Duration::from_millis(11), 3),
        quota(1, Duration::from_secs(60), 2),
        quota(1_000_000_000, Duration::from_secs(1), 4),
        quota(999_999_937, Duration::from_secs(1), 1),
    ]
}

/// Two answers agree if both admit within 1 ns of each other, or both refuse alike.
pub(crate) fn same(redis: &Result<u64, Error>, core: &Result<u64, pacer_core::Error>) -> bool {
    use pacer_core::Error::WouldWait;
    match (redis, core) {
        (Ok(a), Ok(b)) => a.abs_diff(*b) <= 1,
        (Err(Error::Limit(WouldWait { at: a })), Err(WouldWait { at: b })) => {
            local(*a).abs_diff(*b) <= 1
        }
        (Err(Error::Limit(a)), Err(b)) => a == b,
        _ => false,
    }
}

#[tokio::test]
async fn the_script_decides_as_the_core_does() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let mut off_by_one = 0;
    let mut decisions = 0;
    for (case, quota) in quotas().into_iter().enumerate() {
        let engine = engine(&conn, &format!("diff:{case}"), quota);
        let mut core = Gcra::new(quota);
        let mut rng = XorShift::new(0x5eed + case as u64);
        let interval = quota.interval().as_nanos().max(1) as u64;
        let burst = u64::from(quota.burst());
        let mut now = 10 * NS;
        // Reservations not yet cancelled, and the cells each holds.
        let mut held: Vec<(RedisReservation, pacer_core::Reservation<GcraToken>)> = Vec::new();
        let mut admitted: Vec<(u64, u32)> = Vec::new();
        for step in 0..300 {
            match rng.between(0, 99) {
                0..=39 => now += rng.between(0, 3 * interval),
                40..=44 => now = now.saturating_sub(rng.between(0, 2 * interval)),
                45 => now += 11 * 3600 * NS, // past the script's rebase age
                _ => {}
            }
            set_clock(&conn, now).await;
            let context = format!("{quota}, step {step}, now {now}");
            match rng.between(0, 9) {
                0..=5 => {
                    let cells = rng.between(0, burst + 1) as u32;
                    let max_wait = match rng.between(0, 2) {
                        0 => None,
                        _ => Some(Duration::from_nanos(rng.between(0, 3 * burst * interval))),
                    };
                    let redis = engine.reserve(cells, max_wait).await;
                    // A refusal records nothing in Redis, not even its clock reading: the
                    // model forgets it too.
                    let model = core.clone();
                    let core_answer =
                        core.reserve_within(now, cells, max_wait.unwrap_or(Duration::MAX));
                    if let Err(pacer_core::Error::WouldWait { .. }) = core_answer {
                        core = model;
                    }
                    let redis_at = redis.as_ref().map(|r| local(r.at())).map_err(clone_error);
                    let core_at = core_answer.as_ref().map(|r| r.at()).map_err(|e| *e);
                    assert!(
                        same(&redis_at, &core_at),
                        "reserve {cells} within {max_wait:?}: redis {redis_at:?}, core {core_at:?} ({context})"
                    );
                    decisions += 1;
                    if let (Ok(a), Ok(b)) = (&redis_at, &core_at) {
                        off_by_one += usize::from(a != b);
                    }
                    if let (Ok(r), Ok(c)) = (redis, core_answer)
                        && cells > 0
                    {
                        admitted.push((local(r.at()), cells));
                        held.push((r, c));
                    }
                }
                6 | 7 if !held.is_empty() => {
                    // Mostly the newest, sometimes an older one (which must return nothing).
                    let index = if rng.between(0, 2) == 0 {
                        rng.between(0, held.len() as u64 - 1) as usize
                    } else {
                        held.len() - 1
                    };
                    let (r, c) = held.remove(index);
                    let at = local(r.at());
                    let cells = r.cells();
                    let redis = engine.cancel(&r).await.unwrap();
                    let core_returned = core.cancel(c, now);
                    assert_eq!(redis, core_returned, "cancel of {at} ({context})");
                    if redis {
                        let spot = admitted.iter().rposition(|&(a, n)| (a, n) == (at, cells));
                        admitted.remove(spot.expect("a returned reservation was admitted"));
                    }
                }
                8 => {
                    let cells = rng.between(0, burst + 1) as u32;
                    let redis = engine.peek(cells).await.map(|(at, _)| local(at));
                    let core_at = core.earliest(now, cells);
                    assert!(
                        same(&redis, &core_at),
                        "peek {cells}: redis {redis:?}, core {core_at:?} ({context})"
                    );
                }
                _ => {
                    let (redis, _) = engine.snapshot().await.unwrap();
                    let core_view = core.snapshot(now);
                    assert!(
                        local(redis.earliest).abs_diff(core_view.earliest) <= 1
                            && redis.remaining.abs_diff(core_view.remaining) <= 1,
                        "snapshot: redis {redis:?}, core {core_view:?} ({context})"
                    );
                }
            }
        }
        let cells: Vec<u64> = admitted
            .iter()
            .flat_map(|&(at, n)| std::iter::repeat_n(at, n as usize))
            .collect();
        assert_conforms(&cells, quota);
    }
    eprintln!("{off_by_one} of {decisions} admitted instants differ from the core's by 1 ns");
}

/// Reserves one cell in Redis and in `core` at `now` (the test clock set to it already),
/// checks that the two agree within 1 ns, and returns Redis's instant on the test clock.
async fn reserve_one_on_both(engine: &Engine, core: &mut Gcra, now: u64, context: &str) -> u64 {
    let at = local(engine.reserve(1, None).await.unwrap().at());
    let core_at = core.reserve(now, 1).unwrap().at();
    assert!(at.abs_diff(core_at) <= 1, "{context}: {at}, core {core_at}");
    at
}

pub(crate) fn clone_error(error: &Error) -> Error {
    match error {
        Error::Limit(e) => Error::Limit(*e),
        other => Error::Unexpected(other.to_string()),
    }
}

#[tokio::test]
async fn a_long_saturated_run_keeps_the_exact_schedule() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    // 999,983 per second: T = 1,000,017.000289... ns, never a whole number. A limiter that
    // accounted each cell at its instant rounded up would fall behind by up to 1 ns a cell,
    // up to 20 us over this run.
    let quota = quota(999_983, Duration::from_secs(1), 1);
    let engine = engine(&conn, "saturated", quota);
    let start = 7 * NS;
    set_clock(&conn, start).await;
    let mut core = Gcra::new(quota);
    let cells = 20_000u64;
    let mut last = 0;
    for k in 0..cells {
        last = reserve_one_on_both(&engine, &mut core, start, &format!("cell {k}")).await;
    }
    // The first cell goes at `start`; the schedule after it is the exact one anchored just
    // after start - 1 ns (the earliest exact instant that rounds up to `start`), so the last
    // cell is within 1 ns of start + (cells - 1) · T, and no drift accumulates.
    let exact = u128::from(start) * 999_983 + u128::from(cells - 1) * 1_000_000_000;
    let exact = (exact / 999_983) as u64;
    assert!(
        last.abs_diff(exact) <= 1,
        "last cell at {last}, exact {exact}"
    );
}

#[tokio::test]
async fn the_origin_moves_without_moving_the_schedule() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let quota = quota(3, Duration::from_secs(1), 1);
    let engine = engine(&conn, "rebase", quota);
    let mut core = Gcra::new(quota);
    // Each reading, in order: three cells a third of a second apart; 11 hours on, past the
    // age at which the script moves its origin, a backlog of two; an hour back, which must
    // read as the latest reading seen.
    let start = NS;
    let later = start + 11 * 3600 * NS + 5;
    for now in [start, start, start, later, later, later - 3600 * NS] {
        set_clock(&conn, now).await;
        reserve_one_on_both(&engine, &mut core, now, &format!("at reading {now}")).await;
    }
    let next = local(engine.peek(1).await.unwrap().0);
    assert!(
        next.abs_diff(later + 1_000_000_000) <= 1,
        "next cell at {next}"
    );
}

#[tokio::test]
async fn a_quota_change_keeps_the_design_s_three_cases() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    const MS: u64 = 1_000_000;
    let per_second = |count, burst| quota(count, Duration::from_secs(1), burst);
    let at = |r: Result<RedisReservation, Error>| local(r.unwrap().at());

    // Idle: the new quota starts fresh.
    let engine = engine(&conn, "change:idle", per_second(10, 1));
    set_clock(&conn, 0).await;
    assert_eq!(at(engine.reserve(1, None).await), 0);
    set_clock(&conn, 150 * MS).await;
    let engine = engine
        .set_quota(QuotaArgs::new(per_second(10, 3)).unwrap())
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            at(engine.reserve(1, None).await),
            150 * MS,
            "a fresh burst of 3"
        );
    }
    assert_eq!(at(engine.reserve(1, None).await), 250 * MS);

    // No backlog: half a cell is still in the bucket at 50 ms, which under 20/s is 25 ms:
    // TAT' = now + ((TAT - now) / T) · T' = 50 ms + 0.5 · 50 ms.
    let engine = self::engine(&conn, "change:bucket", per_second(10, 1));
    set_clock(&conn, 0).await;
    assert_eq!(at(engine.reserve(1, None).await), 0);
    set_clock(&conn, 50 * MS).await;
    let engine = engine
        .set_quota(QuotaArgs::new(per_second(20, 1)).unwrap())
        .await
        .unwrap();
    assert_eq!(at(engine.reserve(1, None).await), 75 * MS);
    assert_eq!(at(engine.reserve(1, None).await), 125 * MS);

    // Backlog: cells at 0, 100, 200 ms (E = 200 ms); under 20/s burst 2 the bucket is full
    // at E: TAT' = E + 2 · 50 ms, so one cell at 250 ms, then 50 ms apart, never 3 at once.
    let engine = self::engine(&conn, "change:backlog", per_second(10, 1));
    set_clock(&conn, 0).await;
    for k in 0..3 {
        assert_eq!(at(engine.reserve(1, None).await), k * 100 * MS);
    }
    let old = self::engine(&conn, "change:backlog", per_second(10, 1));
    let engine = engine
        .set_quota(QuotaArgs::new(per_second(20, 2)).unwrap())
        .await
        .unwrap();
    assert_eq!(at(engine.reserve(1, None).await), 250 * MS);
    assert_eq!(at(engine.reserve(1, None).await), 300 * MS);
    assert_eq!(at(engine.reserve(2, None).await), 400 * MS);

    // A client still on the old quota is told, and records nothing.
    match old.reserve(1, None).await {
        Err(Error::QuotaMismatch { stored, .. }) => assert_eq!(stored, "20:1000000000:2"),
        other => panic!("expected a quota mismatch, got {other:?}"),
    }
    assert_eq!(at(engine.reserve(1, None).await), 450 * MS);
}

#[tokio::test]
async fn random_quota_changes_follow_the_core_and_never_crowd_the_cells() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let quotas = quotas();
    let mut rng = XorShift::new(77);
    let mut core_ahead = 0;
    for round in 0..40 {
        let key = format!("change:random:{round}");
        let first = quotas[rng.between(0, quotas.len() as u64 - 1) as usize];
        let second = quotas[rng.between(0, quotas.len() as u64 - 1) as usize];
        let mut engine = engine(&conn, &key, first);
        let mut core = Gcra::new(first);
        let mut now = NS;
        let mut before = Vec::new();
        let mut after = Vec::new();
        for step in 0..40 {
            if step == 20 {
                set_clock(&conn, now).await;
                engine = engine
                    .set_quota(QuotaArgs::new(second).unwrap())
                    .await
                    .unwrap();
                core.set_quota(now, second).unwrap();
            }
            let quota = engine.quota();
            now += rng.between(0, 2 * quota.interval().as_nanos() as u64);
            set_clock(&conn, now).await;
            let cells = rng.between(1, u64::from(quota.burst())) as u32;
            let at = local(engine.reserve(cells, None).await.unwrap().at());
            let core_at = core.reserve(now, cells).unwrap().at();
            // Before the change the two agree within the 1 ns of their grains. After it the
            // core may be later still: it rounds the bucket's occupancy up to its own units,
            // which the new quota's longer interval can scale to more than 1 ns. The script
            // computes the design's formula in fractions of 1/count' ns, so it must never be
            // later than the core; the conformance checks below bound it from the other side.
            let context = format!("{first} then {second}, step {step}: {at}, core {core_at}");
            if step < 20 {
                assert!(at.abs_diff(core_at) <= 1, "{context}");
            } else {
                assert!(at <= core_at + 1, "{context}");
                core_ahead = core_ahead.max(core_at.saturating_sub(at));
            }
            let side = if step < 20 { &mut before } else { &mut after };
            side.extend(std::iter::repeat_n(at, cells as usize));
        }
        let context = format!("{first} then {second}");
        assert!(
            before.last() <= after.first(),
            "instants went back across the change ({context})"
        );
        assert_conforms(&before, first);
        assert_conforms(&after, second);
        // Across the change: the higher rate with the larger burst.
        let (fast, slow) = if first.interval() <= second.interval() {
            (first, second)
        } else {
            (second, first)
        };
        let generous = fast.with_burst(fast.burst().max(slow.burst())).unwrap();
        let all: Vec<u64> = before.iter().chain(&after).copied().collect();
        assert_conforms(&all, generous);
    }
    eprintln!("after a change the core was at most {core_ahead} ns later than the script");
}

#[tokio::test]
async fn a_change_rescales_a_bucket_of_the_widest_range_exactly() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    // One cell per 2^50 ns (13 days), the longest the engine takes, changed half way to
    // 3 per (2^50 - 7) ns: the rescaled bucket is δ · p' / p, a product near 2^99 before the
    // division, which Lua's doubles can only hold in pieces.
    let period = 1u64 << 50;
    let old = Quota::new(1, Duration::from_nanos(period)).unwrap();
    let new_period = period - 7;
    let new = Quota::new(3, Duration::from_nanos(new_period)).unwrap();
    let engine = engine(&conn, "change:wide", old);
    set_clock(&conn, 0).await;
    assert_eq!(local(engine.reserve(1, None).await.unwrap().at()), 0);
    let now = period / 2 + 12_345;
    set_clock(&conn, now).await;
    let engine = engine
        .set_quota(QuotaArgs::new(new).unwrap())
        .await
        .unwrap();
    // TAT' = now + ceil(δ · p' / p) / 3 ns, δ = p - now, so the next cell goes at its ceiling.
    let delta = u128::from(period - now);
    let thirds = (delta * u128::from(new_period)).div_ceil(u128::from(period));
    let expected = now + thirds.div_ceil(3) as u64;
    assert_eq!(local(engine.reserve(1, None).await.unwrap().at()), expected);
}

#[tokio::test]
async fn a_change_rounds_a_rescaled_bucket_up_by_its_last_bit() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    // The same change to a new period p' chosen so that δ · p' is 1 more than a multiple of
    // p = 2^50: the exact δ · p' / p is a whole number plus 2^-50, which a double's 53 bits
    // cannot see, and rounding up must still give the next nanosecond.
    let period = 1u64 << 50;
    let now = period / 2 + 12_345;
    let delta = period - now; // odd, so it has an inverse modulo 2^50
    let mut inverse = delta;
    for _ in 0..6 {
        inverse = inverse.wrapping_mul(2u64.wrapping_sub(delta.wrapping_mul(inverse)));
    }
    let new_period = inverse & (period - 1);
    assert_eq!(
        (u128::from(delta) * u128::from(new_period)) % u128::from(period),
        1
    );
    let old = Quota::new(1, Duration::from_nanos(period)).unwrap();
    let new = Quota::new(1, Duration::from_nanos(new_period)).unwrap();
    let engine = engine(&conn, "change:last-bit", old);
    set_clock(&conn, 0).await;
    assert_eq!(local(engine.reserve(1, None).await.unwrap().at()), 0);
    set_clock(&conn, now).await;
    let engine = engine
        .set_quota(QuotaArgs::new(new).unwrap())
        .await
        .unwrap();
    let whole = (u128::from(delta) * u128::from(new_period) / u128::from(period)) as u64;
    assert_eq!(
        local(engine.reserve(1, None).await.unwrap().at()),
        now + whole + 1
    );
}

#[tokio::test]
async fn a_table_pause_moves_a_key_s_instants_exactly_and_a_key_s_own_pause_runs_on_its_clock() {
    use crate::engine::PauseEnd;
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let on_table = |key: &str| {
        engine(&conn, key, quota(10, Duration::from_secs(1), 1))
            .with_table(Some(Arc::from("exact-table")))
    };
    let (key, other) = (on_table("exact:k"), on_table("exact:other"));
    let ms = 1_000_000;
    set_clock(&conn, 0).await;
    let mut receipts = Vec::new();
    for _ in 0..3 {
        receipts.push(key.reserve(1, None).await.unwrap());
    }
    let instants: Vec<u64> = receipts.iter().map(|r| local(r.at())).collect();
    assert_eq!(instants, [0, 100 * ms, 200 * ms]);

    // At 50 ms the whole table pauses until 1 s: 950 ms of the table's clock stand still.
    set_clock(&conn, 50 * ms).await;
    let (extended, end, now) = key
        .pause_table(Some(PauseEnd::At(BASE_S * NS + NS)))
        .await
        .unwrap();
    assert!(extended);
    assert_eq!((local(end), local(now)), (NS, 50 * ms));
    set_clock(&conn, 500 * ms).await;
    assert_eq!(
        key.pending(&receipts[0]).await.unwrap(),
        None,
        "passed before"
    );
    for (receipt, was) in receipts.iter().zip(&instants).skip(1) {
        let (at, shift) = key.pending(receipt).await.unwrap().unwrap();
        assert_eq!(local(at), was + 950 * ms, "moved by exactly the pause");
        assert_eq!(shift, 950 * ms as i64);
    }
    // A key never seen queues at the pause's end, and a bounded wait refuses at it.
    assert_eq!(local(other.reserve(1, None).await.unwrap().at()), NS);
    match key.reserve(1, Some(Duration::from_millis(100))).await {
        Err(Error::Limit(pacer_core::Error::WouldWait { at })) => {
            assert_eq!(local(at), 1_250 * ms)
        }
        other => panic!("expected WouldWait, got {other:?}"),
    }

    // After the pause the key's own pause of 100 ms, made at 1.3 s, runs on the table's
    // clock; a second table pause, 1.35 s to 1.55 s, stops it too, so the key resumes 200 ms
    // after its own end: at 1.6 s.
    set_clock(&conn, 1_300 * ms).await;
    let (extended, end, _) = key
        .pause(PauseEnd::After(Duration::from_millis(100)))
        .await
        .unwrap();
    assert!(extended);
    assert_eq!(local(end), 1_400 * ms);
    set_clock(&conn, 1_350 * ms).await;
    key.pause_table(Some(PauseEnd::At(BASE_S * NS + 1_550 * ms)))
        .await
        .unwrap();
    let (_, end, _) = key.pause(PauseEnd::After(Duration::ZERO)).await.unwrap();
    assert_eq!(local(end), 1_600 * ms);
    let (_, table_end, _) = key.pause_table(None).await.unwrap();
    assert_eq!(local(table_end), 1_550 * ms);
}

/// A key on a table paused long ago decides exactly as a key of no table on a clock that
/// much behind: the table's clock is the server's less its shift, and every instant comes
/// back moved by the shift, to the nanosecond (an odd shift, so that the borrows between
/// seconds and nanoseconds are exercised), through reservations, bounded waits, tries,
/// looks, snapshots, cancels, clocks that step back and the origin's rebase.
#[tokio::test]
async fn a_key_on_a_paused_table_decides_as_one_on_the_table_s_clock() {
    use crate::engine::PauseEnd;
    let Some(server) = RedisServer::start() else {
        return;
    };
    let conn = connect(&server).await;
    let shift = 1_234_567_891u64;
    let mut compared = 0;
    for (case, quota) in quotas().into_iter().enumerate() {
        let table = format!("diff-table:{case}");
        let on_table = engine(&conn, &format!("diff-a:{case}"), quota)
            .with_table(Some(Arc::from(table.as_str())));
        let plain = engine(&conn, &format!("diff-b:{case}"), quota);
        set_clock(&conn, 0).await;
        let (extended, _, _) = on_table
            .pause_table(Some(PauseEnd::At(BASE_S * NS + shift)))
            .await
            .unwrap();
        assert!(extended);
        let mut rng = XorShift::new(0x7ab1e + case as u64);
        let interval = quota.interval().as_nanos().max(1) as u64;
        let mut now = shift + 10 * NS;
        // Reservations not yet cancelled, of the table's key and of the other.
        let mut held: [Vec<RedisReservation>; 2] = [Vec::new(), Vec::new()];
        for step in 0..150 {
            match rng.between(0, 9) {
                0..=3 => now += rng.between(0, 3 * interval),
                4 => now = now.saturating_sub(rng.between(0, interval)).max(shift),
                5 if step % 50 == 0 => now += 11 * 3600 * NS, // past the origin's rebase
                _ => {}
            }
            let context = format!("case {case} step {step} at {now}");
            let cells = rng.between(0, u64::from(quota.burst()) + 1) as u32;
            let max_wait = match rng.between(0, 2) {
                0 => None,
                _ => Some(Duration::from_nanos(rng.between(0, 3 * interval))),
            };
            let op = rng.between(0, 9);
            // What each engine answers, the table's with its instants moved back by the shift.
            let mut answers = Vec::new();
            let sides = [(&on_table, now, shift), (&plain, now - shift, 0)];
            for (side, (engine, clock, back)) in sides.into_iter().enumerate() {
                set_clock(&conn, clock).await;
                let answer = match op {
                    0..=4 => match engine.reserve(cells, max_wait).await {
                        Ok(reservation) => {
                            let at = (reservation.at() - back, reservation.decided_at() - back);
                            held[side].push(reservation);
                            format!("reserved {at:?}")
                        }
                        Err(Error::Limit(pacer_core::Error::WouldWait { at })) => {
                            format!("would wait {}", at - back)
                        }
                        Err(error) => format!("{error:?}"),
                    },
                    5 => match engine.try_reserve(cells).await {
                        Ok(Ok(())) => "taken".to_string(),
                        Ok(Err(refusal)) => format!("refused {}", refusal.at - back),
                        Err(error) => format!("{error:?}"),
                    },
                    6 => format!("{:?}", engine.peek(cells).await.map(|(at, _)| at - back)),
                    7 => format!(
                        "{:?}",
                        engine.snapshot().await.map(|(s, n)| (
                            s.remaining,
                            s.earliest - back,
                            n - back
                        ))
                    ),
                    _ => match held[side].pop() {
                        Some(newest) => format!("{:?}", engine.cancel(&newest).await),
                        None => "nothing held".to_string(),
                    },
                };
                answers.push(answer);
            }
            assert_eq!(answers[0], answers[1], "{context}: op {op}, {cells} cells");
            compared += 1;
        }
    }
    assert!(compared > 1_000);
}
