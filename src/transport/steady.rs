//! The steady-state solver: the transport equation with ∂/∂t = 0 for one flow field.
//!
//! Discretisation (per cell i of volume V_i, faces l and r, flows Q (m³/s) positive from→to):
//!
//!   [Q_r⁺ + Q_l⁻ + D_l + D_r + k·V_i + q_w,i]·C_i − (Q_l⁺ + D_l)·C_{i−1} − (Q_r⁻ + D_r)·C_{i+1} = S_i
//!
//! (first-order upwind advection, Q⁺ = max(Q, 0), Q⁻ = max(−Q, 0); central dispersion D = E·V_face/Δx² as in
//! the dynamic solver; continuous decay k in 1/s; q_w a withdrawal; S the sources in g/s). Across a reach end the upwind value is the node's
//! outgoing concentration m = R/(Q_out + k·V_pond), R the mass flowing into the node (reach ends, inflows, water
//! entering at an outlet). Dispersion does not cross nodes (as in the dynamic solver), so each reach is a
//! tridiagonal system coupled to the rest only through its upwind nodes: the reaches and nodes are solved
//! once each in flow order (Kahn's topological order of the flow directions), which is exact on any network
//! whose flows form no directed cycle. Where the flows do circulate (only possible with a continuity defect or
//! pumped loops), the remaining items are swept block Gauss–Seidel until the largest change is below
//! 1e-13 of the largest concentration.
//!
//! The matrix of each reach is a diagonally dominant M-matrix (dominance margin = outfall water + k·V), so the
//! Thomas elimination needs no pivoting and the solution is non-negative for non-negative sources.

use super::layout::{
    Coeffs, DAY_S, Layout, PeriodFlows, end_face, inflow_conc, outlet_conc, source_rate,
    temp_factor,
};
use super::options::{TransportError, TransportOptions};
use crate::hydraulics::FlowField;
use crate::model::Model;
use crate::network::Network;

/// The steady state of one flow field.
#[derive(Debug, Clone)]
pub struct SteadyState {
    /// Concentration per pollutant per global cell, mg/L.
    pub cell_conc: Vec<Vec<f64>>,
    /// Mixed concentration per pollutant per node (for a storage node: the pond), mg/L.
    pub node_conc: Vec<Vec<f64>>,
    /// Mass entering per pollutant, g/s.
    pub in_g_s: Vec<f64>,
    /// Mass leaving per pollutant, g/s.
    pub out_g_s: Vec<f64>,
    /// Mass decaying per pollutant, g/s.
    pub decay_g_s: Vec<f64>,
}

/// The steady state of the flow field `field` (period index `period`), with the loads and concentrations
/// evaluated at `t_s`.
pub fn steady_state(
    model: &Model,
    net: &Network,
    field: &FlowField,
    period: usize,
    t_s: f64,
    opts: &TransportOptions,
) -> Result<SteadyState, TransportError> {
    let lay = Layout::new(model, net, opts.chunk_cells.max(1));
    let flows = PeriodFlows::new(model, field);
    let mut co = Coeffs::default();
    co.fill(model, net, &lay, field, &flows, period, opts.safety)?;
    let np = model.pollutants.len();
    let mut out = SteadyState {
        cell_conc: Vec::with_capacity(np),
        node_conc: Vec::with_capacity(np),
        in_g_s: Vec::with_capacity(np),
        out_g_s: Vec::with_capacity(np),
        decay_g_s: Vec::with_capacity(np),
    };
    let mut c = vec![0.0; lay.n_ext];
    for p in 0..np {
        let mut node_c = vec![0.0; net.n_nodes];
        solve_layout(
            model,
            net,
            &lay,
            &co,
            &flows,
            period,
            t_s,
            p,
            opts.steady_max_sweeps,
            &mut c,
            &mut node_c,
        )?;
        let r = rates_g_s(model, net, &lay, &co, &flows, t_s, p, &c, &node_c);
        out.cell_conc
            .push((0..net.n_cells).map(|g| c[lay.ext(net, g)]).collect());
        out.node_conc.push(node_c);
        out.in_g_s.push(r[0]);
        out.out_g_s.push(r[1]);
        out.decay_g_s.push(r[2]);
    }
    Ok(out)
}

/// Solve pollutant `p` into `c` (extended indexing; ghosts get the node values) and `node_c`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn solve_layout(
    model: &Model,
    net: &Network,
    lay: &Layout,
    co: &Coeffs,
    flows: &PeriodFlows,
    period: usize,
    t_s: f64,
    p: usize,
    max_sweeps: usize,
    c: &mut [f64],
    node_c: &mut [f64],
) -> Result<(), TransportError> {
    let nr = net.n_reaches;
    let nn = net.n_nodes;
    let theta = temp_factor(model, p, t_s);
    // dense sources and withdrawals
    let mut src = vec![0.0; lay.n_ext];
    for s in &lay.sources {
        src[s.ext] += source_rate(model, flows, s, p, t_s);
    }
    let mut wq = vec![0.0; lay.n_ext];
    for (i, &(ext, _)) in lay.cell_withdrawals.iter().enumerate() {
        wq[ext] += co.cell_withdraw_q[i];
    }
    // node outgoing concentration m (what upwinds into reaches)
    let mut m = vec![0.0; nn];

    // dependency graph: reach r → node n when water flows from r into n; node → reach the other way
    let n_items = nr + nn;
    let mut indeg = vec![0usize; n_items];
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n_items];
    for n in 0..nn {
        for &(r, to_end) in lay.ends(n) {
            let (_, into) = end_face(net, r, to_end, &co.q_face);
            if into > 0.0 {
                succ[r].push(nr + n);
                indeg[nr + n] += 1;
            } else if into < 0.0 {
                succ[nr + n].push(r);
                indeg[r] += 1;
            }
        }
    }
    let mut order = Vec::with_capacity(n_items);
    let mut queue: std::collections::VecDeque<usize> =
        (0..n_items).filter(|&i| indeg[i] == 0).collect();
    let mut deg = indeg.clone();
    while let Some(i) = queue.pop_front() {
        order.push(i);
        for &j in &succ[i] {
            deg[j] -= 1;
            if deg[j] == 0 {
                queue.push_back(j);
            }
        }
    }
    let acyclic = order.len() == n_items;
    if !acyclic {
        let mut seen = vec![false; n_items];
        for &i in &order {
            seen[i] = true;
        }
        order.extend((0..n_items).filter(|&i| !seen[i]));
    }

    let max_n = net.reach_n_cells.iter().copied().max().unwrap_or(0);
    let mut cp = vec![0.0; max_n];
    let mut dp = vec![0.0; max_n];
    let sweeps = if acyclic { 1 } else { max_sweeps.max(1) };
    let mut change = 0.0;
    for _ in 0..sweeps {
        change = 0.0f64;
        let mut scale = 0.0f64;
        for &item in &order {
            if item < nr {
                let r = item;
                let k = model.decay_per_day_at(r, p, t_s) / DAY_S * theta;
                let ch = solve_reach(
                    net,
                    lay,
                    co,
                    r,
                    k,
                    &src,
                    &wq,
                    &m,
                    c,
                    &mut cp,
                    &mut dp,
                    model.reaches[r].from,
                    model.reaches[r].to,
                );
                change = change.max(ch.0);
                scale = scale.max(ch.1);
            } else {
                let n = item - nr;
                let (rate, _) = node_inflow(model, net, lay, co, flows, n, p, t_s, c);
                let storage = lay.is_storage[n] && co.node_vol[n] > 0.0;
                let k = if storage {
                    lay.node_decay_per_day[p][n] / DAY_S * theta
                } else {
                    0.0
                };
                let denom = co.node_q_out[n] + k * co.node_vol[n];
                let new_m = if denom > 0.0 { rate / denom } else { 0.0 };
                change = change.max((new_m - m[n]).abs());
                scale = scale.max(new_m.abs());
                m[n] = new_m;
                node_c[n] = if storage {
                    new_m
                } else if co.node_q_in[n] > 0.0 {
                    rate / co.node_q_in[n]
                } else {
                    new_m
                };
            }
        }
        if acyclic || change <= 1e-13 * scale.max(1e-300) {
            change = 0.0;
            break;
        }
    }
    if !acyclic && change > 0.0 {
        return Err(TransportError::SteadyNotConverged {
            period,
            pollutant: model.pollutants[p].clone(),
            sweeps,
            change,
        });
    }
    // ghosts
    for n in 0..nn {
        for &(r, to_end) in lay.ends(n) {
            let b = lay.base[r];
            let g = if to_end { b + net.n_cells_of(r) } else { b - 1 };
            c[g] = node_c[n];
        }
    }
    Ok(())
}

/// Mass rate flowing into node `n` (reach ends by first-order upwind, inflows, water entering at an outlet),
/// g/s, and the part of it from outside the network.
#[allow(clippy::too_many_arguments)]
fn node_inflow(
    model: &Model,
    net: &Network,
    lay: &Layout,
    co: &Coeffs,
    flows: &PeriodFlows,
    n: usize,
    p: usize,
    t_s: f64,
    c: &[f64],
) -> (f64, f64) {
    let mut rate = 0.0;
    for &(r, to_end) in lay.ends(n) {
        let (_, into) = end_face(net, r, to_end, &co.q_face);
        if into > 0.0 {
            let b = lay.base[r];
            let u = if to_end {
                c[b + net.n_cells_of(r) - 1]
            } else {
                c[b]
            };
            rate += into * u;
        }
    }
    let mut ext = 0.0;
    for &i in lay.inflows(n) {
        ext += flows.inflow_q[i] * inflow_conc(model, i, p, t_s);
    }
    let ex = co.exchange[n];
    if ex < 0.0 {
        ext += -ex * outlet_conc(model, n, p, t_s);
    }
    (rate + ext, ext)
}

/// Thomas elimination on reach `r`. Returns (largest change, largest value).
#[allow(clippy::too_many_arguments)]
fn solve_reach(
    net: &Network,
    lay: &Layout,
    co: &Coeffs,
    r: usize,
    k: f64,
    src: &[f64],
    wq: &[f64],
    m: &[f64],
    c: &mut [f64],
    cp: &mut [f64],
    dp: &mut [f64],
    from: usize,
    to: usize,
) -> (f64, f64) {
    let n = net.n_cells_of(r);
    let f0 = net.first_face[r];
    let b = lay.base[r];
    let q = &co.q_face[f0..f0 + n + 1];
    let d = &co.d_face[f0..f0 + n + 1];
    // row j: lo·C_{j−1} + di·C_j + up·C_{j+1} = rhs
    let row = |j: usize| -> (f64, f64, f64, f64) {
        let (ql, qr) = (q[j], q[j + 1]);
        let v = co.vol[b + j];
        let di = qr.max(0.0) + (-ql).max(0.0) + d[j] + d[j + 1] + k * v + wq[b + j];
        let lo = -(ql.max(0.0) + d[j]);
        let up = -((-qr).max(0.0) + d[j + 1]);
        let mut rhs = src[b + j];
        if j == 0 {
            rhs += ql.max(0.0) * m[from];
        }
        if j == n - 1 {
            rhs += (-qr).max(0.0) * m[to];
        }
        (lo, di, up, rhs)
    };
    // forward
    let mut prev_cp = 0.0;
    let mut prev_dp = 0.0;
    for j in 0..n {
        let (lo, di, up, rhs) = row(j);
        let (lo, up) = (
            if j == 0 { 0.0 } else { lo },
            if j == n - 1 { 0.0 } else { up },
        );
        let piv = di - lo * prev_cp;
        if piv > 0.0 {
            cp[j] = up / piv;
            dp[j] = (rhs - lo * prev_dp) / piv;
        } else {
            // nothing moves, decays or mixes here: the concentration is undetermined; take 0
            cp[j] = 0.0;
            dp[j] = 0.0;
        }
        prev_cp = cp[j];
        prev_dp = dp[j];
    }
    let mut change = 0.0f64;
    let mut scale = 0.0f64;
    let mut next = 0.0;
    for j in (0..n).rev() {
        let v = if j == n - 1 {
            dp[j]
        } else {
            dp[j] - cp[j] * next
        };
        change = change.max((v - c[b + j]).abs());
        scale = scale.max(v.abs());
        c[b + j] = v;
        next = v;
    }
    (change, scale)
}

/// Steady ledger rates [in, out, decayed] in g/s for pollutant `p` with the state `c`, `node_c`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn rates_g_s(
    model: &Model,
    net: &Network,
    lay: &Layout,
    co: &Coeffs,
    flows: &PeriodFlows,
    t_s: f64,
    p: usize,
    c: &[f64],
    node_c: &[f64],
) -> [f64; 3] {
    let theta = temp_factor(model, p, t_s);
    let (mut inr, mut outr, mut dec) = (0.0, 0.0, 0.0);
    for s in &lay.sources {
        inr += source_rate(model, flows, s, p, t_s);
    }
    for (i, &(ext, _)) in lay.cell_withdrawals.iter().enumerate() {
        outr += co.cell_withdraw_q[i] * c[ext];
    }
    for r in 0..net.n_reaches {
        let k = model.decay_per_day_at(r, p, t_s) / DAY_S * theta;
        let b = lay.base[r];
        for j in 0..net.n_cells_of(r) {
            dec += k * co.vol[b + j] * c[b + j];
        }
    }
    for n in 0..net.n_nodes {
        let (rate, ext) = node_inflow(model, net, lay, co, flows, n, p, t_s, c);
        inr += ext;
        let storage = lay.is_storage[n] && co.node_vol[n] > 0.0;
        let k = if storage {
            lay.node_decay_per_day[p][n] / DAY_S * theta
        } else {
            0.0
        };
        let denom = co.node_q_out[n] + k * co.node_vol[n];
        if denom > 0.0 {
            let m = if storage { node_c[n] } else { rate / denom };
            outr += co.node_q_leave[n] * m;
            dec += k * co.node_vol[n] * m;
        } else {
            outr += rate;
        }
    }
    [inr, outr, dec]
}
