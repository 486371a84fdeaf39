//! Project ranking (`rivsim rank`, DESIGN.md §2 "Prioritisation", §8 for the outputs): each project's benefit
//! alone, its benefit per cost, the greedy sequence, and the exact best portfolio under a budget.
//!
//! ## Objectives (more is better; benefit = V(S) − V(∅))
//! Every portfolio S (a set of projects) is turned into section and reach concentration series and assessed
//! with the targets code (`targets::assess`, unchanged). From the assessment:
//! - `compliance` (default): V = N + R/(Z + 1), N the number of compliant zones, R the sum of the zones'
//!   `compliance_rate` (the tie-break), Z the number of zones. R/(Z + 1) < 1, so V orders portfolios by N first
//!   and by R only among equal N (lexicographic), and N = ⌊V⌋.
//! - `worse_than_v_km`: V = −(km worse than class V), the **period-mean** view (`classes_km["V+"]` of
//!   `summary.json`, each reach classified on its period-mean concentrations). The benefit is km removed.
//! - `load`: V = −L, L (tonnes) = Σ_sections Σ_assessed pollutants Σ_i |Q_s(t_i)|·C_s,p(t_i)·Δt / 10⁶ over the
//!   output times t_i after the warm-up (Δt the output interval; |Q_s| the reach flow at the section's cell,
//!   m³/s, C in mg/L = g/m³). The assessed pollutants of a section are those of its zone (the defaults for a
//!   section in no zone). The benefit is the load removed.
//!
//! ## Fast evaluation by superposition
//! Baseline B = the scenario with no project. For a portfolio S,
//!
//!   C(S) = C_σ + Σ_K R_K^σ(S ∩ K),   R_K^σ(T) = C_σ∪T − C_σ (R_K^σ(∅) = 0),   σ = S ∩ F,
//!
//! over the **clusters** K: projects that interact — they share an outfall, a sewer, a plant (directly, or an
//! intercept into a sewer that delivers to an upgraded plant), a boundary node or a dredged reach — are in one
//! cluster (union–find over those resources); every other project is a cluster of its own. Within a cluster
//! every non-empty subset T has its own response, so the sewer capacity split, the plant capacity and
//! min(C_in, C_eff), and two projects acting on one outfall are exact; across clusters responses add
//! (transport is linear in the sources with first-order decay, up to the TVD limiter's choices). A cluster
//! larger than `max_cluster` (default 6, i.e. at most 63 subsets) is split into consecutive pieces of at most
//! that many projects (file order) and the pieces are treated as independent: the interaction across pieces
//! is ignored, a warning says so, and the superposition check measures the error.
//!
//! **Tagged responses.** The responses come from response runs (`transport::run_responses`): the total is
//! the flow state's model C_σ on its own flows; each group is `projects::apply(model, σ ∪ T)`, carried at
//! those flows and limiter choices as its difference from the total, R_K^σ(T) itself — from only the
//! sources, inflows and outlet waters in which it differs, so it is exactly 0 (and costs nothing) where and
//! until nothing the projects change has arrived. (It is the group carried whole minus the total, to
//! round-off: tests/transport_responses.rs.) Holding the flows is exact for what changes only
//! concentrations (rural treatment, plant effluent, boundary quality, dredging); for a project that moves
//! water it is an approximation of relative size ≈ ΔQ/Q (the dilution and the velocity change).
//!
//! **Flow states.** A project *moves water* when it is a `diversion`, or when the water it adds or removes at
//! any reach or node, at any time, exceeds `full_share` (default 10 %) of the baseline river flow there (the
//! reach-mean |Q| of the baseline flow period in force; at a node, the largest of its reaches'). The clusters
//! holding such projects form F (at most `max_state_projects` = 3 projects): every subset σ ⊆ F is a flow
//! state with its own hydraulics and its own tagged run, so σ is exact and the other clusters' responses are
//! carried on σ's flows (a diversion dilutes them too). Water-moving clusters beyond that limit get full-run
//! responses (hydraulics + transport of `apply(model, T)` minus B) added at baseline flows, with a warning.
//! A state σ ≠ ∅ is the state σ∖{j} until j, the project of σ that acts last, first acts (its construction
//! start if it has a construction load, else its finish: `projects::effect_fraction`), so its run goes on
//! from that state's run from then (`transport::run_response_tree`; the last output time not after it),
//! instead of stepping the common months again. Two guards move that time back: to the first flow period in
//! which the two states' flows differ by more than 1e-9 relative, and to the first time at which any
//! transport input of the two totals or of a pair of their groups differs (`apply` resamples the series of
//! the items any project touches on a grid of all the projects' dates, so a linear series can part before
//! the project acts). The states' runs and the full
//! runs go side by side with rayon, each pollutant of each state a task stepping on one thread.
//!
//! **Aligned periods.** The transport takes a source's flow once per flow period, so a total gets a zero-flow
//! withdrawal (also given to its groups) whose step series breaks at its groups' period starts; a project
//! finishing inside one of the baseline's (e.g. monthly) periods would otherwise be smeared over it.
//!
//! ## The check
//! A sample of portfolios (each prefix of the greedy sequence and the optimum) is run in full (in parallel)
//! and compared with superposition: the largest absolute and relative difference in section concentrations,
//! and the largest difference in the objective, are reported (`rank.json` → `superposition_check`). Expected:
//! ≤ about `full_share` relative where tagged projects move water (held flows), plus a few 1e-3 relative
//! from the limiter's nonlinearity when responses of different clusters add; a compliance count can differ
//! when a zone sits that close to its limit. Negative superposed concentrations (possible only at that level
//! of error) are clamped to 0 before assessment.
//!
//! When a checked portfolio's relative difference exceeds [`EXPECTED_REL`], superposition is not trusted: a
//! warning says where and by how much (console and `rank.json`, whose check has `within_tolerance: false`),
//! the greedy prefixes are reported from their full runs, and the optimum is chosen again by full runs among
//! the [`RECHOOSE_CANDIDATES`] best affordable portfolios by superposition and those already checked
//! (`evaluated_by: "full_run"` on each). A reported optimum is then exact for what it reports; it is the best
//! of those candidates, which a superposition this far off may still have ranked wrongly.
//!
//! ## Search
//! Marginal benefits (each project alone), the greedy sequence, and the best portfolio under the budget:
//! exhaustive enumeration up to `exhaustive_max` projects (default 12; exact, no assumption, and it also
//! gives the cost–benefit frontier), branch and bound above it (assumes monotonicity; see [`search`]).
//! The searches compare the objective alone ([`Assessor::value`]: only the part of the assessment it
//! reads, the same number as the metrics' `value`); when enumerating, every portfolio's is taken once in
//! one parallel sweep and the greedy sequence and the optimum read that table. The reported portfolios
//! (each project alone, the greedy prefixes, the optimum) are assessed in full.

pub mod output;
pub mod search;

use crate::hydraulics::{self, Hydraulics, HydraulicsError, HydraulicsOptions};
use crate::model::{Discharge, Model, ProjectKind, Series, SewerDestination};
use crate::network::Network;
use crate::projects::{Selection, apply};
use crate::scenario::{Problem, ScenarioError};
use crate::targets::{self, TargetsError};
use crate::transport::{self, RunResults, TransportError, TransportOptions};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// The ranking objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Compliant zones, ties broken by the summed compliance rate.
    Compliance,
    /// Kilometres worse than class V removed (period-mean classes).
    WorseThanVKm,
    /// Load reaching the assessment sections removed, tonnes.
    Load,
}

impl Objective {
    /// The command-line spellings.
    pub const NAMES: [&'static str; 3] = ["compliance", "worse_than_v_km", "load"];

    /// The command-line spelling.
    pub fn name(self) -> &'static str {
        match self {
            Objective::Compliance => "compliance",
            Objective::WorseThanVKm => "worse_than_v_km",
            Objective::Load => "load",
        }
    }

    /// Parse a command-line spelling.
    pub fn parse(s: &str) -> Option<Objective> {
        match s {
            "compliance" => Some(Objective::Compliance),
            "worse_than_v_km" => Some(Objective::WorseThanVKm),
            "load" => Some(Objective::Load),
            _ => None,
        }
    }

    /// What the benefit counts, for tables and plots.
    pub fn benefit_unit(self) -> &'static str {
        match self {
            Objective::Compliance => "compliant zones (+ rate tie-break)",
            Objective::WorseThanVKm => "km worse than V removed",
            Objective::Load => "tonnes removed",
        }
    }
}

/// Ranking settings.
#[derive(Debug, Clone)]
pub struct RankOptions {
    /// The objective (default compliance).
    pub objective: Objective,
    /// Budget in the scenario's cost unit (`None`: no limit).
    pub budget: Option<f64>,
    /// Run the superposition check (full runs of sample portfolios).
    pub check: bool,
    /// Draw progress bars (drawn only on a terminal).
    pub progress: bool,
    /// Share of the local river flow above which a project's response comes from a full run (default 0.10).
    pub full_share: f64,
    /// Largest cluster whose subsets are all evaluated (default 6).
    pub max_cluster: usize,
    /// Most projects (whole flow-moving clusters) that define flow states (default 3: up to 8 tagged runs).
    pub max_state_projects: usize,
    /// Largest number of projects enumerated exhaustively (default 12); branch and bound above.
    pub exhaustive_max: usize,
    /// Evaluation limit of branch and bound (default 200 000).
    pub bnb_max_evaluations: usize,
    /// Judge portfolios only on the outputs from this time on, seconds since start (`--assess-from`; e.g.
    /// the year after the works finish). The warm-up still applies when it is later. `None`: after the
    /// warm-up, as `rivsim run` does.
    pub assess_from_s: Option<f64>,
}

impl Default for RankOptions {
    fn default() -> Self {
        RankOptions {
            objective: Objective::Compliance,
            budget: None,
            check: true,
            progress: false,
            full_share: 0.10,
            max_cluster: 6,
            max_state_projects: 3,
            exhaustive_max: 12,
            bnb_max_evaluations: 200_000,
            assess_from_s: None,
        }
    }
}

/// Why a ranking could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RankError {
    /// Invalid input (a bad budget, too many projects, a bad project selection).
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// Hydraulics failed.
    #[error("hydraulics: {0}")]
    Hydraulics(#[from] HydraulicsError),
    /// Transport failed.
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// Assessment failed.
    #[error("assessment: {0}")]
    Targets(#[from] TargetsError),
}

/// Everything assessed about one portfolio.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Metrics {
    /// The objective value V (more is better; see the module docs).
    pub value: f64,
    /// Compliant zones.
    pub zones_compliant: usize,
    /// Σ zone compliance rates.
    pub compliance_rate_sum: f64,
    /// Kilometres worse than class V (period mean).
    pub worse_than_v_km: f64,
    /// Load reaching the assessment sections, tonnes.
    pub load_t: f64,
}

/// Where the objective's inputs come from, fixed for a scenario.
#[derive(Debug, Clone)]
pub struct Assessor {
    objective: Objective,
    n_zones: usize,
    /// Assessed pollutants per section.
    section_params: Vec<Vec<usize>>,
}

impl Assessor {
    /// Set up from the baseline model and results (which fix each section's assessed pollutants).
    pub fn new(
        objective: Objective,
        model: &Model,
        base: &RunResults,
    ) -> Result<Self, TargetsError> {
        let a = targets::assess(model, base)?;
        Ok(Assessor {
            objective,
            n_zones: model.zones.len(),
            section_params: a.sections.iter().map(|s| s.parameters.clone()).collect(),
        })
    }

    /// Assess results (with the section flows `section_flow_m3s[t][s]` for the load).
    pub fn metrics(
        &self,
        model: &Model,
        results: &RunResults,
        section_flow_m3s: &[Vec<f64>],
    ) -> Result<Metrics, TargetsError> {
        let a = targets::assess(model, results)?;
        let (zones_compliant, compliance_rate_sum) = zone_counts(
            a.zones
                .iter()
                .map(|z| (z.compliant == Some(true), z.compliance_rate)),
        );
        let km = a.worse_than_v_km();
        let load_t = self.load_t(model, results, section_flow_m3s);
        let value = match self.objective {
            Objective::Compliance => self.compliance_value(zones_compliant, compliance_rate_sum),
            Objective::WorseThanVKm => -km,
            Objective::Load => -load_t,
        };
        Ok(Metrics {
            value,
            zones_compliant,
            compliance_rate_sum,
            worse_than_v_km: km,
            load_t,
        })
    }
}

impl Assessor {
    /// The objective value alone, as [`Assessor::metrics`] gives it, from only the part of the assessment
    /// the objective reads (the zones' period verdicts for compliance, the river statistics for the
    /// kilometres, neither for the load): what the searches compare.
    pub fn value(
        &self,
        model: &Model,
        results: &RunResults,
        section_flow_m3s: &[Vec<f64>],
    ) -> Result<f64, TargetsError> {
        Ok(match self.objective {
            Objective::Compliance => {
                targets::check_shapes(model, results)?;
                let zones = targets::assess::zone_verdicts(model, results)?;
                let (n, rate) = zone_counts(zones.into_iter());
                self.compliance_value(n, rate)
            }
            Objective::WorseThanVKm => -targets::rivers::river_stats(model, results)?
                .period_mean
                .km
                .worse_than_v(),
            Objective::Load => {
                targets::check_shapes(model, results)?;
                -self.load_t(model, results, section_flow_m3s)
            }
        })
    }

    /// V for compliance: compliant zones + the summed rates over (zones + 1) (module docs).
    fn compliance_value(&self, zones_compliant: usize, rate_sum: f64) -> f64 {
        zones_compliant as f64 + rate_sum / (self.n_zones as f64 + 1.0)
    }

    /// The load reaching the assessment sections, tonnes (module docs).
    fn load_t(&self, model: &Model, results: &RunResults, section_flow_m3s: &[Vec<f64>]) -> f64 {
        let np = model.pollutants.len();
        let dt = model.sim.output_interval_s;
        let mut load_g = 0.0;
        for i in targets::assess::sample_indices(model, results) {
            for (s, params) in self.section_params.iter().enumerate() {
                let q = section_flow_m3s[i][s].abs();
                for &p in params {
                    load_g += q * results.section_conc[i][s * np + p] * dt;
                }
            }
        }
        load_g / 1e6
    }
}

/// Compliant zones and the sum of the zones' compliance rates, from each zone's (compliant, rate).
fn zone_counts(zones: impl Iterator<Item = (bool, f64)> + Clone) -> (usize, f64) {
    (
        zones.clone().filter(|z| z.0).count(),
        zones.map(|z| z.1).sum(),
    )
}

/// The flow at each section (the reach flow at the cell holding the section, mean of its two faces, m³/s) at
/// each output time, from the flow period in force there.
pub fn section_flows(
    model: &Model,
    net: &Network,
    hyd: &Hydraulics,
    r: &RunResults,
) -> Vec<Vec<f64>> {
    let per_period: Vec<Vec<f64>> = hyd
        .periods
        .iter()
        .map(|f| {
            model
                .sections
                .iter()
                .map(|s| {
                    let cells = net.cells_of(s.reach);
                    let faces = net.faces_of(s.reach);
                    let n = cells.len();
                    let k =
                        ((s.at_m / net.reach_dx_m[s.reach]).floor().max(0.0) as usize).min(n - 1);
                    0.5 * (f.face_flow_m3s[faces.start + k] + f.face_flow_m3s[faces.start + k + 1])
                })
                .collect()
        })
        .collect();
    r.output_period
        .iter()
        .map(|&k| per_period[k.min(per_period.len() - 1)].clone())
        .collect()
}

/// Mean |flow| of each reach in one flow field, m³/s.
fn reach_abs_flow(net: &Network, f: &hydraulics::FlowField) -> Vec<f64> {
    (0..net.n_reaches)
        .map(|r| {
            let faces = net.faces_of(r);
            let n = faces.len() as f64;
            f.face_flow_m3s[faces].iter().map(|q| q.abs()).sum::<f64>() / n
        })
        .collect()
}

/// The largest share of the local baseline river flow that the water a transformed model `m1` adds or
/// removes (relative to `base`) at any reach or node, at any time (see the module docs).
pub fn flow_share(base: &Model, m1: &Model, net: &Network, hyd: &Hydraulics) -> f64 {
    let mut times = vec![0.0];
    for m in [base, m1] {
        for o in &m.outfalls {
            if let Discharge::Flow { flow_m3s, .. } = &o.discharge {
                times.extend_from_slice(flow_m3s.breakpoints());
            }
        }
        for i in &m.inflows {
            times.extend_from_slice(i.flow_m3s.breakpoints());
        }
    }
    times.retain(|t| t.is_finite() && (0.0..base.sim.end_s).contains(t));
    times.sort_by(f64::total_cmp);
    times.dedup();
    let q_reach: Vec<Vec<f64>> = hyd.periods.iter().map(|f| reach_abs_flow(net, f)).collect();
    let mut share: f64 = 0.0;
    let mut dq_r = vec![0.0; base.reaches.len()];
    let mut dq_n = vec![0.0; base.nodes.len()];
    for &t in &times {
        dq_r.iter_mut().for_each(|v| *v = 0.0);
        dq_n.iter_mut().for_each(|v| *v = 0.0);
        for (m, sign) in [(m1, 1.0), (base, -1.0)] {
            for o in &m.outfalls {
                if let Discharge::Flow { flow_m3s, .. } = &o.discharge {
                    dq_r[o.reach] += sign * flow_m3s.at(t);
                }
            }
            for i in &m.inflows {
                dq_n[i.node] += sign * i.flow_m3s.at(t);
            }
        }
        let q = &q_reach[hyd.period_at(t).min(q_reach.len() - 1)];
        for (r, &d) in dq_r.iter().enumerate() {
            if d != 0.0 {
                share = share.max(d.abs() / q[r].max(1e-12));
            }
        }
        for (n, &d) in dq_n.iter().enumerate() {
            if d != 0.0 {
                let ql = base
                    .reaches
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.from == n || r.to == n)
                    .map(|(k, _)| q[k])
                    .fold(0.0, f64::max);
                share = share.max(d.abs() / ql.max(1e-12));
            }
        }
    }
    share
}

/// Clusters of interacting projects (see the module docs), each in file order, split above `max_cluster`.
/// Returns the clusters and whether any was split.
pub fn clusters(model: &Model, max_cluster: usize) -> (Vec<Vec<usize>>, bool) {
    #[derive(PartialEq, Eq, Hash, Clone, Copy)]
    enum Res {
        Outfall(usize),
        Sewer(usize),
        Plant(usize),
        Node(usize),
        Reach(usize),
        LineLoad(usize),
    }
    let n = model.projects.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut owner: std::collections::HashMap<Res, usize> = std::collections::HashMap::new();
    for (j, pj) in model.projects.iter().enumerate() {
        let mut res: Vec<Res> = Vec::new();
        match &pj.kind {
            ProjectKind::Intercept {
                outfalls, sewer, ..
            } => {
                res.extend(outfalls.iter().map(|&o| Res::Outfall(o)));
                res.push(Res::Sewer(*sewer));
                if let Some(sw) = model.sewers.get(*sewer)
                    && let SewerDestination::Plant(pl) = sw.destination
                {
                    res.push(Res::Plant(pl));
                }
            }
            ProjectKind::Separate { outfalls, .. } => {
                res.extend(outfalls.iter().map(|&o| Res::Outfall(o)))
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
                res.extend(outfalls.iter().map(|&o| Res::Outfall(o)));
                res.extend(line_loads.iter().map(|&l| Res::LineLoad(l)));
            }
            ProjectKind::SewerUpgrade { sewer, .. } => {
                res.push(Res::Sewer(*sewer));
                if let Some(sw) = model.sewers.get(*sewer)
                    && let SewerDestination::Plant(pl) = sw.destination
                {
                    res.push(Res::Plant(pl));
                }
            }
            ProjectKind::Plant { plant, .. } => res.push(Res::Plant(*plant)),
            ProjectKind::Diversion { .. } => {}
            ProjectKind::BoundaryImprovement { node, .. } => res.push(Res::Node(*node)),
            ProjectKind::Dredging { reaches, .. } => {
                res.extend(reaches.iter().map(|&r| Res::Reach(r)))
            }
        }
        for r in res {
            match owner.get(&r) {
                Some(&k) => {
                    let (a, b) = (find(&mut parent, k), find(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => {
                    owner.insert(r, j);
                }
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut root_of: Vec<Option<usize>> = vec![None; n];
    for j in 0..n {
        let r = find(&mut parent, j);
        match root_of[r] {
            Some(g) => groups[g].push(j),
            None => {
                root_of[r] = Some(groups.len());
                groups.push(vec![j]);
            }
        }
    }
    let cap = max_cluster.max(1);
    let split = groups.iter().any(|g| g.len() > cap);
    let out = groups
        .into_iter()
        .flat_map(|g| g.chunks(cap).map(<[usize]>::to_vec).collect::<Vec<_>>())
        .collect();
    (out, split)
}

/// The response of one subset of a cluster: concentration differences from the baseline, laid out as
/// `RunResults::section_conc` / `reach_conc` flattened over time.
#[derive(Debug, Clone)]
struct Delta {
    section: Vec<f64>,
    reach: Vec<f64>,
}

/// How a cluster's responses are obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Tagged groups carried at the flows of the flow state in force.
    Tagged,
    /// Its projects define flow states: each subset is the total of its own tagged run, on its own flows.
    FlowState,
    /// Full-run differences from the baseline, added at baseline flows (flow-moving clusters beyond the
    /// flow-state limit).
    FullRun,
}

/// One cluster and its subset responses.
#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    /// Project indices, in file order (bit k of a local subset = `projects[k]`).
    pub projects: Vec<usize>,
    /// How its responses are obtained.
    pub response: Response,
    /// `[flow state][local subset]` (tagged), `[0][local subset]` (full run), empty (flow state).
    #[serde(skip)]
    deltas: Vec<Vec<Option<Delta>>>,
}

/// One flow state: a subset of the flow-state projects applied, on its own flows.
#[derive(Debug, Clone)]
pub struct FlowState {
    /// The state's model (`apply(model, state projects)`, flow periods aligned with its groups).
    pub model: Model,
    /// Its flows.
    pub hyd: Hydraulics,
    /// Its run (the total of its tagged run).
    pub base: RunResults,
    /// Section flows at each output time, m³/s.
    pub section_flow_m3s: Vec<Vec<f64>>,
    /// Wall-clock seconds of its hydraulics.
    pub hydraulics_s: f64,
    /// Its flow periods (after alignment).
    pub periods: usize,
    /// The state its run went on from and the time up to which the two agree, s
    /// (`transport::run_response_tree`; `None`: run from the start).
    pub goes_on_from: Option<(usize, f64)>,
}

/// The baseline, the flow states and the cluster responses: evaluates any portfolio by superposition.
#[derive(Debug, Clone)]
pub struct Superposition {
    /// The network (every transformed model has the same reaches and cells).
    pub net: Network,
    /// The flow-state projects (bit k of a state index = `state_projects[k]`); state 0 is the baseline.
    pub state_projects: Vec<usize>,
    /// One per subset of `state_projects`.
    pub states: Vec<FlowState>,
    /// The clusters.
    pub clusters: Vec<Cluster>,
    /// Per project: (cluster, bit within the cluster).
    pub place: Vec<(usize, usize)>,
    /// Per project: largest share of the local river flow it moves (see the module docs).
    pub flow_share: Vec<f64>,
    /// Notes (split clusters, flow-moving clusters beyond the flow-state limit).
    pub warnings: Vec<String>,
    /// Tagged runs, tagged groups and full runs made.
    pub runs: (usize, usize, usize),
    /// Seconds spent on the baseline hydraulics, project transforms and flow shares, then on the runs.
    pub timings_s: [f64; 2],
}

fn selection_of(model: &Model, projects: &[usize]) -> Selection {
    let mut s = Selection::none(model);
    for &j in projects {
        s.included[j] = true;
    }
    s
}

fn diff(a: &RunResults, b: &RunResults) -> Delta {
    let d = |x: &[Vec<f64>], y: &[Vec<f64>]| {
        x.iter()
            .zip(y)
            .flat_map(|(u, v)| u.iter().zip(v).map(|(p, q)| p - q))
            .collect::<Vec<f64>>()
    };
    Delta {
        section: d(&a.section_conc, &b.section_conc),
        reach: d(&a.reach_conc, &b.reach_conc),
    }
}

fn bar(progress: bool, len: u64, what: &str) -> ProgressBar {
    if !progress {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(len);
    b.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b.set_message(what.to_string());
    b
}

/// Transport options for one of `concurrent` runs made side by side: when there are at least as many runs
/// as threads, each run steps on its own thread (`serial_cell_lanes` unlimited: same bits, see
/// `TransportOptions`), so the parallelism comes from the runs rather than from fork–join inside every
/// step, whose overhead is about a step's work on a network of this size.
fn transport_options(concurrent: usize) -> TransportOptions {
    let mut o = TransportOptions::default();
    if concurrent >= rayon::current_num_threads() {
        o.serial_cell_lanes = usize::MAX;
    }
    // the runs go side by side: none may hold every thread
    o.whole_pool = concurrent <= 1;
    o
}

/// A full run of `apply(model, sel)`: its results and section flows.
pub fn full_run(model: &Model, sel: &Selection) -> Result<(RunResults, Vec<Vec<f64>>), RankError> {
    full_run_with(model, sel, &TransportOptions::default())
}

fn full_run_with(
    model: &Model,
    sel: &Selection,
    topts: &TransportOptions,
) -> Result<(RunResults, Vec<Vec<f64>>), RankError> {
    let m = apply(model, sel)?;
    let net = Network::build(&m);
    let hyd = hydraulics::solve(&m, &net, &HydraulicsOptions::default())?;
    let r = transport::run(&m, &net, &hyd, topts)?;
    let q = section_flows(&m, &net, &hyd, &r);
    Ok((r, q))
}

impl Superposition {
    /// Run the flow states' tagged runs and the full runs (see the module docs), in parallel.
    pub fn build(model: &Model, opts: &RankOptions) -> Result<Superposition, RankError> {
        let t0 = Instant::now();
        let n = model.projects.len();
        let base_model = apply(model, &Selection::none(model))?;
        let net = Network::build(&base_model);
        let hyd = hydraulics::solve(&base_model, &net, &HydraulicsOptions::default())?;
        let singles: Vec<Model> = (0..n)
            .map(|j| apply(model, &selection_of(model, &[j])))
            .collect::<Result<_, _>>()?;
        let shares: Vec<f64> = singles
            .iter()
            .map(|m1| flow_share(&base_model, m1, &net, &hyd))
            .collect();
        drop(singles);
        // a project that changes decay rates is treated like one that moves water: a tagged run shares
        // its total's decay factors, so the project's own rates need a run (a flow state) of their own
        let moves_water = |j: usize| match &model.projects[j].kind {
            ProjectKind::Diversion { .. } => true,
            ProjectKind::Dredging { decay_per_day, .. }
                if decay_per_day.iter().any(Option::is_some) =>
            {
                true
            }
            _ => shares[j] > opts.full_share,
        };
        let (groups, split) = clusters(model, opts.max_cluster);
        let mut warnings = Vec::new();
        if split {
            warnings.push(format!(
                "a cluster of interacting projects had more than {} members and was split; the interaction \
                 across its pieces is ignored (see superposition_check)",
                opts.max_cluster
            ));
        }
        let mut place = vec![(0, 0); n];
        let mut state_projects: Vec<usize> = Vec::new();
        let mut cl: Vec<Cluster> = Vec::with_capacity(groups.len());
        for (c, g) in groups.into_iter().enumerate() {
            for (k, &j) in g.iter().enumerate() {
                place[j] = (c, k);
            }
            let response = if !g.iter().any(|&j| moves_water(j)) {
                Response::Tagged
            } else if state_projects.len() + g.len() <= opts.max_state_projects {
                state_projects.extend(&g);
                Response::FlowState
            } else {
                warnings.push(format!(
                    "projects {} move water but the flow states are full ({} projects): their responses are \
                     full-run differences added at baseline flows",
                    g.iter()
                        .map(|&j| model.projects[j].id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    opts.max_state_projects
                ));
                Response::FullRun
            };
            cl.push(Cluster {
                deltas: Vec::new(),
                projects: g,
                response,
            });
        }
        let members = |c: usize, local: usize| -> Vec<usize> {
            cl[c]
                .projects
                .iter()
                .enumerate()
                .filter(|(k, _)| local >> k & 1 == 1)
                .map(|(_, &j)| j)
                .collect()
        };
        let tagged_jobs: Vec<(usize, usize)> = (0..cl.len())
            .filter(|&c| cl[c].response == Response::Tagged)
            .flat_map(|c| (1..(1usize << cl[c].projects.len())).map(move |l| (c, l)))
            .collect();
        let full_jobs: Vec<(usize, usize)> = (0..cl.len())
            .filter(|&c| cl[c].response == Response::FullRun)
            .flat_map(|c| (1..(1usize << cl[c].projects.len())).map(move |l| (c, l)))
            .collect();
        let n_states = 1usize << state_projects.len();
        let t1 = Instant::now();
        let pb = bar(
            opts.progress,
            (n_states + full_jobs.len()) as u64,
            "responses (tagged runs + full runs)",
        );
        let topts = transport_options(n_states + full_jobs.len());
        // each flow state's total, groups and flows
        let prepare = |sigma: usize| -> Result<(Model, Vec<Model>, Hydraulics, f64), RankError> {
            let on: Vec<usize> = (0..state_projects.len())
                .filter(|k| sigma >> k & 1 == 1)
                .map(|k| state_projects[k])
                .collect();
            let total = apply(model, &selection_of(model, &on))?;
            let mut groups: Vec<Model> = tagged_jobs
                .iter()
                .map(|&(c, l)| {
                    let mut ps = on.clone();
                    ps.extend(members(c, l));
                    apply(model, &selection_of(model, &ps))
                })
                .collect::<Result<_, ScenarioError>>()?;
            let ts = Instant::now();
            let total = aligned(total, &mut groups);
            let h = hydraulics::solve(&total, &net, &HydraulicsOptions::default())?;
            Ok((total, groups, h, ts.elapsed().as_secs_f64()))
        };
        let state_runs = || -> Result<Vec<(FlowState, transport::TaggedResults)>, RankError> {
            let prepared = (0..n_states)
                .into_par_iter()
                .map(prepare)
                .collect::<Result<Vec<_>, RankError>>()?;
            // a state goes on from the state without its project that acts last, from the time that
            // project first acts (until then the two are the same scenario)
            let from: Vec<Option<(usize, f64)>> = (0..n_states)
                .map(|sigma| {
                    let first = |k: usize| first_effect_s(&model.projects[state_projects[k]]);
                    let k = (0..state_projects.len())
                        .filter(|k| sigma >> k & 1 == 1)
                        .max_by(|&a, &b| first(a).total_cmp(&first(b)).then(a.cmp(&b)))?;
                    let parent = sigma & !(1 << k);
                    let (pa, me) = (&prepared[parent], &prepared[sigma]);
                    // guards: the flows, and every transport input of the totals and of the groups
                    let mut t = flows_agree_until(&pa.2, &me.2, first(k));
                    t = inputs_agree_until(&pa.0, &me.0, t);
                    for (a, b) in pa.1.iter().zip(&me.1) {
                        t = inputs_agree_until(a, b, t);
                    }
                    Some((parent, t))
                })
                .collect();
            let specs: Vec<transport::ResponseState> = prepared
                .iter()
                .zip(&from)
                .map(|((total, groups, h, _), &from)| transport::ResponseState {
                    model: total,
                    hyd: h,
                    groups,
                    from,
                })
                .collect();
            let runs = transport::run_response_tree(&net, &topts, &specs)?;
            pb.inc(n_states as u64);
            Ok(prepared
                .into_iter()
                .zip(runs)
                .zip(from)
                .map(|(((total, _, h, hyd_s), t), from)| {
                    let q = section_flows(&total, &net, &h, &t.total);
                    (
                        FlowState {
                            hydraulics_s: hyd_s,
                            periods: h.periods.len(),
                            goes_on_from: from,
                            model: total,
                            hyd: h,
                            base: t.total.clone(),
                            section_flow_m3s: q,
                        },
                        t,
                    )
                })
                .collect())
        };
        let (states, full) = rayon::join(state_runs, || {
            full_jobs
                .par_iter()
                .map(|&(c, local)| {
                    let r = full_run_with(model, &selection_of(model, &members(c, local)), &topts);
                    pb.inc(1);
                    r.map(|x| x.0)
                })
                .collect::<Result<Vec<RunResults>, RankError>>()
        });
        pb.finish_and_clear();
        let t2 = Instant::now();
        let states = states?;
        let full = full?;
        for c in &mut cl {
            c.deltas = match c.response {
                Response::Tagged => vec![vec![None; 1 << c.projects.len()]; n_states],
                Response::FullRun => vec![vec![None; 1 << c.projects.len()]],
                Response::FlowState => Vec::new(),
            };
        }
        let np = model.pollutants.len();
        let (ns, nr) = (model.sections.len(), model.reaches.len());
        for (sigma, (_, tagged)) in states.iter().enumerate() {
            let base = &tagged.total;
            let ng = tagged.n_groups;
            for (g, &(c, local)) in tagged_jobs.iter().enumerate() {
                let mut section = Vec::with_capacity(base.section_conc.len() * ns * np);
                let mut reach = Vec::with_capacity(base.reach_conc.len() * nr * np);
                for i in 0..base.output_times_s.len() {
                    for k in 0..ns * np {
                        section.push(tagged.section_conc[i][k * ng + g]);
                    }
                    for k in 0..nr * np {
                        reach.push(tagged.reach_conc[i][k * ng + g]);
                    }
                }
                cl[c].deltas[sigma][local] = Some(Delta { section, reach });
            }
        }
        let states: Vec<FlowState> = states.into_iter().map(|(s, _)| s).collect();
        let base = &states[0].base;
        for s in &states {
            if s.base.output_times_s.len() != base.output_times_s.len() {
                return Err(RankError::Targets(TargetsError::Shape {
                    what: "output times of a flow state's run".into(),
                    expected: base.output_times_s.len(),
                    found: s.base.output_times_s.len(),
                }));
            }
        }
        for (r, &(c, local)) in full.iter().zip(&full_jobs) {
            if r.output_times_s.len() != base.output_times_s.len() {
                return Err(RankError::Targets(TargetsError::Shape {
                    what: "output times of a full run".into(),
                    expected: base.output_times_s.len(),
                    found: r.output_times_s.len(),
                }));
            }
            cl[c].deltas[0][local] = Some(diff(r, base));
        }
        Ok(Superposition {
            timings_s: [(t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64()],
            runs: (n_states, n_states * tagged_jobs.len(), full_jobs.len()),
            net,
            state_projects,
            states,
            clusters: cl,
            place,
            flow_share: shares,
            warnings,
        })
    }

    /// The baseline model (no project; flow periods aligned).
    pub fn base_model(&self) -> &Model {
        &self.states[0].model
    }

    /// The flow state of a portfolio.
    pub fn state_of(&self, mask: u64) -> usize {
        self.state_projects
            .iter()
            .enumerate()
            .filter(|(_, j)| mask >> **j & 1 == 1)
            .fold(0, |s, (k, _)| s | 1 << k)
    }

    /// Section flows of a portfolio's flow state, m³/s.
    pub fn section_flow_m3s(&self, mask: u64) -> &[Vec<f64>] {
        &self.states[self.state_of(mask)].section_flow_m3s
    }

    /// The superposed results of a portfolio (bit j = project j), negative values clamped to 0.
    pub fn results(&self, mask: u64) -> RunResults {
        let sigma = self.state_of(mask);
        let mut r = self.states[sigma].base.clone();
        let mut local = vec![0usize; self.clusters.len()];
        for (j, &(c, k)) in self.place.iter().enumerate() {
            if mask >> j & 1 == 1 {
                local[c] |= 1 << k;
            }
        }
        for (c, &l) in local.iter().enumerate() {
            let cl = &self.clusters[c];
            let d = match cl.response {
                _ if l == 0 => None,
                Response::Tagged => cl.deltas[sigma][l].as_ref(),
                Response::FullRun => cl.deltas[0][l].as_ref(),
                Response::FlowState => None,
            };
            if let Some(d) = d {
                let w = r.section_conc.first().map_or(0, Vec::len);
                for (i, row) in r.section_conc.iter_mut().enumerate() {
                    for (x, dx) in row.iter_mut().zip(&d.section[i * w..(i + 1) * w]) {
                        *x += dx;
                    }
                }
                let w = r.reach_conc.first().map_or(0, Vec::len);
                for (i, row) in r.reach_conc.iter_mut().enumerate() {
                    for (x, dx) in row.iter_mut().zip(&d.reach[i * w..(i + 1) * w]) {
                        *x += dx;
                    }
                }
            }
        }
        for row in r.section_conc.iter_mut().chain(r.reach_conc.iter_mut()) {
            row.iter_mut().for_each(|x| *x = x.max(0.0));
        }
        r
    }
}

/// The first time project `p` changes anything: its construction start when it has a construction load,
/// otherwise its finish (its effects phase in from there: `projects::effect_fraction`).
fn first_effect_s(p: &crate::model::Project) -> f64 {
    if p.construction.is_some() {
        p.start_s.min(p.finish_s)
    } else {
        p.finish_s
    }
}

/// The time up to which `b`'s flows are `a`'s, at most `t`: the start of `b`'s first period before `t`
/// whose face flows, cell areas, lateral flows, node volumes, injections or exchanges differ (by more than 1e-9 relative: the same flows solved
/// over periods cut differently) from those of a period of `a` overlapping it. A guard on
/// [`first_effect_s`]: a state that goes on from another's run must have had its water until then.
fn flows_agree_until(a: &Hydraulics, b: &Hydraulics, t: f64) -> f64 {
    let close = |x: &[f64], y: &[f64]| {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|(u, v)| (u - v).abs() <= 1e-9 * u.abs().max(v.abs()).max(1e-12))
    };
    for f in b.periods.iter().take_while(|f| f.t_start_s < t) {
        let end = f.t_end_s.min(t);
        let mut k = a.period_at(f.t_start_s);
        loop {
            let g = &a.periods[k];
            if !(close(&f.face_flow_m3s, &g.face_flow_m3s)
                && close(&f.cell_area_m2, &g.cell_area_m2)
                && close(&f.cell_lateral_m3s, &g.cell_lateral_m3s)
                && close(&f.node_volume_m3, &g.node_volume_m3)
                && close(&f.node_inject_m3s, &g.node_inject_m3s)
                && close(&f.node_exchange_m3s, &g.node_exchange_m3s))
            {
                return f.t_start_s;
            }
            k += 1;
            if k >= a.periods.len() || a.periods[k].t_start_s >= end {
                break;
            }
        }
    }
    t
}

/// The time up to which two models' transport inputs agree, at most `t`, s: the sources, inflows, outlet
/// waters, withdrawals and decay changes, item by item (an item of one model alone counts as nothing while
/// its flow, or for a load its mass, is 0). 0 when the network, the reaches' rates or the initial state
/// differ. A guard on [`first_effect_s`]: `projects::apply` resamples the series of the items any project
/// touches on a grid of every project's dates, so a linear series can differ before a project acts.
fn inputs_agree_until(a: &Model, b: &Model, t: f64) -> f64 {
    let same_network = a.reaches.len() == b.reaches.len()
        && a.nodes.len() == b.nodes.len()
        && a.initial == b.initial
        && a.reaches.iter().zip(&b.reaches).all(|(x, y)| {
            x.release_g_m2_day == y.release_g_m2_day
                && x.decay_per_day == y.decay_per_day
                && x.dispersion_m2s == y.dispersion_m2s
        });
    if !same_network {
        return 0.0;
    }
    let np = a.pollutants.len();
    let mut until = t;
    let mut pair = |x: Option<&Series>, y: Option<&Series>| {
        until = until.min(series_agree_until(x, y, until));
    };
    fn flow_of(o: &crate::model::Outfall) -> Option<&Series> {
        match &o.discharge {
            Discharge::Flow { flow_m3s, .. } => Some(flow_m3s),
            Discharge::Load { .. } => None,
        }
    }
    for i in 0..a.outfalls.len().max(b.outfalls.len()) {
        match (a.outfalls.get(i), b.outfalls.get(i)) {
            (Some(x), Some(y)) => {
                if x.reach != y.reach
                    || x.at_m != y.at_m
                    || flow_of(x).is_some() != flow_of(y).is_some()
                {
                    return 0.0;
                }
                pair(flow_of(x), flow_of(y));
                for p in 0..np {
                    pair(
                        x.discharge.mass_series().get(p),
                        y.discharge.mass_series().get(p),
                    );
                }
            }
            (Some(x), None) | (None, Some(x)) => match flow_of(x) {
                Some(q) => pair(Some(q), None),
                None => (0..np).for_each(|p| pair(x.discharge.mass_series().get(p), None)),
            },
            (None, None) => {}
        }
    }
    for i in 0..a.inflows.len().max(b.inflows.len()) {
        match (a.inflows.get(i), b.inflows.get(i)) {
            (Some(x), Some(y)) => {
                if x.node != y.node {
                    return 0.0;
                }
                pair(Some(&x.flow_m3s), Some(&y.flow_m3s));
                (0..np).for_each(|p| pair(x.concentration.get(p), y.concentration.get(p)));
            }
            (Some(x), None) | (None, Some(x)) => pair(Some(&x.flow_m3s), None),
            (None, None) => {}
        }
    }
    for i in 0..a.line_loads.len().max(b.line_loads.len()) {
        match (a.line_loads.get(i), b.line_loads.get(i)) {
            (Some(x), Some(y)) => {
                if x.reach != y.reach || x.from_m != y.from_m || x.to_m != y.to_m {
                    return 0.0;
                }
                (0..np).for_each(|p| pair(x.kg_per_day.get(p), y.kg_per_day.get(p)));
            }
            (Some(x), None) | (None, Some(x)) => {
                (0..np).for_each(|p| pair(x.kg_per_day.get(p), None))
            }
            (None, None) => {}
        }
    }
    for (x, y) in a.nodes.iter().zip(&b.nodes) {
        pair(x.level_m.as_ref(), y.level_m.as_ref());
        (0..np).for_each(|p| pair(x.concentration.get(p), y.concentration.get(p)));
    }
    for i in 0..a.withdrawals.len().max(b.withdrawals.len()) {
        match (a.withdrawals.get(i), b.withdrawals.get(i)) {
            (Some(x), Some(y)) => {
                if x.place != y.place {
                    return 0.0;
                }
                pair(Some(&x.flow_m3s), Some(&y.flow_m3s));
            }
            (Some(x), None) | (None, Some(x)) => pair(Some(&x.flow_m3s), None),
            (None, None) => {}
        }
    }
    // decay changes: up to the first one that is not in both
    let (da, db) = (&a.decay_changes, &b.decay_changes);
    let common = da.iter().zip(db).take_while(|(x, y)| x == y).count();
    for c in da[common..].iter().chain(&db[common..]) {
        until = until.min(c.t_s);
    }
    until
}

/// The time up to which two series (a missing one counts as 0) agree, at most `t`: the first of their
/// breakpoints (and `t`) at which their values differ, or, when one of them is linear, the candidate
/// before it (a linear series parts from there; the midpoints between breakpoints are candidates too, where
/// a linear piece may leave a held value that it meets at both ends).
fn series_agree_until(x: Option<&Series>, y: Option<&Series>, t: f64) -> f64 {
    if x == y {
        return t;
    }
    let zero = Series::Const(0.0);
    let (x, y) = (x.unwrap_or(&zero), y.unwrap_or(&zero));
    let linear = |s: &Series| matches!(s, Series::Table { linear: true, .. });
    let mut cand: Vec<f64> = x
        .breakpoints()
        .iter()
        .chain(y.breakpoints())
        .copied()
        .filter(|&c| c < t)
        .collect();
    cand.push(0.0);
    cand.push(t);
    cand.sort_by(f64::total_cmp);
    cand.dedup();
    if linear(x) || linear(y) {
        // a linear piece and a held value can agree at both ends and differ between them
        let mids: Vec<f64> = cand.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect();
        cand.extend(mids);
        cand.sort_by(f64::total_cmp);
    }
    match cand.iter().position(|&c| x.at(c) != y.at(c)) {
        None => t,
        Some(0) => 0.0,
        Some(i) if linear(x) || linear(y) => cand[i - 1],
        Some(i) => cand[i],
    }
}

/// Align a total's flow periods with its groups': the transport resolves a source's flow once per flow
/// period, so a group whose outfall flow steps inside one of the total's periods would have that step smeared
/// over the period. A zero withdrawal whose step series breaks at every group's period starts splits the
/// total's periods there (the flows are unchanged; only the periods are shorter). The groups get the same
/// withdrawal (a tagged run needs the total's withdrawals in every group).
fn aligned(mut total: Model, groups: &mut [Model]) -> Model {
    let own = total.flow_period_starts();
    let mut extra: Vec<f64> = groups.iter().flat_map(|g| g.flow_period_starts()).collect();
    extra.retain(|t| *t > 0.0 && !own.contains(t));
    extra.sort_by(f64::total_cmp);
    extra.dedup();
    if extra.is_empty() {
        return total;
    }
    let mut times_s = vec![0.0];
    times_s.extend(extra);
    let node = total
        .nodes
        .iter()
        .position(|n| matches!(n.kind, crate::model::NodeKind::Junction))
        .unwrap_or(0);
    let w = crate::model::Withdrawal {
        place: crate::model::Place::Node(node),
        flow_m3s: crate::model::Series::Table {
            values: vec![0.0; times_s.len()],
            times_s,
            linear: false,
        },
    };
    for g in groups.iter_mut() {
        g.withdrawals.push(w.clone());
    }
    total.withdrawals.push(w);
    total
}

/// One project's row of the ranking.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectRank {
    /// Project id.
    pub id: String,
    /// Readable name.
    pub name: String,
    /// Kind.
    pub kind: &'static str,
    /// Cost.
    pub cost: f64,
    /// V({j}) − V(∅).
    pub benefit: f64,
    /// benefit / cost (±∞ or 0 for cost 0: see [`search`]).
    pub benefit_per_cost: f64,
    /// 1 = first in the greedy sequence.
    pub greedy_order: usize,
    /// Metrics with the project alone.
    pub alone: Metrics,
    /// Cluster index.
    pub cluster: usize,
    /// Response not from held-flow tagging (a flow state or full runs).
    pub full_run: bool,
    /// How its response is obtained.
    pub response: Response,
    /// Largest share of the local river flow it moves.
    pub flow_share: f64,
}

/// One greedy step.
#[derive(Debug, Clone, Serialize)]
pub struct GreedyStep {
    /// Project id added.
    pub project: String,
    /// Its gain given the earlier ones.
    pub gain: f64,
    /// Cumulative cost.
    pub cost: f64,
    /// Benefit of the prefix, V(prefix) − V(∅).
    pub benefit: f64,
    /// Metrics of the prefix.
    pub metrics: Metrics,
    /// Where the metrics come from: `superposition`, or `full_run` when the check exceeded its tolerance.
    pub evaluated_by: &'static str,
}

/// The best portfolio under the budget (the `portfolio.json` of DESIGN.md §8, plus details).
#[derive(Debug, Clone, Serialize)]
pub struct Portfolio {
    /// Objective name.
    pub objective: &'static str,
    /// Budget (`null`: no limit).
    pub budget: Option<f64>,
    /// Project ids, file order.
    pub projects: Vec<String>,
    /// Total cost.
    pub cost: f64,
    /// V(S) − V(∅).
    pub benefit: f64,
    /// Metrics of the portfolio.
    pub metrics: Metrics,
    /// Where the metrics come from: `superposition`, or `full_run` when the check exceeded its tolerance
    /// (the portfolio was then chosen by full runs among the best candidates, [`RECHOOSE_CANDIDATES`]).
    pub evaluated_by: &'static str,
    /// `exhaustive` or `branch_and_bound`.
    pub method: &'static str,
    /// Portfolios evaluated.
    pub evaluations: usize,
    /// The search completed (always for exhaustive; branch and bound within its limit, under monotonicity).
    pub proven: bool,
}

/// One portfolio of the superposition check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRow {
    /// Project ids.
    pub projects: Vec<String>,
    /// Objective by superposition.
    pub value_superposed: f64,
    /// Objective by a full run.
    pub value_full: f64,
    /// Compliant zones by superposition and by the full run.
    pub zones_compliant: (usize, usize),
    /// Largest |ΔC| over sections, pollutants and output times, mg/L.
    pub max_abs_mg_l: f64,
    /// Largest |ΔC| / (the pollutant's largest full-run concentration at that section).
    pub max_rel: f64,
    /// Where the largest relative difference is: section id, pollutant.
    pub worst: (String, String),
    /// Everything assessed about the full run.
    #[serde(skip)]
    pub metrics_full: Metrics,
}

/// The superposition check (see the module docs).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Each portfolio checked.
    pub portfolios: Vec<CheckRow>,
    /// Largest |ΔC| over all, mg/L.
    pub max_abs_mg_l: f64,
    /// Largest relative difference over all.
    pub max_rel: f64,
    /// Largest |ΔV| over all.
    pub max_objective_diff: f64,
    /// The tolerance stated in the module docs (relative).
    pub expected_rel: f64,
    /// `max_rel` is within `expected_rel`; when not, the reported portfolios come from full runs.
    pub within_tolerance: bool,
}

/// The runs behind the responses.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Runs {
    /// Tagged runs (one per flow state).
    pub tagged_runs: usize,
    /// Groups carried by them, in all.
    pub tagged_groups: usize,
    /// Full runs (water-moving clusters beyond the flow-state limit).
    pub full_runs: usize,
}

/// A flow state's hydraulics, and where its response run started.
#[derive(Debug, Clone, Serialize)]
pub struct StateTiming {
    /// Wall-clock seconds of its hydraulics.
    pub hydraulics_s: f64,
    /// Its flow periods (after alignment).
    pub periods: usize,
    /// The state whose run it went on from (`transport::run_response_tree`), if any.
    pub goes_on_from: Option<usize>,
    /// The time up to which the two agree, s since start (the run is handed over at the last output time
    /// not after it).
    pub agrees_until_s: Option<f64>,
}

/// Wall-clock seconds of the stages.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Baseline, tagged runs and full runs.
    pub responses_s: f64,
    /// Of which: baseline hydraulics, project transforms, flow shares.
    pub responses_setup_s: f64,
    /// Of which: the tagged runs (flow states, with their hydraulics) and full runs, in parallel.
    pub responses_runs_s: f64,
    /// Each flow state's hydraulics and where its response run started.
    pub flow_states: Vec<StateTiming>,
    /// Marginal benefits, greedy, optimum.
    pub search_s: f64,
    /// The check's full runs.
    pub check_s: f64,
}

/// What `rivsim rank` computes.
#[derive(Debug, Clone, Serialize)]
pub struct RankOutcome {
    /// Objective name.
    pub objective: &'static str,
    /// Budget (`null`: none).
    pub budget: Option<f64>,
    /// Cost unit of the scenario.
    pub cost_unit: Option<String>,
    /// Baseline metrics.
    pub baseline: Metrics,
    /// One row per project, file order.
    pub projects: Vec<ProjectRank>,
    /// The greedy sequence.
    pub greedy: Vec<GreedyStep>,
    /// The best portfolio under the budget.
    pub optimum: Portfolio,
    /// The cost–benefit frontier (cost, benefit), when enumerated exhaustively.
    pub frontier: Vec<(f64, f64)>,
    /// Clusters of interacting projects (project ids).
    pub clusters: Vec<Vec<String>>,
    /// The runs behind the responses.
    pub runs: Runs,
    /// The check, if run.
    pub superposition_check: Option<Check>,
    /// Stage times.
    pub timings: Timings,
    /// Notes.
    pub warnings: Vec<String>,
}

/// Refuse a bad budget or a scenario with too many projects (exit code 2).
pub fn validate(model: &Model, opts: &RankOptions) -> Result<(), ScenarioError> {
    let mut problems = Vec::new();
    if let Some(b) = opts.budget
        && !(b.is_finite() && b >= 0.0)
    {
        problems.push(Problem {
            file: model.path.clone(),
            line: None,
            item: "command line --budget".into(),
            field: String::new(),
            value: b.to_string(),
            expected: format!(
                "a finite number ≥ 0 in the scenario's cost unit ({})",
                model.cost_unit.as_deref().unwrap_or("no cost_unit given")
            ),
        });
    }
    if let Some(t) = opts.assess_from_s
        && !(t.is_finite() && t >= 0.0 && t < model.sim.end_s)
    {
        problems.push(Problem {
            file: model.path.clone(),
            line: None,
            item: "command line --assess-from".into(),
            field: String::new(),
            value: format!("{t} s after the start"),
            expected: "a date inside the simulated period (at or after its start, before its end)"
                .into(),
        });
    }
    if !(opts.full_share.is_finite() && opts.full_share >= 0.0) {
        problems.push(Problem {
            file: model.path.clone(),
            line: None,
            item: "command line --full-share".into(),
            field: String::new(),
            value: opts.full_share.to_string(),
            expected: "a finite share ≥ 0 of the local river flow (e.g. 0.1)".into(),
        });
    }
    if model.projects.len() > search::MAX_PROJECTS {
        problems.push(Problem {
            file: model.path.clone(),
            line: None,
            item: "[[projects]]".into(),
            field: String::new(),
            value: format!("{} projects", model.projects.len()),
            expected: format!("at most {} projects for rivsim rank", search::MAX_PROJECTS),
        });
    }
    if model.projects.is_empty() {
        problems.push(Problem {
            file: model.path.clone(),
            line: None,
            item: "[[projects]]".into(),
            field: String::new(),
            value: "none".into(),
            expected: "at least one project to rank".into(),
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ScenarioError { problems })
    }
}

/// Rank the scenario's projects (see the module docs).
pub fn rank(model: &Model, opts: &RankOptions) -> Result<RankOutcome, RankError> {
    validate(model, opts)?;
    // the assessed window: statistics skip what precedes it, exactly as they skip a warm-up
    let judged;
    let model = match opts.assess_from_s {
        Some(t) if t > model.sim.warmup_s => {
            let mut m = model.clone();
            m.sim.warmup_s = t;
            judged = m;
            &judged
        }
        _ => model,
    };
    let t0 = Instant::now();
    let sp = Superposition::build(model, opts)?;
    let t1 = Instant::now();
    let assessor = Assessor::new(opts.objective, sp.base_model(), &sp.states[0].base)?;
    let n = model.projects.len();
    let costs: Vec<f64> = model.projects.iter().map(|p| p.cost).collect();
    let budget = opts.budget.unwrap_or(f64::INFINITY);
    let assess = |mask: u64| -> Result<Metrics, TargetsError> {
        assessor.metrics(
            sp.base_model(),
            &sp.results(mask),
            sp.section_flow_m3s(mask),
        )
    };
    let eval = assess;
    let baseline = eval(0)?;
    // the searches compare the objective alone (`Assessor::value`, the same number as the metrics'
    // `value`); with few enough projects every portfolio's is taken once, in one parallel sweep, and every
    // search reads that table
    let value_of = |mask: u64| {
        assessor.value(
            sp.base_model(),
            &sp.results(mask),
            sp.section_flow_m3s(mask),
        )
    };
    // the searches take an infallible value function; assessment errors (a shape mismatch, impossible here
    // since every portfolio has the baseline's shape) are caught by evaluating the baseline above, and a
    // portfolio that could not be assessed would rank last
    let value_or_worst = |mask: u64| value_of(mask).unwrap_or(f64::NEG_INFINITY);
    let table: Option<Vec<f64>> = (n <= opts.exhaustive_max)
        .then(|| (0..1u64 << n).into_par_iter().map(value_or_worst).collect());
    let value = |mask: u64| match &table {
        Some(t) => t[mask as usize],
        None => value_or_worst(mask),
    };
    let alone: Vec<Metrics> = (0..n)
        .into_par_iter()
        .map(|j| eval(1 << j))
        .collect::<Result<_, _>>()?;
    let pb = bar(opts.progress, 3, "searching portfolios");
    let steps = search::greedy(&costs, &value);
    pb.inc(1);
    let mut all = Vec::new();
    let (best, method, frontier) = if n <= opts.exhaustive_max {
        all = search::all_values(&costs, &value);
        let best = search::best_of(&all, budget);
        let fr = search::frontier(&all)
            .into_iter()
            .map(|(c, v, _)| (c, v - baseline.value))
            .collect();
        (best, "exhaustive", fr)
    } else {
        let best = search::branch_and_bound(&costs, budget, &value, opts.bnb_max_evaluations);
        (best, "branch_and_bound", Vec::new())
    };
    pb.inc(1);
    let mut greedy = Vec::with_capacity(steps.len());
    let mut order = vec![0usize; n];
    let mut prefix = 0u64;
    for (k, s) in steps.iter().enumerate() {
        order[s.project] = k + 1;
        prefix |= 1 << s.project;
        greedy.push(GreedyStep {
            project: model.projects[s.project].id.clone(),
            gain: s.gain,
            cost: s.cost,
            benefit: s.value - baseline.value,
            metrics: eval(prefix)?,
            evaluated_by: "superposition",
        });
    }
    let best_metrics = eval(best.mask)?;
    pb.finish_and_clear();
    let ids = |mask: u64| -> Vec<String> {
        (0..n)
            .filter(|&j| mask >> j & 1 == 1)
            .map(|j| model.projects[j].id.clone())
            .collect()
    };
    let mut warnings = sp.warnings.clone();
    if !best.proven {
        warnings.push(format!(
            "branch and bound stopped after {} evaluations: the portfolio is the best found, not proven optimal",
            best.evaluations
        ));
    }
    let mut optimum = Portfolio {
        objective: opts.objective.name(),
        budget: opts.budget,
        projects: ids(best.mask),
        cost: best.cost,
        benefit: best.value - baseline.value,
        metrics: best_metrics,
        evaluated_by: "superposition",
        method,
        evaluations: best.evaluations,
        proven: best.proven,
    };
    let projects: Vec<ProjectRank> = model
        .projects
        .iter()
        .enumerate()
        .map(|(j, p)| {
            let b = alone[j].value - baseline.value;
            ProjectRank {
                id: p.id.clone(),
                name: p.name.clone(),
                kind: p.kind.name(),
                cost: p.cost,
                benefit: b,
                benefit_per_cost: search::ratio(b, p.cost),
                greedy_order: order[j],
                alone: alone[j],
                cluster: sp.place[j].0,
                full_run: sp.clusters[sp.place[j].0].response != Response::Tagged,
                response: sp.clusters[sp.place[j].0].response,
                flow_share: sp.flow_share[j],
            }
        })
        .collect();
    let t2 = Instant::now();
    let superposition_check = if opts.check {
        let mut masks: Vec<u64> = Vec::new();
        let mut m = 0u64;
        for s in &steps {
            m |= 1 << s.project;
            masks.push(m);
        }
        if !masks.contains(&best.mask) && best.mask != 0 {
            masks.push(best.mask);
        }
        let mut c = check(model, &sp, &assessor, &masks, opts.progress)?;
        if !c.within_tolerance {
            let f = FullRuns {
                model,
                sp: &sp,
                assessor: &assessor,
                costs: &costs,
                budget,
                baseline: &baseline,
                progress: opts.progress,
            };
            f.report_from_full_runs(&mut c, &masks, &all, &mut greedy, &mut optimum, &ids)?;
            warnings.push(f.warning(&c));
        }
        Some(c)
    } else {
        None
    };
    let t3 = Instant::now();
    Ok(RankOutcome {
        objective: opts.objective.name(),
        budget: opts.budget,
        cost_unit: model.cost_unit.clone(),
        baseline,
        projects,
        greedy,
        optimum,
        frontier,
        clusters: sp
            .clusters
            .iter()
            .map(|c| {
                c.projects
                    .iter()
                    .map(|&j| model.projects[j].id.clone())
                    .collect()
            })
            .collect(),
        runs: Runs {
            tagged_runs: sp.runs.0,
            tagged_groups: sp.runs.1,
            full_runs: sp.runs.2,
        },
        superposition_check,
        timings: Timings {
            responses_s: (t1 - t0).as_secs_f64(),
            responses_setup_s: sp.timings_s[0],
            responses_runs_s: sp.timings_s[1],
            flow_states: sp
                .states
                .iter()
                .map(|s| StateTiming {
                    hydraulics_s: s.hydraulics_s,
                    periods: s.periods,
                    goes_on_from: s.goes_on_from.map(|f| f.0),
                    agrees_until_s: s.goes_on_from.map(|f| f.1),
                })
                .collect(),
            search_s: (t2 - t1).as_secs_f64(),
            check_s: (t3 - t2).as_secs_f64(),
        },
        warnings,
    })
}

/// Compare superposition with full runs on the given portfolios (in parallel).
pub fn check(
    model: &Model,
    sp: &Superposition,
    assessor: &Assessor,
    masks: &[u64],
    progress: bool,
) -> Result<Check, RankError> {
    let pb = bar(
        progress,
        masks.len() as u64,
        "superposition check (full runs)",
    );
    let n = model.projects.len();
    let np = model.pollutants.len();
    let topts = transport_options(masks.len());
    let rows: Vec<CheckRow> = masks
        .par_iter()
        .map(|&mask| {
            let ps: Vec<usize> = (0..n).filter(|&j| mask >> j & 1 == 1).collect();
            let (full, q) = full_run_with(model, &selection_of(model, &ps), &topts)?;
            let sup = sp.results(mask);
            let mf = assessor.metrics(sp.base_model(), &full, &q)?;
            let ms = assessor.metrics(sp.base_model(), &sup, sp.section_flow_m3s(mask))?;
            let ns = model.sections.len();
            let mut max_abs: f64 = 0.0;
            let mut max_rel: f64 = 0.0;
            let mut worst = (String::new(), String::new());
            for s in 0..ns {
                for p in 0..np {
                    let k = s * np + p;
                    let scale = full
                        .section_conc
                        .iter()
                        .map(|row| row[k].abs())
                        .fold(0.0, f64::max);
                    for (a, b) in full.section_conc.iter().zip(&sup.section_conc) {
                        let d = (a[k] - b[k]).abs();
                        max_abs = max_abs.max(d);
                        if scale > 0.0 && d / scale > max_rel {
                            max_rel = d / scale;
                            worst = (model.sections[s].id.clone(), model.pollutants[p].clone());
                        }
                    }
                }
            }
            pb.inc(1);
            Ok(CheckRow {
                projects: ps.iter().map(|&j| model.projects[j].id.clone()).collect(),
                value_superposed: ms.value,
                value_full: mf.value,
                zones_compliant: (ms.zones_compliant, mf.zones_compliant),
                max_abs_mg_l: max_abs,
                max_rel,
                worst,
                metrics_full: mf,
            })
        })
        .collect::<Result<_, RankError>>()?;
    pb.finish_and_clear();
    Ok(Check {
        max_abs_mg_l: rows.iter().map(|r| r.max_abs_mg_l).fold(0.0, f64::max),
        max_rel: rows.iter().map(|r| r.max_rel).fold(0.0, f64::max),
        max_objective_diff: rows
            .iter()
            .map(|r| (r.value_superposed - r.value_full).abs())
            .fold(0.0, f64::max),
        expected_rel: EXPECTED_REL,
        within_tolerance: rows.iter().all(|r| r.max_rel <= EXPECTED_REL),
        portfolios: rows,
    })
}

/// How many of the best portfolios under the budget (by superposition) are run in full to choose the optimum
/// again when the check exceeds its tolerance.
pub const RECHOOSE_CANDIDATES: usize = 8;

/// What choosing by full runs needs, when superposition fails its check.
struct FullRuns<'a> {
    model: &'a Model,
    sp: &'a Superposition,
    assessor: &'a Assessor,
    costs: &'a [f64],
    budget: f64,
    baseline: &'a Metrics,
    progress: bool,
}

impl FullRuns<'_> {
    /// The check `c` of the portfolios `masks` (the greedy prefixes, then the optimum) exceeded its
    /// tolerance: report the greedy prefixes from their full runs, and choose the optimum again by full runs
    /// among the [`RECHOOSE_CANDIDATES`] best affordable portfolios by superposition (`all`, when
    /// enumerated) and the affordable portfolios already checked. The new full runs join `c`.
    fn report_from_full_runs(
        &self,
        c: &mut Check,
        masks: &[u64],
        all: &[(u64, f64, f64)],
        greedy: &mut [GreedyStep],
        optimum: &mut Portfolio,
        ids: &dyn Fn(u64) -> Vec<String>,
    ) -> Result<(), RankError> {
        for (g, row) in greedy.iter_mut().zip(&c.portfolios) {
            g.metrics = row.metrics_full;
            g.benefit = row.value_full - self.baseline.value;
            g.evaluated_by = "full_run";
        }
        let mut by_value: Vec<&(u64, f64, f64)> = all
            .iter()
            .filter(|&&(m, cost, _)| m != 0 && search::affordable(cost, self.budget))
            .collect();
        by_value.sort_by(|a, b| b.2.total_cmp(&a.2));
        let more: Vec<u64> = by_value
            .iter()
            .map(|&&(m, _, _)| m)
            .filter(|m| !masks.contains(m))
            .take(RECHOOSE_CANDIDATES)
            .collect();
        let extra = check(self.model, self.sp, self.assessor, &more, self.progress)?;
        let mut checked: Vec<u64> = masks.to_vec();
        checked.extend(&more);
        c.portfolios.extend(extra.portfolios);
        let cost = |m: u64| search::mask_cost(m, self.costs);
        // the empty portfolio is the baseline itself (no superposition): always a candidate
        let mut full: Vec<(u64, f64, f64)> = vec![(0, 0.0, self.baseline.value)];
        full.extend(
            checked
                .iter()
                .zip(&c.portfolios)
                .filter(|&(&m, _)| search::affordable(cost(m), self.budget))
                .map(|(&m, r)| (m, cost(m), r.value_full)),
        );
        let best = search::best_of(&full, self.budget);
        let metrics = match checked.iter().position(|&m| m == best.mask) {
            Some(k) => c.portfolios[k].metrics_full,
            None => *self.baseline,
        };
        optimum.projects = ids(best.mask);
        optimum.cost = best.cost;
        optimum.benefit = best.value - self.baseline.value;
        optimum.metrics = metrics;
        optimum.evaluated_by = "full_run";
        Ok(())
    }

    /// The warning of a check beyond its tolerance.
    fn warning(&self, c: &Check) -> String {
        let worst = c
            .portfolios
            .iter()
            .max_by(|a, b| a.max_rel.total_cmp(&b.max_rel))
            .expect("a failed check has portfolios");
        format!(
            "the superposition check exceeds its tolerance: a relative difference of {:.3} (tolerance {}) at \
             section {}, {}, for the portfolio [{}]; the greedy prefixes and the optimum are reported from \
             full runs, and the optimum was chosen again by full runs among the {} best portfolios under the \
             budget by superposition and those checked; the benefits of single projects and the frontier are \
             still by superposition (a lower --full-share gives water-moving projects their own flow states)",
            worst.max_rel,
            c.expected_rel,
            worst.worst.0,
            worst.worst.1,
            worst.projects.join(", "),
            RECHOOSE_CANDIDATES,
        )
    }
}

/// The relative tolerance the check is expected to meet with the default `full_share` (module docs): the
/// 10 % held-flow share plus the limiter's nonlinearity.
pub const EXPECTED_REL: f64 = 0.11;

#[cfg(test)]
mod tests {
    use super::{inputs_agree_until, series_agree_until};
    use crate::model::{Discharge, Model, Outfall, OutfallKind, Series};

    /// A model with one outfall of water on reach 0 (no network: only the inputs are compared).
    fn with_outfall(conc: Series, flow: Series) -> Model {
        let mut m = Model {
            pollutants: vec!["COD".into()],
            ..Model::default()
        };
        m.outfalls.push(Outfall {
            id: "A".into(),
            reach: 0,
            at_m: 10.0,
            discharge: Discharge::Flow {
                flow_m3s: flow,
                concentration: vec![conc],
            },
            kind: OutfallKind::Sewage,
            group: "g".into(),
        });
        m
    }

    /// Two models' inputs, by hand: a concentration that steps at 40 parts there; a new outfall whose water
    /// starts at 60 counts from 60 (its concentration does not matter while it brings no water); a decay
    /// change present in one model only parts at its time; the same model agrees up to the limit.
    #[test]
    fn inputs_part_where_an_item_first_differs() {
        let t = 100.0;
        let a = with_outfall(Series::Const(10.0), Series::Const(0.1));
        assert_eq!(inputs_agree_until(&a, &a.clone(), t), t);
        let b = with_outfall(table(&[0.0, 40.0], &[10.0, 4.0], false), Series::Const(0.1));
        assert_eq!(inputs_agree_until(&a, &b, t), 40.0);
        let mut c = a.clone();
        c.outfalls.push(Outfall {
            id: "B".into(),
            discharge: Discharge::Flow {
                flow_m3s: table(&[0.0, 60.0], &[0.0, 0.2], false),
                concentration: vec![Series::Const(50.0)],
            },
            ..a.outfalls[0].clone()
        });
        assert_eq!(inputs_agree_until(&a, &c, t), 60.0);
        assert_eq!(inputs_agree_until(&c, &b, t), 40.0);
        let mut d = a.clone();
        d.decay_changes.push(crate::model::DecayChange {
            reach: 0,
            t_s: 70.0,
            decay_per_day: vec![0.5],
        });
        assert_eq!(inputs_agree_until(&a, &d, t), 70.0);
        // an outfall moved elsewhere is another scenario from the start
        let mut e = a.clone();
        e.outfalls[0].at_m = 20.0;
        assert_eq!(inputs_agree_until(&a, &e, t), 0.0);
    }

    fn table(times_s: &[f64], values: &[f64], linear: bool) -> Series {
        Series::Table {
            times_s: times_s.to_vec(),
            values: values.to_vec(),
            linear,
        }
    }

    /// Where two series part, by hand: step tables at their first differing breakpoint; a linear one from
    /// the breakpoint before (it leaves the other's value right after it); a missing series is 0; equal
    /// series agree up to the limit, and series differing at 0 agree nowhere.
    #[test]
    fn series_part_where_their_values_first_differ() {
        let t = 100.0;
        let a = table(&[0.0, 10.0, 50.0], &[1.0, 2.0, 3.0], false);
        let b = table(&[0.0, 10.0, 30.0, 50.0], &[1.0, 2.0, 2.5, 3.0], false);
        assert_eq!(series_agree_until(Some(&a), Some(&b), t), 30.0);
        assert_eq!(series_agree_until(Some(&a), Some(&a.clone()), t), t);
        // the same values, one as a step table with an extra breakpoint: they agree throughout
        let c = table(&[0.0, 10.0, 20.0, 50.0], &[1.0, 2.0, 2.0, 3.0], false);
        assert_eq!(series_agree_until(Some(&a), Some(&c), t), t);
        // a linear series against the same points held: equal up to 10, parting right after it
        let (h, l) = (
            table(&[0.0, 10.0, 50.0], &[1.0, 1.0, 3.0], false),
            table(&[0.0, 10.0, 50.0], &[1.0, 1.0, 3.0], true),
        );
        assert_eq!(series_agree_until(Some(&h), Some(&l), t), 10.0);
        // … and one that rises from 0 parts at once
        let l0 = table(&[0.0, 10.0, 50.0], &[1.0, 2.0, 3.0], true);
        assert_eq!(series_agree_until(Some(&a), Some(&l0), t), 0.0);
        // a flow that starts at 40 against none
        let q = table(&[0.0, 40.0], &[0.0, 0.5], false);
        assert_eq!(series_agree_until(Some(&q), None, t), 40.0);
        assert_eq!(series_agree_until(Some(&q), None, 20.0), 20.0);
        assert_eq!(series_agree_until(None, Some(&Series::Const(0.0)), t), t);
        assert_eq!(
            series_agree_until(Some(&Series::Const(1.0)), Some(&Series::Const(2.0)), t),
            0.0
        );
    }
}
