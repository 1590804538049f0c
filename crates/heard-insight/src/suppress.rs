//! Small-cell suppression for one-way tables (the cells of one customer characteristic, e.g. language = English,
//! Spanish, other, with their total), following the CMS cell-size suppression policy (no cell of 1 to k - 1
//! people shown; k = 11 by default), with complementary suppression so a hidden cell cannot be worked out from the
//! total and the shown cells.
//!
//! The rule, applied to the respondent counts n of the cells of one table:
//! 1. If the total is between 1 and k - 1, the total and every non-empty cell are hidden ([`Suppressed::SmallTotal`]).
//! 2. Otherwise every cell with 1 ≤ n < k is hidden ([`Suppressed::SmallCell`]).
//! 3. Then, while any cell is hidden and either only one non-empty cell is hidden or the hidden cells together
//!    hold fewer than k people, the smallest shown non-empty cell is hidden too ([`Suppressed::Complementary`];
//!    ties go to the first in the input order). This ends: all non-empty cells together hold the total, at least k.
//!
//! What it guarantees, for the table on its own with its total shown: every shown cell is 0 or at least k; no
//! hidden cell equals the total minus the shown cells (at least two non-empty cells are hidden whenever any is);
//! and what a reader can work out, the sum of the hidden cells (and, from the shown shares, the sum of their
//! positive answers), is itself at least k people. Empty cells are shown as 0 (a 0 discloses nobody) and never
//! used as a complement (they protect nothing).
//!
//! What it does not guarantee: protection across tables (two characteristics cross-tabulated, or the same table for
//! two periods, can be differenced; for one table shown per service and for the organization, whose cells are the
//! services' sums, use [`suppress_across`]), bounds a reader who knows this rule can infer (a
//! complementary cell is known to be at least k), or attribute disclosure inside a shown cell (a shown cell where
//! every answer is positive says so of everyone in it).

use serde::Serialize;

use crate::InsightError;

/// Why a cell is hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Suppressed {
    /// The whole table holds fewer than k people.
    SmallTotal,
    /// The cell holds 1 to k - 1 people.
    SmallCell,
    /// Hidden so that a small cell cannot be worked out from the total.
    Complementary,
}

/// The suppression of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OneWay {
    /// One entry per input cell, in input order: `None` shown, `Some(reason)` hidden.
    pub cells: Vec<Option<Suppressed>>,
    /// Whether the total may be shown (false only under [`Suppressed::SmallTotal`]).
    pub total_shown: bool,
}

impl OneWay {
    /// Whether cell `i` may be shown.
    pub fn shown(&self, i: usize) -> bool {
        self.cells[i].is_none()
    }
}

/// Applies the rule in the module documentation to `counts` (people per cell; their sum is the table's total)
/// with threshold `k` (CMS: 11).
///
/// Errors: `k` of 0 ([`InsightError::BadParameter`]).
pub fn suppress_one_way(counts: &[u64], k: u64) -> Result<OneWay, InsightError> {
    if k == 0 {
        return Err(InsightError::BadParameter {
            parameter: "k",
            reason: "the smallest cell shown must be at least 1".into(),
        });
    }
    let total: u64 = counts.iter().sum();
    if total > 0 && total < k {
        return Ok(OneWay {
            cells: counts
                .iter()
                .map(|&n| (n > 0).then_some(Suppressed::SmallTotal))
                .collect(),
            total_shown: false,
        });
    }
    let mut cells: Vec<Option<Suppressed>> = counts
        .iter()
        .map(|&n| (n > 0 && n < k).then_some(Suppressed::SmallCell))
        .collect();
    // Each pass hides one more cell, so there are at most counts.len() passes.
    for _ in 0..counts.len() {
        let hidden: Vec<usize> = (0..counts.len()).filter(|&i| cells[i].is_some()).collect();
        let hidden_sum: u64 = hidden.iter().map(|&i| counts[i]).sum();
        if hidden.is_empty() || (hidden.len() >= 2 && hidden_sum >= k) {
            break;
        }
        let next = (0..counts.len())
            .filter(|&i| cells[i].is_none() && counts[i] > 0)
            .min_by_key(|&i| (counts[i], i));
        match next {
            Some(i) => cells[i] = Some(Suppressed::Complementary),
            None => break,
        }
    }
    Ok(OneWay {
        cells,
        total_shown: true,
    })
}

/// The suppression of one table shown for the organization and for each of its services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Across {
    /// The organization's table (cell i is the sum of the services' cells i).
    pub org: OneWay,
    /// One per service, in input order.
    pub services: Vec<OneWay>,
}

/// Suppression consistent across the service dimension: the same one-way table (same cells, same order) shown
/// for each service and for the organization, whose cell i is the sum of the services' cells i (`services[s][i]`
/// people; every row's total, the service's and the organization's, is taken as published, as the pages show it).
///
/// Seen together the tables form a two-way table, services by cells, with the organization as its margin row, so
/// a service's hidden cell could be worked out as the organization's cell minus the other services' shown cells.
/// The rule (the CMS cell-size suppression policy, no cell of 1 to k - 1 people shown, extended with the usual
/// complementary suppression of two-way tables):
/// 1. Each table (service or organization) is suppressed on its own as [`suppress_one_way`] says.
/// 2. Then, while any of these holds, the smallest shown non-empty cell of the line it names is hidden too
///    ([`Suppressed::Complementary`]; ties: services before the organization, then input order):
///    a. a table (line across the cells, its total published) has exactly one hidden cell, or hidden cells
///    holding together fewer than k people (unless the whole table is under k: its cells are all hidden);
///    b. a cell's column (the services' cell i and the organization's cell i) has the organization's cell shown
///    and exactly one hidden service cell, or hidden service cells holding together fewer than k people — the
///    organization's figure minus the shown services' would give them;
///    c. a hidden cell can still be solved for from the published figures: in the graph whose vertices are the
///    lines (tables and columns) and whose edges are the hidden cells, its edge is a bridge (a hidden cell is
///    determined by the line sums exactly when no cycle of hidden cells passes through it). The cell is fixed
///    by hiding the smallest shown cell of its table, or of its column when its table has none.
///
///    Each step hides one more cell, so there are at most as many steps as cells.
///
/// What it guarantees, with the totals of the tables not under k shown: no hidden cell of 1 to k - 1 people
/// can be solved for from the shown cells and totals of all the tables together (a hidden cell of k or more may
/// be, when nothing else in its lines can hide it: e.g. a table with one non-empty cell), and the sum of the hidden cells of any one line that a reader can
/// work out (a table's total minus its shown cells, or the organization's cell minus the shown services') is at
/// least k people. Not guaranteed: bounds from non-negativity (a reader knows a hidden cell is at least 0 and at
/// most its line's hidden sum), sums over several lines at once, or a service whose whole table is under k
/// (its cells are hidden, but its total, where a page shows it, is the organization's minus the others').
///
/// Errors: `k` of 0, or tables of different lengths ([`InsightError::BadParameter`]).
#[allow(clippy::needless_range_loop)] // cells are addressed as (table, cell) pairs throughout
pub fn suppress_across(services: &[Vec<u64>], k: u64) -> Result<Across, InsightError> {
    let width = services.first().map_or(0, Vec::len);
    if services.iter().any(|s| s.len() != width) {
        return Err(InsightError::BadParameter {
            parameter: "services",
            reason: "every service's table must have the same cells".into(),
        });
    }
    let org: Vec<u64> = (0..width)
        .map(|i| services.iter().map(|s| s[i]).sum())
        .collect();
    // Rows: services, then the organization (row `o`).
    let mut counts: Vec<&[u64]> = services.iter().map(Vec::as_slice).collect();
    counts.push(&org);
    let o = services.len();
    let mut tables: Vec<OneWay> = counts
        .iter()
        .map(|c| suppress_one_way(c, k))
        .collect::<Result<_, _>>()?;
    let rows = counts.len();
    // The smallest shown non-empty cell among `cells`.
    let smallest = |tables: &[OneWay], cells: &mut dyn Iterator<Item = (usize, usize)>| {
        cells
            .filter(|&(r, i)| tables[r].shown(i) && counts[r][i] > 0)
            .min_by_key(|&(r, i)| (counts[r][i], r, i))
    };
    for _ in 0..rows * width + 1 {
        let mut next = None;
        // a. Each table on its own.
        for r in 0..rows {
            if !tables[r].total_shown {
                continue;
            }
            let hidden: Vec<usize> = (0..width).filter(|&i| !tables[r].shown(i)).collect();
            let sum: u64 = hidden.iter().map(|&i| counts[r][i]).sum();
            if !hidden.is_empty() && (hidden.len() == 1 || sum < k) {
                next = smallest(&tables, &mut (0..width).map(|i| (r, i)));
                if next.is_some() {
                    break;
                }
            }
        }
        // b. Each column, when the organization's cell is shown.
        if next.is_none() {
            for i in 0..width {
                if !tables[o].shown(i) {
                    continue;
                }
                let hidden: Vec<usize> = (0..o).filter(|&r| !tables[r].shown(i)).collect();
                let sum: u64 = hidden.iter().map(|&r| counts[r][i]).sum();
                if !hidden.is_empty() && (hidden.len() == 1 || sum < k) {
                    next = smallest(&tables, &mut (0..rows).map(|r| (r, i)));
                    if next.is_some() {
                        break;
                    }
                }
            }
        }
        // c. A hidden cell its lines' sums still determine.
        if next.is_none() {
            let edges: Vec<(usize, usize)> = (0..rows)
                .flat_map(|r| (0..width).map(move |i| (r, i)))
                .filter(|&(r, i)| !tables[r].shown(i) && counts[r][i] > 0)
                .collect();
            let open: Vec<bool> = tables.iter().map(|t| !t.total_shown).collect();
            for &(r, i) in &edges {
                if bridge(&edges, (r, i), &open, width) {
                    next = smallest(&tables, &mut (0..width).map(|j| (r, j)))
                        .or_else(|| smallest(&tables, &mut (0..rows).map(|q| (q, i))));
                    if next.is_some() {
                        break;
                    }
                }
            }
        }
        match next {
            Some((r, i)) => tables[r].cells[i] = Some(Suppressed::Complementary),
            None => break,
        }
    }
    let org = tables.pop().expect("the organization's table");
    Ok(Across {
        org,
        services: tables,
    })
}

/// Whether hidden cell `cut` is a bridge of the graph whose vertices are the lines (tables `0..rows`, columns
/// `rows..rows + width`) and whose edges are the hidden cells `edges`: no other path of hidden cells joins its
/// table to its column. A table whose total is hidden (`open[r]`) gives no equation: its vertex is one
/// shared "free" vertex, through which any path closes.
fn bridge(edges: &[(usize, usize)], cut: (usize, usize), open: &[bool], width: usize) -> bool {
    let rows = open.len();
    let free = rows + width;
    let vertex = |r: usize| if open[r] { free } else { r };
    let mut seen = vec![false; rows + width + 1];
    let start = vertex(cut.0);
    if start == free {
        return false;
    }
    let mut stack = vec![start];
    seen[start] = true;
    while let Some(v) = stack.pop() {
        for &(r, i) in edges {
            if (r, i) == cut {
                continue;
            }
            let (a, b) = (vertex(r), rows + i);
            let w = if a == v {
                b
            } else if b == v {
                a
            } else {
                continue;
            };
            if !seen[w] {
                seen[w] = true;
                stack.push(w);
            }
        }
    }
    !seen[rows + cut.1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(counts: &[u64]) -> Vec<bool> {
        suppress_one_way(counts, 11)
            .unwrap()
            .cells
            .iter()
            .map(Option::is_some)
            .collect()
    }

    #[test]
    fn nothing_hidden_when_every_cell_is_large_or_empty() {
        assert_eq!(hidden(&[11, 200, 0]), vec![false, false, false]);
    }

    #[test]
    fn one_small_cell_takes_the_next_smallest_with_it() {
        let s = suppress_one_way(&[500, 4, 30, 12], 11).unwrap();
        assert_eq!(
            s.cells,
            vec![
                None,
                Some(Suppressed::SmallCell),
                None,
                Some(Suppressed::Complementary)
            ]
        );
        assert!(s.total_shown);
    }

    #[test]
    fn hidden_cells_together_reach_k() {
        // 2 and 3 are both small, but together only 5: the next smallest (40) goes too.
        assert_eq!(hidden(&[2, 3, 40, 90]), vec![true, true, true, false]);
        // 5 and 8 together are 13 ≥ 11: enough.
        assert_eq!(hidden(&[5, 8, 40, 90]), vec![true, true, false, false]);
        // Empty cells are never the complement.
        assert_eq!(
            hidden(&[0, 5, 0, 90, 20]),
            vec![false, true, false, false, true]
        );
    }

    #[test]
    fn small_total_hides_everything() {
        let s = suppress_one_way(&[3, 0, 4], 11).unwrap();
        assert!(!s.total_shown);
        assert_eq!(
            s.cells,
            vec![
                Some(Suppressed::SmallTotal),
                None,
                Some(Suppressed::SmallTotal)
            ]
        );
        assert!(suppress_one_way(&[1], 0).is_err());
    }

    #[test]
    fn guarantee_holds_on_every_small_table() {
        // Every table of up to 4 cells with counts from a small alphabet: check the documented guarantee.
        let values = [0u64, 1, 5, 10, 11, 12, 30];
        let k = 11;
        let mut tables = vec![vec![]];
        for _ in 0..4 {
            tables = tables
                .into_iter()
                .flat_map(|t: Vec<u64>| {
                    values.iter().map(move |&v| {
                        let mut t = t.clone();
                        t.push(v);
                        t
                    })
                })
                .collect();
            for t in &tables {
                let s = suppress_one_way(t, k).unwrap();
                let total: u64 = t.iter().sum();
                if !s.total_shown {
                    assert!(total > 0 && total < k);
                    continue;
                }
                let hidden: Vec<usize> = (0..t.len()).filter(|&i| !s.shown(i)).collect();
                for i in 0..t.len() {
                    if s.shown(i) {
                        assert!(t[i] == 0 || t[i] >= k, "{t:?}");
                    } else {
                        assert!(t[i] > 0, "{t:?}");
                    }
                }
                if !hidden.is_empty() {
                    assert!(hidden.len() >= 2, "{t:?}");
                    assert!(hidden.iter().map(|&i| t[i]).sum::<u64>() >= k, "{t:?}");
                }
            }
        }
    }

    /// Every hidden cell and every line's hidden sum a reader of all the tables can work out, checked by brute
    /// force: a hidden cell is determined when no other non-negative assignment of the hidden cells gives the
    /// same published figures (searched over small perturbations along each line).
    fn check_across(services: &[Vec<u64>], k: u64) -> Across {
        let a = suppress_across(services, k).unwrap();
        let width = services[0].len();
        let org: Vec<u64> = (0..width)
            .map(|i| services.iter().map(|s| s[i]).sum())
            .collect();
        let mut all: Vec<(&[u64], &OneWay)> = services
            .iter()
            .map(Vec::as_slice)
            .zip(a.services.iter())
            .collect();
        all.push((&org, &a.org));
        for (c, t) in &all {
            for i in 0..width {
                if t.shown(i) {
                    assert!(c[i] == 0 || c[i] >= k, "{services:?} {a:?}");
                }
            }
            if t.total_shown {
                let hidden: Vec<usize> = (0..width).filter(|&i| !t.shown(i)).collect();
                assert!(hidden.len() != 1 || c[hidden[0]] >= k, "{services:?} {a:?}");
                assert!(
                    hidden.is_empty() || hidden.iter().map(|&i| c[i]).sum::<u64>() >= k,
                    "{services:?} {a:?}"
                );
            }
        }
        // Organization minus shown services, per column.
        for i in 0..width {
            if a.org.shown(i) {
                let hidden: Vec<usize> = (0..services.len())
                    .filter(|&s| !a.services[s].shown(i))
                    .collect();
                let sum: u64 = hidden.iter().map(|&s| services[s][i]).sum();
                assert!(hidden.is_empty() || sum >= k, "{services:?} {a:?}");
                assert!(
                    hidden.len() != 1 || services[hidden[0]][i] >= k,
                    "{services:?} {a:?}"
                );
            }
        }
        // No hidden cell is a bridge (so none is determined by the published sums).
        let rows = services.len() + 1;
        let edges: Vec<(usize, usize)> = (0..rows)
            .flat_map(|r| (0..width).map(move |i| (r, i)))
            .filter(|&(r, i)| !all[r].1.shown(i) && all[r].0[i] > 0)
            .collect();
        let open: Vec<bool> = all.iter().map(|(_, t)| !t.total_shown).collect();
        for &e in edges.iter().filter(|&&(r, i)| all[r].0[i] < k) {
            assert!(!bridge(&edges, e, &open, width), "{services:?} {a:?} {e:?}");
        }
        a
    }

    #[test]
    fn one_hidden_service_cell_is_not_left_to_subtraction() {
        // The reviewer's case: Passport hides "Twice" (4 people); without more, the organization's 4 + 20 + 30
        // minus the other services' 20 and 30 gives it.
        let services = vec![vec![40, 4, 25], vec![30, 20, 30], vec![50, 30, 40]];
        let a = check_across(&services, 11);
        assert_eq!(a.services[0].cells[1], Some(Suppressed::SmallCell));
        // Something else in the "Twice" column is hidden too, or the organization's "Twice" is.
        let column_hidden = (0..3).filter(|&s| !a.services[s].shown(1)).count();
        assert!(column_hidden >= 2 || !a.org.shown(1));
    }

    #[test]
    fn two_hidden_service_cells_summing_under_k_are_protected() {
        // 3 and 4 are both small in their services, and 7 < 11 together: the organization's column would give
        // their sum.
        let services = vec![vec![3, 50, 40], vec![4, 60, 30], vec![30, 20, 25]];
        let a = check_across(&services, 11);
        assert!(!a.services[0].shown(0) && !a.services[1].shown(0));
        let sum: u64 = (0..3)
            .filter(|&s| !a.services[s].shown(0))
            .map(|s| services[s][0])
            .sum();
        assert!(!a.org.shown(0) || sum >= 11);
    }

    #[test]
    fn table_totals_count_as_published() {
        // A service whose whole table is under k: its cells are all hidden, and the organization's cells minus
        // the other service's would give each of them.
        let services = vec![vec![2, 3, 1], vec![40, 50, 60], vec![30, 20, 25]];
        let a = check_across(&services, 11);
        assert!(!a.services[0].total_shown);
        // Nothing small ever shown, in any table.
        assert!(
            a.org.cells.iter().all(Option::is_none)
                || a.org.cells.iter().filter(|c| c.is_some()).count() >= 2
        );
        // Differing lengths are refused.
        assert!(suppress_across(&[vec![1, 2], vec![3]], 11).is_err());
        assert!(suppress_across(&[vec![1, 2]], 0).is_err());
    }

    #[test]
    fn across_guarantee_holds_on_small_grids() {
        let values = [0u64, 2, 9, 12, 40];
        let mut checked = 0;
        // Every 2-by-3 and 3-by-2 grid over the alphabet (5^6 each).
        for (rows, width) in [(2usize, 3usize), (3, 2)] {
            let cells = rows * width;
            for code in 0..values.len().pow(cells as u32) {
                let mut c = code;
                let grid: Vec<Vec<u64>> = (0..rows)
                    .map(|_| {
                        (0..width)
                            .map(|_| {
                                let v = values[c % values.len()];
                                c /= values.len();
                                v
                            })
                            .collect()
                    })
                    .collect();
                // A service whose whole table is under k is out of scope (see the rule's documentation).
                if grid
                    .iter()
                    .all(|r| !(1..11).contains(&r.iter().sum::<u64>()))
                {
                    check_across(&grid, 11);
                    checked += 1;
                }
            }
        }
        assert!(checked > 5usize.pow(6));
    }
}
