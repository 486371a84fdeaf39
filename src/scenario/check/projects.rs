//! `[[sewers]]`, `[[plants]]`, `[[projects]]` and `[[alternatives]]` (DESIGN.md §8), checked against the
//! items built before them. Each project's kind-specific keys are checked in `project_kinds.rs`.

use super::super::parse::{Item, Loc, RawScenario, label};
use super::super::raw::{Id, RawAlternative, RawPlant, RawProject, RawSewer};
use super::checker::{Checker, Rule};
use super::project_kinds::{self, effluent};
use super::refs::{Built, TableIds};
use crate::model::{
    Alternative, Construction, Plant, Project, ProjectKind, Sewer, SewerDestination,
};

/// The longest ramp or delay accepted: 100 years (a typo like "3650000d" would otherwise make millions of
/// steps).
pub const MAX_DURATION_S: f64 = 100.0 * 365.25 * 86_400.0;

/// The project tables, checked (an item with a problem is left out; the model is not built then).
pub(super) struct ProjectTables {
    pub sewers: Vec<Sewer>,
    pub plants: Vec<Plant>,
    pub projects: Vec<Project>,
    pub alternatives: Vec<Alternative>,
}

/// Check the project tables of `rs` against the items built so far.
pub(super) fn projects(c: &mut Checker, rs: &RawScenario, built: &Built) -> ProjectTables {
    let ids = TableIds {
        sewers: c.ids("sewer", &rs.sewers, |r| r.id.as_ref()),
        plants: c.ids("plant", &rs.plants, |r| r.id.as_ref()),
        projects: c.ids("project", &rs.projects, |r| r.id.as_ref()),
    };
    let _ = c.ids("alternative", &rs.alternatives, |r| r.id.as_ref());
    ProjectTables {
        plants: (rs.plants.iter())
            .filter_map(|it| plant(c, built, it))
            .collect(),
        sewers: (rs.sewers.iter())
            .filter_map(|it| sewer(c, built, &ids, it))
            .collect(),
        projects: (rs.projects.iter())
            .filter_map(|it| project(c, built, &ids, it))
            .collect(),
        alternatives: (rs.alternatives.iter())
            .filter_map(|it| alternative(c, &ids, it))
            .collect(),
    }
}

/// An item's label and id.
fn id_label(kind: &str, id: &Option<Id>, ord: usize) -> (String, String) {
    let s = id.as_ref().map(|i| i.0.clone()).unwrap_or_default();
    (label(kind, id.as_ref().map(|i| i.0.as_str()), ord), s)
}

fn plant(c: &mut Checker, built: &Built, it: &Item<RawPlant>) -> Option<Plant> {
    let (r, loc) = (&it.raw, &it.loc);
    let (lab, id) = id_label("plant", &r.id, it.ord);
    let cap = c.required_number(
        loc,
        &lab,
        "capacity_m3s",
        r.capacity_m3s,
        "a treatment capacity in m³/s (required)",
        Rule::CAPACITY,
    );
    let effluent = c
        .required(loc, &lab, "effluent", r.effluent.as_ref(), "effluent concentrations in mg/L, e.g. { COD = 50.0, NH3N = 5.0, TP = 0.5 }, or a GB 18918-2002 class name such as \"1A\" (required)")
        .and_then(|v| effluent(c, loc, &lab, v));
    // the effluent enters a reach, or leaves the model (`discharge_outside = true`), not both
    let discharge = match (r.discharge_outside, &r.discharge) {
        (Some(true), Some(_)) => {
            let expected =
                "either discharge = { reach, at_m } or discharge_outside = true, not both";
            c.push(loc, &lab, "discharge_outside", "true", expected);
            None
        }
        (Some(true), None) => Some(None),
        (_, d) => c
            .place(built.along, loc, &lab, "discharge", d.as_ref())
            .map(Some),
    };
    let bypass = match &r.bypass {
        None => discharge,
        Some(b) => c.place(built.along, loc, &lab, "bypass", Some(b)).map(Some),
    };
    Some(Plant {
        id,
        capacity_m3s: cap?,
        effluent: effluent?,
        discharge: discharge?,
        bypass: bypass?,
    })
}

fn sewer(c: &mut Checker, built: &Built, ids: &TableIds, it: &Item<RawSewer>) -> Option<Sewer> {
    let (r, loc) = (&it.raw, &it.loc);
    let (lab, id) = id_label("sewer", &r.id, it.ord);
    let cap = c.required_number(
        loc,
        &lab,
        "capacity_m3s",
        r.capacity_m3s,
        "a capacity in m³/s (required)",
        Rule::CAPACITY,
    );
    let overflow = c.place(built.along, loc, &lab, "overflow", r.overflow.as_ref());
    let destination = match (&r.to_plant, &r.discharge) {
        (Some(p), None) => c
            .listed_ref(&ids.plants, "plant", loc, &lab, "to_plant", Some(p), "")
            .map(SewerDestination::Plant),
        (None, Some(d)) => c
            .place(built.along, loc, &lab, "discharge", Some(d))
            .map(SewerDestination::Discharge),
        (Some(_), Some(_)) => {
            let expected = "either to_plant or discharge, not both";
            c.push(loc, &lab, "discharge", "", expected);
            None
        }
        (None, None) => {
            c.push(loc, &lab, "to_plant", "", "a destination: to_plant = \"<plant id>\" or discharge = { reach = \"…\", at_m = … }");
            None
        }
    };
    let base_flow = match c.optional(loc, &lab, "base_flow_m3s", r.base_flow_m3s, Rule::FLOW) {
        None => Some(0.0),
        Some(v) => v,
    };
    let base_conc = match &r.base_concentration {
        None => Some(vec![0.0; c.pollutants.len()]),
        Some(t) => c.table_or_zero(loc, &lab, "base_concentration", t, Rule::CONCENTRATION),
    };
    Some(Sewer {
        id,
        capacity_m3s: cap?,
        overflow: overflow?,
        destination: destination?,
        base_flow_m3s: base_flow?,
        base_concentration: base_conc?,
    })
}

fn project(
    c: &mut Checker,
    built: &Built,
    ids: &TableIds,
    it: &Item<RawProject>,
) -> Option<Project> {
    let (r, loc) = (&it.raw, &it.loc);
    let (lab, id) = id_label("project", &r.id, it.ord);
    let cost = c.required_number(
        loc,
        &lab,
        "cost",
        r.cost,
        "the project's cost, a number ≥ 0 in cost_unit (required)",
        Rule::non_negative("a finite cost ≥ 0"),
    );
    let dates = dates(c, loc, &lab, r);
    let construction = construction(c, built, loc, &lab, r);
    let kind = project_kind(c, built, ids, loc, &lab, r);
    let (start_s, finish_s, ramp_s) = dates?;
    Some(Project {
        id: id.clone(),
        name: r.name.clone().unwrap_or(id),
        kind: kind?,
        cost: cost?,
        start_s,
        finish_s,
        ramp_s,
        construction: construction?,
    })
}

/// A project's `start`, `finish` (not before the start) and `ramp`, seconds.
fn dates(c: &mut Checker, loc: &Loc, lab: &str, r: &RawProject) -> Option<(f64, f64, f64)> {
    let start = c.date_s(loc, lab, "start", r.start.as_ref());
    let finish = c.date_s(loc, lab, "finish", r.finish.as_ref());
    let mut dates_ok = true;
    if let (Some(s), Some(f)) = (start, finish)
        && f < s
    {
        let v = r.finish.as_ref().map(|v| v.to_string()).unwrap_or_default();
        c.push(
            loc,
            lab,
            "finish",
            v.trim_matches('"'),
            "a date on or after `start` (a project finishes after it starts)",
        );
        dates_ok = false;
    }
    let ramp = match &r.ramp {
        None => Some(0.0),
        Some(t) => c.duration(loc, lab, "ramp", t, MAX_DURATION_S),
    };
    let (start, finish, ramp) = (start?, finish?, ramp?);
    dates_ok.then_some((start, finish, ramp))
}

/// A project's construction load (`Some(None)`: none; `None`: a problem).
fn construction(
    c: &mut Checker,
    built: &Built,
    loc: &Loc,
    lab: &str,
    r: &RawProject,
) -> Option<Option<Construction>> {
    match (&r.construction_load_kg_per_day, &r.construction_at) {
        (None, None) => Some(None),
        (Some(l), at) => {
            let rule = Rule::non_negative("a finite load ≥ 0 kg/day");
            let kg = c.table_or_zero(loc, lab, "construction_load_kg_per_day", l, rule);
            let at = c
                .required(loc, lab, "construction_at", at.as_ref(), "where the construction load enters: construction_at = { reach = \"…\", at_m = … } (required with construction_load_kg_per_day)")
                .and_then(|p| c.place(built.along, loc, lab, "construction_at", Some(p)));
            Some(Some(Construction {
                at: at?,
                kg_per_day: kg?,
            }))
        }
        (None, Some(_)) => {
            let expected = "only with construction_load_kg_per_day";
            c.push(loc, lab, "construction_at", "", expected);
            None
        }
    }
}

/// A project's `kind` and the keys of that kind (a key of another kind is a problem).
fn project_kind(
    c: &mut Checker,
    built: &Built,
    ids: &TableIds,
    loc: &Loc,
    lab: &str,
    r: &RawProject,
) -> Option<ProjectKind> {
    let Some(k) = r.kind.as_deref() else {
        let expected = format!(
            "the project kind, one of: {} (required)",
            ProjectKind::NAMES.join(", ")
        );
        c.push(loc, lab, "kind", "", expected);
        return None;
    };
    if !ProjectKind::NAMES.contains(&k) {
        let expected = format!("one of: {}", ProjectKind::NAMES.join(", "));
        c.push(loc, lab, "kind", k, expected);
        return None;
    }
    let allowed = project_kinds::keys(k);
    for key in project_kinds::given_keys(r) {
        if !allowed.contains(&key) {
            let expected = format!(
                "a key of kind {k}: {} (or a common key)",
                allowed.join(", ")
            );
            c.push(loc, lab, key, "", expected);
        }
    }
    project_kinds::kind(c, built, ids, loc, lab, k, r)
}

fn alternative(c: &mut Checker, ids: &TableIds, it: &Item<RawAlternative>) -> Option<Alternative> {
    let (r, loc) = (&it.raw, &it.loc);
    let (lab, id) = id_label("alternative", &r.id, it.ord);
    let projects = &ids.projects;
    let unknown = || {
        format!(
            "the id of a project in [[projects]] ({})",
            projects.listed()
        )
    };
    let mut ok = true;
    let mut delay_s = Vec::new();
    for (pid, d) in r.delay.iter().flatten() {
        let field = format!("delay.{pid}");
        let k = projects.get(pid);
        if k.is_none() && !c.is_broken("project", pid) {
            c.push(loc, &lab, &field, pid.clone(), unknown());
            ok = false;
        }
        let dur = c.duration(loc, &lab, &field, d, MAX_DURATION_S);
        match (k, dur) {
            (Some(k), Some(s)) => delay_s.push((k, s)),
            _ => ok = false,
        }
    }
    let mut without = Vec::new();
    for Id(pid) in r.without.iter().flatten() {
        match projects.get(pid) {
            Some(k) => without.push(k),
            None if c.is_broken("project", pid) => ok = false,
            None => {
                c.push(loc, &lab, "without", pid.clone(), unknown());
                ok = false;
            }
        }
    }
    ok.then(|| Alternative {
        name: r.name.clone().unwrap_or_else(|| id.clone()),
        id,
        delay_s,
        without,
    })
}
