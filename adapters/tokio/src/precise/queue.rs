//! `WaiterQueue`: the sleeps of one [`PreciseTimer`](super::PreciseTimer), ordered by
//! deadline, each with the waker to call when it is due.
//!
//! pacer's reservations make deadlines arrive almost in order, so a new waiter nearly always
//! goes at the back and the due ones leave from the front: a `VecDeque` kept sorted, which
//! reuses its buffer and allocates only when it grows.

use std::collections::{TryReserveError, VecDeque};
use std::task::Waker;
use std::time::{Duration, Instant};

/// Where a sleep sits in the queue: its deadline, then the order it joined in (so sleeps with
/// one deadline are woken in the order they joined).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Ticket {
    deadline: Instant,
    joined: u64,
}

/// A waiting sleep.
#[derive(Debug)]
struct Waiter {
    ticket: Ticket,
    waker: Waker,
}

/// Sleeps ordered by deadline.
#[derive(Debug, Default)]
pub(crate) struct WaiterQueue {
    waiters: VecDeque<Waiter>,
    joined: u64,
}

impl WaiterQueue {
    /// Adds a sleep until `deadline` that `waker` wakes. Returns its ticket, and whether it is
    /// now the earliest (so the alarm must be set for it).
    pub(crate) fn insert(&mut self, deadline: Instant, waker: Waker) -> (Ticket, bool) {
        let ticket = Ticket {
            deadline,
            joined: self.joined,
        };
        self.joined += 1;
        // The common case first: a deadline no earlier than the last goes at the back (its
        // ticket is the newest, so it sorts after any equal deadline).
        let at = match self.waiters.back() {
            Some(last) if last.ticket.deadline <= deadline => self.waiters.len(),
            _ => self.position(ticket),
        };
        self.waiters.insert(at, Waiter { ticket, waker });
        (ticket, at == 0)
    }

    /// Gives the sleep holding `ticket` the waker `waker`, putting the one it had, if
    /// different, in `dropped` (for the caller to drop once it holds no lock). Returns `false`
    /// if that sleep is not queued.
    pub(crate) fn update(
        &mut self,
        ticket: Ticket,
        waker: &Waker,
        dropped: &mut Vec<Waker>,
    ) -> bool {
        let at = self.position(ticket);
        match self.waiters.get_mut(at) {
            Some(waiter) if waiter.ticket == ticket => {
                if !waiter.waker.will_wake(waker) {
                    dropped.push(std::mem::replace(&mut waiter.waker, waker.clone()));
                }
                true
            }
            _ => false,
        }
    }

    /// Takes out the sleep holding `ticket`, putting its waker in `dropped`. Returns whether it
    /// was the earliest (so the alarm must move to the next one), or `None` if it is not
    /// queued.
    pub(crate) fn remove(&mut self, ticket: Ticket, dropped: &mut Vec<Waker>) -> Option<bool> {
        let at = self.position(ticket);
        match self.waiters.get(at) {
            Some(waiter) if waiter.ticket == ticket => {
                let waiter = self.waiters.remove(at)?;
                dropped.push(waiter.waker);
                Some(at == 0)
            }
            _ => None,
        }
    }

    /// Takes out every sleep whose deadline is `now` or earlier, earliest first, and puts
    /// its waker in `due` (for the caller to wake once it holds no lock). Returns how many.
    pub(crate) fn take_due(&mut self, now: Instant, due: &mut Vec<Waker>) -> usize {
        let count = self.position(Ticket {
            deadline: now,
            joined: u64::MAX,
        });
        due.extend(self.waiters.drain(..count).map(|waiter| waiter.waker));
        count
    }

    /// Takes out every sleep, due or not, and puts its waker in `due`.
    pub(crate) fn take_all(&mut self, due: &mut Vec<Waker>) {
        due.extend(self.waiters.drain(..).map(|waiter| waiter.waker));
    }

    /// The earliest deadline, if any sleep waits.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.waiters.front().map(|waiter| waiter.ticket.deadline)
    }

    /// When the alarm should ring to serve the earliest sleeps with at most `slack` of
    /// lateness: the latest deadline no more than `slack` after the earliest one (the earliest
    /// itself when `slack` is zero). Every sleep due by then is woken together.
    pub(crate) fn ring_at(&self, slack: Duration) -> Option<Instant> {
        let earliest = self.next_deadline()?;
        if slack.is_zero() {
            return Some(earliest);
        }
        let within = match earliest.checked_add(slack) {
            Some(bound) => self.position(Ticket {
                deadline: bound,
                joined: u64::MAX,
            }),
            // A slack beyond what `Instant` holds: every sleep is within it.
            None => self.waiters.len(),
        };
        // At least the earliest sleep is within the bound, so `within` is at least 1.
        self.waiters
            .get(within.saturating_sub(1))
            .map(|waiter| waiter.ticket.deadline)
    }

    /// Makes room for at least `additional` more sleeps than wait now.
    pub(crate) fn reserve(&mut self, additional: usize) -> Result<(), TryReserveError> {
        self.waiters.try_reserve(additional)
    }

    /// How many sleeps wait.
    pub(crate) fn len(&self) -> usize {
        self.waiters.len()
    }

    /// The index of the first waiter at or after `ticket`.
    fn position(&self, ticket: Ticket) -> usize {
        self.waiters
            .partition_point(|waiter| waiter.ticket < ticket)
    }
}

impl Ticket {
    /// The deadline of the sleep holding this ticket.
    pub(crate) fn deadline(self) -> Instant {
        self.deadline
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;
    use std::time::Duration;

    use super::*;

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count::default());
        (count.clone(), Waker::from(count))
    }

    /// Takes the due sleeps out and wakes them.
    fn wake_due(queue: &mut WaiterQueue, now: Instant) -> usize {
        let mut due = Vec::new();
        let count = queue.take_due(now, &mut due);
        due.into_iter().for_each(Waker::wake);
        count
    }

    fn ms(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    #[test]
    fn due_sleeps_leave_in_deadline_order_and_join_order_within_one_deadline() {
        let base = Instant::now();
        let mut queue = WaiterQueue::default();
        let wakes: Vec<_> = (0..4).map(|_| counter()).collect();
        // Joined out of order: 3 ms, 1 ms, 3 ms, 2 ms.
        let (_, head) = queue.insert(ms(base, 3), wakes[0].1.clone());
        assert!(head, "the first sleep is the earliest");
        let (_, head) = queue.insert(ms(base, 1), wakes[1].1.clone());
        assert!(head, "an earlier deadline becomes the earliest");
        let (_, head) = queue.insert(ms(base, 3), wakes[2].1.clone());
        assert!(!head);
        let (_, head) = queue.insert(ms(base, 2), wakes[3].1.clone());
        assert!(!head);
        assert_eq!(queue.next_deadline(), Some(ms(base, 1)));

        let woken = |wakes: &[(Arc<Count>, Waker)]| -> Vec<usize> {
            wakes
                .iter()
                .map(|(c, _)| c.0.load(Ordering::Relaxed))
                .collect()
        };
        assert_eq!(
            wake_due(&mut queue, ms(base, 1) - Duration::from_nanos(1)),
            0
        );
        assert_eq!(
            wake_due(&mut queue, ms(base, 2)),
            2,
            "1 ms and 2 ms, inclusive"
        );
        assert_eq!(woken(&wakes), [0, 1, 0, 1]);
        assert_eq!(queue.next_deadline(), Some(ms(base, 3)));
        assert_eq!(wake_due(&mut queue, ms(base, 3)), 2);
        assert_eq!(woken(&wakes), [1, 1, 1, 1]);
        assert_eq!((queue.len(), queue.next_deadline()), (0, None));
    }

    #[test]
    fn a_removed_sleep_is_never_woken_and_says_whether_it_was_the_earliest() {
        let base = Instant::now();
        let mut queue = WaiterQueue::default();
        let (first_count, first) = counter();
        let (second_count, second) = counter();
        let (a, _) = queue.insert(ms(base, 1), first);
        let (b, _) = queue.insert(ms(base, 1), second);
        let mut dropped = Vec::new();
        assert_eq!(
            queue.remove(b, &mut dropped),
            Some(false),
            "the second of two at one deadline is not the earliest"
        );
        assert_eq!(
            queue.remove(b, &mut dropped),
            None,
            "a second removal finds nothing"
        );
        assert_eq!(queue.remove(a, &mut dropped), Some(true));
        assert_eq!(dropped.len(), 2, "both wakers are handed out to be dropped");
        assert_eq!(wake_due(&mut queue, ms(base, 5)), 0);
        assert_eq!(first_count.0.load(Ordering::Relaxed), 0);
        assert_eq!(second_count.0.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn update_replaces_the_waker_of_a_queued_sleep_only() {
        let base = Instant::now();
        let mut queue = WaiterQueue::default();
        let (old_count, old) = counter();
        let (new_count, new) = counter();
        let (ticket, _) = queue.insert(ms(base, 1), old);
        let mut dropped = Vec::new();
        assert!(queue.update(ticket, &new.clone(), &mut dropped));
        assert!(queue.update(ticket, &new, &mut dropped));
        assert_eq!(
            dropped.len(),
            1,
            "only a different waker replaces the old one"
        );
        wake_due(&mut queue, ms(base, 1));
        assert_eq!(old_count.0.load(Ordering::Relaxed), 0);
        assert_eq!(new_count.0.load(Ordering::Relaxed), 1);
        assert!(
            !queue.update(ticket, &new, &mut dropped),
            "woken sleeps have left the queue"
        );
    }

    #[test]
    fn the_ring_serves_every_sleep_within_the_slack_of_the_earliest() {
        let base = Instant::now();
        let mut queue = WaiterQueue::default();
        assert_eq!(queue.ring_at(Duration::ZERO), None);
        let (_, waker) = counter();
        for at in [10, 11, 13, 14, 30] {
            queue.insert(ms(base, at), waker.clone());
        }
        assert_eq!(queue.ring_at(Duration::ZERO), Some(ms(base, 10)));
        assert_eq!(queue.ring_at(Duration::from_millis(1)), Some(ms(base, 11)));
        assert_eq!(
            queue.ring_at(Duration::from_micros(2_999)),
            Some(ms(base, 11))
        );
        assert_eq!(queue.ring_at(Duration::from_millis(3)), Some(ms(base, 13)));
        assert_eq!(queue.ring_at(Duration::from_millis(19)), Some(ms(base, 14)));
        assert_eq!(
            queue.ring_at(Duration::MAX),
            Some(ms(base, 30)),
            "no overflow"
        );
    }

    #[test]
    fn a_reserved_queue_takes_that_many_sleeps_without_growing() {
        let base = Instant::now();
        let mut queue = WaiterQueue::default();
        queue.reserve(100).unwrap();
        let room = queue.waiters.capacity();
        assert!(room >= 100);
        let (_, waker) = counter();
        for i in 0..100 {
            queue.insert(ms(base, i), waker.clone());
        }
        assert_eq!(
            queue.waiters.capacity(),
            room,
            "the buffer was not replaced"
        );
        assert!(queue.reserve(usize::MAX).is_err(), "an error, not a panic");
        assert_eq!(queue.len(), 100);
    }

    #[test]
    fn take_all_empties_the_queue() {
        let base = Instant::now();
        let mut queue = WaiterQueue::default();
        let (count, waker) = counter();
        for i in 0..3 {
            queue.insert(ms(base, 10 + i), waker.clone());
        }
        let mut due = Vec::new();
        queue.take_all(&mut due);
        due.into_iter().for_each(Waker::wake);
        assert_eq!(count.0.load(Ordering::Relaxed), 3);
        assert_eq!(queue.len(), 0);
    }
}
