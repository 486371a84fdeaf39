//! The one validation toolkit of the scenario tables: every check records a [`Problem`](super::Problem)
//! naming the file, line, item, field, the value as written and what would be valid, and carries on.
//!
//! [`Checker`] holds what every table's check needs (the problem list, the declared pollutants, the
//! scenario's start, the ids of items that could not be read) and offers the checks the tables share:
//! numbers against a [`Rule`], per-pollutant tables, enumerations, unique ids and references to them,
//! places along reaches, dates and durations. Constants-or-time-series values are in `timed.rs`.

use super::super::parse::{Loc, RawScenario};
use super::super::problems::Problems;
use super::super::raw::PollutantTable;
use super::super::series::{self, TsTable};
use chrono::NaiveDateTime;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Given-or-not and valid-or-not: `None` absent, `Some(None)` given but invalid (already reported).
pub(super) type Opt<T> = Option<Option<T>>;

/// The largest flow an inflow, outfall, withdrawal or project may give, m³/s: five times the Amazon's mean
/// flow. Larger numbers are typing or unit mistakes (a flow of 1e308 m³/s was accepted and the run then
/// failed with a non-finite concentration).
pub const MAX_FLOW_M3S: f64 = 1e6;

/// What a number must be, and how a problem says so.
#[derive(Clone, Copy)]
pub(super) struct Rule {
    /// Besides being finite.
    holds: fn(f64) -> bool,
    /// What would be valid.
    pub expected: &'static str,
}

impl Rule {
    /// Any finite number.
    pub const FINITE: Rule = Rule {
        holds: |_| true,
        expected: "a finite number",
    };
    /// A finite number > 0.
    pub const POSITIVE: Rule = Rule {
        holds: |v| v > 0.0,
        expected: "a finite number > 0",
    };
    /// A finite number ≥ 0.
    pub const NON_NEGATIVE: Rule = Rule::non_negative("a finite number ≥ 0");
    /// A Manning roughness.
    pub const MANNING: Rule = Rule {
        holds: |v| v > 0.0 && v <= 0.2,
        expected: "a Manning n in (0, 0.2] s/m^(1/3) (e.g. 0.025–0.04 for earth channels)",
    };
    /// A concentration, mg/L.
    pub const CONCENTRATION: Rule = Rule::non_negative("a finite concentration ≥ 0 mg/L");
    /// A capacity, m³/s.
    pub const CAPACITY: Rule = Rule::non_negative("a finite capacity ≥ 0 m³/s");
    /// A flow, m³/s, at most [`MAX_FLOW_M3S`].
    pub const FLOW: Rule = Rule {
        holds: |v| (0.0..=MAX_FLOW_M3S).contains(&v),
        expected: "a finite flow ≥ 0 and at most 10⁶ m³/s (the Amazon carries about 2·10⁵ m³/s)",
    };
    /// A distance along a reach, m.
    pub const DISTANCE: Rule = Rule::non_negative("a finite distance ≥ 0 m");
    /// A share in [0, 1].
    pub const SHARE: Rule = Rule {
        holds: |v| (0.0..=1.0).contains(&v),
        expected: "a share in [0, 1]",
    };

    /// A finite number ≥ 0, described as `expected`.
    pub const fn non_negative(expected: &'static str) -> Rule {
        Rule {
            holds: |v| v >= 0.0,
            expected,
        }
    }

    /// Whether `v` is valid.
    pub fn holds(self, v: f64) -> bool {
        v.is_finite() && (self.holds)(v)
    }
}

/// The checks' shared state and tools (see the module docs).
pub(super) struct Checker<'a> {
    /// Every problem found so far.
    pub probs: &'a mut Problems,
    /// The raw scenario: the ids of items that could not be read.
    pub rs: &'a RawScenario,
    /// The scenario file.
    pub scenario: PathBuf,
    /// Its folder, against which the files it names are read.
    pub dir: PathBuf,
    /// Declared pollutants, in order.
    pub pollutants: Vec<String>,
    /// Pollutant name → index.
    pub pidx: HashMap<String, usize>,
    /// The scenario start (a fallback until `[simulation]` gives one).
    pub start: NaiveDateTime,
    /// Time-series files read so far.
    pub ts_cache: HashMap<PathBuf, Option<Rc<TsTable>>>,
    /// Kinds whose defined ids a message has already listed (an unknown id lists them once).
    pub listed: std::collections::HashSet<&'static str>,
}

impl<'a> Checker<'a> {
    /// A checker for the scenario at `scenario`, recording into `probs`.
    pub fn new(rs: &'a RawScenario, scenario: &Path, probs: &'a mut Problems) -> Checker<'a> {
        let dir = scenario
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_default();
        let fallback_start = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default();
        Checker {
            probs,
            rs,
            scenario: scenario.to_path_buf(),
            dir,
            pollutants: Vec::new(),
            pidx: HashMap::new(),
            start: fallback_start,
            ts_cache: HashMap::new(),
            listed: Default::default(),
        }
    }

    /// Record a problem with `field` of `item`, written at `loc`.
    pub fn push(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) {
        self.probs
            .push(&loc.file, loc.line_of(field), item, field, value, expected);
    }

    /// `true` when no problem has been found so far.
    pub fn clean(&self) -> bool {
        self.probs.is_empty()
    }

    /// Check a number against `rule`: `Some(v)` when valid.
    pub fn number(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: f64,
        rule: Rule,
    ) -> Option<f64> {
        if rule.holds(v) {
            Some(v)
        } else {
            self.push(loc, item, field, format!("{v}"), rule.expected);
            None
        }
    }

    /// An optional number (see [`Opt`]).
    pub fn optional(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: Option<f64>,
        rule: Rule,
    ) -> Opt<f64> {
        v.map(|v| self.number(loc, item, field, v, rule))
    }

    /// A required key: `v`, or a problem (empty value, `what` as what would be valid) when it is absent.
    pub fn required<'v, T: ?Sized>(
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

    /// A required number (`what` says what is missing when it is absent) that must pass `rule`.
    pub fn required_number(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: Option<f64>,
        what: &str,
        rule: Rule,
    ) -> Option<f64> {
        let v = *self.required(loc, item, field, v.as_ref(), what)?;
        self.number(loc, item, field, v, rule)
    }

    /// The declared pollutants, for a message.
    pub fn declared(&self) -> String {
        if self.pollutants.is_empty() {
            "none are declared in [simulation] pollutants".into()
        } else {
            format!(
                "declared in [simulation] pollutants: {}",
                self.pollutants.join(", ")
            )
        }
    }

    /// A per-pollutant table → one value per pollutant in model order (`None` where not given), when
    /// every entry names a declared pollutant and passes `rule`.
    pub fn table(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        t: &PollutantTable,
        rule: Rule,
    ) -> Option<Vec<Option<f64>>> {
        let mut out = vec![None; self.pollutants.len()];
        let mut ok = true;
        for (name, &v) in t {
            match self.pidx.get(name) {
                Some(&k) if rule.holds(v) => out[k] = Some(v),
                Some(_) => {
                    self.number(loc, item, &format!("{field}.{name}"), v, rule);
                    ok = false;
                }
                None => {
                    let d = self.declared();
                    self.push(
                        loc,
                        item,
                        field,
                        name.clone(),
                        format!("a declared pollutant ({d})"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// [`Checker::table`] with the pollutants not given at 0.
    pub fn table_or_zero(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        t: &PollutantTable,
        rule: Rule,
    ) -> Option<Vec<f64>> {
        self.table(loc, item, field, t, rule).map(zero_if_absent)
    }

    /// A TOML table of numbers (integers or floats) as a [`PollutantTable`] of its numeric entries, and
    /// whether every entry was a number (an entry of another type is reported as `field.name` with
    /// `expected`).
    pub fn numbers(
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

    /// One of the named `options`.
    pub fn enum_value<T: Copy>(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        match options.iter().find(|(n, _)| *n == v) {
            Some(&(_, t)) => Some(t),
            None => {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.push(loc, item, field, v, format!("one of: {}", names.join(", ")));
                None
            }
        }
    }

    /// A date or date-time (a TOML string or date).
    pub fn time(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: &toml::Value,
    ) -> Option<NaiveDateTime> {
        let text = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Datetime(d) => d.to_string(),
            other => {
                self.push(
                    loc,
                    item,
                    field,
                    other.type_str(),
                    "an ISO date or date-time, e.g. \"2025-01-01\"",
                );
                return None;
            }
        };
        match series::parse_time(&text) {
            Ok(t) => Some(t),
            Err(e) => {
                self.push(loc, item, field, text, e);
                None
            }
        }
    }

    /// A required date, as seconds since the scenario start.
    pub fn date_s(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: Option<&toml::Value>,
    ) -> Option<f64> {
        let what = "an ISO date or date-time, e.g. \"2025-01-01\" (required)";
        let v = self.required(loc, item, field, v, what)?;
        let t = self.time(loc, item, field, v)?;
        Some(series::seconds_between(self.start, t))
    }

    /// A duration (`"90d"`, `"1h"`, …), seconds, at most `max_s`.
    pub fn duration(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: &str,
        max_s: f64,
    ) -> Option<f64> {
        match series::parse_duration(v) {
            Ok(s) if s <= max_s => Some(s),
            Ok(_) => {
                let years = max_s / (365.25 * 86_400.0);
                self.push(
                    loc,
                    item,
                    field,
                    v,
                    format!("a duration of at most {years} years"),
                );
                None
            }
            Err(e) => {
                self.push(loc, item, field, v, e);
                None
            }
        }
    }
}

/// A per-pollutant table with its absent entries set to 0.
pub(super) fn zero_if_absent(v: Vec<Option<f64>>) -> Vec<f64> {
    v.into_iter().map(|x| x.unwrap_or(0.0)).collect()
}
