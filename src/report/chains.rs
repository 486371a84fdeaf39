//! Chains of reaches for the longitudinal profile plots: which reaches a river's profile runs along.
//!
//! Per `river` name, and for the whole network when no reach has one ("main stem"), the chain is a *greedy
//! walk* in the nominal direction: from a source reach (one whose `from` node no reach of the set enters),
//! always take the longest reach of the set leaving the current node (ties: the one listed last), never a
//! reach already on the chain. Of the walks from every source the longest is kept (ties: the first source).
//!
//! Cost. Walking from every source by scanning the set at every step is O(sources × depth × reaches): hours
//! on a 100,000-reach tree. Here each node's greedy successor is computed once (O(reaches)); when following
//! successors never returns to a node (always on a tree, and on any network whose greedy walks are acyclic),
//! the length of the walk from each node is memoised, `L(n) = length(next(n)) + L(to(next(n)))`, so all
//! walks together cost O(reaches). Otherwise a walk can be cut short by its no-repeat rule, the walks from
//! different sources differ, and each source is walked on its own over per-node adjacency lists
//! (O(sources × depth), no scan of the set).

use crate::model::Model;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Chains of reaches for profiles, longest first: per `river` name (names in sorted order before the sort
/// by length), or one "main stem" when no reach has a river name. Empty chains are left out.
pub fn river_chains(model: &Model) -> Vec<(String, Vec<usize>)> {
    let mut by_river: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (r, reach) in model.reaches.iter().enumerate() {
        if let Some(name) = &reach.river {
            by_river.entry(name.as_str()).or_default().push(r);
        }
    }
    let mut out: Vec<(String, Vec<usize>)> = if by_river.is_empty() {
        let all: Vec<usize> = (0..model.reaches.len()).collect();
        vec![("main stem".to_string(), longest_greedy_walk(model, &all))]
    } else {
        by_river
            .into_iter()
            .map(|(name, set)| (name.to_string(), longest_greedy_walk(model, &set)))
            .collect()
    };
    out.retain(|c| !c.1.is_empty());
    let len = |c: &[usize]| c.iter().map(|&r| model.reaches[r].length_m).sum::<f64>();
    out.sort_by(|a, b| len(&b.1).total_cmp(&len(&a.1)));
    out
}

/// The longest greedy walk through `set` (reach indices, ascending), as described in the module docs.
fn longest_greedy_walk(model: &Model, set: &[usize]) -> Vec<usize> {
    let reaches = &model.reaches;
    let mut leaving: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut entered: HashSet<usize> = HashSet::new();
    for &r in set {
        leaving.entry(reaches[r].from).or_default().push(r);
        entered.insert(reaches[r].to);
    }
    let starts: Vec<usize> = set
        .iter()
        .copied()
        .filter(|&r| !entered.contains(&reaches[r].from))
        .collect();
    // with no source (every node entered: a ring), every reach may start
    let starts = if starts.is_empty() {
        set.to_vec()
    } else {
        starts
    };
    // the greedy successor of each node: its longest leaving reach, the last of equal ones
    let next: HashMap<usize, usize> = leaving
        .iter()
        .filter_map(|(&n, out)| {
            out.iter()
                .copied()
                .max_by(|&a, &b| reaches[a].length_m.total_cmp(&reaches[b].length_m))
                .map(|r| (n, r))
        })
        .collect();
    match walk_lengths(model, &next) {
        Some(walk_m) => {
            // (a node no reach leaves has a walk of 0 m and no entry)
            let total =
                |s: usize| reaches[s].length_m + walk_m.get(&reaches[s].to).copied().unwrap_or(0.0);
            let mut best: (f64, Option<usize>) = (0.0, None);
            for &s in &starts {
                if total(s) > best.0 {
                    best = (total(s), Some(s));
                }
            }
            let Some(s) = best.1 else {
                return Vec::new();
            };
            let mut chain = vec![s];
            let mut at = reaches[s].to;
            while let Some(&r) = next.get(&at) {
                chain.push(r);
                at = reaches[r].to;
            }
            chain
        }
        None => walk_each(model, &starts, &leaving),
    }
}

/// The length of the greedy walk from every node (0 where no reach leaves), m; `None` when following the
/// greedy successors returns to a node (then walks depend on where they began).
fn walk_lengths(model: &Model, next: &HashMap<usize, usize>) -> Option<HashMap<usize, f64>> {
    let reaches = &model.reaches;
    let mut walk_m: HashMap<usize, f64> = HashMap::with_capacity(next.len() * 2);
    let mut path: Vec<usize> = Vec::new();
    let mut on_path: HashSet<usize> = HashSet::new();
    let nodes = next
        .keys()
        .copied()
        .chain(next.values().map(|&r| reaches[r].to));
    for n0 in nodes.collect::<Vec<_>>() {
        // follow successors until a node whose length is known or that has none
        let mut n = n0;
        while !walk_m.contains_key(&n) {
            let Some(&r) = next.get(&n) else {
                walk_m.insert(n, 0.0);
                break;
            };
            if !on_path.insert(n) {
                return None;
            }
            path.push(n);
            n = reaches[r].to;
        }
        // unwind: each node's walk is its greedy reach and the walk from that reach's end
        while let Some(m) = path.pop() {
            on_path.remove(&m);
            let r = next[&m];
            let rest = walk_m[&reaches[r].to];
            walk_m.insert(m, reaches[r].length_m + rest);
        }
    }
    Some(walk_m)
}

/// Walk from every start on its own (greedy, no reach twice) and keep the longest walk: for networks whose
/// greedy walks can meet themselves.
fn walk_each(model: &Model, starts: &[usize], leaving: &HashMap<usize, Vec<usize>>) -> Vec<usize> {
    let reaches = &model.reaches;
    let mut best: (f64, Vec<usize>) = (0.0, Vec::new());
    // `stamp[r] == walk number`: reach r is on the current walk
    let mut stamp: HashMap<usize, usize> = HashMap::new();
    for (w, &s) in starts.iter().enumerate() {
        let mut chain = vec![s];
        stamp.insert(s, w);
        let mut len = reaches[s].length_m;
        loop {
            let at = reaches[chain[chain.len() - 1]].to;
            let next = leaving
                .get(&at)
                .into_iter()
                .flatten()
                .copied()
                .filter(|q| stamp.get(q) != Some(&w))
                .max_by(|&a, &b| reaches[a].length_m.total_cmp(&reaches[b].length_m));
            let Some(q) = next else { break };
            len += reaches[q].length_m;
            stamp.insert(q, w);
            chain.push(q);
        }
        if len > best.0 {
            best = (len, chain);
        }
    }
    best.1
}
