//! Steady hydraulics on a looped network: node water levels by Newton iterations on node continuity.
//!
//! **Reach law.** A reach l of length L (m) between nodes i (`from`) and j (`to`) conducts the mid-reach flow
//!
//!   Q = K·sign(Δh)·sqrt(|Δh|/L),   Δh = h_i − h_j (m),   K = A·R^(2/3)/n (m³/s),
//!
//! with K evaluated at the reach's mean depth (the mean of the two end depths h − z_bed, each floored at
//! `min_depth_m`). Written as a head loss, Δh = r·|Q|·Q with r = L/K². Because dQ/dΔh = Q/(2Δh) grows without
//! bound as Δh → 0, the law is linearised below the gradient S* = [`LINEAR_BELOW_GRADIENT`]: for
//! |Q| < Q* = K·sqrt(S*), Δh = r·Q*·Q, i.e. Q = K·(Δh/L)/sqrt(S*), continuous with the square law at Q*
//! (EPANET does the same at low flow: Rossman, *EPANET 2 Users Manual*, 2000, app. D).
//!
//! **Iteration** (the global gradient algorithm of Todini & Pilati, 1988, as in EPANET). With K frozen for an
//! iteration, each reach's law is linearised about its current flow Q: with D = dΔh/dQ, p = 1/D and
//! y = p·Δh(Q), the new flow is Q' = Q − y + p·(h'_i − h'_j). Substituting into continuity at every node n
//! whose level is free,
//!
//!   Σ_{l at n} p_l·(h'_n − h'_other) = Σ_{l into n} (Q − y)_l − Σ_{l out of n} (Q − y)_l + b_n,
//!
//! a weighted graph Laplacian in the free levels — symmetric positive definite once the nodes of fixed level
//! are moved to the right-hand side. It is solved by LDLᵀ in a minimum-degree order ([`super::sparse`]); the
//! structure is analysed once per solve and each iteration only refactors. For the square law y = Q/2 and
//! p = 1/(2r|Q|); in the linear range y = Q and p = K/(L·sqrt(S*)). The first iteration starts from the flat
//! levels and the flows Q₀ = K·sqrt(1e-6) of a typical plain friction slope (starting from Q = 0 would put
//! every reach in the linear range and cost a halving iteration per factor two of overshoot); K and the
//! free-outfall levels are updated from the new levels between iterations. The new flows satisfy continuity
//! exactly up to the linear solve, at every iteration.
//!
//! **Conveyance updates.** On plain rivers the head drop of a reach is millimetres against metres of depth and
//! the K update converges at once. Where the friction drop is comparable to the depth (shallow water on a
//! steep or dry bed) the map ȳ → ȳ' (mean depth → the mean depth the new levels give) has a slope
//! σ ≈ −Δh·K'/K ≈ −(5/3)·Δh/ȳ that can be far below −1, and plain substitution oscillates. Each reach's
//! depth step is therefore relaxed by ω = 1/(1 − σ) (the secant/Aitken fixed point; σ from the last two
//! iterates), limited to [0.05, 1], to halving or doubling the depth, and to a global cap that halves when
//! six iterations make no progress and grows again with progress (this breaks limit cycles). After half of
//! `max_iterations` the conveyances are frozen and the Newton iteration finishes on the head law with those K
//! (a warning lists the reaches where K's depth and the solved levels then differ).
//!
//! **Stopping.** The iteration stops when the largest flow change is below 1e-10 of the largest flow (after
//! subtracting the round-off floor 16·ε·max p·(|h_i| + |h_j|) of Q = c + p·Δh, which dominates when almost
//! nothing flows) and the largest level change below 1e-10 m; or when the change has stalled at round-off
//! level (below 1e-7 and no longer halving for three iterations). If `max_iterations` is reached with the
//! flows converged but some levels still moving, the result is kept with a warning naming those nodes;
//! otherwise it is [`HydraulicsError::NotConverged`] with the worst nodes' head-law continuity residuals.
//!
//! **Boundaries.** Nodes with a held level are fixed. A free outfall (an outlet without a level) is fixed for
//! an iteration at bed + normal depth of the flow it passes (critical depth on a flat or adverse bed), updated
//! between iterations. Every connected part needs one of these, else [`HydraulicsError::NoFixedLevel`].
//!
//! **Lateral inflows** along a reach (outfalls, withdrawals) are put half at each end node for continuity and
//! the head law uses the mid-reach flow, so the from-face carries Q − lat/2, the to-face Q + lat/2 and the
//! faces inside follow by accumulation (in-reach continuity is exact by construction).
//!
//! **Continuity to round-off.** After convergence the node residuals are those of the linear solve. A final
//! projection walks a spanning forest rooted at the fixed-level nodes, leaves first, and moves each free
//! node's residual onto the reach towards its root, so every free node balances to the last bits; what is
//! left ends at the fixed nodes as their exchange.
//!
//! **Depths.** The water surface is linear between the end levels of a reach; a cell's depth is the surface
//! minus its bed, floored at `min_depth_m` (with a warning naming the reach).

use super::period::{
    Geo, PeriodInputs, ReachFlags, accumulate_faces, finish, free_outfall_level_m, node_balance,
    node_bed_m,
};
use super::sparse::{Ldl, minimum_degree_order};
use super::{FlowField, HydraulicsError, HydraulicsOptions};
use crate::model::Model;
use crate::network::Network;

/// Friction gradient S* (m/m) below which the reach law is linear in Δh.
///
/// Plain rivers run at friction slopes of about 4e-8 to 4e-6 (velocity 1–10 cm/s, depth 2 m, n = 0.03:
/// Sf = (n·v)²/R^(4/3)). Linearising at 1e-9 (about 0.2 cm/s at 2 m depth) leaves every
/// reach that carries a noticeable flow on the true square law, while bounding the conductance
/// dQ/dΔh ≤ K/(L·sqrt(S*)) so that the Laplacian stays well conditioned in double precision.
pub const LINEAR_BELOW_GRADIENT: f64 = 1e-9;

/// Friction gradient (m/m) of the first guess of every reach's flow, Q₀ = K·sqrt(S₀), in the nominal
/// direction. Starting the Newton iteration from Q = 0 would put every reach in the linear range, whose
/// conductance K/(L·sqrt(S*)) is orders of magnitude too large: the first iterate then carries enormous
/// flows between held levels and each later iteration only halves them (Newton on Q² from far above).
/// 1e-6 is a typical plain-river friction slope (a few cm/s), like EPANET's start at 1 ft/s.
const INITIAL_GRADIENT: f64 = 1e-6;

const NONE: usize = usize::MAX;

/// Solve one period on a looped (or any) network.
pub fn solve(
    model: &Model,
    net: &Network,
    opts: &HydraulicsOptions,
    t0_s: f64,
    t1_s: f64,
    warnings: &mut Vec<String>,
) -> Result<FlowField, HydraulicsError> {
    let inp = PeriodInputs::new(model, net, t0_s, t1_s);
    let nn = net.n_nodes;
    let nr = net.n_reaches;
    let min_depth = opts.min_depth_m;

    // ---- classify nodes
    let boundary: Vec<bool> = (0..nn)
        .map(|n| inp.held_level_m[n].is_some() || inp.free_outfall[n])
        .collect();
    let active_link = |l: usize| model.reaches[l].from != model.reaches[l].to;
    let mut has_link = vec![false; nn];
    for l in 0..nr {
        if active_link(l) {
            has_link[model.reaches[l].from] = true;
            has_link[model.reaches[l].to] = true;
        }
    }
    check_fixed_levels(model, net, &boundary, &has_link)?;

    // ---- unknowns: free nodes with at least one link, numbered in minimum-degree order
    let mut pre = vec![NONE; nn];
    let mut free_nodes = Vec::new();
    for n in 0..nn {
        if !boundary[n] && has_link[n] {
            pre[n] = free_nodes.len();
            free_nodes.push(n);
        }
    }
    let nf = free_nodes.len();
    let (adj_start, adj) = {
        let mut deg = vec![0usize; nf + 1];
        for l in 0..nr {
            let (a, b) = (pre[model.reaches[l].from], pre[model.reaches[l].to]);
            if active_link(l) && a != NONE && b != NONE {
                deg[a + 1] += 1;
                deg[b + 1] += 1;
            }
        }
        for i in 0..nf {
            deg[i + 1] += deg[i];
        }
        let mut fill = deg.clone();
        let mut adj = vec![0usize; deg[nf]];
        for l in 0..nr {
            let (a, b) = (pre[model.reaches[l].from], pre[model.reaches[l].to]);
            if active_link(l) && a != NONE && b != NONE {
                adj[fill[a]] = b;
                fill[a] += 1;
                adj[fill[b]] = a;
                fill[b] += 1;
            }
        }
        (deg, adj)
    };
    let order = minimum_degree_order(nf, &adj_start, &adj);
    let mut idx = vec![NONE; nn]; // node -> unknown index (elimination order)
    for (k, &p) in order.iter().enumerate() {
        idx[free_nodes[p]] = k;
    }
    let unknown_node: Vec<usize> = order.iter().map(|&p| free_nodes[p]).collect();

    // ---- upper-triangle structure: diagonals plus one slot per distinct free–free pair
    let mut keys: Vec<u64> = (0..nf).map(|k| ((k as u64) << 32) | k as u64).collect();
    for l in 0..nr {
        let (a, b) = (idx[model.reaches[l].from], idx[model.reaches[l].to]);
        if active_link(l) && a != NONE && b != NONE {
            let (r, c) = (a.min(b), a.max(b));
            keys.push(((c as u64) << 32) | r as u64);
        }
    }
    keys.sort_unstable();
    keys.dedup();
    let mut ap = vec![0usize; nf + 1];
    let mut ai = Vec::with_capacity(keys.len());
    for &k in &keys {
        ap[(k >> 32) as usize + 1] += 1;
        ai.push((k & 0xffff_ffff) as usize);
    }
    for k in 0..nf {
        ap[k + 1] += ap[k];
    }
    let slot_of = |row: usize, col: usize| -> usize {
        let rows = &ai[ap[col]..ap[col + 1]];
        ap[col]
            + rows
                .binary_search(&row)
                .expect("slot exists by construction")
    };
    let diag_slot: Vec<usize> = (0..nf).map(|k| slot_of(k, k)).collect();
    let link_slot: Vec<usize> = (0..nr)
        .map(|l| {
            let (a, b) = (idx[model.reaches[l].from], idx[model.reaches[l].to]);
            if active_link(l) && a != NONE && b != NONE {
                slot_of(a.min(b), a.max(b))
            } else {
                NONE
            }
        })
        .collect();
    let nnz = ai.len();
    let mut ldl = Ldl::new(nf, ap, ai);

    // ---- per-reach constants and the effective node injections b_n
    let bed_from: Vec<f64> = model.reaches.iter().map(|r| r.bed_up_m).collect();
    let bed_to: Vec<f64> = model.reaches.iter().map(|r| r.bed_down_m).collect();
    let mut b = inp.node_inject_m3s.clone();
    for l in 0..nr {
        let r = &model.reaches[l];
        b[r.from] += 0.5 * inp.reach_lateral_m3s[l];
        b[r.to] += 0.5 * inp.reach_lateral_m3s[l];
    }
    let b_scale: f64 = b.iter().map(|x| x.abs()).sum::<f64>() * 0.5;

    // ---- first guess: flat at the mean held level of each part; free outfalls from an even split
    let mut level = initial_levels(model, net, &inp, &b, min_depth);
    let mut q: Vec<f64> = vec![0.0; nr];

    // ---- compact per-reach arrays for the iteration (the Reach structs are large and cold)
    let lf: Vec<usize> = model.reaches.iter().map(|r| r.from).collect();
    let lt: Vec<usize> = model.reaches.iter().map(|r| r.to).collect();
    let active: Vec<bool> = (0..nr).map(active_link).collect();
    let inv_len: Vec<f64> = model.reaches.iter().map(|r| 1.0 / r.length_m).collect();
    let geo: Vec<Geo> = model
        .reaches
        .iter()
        .map(|r| Geo::new(&r.section, r.manning_n))
        .collect();
    let ifr: Vec<usize> = lf.iter().map(|&n| idx[n]).collect();
    let ito: Vec<usize> = lt.iter().map(|&n| idx[n]).collect();
    let free_outfalls: Vec<usize> = (0..nn).filter(|&n| inp.free_outfall[n]).collect();

    // ---- Newton (GGA) iterations
    let sqrt_s = LINEAR_BELOW_GRADIENT.sqrt();
    let mut p = vec![0.0; nr];
    let mut c = vec![0.0; nr];
    let mut kk = vec![0.0; nr];
    let mut y_used: Vec<f64> = vec![0.0; nr];
    let mut t_prev = vec![0.0; nr];
    let mut u_prev: Vec<f64> = vec![0.0; nr];
    let mut ax = vec![0.0; nnz];
    let mut rhs = vec![0.0; nf];
    let mut critical = false;
    let (mut prev_rel, mut stall) = (f64::INFINITY, 0usize);
    let mut converged = false;
    let mut flows_settled = false;
    let (mut omega_cap, mut best_rel, mut since_best) = (1.0f64, f64::INFINITY, 0usize);
    let mut level_prev = level.clone();
    let mut level_step = vec![0.0; nn];
    let mut iterations = 0;
    let freeze_after = (opts.max_iterations / 2).max(1);
    while iterations < opts.max_iterations {
        iterations += 1;
        level_prev.copy_from_slice(&level);
        // past half the budget, stop updating K: the Newton iteration for the head law with these
        // conveyances then converges on its own (a warning reports where K and the levels disagree)
        let freeze_k = !converged && iterations > freeze_after;
        for l in 0..nr {
            if !active[l] {
                continue;
            }
            if freeze_k {
                let k = kk[l];
                let qa = q[l].abs();
                if qa > k * sqrt_s {
                    p[l] = 0.5 * k * k * inv_len[l] / qa;
                    c[l] = 0.5 * q[l];
                } else {
                    p[l] = k * inv_len[l] / sqrt_s;
                    c[l] = 0.0;
                }
                continue;
            }
            let ya = (level[lf[l]] - bed_from[l]).max(min_depth);
            let yb = (level[lt[l]] - bed_to[l]).max(min_depth);
            let mut y = 0.5 * (ya + yb);
            if iterations > 1 {
                // Relax the depth fed to K (see the module docs). The map ȳ → ȳ' (target depth from the
                // new levels) has a slope σ; the relaxed step ω·(ȳ' − ȳ) with ω = 1/(1 − σ) is the secant
                // (Aitken) fixed point. σ is estimated from the last two iterates; on the first relaxed
                // iteration from the estimate σ ≈ −Δh·K'/K ≈ −(5/3)·Δh/ȳ (a wide channel, the other end
                // fixed). ω is kept in [0.05, 1].
                let y_old = y_used[l];
                let du = y_old - u_prev[l];
                let sigma = if iterations > 2 && du.abs() > 1e-9 * y_old {
                    (y - t_prev[l]) / du
                } else {
                    -(5.0 / 3.0) * (level[lf[l]] - level[lt[l]]).abs() / y_old
                };
                let omega = if sigma < 0.0 {
                    (1.0 / (1.0 - sigma)).max(0.05)
                } else if sigma < 0.5 {
                    1.0
                } else {
                    0.1 // an inconsistent estimate: the map is not a contraction here, creep
                };
                t_prev[l] = y;
                u_prev[l] = y_old;
                // never more than halve or double the depth in one iteration, and never more than the
                // global cap (lowered when the iteration stops making progress: breaks limit cycles)
                y = (y_old + omega.min(omega_cap) * (y - y_old)).clamp(0.5 * y_old, 2.0 * y_old);
            }
            y_used[l] = y;
            let k = geo[l].conveyance(&model.reaches[l].section, y).max(1e-12);
            kk[l] = k;
            if iterations == 1 {
                // start from the flow of a typical plain-river friction slope (see INITIAL_GRADIENT)
                q[l] = k * INITIAL_GRADIENT.sqrt();
            }
            let q_lin = k * sqrt_s;
            let qa = q[l].abs();
            if qa > q_lin {
                p[l] = 0.5 * k * k * inv_len[l] / qa;
                c[l] = 0.5 * q[l];
            } else {
                p[l] = k * inv_len[l] / sqrt_s;
                c[l] = 0.0;
            }
        }
        ax.iter_mut().for_each(|x| *x = 0.0);
        for (k, &n) in unknown_node.iter().enumerate() {
            rhs[k] = b[n];
        }
        for l in 0..nr {
            if !active[l] {
                continue;
            }
            let (i, j) = (ifr[l], ito[l]);
            if i != NONE {
                rhs[i] -= c[l];
                ax[diag_slot[i]] += p[l];
                if j == NONE {
                    rhs[i] += p[l] * level[lt[l]];
                }
            }
            if j != NONE {
                rhs[j] += c[l];
                ax[diag_slot[j]] += p[l];
                if i == NONE {
                    rhs[j] += p[l] * level[lf[l]];
                }
            }
            if i != NONE && j != NONE {
                ax[link_slot[l]] -= p[l];
            }
        }
        if let Err(k) = ldl.factor(&ax) {
            return Err(HydraulicsError::NonFinite {
                what: "pivot of the node-continuity matrix (not positive definite)".into(),
                place: format!("node {}", model.nodes[unknown_node[k]].id),
                t_start_s: t0_s,
            });
        }
        ldl.solve_in_place(&mut rhs);
        let mut dh_max = 0.0f64;
        for (k, &n) in unknown_node.iter().enumerate() {
            dh_max = dh_max.max((rhs[k] - level[n]).abs());
            level[n] = rhs[k];
        }
        let (mut dq_max, mut q_max, mut q_noise) = (0.0f64, 0.0f64, 0.0f64);
        for l in 0..nr {
            if !active[l] {
                continue;
            }
            let (ha, hb) = (level[lf[l]], level[lt[l]]);
            let qn = c[l] + p[l] * (ha - hb);
            dq_max = dq_max.max((qn - q[l]).abs());
            q_max = q_max.max(qn.abs());
            q_noise = q_noise.max(p[l] * (ha.abs() + hb.abs()));
            q[l] = qn;
        }
        for &n in &free_outfalls {
            let h = free_outfall_level_m(
                model,
                net,
                n,
                min_depth,
                |l| outflow_at(model, &inp, &q, l, n),
                &mut critical,
            );
            dh_max = dh_max.max((h - level[n]).abs());
            level[n] = h;
        }
        if !dq_max.is_finite() || !dh_max.is_finite() {
            return Err(HydraulicsError::NonFinite {
                what: "flow or level in the looped iteration".into(),
                place: format!("iteration {iterations}"),
                t_start_s: t0_s,
            });
        }
        // A flow change is judged against the largest flow, less the round-off floor of
        // Q = c + p·(h_i − h_j): levels of metres carry ~1e-16 m of round-off, times the conductance p
        // (large in the linear range), so when (almost) nothing flows that floor is all one can ask for.
        let scale = q_max.max(b_scale);
        let floor = 16.0 * f64::EPSILON * q_noise;
        let rel = if scale > 0.0 {
            (dq_max - floor).max(0.0) / scale
        } else {
            0.0
        };
        if rel <= 1e-10 && dh_max <= 1e-10 {
            converged = true;
            break;
        }
        if rel < 0.5 * best_rel {
            best_rel = rel;
            since_best = 0;
            omega_cap = (1.5 * omega_cap).min(1.0);
        } else {
            since_best += 1;
            if since_best >= 6 {
                omega_cap = (0.5 * omega_cap).max(0.02);
                since_best = 0;
                best_rel = rel;
            }
        }
        if rel <= 1e-7 && dh_max <= 1e-7 && rel > 0.5 * prev_rel {
            stall += 1;
            if stall >= 3 {
                converged = true;
                break;
            }
        } else {
            stall = 0;
        }
        prev_rel = rel;
        flows_settled = rel <= 1e-10;
        if !flows_settled {
            continue;
        }
        // remember how far each level moved in this iteration, for the warning below
        for n in 0..nn {
            level_step[n] = (level[n] - level_prev[n]).abs();
        }
    }
    if !converged {
        if !flows_settled {
            return Err(not_converged(
                model,
                &b,
                &level,
                &kk,
                &unknown_node,
                iterations,
                t0_s,
            ));
        }
        // Flows have converged (they satisfy continuity and the head law with the last conveyances) but
        // some levels still move: typically a thin film on a bed above the water level, where K depends
        // strongly on the level. Keep the result and say where.
        let mut moving: Vec<usize> = (0..nn).filter(|&n| level_step[n] > 1e-6).collect();
        moving.sort_by(|&a, &b| level_step[b].total_cmp(&level_step[a]));
        let names: Vec<String> = moving
            .iter()
            .take(5)
            .map(|&n| format!("{} ({:.3e} m)", model.nodes[n].id, level_step[n]))
            .collect();
        let when = super::period::when(model, t0_s);
        warnings.push(format!(
            "hydraulics, period starting {when}: flows converged but the water level still moved in \
             the last of {iterations} iterations at {} node(s): {} — shallow water on a bed above the \
             downstream level; depths there are approximate",
            moving.len(),
            names.join(", ")
        ));
    }
    if iterations > freeze_after + 1 {
        let mut off: Vec<(usize, f64)> = Vec::new();
        for l in 0..nr {
            if !active[l] {
                continue;
            }
            let ya = (level[lf[l]] - bed_from[l]).max(min_depth);
            let yb = (level[lt[l]] - bed_to[l]).max(min_depth);
            let d = (0.5 * (ya + yb) - y_used[l]).abs();
            if d > 1e-6 * (1.0 + y_used[l]) {
                off.push((l, d));
            }
        }
        if !off.is_empty() {
            off.sort_by(|a, b| b.1.total_cmp(&a.1));
            let names: Vec<String> = off
                .iter()
                .take(5)
                .map(|&(l, d)| format!("{} ({d:.3e} m)", model.reaches[l].id))
                .collect();
            let when = super::period::when(model, t0_s);
            warnings.push(format!(
                "hydraulics, period starting {when}: conveyances frozen after {freeze_after} \
                 iterations; in {} reach(es) the mean depth behind K differs from the solved levels: {} — \
                 typically shallow water on a steep or dry bed",
                off.len(),
                names.join(", ")
            ));
        }
    }
    if critical {
        let when = super::period::when(model, t0_s);
        warnings.push(format!(
            "hydraulics, period starting {when}: a free outfall on a flat or adverse bed has no normal \
             depth; critical depth used there"
        ));
    }

    // ---- faces from mid-reach flows
    let mut face = vec![0.0; net.n_faces()];
    for l in 0..nr {
        let q0 = if active_link(l) { q[l] } else { 0.0 } - 0.5 * inp.reach_lateral_m3s[l];
        accumulate_faces(
            &mut face[net.faces_of(l)],
            &inp.cell_lateral_m3s[net.cells_of(l)],
            q0,
        );
    }
    project_continuity(model, net, &inp, &boundary, &mut face);

    // ---- inactive free nodes (no link): their held level or bed
    for n in 0..nn {
        if !boundary[n] && !has_link[n] {
            level[n] = node_bed_m(model, net, n);
        }
    }

    // ---- cell depths: surface linear between the end levels
    let mut cell_depth = vec![0.0; net.n_cells];
    let mut clamped = ReachFlags::new(nr);
    for l in 0..nr {
        let r = &model.reaches[l];
        let (ha, hb) = (level[r.from], level[r.to]);
        for cell in net.cells_of(l) {
            let w = net.cell_x_m[cell] / r.length_m;
            let y = ha + (hb - ha) * w - net.cell_bed_m[cell];
            cell_depth[cell] = if y >= min_depth {
                y
            } else {
                clamped.set(l);
                min_depth
            };
        }
    }
    clamped.warn(
        model,
        t0_s,
        &format!("depth below min_depth_m = {min_depth} m (water level below the bed) clamped"),
        warnings,
    );
    finish(
        model, net, inp, t0_s, t1_s, level, face, cell_depth, &boundary, iterations,
    )
}

/// Flow leaving through reach `l`'s end at node `n`, from its mid-reach flow, m³/s.
fn outflow_at(model: &Model, inp: &PeriodInputs, q: &[f64], l: usize, n: usize) -> f64 {
    let half = 0.5 * inp.reach_lateral_m3s[l];
    if model.reaches[l].to == n {
        q[l] + half
    } else {
        -(q[l] - half)
    }
}

/// Every connected part with a reach needs a fixed level (held level or free outfall).
fn check_fixed_levels(
    model: &Model,
    net: &Network,
    boundary: &[bool],
    has_link: &[bool],
) -> Result<(), HydraulicsError> {
    let mut fixed = vec![false; net.n_components];
    let mut linked = vec![false; net.n_components];
    for n in 0..net.n_nodes {
        let c = net.node_component[n];
        fixed[c] |= boundary[n];
        linked[c] |= has_link[n];
    }
    let bad: Vec<usize> = (0..net.n_components)
        .filter(|&c| linked[c] && !fixed[c])
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let mut names = Vec::new();
    for n in 0..net.n_nodes {
        if bad.contains(&net.node_component[n]) && names.len() < 8 {
            names.push(model.nodes[n].id.clone());
        }
    }
    Err(HydraulicsError::NoFixedLevel {
        nodes: names.join(", "),
        hint: format!(
            "{} part(s) of the network have no node with a held level and no outlet; give one node of each \
             a `level_m` or connect it to an outlet (kind = \"outlet\"; without a level it is a normal-depth \
             outfall)",
            bad.len()
        ),
    })
}

#[allow(clippy::needless_range_loop)]
/// Flat first guess: each part at the mean of its held levels (a part with only free outfalls: every node
/// 1 m above its bed); free outfalls at bed + boundary depth of an even share of the part's inflow.
fn initial_levels(
    model: &Model,
    net: &Network,
    inp: &PeriodInputs,
    b: &[f64],
    min_depth: f64,
) -> Vec<f64> {
    let nc = net.n_components;
    let (mut sum, mut cnt) = (vec![0.0; nc], vec![0usize; nc]);
    let (mut inflow, mut outfalls) = (vec![0.0; nc], vec![0usize; nc]);
    for n in 0..net.n_nodes {
        let c = net.node_component[n];
        if let Some(h) = inp.held_level_m[n] {
            sum[c] += h;
            cnt[c] += 1;
        }
        inflow[c] += b[n].max(0.0);
        if inp.free_outfall[n] {
            outfalls[c] += 1;
        }
    }
    let mut critical = false;
    (0..net.n_nodes)
        .map(|n| {
            let c = net.node_component[n];
            if let Some(h) = inp.held_level_m[n] {
                h
            } else if inp.free_outfall[n] {
                let share = inflow[c] / outfalls[c].max(1) as f64 / net.degree(n).max(1) as f64;
                free_outfall_level_m(model, net, n, min_depth, |_| share, &mut critical)
            } else if cnt[c] > 0 {
                sum[c] / cnt[c] as f64
            } else {
                node_bed_m(model, net, n) + 1.0
            }
        })
        .collect()
}

/// Move each free node's continuity residual onto the reach towards its root in a spanning forest grown from
/// the fixed-level nodes (leaves first), re-accumulating that reach's faces.
fn project_continuity(
    model: &Model,
    net: &Network,
    inp: &PeriodInputs,
    boundary: &[bool],
    face: &mut [f64],
) {
    let nn = net.n_nodes;
    let mut parent_link = vec![NONE; nn];
    let mut seen = boundary.to_vec();
    let mut order: Vec<usize> = (0..nn).filter(|&n| boundary[n]).collect();
    let mut head = 0;
    while head < order.len() {
        let n = order[head];
        head += 1;
        for &l in net.out_of(n).iter().chain(net.into(n)) {
            let r = &model.reaches[l];
            if r.from == r.to {
                continue;
            }
            let other = if r.from == n { r.to } else { r.from };
            if !seen[other] {
                seen[other] = true;
                parent_link[other] = l;
                order.push(other);
            }
        }
    }
    for &n in order.iter().rev() {
        let l = parent_link[n];
        if l == NONE {
            continue;
        }
        let (res, _) = node_balance(net, inp, face, n);
        let faces = net.faces_of(l);
        let q0 = if model.reaches[l].from == n {
            face[faces.start] + res
        } else {
            face[faces.start] - res
        };
        accumulate_faces(&mut face[faces], &inp.cell_lateral_m3s[net.cells_of(l)], q0);
    }
}

/// The error for a failed iteration: node continuity with the head law at the last levels.
#[allow(clippy::too_many_arguments)]
fn not_converged(
    model: &Model,
    b: &[f64],
    level: &[f64],
    kk: &[f64],
    unknown_node: &[usize],
    iterations: usize,
    t0_s: f64,
) -> HydraulicsError {
    let sqrt_s = LINEAR_BELOW_GRADIENT.sqrt();
    let mut res = b.to_vec();
    for (l, r) in model.reaches.iter().enumerate() {
        if r.from == r.to {
            continue;
        }
        let s = (level[r.from] - level[r.to]) / r.length_m;
        let ql = if s.abs() >= LINEAR_BELOW_GRADIENT {
            kk[l] * s.signum() * s.abs().sqrt()
        } else {
            kk[l] * s / sqrt_s
        };
        res[r.from] -= ql;
        res[r.to] += ql;
    }
    let mut worst: Vec<usize> = unknown_node.to_vec();
    worst.sort_by(|&a, &b| res[b].abs().total_cmp(&res[a].abs()));
    worst.truncate(3);
    HydraulicsError::NotConverged {
        t_start_s: t0_s,
        iterations,
        residual_m3s: worst.first().map(|&n| res[n].abs()).unwrap_or(0.0),
        nodes: worst
            .iter()
            .map(|&n| format!("{} ({:e} m³/s)", model.nodes[n].id, res[n]))
            .collect::<Vec<_>>()
            .join(", "),
    }
}
