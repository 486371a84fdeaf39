//! [`apply`]: a selection of projects → a transformed [`Model`] (see the module docs of `projects` for the
//! semantics).
// Pollutant loops index several parallel arrays (concentration, mass, reduction) by the same `p`.
#![allow(clippy::needless_range_loop)]

use super::*;
use crate::model::{
    At, DecayChange, Discharge, Inflow, LineLoad, Outfall, OutfallKind, Project, ProjectKind,
    Series, SewerDestination,
};

/// A project as applied: its kind, effect timing and dates after any delay.
struct Active<'a> {
    p: &'a Project,
    start_s: f64,
    finish_s: f64,
}

impl Active<'_> {
    fn f(&self, t_s: f64) -> f64 {
        effect_fraction(self.finish_s, self.p.ramp_s, t_s)
    }
}

fn push_bps(s: &Series, out: &mut Vec<f64>) {
    out.extend_from_slice(s.breakpoints());
}

fn step(times_s: &[f64], values: Vec<f64>) -> Series {
    // a series constant over the grid is stored as a constant (fewer flow periods, same values)
    if values.iter().all(|&v| v.to_bits() == values[0].to_bits()) {
        return Series::Const(values[0]);
    }
    Series::Table {
        times_s: times_s.to_vec(),
        values,
        linear: false,
    }
}

/// Apply the selected projects to a copy of `model`.
///
/// Returns the model unchanged (a clone) when nothing is selected and no sewer carries a base flow. The
/// selection must have one entry per project of `model` (as the [`Selection`] constructors make).
pub fn apply(model: &Model, sel: &Selection) -> Result<Model, ScenarioError> {
    let np = model.pollutants.len();
    if sel.included.len() != model.projects.len() || sel.delay_s.len() != model.projects.len() {
        return Err(ScenarioError {
            problems: vec![Problem {
                file: model.path.clone(),
                line: None,
                item: "project selection".into(),
                field: String::new(),
                value: format!("{} entries", sel.included.len()),
                expected: format!("one entry per project ({})", model.projects.len()),
            }],
        });
    }
    let active: Vec<Active> = model
        .projects
        .iter()
        .zip(sel.included.iter().zip(&sel.delay_s))
        .filter(|(_, (inc, _))| **inc)
        .map(|(p, (_, d))| Active {
            p,
            start_s: p.start_s + d,
            finish_s: p.finish_s + d,
        })
        .collect();
    let routed = model.sewers.iter().any(|s| s.base_flow_m3s > 0.0);
    if active.is_empty() && !routed {
        return Ok(model.clone());
    }
    let mut m = model.clone();
    let end_s = model.sim.end_s;

    // ---- which items are touched
    let mut touched_out = vec![false; model.outfalls.len()];
    let mut touched_node = vec![false; model.nodes.len()];
    let mut touched_line = vec![false; model.line_loads.len()];
    for a in &active {
        match &a.p.kind {
            ProjectKind::Intercept { outfalls, .. } | ProjectKind::Separate { outfalls, .. } => {
                outfalls.iter().for_each(|&o| touched_out[o] = true)
            }
            ProjectKind::CloseOutfall {
                outfalls,
                line_loads,
            }
            | ProjectKind::RuralTreatment {
                outfalls,
                line_loads,
                ..
            } => {
                outfalls.iter().for_each(|&o| touched_out[o] = true);
                line_loads.iter().for_each(|&l| touched_line[l] = true);
            }
            ProjectKind::BoundaryImprovement { node, .. } => touched_node[*node] = true,
            _ => {}
        }
    }

    // ---- the grid: 0, every project date and ramp step, every breakpoint of a touched item's series
    let mut bps: Vec<f64> = vec![0.0];
    for a in &active {
        bps.push(a.start_s);
        effect_breakpoints(a.finish_s, a.p.ramp_s, &mut bps);
    }
    for (l, t) in model.line_loads.iter().zip(&touched_line) {
        if *t {
            l.kg_per_day.iter().for_each(|c| push_bps(c, &mut bps));
        }
    }
    for (o, t) in model.outfalls.iter().zip(&touched_out) {
        if *t {
            match &o.discharge {
                Discharge::Flow {
                    flow_m3s,
                    concentration,
                } => {
                    push_bps(flow_m3s, &mut bps);
                    concentration.iter().for_each(|c| push_bps(c, &mut bps));
                }
                Discharge::Load { kg_per_day } => {
                    kg_per_day.iter().for_each(|c| push_bps(c, &mut bps))
                }
            }
        }
    }
    for i in &model.inflows {
        if touched_node[i.node] {
            i.concentration.iter().for_each(|c| push_bps(c, &mut bps));
            // sewers do not carry inflows; the inflow flow keeps its own series untouched
        }
    }
    let mut grid: Vec<f64> = bps
        .into_iter()
        .filter(|&t| t.is_finite() && (0.0..end_s).contains(&t))
        .collect();
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let nt = grid.len();

    // ---- outfalls, and what the sewers collect: flow [sewer][t], mass g/s [sewer][p][t]
    let ns = model.sewers.len();
    let mut sq = vec![vec![0.0; nt]; ns];
    let mut sm = vec![vec![vec![0.0; nt]; np]; ns];
    for (s, sw) in model.sewers.iter().enumerate() {
        for k in 0..nt {
            sq[s][k] = sw.base_flow_m3s;
            for p in 0..np {
                sm[s][p][k] = sw.base_flow_m3s * sw.base_concentration[p];
            }
        }
    }
    for (oi, o) in model.outfalls.iter().enumerate() {
        if !touched_out[oi] {
            continue;
        }
        let acts: Vec<&Active> = active
            .iter()
            .filter(|a| match &a.p.kind {
                ProjectKind::Intercept { outfalls, .. }
                | ProjectKind::CloseOutfall { outfalls, .. }
                | ProjectKind::Separate { outfalls, .. }
                | ProjectKind::RuralTreatment { outfalls, .. } => outfalls.contains(&oi),
                _ => false,
            })
            .collect();
        match &o.discharge {
            Discharge::Flow {
                flow_m3s,
                concentration,
            } => {
                let mut q_out = vec![0.0; nt];
                let mut c_out = vec![vec![0.0; nt]; np];
                let mut c = vec![0.0; np];
                for (k, &t) in grid.iter().enumerate() {
                    let mut q = flow_m3s.at(t);
                    for p in 0..np {
                        c[p] = concentration[p].at(t);
                    }
                    for a in &acts {
                        let f = a.f(t);
                        match &a.p.kind {
                            ProjectKind::Intercept {
                                efficiency, sewer, ..
                            } => {
                                let take = efficiency * f * q;
                                q -= take;
                                sq[*sewer][k] += take;
                                for p in 0..np {
                                    sm[*sewer][p][k] += take * c[p];
                                }
                            }
                            ProjectKind::CloseOutfall { .. } => q *= 1.0 - f,
                            ProjectKind::Separate { efficiency, .. } => q *= 1.0 - efficiency * f,
                            ProjectKind::RuralTreatment { reduction, .. } => {
                                for p in 0..np {
                                    c[p] *= 1.0 - reduction[p] * f;
                                }
                            }
                            _ => {}
                        }
                    }
                    q_out[k] = q;
                    for p in 0..np {
                        c_out[p][k] = c[p];
                    }
                }
                m.outfalls[oi].discharge = Discharge::Flow {
                    flow_m3s: step(&grid, q_out),
                    concentration: c_out.into_iter().map(|v| step(&grid, v)).collect(),
                };
            }
            Discharge::Load { kg_per_day } => {
                let mut w_out = vec![vec![0.0; nt]; np];
                for (k, &t) in grid.iter().enumerate() {
                    for p in 0..np {
                        let mut w = kg_per_day[p].at(t);
                        for a in &acts {
                            let f = a.f(t);
                            match &a.p.kind {
                                ProjectKind::CloseOutfall { .. } => w *= 1.0 - f,
                                ProjectKind::Separate { efficiency, .. } => {
                                    w *= 1.0 - efficiency * f
                                }
                                ProjectKind::RuralTreatment { reduction, .. } => {
                                    w *= 1.0 - reduction[p] * f
                                }
                                _ => {} // intercept of a mass-only load is refused by the check
                            }
                        }
                        w_out[p][k] = w;
                    }
                }
                m.outfalls[oi].discharge = Discharge::Load {
                    kg_per_day: w_out.into_iter().map(|v| step(&grid, v)).collect(),
                };
            }
        }
    }

    // ---- line loads: closed or cut by rural treatment
    for (li, ll) in model.line_loads.iter().enumerate() {
        if !touched_line[li] {
            continue;
        }
        let acts: Vec<&Active> = active
            .iter()
            .filter(|a| match &a.p.kind {
                ProjectKind::CloseOutfall { line_loads, .. }
                | ProjectKind::RuralTreatment { line_loads, .. } => line_loads.contains(&li),
                _ => false,
            })
            .collect();
        let mut w_out = vec![vec![0.0; nt]; np];
        for (k, &t) in grid.iter().enumerate() {
            for p in 0..np {
                let mut w = ll.kg_per_day[p].at(t);
                for a in &acts {
                    let f = a.f(t);
                    match &a.p.kind {
                        ProjectKind::CloseOutfall { .. } => w *= 1.0 - f,
                        ProjectKind::RuralTreatment { reduction, .. } => {
                            w *= 1.0 - reduction[p] * f
                        }
                        _ => {}
                    }
                }
                w_out[p][k] = w;
            }
        }
        m.line_loads[li].kg_per_day = w_out.into_iter().map(|v| step(&grid, v)).collect();
    }

    // ---- sewers: overflow (above the capacity in force), then plant or discharge
    let npl = model.plants.len();
    let mut pq = vec![vec![0.0; nt]; npl];
    let mut pm = vec![vec![vec![0.0; nt]; np]; npl];
    for (s, sw) in model.sewers.iter().enumerate() {
        let mut over = vec![0.0; nt];
        let mut rest = vec![0.0; nt];
        let mut conc = vec![vec![0.0; nt]; np];
        let upgrades: Vec<&Active> = active
            .iter()
            .filter(|a| matches!(&a.p.kind, ProjectKind::SewerUpgrade { sewer, .. } if *sewer == s))
            .collect();
        for k in 0..nt {
            let q = sq[s][k];
            let mut cap = sw.capacity_m3s;
            for a in &upgrades {
                if let ProjectKind::SewerUpgrade { capacity_m3s, .. } = &a.p.kind {
                    cap += a.f(grid[k]) * (capacity_m3s - cap);
                }
            }
            over[k] = (q - cap).max(0.0);
            rest[k] = q - over[k];
            for p in 0..np {
                conc[p][k] = if q > 0.0 { sm[s][p][k] / q } else { 0.0 };
            }
        }
        m.outfalls.extend(derived(
            format!("{}:overflow", sw.id),
            sw.overflow,
            OutfallKind::Overflow,
            format!("sewer {}", sw.id),
            &grid,
            over,
            &conc,
        ));
        match sw.destination {
            SewerDestination::Plant(pl) => {
                for k in 0..nt {
                    pq[pl][k] += rest[k];
                    for p in 0..np {
                        pm[pl][p][k] += rest[k] * conc[p][k];
                    }
                }
            }
            SewerDestination::Discharge(at) => {
                m.outfalls.extend(derived(
                    format!("{}:discharge", sw.id),
                    at,
                    OutfallKind::Sewage,
                    format!("sewer {}", sw.id),
                    &grid,
                    rest,
                    &conc,
                ));
            }
        }
    }

    // ---- plants: capacity and effluent in time, treated and bypassed flows
    for (pl, plant) in model.plants.iter().enumerate() {
        if !pq[pl].iter().any(|&v| v > 0.0) {
            continue;
        }
        let ups: Vec<&Active> = active
            .iter()
            .filter(|a| matches!(&a.p.kind, ProjectKind::Plant { plant: x, .. } if *x == pl))
            .collect();
        let mut treated = vec![0.0; nt];
        let mut bypass = vec![0.0; nt];
        let mut c_eff = vec![vec![0.0; nt]; np];
        let mut c_in = vec![vec![0.0; nt]; np];
        let mut eff = vec![None; np];
        for (k, &t) in grid.iter().enumerate() {
            let mut cap = plant.capacity_m3s;
            eff.copy_from_slice(&plant.effluent);
            for a in &ups {
                let f = a.f(t);
                if let ProjectKind::Plant {
                    capacity_m3s,
                    effluent,
                    ..
                } = &a.p.kind
                {
                    if let Some(c1) = capacity_m3s {
                        cap += f * (c1 - cap);
                    }
                    for p in 0..np {
                        if let Some(e1) = effluent[p] {
                            // a pollutant the plant did not treat before starts from no treatment (its influent)
                            let q = pq[pl][k];
                            let e0 = eff[p].unwrap_or(if q > 0.0 { pm[pl][p][k] / q } else { 0.0 });
                            eff[p] = Some(e0 + f * (e1 - e0));
                        }
                    }
                }
            }
            let q = pq[pl][k];
            treated[k] = q.min(cap);
            bypass[k] = q - treated[k];
            for p in 0..np {
                let ci = if q > 0.0 { pm[pl][p][k] / q } else { 0.0 };
                c_in[p][k] = ci;
                c_eff[p][k] = match eff[p] {
                    Some(e) => e.min(ci),
                    None => ci,
                };
            }
        }
        // effluent (and bypass) that leaves the model is simply not added to any reach
        m.outfalls.extend(plant.discharge.and_then(|at| {
            derived(
                format!("{}:effluent", plant.id),
                at,
                OutfallKind::Wwtp,
                format!("plant {}", plant.id),
                &grid,
                treated,
                &c_eff,
            )
        }));
        m.outfalls.extend(plant.bypass.and_then(|at| {
            derived(
                format!("{}:bypass", plant.id),
                at,
                OutfallKind::Overflow,
                format!("plant {}", plant.id),
                &grid,
                bypass,
                &c_in,
            )
        }));
    }

    // ---- inflows: boundary improvements, diversions
    for (ii, inf) in model.inflows.iter().enumerate() {
        if !touched_node[inf.node] {
            continue;
        }
        let mut conc = vec![vec![0.0; nt]; np];
        for (k, &t) in grid.iter().enumerate() {
            for p in 0..np {
                let mut c = inf.concentration[p].at(t);
                for a in &active {
                    if let ProjectKind::BoundaryImprovement {
                        node,
                        concentration,
                    } = &a.p.kind
                        && *node == inf.node
                        && let Some(c1) = concentration[p]
                    {
                        let f = a.f(t);
                        c = (1.0 - f) * c + f * c1;
                    }
                }
                conc[p][k] = c;
            }
        }
        m.inflows[ii].concentration = conc.into_iter().map(|v| step(&grid, v)).collect();
    }
    for a in &active {
        if let ProjectKind::Diversion {
            node,
            flow_m3s,
            concentration,
        } = &a.p.kind
        {
            let q: Vec<f64> = grid.iter().map(|&t| a.f(t) * flow_m3s).collect();
            if q.iter().any(|&v| v > 0.0) {
                m.inflows.push(Inflow {
                    node: *node,
                    flow_m3s: step(&grid, q),
                    concentration: concentration.iter().map(|&c| Series::Const(c)).collect(),
                    group: format!("diversion {}", a.p.id),
                });
            }
        }
    }

    // ---- dredging: the reach's release becomes a line load that changes in time
    for r in 0..model.reaches.len() {
        let acts: Vec<&Active> = active
            .iter()
            .filter(|a| matches!(&a.p.kind, ProjectKind::Dredging { reaches, .. } if reaches.contains(&r)))
            .collect();
        if acts.is_empty() {
            continue;
        }
        let reach = &model.reaches[r];
        // the decay rates, where a project changes them: a change at every grid time they move
        let moves_decay = acts.iter().any(|a| {
            matches!(&a.p.kind, ProjectKind::Dredging { decay_per_day, .. } if decay_per_day.iter().any(Option::is_some))
        });
        if moves_decay {
            let mut last: Vec<f64> = reach.decay_per_day.clone();
            for &t in &grid {
                let mut k_now = reach.decay_per_day.clone();
                for (p, k) in k_now.iter_mut().enumerate() {
                    for a in &acts {
                        if let ProjectKind::Dredging { decay_per_day, .. } = &a.p.kind
                            && let Some(k1) = decay_per_day[p]
                        {
                            *k += a.f(t) * (k1 - *k);
                        }
                    }
                }
                if k_now != last {
                    m.decay_changes.push(DecayChange {
                        reach: r,
                        t_s: t,
                        decay_per_day: k_now.clone(),
                    });
                    last = k_now;
                }
            }
        }
        let moves_release = acts.iter().any(|a| {
            matches!(&a.p.kind, ProjectKind::Dredging { release_g_m2_day, .. } if release_g_m2_day.iter().any(Option::is_some))
        });
        if !moves_release {
            continue;
        }
        let bed_m2 = reach.length_m * reach.section.bed_width_m();
        let mut w = vec![vec![0.0; nt]; np];
        for (k, &t) in grid.iter().enumerate() {
            for p in 0..np {
                let mut rel = reach.release_g_m2_day[p];
                for a in &acts {
                    if let ProjectKind::Dredging {
                        release_g_m2_day, ..
                    } = &a.p.kind
                        && let Some(r1) = release_g_m2_day[p]
                    {
                        rel += a.f(t) * (r1 - rel);
                    }
                }
                // g/m²/day × m² / 1000 = kg/day
                w[p][k] = rel * bed_m2 / 1000.0;
            }
        }
        m.reaches[r].release_g_m2_day = vec![0.0; np];
        m.line_loads.push(LineLoad {
            id: format!("{}:release", reach.id),
            reach: r,
            from_m: 0.0,
            to_m: reach.length_m,
            kg_per_day: w.into_iter().map(|v| step(&grid, v)).collect(),
            group: "internal release".into(),
        });
    }

    m.decay_changes.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));

    // ---- construction loads between start and finish
    for a in &active {
        if let Some(cons) = &a.p.construction {
            let on: Vec<bool> = grid
                .iter()
                .map(|&t| t >= a.start_s && t < a.finish_s)
                .collect();
            if !on.iter().any(|&b| b) {
                continue;
            }
            m.outfalls.push(Outfall {
                id: format!("{}:construction", a.p.id),
                reach: cons.at.reach,
                at_m: cons.at.at_m,
                discharge: Discharge::Load {
                    kg_per_day: cons
                        .kg_per_day
                        .iter()
                        .map(|&w| {
                            step(&grid, on.iter().map(|&b| if b { w } else { 0.0 }).collect())
                        })
                        .collect(),
                },
                kind: OutfallKind::Industrial,
                group: "construction".into(),
            });
        }
    }
    Ok(m)
}

/// A derived outfall (flow and concentrations as step series on `grid`), or `None` if it never flows.
fn derived(
    id: String,
    at: At,
    kind: OutfallKind,
    group: String,
    grid: &[f64],
    flow: Vec<f64>,
    conc: &[Vec<f64>],
) -> Option<Outfall> {
    if !flow.iter().any(|&v| v > 0.0) {
        return None;
    }
    Some(Outfall {
        id,
        reach: at.reach,
        at_m: at.at_m,
        discharge: Discharge::Flow {
            flow_m3s: step(grid, flow),
            concentration: conc.iter().map(|v| step(grid, v.clone())).collect(),
        },
        kind,
        group,
    })
}
