//! Observability: what the layer reports about each decision, and to whom.

use std::time::Duration;

/// What happened to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Admitted at once.
    Admitted,
    /// Admitted for a later instant: the request waits `wait` for it, then goes on.
    Queued {
        /// How long it waits.
        wait: Duration,
    },
    /// A queued request was given up (its client went away) before its instant; its
    /// reservations were handed back.
    Cancelled,
    /// Refused: over the limit (or, in queue mode, further away than the longest wait).
    Refused,
    /// Refused: the limit's table is full of busy keys and had no room for a new one.
    TableFull,
    /// Refused, or passed by the configured answer: the key could not be read.
    Unreadable,
    /// Refused: the limit's store failed (Redis unreachable, fail-closed).
    Unavailable,
}

/// One report: what happened, which limit decided it and in which class. It never carries
/// the key: a limit and a class are names fixed when the layer is made, so counting reports by
/// them makes a bounded number of series however many clients come.
#[derive(Clone, Copy, Debug)]
pub struct Event<'a> {
    /// What happened.
    pub outcome: Outcome,
    /// The limit that refused (or whose key was unreadable); `None` for an admission, which
    /// all limits made together.
    pub limit: Option<&'a str>,
    /// That limit's class of the request.
    pub class: Option<&'a str>,
    /// Whether the layer is in shadow mode, where nothing is refused and this reports what
    /// would have happened.
    pub shadow: bool,
}

/// Receives a report of every decision. Called on the request's task, inside the decision's
/// path: keep it short (count, or hand off).
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use pacer_tower::server::{Event, Observer, Outcome};
///
/// #[derive(Default)]
/// struct Refusals(AtomicU64);
///
/// impl Observer for Refusals {
///     fn observe(&self, event: &Event<'_>) {
///         if event.outcome == Outcome::Refused {
///             self.0.fetch_add(1, Ordering::Relaxed);
///         }
///     }
/// }
/// ```
pub trait Observer: Send + Sync + 'static {
    /// Reports one decision.
    fn observe(&self, event: &Event<'_>);
}

/// The default observer: a `tracing` event per decision, under the target
/// `pacer_tower::server`, with fields `outcome`, `limit`, `class`, `shadow` (and `wait_ms` when
/// queued). Admissions are at `TRACE`, queueing and cancels at `DEBUG`, refusals at `INFO`,
/// a full table and a failed store at `WARN`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tracing;

impl Observer for Tracing {
    fn observe(&self, event: &Event<'_>) {
        let limit = event.limit.unwrap_or("");
        let class = event.class.unwrap_or("");
        let shadow = event.shadow;
        macro_rules! report {
            ($level:expr, $outcome:expr) => {
                tracing::event!(
                    target: "pacer_tower::server",
                    $level,
                    outcome = $outcome,
                    limit,
                    class,
                    shadow
                )
            };
        }
        match event.outcome {
            Outcome::Admitted => report!(tracing::Level::TRACE, "admitted"),
            Outcome::Queued { wait } => tracing::event!(
                target: "pacer_tower::server",
                tracing::Level::DEBUG,
                outcome = "queued",
                wait_ms = wait.as_millis() as u64,
                limit,
                class,
                shadow
            ),
            Outcome::Cancelled => report!(tracing::Level::DEBUG, "cancelled"),
            Outcome::Refused => report!(tracing::Level::INFO, "refused"),
            Outcome::Unreadable => report!(tracing::Level::INFO, "unreadable"),
            Outcome::TableFull => report!(tracing::Level::WARN, "table_full"),
            Outcome::Unavailable => report!(tracing::Level::WARN, "unavailable"),
        }
    }
}
