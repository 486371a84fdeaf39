//! The groups' node pass: every node mixed for every group with the total's face values shared among the
//! groups (`split.rs`), the groups' end-face fluxes; and what the cell pass needs ready before it starts.

use super::lane::{TagLane, W, at_mut, bit, span};
use super::split::split;
use super::step::TagStep;
use crate::transport::layout::{DAY_S, inflow_conc, outlet_conc, source_held_until, source_rate};
use crate::transport::nodes::Pond;

/// The groups' node pass, run **before** the total's (it reads the total's old node concentrations and
/// cells to find the limiter weights of the faces entering each node): mixes every node for every group
/// and sets the groups' end-face fluxes. Mirrors `simulation::node_pass` (the same per-node records, in
/// the same visit order), with the total's face value shared among the groups by [`split`]; then makes
/// ready what the cell pass needs before it starts ([`prepare_cells`]).
///
/// On x86-64 CPUs with AVX2 the same code is compiled a second time for 256-bit vectors (no fused
/// multiply–adds: the bits are the same either way) and chosen at run time.
pub(super) fn node_pass(s: &TagStep, c: &[f64], node_c: &[f64], t: &mut TagLane) {
    #[cfg(target_arch = "x86_64")]
    let done = if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above; that is the only requirement.
        unsafe { node_pass_avx2(s, c, node_c, t) };
        true
    } else {
        false
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = false;
    if !done {
        node_pass_generic(s, c, node_c, t);
    }
    prepare_cells(s, t);
}

/// [`node_pass_generic`] compiled with AVX2 enabled.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn node_pass_avx2(s: &TagStep, c: &[f64], node_c: &[f64], t: &mut TagLane) {
    node_pass_generic(s, c, node_c, t)
}

#[inline(always)]
fn node_pass_generic(s: &TagStep, c: &[f64], node_c: &[f64], t: &mut TagLane) {
    let (lay, co) = (s.lay, s.co);
    let nb = t.nb;
    let dt = s.dt;
    for (k, nrec) in co.nodes.iter().enumerate() {
        let n = nrec.node;
        let cn = node_c[n];
        let (e0, e1) = (lay.node_end_start[k], lay.node_end_start[k + 1]);
        let ends = &co.ends[e0..e1];
        let rate = &mut t.rate[..nb];
        rate.fill([0.0; W]);
        // the blocks that can be non-zero here: those of the reaches that meet here, and of the groups with
        // an inflow or outlet water here (a pond's own state came through those too); every other block's
        // rates, end fluxes and mix are 0 and stay 0, so they are skipped without changing a bit
        let mut mask = t.node_src_mask[k];
        for e in ends {
            mask |= t.act[lay.order[e.rank()]];
        }
        let (lo, hi) = span(mask, nb);
        for e in ends {
            if e.into() > 0.0 && lo < hi {
                let nu = e.into() * dt * e.inv_vol_iu;
                let dsum = if s.explicit_disp {
                    e.d_sum * dt * e.inv_vol_iu
                } else {
                    0.0
                };
                let (iu, uu, slot) = (e.iu(), e.uu(), e.slot as usize);
                let u = &t.conc[iu * nb + lo..iu * nb + hi];
                let cn_g = &t.node_c[n * nb + lo..n * nb + hi];
                let (wu, wd) = split(c[uu], c[iu], cn, nu, dsum, t.relative, u, cn_g);
                let bf = &mut t.bflux[slot * nb + lo..slot * nb + hi];
                let h = s.half[e.rank()];
                for (((rt, b), u), d) in rate[lo..hi].iter_mut().zip(bf.iter_mut()).zip(u).zip(cn_g)
                {
                    for l in 0..W {
                        let fv = wu * u[l] + wd * d[l];
                        rt[l] += h * e.into() * fv;
                        b[l] = e.q * fv;
                    }
                }
            }
        }
        // the groups' inflows here (a group's layout visits the nodes in the same order: it depends on
        // the network alone), and the water entering at an outlet
        let ex = nrec.exchange;
        let ins = &t.node_in[t.node_in_start[k]..t.node_in_start[k + 1]];
        // model m's inflow i (subtracted when it is the total's, in a response)
        let inflow = |m: usize, i: usize| {
            let ci = t.inflow_c[m].at(i, || inflow_conc(s.groups.model(m), i, s.p, s.t_mid));
            let q_in = s.groups.flows[m][s.period].inflow_q[i] * ci;
            if m == t.ng { -q_in } else { q_in }
        };
        let outlet =
            |m: usize| t.outlet_c[m].at(n, || outlet_conc(s.groups.model(m), n, s.p, s.t_mid));
        let mut q = 0;
        if ex < 0.0 && !t.relative {
            // water entering at an outlet: added with each group's inflows (in that order), every group
            for g in 0..t.ng {
                let mut ext_in = 0.0;
                while q < ins.len() && ins[q].0 as usize == g {
                    ext_in += inflow(g, ins[q].2 as usize);
                    q += 1;
                }
                ext_in += -ex * outlet(g);
                *at_mut(rate, g) += ext_in;
            }
        } else {
            while q < ins.len() {
                let g = ins[q].0 as usize;
                let mut ext_in = 0.0;
                while q < ins.len() && ins[q].0 as usize == g {
                    ext_in += inflow(ins[q].1 as usize, ins[q].2 as usize);
                    q += 1;
                }
                *at_mut(rate, g) += ext_in;
            }
            if ex < 0.0 {
                // responses: the outlet water in which a group differs from the total
                let outs = &t.node_out[t.node_out_start[k]..t.node_out_start[k + 1]];
                for &g in outs {
                    let g = g as usize;
                    *at_mut(rate, g) += -ex * (outlet(g) - outlet(t.ng));
                }
            }
        }
        if lo >= hi {
            continue;
        }
        let rate = &mut rate[lo..hi];
        let (qout, qin, v) = (nrec.q_out, nrec.q_in, nrec.vol);
        let cn_g = &mut t.node_c[n * nb + lo..n * nb + hi];
        // `rate` becomes the concentration carried by the water leaving the node
        if nrec.pond {
            let kd = lay.node_decay_per_day[s.p][n] / DAY_S * s.theta;
            let pond = Pond::new(qout + kd * v, v, dt);
            for (rt, cg) in rate.iter_mut().zip(cn_g.iter_mut()) {
                for l in 0..W {
                    let (c_new, integral) = pond.step(cg[l], rt[l]);
                    cg[l] = c_new;
                    rt[l] = integral / dt;
                }
            }
        } else {
            for (rt, cg) in rate.iter_mut().zip(cn_g.iter_mut()) {
                for l in 0..W {
                    if qin > 0.0 {
                        cg[l] = rt[l] / qin;
                    }
                    rt[l] = if qout > 0.0 { rt[l] / qout } else { 0.0 };
                }
            }
        }
        for e in ends {
            if e.into() <= 0.0 {
                let f = e.q / s.half[e.rank()];
                let slot = e.slot as usize;
                let bf = &mut t.bflux[slot * nb + lo..slot * nb + hi];
                for (b, rt) in bf.iter_mut().zip(rate.iter()) {
                    for l in 0..W {
                        b[l] = f * rt[l];
                    }
                }
            }
        }
    }
}

/// What the groups' cell pass needs ready before it starts, made at the end of the node pass (so that
/// it runs beside the total's node pass and kernel when a thread helps, `assist`): the blocks whose flux
/// first crosses an end face of a reach join its activity, and this step's source increments (the rates
/// are cached while their series hold; the flows, and with them the rates of the outfalls with water,
/// change with the period), a block joining a reach's activity once one of its sources there first
/// brings something.
fn prepare_cells(s: &TagStep, t: &mut TagLane) {
    let (lay, co, net) = (s.lay, s.co, s.net);
    let nb = t.nb;
    let dt = s.dt;
    for r in 0..net.n_reaches {
        let k = lay.rank[r];
        for slot in [2 * k, 2 * k + 1] {
            let row = &t.bflux[slot * nb..(slot + 1) * nb];
            for (blk, x) in row.iter().enumerate() {
                if t.act[r] & bit(blk) == 0 && x.iter().any(|&v| v != 0.0) {
                    t.act[r] |= bit(blk);
                }
            }
        }
    }
    if t.cache_period != s.period {
        t.src_cache.fill((0.0, f64::NEG_INFINITY));
        t.cache_period = s.period;
    }
    for ((ev, cache), inc) in t.src.iter().zip(&mut t.src_cache).zip(&mut t.src_inc) {
        let (g, mi) = (ev.g as usize, ev.m as usize);
        let rate = if s.t_mid < cache.1 {
            cache.0
        } else {
            let m = s.groups.model(mi);
            let src = &s.groups.lays[mi].sources[ev.k as usize];
            let r = source_rate(m, &s.groups.flows[mi][s.period], src, s.p, s.t_mid);
            // a response subtracts the total's sources
            let r = if mi == g { r } else { -r };
            *cache = (r, source_held_until(m, src, s.p, s.t_mid));
            r
        };
        let mass = rate * dt;
        *inc = s.half[ev.rank as usize] * mass * co.inv_vol[ev.ext as usize];
        if *inc != 0.0 {
            t.act[ev.reach as usize] |= bit(g / W);
        }
    }
}
