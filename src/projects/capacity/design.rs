//! Design conditions (设计水文条件): which flows, loads, levels and temperature the allowable loads are computed
//! under, and the steady model that holds them.
//!
//! ## The design flow (`[capacity] design_flow`, `--design-flow`)
//! - `p90_month` (default): the 90%-guarantee driest-month mean flow (90%保证率最枯月平均流量), the usual
//!   reading of GB/T 25173-2010 for rivers: the run's calendar months are grouped by year; each year's driest
//!   month (lowest mean *total* inflow, the sum of the `[[inflows]]`) is one sample; the n samples are ranked
//!   from wettest (m = 1) to driest (m = n) and given the empirical frequency P = m/(n + 1) (the Weibull
//!   plotting position of Chinese hydrological practice, as in SL/Z 712-2014's Qp method on annual driest-month
//!   means); the design month is the first sample whose frequency reaches 90%, m = ⌈0.9·(n + 1)⌉. With fewer than
//!   nine years no sample reaches 90%: the driest year's driest month is used and the notes say so. Months
//!   partly inside the run count with the part inside.
//! - `driest_month`: the run's month with the lowest mean total inflow.
//! - a month, day or period: that window; a date-time: that instant.
//!
//! Every series of the scenario — inflow flows and concentrations, withdrawals, outfalls, line loads, outlet
//! levels and entering concentrations, the water temperature — is replaced by its mean over the design
//! window (its value at a design instant): the flows of one month together, so the design flows of several
//! inflows are those of the same month, and the loads are "as they are" in that month. A constant series is
//! its own design value. Reach decay rates changed by dredging take the rate in force at the window's start.
//!
//! The design model runs in steady mode over one day (a steady hydraulic field, the steady transport solver:
//! DESIGN.md §2), so every result is the steady state under design conditions. GB/T 25173 asks plain networks
//! whose flow direction is not fixed to use the volume at the 90%-guarantee low level at zero velocity instead
//! of a flow; rivsim uses the steady flows of the design month with its held outlet levels, which keeps the
//! network's own flow directions (and reversed reaches) and is the stricter reading where flows are small.

use crate::model::{DesignFlow, Discharge, InitialState, Mode, Model, Series};
use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// The design conditions chosen from the scenario's series.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Design {
    /// The rule as written (`p90_month`, `2025-08`, …).
    pub rule: String,
    /// What the rule picked, in words (`2025-08`, `2025-08-15T06:00:00`, …).
    pub picked: String,
    /// Start of the design window, seconds since the scenario start.
    pub from_s: f64,
    /// End of the design window (equal to `from_s` for an instant).
    pub to_s: f64,
    /// Each inflow's design flow, m³/s (`Model::inflows` order).
    pub inflow_m3s: Vec<f64>,
    /// The design total inflow, m³/s.
    pub total_inflow_m3s: f64,
    /// The design water temperature, °C (`None` without `[temperature]`).
    pub water_c: Option<f64>,
    /// The monthly samples the rule ranked: (month `YYYY-MM`, total inflow m³/s, empirical frequency or
    /// `None` where the rule does not rank).
    pub samples: Vec<(String, f64, Option<f64>)>,
    /// Notes (a record too short for 90%, …).
    pub notes: Vec<String>,
}

/// A calendar month's part of the run: label, window in seconds since start.
fn months(model: &Model) -> Vec<(String, i32, f64, f64)> {
    let start = model.sim.start;
    let secs = |t: NaiveDateTime| (t - start).num_milliseconds() as f64 / 1000.0;
    let mut out = Vec::new();
    let (mut y, mut m) = (start.year(), start.month());
    loop {
        let first = NaiveDate::from_ymd_opt(y, m, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
        let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        let next = NaiveDate::from_ymd_opt(ny, nm, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
        let (Some(first), Some(next)) = (first, next) else {
            break;
        };
        let (a, b) = (secs(first).max(0.0), secs(next).min(model.sim.end_s));
        if secs(first) >= model.sim.end_s {
            break;
        }
        if b > a {
            out.push((format!("{y:04}-{m:02}"), y, a, b));
        }
        (y, m) = (ny, nm);
    }
    out
}

fn total_inflow(model: &Model, a: f64, b: f64) -> f64 {
    model.inflows.iter().map(|i| i.flow_m3s.mean(a, b)).sum()
}

/// The design conditions of `model` under `rule` (a named window or instant must lie in the run: the
/// scenario check and the command line make sure of it).
pub fn conditions(model: &Model, rule: &DesignFlow) -> Design {
    let start = model.sim.start;
    let secs = |t: NaiveDateTime| (t - start).num_milliseconds() as f64 / 1000.0;
    let mut notes = Vec::new();
    let mut samples = Vec::new();
    let (picked, from_s, to_s) = match rule {
        DesignFlow::Window { from, to, label } => (
            label.clone(),
            secs(*from).max(0.0),
            secs(*to).min(model.sim.end_s),
        ),
        DesignFlow::Instant(t) => {
            let s = secs(*t);
            (t.format("%Y-%m-%dT%H:%M:%S").to_string(), s, s)
        }
        DesignFlow::DriestMonth | DesignFlow::P90Month => {
            let ms = months(model);
            let flows: Vec<f64> = ms.iter().map(|m| total_inflow(model, m.2, m.3)).collect();
            // candidates: every month (driest_month) or each year's driest month (p90_month)
            let mut cand: Vec<usize> = Vec::new();
            for (k, m) in ms.iter().enumerate() {
                let same_year = cand.iter().position(|&c| ms[c].1 == m.1);
                match (rule, same_year) {
                    (DesignFlow::P90Month, Some(j)) if flows[k] < flows[cand[j]] => cand[j] = k,
                    (DesignFlow::P90Month, Some(_)) => {}
                    _ => cand.push(k),
                }
            }
            // wettest first; ties keep calendar order
            cand.sort_by(|&a, &b| flows[b].total_cmp(&flows[a]));
            let n = cand.len();
            let pick = if *rule == DesignFlow::P90Month {
                let m = (0.9 * (n as f64 + 1.0)).ceil() as usize;
                if m > n {
                    notes.push(format!(
                        "the inflow record has {n} year(s); a 90% guarantee needs at least 9 years of \
                         driest-month means (m/(n + 1) ≥ 0.9), so the driest year's driest month is used"
                    ));
                }
                m.clamp(1, n.max(1)) - 1
            } else {
                n.saturating_sub(1)
            };
            for (rank, &k) in cand.iter().enumerate() {
                let freq =
                    (*rule == DesignFlow::P90Month).then(|| (rank + 1) as f64 / (n as f64 + 1.0));
                samples.push((ms[k].0.clone(), flows[k], freq));
            }
            match cand.get(pick) {
                Some(&k) => (ms[k].0.clone(), ms[k].2, ms[k].3),
                None => ("the whole run".into(), 0.0, model.sim.end_s),
            }
        }
    };
    let value = |s: &Series| design_value(s, from_s, to_s);
    let inflow_m3s: Vec<f64> = model.inflows.iter().map(|i| value(&i.flow_m3s)).collect();
    Design {
        rule: rule.label(),
        picked,
        from_s,
        to_s,
        total_inflow_m3s: inflow_m3s.iter().sum(),
        inflow_m3s,
        water_c: model.temperature.as_ref().map(|t| value(&t.water_c)),
        samples,
        notes,
    }
}

/// A series' design value: its mean over the window, or its value at an instant.
fn design_value(s: &Series, from_s: f64, to_s: f64) -> f64 {
    if to_s > from_s {
        s.mean(from_s, to_s)
    } else {
        s.at(from_s)
    }
}

/// The steady model of the design conditions: every series at its design value, steady mode over one day
/// with one output a day, no warm-up, steady hydraulics and initial state.
pub fn design_model(model: &Model, d: &Design) -> Model {
    let mut m = model.clone();
    let fix = |s: &mut Series| *s = Series::Const(design_value(s, d.from_s, d.to_s));
    let fix_all = |v: &mut Vec<Series>| v.iter_mut().for_each(fix);
    for i in &mut m.inflows {
        fix(&mut i.flow_m3s);
        fix_all(&mut i.concentration);
    }
    for w in &mut m.withdrawals {
        fix(&mut w.flow_m3s);
    }
    for o in &mut m.outfalls {
        match &mut o.discharge {
            Discharge::Flow {
                flow_m3s,
                concentration,
            } => {
                fix(flow_m3s);
                fix_all(concentration);
            }
            Discharge::Load { kg_per_day } => fix_all(kg_per_day),
        }
    }
    for l in &mut m.line_loads {
        fix_all(&mut l.kg_per_day);
    }
    for n in &mut m.nodes {
        if let Some(l) = &mut n.level_m {
            fix(l);
        }
        fix_all(&mut n.concentration);
    }
    if let Some(t) = &mut m.temperature {
        fix(&mut t.water_c);
    }
    for r in 0..m.reaches.len() {
        for p in 0..m.pollutants.len() {
            let k = model.decay_per_day_at(r, p, d.from_s);
            if let Some(v) = m.reaches[r].decay_per_day.get_mut(p) {
                *v = k;
            }
        }
    }
    m.decay_changes.clear();
    m.projects.clear();
    m.alternatives.clear();
    m.sim.mode = Mode::Steady;
    m.sim.hydraulics = crate::model::FlowModel::Steady;
    m.sim.end_s = 86_400.0;
    m.sim.output_interval_s = 86_400.0;
    m.sim.warmup_s = 0.0;
    m.sim.time_step_s = None;
    m.initial = InitialState::Steady;
    m
}
