//! Portfolio search over project sets held as bit masks (bit j = project j): the greedy sequence, exhaustive
//! enumeration, and branch and bound. Generic over the value function so that the tests can check the
//! searches on random instances against each other without running any simulation.
//!
//! **Value and ties.** Values are "more is better". Two values are equal when they differ by at most
//! `1e-12·max(1, |a|, |b|)` (superposed objectives are sums of floating-point numbers; a difference of that size
//! is round-off, not a better portfolio). Among equal values the cheaper set wins, then the set with fewer
//! projects, then the smaller mask (the projects earlier in the file) — a total order, so every search gives
//! the same answer on the same instance.
//!
//! **Budget.** A set is affordable when Σ cost ≤ budget + 1e-9·max(1, budget): a budget typed as the exact sum
//! of some costs must admit that set despite the rounding of the sum.
//!
//! **Greedy** (forward selection): from the empty set, each step adds the project with the best gain per cost,
//! g_j/c_j with g_j = V(S ∪ {j}) − V(S). A project of cost 0 has ratio +∞ if g_j > 0 (so it is taken first),
//! −∞ if g_j < 0 (last), 0 if g_j = 0. Ties in the ratio go to the larger gain, then the lower cost, then the
//! earlier project. The sequence runs until every project is placed (steps with no positive gain are still
//! ordered: they show where spending stops paying), ignoring the budget.
//!
//! **Branch and bound** (for sets too large to enumerate): depth-first over the projects in the order of their
//! single-project gain per cost, include before exclude. At a node with chosen set S (cost c) and undecided
//! projects U, let A = {j ∈ U : c_j ≤ budget − c} (the projects that could still be afforded one by one). The
//! bound is V(S ∪ A). It is an upper bound of every affordable set in the subtree **if V is monotone**
//! (V(X) ≤ V(Y) whenever X ⊆ Y: a project never makes the objective worse). That is an assumption: a project
//! whose construction load outweighs its effect in the assessed period, an interception that only moves
//! sewage to an overflow, or a diversion under the `load` objective (its water carries load past the
//! sections) break it. One pass guards against the plainly harmful ones: every j ∈ A whose removal alone
//! raises V(S ∪ A) is left out, and the bound is max(V(S ∪ A), V(S ∪ A′)) with A′ what is left (|A| + 1
//! evaluations per node). That bound is exact for V = (monotone part) − (additive harm of some projects that
//! add nothing else); in general, with non-monotone V, branch and bound may miss the optimum. Exhaustive
//! enumeration assumes nothing, so it is used whenever the set is small enough; tests/rank.rs checks branch
//! and bound against it on random monotone instances. Reference: Land, A.H. & Doig, A.G. (1960)
//! *Econometrica* 28(3), 497–520 (branch and bound); Nemhauser, G.L., Wolsey, L.A. & Fisher, M.L. (1978)
//! *Math. Programming* 14, 265–294 (greedy on monotone set functions).

use rayon::prelude::*;
use std::collections::HashMap;

/// The largest number of projects a mask can hold.
pub const MAX_PROJECTS: usize = 63;

/// The best set a search found.
#[derive(Debug, Clone, PartialEq)]
pub struct Best {
    /// The set (bit j = project j).
    pub mask: u64,
    /// Its value.
    pub value: f64,
    /// Its cost.
    pub cost: f64,
    /// Value function evaluations made.
    pub evaluations: usize,
    /// `true` when the search completed (exhaustive, or branch and bound within its evaluation limit).
    pub proven: bool,
}

/// One greedy step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Project added.
    pub project: usize,
    /// Its gain given the projects before it.
    pub gain: f64,
    /// Gain per cost (±∞ for cost 0, see the module docs).
    pub ratio: f64,
    /// Cumulative cost after the step.
    pub cost: f64,
    /// Value after the step.
    pub value: f64,
}

/// Σ cost over a mask.
pub fn mask_cost(mask: u64, costs: &[f64]) -> f64 {
    (0..costs.len())
        .filter(|&j| mask >> j & 1 == 1)
        .map(|j| costs[j])
        .fold(0.0, |a, c| a + c) // not `sum()`: an empty f64 sum is −0
}

/// Within the budget (with the round-off allowance of the module docs).
pub fn affordable(cost: f64, budget: f64) -> bool {
    cost <= budget + 1e-9 * budget.abs().max(1.0)
}

/// Values equal up to round-off.
pub fn same_value(a: f64, b: f64) -> bool {
    if !(a.is_finite() && b.is_finite()) {
        return a == b;
    }
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

/// Gain per cost with the zero-cost convention of the module docs.
pub fn ratio(gain: f64, cost: f64) -> f64 {
    if cost > 0.0 {
        gain / cost
    } else if gain > 0.0 && !same_value(gain, 0.0) {
        f64::INFINITY
    } else if gain < 0.0 && !same_value(gain, 0.0) {
        f64::NEG_INFINITY
    } else {
        0.0
    }
}

/// `true` when (v, c, m) is strictly better than (bv, bc, bm) in the order of the module docs.
fn better(v: f64, c: f64, m: u64, bv: f64, bc: f64, bm: u64) -> bool {
    if !same_value(v, bv) {
        return v > bv;
    }
    if c != bc {
        return c < bc;
    }
    if m.count_ones() != bm.count_ones() {
        return m.count_ones() < bm.count_ones();
    }
    m < bm
}

/// The greedy sequence over `costs.len()` projects (see the module docs).
pub fn greedy(costs: &[f64], value: &(dyn Fn(u64) -> f64 + Sync)) -> Vec<Step> {
    let n = costs.len();
    let mut mask = 0u64;
    let mut v = value(0);
    let mut cost = 0.0;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let cand: Vec<usize> = (0..n).filter(|&j| mask >> j & 1 == 0).collect();
        let vals: Vec<f64> = cand.par_iter().map(|&j| value(mask | 1 << j)).collect();
        let mut pick: Option<(usize, f64, f64, f64)> = None; // (j, gain, ratio, value)
        for (&j, &vj) in cand.iter().zip(&vals) {
            let g = vj - v;
            let r = ratio(g, costs[j]);
            let take = match pick {
                None => true,
                Some((bj, bg, br, _)) => {
                    if r != br && !(r.is_finite() && br.is_finite() && same_value(r, br)) {
                        r > br
                    } else if !same_value(g, bg) {
                        g > bg
                    } else if costs[j] != costs[bj] {
                        costs[j] < costs[bj]
                    } else {
                        false // earlier project kept
                    }
                }
            };
            if take {
                pick = Some((j, g, r, vj));
            }
        }
        let Some((j, g, r, vj)) = pick else { break };
        mask |= 1 << j;
        cost += costs[j];
        v = vj;
        out.push(Step {
            project: j,
            gain: g,
            ratio: r,
            cost,
            value: v,
        });
    }
    out
}

/// Every affordable subset evaluated (2^n values, in parallel).
pub fn exhaustive(costs: &[f64], budget: f64, value: &(dyn Fn(u64) -> f64 + Sync)) -> Best {
    let n = costs.len();
    let all: u64 = if n == 0 { 1 } else { 1u64 << n };
    let none = Best {
        mask: 0,
        value: f64::NEG_INFINITY,
        cost: 0.0,
        evaluations: 0,
        proven: true,
    };
    (0..all)
        .into_par_iter()
        .filter_map(|m| {
            let c = mask_cost(m, costs);
            affordable(c, budget).then(|| Best {
                mask: m,
                value: value(m),
                cost: c,
                evaluations: 1,
                proven: true,
            })
        })
        .reduce(
            || none.clone(),
            |a, b| {
                let evaluations = a.evaluations + b.evaluations;
                let mut w = if better(b.value, b.cost, b.mask, a.value, a.cost, a.mask) {
                    b
                } else {
                    a
                };
                w.evaluations = evaluations;
                w
            },
        )
}

/// Every affordable subset with its value and cost (for the cost–value frontier); 2^n entries.
pub fn all_values(costs: &[f64], value: &(dyn Fn(u64) -> f64 + Sync)) -> Vec<(u64, f64, f64)> {
    let n = costs.len();
    (0..(1u64 << n))
        .into_par_iter()
        .map(|m| (m, mask_cost(m, costs), value(m)))
        .collect()
}

/// The best set under the budget among `values` (as [`all_values`] returns), in the order of the module docs.
pub fn best_of(values: &[(u64, f64, f64)], budget: f64) -> Best {
    let mut best = Best {
        mask: 0,
        value: f64::NEG_INFINITY,
        cost: 0.0,
        evaluations: values.len(),
        proven: true,
    };
    for &(m, c, v) in values {
        if affordable(c, budget) && better(v, c, m, best.value, best.cost, best.mask) {
            best.mask = m;
            best.value = v;
            best.cost = c;
        }
    }
    best
}

/// The cost–value frontier: for every cost level, the best value of any set at most that cost, as the
/// points where the best value rises (cost ascending).
pub fn frontier(values: &[(u64, f64, f64)]) -> Vec<(f64, f64, u64)> {
    let mut v: Vec<(u64, f64, f64)> = values.to_vec();
    v.sort_by(|a, b| a.1.total_cmp(&b.1).then(b.2.total_cmp(&a.2)));
    let mut out: Vec<(f64, f64, u64)> = Vec::new();
    for (m, c, val) in v {
        if out
            .last()
            .is_none_or(|&(_, bv, _)| val > bv && !same_value(val, bv))
        {
            out.push((c, val, m));
        }
    }
    out
}

/// Branch and bound under the monotonicity assumption (module docs); stops after `max_evaluations`
/// distinct evaluations (then `proven` is false and the best set found so far is returned).
pub fn branch_and_bound(
    costs: &[f64],
    budget: f64,
    value: &(dyn Fn(u64) -> f64 + Sync),
    max_evaluations: usize,
) -> Best {
    let n = costs.len();
    let mut memo: HashMap<u64, f64> = HashMap::new();
    // order by single-project gain per cost
    let v0 = value(0);
    memo.insert(0, v0);
    let singles: Vec<f64> = (0..n).into_par_iter().map(|j| value(1 << j)).collect();
    for (j, &v) in singles.iter().enumerate() {
        memo.insert(1 << j, v);
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        ratio(singles[b] - v0, costs[b])
            .total_cmp(&ratio(singles[a] - v0, costs[a]))
            .then(a.cmp(&b))
    });
    let mut st = Bnb {
        costs,
        budget,
        value,
        memo,
        order,
        max_evaluations,
        best: Best {
            mask: 0,
            value: f64::NEG_INFINITY,
            cost: 0.0,
            evaluations: 0,
            proven: true,
        },
        stopped: false,
    };
    st.dfs(0, 0, 0.0);
    let mut best = st.best;
    best.evaluations = st.memo.len();
    best.proven = !st.stopped;
    best
}

struct Bnb<'a> {
    costs: &'a [f64],
    budget: f64,
    value: &'a (dyn Fn(u64) -> f64 + Sync),
    memo: HashMap<u64, f64>,
    order: Vec<usize>,
    max_evaluations: usize,
    best: Best,
    stopped: bool,
}

impl Bnb<'_> {
    fn val(&mut self, m: u64) -> f64 {
        if let Some(&v) = self.memo.get(&m) {
            return v;
        }
        if self.memo.len() >= self.max_evaluations {
            self.stopped = true;
        }
        let v = (self.value)(m);
        self.memo.insert(m, v);
        v
    }

    /// V(S ∪ A) after one pass that leaves out of A every project whose removal alone raises it (see the
    /// module docs).
    fn bound(&mut self, mask: u64, reach: u64) -> f64 {
        let full = self.val(mask | reach);
        let mut keep = reach;
        for j in 0..self.costs.len() {
            if reach >> j & 1 == 1 {
                let v = self.val(mask | (reach & !(1 << j)));
                if v > full && !same_value(v, full) {
                    keep &= !(1 << j);
                }
            }
        }
        if keep == reach {
            full
        } else {
            full.max(self.val(mask | keep))
        }
    }

    fn dfs(&mut self, pos: usize, mask: u64, cost: f64) {
        if self.stopped {
            return;
        }
        let v = self.val(mask);
        if affordable(cost, self.budget)
            && better(
                v,
                cost,
                mask,
                self.best.value,
                self.best.cost,
                self.best.mask,
            )
        {
            self.best.mask = mask;
            self.best.value = v;
            self.best.cost = cost;
        }
        if pos == self.order.len() {
            return;
        }
        let left = self.budget - cost;
        let reach: u64 = self.order[pos..]
            .iter()
            .filter(|&&j| affordable(self.costs[j], left))
            .fold(0, |m, &j| m | 1 << j);
        if reach == 0 {
            return;
        }
        let ub = self.bound(mask, reach);
        if !same_value(ub, self.best.value) && ub < self.best.value {
            return;
        }
        if same_value(ub, self.best.value) && cost >= self.best.cost {
            return;
        }
        let j = self.order[pos];
        if affordable(cost + self.costs[j], self.budget) {
            self.dfs(pos + 1, mask | 1 << j, cost + self.costs[j]);
        }
        self.dfs(pos + 1, mask, cost);
    }
}
