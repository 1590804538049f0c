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
//! What it does not guarantee: protection across tables (two characteristics cross-tabulated, the same table for
//! two periods or two overlapping services can be differenced), bounds a reader who knows this rule can infer (a
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
}
