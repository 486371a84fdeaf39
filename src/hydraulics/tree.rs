//! Steady hydraulics on a tree: flows by continuity, depths by a backwater march upstream.
//!
//! Applies when the undirected network is a forest and each component has exactly one *sink*: one outlet
//! node or one node holding a level (an outlet with a level counts once).
//!
//! **Flows.** Each component is rooted at its sink. Leaves first, the flow leaving node n towards the sink is
//! Q_n = inject_n + Σ (flows delivered by the reaches draining into n); along the reach that carries it, face
//! flows follow from the upstream-end flow by adding each cell's lateral inflow (m³/s). Face flows are signed
//! in the reach's nominal direction, so a reach drawn against the flow carries negative flow.
//!
//! **Depths.** The sink's level is its held level, or at a free outfall the bed plus Manning's normal depth of
//! the flow leaving there (critical depth on a flat or adverse bed). Every reach is then marched UPSTREAM from
//! the level at its downstream node by integrating the gradually-varied-flow equation (Chow 1959, eq. 9-13)
//!
//!   dy/ds = (S0 − Sf) / (1 − Fr²),   Sf = Q·|Q|/K(y)²,   Fr² = Q²·T(y)/(g·A(y)³),
//!
//! with s the distance in the direction of flow towards the sink (m), y the depth (m), S0 = −dz_b/ds the bed
//! slope, K = A·R^(2/3)/n the conveyance (m³/s). It is integrated by classical fourth-order Runge–Kutta, one
//! step per half cell (error O((Δx/ℓ)⁴) with ℓ = y/|S0 − Sf| the profile's length scale: with 50 m steps and
//! ℓ of kilometres, below a micrometre); the flow is constant on each half cell (the downstream half carries the downstream
//! face's flow, so a cell's lateral inflow enters at its centre). On a flat bed (S0 = 0), where no normal depth
//! exists, the same equation gives the backwater rise. With Q = 0 the level stays flat (dy/ds = S0). The level
//! at a junction is the water surface at the upstream end of its downstream reach; every reach entering it
//! starts its march there. Depths never fall below `min_depth_m` (a warning names the reach).
//!
//! A level below the critical depth of the flow leaving a reach (a level below the bed among them) cannot
//! hold the water: the reach's end is then a free overfall and its profile starts from critical depth (at a
//! held level a warning names the reach; at a junction a tributary falling into a lower river is normal). Where the depth rises upstream (Sf > S0: the H2, A2 and M2 profiles above a free overfall,
//! whose outlet depth is critical, or above a low held level) and a distance step would raise it by more than 2%, the
//! march goes by depth instead: distance as a function of depth, dX/dy = (1 − Fr²)/(Sf − S0), is regular at
//! critical depth where dy/ds is infinite (the direct step method, Chow 1959, §10-3), integrated by Simpson's
//! rule in depth steps of 2% and inverted by bisection where a half cell ends. Elsewhere, near-critical flow
//! (Fr² > 0.9) limits the denominator to 0.1 and is reported: the method is for subcritical plain rivers.

use super::period::{
    Geo, PeriodInputs, ReachFlags, accumulate_faces, end_bed_m, finish, free_outfall_level_m,
};
use super::{FlowField, HydraulicsError, HydraulicsOptions};
use crate::model::{Model, NodeKind, Reach};
use crate::network::Network;
use rayon::prelude::*;

const G: f64 = 9.80665;

/// Runge–Kutta steps per half cell.
const RK_STEPS_PER_HALF_CELL: usize = 1;

/// Depth step of the march by depth, relative to the depth; also the largest relative rise a distance step
/// may make before the march goes by depth.
const DEPTH_STEP_REL: f64 = 0.02;

/// A wave of independent reach marches with fewer cells than this runs on the calling thread (a parallel
/// dispatch costs more than it saves on a few reaches; a deep chain-like tree has many small waves).
const PAR_MIN_CELLS: usize = 256;

/// Smallest number of reaches one parallel task marches.
const PAR_MIN_REACHES: usize = 8;

/// Whether the tree solver applies: the undirected graph is a forest and every component has exactly one
/// outlet node or node with a held level.
pub fn applies(model: &Model, net: &Network) -> bool {
    if !net.is_forest {
        return false;
    }
    let mut count = vec![0u32; net.n_components];
    for (n, node) in model.nodes.iter().enumerate() {
        if node.kind == NodeKind::Outlet || node.level_m.is_some() {
            count[net.node_component[n]] += 1;
        }
    }
    count.iter().all(|&c| c == 1)
}

/// Solve one period on a tree. Falls back to the looped solver if the network is not a tree with one sink per
/// component (see [`applies`]).
pub fn solve(
    model: &Model,
    net: &Network,
    opts: &HydraulicsOptions,
    t0_s: f64,
    t1_s: f64,
    warnings: &mut Vec<String>,
) -> Result<FlowField, HydraulicsError> {
    if !applies(model, net) {
        return super::looped::solve(model, net, opts, t0_s, t1_s, warnings);
    }
    let inp = PeriodInputs::new(model, net, t0_s, t1_s);
    let nn = net.n_nodes;
    const NONE: usize = usize::MAX;

    // root every component at its sink; BFS order has parents before children
    let mut boundary = vec![false; nn];
    let mut order = Vec::with_capacity(nn);
    let mut parent_link = vec![NONE; nn];
    // BFS depth (0 at the sinks): `order` is sorted by it, so equal depths form contiguous waves
    let mut depth = vec![0usize; nn];
    let mut seen = vec![false; nn];
    for (n, node) in model.nodes.iter().enumerate() {
        if node.kind == NodeKind::Outlet || node.level_m.is_some() {
            boundary[n] = true;
            seen[n] = true;
            order.push(n);
        }
    }
    let mut head = 0;
    while head < order.len() {
        let n = order[head];
        head += 1;
        for &r in net.out_of(n).iter().chain(net.into(n)) {
            let reach = &model.reaches[r];
            let other = if reach.from == n {
                reach.to
            } else {
                reach.from
            };
            if !seen[other] {
                seen[other] = true;
                parent_link[other] = r;
                depth[other] = depth[n] + 1;
                order.push(other);
            }
        }
    }
    if order.len() != nn {
        // cannot happen when `applies` holds; keep the looped solver as the safe answer
        return super::looped::solve(model, net, opts, t0_s, t1_s, warnings);
    }

    // flows, leaves first
    let mut acc = inp.node_inject_m3s.clone();
    let mut face = vec![0.0; net.n_faces()];
    for &n in order.iter().rev() {
        let l = parent_link[n];
        if l == NONE {
            continue;
        }
        let reach = &model.reaches[l];
        let faces = net.faces_of(l);
        let lat = &inp.cell_lateral_m3s[net.cells_of(l)];
        let (q0, down) = if reach.from == n {
            (acc[n], reach.to)
        } else {
            (-(acc[n] + inp.reach_lateral_m3s[l]), reach.from)
        };
        accumulate_faces(&mut face[faces.clone()], lat, q0);
        let delivered = if reach.from == n {
            face[faces.end - 1]
        } else {
            -face[faces.start]
        };
        acc[down] += delivered;
    }

    // levels: sinks, then march upstream
    let mut level = vec![0.0; nn];
    let mut critical = false;
    let mut overfall = ReachFlags::new(net.n_reaches);
    for n in 0..nn {
        if !boundary[n] {
            continue;
        }
        // the flow leaving through reach r's end at n
        let outflow = |r: usize| {
            let f = net.faces_of(r);
            if model.reaches[r].to == n {
                face[f.end - 1]
            } else {
                -face[f.start]
            }
        };
        level[n] = match inp.held_level_m[n] {
            Some(h) => {
                // a level below the critical depth of what leaves makes the outlet a free overfall: the
                // march (by depth) then starts from critical depth
                for &r in net.out_of(n).iter().chain(net.into(n)) {
                    let yc = model.reaches[r].section.critical_depth_m(outflow(r));
                    if h - end_bed_m(model, r, n) < yc {
                        overfall.set(r);
                    }
                }
                h
            }
            None => free_outfall_level_m(model, net, n, opts.min_depth_m, outflow, &mut critical),
        };
    }
    overfall.warn(
        model,
        t0_s,
        "the held level at the downstream end is below the critical depth of the flow leaving (the outlet \
         is a free overfall; the profile starts from critical depth)",
        warnings,
    );
    if critical {
        let when = super::period::when(model, t0_s);
        warnings.push(format!(
            "hydraulics, period starting {when}: a free outfall on a flat or adverse bed has no normal \
             depth; critical depth used there"
        ));
    }
    let mut cell_depth = vec![0.0; net.n_cells];
    let mut clamped = ReachFlags::new(net.n_reaches);
    let mut near_critical = ReachFlags::new(net.n_reaches);
    {
        // each reach's cells as its own mutable slice (cells are laid out reach after reach in
        // `net.reach_order`), so the reaches of one wave can be marched in parallel
        let mut slots: Vec<Option<&mut [f64]>> = (0..net.n_reaches).map(|_| None).collect();
        let mut rest: &mut [f64] = &mut cell_depth;
        for &r in &net.reach_order {
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(net.reach_n_cells[r]);
            slots[r] = Some(mine);
            rest = tail;
        }
        // one wave = the nodes at one BFS depth: their reaches' downstream levels are all known, and the
        // marches are independent, so their order (and the thread count) cannot change a bit. The loop runs
        // on a pool thread, so each wave's split costs a local fork, not a wake-up of a blocked caller.
        let level = &mut level;
        let (clamped, near_critical) = (&mut clamped, &mut near_critical);
        rayon::scope(|_| {
            let mut a = 0;
            while a < order.len() {
                let mut b = a + 1;
                while b < order.len() && depth[order[b]] == depth[order[a]] {
                    b += 1;
                }
                let mut work: Vec<(usize, &mut [f64])> = order[a..b]
                    .iter()
                    .filter_map(|&n| {
                        let l = parent_link[n];
                        if l == NONE {
                            return None;
                        }
                        slots[l].take().map(|s| (n, s))
                    })
                    .collect();
                let cells: usize = work.iter().map(|(_, s)| s.len()).sum();
                let march = |(n, out): &mut (usize, &mut [f64])| {
                    let n = *n;
                    let l = parent_link[n];
                    let reach = &model.reaches[l];
                    let down = if reach.from == n {
                        reach.to
                    } else {
                        reach.from
                    };
                    let m = March {
                        reach,
                        geo: Geo::new(&reach.section, reach.manning_n),
                        net,
                        l,
                        min_depth_m: opts.min_depth_m,
                    };
                    m.run(&face, level[down], down == reach.to, out)
                };
                let results: Vec<(f64, bool, bool)> = if cells >= PAR_MIN_CELLS {
                    work.par_iter_mut()
                        .with_min_len(PAR_MIN_REACHES)
                        .map(march)
                        .collect()
                } else {
                    work.iter_mut().map(march).collect()
                };
                for ((n, _), (h_up, clamp, crit)) in work.iter().zip(results) {
                    let l = parent_link[*n];
                    level[*n] = h_up;
                    if clamp {
                        clamped.set(l);
                    }
                    if crit {
                        near_critical.set(l);
                    }
                }
                a = b;
            }
        });
    }
    clamped.warn(
        model,
        t0_s,
        &format!(
            "depth below min_depth_m = {} m (water level below the bed) clamped",
            opts.min_depth_m
        ),
        warnings,
    );
    near_critical.warn(
        model,
        t0_s,
        "near-critical flow (Froude² > 0.9): the subcritical backwater profile is approximate",
        warnings,
    );
    finish(
        model, net, inp, t0_s, t1_s, level, face, cell_depth, &boundary, 0,
    )
}

/// One reach's backwater march.
struct March<'a> {
    reach: &'a Reach,
    geo: Geo,
    net: &'a Network,
    l: usize,
    min_depth_m: f64,
}

impl March<'_> {
    /// The two factors of the GVF equation at depth `y` for flow `q` (m³/s, positive towards the downstream
    /// end): (S0 − Sf, 1 − Fr²); `None` where the section holds no water.
    #[inline]
    fn terms(&self, y: f64, q: f64, s0: f64) -> Option<(f64, f64)> {
        let y = y.max(self.min_depth_m);
        let (a, p, t) = self.geo.apt(&self.reach.section, y);
        if a <= 0.0 || p <= 0.0 {
            return None;
        }
        let r = a / p;
        let k = a * r.powf(2.0 / 3.0) * self.geo.inv_n();
        let sf = q * q.abs() / (k * k);
        let fr2 = q * q * t / (G * a * a * a);
        Some((s0 - sf, 1.0 - fr2))
    }

    /// dy/ds for flow `q` at depth `y`; sets `*crit` when the denominator had to be limited.
    #[inline]
    fn slope(&self, y: f64, q: f64, s0: f64, crit: &mut bool) -> f64 {
        let Some((num, mut den)) = self.terms(y, q, s0) else {
            return 0.0;
        };
        if den < 0.1 {
            den = 0.1;
            *crit = true;
        }
        num / den
    }

    /// Whether the profile at depth `y` rises upstream (the friction slope exceeds the bed slope: the H2, A2
    /// and M2 profiles above a free overfall or a low held level) too steeply for a distance step of `ds` m:
    /// the rise over it would exceed [`DEPTH_STEP_REL`] of the depth.
    #[inline]
    fn rises_steeply(&self, y: f64, q: f64, s0: f64, ds: f64) -> bool {
        q != 0.0
            && self.terms(y, q, s0).is_some_and(|(num, den)| {
                num < 0.0 && (den <= 0.0 || -num / den * ds > DEPTH_STEP_REL * y)
            })
    }

    /// The distance upstream, m, over which the depth rises from `y` to `y + dy` (dy ≥ 0): Simpson's rule on
    /// dX/dy = (1 − Fr²)/(Sf − S0), which is smooth and vanishes at critical depth, where dy/dX is infinite.
    #[inline]
    fn rise_distance_m(&self, y: f64, dy: f64, q: f64, s0: f64) -> f64 {
        let f = |y: f64| match self.terms(y, q, s0) {
            Some((num, den)) if num < 0.0 => den.max(0.0) / -num,
            _ => 0.0,
        };
        dy / 6.0 * (f(y) + 4.0 * f(y + 0.5 * dy) + f(y + dy))
    }

    /// March upstream by depth from `y` while the profile rises steeply, over at most `dist` m; returns the
    /// depth reached and the distance left. Near critical depth dy/ds is unbounded and a march in distance
    /// overshoots by metres (one RK4 step from critical depth with the denominator limited); distance as a
    /// function of depth is regular there (Chow 1959, §10-3, the direct step method). Each depth step rises
    /// by [`DEPTH_STEP_REL`] of the depth, so the march costs O(log(y_end/y_start)/DEPTH_STEP_REL) steps.
    fn rise(&self, mut y: f64, q: f64, s0: f64, dist: f64) -> (f64, f64) {
        let mut left = dist;
        while left > 0.0 && self.rises_steeply(y, q, s0, left) {
            let dy = DEPTH_STEP_REL * y.max(self.min_depth_m);
            let dx = self.rise_distance_m(y, dy, q, s0);
            if dx < left {
                y += dy;
                left -= dx;
                continue;
            }
            // the march ends inside this depth step: bisect for the rise that covers exactly `left`
            let (mut lo, mut hi) = (0.0, dy);
            for _ in 0..48 {
                let mid = 0.5 * (lo + hi);
                if self.rise_distance_m(y, mid, q, s0) < left {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            return (y + 0.5 * (lo + hi), 0.0);
        }
        (y, left)
    }

    /// Integrate upstream over `dist` m from depth `y` with flow `q`: by depth while the profile rises
    /// steeply near critical depth ([`March::rise`]), then RK4 in fixed steps over what is left.
    #[inline]
    fn half(&self, y: f64, q: f64, s0: f64, dist: f64, clamp: &mut bool, crit: &mut bool) -> f64 {
        let (mut y, dist) = self.rise(y, q, s0, dist);
        if dist <= 0.0 {
            return y;
        }
        let ds = -dist / RK_STEPS_PER_HALF_CELL as f64;
        for _ in 0..RK_STEPS_PER_HALF_CELL {
            let k1 = self.slope(y, q, s0, crit);
            let k2 = self.slope(y + 0.5 * ds * k1, q, s0, crit);
            let k3 = self.slope(y + 0.5 * ds * k2, q, s0, crit);
            let k4 = self.slope(y + ds * k3, q, s0, crit);
            y += ds / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
            if y.is_nan() || y < self.min_depth_m {
                y = self.min_depth_m;
                *clamp = true;
            }
        }
        y
    }

    /// March from water level `h_down` at the downstream end (`down_is_to`: the downstream end is the reach's
    /// `to` node) to the upstream end; fills the reach's cell depths and returns (upstream level, clamped,
    /// near-critical).
    fn run(
        &self,
        face: &[f64],
        h_down: f64,
        down_is_to: bool,
        cell_depth: &mut [f64],
    ) -> (f64, bool, bool) {
        // `cell_depth`: this reach's cells only, from its from-node end
        let r = self.reach;
        let (mut clamp, mut crit) = (false, false);
        let n = self.net.reach_n_cells[self.l];
        let dx = self.net.reach_dx_m[self.l];
        let f0 = self.net.first_face[self.l];
        let (bed_d, bed_u, sign) = if down_is_to {
            (r.bed_down_m, r.bed_up_m, 1.0)
        } else {
            (r.bed_up_m, r.bed_down_m, -1.0)
        };
        let s0 = (bed_u - bed_d) / r.length_m;
        let mut y = h_down - bed_d;
        // water leaving over a lower level passes critical depth at the end (a free overfall)
        let first_face = if down_is_to { n } else { 0 };
        let q_out = sign * face[f0 + first_face];
        if q_out > 0.0 {
            y = y.max(r.section.critical_depth_m(q_out));
        }
        if y.is_nan() || y < self.min_depth_m {
            y = self.min_depth_m;
            clamp = true;
        }
        for k in 0..n {
            // the k-th cell counted from the downstream end
            let i = if down_is_to { n - 1 - k } else { k };
            let (face_d, face_u) = if down_is_to { (i + 1, i) } else { (i, i + 1) };
            let q_d = sign * face[f0 + face_d];
            let q_u = sign * face[f0 + face_u];
            y = self.half(y, q_d, s0, 0.5 * dx, &mut clamp, &mut crit);
            cell_depth[i] = y;
            y = self.half(y, q_u, s0, 0.5 * dx, &mut clamp, &mut crit);
        }
        (bed_u + y, clamp, crit)
    }
}
