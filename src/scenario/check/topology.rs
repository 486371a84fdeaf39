//! The network as a whole: bed levels from slopes, and the checks that need every node and reach (an outlet,
//! every part of the network connected to one).
//!
//! Bed levels from slopes: node inverts are known from `bed_m` where given, else outlets are at 0.0 m; the
//! inverts then spread breadth-first across reaches that give a slope S (the from-node's invert is the
//! to-node's plus S·L, or the reverse); nodes still unknown start a new spread at 0.0 m. A reach with a slope
//! has bed_down_m = invert(to) and bed_up_m = bed_down_m + S·L. A reach with neither slope nor levels has a
//! flat bed (S = 0).

use super::super::parse::{Loc, RawScenario};
use super::checker::Checker;
use super::reach_keys::Bed;
use crate::model::{Node, NodeKind, Reach, Structure};
use std::collections::{HashMap, VecDeque};

/// What joins the nodes, for the checks of connected parts.
pub(super) struct Links<'a> {
    /// The reaches.
    pub reaches: &'a [Reach],
    /// The structures.
    pub structures: &'a [Structure],
    /// Unsteady hydraulics.
    pub unsteady: bool,
    /// Unsteady hydraulics from still water (`[initial] level_m`): no part needs an outlet.
    pub still_water: bool,
}

/// Outlets, connected parts, held levels. Steady hydraulics (and the steady initial state of unsteady
/// hydraulics) need an outlet in every part joined by reaches, and a held level at every node joined by
/// structures alone; unsteady hydraulics from still water need neither (a closed polder is valid).
pub(super) fn network_checks(
    c: &mut Checker,
    rs: &RawScenario,
    top: &Loc,
    nodes: &[Node],
    links: &Links,
    ends_ok: &[bool],
) {
    let reaches = links.reaches;
    let broken_nodes = rs.any_broken("node");
    let broken_reaches = rs.any_broken("reach");
    if reaches.is_empty() && !broken_reaches {
        c.push(
            top,
            "network",
            "",
            "",
            "at least one reach ([[reaches]], network.reaches_csv or network.reaches_geojson)",
        );
    }
    if broken_nodes || links.still_water {
        return;
    }
    if !nodes.iter().any(|n| n.kind == NodeKind::Outlet) {
        c.push(
            top,
            "network",
            "",
            "",
            "at least one node of kind \"outlet\" where water leaves the network",
        );
        return;
    }
    if broken_reaches || ends_ok.iter().any(|ok| !ok) {
        return; // parts cannot be judged while some reaches have unknown ends
    }
    super::structures::structure_only_nodes(c, rs, nodes, reaches, links.structures);
    let mut only_structures = vec![true; nodes.len()];
    for r in reaches {
        only_structures[r.from] = false;
        only_structures[r.to] = false;
    }
    let mut on_a_structure = vec![false; nodes.len()];
    for s in links.structures {
        on_a_structure[s.from] = true;
        on_a_structure[s.to] = true;
    }
    for part in parts(nodes, reaches) {
        let m = &part.members;
        // a node joined by structures alone is judged by `structure_only_nodes`
        if part.outlet || (m.len() == 1 && only_structures[m[0]] && on_a_structure[m[0]]) {
            continue;
        }
        let names: Vec<&str> = m.iter().take(5).map(|&i| nodes[i].id.as_str()).collect();
        let more = if m.len() > 5 {
            format!(" … {} nodes in all", m.len())
        } else {
            String::new()
        };
        let held_txt = match (part.held, links.unsteady) {
            (true, false) => "",
            (false, false) => " and no held level (level_m)",
            (true, true) => {
                " (unsteady hydraulics from still water, [initial] level_m, need no outlet)"
            }
            (false, true) => {
                " and no held level (level_m); unsteady hydraulics from still water ([initial] level_m) \
                 need no outlet"
            }
        };
        let first = m[0];
        let loc = rs.nodes[first].loc.clone();
        c.push(
            &loc,
            &format!("node {}", nodes[first].id),
            "",
            "",
            format!(
                "a connection to an outlet: this part of the network (nodes {}{more}) is cut off from every outlet{held_txt}",
                names.join(", ")
            ),
        );
    }
}

/// A connected part of the network (reaches taken as undirected).
struct Part {
    /// Its nodes, ascending.
    members: Vec<usize>,
    /// It has an outlet.
    outlet: bool,
    /// It has a node with a held level.
    held: bool,
}

/// The connected parts (union-find), ordered by their first node.
fn parts(nodes: &[Node], reaches: &[Reach]) -> Vec<Part> {
    let n = nodes.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for r in reaches {
        let (a, c) = (find(&mut parent, r.from), find(&mut parent, r.to));
        if a != c {
            parent[a] = c;
        }
    }
    let mut by_root: HashMap<usize, Part> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        let root = find(&mut parent, i);
        let part = by_root.entry(root).or_insert_with(|| Part {
            members: Vec::new(),
            outlet: false,
            held: false,
        });
        part.outlet |= node.kind == NodeKind::Outlet;
        part.held |= node.level_m.is_some();
        part.members.push(i);
    }
    let mut parts: Vec<Part> = by_root.into_values().collect();
    parts.sort_by_key(|p| p.members[0]);
    parts
}

/// Bed levels of every reach (see the module docs for the rule).
pub(super) fn set_beds(
    reaches: &mut [Reach],
    nodes: &[Node],
    beds: &[Option<Bed>],
    ends_ok: &[bool],
    length_ok: &[bool],
) {
    let n = nodes.len();
    let mut inv: Vec<Option<f64>> = nodes.iter().map(|nd| nd.bed_m).collect();
    for (i, nd) in nodes.iter().enumerate() {
        if inv[i].is_none() && nd.kind == NodeKind::Outlet {
            inv[i] = Some(0.0);
        }
    }
    // adjacency over reaches with a slope
    let mut adj_start = vec![0usize; n + 1];
    let slope_reaches: Vec<usize> = (0..reaches.len())
        .filter(|&k| ends_ok[k] && length_ok[k] && matches!(beds[k], Some(Bed::Slope(_))))
        .collect();
    for &k in &slope_reaches {
        adj_start[reaches[k].from + 1] += 1;
        adj_start[reaches[k].to + 1] += 1;
    }
    for i in 0..n {
        adj_start[i + 1] += adj_start[i];
    }
    let mut fill = adj_start.clone();
    let mut adj = vec![0usize; adj_start[n]];
    for &k in &slope_reaches {
        for node in [reaches[k].from, reaches[k].to] {
            adj[fill[node]] = k;
            fill[node] += 1;
        }
    }
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| inv[i].is_some()).collect();
    let mut next_seed = 0;
    loop {
        while let Some(v) = queue.pop_front() {
            let hv = inv[v].unwrap_or(0.0);
            for &k in &adj[adj_start[v]..adj_start[v + 1]] {
                let r = &reaches[k];
                let Some(Bed::Slope(s)) = beds[k] else {
                    continue;
                };
                let drop = s * r.length_m;
                let (other, h) = if v == r.to {
                    (r.from, hv + drop)
                } else {
                    (r.to, hv - drop)
                };
                if inv[other].is_none() {
                    inv[other] = Some(h);
                    queue.push_back(other);
                }
            }
        }
        while next_seed < n && inv[next_seed].is_some() {
            next_seed += 1;
        }
        if next_seed >= n {
            break;
        }
        inv[next_seed] = Some(0.0);
        queue.push_back(next_seed);
    }
    for (k, r) in reaches.iter_mut().enumerate() {
        if !ends_ok[k] {
            continue;
        }
        match beds[k] {
            Some(Bed::Levels(u, d)) => {
                r.bed_up_m = u;
                r.bed_down_m = d;
            }
            Some(Bed::Slope(s)) => {
                r.bed_down_m = inv[r.to].unwrap_or(0.0);
                r.bed_up_m = r.bed_down_m + s * r.length_m;
            }
            None => {} // invalid bed keys, already reported
        }
    }
}

/// Steady hydraulics: a held level (`level_m`, or the lowest value of a `level_series`) below the lowest bed
/// at its node leaves no water there, and the march upstream would start from a negative depth (a level
/// 5 km below the bed once gave a depth of 4,922 m and a run that "met its target"). Unsteady hydraulics
/// let a tide fall below the bed at low water (the cells there dry out), so they are not checked here.
/// The lowest bed is the node's own `bed_m` or the lowest bed of the reach ends touching it.
pub(super) fn held_levels_above_beds(
    c: &mut Checker,
    rs: &RawScenario,
    nodes: &[Node],
    reaches: &[Reach],
    beds: &[Option<Bed>],
    start: Option<chrono::NaiveDateTime>,
) {
    let mut bed = vec![f64::INFINITY; nodes.len()];
    // a node beside a reach whose bed keys were refused is not judged (its bed is unknown)
    let mut known = vec![true; nodes.len()];
    for (r, b) in reaches.iter().zip(beds) {
        bed[r.from] = bed[r.from].min(r.bed_up_m);
        bed[r.to] = bed[r.to].min(r.bed_down_m);
        if b.is_none() {
            known[r.from] = false;
            known[r.to] = false;
        }
    }
    for (i, node) in nodes.iter().enumerate() {
        let Some(level) = &node.level_m else {
            continue;
        };
        let lowest_bed = node.bed_m.map_or(bed[i], |b| b.min(bed[i]));
        let (field, low, when) = match level {
            crate::model::Series::Const(v) => ("level_m", *v, String::new()),
            crate::model::Series::Table {
                times_s, values, ..
            } => {
                let k = (0..values.len())
                    .min_by(|&a, &b| values[a].total_cmp(&values[b]))
                    .unwrap_or(0);
                let at = match start {
                    Some(s) => format!(
                        "{}",
                        s + chrono::Duration::milliseconds((times_s[k] * 1e3) as i64)
                    ),
                    None => format!("{} s after the start", times_s[k]),
                };
                ("level_series", values[k], format!(" (its lowest, at {at})"))
            }
        };
        if !(known[i] && lowest_bed.is_finite() && low < lowest_bed) {
            continue;
        }
        let it = &rs.nodes[i];
        let lab = super::super::parse::label("node", Some(&node.id), it.ord);
        c.push(
            &it.loc,
            &lab,
            field,
            format!("{low} m{when}"),
            format!(
                "a level at or above the node's bed, {lowest_bed} m: steady hydraulics hold this level for a \
                 whole flow period and below the bed there is no water (a tide may fall below the bed only \
                 in unsteady hydraulics, [simulation] hydraulics = \"unsteady\")"
            ),
        );
    }
}
