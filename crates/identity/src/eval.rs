//! Evaluation against known truth: precision, recall and F1 of the pairs implied by clusters.
//!
//! A predicted cluster of k records implies k(k−1)/2 pairs; so does a true entity. A pair is a true
//! positive when both records are in the same predicted cluster and the same true entity.

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

/// Pairwise quality of a clustering.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub true_positives: u64,
    pub predicted_pairs: u64,
    pub true_pairs: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

fn pairs_of(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Metrics of `predicted` cluster labels against `truth` entity labels (same length, one per record).
#[must_use]
pub fn cluster_metrics<P: Hash + Eq, T: Hash + Eq>(predicted: &[P], truth: &[T]) -> Metrics {
    let mut by_pred: HashMap<&P, u64> = HashMap::new();
    let mut by_truth: HashMap<&T, u64> = HashMap::new();
    let mut by_both: HashMap<(&P, &T), u64> = HashMap::new();
    for (p, t) in predicted.iter().zip(truth) {
        *by_pred.entry(p).or_insert(0) += 1;
        *by_truth.entry(t).or_insert(0) += 1;
        *by_both.entry((p, t)).or_insert(0) += 1;
    }
    let tp: u64 = by_both.values().map(|&n| pairs_of(n)).sum();
    let pp: u64 = by_pred.values().map(|&n| pairs_of(n)).sum();
    let tt: u64 = by_truth.values().map(|&n| pairs_of(n)).sum();
    #[allow(clippy::cast_precision_loss)]
    let ratio = |a: u64, b: u64| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let (precision, recall) = (ratio(tp, pp), ratio(tp, tt));
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Metrics {
        true_positives: tp,
        predicted_pairs: pp,
        true_pairs: tt,
        precision,
        recall,
        f1,
    }
}

/// Connected components of `n` records under `edges` (plain union-find, for evaluating a pairs file).
#[must_use]
pub fn components(n: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for (a, b) in edges {
        if a < n && b < n {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    (0..n).map(|i| find(&mut parent, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_on_clusters() {
        // truth: {0,1,2} {3,4}; predicted: {0,1} {2,3,4}
        let m = cluster_metrics(&[0, 0, 1, 1, 1], &["a", "a", "a", "b", "b"]);
        assert_eq!(
            (m.true_positives, m.predicted_pairs, m.true_pairs),
            (2, 4, 4)
        );
        assert!((m.precision - 0.5).abs() < 1e-9 && (m.recall - 0.5).abs() < 1e-9);
        let perfect = cluster_metrics(&[1, 1, 2], &[7, 7, 8]);
        assert!((perfect.f1 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn components_join_edges() {
        assert_eq!(
            components(5, [(0, 1), (1, 2), (4, 3), (9, 1)]),
            vec![0, 0, 0, 3, 3]
        );
    }
}
