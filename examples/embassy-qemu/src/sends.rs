//! The log of every send: the instant it went (the clock's reading when its acquisition
//! completed) and which task sent it.

use core::cell::RefCell;

use critical_section::Mutex;

/// Room for every send of a run: the radio's 10 per second with a burst of 3 over 6 s is at
/// most 62, and the mesh's three destinations at 4 per second with bursts of 2, at most 78.
pub const CAPACITY: usize = 192;

/// The sends so far, in the order they went.
pub struct Sends {
    instants: [u64; CAPACITY],
    senders: [u8; CAPACITY],
    len: usize,
    /// Sends that found the log full (none in a correct run; counted, and the run fails).
    lost: usize,
}

static SENDS: Mutex<RefCell<Sends>> = Mutex::new(RefCell::new(Sends {
    instants: [0; CAPACITY],
    senders: [0; CAPACITY],
    len: 0,
    lost: 0,
}));

/// Records a send by `sender` at `instant` (nanoseconds since boot).
pub fn record(instant: u64, sender: u8) {
    critical_section::with(|cs| {
        let mut sends = SENDS.borrow_ref_mut(cs);
        let len = sends.len;
        if len == CAPACITY {
            sends.lost += 1;
        } else {
            sends.instants[len] = instant;
            sends.senders[len] = sender;
            sends.len = len + 1;
        }
    });
}

/// Runs `f` on the log as it stands.
pub fn with<R>(f: impl FnOnce(&[u64], &[u8], usize) -> R) -> R {
    critical_section::with(|cs| {
        let sends = SENDS.borrow_ref(cs);
        f(
            &sends.instants[..sends.len],
            &sends.senders[..sends.len],
            sends.lost,
        )
    })
}
