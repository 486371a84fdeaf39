//! Checking `[[sewers]]`, `[[plants]]`, `[[projects]]` and `[[alternatives]]` (DESIGN.md §8) against the rest
//! of the scenario. Every problem is a [`Problem`] naming the file, the item (`project PJ1`), the field, the
//! value and what would be valid; every check runs on its own so that all problems are reported at once.
//! The scenario loader appends these problems to its own.

use super::raw::{RawAlternative, RawPlace, RawPlant, RawProject, RawSewer};
use super::*;
use crate::model::{Discharge, Inflow, Node, Outfall, OutfallKind, Reach};
use crate::scenario::parse::{Item, Loc, RawScenario, label};
use crate::scenario::raw::{Id, PollutantTable};
use crate::scenario::{parse_duration, parse_time, seconds_between};
use crate::targets::gb18918;
use chrono::NaiveDateTime;
use std::collections::HashMap;
use std::path::Path;

/// The longest ramp or delay accepted: 100 years (a typo like "3650000d" would otherwise make millions of steps).
pub const MAX_DURATION_S: f64 = 100.0 * 365.25 * DAY_S;

/// What the check needs of the scenario being built.
pub struct Ctx<'a> {
    /// The raw scenario (the project tables, and the raw ids of items that failed their own checks).
    pub rs: &'a RawScenario,
    /// The scenario file.
    pub file: &'a Path,
    /// Pollutant names.
    pub pollutants: &'a [String],
    /// Scenario start.
    pub start: NaiveDateTime,
    /// End, seconds since start.
    pub end_s: f64,
    /// Nodes built so far.
    pub nodes: &'a [Node],
    /// Reaches built so far.
    pub reaches: &'a [Reach],
    /// Inflows built so far.
    pub inflows: &'a [Inflow],
    /// Outfalls built so far (only the valid ones).
    pub outfalls: &'a [Outfall],
}

/// The checked tables and every problem found.
#[derive(Debug, Default)]
pub struct Checked {
    /// `cost_unit`.
    pub cost_unit: Option<String>,
    /// Sewers.
    pub sewers: Vec<Sewer>,
    /// Plants.
    pub plants: Vec<Plant>,
    /// Projects.
    pub projects: Vec<Project>,
    /// Alternatives.
    pub alternatives: Vec<Alternative>,
    /// Problems (empty when everything is valid).
    pub problems: Vec<Problem>,
}

struct C<'a> {
    ctx: &'a Ctx<'a>,
    problems: Vec<Problem>,
    node: HashMap<&'a str, usize>,
    reach: HashMap<&'a str, usize>,
    outfall: HashMap<&'a str, usize>,
    raw_outfall: Vec<&'a str>,
    raw_reach: Vec<&'a str>,
    raw_node: Vec<&'a str>,
    pidx: HashMap<&'a str, usize>,
}

const CONC: &str = "a finite concentration ≥ 0 mg/L";
const CAPACITY: &str = "a finite capacity ≥ 0 m³/s";
const SHARE: &str = "a share in [0, 1]";

fn non_negative(v: f64) -> bool {
    v >= 0.0
}

fn unit_share(v: f64) -> bool {
    (0.0..=1.0).contains(&v)
}

/// A per-pollutant table with its absent entries set to 0.
fn zero_if_absent(v: Vec<Option<f64>>) -> Vec<f64> {
    v.into_iter().map(|x| x.unwrap_or(0.0)).collect()
}

/// The ids of a table in file order, for a message: `"A, B"`, or `"none are defined"`.
fn listed(known: &HashMap<&str, usize>) -> String {
    let mut v: Vec<(&str, usize)> = known.iter().map(|(n, k)| (*n, *k)).collect();
    v.sort_by_key(|&(_, k)| k);
    let names: Vec<&str> = v.into_iter().map(|(n, _)| n).collect();
    if names.is_empty() {
        "none are defined".into()
    } else {
        names.join(", ")
    }
}

fn ids_of<T>(items: &[Item<T>], f: impl Fn(&T) -> Option<&Id>) -> Vec<&str> {
    items
        .iter()
        .filter_map(|i| f(&i.raw).map(|x| x.0.as_str()))
        .collect()
}

impl<'a> C<'a> {
    fn push(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) {
        self.problems.push(Problem {
            file: loc.file.to_path_buf(),
            line: loc.line_of(field),
            item: item.to_string(),
            field: field.to_string(),
            value: value.into(),
            expected: expected.into(),
        });
    }

    /// A reference to a built item: `Some(i)`; `None` if unknown (reported) or known but invalid (reported
    /// where it is defined).
    #[allow(clippy::too_many_arguments)]
    fn resolve(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        id: &str,
        kind: &'static str,
        built: &HashMap<&'a str, usize>,
        raw: &[&str],
    ) -> Option<usize> {
        if let Some(&i) = built.get(id) {
            return Some(i);
        }
        if raw.contains(&id) || self.ctx.rs.is_broken(kind, id) {
            return None;
        }
        self.push(
            loc,
            item,
            field,
            id,
            format!("the id of a {kind} defined in the scenario"),
        );
        None
    }

    /// A non-empty list of references to built items (each resolved as by [`Self::resolve`]): `Some` when
    /// every one resolves.
    #[allow(clippy::too_many_arguments)]
    fn resolve_all(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        list: &[Id],
        kind: &'static str,
        built: &HashMap<&'a str, usize>,
        raw: &[&str],
    ) -> Option<Vec<usize>> {
        if list.is_empty() {
            self.push(loc, item, field, "[]", format!("at least one {kind} id"));
            return None;
        }
        let mut out = Vec::with_capacity(list.len());
        let mut ok = true;
        for Id(x) in list {
            match self.resolve(loc, item, field, x, kind, built, raw) {
                Some(k) => out.push(k),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn place(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        p: Option<&RawPlace>,
        required: bool,
    ) -> Option<At> {
        let Some(p) = p else {
            if required {
                self.push(
                    loc,
                    item,
                    field,
                    "",
                    format!("a place {field} = {{ reach = \"…\", at_m = … }} (required)"),
                );
            }
            return None;
        };
        let reach_field = format!("{field}.reach");
        let reach = self
            .required(
                loc,
                item,
                &reach_field,
                p.reach.as_ref(),
                "a reach id (required)",
            )
            .and_then(|Id(r)| {
                let (built, raw) = (self.reach.clone(), self.raw_reach.clone());
                self.resolve(loc, item, &reach_field, r, "reach", &built, &raw)
            });
        let at = self.required_number(
            loc,
            item,
            &format!("{field}.at_m"),
            p.at_m,
            "a distance from the reach's from-node, m (required)",
            non_negative,
            "a finite distance ≥ 0 m",
        );
        let (reach, at_m) = (reach?, at?);
        let len = self.ctx.reaches[reach].length_m;
        if at_m > len {
            self.push(
                loc,
                item,
                &format!("{field}.at_m"),
                format!("{at_m}"),
                format!("a distance within the reach's length, 0–{len} m"),
            );
            return None;
        }
        Some(At { reach, at_m })
    }

    fn number(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: f64,
        ok: bool,
        expected: &str,
    ) -> Option<f64> {
        if v.is_finite() && ok {
            Some(v)
        } else {
            self.push(loc, item, field, format!("{v}"), expected);
            None
        }
    }

    /// A required key: `v`, or a problem (empty value, `what` as what would be valid) when it is absent.
    fn required<'v, T: ?Sized>(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: Option<&'v T>,
        what: &str,
    ) -> Option<&'v T> {
        if v.is_none() {
            self.push(loc, item, field, "", what);
        }
        v
    }

    /// A required number that must pass `ok` (else a problem saying `expected`).
    #[allow(clippy::too_many_arguments)]
    fn required_number(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: Option<f64>,
        what: &str,
        ok: fn(f64) -> bool,
        expected: &str,
    ) -> Option<f64> {
        let v = *self.required(loc, item, field, v.as_ref(), what)?;
        self.number(loc, item, field, v, ok(v), expected)
    }

    /// An optional number: `Some(None)` when absent, `Some(Some(v))` when valid, `None` (reported) when not.
    fn optional_number(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: Option<f64>,
        ok: fn(f64) -> bool,
        expected: &str,
    ) -> Option<Option<f64>> {
        match v {
            None => Some(None),
            Some(v) => self.number(loc, item, field, v, ok(v), expected).map(Some),
        }
    }

    /// A required reference to an item of the project tables (a `kind` of `[[<kind>s]]`, ids in `known`):
    /// its index; `None` when absent (reported with `what`), unknown (reported with the valid ids) or known but
    /// invalid (reported where it is defined).
    #[allow(clippy::too_many_arguments)]
    fn known_id(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        id: Option<&Id>,
        what: &str,
        kind: &str,
        known: &HashMap<&str, usize>,
    ) -> Option<usize> {
        let Id(id) = self.required(loc, item, field, id, what)?;
        match known.get(id.as_str()) {
            Some(&k) => Some(k),
            None if self.ctx.rs.is_broken(kind, id) => None,
            None => {
                let valid = listed(known);
                self.push(
                    loc,
                    item,
                    field,
                    id.clone(),
                    format!("the id of a {kind} in [[{kind}s]] ({valid})"),
                );
                None
            }
        }
    }

    /// An optional per-pollutant table whose absent entries (and an absent table) are 0.
    fn table_or_zero(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        t: Option<&PollutantTable>,
        expected: &str,
    ) -> Option<Vec<f64>> {
        match t {
            None => Some(vec![0.0; self.ctx.pollutants.len()]),
            Some(t) => self
                .table(loc, item, field, t, non_negative, expected)
                .map(zero_if_absent),
        }
    }

    fn declared(&self) -> String {
        format!(
            "a pollutant declared in [simulation] pollutants: {}",
            self.ctx.pollutants.join(", ")
        )
    }

    /// A per-pollutant table: `Some(values)` (absent pollutants `None`) when every entry is valid.
    fn table(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        t: &PollutantTable,
        check: fn(f64) -> bool,
        expected: &str,
    ) -> Option<Vec<Option<f64>>> {
        let mut out = vec![None; self.ctx.pollutants.len()];
        let mut ok = true;
        for (name, &v) in t {
            match self.pidx.get(name.as_str()) {
                Some(&k) => {
                    if v.is_finite() && check(v) {
                        out[k] = Some(v);
                    } else {
                        self.push(
                            loc,
                            item,
                            &format!("{field}.{name}"),
                            format!("{v}"),
                            expected,
                        );
                        ok = false;
                    }
                }
                None => {
                    let d = self.declared();
                    self.push(loc, item, field, name.clone(), d);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// A TOML table of numbers (integers or floats) as a [`PollutantTable`] of its numeric entries, and
    /// whether every entry was a number (an entry of another type is reported as `field.name` with
    /// `expected`).
    fn numbers(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        t: &toml::Table,
        expected: &str,
    ) -> (PollutantTable, bool) {
        let mut pt = PollutantTable::new();
        let mut ok = true;
        for (name, v) in t {
            match v.as_float().or_else(|| v.as_integer().map(|i| i as f64)) {
                Some(x) => {
                    pt.insert(name.clone(), x);
                }
                None => {
                    self.push(
                        loc,
                        item,
                        &format!("{field}.{name}"),
                        v.type_str(),
                        expected,
                    );
                    ok = false;
                }
            }
        }
        (pt, ok)
    }

    /// A plant's `effluent`: a table of mg/L per pollutant, or a GB 18918-2002 class name whose limits
    /// apply to the simulated pollutants the class covers (the others stay `None`: untreated).
    fn effluent(&mut self, loc: &Loc, item: &str, v: &toml::Value) -> Option<Vec<Option<f64>>> {
        let classes = || gb18918::class_names().join(", ");
        match v {
            toml::Value::String(name) => {
                let np = self.ctx.pollutants.len();
                let problem = match gb18918::class_limits(name) {
                    None => format!(
                        "a GB 18918-2002 class in the bundled table: {} (classes 2 and 3 are not \
                         tabulated), or concentrations in mg/L, e.g. {{ COD = 50.0, NH3N = 5.0 }}",
                        classes()
                    ),
                    Some(limits) => {
                        let mut out = vec![None; np];
                        for &(param, mg_l) in &limits {
                            if let Some(&k) = self.pidx.get(param) {
                                out[k] = Some(mg_l);
                            }
                        }
                        if out.iter().any(Option::is_some) {
                            return Some(out);
                        }
                        let covered: Vec<&str> = limits.iter().map(|&(p, _)| p).collect();
                        format!(
                            "a class that limits a simulated pollutant: GB 18918 covers {} and the scenario \
                             simulates {}; give a table of mg/L instead",
                            covered.join(", "),
                            self.ctx.pollutants.join(", ")
                        )
                    }
                };
                self.push(loc, item, "effluent", name.clone(), problem);
                None
            }
            toml::Value::Table(t) => {
                let (pt, ok) = self.numbers(loc, item, "effluent", t, CONC);
                self.table(loc, item, "effluent", &pt, non_negative, CONC)
                    .filter(|_| ok)
            }
            other => {
                let valid = classes();
                self.push(
                    loc,
                    item,
                    "effluent",
                    other.type_str(),
                    format!(
                        "concentrations in mg/L, e.g. {{ COD = 50.0, NH3N = 5.0 }}, or a GB 18918-2002 class \
                         name: {valid}"
                    ),
                );
                None
            }
        }
    }

    fn date(&mut self, loc: &Loc, item: &str, field: &str, v: Option<&toml::Value>) -> Option<f64> {
        let text = match v {
            None => {
                self.push(
                    loc,
                    item,
                    field,
                    "",
                    "an ISO date or date-time, e.g. \"2025-06-30\" (required)",
                );
                return None;
            }
            Some(toml::Value::String(s)) => s.clone(),
            Some(toml::Value::Datetime(d)) => d.to_string(),
            Some(other) => {
                self.push(
                    loc,
                    item,
                    field,
                    other.type_str(),
                    "an ISO date or date-time, e.g. \"2025-06-30\"",
                );
                return None;
            }
        };
        match parse_time(&text) {
            Ok(t) => Some(seconds_between(self.ctx.start, t)),
            Err(e) => {
                self.push(loc, item, field, text, e);
                None
            }
        }
    }

    fn duration(&mut self, loc: &Loc, item: &str, field: &str, v: &str) -> Option<f64> {
        match parse_duration(v) {
            Ok(s) if s <= MAX_DURATION_S => Some(s),
            Ok(_) => {
                self.push(loc, item, field, v, "a duration of at most 100 years");
                None
            }
            Err(e) => {
                self.push(loc, item, field, v, e);
                None
            }
        }
    }

    /// Unique ids of a table: id → position.
    fn unique<T>(
        &mut self,
        kind: &str,
        items: &'a [Item<T>],
        id: impl Fn(&T) -> Option<&Id>,
    ) -> HashMap<&'a str, usize> {
        let mut map = HashMap::new();
        for (k, it) in items.iter().enumerate() {
            match id(&it.raw) {
                None => self.push(
                    &it.loc,
                    &label(kind, None, it.ord),
                    "id",
                    "",
                    format!("an id for every {kind}"),
                ),
                Some(Id(s)) if s.trim().is_empty() => self.push(
                    &it.loc,
                    &label(kind, None, it.ord),
                    "id",
                    "",
                    "a non-empty id",
                ),
                Some(Id(s)) => {
                    if map.contains_key(s.as_str()) {
                        self.push(
                            &it.loc,
                            &label(kind, Some(s), it.ord),
                            "id",
                            s.clone(),
                            format!("a unique {kind} id (this one is used twice)"),
                        );
                    } else {
                        map.insert(s.as_str(), k);
                    }
                }
            }
        }
        map
    }
}

/// Check the project tables of `ctx.rs` against the items built so far.
pub fn check(ctx: &Ctx<'_>) -> Checked {
    let t = &ctx.rs.projects;
    let mut c = C {
        ctx,
        problems: Vec::new(),
        node: ctx
            .nodes
            .iter()
            .enumerate()
            .map(|(k, n)| (n.id.as_str(), k))
            .collect(),
        reach: ctx
            .reaches
            .iter()
            .enumerate()
            .map(|(k, r)| (r.id.as_str(), k))
            .collect(),
        outfall: ctx
            .outfalls
            .iter()
            .enumerate()
            .map(|(k, o)| (o.id.as_str(), k))
            .collect(),
        raw_outfall: ids_of(&ctx.rs.outfalls, |r| r.id.as_ref()),
        raw_reach: ctx
            .rs
            .reaches
            .iter()
            .filter_map(|(i, _)| i.raw.id.as_ref().map(|x| x.0.as_str()))
            .collect(),
        raw_node: ids_of(&ctx.rs.nodes, |r| r.id.as_ref()),
        pidx: ctx
            .pollutants
            .iter()
            .enumerate()
            .map(|(k, p)| (p.as_str(), k))
            .collect(),
    };
    let sewer_ids = c.unique("sewer", &t.sewers, |r| r.id.as_ref());
    let plant_ids = c.unique("plant", &t.plants, |r| r.id.as_ref());
    let project_ids = c.unique("project", &t.projects, |r| r.id.as_ref());
    let _ = c.unique("alternative", &t.alternatives, |r| r.id.as_ref());

    let mut out = Checked {
        cost_unit: ctx.rs.cost_unit.clone(),
        ..Default::default()
    };
    // items that fail their checks are left out; their problems are in `c.problems`
    out.plants = t.plants.iter().filter_map(|it| plant(&mut c, it)).collect();
    out.sewers = (t.sewers.iter())
        .filter_map(|it| sewer(&mut c, it, &plant_ids))
        .collect();
    out.projects = (t.projects.iter())
        .filter_map(|it| project(&mut c, it, &sewer_ids, &plant_ids))
        .collect();
    out.alternatives = (t.alternatives.iter())
        .filter_map(|it| alternative(&mut c, it, &project_ids))
        .collect();
    out.problems = c.problems;
    out
}

fn id_label(kind: &str, id: &Option<Id>, ord: usize) -> (String, String) {
    let s = id.as_ref().map(|i| i.0.clone()).unwrap_or_default();
    (label(kind, id.as_ref().map(|i| i.0.as_str()), ord), s)
}

fn plant(c: &mut C<'_>, it: &Item<RawPlant>) -> Option<Plant> {
    let r = &it.raw;
    let loc = &it.loc;
    let (lab, id) = id_label("plant", &r.id, it.ord);
    let cap = c.required_number(
        loc,
        &lab,
        "capacity_m3s",
        r.capacity_m3s,
        "a treatment capacity in m³/s (required)",
        non_negative,
        CAPACITY,
    );
    let effluent = c
        .required(loc, &lab, "effluent", r.effluent.as_ref(), "effluent concentrations in mg/L, e.g. { COD = 50.0, NH3N = 5.0, TP = 0.5 }, or a GB 18918-2002 class name such as \"1A\" (required)")
        .and_then(|v| c.effluent(loc, &lab, v));
    let discharge = c.place(loc, &lab, "discharge", r.discharge.as_ref(), true);
    let bypass = match &r.bypass {
        None => discharge,
        Some(b) => c.place(loc, &lab, "bypass", Some(b), true),
    };
    Some(Plant {
        id,
        capacity_m3s: cap?,
        effluent: effluent?,
        discharge: discharge?,
        bypass: bypass?,
    })
}

fn sewer(c: &mut C<'_>, it: &Item<RawSewer>, plants: &HashMap<&str, usize>) -> Option<Sewer> {
    let r = &it.raw;
    let loc = &it.loc;
    let (lab, id) = id_label("sewer", &r.id, it.ord);
    let cap = c.required_number(
        loc,
        &lab,
        "capacity_m3s",
        r.capacity_m3s,
        "a capacity in m³/s (required)",
        non_negative,
        CAPACITY,
    );
    let overflow = c.place(loc, &lab, "overflow", r.overflow.as_ref(), true);
    let destination = match (&r.to_plant, &r.discharge) {
        (Some(p), None) => c
            .known_id(loc, &lab, "to_plant", Some(p), "", "plant", plants)
            .map(SewerDestination::Plant),
        (None, Some(d)) => c
            .place(loc, &lab, "discharge", Some(d), true)
            .map(SewerDestination::Discharge),
        (Some(_), Some(_)) => {
            c.push(
                loc,
                &lab,
                "discharge",
                "",
                "either to_plant or discharge, not both",
            );
            None
        }
        (None, None) => {
            c.push(loc, &lab, "to_plant", "", "a destination: to_plant = \"<plant id>\" or discharge = { reach = \"…\", at_m = … }");
            None
        }
    };
    let base_flow = c
        .optional_number(
            loc,
            &lab,
            "base_flow_m3s",
            r.base_flow_m3s,
            non_negative,
            "a finite flow ≥ 0 m³/s",
        )
        .map(|v| v.unwrap_or(0.0));
    let base_conc = c.table_or_zero(
        loc,
        &lab,
        "base_concentration",
        r.base_concentration.as_ref(),
        CONC,
    );
    Some(Sewer {
        id,
        capacity_m3s: cap?,
        overflow: overflow?,
        destination: destination?,
        base_flow_m3s: base_flow?,
        base_concentration: base_conc?,
    })
}

/// The keys each kind takes besides the common ones.
fn kind_keys(kind: &str) -> &'static [&'static str] {
    match kind {
        "intercept" => &["outfalls", "group", "efficiency", "sewer"],
        "close_outfall" => &["outfalls", "group"],
        "separate" => &["outfalls", "group", "efficiency"],
        "rural_treatment" => &["outfalls", "group", "reduction"],
        "plant" => &["plant", "capacity_m3s", "effluent"],
        "diversion" => &["node", "flow_m3s", "concentration"],
        "boundary_improvement" => &["node", "concentration"],
        "dredging" => &["reaches", "release_g_m2_day", "decay_per_day"],
        _ => &[],
    }
}

fn given_kind_keys(r: &RawProject) -> Vec<&'static str> {
    let mut v = Vec::new();
    let pairs: [(&'static str, bool); 15] = [
        ("outfalls", r.outfalls.is_some()),
        ("group", r.group.is_some()),
        ("efficiency", r.efficiency.is_some()),
        ("sewer", r.sewer.is_some()),
        ("reduction", r.reduction.is_some()),
        ("plant", r.plant.is_some()),
        ("capacity_m3s", r.capacity_m3s.is_some()),
        ("effluent", r.effluent.is_some()),
        ("node", r.node.is_some()),
        ("flow_m3s", r.flow_m3s.is_some()),
        ("concentration", r.concentration.is_some()),
        ("reaches", r.reaches.is_some()),
        ("release_g_m2_day", r.release_g_m2_day.is_some()),
        ("decay_per_day", r.decay_per_day.is_some()),
        ("", false),
    ];
    for (k, given) in pairs {
        if given {
            v.push(k);
        }
    }
    v
}

/// The outfalls named by `outfalls` or `group` (exactly one of them).
fn targets(c: &mut C<'_>, loc: &Loc, lab: &str, r: &RawProject) -> Option<Vec<usize>> {
    match (&r.outfalls, &r.group) {
        (Some(list), None) => {
            let (built, raw) = (c.outfall.clone(), c.raw_outfall.clone());
            c.resolve_all(loc, lab, "outfalls", list, "outfall", &built, &raw)
        }
        (None, Some(g)) => {
            let out: Vec<usize> = c
                .ctx
                .outfalls
                .iter()
                .enumerate()
                .filter(|(_, o)| &o.group == g)
                .map(|(k, _)| k)
                .collect();
            if out.is_empty() {
                let mut groups: Vec<&str> =
                    c.ctx.outfalls.iter().map(|o| o.group.as_str()).collect();
                groups.sort_unstable();
                groups.dedup();
                c.push(
                    loc,
                    lab,
                    "group",
                    g.clone(),
                    format!(
                        "the group of at least one outfall (groups: {})",
                        groups.join(", ")
                    ),
                );
                return None;
            }
            Some(out)
        }
        (Some(_), Some(_)) => {
            c.push(loc, lab, "group", "", "either outfalls or group, not both");
            None
        }
        (None, None) => {
            c.push(
                loc,
                lab,
                "outfalls",
                "",
                "the outfalls it acts on: outfalls = [\"P1\", …] or group = \"…\"",
            );
            None
        }
    }
}

fn share(c: &mut C<'_>, loc: &Loc, lab: &str, field: &str, v: Option<f64>) -> Option<f64> {
    match v {
        None => Some(1.0),
        Some(v) => c.number(loc, lab, field, v, unit_share(v), SHARE),
    }
}

fn project(
    c: &mut C<'_>,
    it: &Item<RawProject>,
    sewers: &HashMap<&str, usize>,
    plants: &HashMap<&str, usize>,
) -> Option<Project> {
    let r = &it.raw;
    let loc = &it.loc;
    let (lab, id) = id_label("project", &r.id, it.ord);
    let cost = c.required_number(
        loc,
        &lab,
        "cost",
        r.cost,
        "the project's cost, a number ≥ 0 in cost_unit (required)",
        non_negative,
        "a finite cost ≥ 0",
    );
    let start = c.date(loc, &lab, "start", r.start.as_ref());
    let finish = c.date(loc, &lab, "finish", r.finish.as_ref());
    let mut dates_ok = true;
    if let (Some(s), Some(f)) = (start, finish)
        && f < s
    {
        let v = r.finish.as_ref().map(|v| v.to_string()).unwrap_or_default();
        c.push(
            loc,
            &lab,
            "finish",
            v.trim_matches('"'),
            "a date on or after `start` (a project finishes after it starts)",
        );
        dates_ok = false;
    }
    let ramp = match &r.ramp {
        None => Some(0.0),
        Some(t) => c.duration(loc, &lab, "ramp", t),
    };
    let construction = match (&r.construction_load_kg_per_day, &r.construction_at) {
        (None, None) => Some(None),
        (Some(l), at) => {
            let kg = c.table_or_zero(
                loc,
                &lab,
                "construction_load_kg_per_day",
                Some(l),
                "a finite load ≥ 0 kg/day",
            );
            let at = c
                .required(loc, &lab, "construction_at", at.as_ref(), "where the construction load enters: construction_at = { reach = \"…\", at_m = … } (required with construction_load_kg_per_day)")
                .and_then(|p| c.place(loc, &lab, "construction_at", Some(p), true));
            match (kg, at) {
                (Some(kg_per_day), Some(at)) => Some(Some(Construction { at, kg_per_day })),
                _ => None,
            }
        }
        (None, Some(_)) => {
            c.push(
                loc,
                &lab,
                "construction_at",
                "",
                "only with construction_load_kg_per_day",
            );
            None
        }
    };
    let kind = match r.kind.as_deref() {
        None => {
            c.push(
                loc,
                &lab,
                "kind",
                "",
                format!(
                    "the project kind, one of: {} (required)",
                    ProjectKind::NAMES.join(", ")
                ),
            );
            None
        }
        Some(k) if !ProjectKind::NAMES.contains(&k) => {
            c.push(
                loc,
                &lab,
                "kind",
                k,
                format!("one of: {}", ProjectKind::NAMES.join(", ")),
            );
            None
        }
        Some(k) => {
            let allowed = kind_keys(k);
            for key in given_kind_keys(r) {
                if !allowed.contains(&key) {
                    c.push(
                        loc,
                        &lab,
                        key,
                        "",
                        format!(
                            "a key of kind {k}: {} (or a common key)",
                            allowed.join(", ")
                        ),
                    );
                }
            }
            kind(c, loc, &lab, k, r, sewers, plants)
        }
    };
    Some(Project {
        id: id.clone(),
        name: r.name.clone().unwrap_or(id),
        kind: kind?,
        cost: cost?,
        start_s: start.filter(|_| dates_ok)?,
        finish_s: finish?,
        ramp_s: ramp?,
        construction: construction?,
    })
}

fn kind(
    c: &mut C<'_>,
    loc: &Loc,
    lab: &str,
    k: &str,
    r: &RawProject,
    sewers: &HashMap<&str, usize>,
    plants: &HashMap<&str, usize>,
) -> Option<ProjectKind> {
    let np = c.ctx.pollutants.len();
    match k {
        "intercept" => {
            let outfalls = targets(c, loc, lab, r);
            let efficiency = share(c, loc, lab, "efficiency", r.efficiency);
            let sewer = c.known_id(
                loc,
                lab,
                "sewer",
                r.sewer.as_ref(),
                "the id of the sewer that collects the flow (required)",
                "sewer",
                sewers,
            );
            let outfalls = outfalls?;
            let mut ok = true;
            for &o in &outfalls {
                if matches!(c.ctx.outfalls[o].discharge, Discharge::Load { .. }) {
                    let oid = c.ctx.outfalls[o].id.clone();
                    c.push(loc, lab, "outfalls", oid, "outfalls with a flow (a mass-only load_kg_per_day outfall carries no water into a sewer)");
                    ok = false;
                }
            }
            ok.then_some(())?;
            Some(ProjectKind::Intercept {
                outfalls,
                efficiency: efficiency?,
                sewer: sewer?,
            })
        }
        "close_outfall" => Some(ProjectKind::CloseOutfall {
            outfalls: targets(c, loc, lab, r)?,
        }),
        "separate" => {
            let outfalls = targets(c, loc, lab, r);
            let efficiency = share(c, loc, lab, "efficiency", r.efficiency);
            let outfalls = outfalls?;
            let mut ok = true;
            for &o in &outfalls {
                let of = &c.ctx.outfalls[o];
                if of.kind != OutfallKind::RainDryWeather {
                    let (oid, kname) = (of.id.clone(), of.kind.name());
                    c.push(loc, lab, "outfalls", oid, format!("outfalls of kind rain_dry_weather (this one is {kname}): separation removes the dry-weather discharge of rain outlets"));
                    ok = false;
                }
            }
            ok.then_some(())?;
            Some(ProjectKind::Separate {
                outfalls,
                efficiency: efficiency?,
            })
        }
        "rural_treatment" => {
            let outfalls = targets(c, loc, lab, r);
            let reduction = match &r.reduction {
                None => {
                    c.push(
                        loc,
                        lab,
                        "reduction",
                        "",
                        "the share removed: a number in [0, 1] or { COD = 0.6, … } (required)",
                    );
                    None
                }
                Some(toml::Value::Float(v)) => c
                    .number(loc, lab, "reduction", *v, unit_share(*v), SHARE)
                    .map(|v| vec![v; np]),
                Some(toml::Value::Integer(i)) => {
                    let v = *i as f64;
                    c.number(loc, lab, "reduction", v, unit_share(v), SHARE)
                        .map(|v| vec![v; np])
                }
                Some(toml::Value::Table(t)) => {
                    let (pt, ok) = c.numbers(loc, lab, "reduction", t, SHARE);
                    let t = c.table(loc, lab, "reduction", &pt, unit_share, SHARE);
                    t.filter(|_| ok).map(zero_if_absent)
                }
                Some(other) => {
                    c.push(
                        loc,
                        lab,
                        "reduction",
                        other.type_str(),
                        "a share in [0, 1] or a table of shares per pollutant",
                    );
                    None
                }
            };
            Some(ProjectKind::RuralTreatment {
                outfalls: outfalls?,
                reduction: reduction?,
            })
        }
        "plant" => {
            let plant = c.known_id(
                loc,
                lab,
                "plant",
                r.plant.as_ref(),
                "the id of the plant upgraded (required)",
                "plant",
                plants,
            );
            let cap = c.optional_number(
                loc,
                lab,
                "capacity_m3s",
                r.capacity_m3s,
                non_negative,
                CAPACITY,
            );
            let eff = match &r.effluent {
                None => Some(vec![None; np]),
                Some(v) => c.effluent(loc, lab, v),
            };
            if r.capacity_m3s.is_none() && r.effluent.is_none() {
                c.push(
                    loc,
                    lab,
                    "capacity_m3s",
                    "",
                    "the new capacity_m3s and/or effluent",
                );
                return None;
            }
            Some(ProjectKind::Plant {
                plant: plant?,
                capacity_m3s: cap?,
                effluent: eff?,
            })
        }
        "diversion" => {
            let node = node_ref(c, loc, lab, r);
            let flow = c.required_number(
                loc,
                lab,
                "flow_m3s",
                r.flow_m3s,
                "the added flow in m³/s (required)",
                non_negative,
                "a finite flow ≥ 0 m³/s",
            );
            let conc = c.table_or_zero(loc, lab, "concentration", r.concentration.as_ref(), CONC);
            Some(ProjectKind::Diversion {
                node: node?,
                flow_m3s: flow?,
                concentration: conc?,
            })
        }
        "boundary_improvement" => {
            let node = node_ref(c, loc, lab, r);
            if let Some(n) = node
                && !c.ctx.inflows.iter().any(|i| i.node == n)
            {
                let nid = c.ctx.nodes[n].id.clone();
                c.push(
                    loc,
                    lab,
                    "node",
                    nid,
                    "a node with an [[inflows]] entry (the boundary whose quality changes)",
                );
                return None;
            }
            let conc = c
                .required(
                    loc,
                    lab,
                    "concentration",
                    r.concentration.as_ref(),
                    "the new concentrations in mg/L (required)",
                )
                .and_then(|t| c.table(loc, lab, "concentration", t, non_negative, CONC));
            Some(ProjectKind::BoundaryImprovement {
                node: node?,
                concentration: conc?,
            })
        }
        "dredging" => {
            let reaches = c
                .required(
                    loc,
                    lab,
                    "reaches",
                    r.reaches.as_deref(),
                    "the dredged reaches: reaches = [\"R1\", …] (required)",
                )
                .and_then(|list| {
                    let (built, raw) = (c.reach.clone(), c.raw_reach.clone());
                    c.resolve_all(loc, lab, "reaches", list, "reach", &built, &raw)
                });
            if r.release_g_m2_day.is_none() && r.decay_per_day.is_none() {
                c.push(
                    loc,
                    lab,
                    "release_g_m2_day",
                    "",
                    "a dredging project needs the new release_g_m2_day and/or decay_per_day",
                );
                return None;
            }
            let np = c.ctx.pollutants.len();
            let rel = match r.release_g_m2_day.as_ref() {
                None => Some(vec![None; np]),
                Some(t) => c.table(
                    loc,
                    lab,
                    "release_g_m2_day",
                    t,
                    non_negative,
                    "a finite release ≥ 0 g/m²/day",
                ),
            };
            let decay = match r.decay_per_day.as_ref() {
                None => Some(vec![None; np]),
                Some(t) => c.table(
                    loc,
                    lab,
                    "decay_per_day",
                    t,
                    non_negative,
                    "a finite decay rate ≥ 0 1/day",
                ),
            };
            Some(ProjectKind::Dredging {
                reaches: reaches?,
                release_g_m2_day: rel?,
                decay_per_day: decay?,
            })
        }
        _ => None,
    }
}

fn node_ref(c: &mut C<'_>, loc: &Loc, lab: &str, r: &RawProject) -> Option<usize> {
    let Id(n) = c.required(loc, lab, "node", r.node.as_ref(), "a node id (required)")?;
    let (built, raw) = (c.node.clone(), c.raw_node.clone());
    c.resolve(loc, lab, "node", n, "node", &built, &raw)
}

fn alternative(
    c: &mut C<'_>,
    it: &Item<RawAlternative>,
    projects: &HashMap<&str, usize>,
) -> Option<Alternative> {
    let r = &it.raw;
    let loc = &it.loc;
    let (lab, id) = id_label("alternative", &r.id, it.ord);
    let unknown = || format!("the id of a project in [[projects]] ({})", listed(projects));
    let mut ok = true;
    let mut delay_s = Vec::new();
    for (pid, d) in r.delay.iter().flatten() {
        let field = format!("delay.{pid}");
        let k = projects.get(pid.as_str()).copied();
        if k.is_none() && !c.ctx.rs.is_broken("project", pid) {
            c.push(loc, &lab, &field, pid.clone(), unknown());
            ok = false;
        }
        let dur = c.duration(loc, &lab, &field, d);
        match (k, dur) {
            (Some(k), Some(s)) => delay_s.push((k, s)),
            _ => ok = false,
        }
    }
    let mut without = Vec::new();
    for Id(pid) in r.without.iter().flatten() {
        match projects.get(pid.as_str()) {
            Some(&k) => without.push(k),
            None if c.ctx.rs.is_broken("project", pid) => ok = false,
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
