//! The order the groups are laid out in, four to a block: groups whose mass can reach the same reaches side
//! by side, so that a reach skips as many blocks as can be (an order changes no bit of the result).

use super::groups::Groups;
use super::lane::W;
use crate::hydraulics::Hydraulics;
use crate::model::{InitialState, Model, Series};
use crate::network::Network;
use crate::transport::options::{TransportError, TransportOptions};

/// The order a tagged run lays the groups out in (`order[position] = group`): groups whose mass can reach the same
/// reaches side by side, so that the blocks of [`W`] groups a reach skips (`TagLane::act`) are as many as
/// can be. The order changes no bit of any group: every block's arithmetic is per lane, and the one thing
/// shared across groups, the split weight β of a face, is a minimum over all groups (zero rows cannot
/// bind it), whatever their order.
///
/// Where a group's mass can go: from its sources' reaches, its inflows' and outlets' nodes (and
/// everywhere for a non-zero uniform initial state), downstream through each reach end that water leaves
/// by in some flow period and into each reach that takes water from a node in some period. Dispersion
/// across nodes and the steps between periods are not followed: this is only a heuristic for speed.
/// Blocks are then filled greedily: the group reaching most reaches not yet placed starts a block, and
/// each next member is the one that adds fewest reaches to the block's union (ties: the one sharing
/// most, then the lower index); groups that reach nothing come last.
pub fn group_layout(net: &Network, hyd: &Hydraulics, groups: &[Model]) -> Vec<usize> {
    if groups.len() <= W {
        return (0..groups.len()).collect();
    }
    let nonzero = |v: &[Series]| v.iter().any(|x| !matches!(x, Series::Const(0.0)));
    let seeds: Vec<Seeds> = groups
        .iter()
        .map(|m| Seeds {
            everywhere: matches!(&m.initial, InitialState::Values(v) if v.iter().any(|&x| x != 0.0)),
            reaches: m
                .outfalls
                .iter()
                .filter(|o| nonzero(o.discharge.mass_series()))
                .map(|o| o.reach)
                .chain(
                    m.line_loads
                        .iter()
                        .filter(|l| nonzero(&l.kg_per_day))
                        .map(|l| l.reach),
                )
                .chain(
                    (0..net.n_reaches)
                        .filter(|&r| m.reaches[r].release_g_m2_day.iter().any(|&x| x > 0.0)),
                )
                .collect(),
            nodes: m
                .inflows
                .iter()
                .filter(|i| nonzero(&i.concentration))
                .map(|i| i.node)
                .chain((0..net.n_nodes).filter(|&n| nonzero(&m.nodes[n].concentration)))
                .collect(),
        })
        .collect();
    layout_by_footprint(net, hyd, &groups[0], &seeds)
}

/// The order [`run_responses`] lays the groups out in: as [`group_layout`], each response's footprint
/// starting where the group differs from the total (`Groups::sources_of`, `inflows_of`, `outlet_differs`;
/// everywhere when their initial states differ other than through their sources).
pub fn response_layout(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    opts: &TransportOptions,
    groups: &[Model],
) -> Result<Vec<usize>, TransportError> {
    if groups.len() <= W {
        return Ok((0..groups.len()).collect());
    }
    let gs = Groups::new(model, net, hyd, opts.chunk_cells, groups, true)?;
    let lay = &gs.lays[groups.len()];
    let np = model.pollutants.len();
    let seeds = (0..groups.len())
        .map(|g| {
            let mut sd = Seeds {
                everywhere: match (&groups[g].initial, &model.initial) {
                    (InitialState::Steady, InitialState::Steady)
                    | (InitialState::Zero, InitialState::Zero) => false,
                    (a, b) => a != b,
                },
                reaches: Vec::new(),
                nodes: Vec::new(),
            };
            for p in 0..np {
                sd.reaches.extend(
                    gs.sources_of(g, p)
                        .into_iter()
                        .map(|(m, k)| gs.lays[m].sources[k].reach),
                );
                for (k, &n) in lay.node_seq.iter().enumerate() {
                    if !gs.inflows_of(g, k, p).is_empty() || gs.outlet_differs(g, n, p) {
                        sd.nodes.push(n);
                    }
                }
            }
            sd
        })
        .collect::<Vec<_>>();
    Ok(layout_by_footprint(net, hyd, model, &seeds))
}

/// Where a group's mass enters: everywhere, or in these reaches and at these nodes.
struct Seeds {
    everywhere: bool,
    reaches: Vec<usize>,
    nodes: Vec<usize>,
}

/// The layout of [`group_layout`] from each group's seeds (`model` gives the reaches' end nodes).
fn layout_by_footprint(
    net: &Network,
    hyd: &Hydraulics,
    model: &Model,
    seeds: &[Seeds],
) -> Vec<usize> {
    let ng = seeds.len();
    let (nr, nn) = (net.n_reaches, net.n_nodes);
    let reaches = &model.reaches;
    // which way water moves through each reach end in any period
    let (mut out_to, mut out_from, mut in_from, mut in_to) = (
        vec![false; nr],
        vec![false; nr],
        vec![false; nr],
        vec![false; nr],
    );
    for f in &hyd.periods {
        for r in 0..nr {
            let (first, last) = (
                f.face_flow_m3s[net.first_face[r]],
                f.face_flow_m3s[net.first_face[r] + net.n_cells_of(r)],
            );
            out_to[r] |= last > 0.0;
            in_to[r] |= last < 0.0;
            out_from[r] |= first < 0.0;
            in_from[r] |= first > 0.0;
        }
    }
    let mut takes: Vec<Vec<usize>> = vec![Vec::new(); nn];
    for (r, rc) in reaches.iter().enumerate() {
        if in_from[r] {
            takes[rc.from].push(r);
        }
        if in_to[r] {
            takes[rc.to].push(r);
        }
    }
    let words = nr.div_ceil(64);
    let footprint = |sd: &Seeds| -> Vec<u64> {
        let mut fp = vec![0u64; words];
        if sd.everywhere {
            fp.iter_mut().for_each(|w| *w = u64::MAX);
            return fp;
        }
        let (mut seen_node, mut stack_r, mut stack_n) =
            (vec![false; nn], Vec::<usize>::new(), Vec::<usize>::new());
        stack_r.extend(&sd.reaches);
        stack_n.extend(&sd.nodes);
        loop {
            if let Some(r) = stack_r.pop() {
                if fp[r / 64] >> (r % 64) & 1 == 1 {
                    continue;
                }
                fp[r / 64] |= 1 << (r % 64);
                if out_to[r] {
                    stack_n.push(reaches[r].to);
                }
                if out_from[r] {
                    stack_n.push(reaches[r].from);
                }
            } else if let Some(n) = stack_n.pop() {
                if !std::mem::replace(&mut seen_node[n], true) {
                    stack_r.extend(&takes[n]);
                }
            } else {
                break;
            }
        }
        fp
    };
    let fps: Vec<Vec<u64>> = seeds.iter().map(footprint).collect();
    let count = |v: &[u64]| v.iter().map(|w| w.count_ones() as usize).sum::<usize>();
    let mut left: Vec<usize> = (0..ng).filter(|&g| count(&fps[g]) > 0).collect();
    let mut order = Vec::with_capacity(ng);
    while !left.is_empty() {
        let seed = (0..left.len())
            .max_by_key(|&i| (count(&fps[left[i]]), std::cmp::Reverse(left[i])))
            .expect("a group is left");
        let mut union = fps[left[seed]].clone();
        order.push(left.remove(seed));
        for _ in 1..W {
            let Some(best) = (0..left.len()).min_by_key(|&i| {
                let fp = &fps[left[i]];
                let added: usize = fp
                    .iter()
                    .zip(&union)
                    .map(|(a, u)| (a & !u).count_ones() as usize)
                    .sum();
                let shared: usize = fp
                    .iter()
                    .zip(&union)
                    .map(|(a, u)| (a & u).count_ones() as usize)
                    .sum();
                (added, std::cmp::Reverse(shared), left[i])
            }) else {
                break;
            };
            for (u, a) in union.iter_mut().zip(&fps[left[best]]) {
                *u |= a;
            }
            order.push(left.remove(best));
        }
    }
    order.extend((0..ng).filter(|&g| count(&fps[g]) == 0));
    order
}
