//! `rivsim capacity`: each zone's allowable load (纳污能力, GB/T 25173-2010) under design conditions, by the
//! network model and by the standard's one-dimensional formula, and the cheapest reductions by source group
//! that bring every control section to its zone's target (DESIGN.md §11).
//!
//! ## Why one steady solve per source is enough
//! Under design conditions (`design.rs`: one steady flow field, constant loads) first-order transport is
//! linear in the loads (`crate::apportion` explains why): the concentration at section s is
//!
//!   C_s = B_s + Σ_a α_a·R_{a,s}
//!
//! where R_{a,s} (mg/L) is the steady response at s to the present load of source *atom* a, α_a the factor
//! that scales it (1 = as it is), and B_s what every other source (boundary inflows, outlet water, internal
//! release) brings. An atom is the outfalls and line loads of one source group on one zone's reaches: zones
//! add atoms up by zone, the allocation by group. One tagged steady run (`transport::run_tagged`) gives every
//! R_{a,s}; B_s is the total minus the atoms. Loads are scaled through their concentrations (mass-only loads
//! through their kg/day), never their water, so the flow field stays the design one.
//!
//! ## Capacity of zone z for pollutant p (`capacity.csv`)
//! z's own sources are the atoms on its reaches, present load L_z (kg/day) and response R_s = Σ_{a∈z} R_{a,s}
//! at each of its control sections s (the sections it names, else the sections on its reaches; a zone with
//! neither is invalid input). Scaled in their present proportions by α, the sections stay at or below the
//! target limit C_t (GB 3838 limit of the zone's target class for the section's water body) while
//! B_s + α·R_s ≤ C_t, so
//!
//!   α* = min_s (C_t − B_s)/R_s   over the sections the zone's sources reach (R_s > 0),
//!   capacity = α*·L_z,   reduction = max(0, L_z − capacity).
//!
//! A section whose background alone exceeds the target (B_s > C_t) makes the capacity 0 and the row
//! `infeasible`; a zone with no own load of p, or whose sources reach none of its sections, has no capacity
//! by this definition (`no_own_load`, `not_reached`: the cell is left empty). The GB/T 25173 formula
//! (`formula.rs`) is computed beside it for the zone's main reach.
//!
//! ## Allocation (`allocation.csv`, `allocation_sections.csv`)
//! Per pollutant, a linear programme over the fractions f_g ∈ [0, 1] removed from each reducible group g
//! (the groups of outfalls and line loads, present load P_g) — `allocate.rs`:
//!
//!   minimise Σ_g c_g·P_g·f_g   subject to   Σ_g R_{g,s}·f_g ≥ C_s − C_t,s   for every control section s,
//!
//! with c_g the group's `reduction_cost` (per kg/day, default 1) and C_s the present concentration. A
//! section whose floor (every group removed) is still above its target is reported `infeasible` and left out
//! of the programme, so the others are still served.
//!
//! Dissolved oxygen (a minimum, and not linear in the loads) is left out of both, and said so in the notes.

pub mod allocate;
pub mod design;
pub mod formula;
pub mod output;

use crate::hydraulics::{self, HydraulicsError, HydraulicsOptions};
use crate::model::{DesignFlow, Discharge, Model, Series};
use crate::network::Network;
use crate::scenario::{Problem, ScenarioError};
use crate::targets::assess::{SiteRef, zone_sites};
use crate::targets::gb3838::{Class, Direction};
use crate::transport::{TransportError, TransportOptions};
use design::Design;

/// kg/day per g/s.
pub const KG_D_PER_G_S: f64 = 86.4;

/// Options of `rivsim capacity`.
#[derive(Debug, Clone, Default)]
pub struct CapacityOptions {
    /// `--design-flow`: replaces `[capacity] design_flow`.
    pub design_flow: Option<DesignFlow>,
}

/// What stops `rivsim capacity`.
#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    /// Invalid input (exit code 2): a zone without a control section, a bad design flow.
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// The design hydraulics failed.
    #[error("hydraulics: {0}")]
    Hydraulics(#[from] HydraulicsError),
    /// The design transport failed.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// The linear programme failed (it is feasible by construction, so this is a solver failure).
    #[error("allocation: {0}")]
    Allocation(String),
}

/// One atom: the outfalls and line loads of one reducible group on the reaches of one zone (or of none).
#[derive(Debug, Clone, PartialEq)]
pub struct Atom {
    /// Index into [`Sources::groups`].
    pub group: usize,
    /// Zone of the items' reach.
    pub zone: Option<usize>,
}

/// The reducible sources of the design model, in atoms.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Reducible group names (outfalls' and line loads' groups, first appearance).
    pub groups: Vec<String>,
    /// The atoms.
    pub atoms: Vec<Atom>,
    /// Atom of each outfall.
    pub outfall_atom: Vec<usize>,
    /// Atom of each line load.
    pub line_atom: Vec<usize>,
    /// Present load of each atom, kg/day: `[atom][pollutant]`.
    pub present_kg_d: Vec<Vec<f64>>,
}

impl Sources {
    /// The atoms of the design model `m` (every series constant).
    pub fn of(m: &Model) -> Sources {
        let groups = crate::model::reducible_groups(&m.outfalls, &m.line_loads);
        let np = m.pollutants.len();
        let mut atoms: Vec<Atom> = Vec::new();
        let mut present_kg_d: Vec<Vec<f64>> = Vec::new();
        let mut atom_of = |group: &str, reach: usize, load: Vec<f64>| {
            let a = Atom {
                group: groups.iter().position(|g| g == group).unwrap_or(0),
                zone: m.reaches.get(reach).and_then(|r| r.zone),
            };
            let k = match atoms.iter().position(|x| *x == a) {
                Some(k) => k,
                None => {
                    atoms.push(a);
                    present_kg_d.push(vec![0.0; np]);
                    atoms.len() - 1
                }
            };
            for (t, v) in present_kg_d[k].iter_mut().zip(load) {
                *t += v;
            }
            k
        };
        let c = |s: &Series| s.at(0.0);
        let outfall_atom: Vec<usize> = m
            .outfalls
            .iter()
            .map(|o| {
                let load: Vec<f64> = match &o.discharge {
                    Discharge::Flow {
                        flow_m3s,
                        concentration,
                    } => concentration
                        .iter()
                        .map(|x| c(flow_m3s) * c(x) * KG_D_PER_G_S)
                        .collect(),
                    Discharge::Load { kg_per_day } => kg_per_day.iter().map(c).collect(),
                };
                atom_of(&o.group, o.reach, load)
            })
            .collect();
        let line_atom: Vec<usize> = m
            .line_loads
            .iter()
            .map(|l| atom_of(&l.group, l.reach, l.kg_per_day.iter().map(c).collect()))
            .collect();
        Sources {
            groups,
            atoms,
            outfall_atom,
            line_atom,
            present_kg_d,
        }
    }

    /// The model of the atoms `keep` says yes to: every other outfall and line load carries no mass, and
    /// every other source (inflows, outlets, release) none either when `others` is `false`.
    pub fn model_with(&self, m: &Model, keep: &dyn Fn(usize) -> bool, others: bool) -> Model {
        let zero = |v: &mut Vec<Series>| v.iter_mut().for_each(|s| *s = Series::Const(0.0));
        let mut g = m.clone();
        for (o, &a) in g.outfalls.iter_mut().zip(&self.outfall_atom) {
            if !keep(a) {
                zero(o.discharge.mass_series_mut());
            }
        }
        for (l, &a) in g.line_loads.iter_mut().zip(&self.line_atom) {
            if !keep(a) {
                zero(&mut l.kg_per_day);
            }
        }
        if !others {
            for i in &mut g.inflows {
                zero(&mut i.concentration);
            }
            for n in &mut g.nodes {
                zero(&mut n.concentration);
            }
            for r in &mut g.reaches {
                r.release_g_m2_day.iter_mut().for_each(|v| *v = 0.0);
            }
        }
        g
    }
}

/// Steady concentrations at every section under design conditions: the total and each atom's response.
#[derive(Debug, Clone)]
pub struct Responses {
    /// Total, mg/L: `[section][pollutant]`.
    pub total: Vec<Vec<f64>>,
    /// Response to each atom's present load, mg/L: `[section][pollutant][atom]`.
    pub atom: Vec<Vec<Vec<f64>>>,
    /// Largest |Σ atoms + background − total| met, relative (a check of the tagged run's additivity).
    pub max_relative_gap: f64,
}

impl Responses {
    /// The sum of the atoms `pick` says yes to at section `s`, pollutant `p`.
    pub fn sum(&self, s: usize, p: usize, pick: &dyn Fn(usize) -> bool) -> f64 {
        self.atom[s][p]
            .iter()
            .enumerate()
            .filter(|&(a, _)| pick(a))
            .map(|(_, v)| v)
            .sum()
    }
}

/// Why a zone's capacity is what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The present load is within the capacity.
    Within,
    /// The present load exceeds the capacity.
    Exceeded,
    /// The background alone exceeds the target at a control section.
    Infeasible,
    /// The zone has no own load of the pollutant.
    NoOwnLoad,
    /// The zone's own sources reach none of its control sections.
    NotReached,
}

impl Status {
    /// The file spelling.
    pub fn name(self) -> &'static str {
        match self {
            Status::Within => "within",
            Status::Exceeded => "exceeded",
            Status::Infeasible => "infeasible",
            Status::NoOwnLoad => "no_own_load",
            Status::NotReached => "not_reached",
        }
    }
}

/// One zone and pollutant.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ZoneCapacity {
    /// Zone id.
    pub zone: String,
    /// Pollutant name.
    pub pollutant: String,
    /// Target limit, mg/L.
    pub target_mg_l: f64,
    /// The zone's own present load, kg/day.
    pub present_load_kg_d: f64,
    /// Allowable load by the network model, kg/day (`None`: see `status`).
    pub capacity_kg_d: Option<f64>,
    /// Allowable load by the GB/T 25173 one-dimensional formula on the main reach, kg/day.
    pub formula_capacity_kg_d: Option<f64>,
    /// Reduction needed, kg/day (0 when within).
    pub reduction_kg_d: Option<f64>,
    /// The control section that limits the capacity (or the first one).
    pub section: String,
    /// Present concentration there, mg/L.
    pub present_mg_l: f64,
    /// Concentration there from everything but the zone's own sources, mg/L.
    pub background_mg_l: f64,
    /// Why.
    pub status: Status,
    /// The formula's inputs.
    pub formula: Option<formula::FormulaInputs>,
}

/// A control section and pollutant in the allocation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SectionTarget {
    /// Section index.
    #[serde(skip)]
    pub s: usize,
    /// Section id.
    pub section: String,
    /// Pollutant index.
    #[serde(skip)]
    pub p: usize,
    /// Pollutant name.
    pub pollutant: String,
    /// The strictest target limit of the zones judged here, mg/L.
    pub target_mg_l: f64,
    /// Present concentration, mg/L.
    pub present_mg_l: f64,
    /// With every reducible group removed, mg/L.
    pub floor_mg_l: f64,
    /// After the allocation, mg/L (by superposition).
    pub allocated_mg_l: f64,
    /// `met` (at or below the target), `binding` (at it, within 1e-6 relative), `infeasible`.
    pub status: String,
}

/// One group and pollutant of the allocation.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupAllocation {
    /// Group name.
    pub group: String,
    /// Pollutant name.
    pub pollutant: String,
    /// Present load, kg/day.
    pub present_kg_d: f64,
    /// Allowed load, kg/day.
    pub allowed_kg_d: f64,
    /// Reduction, kg/day.
    pub reduction_kg_d: f64,
    /// Cost per kg/day removed.
    pub cost_per_kg_d: f64,
    /// Cost of the reduction.
    pub cost: f64,
}

/// Everything `rivsim capacity` computed.
#[derive(Debug, Clone)]
pub struct CapacityOutcome {
    /// The design conditions.
    pub design: Design,
    /// Zone capacities, zone by zone, pollutant by pollutant.
    pub zones: Vec<ZoneCapacity>,
    /// The allocation, group by group within each pollutant.
    pub allocation: Vec<GroupAllocation>,
    /// The control sections of the allocation.
    pub sections: Vec<SectionTarget>,
    /// Notes (pollutants left out, infeasible sections, a short record).
    pub notes: Vec<String>,
    /// The additivity check of the responses.
    pub max_relative_gap: f64,
}

/// The control sections of every zone, or every zone without one as a problem (exit code 2).
fn control_sections(m: &Model) -> Result<Vec<Vec<usize>>, ScenarioError> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (z, zone) in m.zones.iter().enumerate() {
        let (sites, _) = zone_sites(m, z);
        let secs: Vec<usize> = sites
            .iter()
            .filter_map(|s| match s.place {
                SiteRef::Section(k) => Some(k),
                SiteRef::Reach(_) => None,
            })
            .collect();
        if secs.is_empty() {
            problems.push(Problem {
                file: m.path.clone(),
                line: None,
                item: format!("zone {}", zone.id),
                field: "sections".into(),
                value: String::new(),
                expected: "a control section: `rivsim capacity` judges a zone at its control sections, the \
                           [[sections]] the zone names in `sections` or else those on its reaches; add one \
                           at the zone's downstream end"
                    .into(),
            });
        }
        out.push(secs);
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ScenarioError { problems })
    }
}

/// The design rule in force: `--design-flow`, else `[capacity] design_flow`; a rule from the command line
/// outside the run is invalid input.
fn rule(m: &Model, opts: &CapacityOptions) -> Result<DesignFlow, ScenarioError> {
    let Some(d) = &opts.design_flow else {
        return Ok(m.capacity.design_flow.clone());
    };
    d.check_within(m.sim.start, m.sim.end_s)
        .map_err(|e| ScenarioError {
            problems: vec![Problem {
                file: m.path.clone(),
                line: None,
                item: "--design-flow".into(),
                field: String::new(),
                value: format!("{:?}", d.label()),
                expected: e,
            }],
        })?;
    Ok(d.clone())
}

/// The design model's steady responses at every section (one tagged steady run).
fn responses(
    dm: &Model,
    net: &Network,
    hyd: &crate::hydraulics::Hydraulics,
    src: &Sources,
) -> Result<Responses, TransportError> {
    let models: Vec<Model> = (0..src.atoms.len())
        .map(|a| src.model_with(dm, &|b| b == a, false))
        .collect();
    let opts = TransportOptions::default();
    let tagged = crate::transport::run_tagged(dm, net, hyd, &opts, &models)?;
    let np = dm.pollutants.len();
    let i = tagged.total.output_times_s.len().saturating_sub(1);
    let mut gap: f64 = 0.0;
    let mut total = Vec::new();
    let mut atom = Vec::new();
    for s in 0..dm.sections.len() {
        let t: Vec<f64> = (0..np)
            .map(|p| tagged.total.section_conc[i][s * np + p])
            .collect();
        let a: Vec<Vec<f64>> = (0..np)
            .map(|p| {
                (0..src.atoms.len())
                    .map(|a| tagged.section(i, s, p, a))
                    .collect()
            })
            .collect();
        for p in 0..np {
            let sum: f64 = a[p].iter().sum();
            if sum > t[p] * (1.0 + 1e-9) + 1e-12 {
                gap = gap.max((sum - t[p]) / t[p].abs().max(1e-300));
            }
        }
        total.push(t);
        atom.push(a);
    }
    Ok(Responses {
        total,
        atom,
        max_relative_gap: gap,
    })
}

/// `rivsim capacity` on a validated scenario (projects are not applied: the present state).
pub fn capacity(model: &Model, opts: &CapacityOptions) -> Result<CapacityOutcome, CapacityError> {
    let secs = control_sections(model)?;
    let rule = rule(model, opts)?;
    let base = crate::projects::apply(model, &crate::projects::Selection::none(model))?;
    let design = design::conditions(&base, &rule);
    let dm = design::design_model(&base, &design);
    let net = Network::build(&dm);
    let hyd = hydraulics::solve(&dm, &net, &HydraulicsOptions::default())?;
    let src = Sources::of(&dm);
    let resp = responses(&dm, &net, &hyd, &src)?;
    let mut notes = design.notes.clone();
    let np = dm.pollutants.len();
    let class_of = |z: usize| Class::from_target(dm.zones[z].target).unwrap_or(Class::III);
    // (zone, section, pollutant, limit) for every linear, upper-bounded assessed parameter
    let mut judged: Vec<(usize, usize, usize, f64)> = Vec::new();
    let mut left_out: Vec<String> = Vec::new();
    for (z, list) in secs.iter().enumerate() {
        let (sites, _) = zone_sites(&dm, z);
        for site in &sites {
            let SiteRef::Section(s) = site.place else {
                continue;
            };
            if !list.contains(&s) {
                continue;
            }
            for &(p, lim) in &site.params {
                match (lim.direction, lim.limit(class_of(z))) {
                    (Direction::Max, Some(l)) => judged.push((z, s, p, l)),
                    _ => {
                        let name = dm.pollutants[p].clone();
                        if !left_out.contains(&name) {
                            left_out.push(name);
                        }
                    }
                }
            }
        }
    }
    if !left_out.is_empty() {
        notes.push(format!(
            "left out of capacity and allocation: {} (a minimum, not linear in the loads)",
            left_out.join(", ")
        ));
    }
    let fctx = formula::Context::new(&dm, &net, &hyd, &src)?;
    let mut zones = Vec::new();
    for z in 0..dm.zones.len() {
        for p in 0..np {
            let rows: Vec<(usize, f64)> = judged
                .iter()
                .filter(|j| j.0 == z && j.2 == p)
                .map(|j| (j.1, j.3))
                .collect();
            if rows.is_empty() {
                continue;
            }
            zones.push(zone_capacity(&dm, &src, &resp, &fctx, z, p, &rows));
        }
    }
    let alloc = allocate::allocate(&dm, &src, &resp, &judged)?;
    notes.extend(alloc.notes);
    Ok(CapacityOutcome {
        design,
        zones,
        allocation: alloc.groups,
        sections: alloc.sections,
        notes,
        max_relative_gap: resp.max_relative_gap,
    })
}

/// Capacity of zone `z` for pollutant `p` at its control sections `rows` (section, limit).
fn zone_capacity(
    dm: &Model,
    src: &Sources,
    resp: &Responses,
    fctx: &formula::Context,
    z: usize,
    p: usize,
    rows: &[(usize, f64)],
) -> ZoneCapacity {
    let own = |a: usize| src.atoms[a].zone == Some(z);
    let present: f64 = (0..src.atoms.len())
        .filter(|&a| own(a))
        .map(|a| src.present_kg_d[a][p])
        .sum();
    let limit = rows.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
    // per section: (section, limit, total, own response)
    let per: Vec<(usize, f64, f64, f64)> = rows
        .iter()
        .map(|&(s, l)| (s, l, resp.total[s][p], resp.sum(s, p, &own)))
        .collect();
    let infeasible = per.iter().find(|r| r.2 - r.3 > r.1 * (1.0 + 1e-9));
    let reached: Vec<&(usize, f64, f64, f64)> = per
        .iter()
        .filter(|r| r.3 > 1e-12 * r.2.max(1e-12))
        .collect();
    let binding = reached
        .iter()
        .map(|r| (r, (r.1 - (r.2 - r.3)) / r.3))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let (status, capacity, at) = if present <= 0.0 {
        (Status::NoOwnLoad, None, per[0])
    } else if let Some(r) = infeasible {
        (Status::Infeasible, Some(0.0), *r)
    } else if let Some((r, alpha)) = binding {
        let cap = alpha * present;
        let st = if present <= cap * (1.0 + 1e-9) {
            Status::Within
        } else {
            Status::Exceeded
        };
        (st, Some(cap.max(0.0)), **r)
    } else {
        (Status::NotReached, None, per[0])
    };
    let target = if at.1.is_finite() { at.1 } else { limit };
    let formula = fctx.inputs(dm, src, z, p, at.0, target);
    ZoneCapacity {
        zone: dm.zones[z].id.clone(),
        pollutant: dm.pollutants[p].clone(),
        target_mg_l: target,
        present_load_kg_d: present,
        capacity_kg_d: capacity,
        formula_capacity_kg_d: formula.as_ref().map(|f| f.capacity_kg_d),
        reduction_kg_d: capacity.map(|c| (present - c).max(0.0)),
        section: dm.sections[at.0].id.clone(),
        present_mg_l: at.2,
        background_mg_l: at.2 - at.3,
        status,
        formula,
    }
}
