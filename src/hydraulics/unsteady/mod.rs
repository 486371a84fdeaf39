//! Unsteady hydraulics: 1-D Saint-Venant on a looped network with sluices, weirs and pumps (DESIGN.md §9).
//!
//! **Equations.** On every reach, continuity ∂A/∂t + ∂Q/∂x = q and momentum
//! ∂Q/∂t + ∂(Q²/A)/∂x + g·A·∂Z/∂x + g·A·Q|Q|/K² = 0 (local and convective inertia, pressure, friction with
//! Manning's conveyance K = A·R^(2/3)/n), discretised by the Preissmann four-point scheme with weight θ on
//! the reach's cells ([`reach`]); at every node, continuity with its storage, inflows, withdrawals,
//! structures and boundaries ([`node`]); structures as links whose laws are linearised in the node levels
//! ([`structure`]); shallow and drying cells through a positive continuation of the section below 1 cm
//! ([`shape`]).
//!
//! **Solution.** Each step iterates Newton corrections: every reach is condensed to two linear relations
//! between its end-node levels, the node levels come from a sparse system (LDU in a minimum-degree order,
//! the structure analysed once, [`crate::hydraulics::sparse::Ldu`]) and every reach is back-substituted —
//! the "three-level" method of plain-network models (Li Yiping, Zhang Ershun; Ji 1998, SUPERLINK). The
//! steps are [`stepper::Unsteady::step`]; [`run`] drives them over the scenario's period and keeps the
//! values of the output times.
//!
//! **Boundaries.** Inflows at nodes, lateral outfall flows and withdrawals along reaches (withdrawals and
//! pumps are cut as the water falls to the bed, [`structure::suction`]); an outlet's `level_m` or
//! `level_series` is held exactly (a tide); an outlet without a level is a free outfall passing normal flow
//! on a bed falling towards it and never more than critical flow (critical depth is its control on a flat
//! or adverse bed).
//!
//! **Initial state.** Still water at `[initial] level_m`, or the steady solution of the inputs at the start
//! (the steady solver of [`crate::hydraulics`], structures left out, so each part of the network needs a
//! held level), its cell levels averaged onto the faces.
//!
//! **Volume ledger.** What entered (inflows, outfall flows, water entering at held levels), what left
//! (water leaving at held levels, free outfalls, withdrawals) and the change of the stored volume. The
//! stored areas are exactly those the continuity equations used ([`reach`], "Stored area"), so the ledger
//! closes to round-off whatever the number of iterations.

mod node;
mod reach;
pub mod shape;
mod stepper;
pub mod structure;

use crate::hydraulics::HydraulicsError;
use crate::model::{Model, StructureKind};
use crate::network::Network;
pub use reach::Point;
pub use stepper::{Stats, StepFlows, Unsteady};

/// Settings of the unsteady solver.
#[derive(Debug, Clone)]
pub struct UnsteadyOptions {
    /// Newton iterations per step at most.
    pub max_iterations: usize,
    /// Largest level correction of a converged iteration, m.
    pub tol_level_m: f64,
    /// Largest discharge correction of a converged iteration, as a share of the largest discharge.
    pub tol_flow_rel: f64,
    /// Depth below which a section is continued ([`shape::DRY_DEPTH_M`]), m.
    pub dry_depth_m: f64,
}

impl Default for UnsteadyOptions {
    fn default() -> Self {
        UnsteadyOptions {
            max_iterations: 10,
            tol_level_m: 1e-4,
            tol_flow_rel: 1e-4,
            dry_depth_m: shape::DRY_DEPTH_M,
        }
    }
}

/// The water ledger of an unsteady run, m³.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ledger {
    /// Water stored at the start.
    pub initial_m3: f64,
    /// Water stored at the end.
    pub final_m3: f64,
    /// Inflows at nodes.
    pub inflow_m3: f64,
    /// Outfall flows along reaches.
    pub lateral_m3: f64,
    /// Water entering at held levels (tides pushing in).
    pub boundary_in_m3: f64,
    /// Water leaving at held levels.
    pub boundary_out_m3: f64,
    /// Water leaving through free outfalls.
    pub outfall_m3: f64,
    /// Water taken by withdrawals (as far as the water allowed).
    pub withdrawal_m3: f64,
}

impl Ledger {
    /// Everything that entered.
    pub fn in_m3(&self) -> f64 {
        self.inflow_m3 + self.lateral_m3 + self.boundary_in_m3
    }

    /// Everything that left.
    pub fn out_m3(&self) -> f64 {
        self.boundary_out_m3 + self.outfall_m3 + self.withdrawal_m3
    }

    /// Stored at the end minus at the start.
    pub fn storage_change_m3(&self) -> f64 {
        self.final_m3 - self.initial_m3
    }

    /// in − out − storage change.
    pub fn error_m3(&self) -> f64 {
        self.in_m3() - self.out_m3() - self.storage_change_m3()
    }

    /// |error| / max(in, out, |storage change|, initial and final volume): the stored volumes are in the
    /// scale because the round-off of summing them is relative to them.
    pub fn relative_error(&self) -> f64 {
        let scale = self
            .in_m3()
            .max(self.out_m3())
            .max(self.storage_change_m3().abs())
            .max(self.initial_m3.abs())
            .max(self.final_m3.abs())
            .max(1e-300);
        self.error_m3().abs() / scale
    }
}

/// One structure's row at an output time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StructureState {
    /// Flow in the step that ended at the output time, m³/s.
    pub flow_m3s: f64,
    /// The gate opening in effect, m (∞: clear of the water; NaN: no gate).
    pub opening_m: f64,
    /// Open (sluice, weir) or running (pump).
    pub open: bool,
}

/// The values of one output time.
#[derive(Debug, Clone)]
pub struct Output {
    /// Seconds since the start.
    pub t_s: f64,
    /// Each node's level, m.
    pub node_level_m: Vec<f64>,
    /// Each reach's (flow m³/s, velocity m/s, depth m, travel time s) at the instant
    /// ([`crate::hydraulics::FlowField::reach_means`]).
    pub reach: Vec<[f64; 4]>,
    /// Each structure's state.
    pub structures: Vec<StructureState>,
}

/// What an unsteady run produced.
#[derive(Debug, Clone)]
pub struct UnsteadyRun {
    /// One entry per output time (the start included).
    pub outputs: Vec<Output>,
    /// The water ledger.
    pub ledger: Ledger,
    /// The solver's counters.
    pub stats: Stats,
    /// Notes for the run summary.
    pub warnings: Vec<String>,
}

/// Output times of the model: start, start + interval, … up to the end.
pub fn output_times(model: &Model) -> Vec<f64> {
    let (end, dt) = (model.sim.end_s, model.sim.output_interval_s);
    let n = (end / dt + 1e-9).floor() as usize;
    (0..=n)
        .map(|k| k as f64 * dt)
        .filter(|&t| t <= end)
        .collect()
}

/// Run the unsteady hydraulics over the scenario's period, keeping the values of every output time;
/// `progress` is told the share of the period done after each step.
pub fn run(
    model: &Model,
    net: &Network,
    opts: &UnsteadyOptions,
    progress: &mut dyn FnMut(f64),
) -> Result<UnsteadyRun, HydraulicsError> {
    let mut state = Unsteady::new(model, net, opts.clone())?;
    let times = output_times(model);
    let mut outputs = Vec::with_capacity(times.len());
    for &t_out in &times {
        while state.time_s() < t_out - 1e-9 * t_out.max(1.0) {
            state.step(t_out)?;
            progress(state.time_s() / model.sim.end_s);
        }
        outputs.push(output(&state, net));
    }
    let stats = state.stats().clone();
    let warnings = run_warnings(model, opts, &stats);
    Ok(UnsteadyRun {
        outputs,
        ledger: state.ledger(),
        stats,
        warnings,
    })
}

/// The notes of a finished unsteady run for its summary: steps that did not converge, structures the water
/// never reached, gates that undid their own change.
pub fn run_warnings(model: &Model, opts: &UnsteadyOptions, stats: &Stats) -> Vec<String> {
    let mut warnings = Vec::new();
    if stats.unconverged > 0 {
        let (dz, t) = stats.worst_unconverged;
        warnings.push(format!(
            "unsteady hydraulics: {} of {} steps did not converge in {} iterations (largest last level \
             correction {dz:.3e} m, in the step ending {t} s after the start)",
            stats.unconverged, stats.steps, opts.max_iterations
        ));
    }
    for (s, &top) in model.structures.iter().zip(&stats.highest_m) {
        let sill = match s.kind {
            StructureKind::Sluice { sill_m, .. } | StructureKind::Weir { sill_m, .. } => sill_m,
            StructureKind::Pump { .. } => continue,
        };
        if top <= sill {
            warnings.push(format!(
                "structure {}: the water never reached its sill ({sill} m; the highest level on either \
                 side was {top} m), so it passed nothing: check sill_m",
                s.id
            ));
        }
    }
    for (k, &(flips, t)) in stats.flips.iter().enumerate() {
        // a rule may rightly hold a gate open for one step now and then (a tide turning at the margin);
        // chatter is when that is a large share of what the gate does
        if flips >= 3 && 10 * flips >= stats.switches[k] {
            warnings.push(format!(
                "structure {}: its operation undid its own change after a single step {flips} times \
                 (first {t} s after the start): the level it reads swings with the structure's own flow; \
                 let the rule read a level away from the structure (rule.node) or widen its band",
                model.structures[k].id
            ));
        }
    }
    warnings
}

/// The output values of the state now.
fn output(state: &Unsteady, net: &Network) -> Output {
    let field = state.snapshot();
    Output {
        t_s: state.time_s(),
        node_level_m: state.node_level_m().to_vec(),
        reach: (0..net.n_reaches)
            .map(|r| field.reach_means(net, r))
            .collect(),
        structures: state
            .settings()
            .iter()
            .zip(state.structure_flow_m3s())
            .map(|(s, &q)| StructureState {
                flow_m3s: q,
                opening_m: s.opening_m,
                open: s.open,
            })
            .collect(),
    }
}
