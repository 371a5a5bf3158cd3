//! `Reconfigure`: changing a shared limiter's quota while it runs.

use crate::{Error, Quota};

/// A shared limiter whose quota can be changed at run time, through `&self`.
///
/// The change follows the reconfiguration rule of pacer's contract: reservations already made
/// keep their instants, new ones follow the new quota after them, and every pair of cells on
/// the two sides of a change conforms to the more generous of the two quotas (the higher rate
/// with the larger burst), so a change never admits more than either quota would.
///
/// Implemented by [`Locked`](crate::Locked)`<`[`Gcra`](crate::Gcra)`>` (the limiter an
/// adaptive client uses) and by references to implementors; a
/// [`Pacer`](crate::Pacer) on such a limiter has `set_quota` too.
///
/// ```
/// use pacer_core::{Gcra, Locked, Quota, RateLimiter, Reconfigure};
///
/// let limiter = Locked::new(Gcra::new(Quota::per_second(10)?));
/// assert_eq!(limiter.reserve(0, 1)?.at(), 0);
/// limiter.set_quota(0, Quota::per_second(20)?)?;
/// assert_eq!(limiter.quota(), Quota::per_second(20)?);
/// // The cell at 0 was reserved under 10/s; the next follows 20/s, after it.
/// assert_eq!(limiter.reserve(0, 1)?.at(), 50_000_000);
/// # Ok::<(), pacer_core::Error>(())
/// ```
pub trait Reconfigure {
    /// The quota in force.
    fn quota(&self) -> Quota;

    /// Changes the quota at `now` (nanoseconds since the limiter's origin). Reservations made
    /// before can no longer be cancelled.
    fn set_quota(&self, now: u64, quota: Quota) -> Result<(), Error>;
}

impl<L: Reconfigure + ?Sized> Reconfigure for &L {
    fn quota(&self) -> Quota {
        (**self).quota()
    }

    fn set_quota(&self, now: u64, quota: Quota) -> Result<(), Error> {
        (**self).set_quota(now, quota)
    }
}

#[cfg(any(feature = "std", feature = "critical-section"))]
impl Reconfigure for crate::Locked<crate::Gcra> {
    fn quota(&self) -> Quota {
        self.with(|gcra| gcra.quota())
    }

    fn set_quota(&self, now: u64, quota: Quota) -> Result<(), Error> {
        self.with(|gcra| gcra.set_quota(now, quota))
    }
}
