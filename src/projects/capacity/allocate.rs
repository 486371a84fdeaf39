//! The cheapest reductions by source group (the module docs of `capacity` give the programme): one linear
//! programme per pollutant, solved by good_lp with its pure-Rust `microlp` backend (a simplex with bounded
//! variables; no system library, so the binary stays self-contained).
//!
//! Variables are the removed fractions f_g ∈ [0, 1] rather than kg/day, and each section's row is divided by
//! its target, so every coefficient is a concentration ratio of order 1 whatever the units of the loads.

use super::{CapacityError, GroupAllocation, Responses, SectionTarget, Sources};
use crate::model::Model;
use good_lp::{
    Expression, Solution, SolverModel, Variable, constraint, microlp, variable, variables,
};

/// Relative tolerance of "at the target" and of the floor test.
const AT_TARGET: f64 = 1e-6;

/// The allocation of every pollutant.
#[derive(Debug, Clone, Default)]
pub struct Allocation {
    /// Group by group within each pollutant.
    pub groups: Vec<GroupAllocation>,
    /// Every control section and pollutant.
    pub sections: Vec<SectionTarget>,
    /// Sections left out as infeasible.
    pub notes: Vec<String>,
}

/// Solve the allocation for every pollutant of `judged` ((zone, section, pollutant, limit) rows).
pub fn allocate(
    dm: &Model,
    src: &Sources,
    resp: &Responses,
    judged: &[(usize, usize, usize, f64)],
) -> Result<Allocation, CapacityError> {
    let mut out = Allocation::default();
    let ng = src.groups.len();
    for p in 0..dm.pollutants.len() {
        // each section once, at the strictest target of the zones judged there
        let mut rows: Vec<(usize, f64)> = Vec::new();
        for &(_, s, _, l) in judged.iter().filter(|j| j.2 == p) {
            match rows.iter_mut().find(|r| r.0 == s) {
                Some(r) => r.1 = r.1.min(l),
                None => rows.push((s, l)),
            }
        }
        if rows.is_empty() {
            continue;
        }
        let present: Vec<f64> = (0..ng)
            .map(|g| {
                (0..src.atoms.len())
                    .filter(|&a| src.atoms[a].group == g)
                    .map(|a| src.present_kg_d[a][p])
                    .sum()
            })
            .collect();
        // response of each group at each row's section
        let r_gs: Vec<Vec<f64>> = rows
            .iter()
            .map(|&(s, _)| {
                (0..ng)
                    .map(|g| resp.sum(s, p, &|a| src.atoms[a].group == g))
                    .collect()
            })
            .collect();
        let costs: Vec<f64> = src.groups.iter().map(|g| dm.capacity.cost_of(g)).collect();
        let mut targets: Vec<SectionTarget> = rows
            .iter()
            .zip(&r_gs)
            .map(|(&(s, l), r)| {
                let total = resp.total[s][p];
                let floor = total - r.iter().sum::<f64>();
                SectionTarget {
                    s,
                    section: dm.sections[s].id.clone(),
                    p,
                    pollutant: dm.pollutants[p].clone(),
                    target_mg_l: l,
                    present_mg_l: total,
                    floor_mg_l: floor,
                    allocated_mg_l: total,
                    status: if floor > l * (1.0 + AT_TARGET) {
                        "infeasible".into()
                    } else {
                        String::new()
                    },
                }
            })
            .collect();
        let infeasible: Vec<String> = targets
            .iter()
            .filter(|t| t.status == "infeasible")
            .map(|t| {
                format!(
                    "{} ({:.4} > {} mg/L)",
                    t.section, t.floor_mg_l, t.target_mg_l
                )
            })
            .collect();
        if !infeasible.is_empty() {
            out.notes.push(format!(
                "{}: the background alone exceeds the target at {}; left out of the allocation",
                dm.pollutants[p],
                infeasible.join(", ")
            ));
        }
        let f = solve(&present, &costs, &r_gs, &targets)
            .map_err(|e| CapacityError::Allocation(format!("{}: {e}", dm.pollutants[p])))?;
        for (t, r) in targets.iter_mut().zip(&r_gs) {
            let removed: f64 = r.iter().zip(&f).map(|(a, b)| a * b).sum();
            t.allocated_mg_l = t.present_mg_l - removed;
            if t.status.is_empty() {
                t.status = if t.allocated_mg_l >= t.target_mg_l * (1.0 - AT_TARGET) {
                    "binding".into()
                } else {
                    "met".into()
                };
            }
        }
        for g in 0..ng {
            let reduction = present[g] * f[g];
            out.groups.push(GroupAllocation {
                group: src.groups[g].clone(),
                pollutant: dm.pollutants[p].clone(),
                present_kg_d: present[g],
                allowed_kg_d: present[g] - reduction,
                reduction_kg_d: reduction,
                cost_per_kg_d: costs[g],
                cost: costs[g] * reduction,
            });
        }
        out.sections.extend(targets);
    }
    Ok(out)
}

/// The removed fractions: minimise Σ c_g·P_g·f_g subject to Σ_g R_gs·f_g ≥ C_s − C_t,s for the rows that are
/// not infeasible, 0 ≤ f_g ≤ 1. Groups without load are not variables (f = 0).
pub fn solve(
    present: &[f64],
    costs: &[f64],
    r_gs: &[Vec<f64>],
    targets: &[SectionTarget],
) -> Result<Vec<f64>, String> {
    let ng = present.len();
    let live: Vec<usize> = (0..ng).filter(|&g| present[g] > 0.0).collect();
    let needed = targets
        .iter()
        .any(|t| t.status != "infeasible" && t.present_mg_l > t.target_mg_l);
    if live.is_empty() || !needed {
        return Ok(vec![0.0; ng]);
    }
    let mut vars = variables!();
    let x: Vec<Variable> = live
        .iter()
        .map(|_| vars.add(variable().min(0.0).max(1.0)))
        .collect();
    // the objective in units of the largest cost·load, so that it is of order 1 too
    let scale = live
        .iter()
        .map(|&g| costs[g] * present[g])
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    let objective: Expression = live
        .iter()
        .zip(&x)
        .map(|(&g, &v)| (costs[g] * present[g] / scale) * v)
        .sum();
    let mut lp = vars.minimise(objective).using(microlp);
    for (t, r) in targets.iter().zip(r_gs) {
        if t.status == "infeasible" {
            continue;
        }
        let lhs: Expression = live
            .iter()
            .zip(&x)
            .map(|(&g, &v)| (r[g] / t.target_mg_l) * v)
            .sum();
        let rhs = (t.present_mg_l - t.target_mg_l) / t.target_mg_l;
        lp = lp.with(constraint!(lhs >= rhs));
    }
    let sol = lp.solve().map_err(|e| e.to_string())?;
    let mut f = vec![0.0; ng];
    for (&g, v) in live.iter().zip(&x) {
        f[g] = sol.value(*v).clamp(0.0, 1.0);
    }
    Ok(f)
}
