//! `[simulation]` (the period, the steps, the pollutants), `[initial]`, `[assessment]` and `[report]`.

use super::super::parse::{Item, Loc, RawScenario};
use super::super::raw::{RawInitial, RawSimulation};
use super::super::series;
use super::checker::{Checker, Rule};
use crate::lang::Lang;
use crate::model::{AssessmentPeriod, FlowModel, InitialState, Mode, Simulation};

/// At most this many output times.
pub const MAX_OUTPUTS: f64 = 1e7;
/// At most this many fixed time steps.
pub const MAX_STEPS: f64 = 1e9;

/// Names a pollutant may not take: they are column names of the time-series and output files.
const RESERVED: [&str; 11] = [
    "time",
    "opening_m",
    "on",
    "section",
    "reach",
    "flow_m3s",
    "velocity_ms",
    "depth_m",
    "travel_time_s",
    "level_m",
    "water_c",
];

const ITEM: &str = "[simulation]";

/// Check `[simulation]`: the run settings, and `None` when the period itself is unusable. Declares the
/// pollutants and the start in `c` for the checks that follow.
pub(super) fn simulation(c: &mut Checker, rs: &RawScenario, top: &Loc) -> Option<Simulation> {
    let Some(it) = &rs.simulation else {
        if !rs.broken_tables.contains("simulation") {
            c.push(
                top,
                ITEM,
                "",
                "",
                "a [simulation] table with start, end, output_interval and pollutants",
            );
        }
        return None;
    };
    let (s, loc) = (&it.raw, &it.loc);
    let period = period(c, s, loc);
    let end_s = period.map_or(0.0, |(_, end_s)| end_s);
    let sim_ok = period.is_some();
    let mut sim = Simulation {
        start: c.start,
        end_s,
        time_step_s: None,
        output_interval_s: 0.0,
        warmup_s: 0.0,
        mode: Mode::Dynamic,
        hydraulics: FlowModel::Steady,
        max_steps: crate::model::MAX_TRANSPORT_STEPS,
    };
    if let Some(ts) = &s.time_step
        && let Some(v) = positive_duration(c, loc, "time_step", ts)
    {
        sim.time_step_s = Some(v);
        if sim_ok && end_s / v > MAX_STEPS {
            let expected = format!("a step giving at most {MAX_STEPS:e} steps over the run");
            c.push(loc, ITEM, "time_step", ts.clone(), expected);
        }
    }
    match &s.output_interval {
        Some(oi) => {
            if let Some(v) = positive_duration(c, loc, "output_interval", oi) {
                sim.output_interval_s = v;
                if sim_ok && end_s / v > MAX_OUTPUTS {
                    let expected =
                        format!("an interval giving at most {MAX_OUTPUTS:e} output times");
                    c.push(loc, ITEM, "output_interval", oi.clone(), expected);
                }
            }
        }
        None => need(
            c,
            loc,
            "output_interval",
            "the output interval, e.g. \"1h\"",
        ),
    }
    if let Some(w) = &s.warmup
        && let Some(v) = c.duration(loc, ITEM, "warmup", w, f64::INFINITY)
    {
        sim.warmup_s = v;
        if sim_ok && v >= end_s {
            let expected = format!("a warm-up shorter than the run ({end_s} s)");
            c.push(loc, ITEM, "warmup", w.clone(), expected);
        }
    }
    if let Some(m) = &s.mode
        && let Some(m) = c.enum_value(
            loc,
            ITEM,
            "mode",
            m,
            &[("dynamic", Mode::Dynamic), ("steady", Mode::Steady)],
        )
    {
        sim.mode = m;
    }
    sim.hydraulics = flow_model(c, loc, s, sim.mode, sim.time_step_s, sim.output_interval_s);
    pollutants(c, s, loc);
    sim_ok.then_some(sim)
}

/// A required key of `[simulation]` is missing.
fn need(c: &mut Checker, loc: &Loc, field: &str, what: &str) {
    c.push(loc, ITEM, field, "", format!("{what} (required)"));
}

/// `start` and `end`: the start (also set in `c`) and the end in seconds since it, when both are valid.
fn period(c: &mut Checker, s: &RawSimulation, loc: &Loc) -> Option<(chrono::NaiveDateTime, f64)> {
    let start = match &s.start {
        Some(v) => c.time(loc, ITEM, "start", v),
        None => {
            need(c, loc, "start", "the start date-time");
            None
        }
    };
    if let Some(st) = start {
        c.start = st;
    }
    let end = match &s.end {
        Some(v) => c.time(loc, ITEM, "end", v),
        None => {
            need(c, loc, "end", "the end date-time");
            None
        }
    };
    let (st, en) = (start?, end?);
    let end_s = series::seconds_between(st, en);
    if end_s <= 0.0 {
        let v = s.end.as_ref().map(|v| v.to_string()).unwrap_or_default();
        c.push(
            loc,
            ITEM,
            "end",
            v.trim_matches('"'),
            format!("a date-time after the start ({st})"),
        );
        return None;
    }
    Some((st, end_s))
}

/// A duration that must be > 0.
fn positive_duration(c: &mut Checker, loc: &Loc, field: &str, v: &str) -> Option<f64> {
    match c.duration(loc, ITEM, field, v, f64::INFINITY) {
        Some(d) if d > 0.0 => Some(d),
        Some(_) => {
            c.push(loc, ITEM, field, v, "a duration > 0");
            None
        }
        None => None,
    }
}

/// `pollutants`: declared in `c`, each once, with names usable as column names.
fn pollutants(c: &mut Checker, s: &RawSimulation, loc: &Loc) {
    let Some(ps) = &s.pollutants else {
        let what =
            "the list of simulated pollutants, e.g. [\"COD\", \"NH3N\", \"TP\"] (may be empty)";
        need(c, loc, "pollutants", what);
        return;
    };
    for p in ps {
        let bad_char = p.trim() != p || p.is_empty() || p.contains([',', '"', '\n', '\r', '.']);
        if bad_char {
            c.push(
                loc,
                ITEM,
                "pollutants",
                format!("{p:?}"),
                "a non-empty name without commas, quotes, dots or surrounding spaces",
            );
        } else if RESERVED.contains(&p.as_str()) {
            c.push(
                loc,
                ITEM,
                "pollutants",
                p.clone(),
                format!("a name other than the column names {}", RESERVED.join(", ")),
            );
        } else if c.pidx.contains_key(p) {
            c.push(loc, ITEM, "pollutants", p.clone(), "each pollutant once");
        } else {
            c.pidx.insert(p.clone(), c.pollutants.len());
            c.pollutants.push(p.clone());
        }
    }
}

/// `[initial]`: steady (the default), zero, or given values.
pub(super) fn initial(c: &mut Checker, it: Option<&Item<RawInitial>>) -> InitialState {
    let Some(it) = it else {
        return InitialState::Steady;
    };
    let (loc, r) = (&it.loc, &it.raw);
    let state = r.state.as_deref().unwrap_or("steady");
    match state {
        "steady" | "zero" => {
            if r.concentration.is_some() {
                c.push(
                    loc,
                    "[initial]",
                    "concentration",
                    "",
                    "concentration only with state = \"values\"",
                );
            }
            if state == "zero" {
                return InitialState::Zero;
            }
        }
        "values" => match &r.concentration {
            Some(t) => {
                let rule = Rule::NON_NEGATIVE;
                if let Some(v) = c.table_or_zero(loc, "[initial]", "concentration", t, rule) {
                    return InitialState::Values(v);
                }
            }
            None => c.push(
                loc,
                "[initial]",
                "concentration",
                "",
                "a concentration table (mg/L) with state = \"values\"",
            ),
        },
        other => c.push(
            loc,
            "[initial]",
            "state",
            other,
            "one of: steady, zero, values",
        ),
    }
    InitialState::Steady
}

/// `[assessment] period` (DESIGN.md §11) and `[report]`: the language and the coordinate reference system.
pub(super) fn assessment_and_report(
    c: &mut Checker,
    rs: &RawScenario,
) -> (AssessmentPeriod, Lang, Option<String>) {
    let mut period = AssessmentPeriod::Run;
    if let Some(it) = &rs.assessment
        && let Some(p) = &it.raw.period
    {
        match p.as_str() {
            "run" => period = AssessmentPeriod::Run,
            "year" => period = AssessmentPeriod::Year,
            other => c.push(
                &it.loc,
                "[assessment]",
                "period",
                format!("{other:?}"),
                "\"run\" (the whole run after the warm-up, the default) or \"year\" (each calendar year)",
            ),
        }
    }
    let mut language = Lang::En;
    let mut crs = None;
    if let Some(it) = &rs.report {
        if let Some(code) = &it.raw.language {
            match Lang::parse(code) {
                Some(l) => language = l,
                None => c.push(
                    &it.loc,
                    "[report]",
                    "language",
                    format!("{code:?}"),
                    Lang::CODES,
                ),
            }
        }
        crs = it.raw.crs.clone();
    }
    (period, language, crs)
}

/// `[simulation]` keys of unsteady hydraulics (DESIGN.md §9): `hydraulics`, `hydraulic_step`, `theta`, and
/// what they ask of `mode`, `time_step` and `output_interval`.
fn flow_model(
    c: &mut Checker,
    loc: &Loc,
    s: &RawSimulation,
    mode: Mode,
    time_step_s: Option<f64>,
    output_interval_s: f64,
) -> FlowModel {
    const ITEM: &str = "[simulation]";
    let unsteady = match s.hydraulics.as_deref() {
        None => false,
        Some(h) => c
            .enum_value(
                loc,
                ITEM,
                "hydraulics",
                h,
                &[("steady", false), ("unsteady", true)],
            )
            .unwrap_or(false),
    };
    if !unsteady {
        for (field, given) in [
            ("hydraulic_step", s.hydraulic_step.is_some()),
            ("theta", s.theta.is_some()),
        ] {
            if given {
                c.push(loc, ITEM, field, "", "only with hydraulics = \"unsteady\"");
            }
        }
        return FlowModel::Steady;
    }
    let mut step_s = 300.0;
    if let Some(text) = &s.hydraulic_step
        && let Some(v) = c.duration(loc, ITEM, "hydraulic_step", text, f64::INFINITY)
    {
        if v <= 0.0 {
            c.push(loc, ITEM, "hydraulic_step", text.clone(), "a duration > 0");
        } else if output_interval_s > 0.0 && v > output_interval_s {
            c.push(
                loc,
                ITEM,
                "hydraulic_step",
                text.clone(),
                format!("a step no longer than output_interval ({output_interval_s} s)"),
            );
        } else {
            step_s = v;
        }
    }
    let theta = match s.theta {
        Some(t) if t.is_finite() && t > 0.5 && t <= 1.0 => t,
        Some(t) => {
            c.push(
                loc,
                ITEM,
                "theta",
                format!("{t}"),
                "a Preissmann weight θ with 0.5 < θ ≤ 1 (default 0.65)",
            );
            0.65
        }
        None => 0.65,
    };
    if mode == Mode::Steady {
        c.push(
            loc,
            ITEM,
            "mode",
            "steady",
            "mode = \"dynamic\" with hydraulics = \"unsteady\" (a steady state has no unsteady flow)",
        );
    }
    if let Some(dt) = time_step_s
        && dt > step_s
    {
        c.push(
            loc,
            ITEM,
            "time_step",
            format!("{dt} s"),
            format!("a transport step no longer than hydraulic_step ({step_s} s)"),
        );
    }
    FlowModel::Unsteady { step_s, theta }
}

/// `[initial] level_m`: still water at the start, with unsteady hydraulics only.
pub(super) fn initial_level(
    c: &mut Checker,
    it: Option<&Item<RawInitial>>,
    flow: FlowModel,
) -> Option<f64> {
    let it = it?;
    let (loc, v) = (&it.loc, it.raw.level_m?);
    if let FlowModel::Steady = flow {
        c.push(
            loc,
            "[initial]",
            "level_m",
            format!("{v}"),
            "level_m only with [simulation] hydraulics = \"unsteady\" (steady flow has no initial water)",
        );
        return None;
    }
    c.number(loc, "[initial]", "level_m", v, Rule::FINITE)
}
