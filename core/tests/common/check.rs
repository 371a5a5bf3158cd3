//! The conformance oracle of docs/contract.md, in its own integer arithmetic (u128), independent of
//! pacer-core's internals: it reads a quota only through its public getters.

use pacer_core::Quota;

/// A GCRA rule: at most `count` cells per `period` nanoseconds, `burst` back to back.
///
/// Kept as raw integers so that combinations that are not valid `Quota`s (for example "the
/// higher rate with the larger burst" of two quotas) can still be checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub count: u128,
    pub period: u128,
    pub burst: u128,
}

impl Rule {
    pub fn new(count: u64, period: u64, burst: u64) -> Rule {
        assert!(count > 0 && period > 0 && burst > 0, "degenerate rule");
        Rule {
            count: u128::from(count),
            period: u128::from(period),
            burst: u128::from(burst),
        }
    }

    /// The rule a quota promises, from its public getters only.
    pub fn of(quota: &Quota) -> Rule {
        Rule::new(
            u64::from(quota.count()),
            quota.period_nanos(),
            u64::from(quota.burst()),
        )
    }

    /// Whether this rule's rate is at least `other`'s: `c/P >= c'/P'`.
    pub fn rate_at_least(&self, other: &Rule) -> bool {
        self.count * other.period >= other.count * self.period
    }

    /// The more generous combination of two rules: the higher rate with the larger burst.
    pub fn generous(a: Rule, b: Rule) -> Rule {
        let fast = if a.rate_at_least(&b) { a } else { b };
        Rule {
            burst: a.burst.max(b.burst),
            ..fast
        }
    }
}

/// Expands acquisitions `(instant, weight)` into one instant per cell and sorts them.
///
/// All cells of one acquisition share an instant, and cells are interchangeable, so "stable,
/// ties in reservation order" is the same list as a plain sort of the instants.
pub fn cells<I: IntoIterator<Item = (u64, u32)>>(acquisitions: I) -> Vec<u64> {
    let mut out = Vec::new();
    for (at, n) in acquisitions {
        out.extend(std::iter::repeat_n(at, n as usize));
    }
    out.sort_unstable();
    out
}

/// The first violating pair `(i, j)` of the rounding form of the GCRA rule, by brute force:
/// for all `i < j`, `(p_j - p_i + 1) · count > (j - i + 1 - burst) · period`.
///
/// O(n²): the definition itself, kept to cross-check [`gcra_violation`] and for short lists.
/// `p` must be sorted.
pub fn gcra_violation_quadratic(p: &[u64], rule: Rule) -> Option<(usize, usize)> {
    assert!(p.is_sorted(), "instants must be sorted");
    for j in 0..p.len() {
        for i in 0..j {
            let cells = (j - i + 1) as u128;
            if cells <= rule.burst {
                continue; // the right-hand side is not positive; the left one is
            }
            let span = u128::from(p[j] - p[i]) + 1;
            if span * rule.count <= (cells - rule.burst) * rule.period {
                return Some((i, j));
            }
        }
    }
    None
}

/// The first violating pair of the GCRA rule (rounding form), in O(n).
///
/// Why one pass is exact: with `g(k) = p_k · count + (n - k) · period` (never negative),
///
/// ```text
///     (p_j - p_i + 1) · count > (j - i + 1 - burst) · period
/// <=> p_i·count - i·period  <  p_j·count - j·period + count + (burst - 1)·period
/// <=> g(i)                  <  g(j) + count + (burst - 1)·period
/// ```
///
/// (add `n · period` to both sides of the middle line). This is an identity between the two
/// inequalities for every pair, including those where the right-hand side of the rule is
/// negative, so no pair needs special treatment. For a fixed `j` every `i < j` passes exactly
/// when the largest `g(i)` over `i < j` does, so keeping a running maximum of `g` checks all
/// `n(n-1)/2` pairs in one scan. The violating `j` is exact; the reported `i` is the one that
/// attains the maximum (itself a violating partner).
pub fn gcra_violation(p: &[u64], rule: Rule) -> Option<(usize, usize)> {
    assert!(p.is_sorted(), "instants must be sorted");
    let n = p.len() as u128;
    let slack = rule.count + (rule.burst - 1) * rule.period;
    let g = |k: usize| u128::from(p[k]) * rule.count + (n - k as u128) * rule.period;
    let mut best: Option<(u128, usize)> = None;
    for j in 0..p.len() {
        let gj = g(j);
        if let Some((gi, i)) = best
            && gi >= gj + slack
        {
            return Some((i, j));
        }
        if best.is_none_or(|(gi, _)| gj > gi) {
            best = Some((gj, j));
        }
    }
    None
}

/// The first violating pair of the strict (unrounded) GCRA rule, in O(n):
/// `(p_j - p_i) · count >= (j - i + 1 - burst) · period`. Same derivation as
/// [`gcra_violation`] with `count` dropped from the left-hand side, i.e. `g(i) <= g(j) + (burst
/// - 1) · period`.
pub fn gcra_violation_strict(p: &[u64], rule: Rule) -> Option<(usize, usize)> {
    assert!(p.is_sorted(), "instants must be sorted");
    let n = p.len() as u128;
    let slack = (rule.burst - 1) * rule.period;
    let g = |k: usize| u128::from(p[k]) * rule.count + (n - k as u128) * rule.period;
    let mut best: Option<(u128, usize)> = None;
    for j in 0..p.len() {
        let gj = g(j);
        if let Some((gi, i)) = best
            && gi > gj + slack
        {
            return Some((i, j));
        }
        if best.is_none_or(|(gi, _)| gj > gi) {
            best = Some((gj, j));
        }
    }
    None
}

/// Panics with a readable message if sorted instants `p` break `rule` (rounding form).
#[track_caller]
pub fn assert_gcra(p: &[u64], rule: Rule, what: &str) {
    if let Some((i, j)) = gcra_violation(p, rule) {
        let lo = i.saturating_sub(3);
        let hi = (j + 3).min(p.len());
        panic!(
            "{what}: cells {i} (at {}) and {j} (at {}) break {rule:?}: {} cells in {} ns; \
             instants {lo}..{hi}: {:?}",
            p[i],
            p[j],
            j - i + 1,
            p[j] - p[i],
            &p[lo..hi]
        );
    }
}

/// The first `i` whose half-open window `[p_i, p_i + period)` holds more than `count` cells,
/// by brute force (count the cells in each window that starts at a cell; a window holding the
/// most cells can always be slid right until it starts at one).
pub fn window_violation_quadratic(p: &[u64], count: usize, period: u64) -> Option<usize> {
    assert!(p.is_sorted(), "instants must be sorted");
    (0..p.len()).find(|&i| {
        let end = u128::from(p[i]) + u128::from(period);
        p.iter()
            .filter(|&&x| x >= p[i] && u128::from(x) < end)
            .count()
            > count
    })
}

/// The first `i` whose window `[p_i, p_i + period)` holds more than `count` cells, in O(n).
///
/// Two pointers: `j` runs ahead of `i` to the first cell at or after `p_i + period`; the
/// window holds `j - i` cells. Both pointers only move forward, so the scan is linear.
pub fn window_violation(p: &[u64], count: usize, period: u64) -> Option<usize> {
    assert!(p.is_sorted(), "instants must be sorted");
    let mut j = 0;
    for i in 0..p.len() {
        let end = u128::from(p[i]) + u128::from(period);
        j = j.max(i);
        while j < p.len() && u128::from(p[j]) < end {
            j += 1;
        }
        if j - i > count {
            return Some(i);
        }
    }
    None
}

/// Panics with a readable message if sorted instants `p` put more than `count` cells into a
/// window of `period`.
#[track_caller]
pub fn assert_window(p: &[u64], count: usize, period: u64, what: &str) {
    if let Some(i) = window_violation(p, count, period) {
        let hi = (i + count + 2).min(p.len());
        panic!(
            "{what}: the window [{}, {}) holds more than {count} cells: {:?}",
            p[i],
            u128::from(p[i]) + u128::from(period),
            &p[i..hi]
        );
    }
}

/// Checks a GCRA schedule that went through changes of quota.
///
/// `cells` are `(instant, weight, epoch)` of the admitted acquisitions (any order), where
/// `epoch` indexes `rules` (the quota in force when the acquisition was made). Checks what
/// docs/contract.md promises: each epoch conforms to its own rule; the cells of every two adjacent
/// epochs (the two sides of one change) conform to the more generous combination of their
/// rules; and the whole schedule conforms to the most generous combination of all rules.
#[track_caller]
pub fn assert_gcra_epochs(cells_by_epoch: &[(u64, u32, usize)], rules: &[Rule], what: &str) {
    let epoch_cells = |range: std::ops::RangeInclusive<usize>| {
        cells(
            cells_by_epoch
                .iter()
                .filter(|c| range.contains(&c.2))
                .map(|c| (c.0, c.1)),
        )
    };
    for (e, rule) in rules.iter().enumerate() {
        assert_gcra(&epoch_cells(e..=e), *rule, &format!("{what}, epoch {e}"));
        if e + 1 < rules.len() {
            let both = Rule::generous(*rule, rules[e + 1]);
            assert_gcra(
                &epoch_cells(e..=e + 1),
                both,
                &format!("{what}, across change {e} -> {}", e + 1),
            );
        }
    }
    if let Some(all) = rules.iter().copied().reduce(Rule::generous) {
        assert_gcra(
            &epoch_cells(0..=rules.len().saturating_sub(1)),
            all,
            &format!("{what}, all epochs"),
        );
    }
}

/// Checks a sliding-window schedule that went through changes of `(count, period)`.
///
/// `acquisitions` are `(instant, weight, epoch)` of the admitted acquisitions in reservation
/// order (instants must not decrease in that order; this is asserted). What a window that
/// "keeps its log and applies the new N, P to it" promises: every window that ends at a cell
/// reserved under `configs[e]` holds at most that config's count, counting every cell
/// reserved up to it, whatever its epoch. (Windows that end at a cell of one epoch are that
/// epoch's business; a window's largest load is reached at one of its cells.)
#[track_caller]
pub fn assert_window_epochs(
    acquisitions: &[(u64, u32, usize)],
    configs: &[(u32, u64)],
    what: &str,
) {
    let mut p = Vec::new();
    let mut epoch = Vec::new();
    for &(at, n, e) in acquisitions {
        assert!(
            p.last().is_none_or(|&last| last <= at),
            "{what}: instants decrease in reservation order: {:?} then {at}",
            p.last()
        );
        p.extend(std::iter::repeat_n(at, n as usize));
        epoch.extend(std::iter::repeat_n(e, n as usize));
    }
    for j in 0..p.len() {
        let (count, period) = configs[epoch[j]];
        // The first cell inside (p_j - period, p_j]; cells are sorted.
        let first = p.partition_point(|&x| u128::from(x) + u128::from(period) <= u128::from(p[j]));
        let held = j + 1 - first;
        assert!(
            held <= count as usize,
            "{what}: the window of {period} ns ending at cell {j} (at {}, epoch {}) holds \
             {held} cells, more than {count}: {:?}",
            p[j],
            epoch[j],
            &p[first..=j]
        );
    }
    // Cross-check with the plain rule where there was no change.
    if let [(count, period)] = configs {
        assert_window(&p, *count as usize, *period, what);
    }
}
