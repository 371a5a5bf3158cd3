//! The conformance rule of docs/contract.md, checked on the sends themselves, in integer arithmetic.

/// A GCRA quota as plain integers: `count` cells per `period` nanoseconds, `burst` at once.
#[derive(Clone, Copy)]
pub struct Rule {
    pub count: u64,
    pub period: u64,
    pub burst: u64,
}

/// What the check found.
pub enum Verdict {
    /// Every pair of sends conforms; `busiest` is the most sends in any window of one period.
    Conforms { busiest: usize },
    /// Sends `i` and `j` (in instant order) are too close: `j - i + 1` sends in too short a time.
    TooClose { i: usize, j: usize },
    /// The log is not in instant order (a send went before an earlier one).
    OutOfOrder { i: usize },
}

/// Checks sorted send instants `p` (one cell each) against `rule`:
///
/// ```text
/// for all i < j:  (p_j - p_i + 1) · count  >  (j - i + 1 - burst) · period
/// ```
///
/// (the rounding form: instants are whole nanoseconds). Every pair is checked, O(n²) on a few
/// dozen sends. Also counts the most sends in any half-open window `[p_i, p_i + period)`,
/// which the rule bounds by `count + burst - 1`.
pub fn check(p: &[u64], rule: Rule) -> Verdict {
    if let Some(i) = (1..p.len()).find(|&i| p[i] < p[i - 1]) {
        return Verdict::OutOfOrder { i };
    }
    for j in 0..p.len() {
        for i in 0..j {
            let cells = (j - i + 1) as u128;
            let burst = u128::from(rule.burst);
            if cells <= burst {
                continue; // the right-hand side is not positive
            }
            let span = u128::from(p[j] - p[i]) + 1;
            if span * u128::from(rule.count) <= (cells - burst) * u128::from(rule.period) {
                return Verdict::TooClose { i, j };
            }
        }
    }
    let busiest = (0..p.len())
        .map(|i| {
            let end = u128::from(p[i]) + u128::from(rule.period);
            p[i..].iter().take_while(|&&x| u128::from(x) < end).count()
        })
        .max()
        .unwrap_or(0);
    Verdict::Conforms { busiest }
}
