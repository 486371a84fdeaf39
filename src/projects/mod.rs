//! Projects: sewers, plants and the works that change a scenario from their dates (DESIGN.md §2 "Projects",
//! §8 for the file keys).
//!
//! A project never touches solver state: [`apply`] **transforms the scenario**. Given a [`Model`] and a
//! [`Selection`] (all projects, `--without`, `--only`, an alternative's delays and omissions, or none), it
//! returns a new `Model` whose outfalls, inflows and line loads carry time-varying [`Series`] that describe
//! each selected project's effect; hydraulics and transport then run on that model as on any other.
//!
//! ## Timing
//! Times are seconds since the scenario start. A project's effect fraction is f(t) = 0 before `finish`, 1 from
//! `finish` on; with a `ramp` R > 0 the linear rise from 0 at `finish` to 1 at `finish + R` is discretised into
//! daily steps: the step covering [finish + i·d, min(finish + (i+1)·d, finish + R)) (d = 1 day) holds the
//! mean of the linear ramp over that interval, f = (mid − finish)/R, so the time integral of the effect is
//! exact. Dates before the simulated period simply mean the effect is there from the start; dates after the
//! end mean never. An alternative's `delay` shifts `start` and `finish` by the given duration.
//!
//! ## Effects (each in file order, each on what the previous ones left)
//! - `intercept` (efficiency e into sewer s): of an outfall's remaining flow Q the share e·f(t) goes to the
//!   sewer with its concentration; the outfall keeps (1 − e·f)·Q at unchanged concentration.
//! - `close_outfall`: the outfall keeps (1 − f)·Q (a mass-only load keeps (1 − f)·W).
//! - `separate` (rain_dry_weather outfalls only): keeps (1 − e·f)·Q (or ·W).
//! - `rural_treatment` (reduction r_p): concentration (or mass load) × (1 − r_p·f).
//! - `plant`: the plant's capacity and/or named effluent concentrations move from their old value v0 to the
//!   new v1 as v0 + f·(v1 − v0).
//! - `diversion`: a new inflow at the node, flow f·Q at the given concentration.
//! - `boundary_improvement`: each inflow at the node has, for each named pollutant, C(t) = (1 − f)·C0(t) + f·C1.
//! - `dredging`: each named reach's internal release r_p moves to r0 + f·(r1 − r0). Because the transport
//!   holds release constant per reach, the reach's release is moved into an equivalent line load over the whole
//!   reach, W_p(t) = r_p(t)·L·b/1000 kg/day (L length, b bed width: exactly the bed area the transport uses).
//!   A new `decay_per_day` k1 moves each named reach's rate the same way, k0 + f·(k1 − k0), as a list of
//!   [`crate::model::DecayChange`]s at the grid times where it changes; the transport applies each from the
//!   step whose midpoint passes it. A storage node keeps the mean decay of its reaches at the start.
//! - a construction load (kg/day) enters as a mass-only outfall at `construction_at` during [start, finish).
//!
//! ## Sewers and plants (mass and water conserved)
//! A sewer collects Q_s(t) = Q_base + Σ_i e_i·f_i(t)·Q_i(t) (m³/s) carrying M_s,p = C_base,p·Q_base + Σ_i
//! e_i·f_i·Q_i·C_i,p (g/s); its mix concentration is C_s = M_s/Q_s. What exceeds the capacity, max(0, Q_s − cap),
//! spills at the overflow point (a new outfall of kind `overflow`, concentration C_s); the rest goes to its plant
//! or to its `discharge` point (a new outfall of kind `sewage`). A plant receives the sum of its sewers' flows and
//! masses; it treats min(Q, cap) at its effluent concentration min(C_in, C_eff) (a pollutant not named in
//! `effluent` leaves at its influent concentration) — a new outfall of kind `wwtp` at `discharge` — and bypasses
//! the rest untreated at `bypass` (kind `overflow`). A derived outfall that would carry no water at any time is
//! not created, so a scenario with sewers and plants but nothing routed to them is unchanged.
//!
//! ## Exactness
//! Flows are piecewise constant between breakpoints: every project date and ramp step, and every breakpoint of
//! the input series of the items a project touches. Every transformed series is a step [`Series::Table`] on the
//! union of these breakpoints, exact in each piece (an input series with `interpolate = "linear"` is sampled at
//! the breakpoints and held, a documented approximation). Items no selected project touches keep their series
//! bit for bit, and with nothing selected `apply` returns the model unchanged.

pub mod capacity;
mod compare;
pub mod rank;
mod transform;

pub use compare::{
    CompareOutcome, compare_csv, compare_km_csv, compare_years_csv, line_width, plot_worse_than_v,
    plot_worse_than_v_png,
};
pub use rank::{Objective, RankOptions, RankOutcome};
pub use transform::apply;

use crate::model::{Alternative, Model};
use crate::scenario::{Problem, ScenarioError};

/// Which projects apply, and with what shift of their dates.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// One per `Model::projects`: applied or not.
    pub included: Vec<bool>,
    /// One per project: seconds added to `start` and `finish`.
    pub delay_s: Vec<f64>,
}

impl Selection {
    /// No project (the baseline).
    pub fn none(model: &Model) -> Selection {
        Selection {
            included: vec![false; model.projects.len()],
            delay_s: vec![0.0; model.projects.len()],
        }
    }

    /// Every project at its dates (the default of `rivsim run`).
    pub fn all(model: &Model) -> Selection {
        Selection {
            included: vec![true; model.projects.len()],
            delay_s: vec![0.0; model.projects.len()],
        }
    }

    /// Every project except those named (`--without A,B`); an unknown id is an error.
    pub fn without(model: &Model, ids: &[String]) -> Result<Selection, ScenarioError> {
        let idx = project_indices(model, ids, "--without")?;
        let mut s = Selection::all(model);
        for k in idx {
            s.included[k] = false;
        }
        Ok(s)
    }

    /// Only the projects named (`--only A,B`); an unknown id is an error.
    pub fn only(model: &Model, ids: &[String]) -> Result<Selection, ScenarioError> {
        let idx = project_indices(model, ids, "--only")?;
        let mut s = Selection::none(model);
        for k in idx {
            s.included[k] = true;
        }
        Ok(s)
    }

    /// Every project, with an alternative's delays and omissions applied.
    pub fn alternative(model: &Model, alt: &Alternative) -> Selection {
        let mut s = Selection::all(model);
        for &(k, d) in &alt.delay_s {
            s.delay_s[k] += d;
        }
        for &k in &alt.without {
            s.included[k] = false;
        }
        s
    }

    /// `true` when no project applies.
    pub fn is_empty(&self) -> bool {
        !self.included.iter().any(|&b| b)
    }
}

fn project_indices(model: &Model, ids: &[String], flag: &str) -> Result<Vec<usize>, ScenarioError> {
    let mut out = Vec::with_capacity(ids.len());
    let mut problems = Vec::new();
    let known: Vec<&str> = model.projects.iter().map(|p| p.id.as_str()).collect();
    for id in ids {
        match known.iter().position(|k| *k == id) {
            Some(k) => out.push(k),
            None => problems.push(Problem {
                file: model.path.clone(),
                line: None,
                item: format!("command line {flag}"),
                field: String::new(),
                value: id.clone(),
                expected: if known.is_empty() {
                    "a project id (the scenario has no [[projects]])".into()
                } else {
                    format!("a project id of the scenario: {}", known.join(", "))
                },
            }),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(ScenarioError { problems })
    }
}

/// Effect fraction f(t) of a project whose effect starts at `finish_s` and ramps over `ramp_s` in daily steps
/// (see the module docs), evaluated for the piece that starts at `t_s`.
pub fn effect_fraction(finish_s: f64, ramp_s: f64, t_s: f64) -> f64 {
    if t_s < finish_s {
        return 0.0;
    }
    if ramp_s <= 0.0 || t_s >= finish_s + ramp_s {
        return 1.0;
    }
    let i = ((t_s - finish_s) / DAY_S).floor();
    let a = finish_s + i * DAY_S;
    let b = (a + DAY_S).min(finish_s + ramp_s);
    (0.5 * (a + b) - finish_s) / ramp_s
}

/// The breakpoints of a project's effect fraction: `finish` and each daily ramp step.
pub fn effect_breakpoints(finish_s: f64, ramp_s: f64, out: &mut Vec<f64>) {
    out.push(finish_s);
    if ramp_s > 0.0 {
        let mut t = finish_s + DAY_S;
        while t < finish_s + ramp_s {
            out.push(t);
            t += DAY_S;
        }
        out.push(finish_s + ramp_s);
    }
}

/// Seconds per day.
pub const DAY_S: f64 = 86_400.0;
