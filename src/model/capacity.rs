//! The `[capacity]` settings of the model (DESIGN.md §11): the design-flow rule and the cost of reducing each
//! source group's load, as `rivsim capacity` uses them.
//!
//! The rule's spelling is parsed here ([`DesignFlow::parse`]) so that the scenario check and the command
//! line's `--design-flow` read it the same way; `projects::capacity::design` applies it to the series.

use super::{LineLoad, Outfall};
use chrono::{Datelike, NaiveDate, NaiveDateTime};

/// How the design flow is chosen (`[capacity] design_flow`, `--design-flow`).
#[derive(Debug, Clone, PartialEq)]
pub enum DesignFlow {
    /// `"p90_month"` (default): the 90%-guarantee driest-month mean flow — each calendar year's driest month
    /// by total inflow, ranked, the one at 90% guarantee by the empirical frequency m/(n+1).
    P90Month,
    /// `"driest_month"`: the calendar month of the run with the lowest mean total inflow.
    DriestMonth,
    /// A named month (`"2025-08"`), day (`"2025-08-15"`) or period (`"2025-08-01/2025-08-15"`): the means of
    /// every series over `[from, to)`.
    Window {
        /// Start of the window.
        from: NaiveDateTime,
        /// End of the window (exclusive).
        to: NaiveDateTime,
        /// The text as written.
        label: String,
    },
    /// A date-time (`"2025-08-15T06:00"`): every series' value at that instant.
    Instant(NaiveDateTime),
}

/// What would be valid, for messages.
pub const DESIGN_FLOW_VALID: &str = "\"p90_month\" (the 90%-guarantee driest-month mean flow, the default), \
\"driest_month\", a month \"2025-08\", a day \"2025-08-15\", a period \"2025-08-01/2025-08-15\" or a \
date-time \"2025-08-15T06:00\", inside the scenario's period";

impl DesignFlow {
    /// Parse the spelling of `[capacity] design_flow` / `--design-flow` (the period is checked apart, by
    /// [`DesignFlow::check_within`]).
    pub fn parse(text: &str) -> Result<DesignFlow, String> {
        let t = text.trim();
        match t {
            "p90_month" => return Ok(DesignFlow::P90Month),
            "driest_month" => return Ok(DesignFlow::DriestMonth),
            _ => {}
        }
        let bad = || DESIGN_FLOW_VALID.to_string();
        if let Some((a, b)) = t.split_once('/') {
            let from = day(a.trim()).ok_or_else(bad)?;
            let to = day(b.trim()).ok_or_else(bad)?;
            // the period includes its last day
            let to = to + chrono::Duration::days(1);
            if to <= from {
                return Err(format!(
                    "a period whose end is not before its start; {}",
                    bad()
                ));
            }
            return Ok(DesignFlow::Window {
                from,
                to,
                label: t.to_string(),
            });
        }
        if let Some(from) = month(t) {
            let (y, m) = (from.year(), from.month());
            let next = if m == 12 {
                NaiveDate::from_ymd_opt(y + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1)
            };
            let to = next.and_then(|d| d.and_hms_opt(0, 0, 0)).ok_or_else(bad)?;
            return Ok(DesignFlow::Window {
                from,
                to,
                label: t.to_string(),
            });
        }
        if let Some(from) = day(t) {
            return Ok(DesignFlow::Window {
                from,
                to: from + chrono::Duration::days(1),
                label: t.to_string(),
            });
        }
        for fmt in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
            "%Y-%m-%d %H:%M",
        ] {
            if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
                return Ok(DesignFlow::Instant(dt));
            }
        }
        Err(bad())
    }

    /// `Err(what is wrong)` when a named window or instant is not inside the run `[start, start + end_s]`
    /// (a window must overlap the run by more than nothing; an instant may be at either end).
    pub fn check_within(&self, start: NaiveDateTime, end_s: f64) -> Result<(), String> {
        let s = |t: NaiveDateTime| (t - start).num_milliseconds() as f64 / 1000.0;
        let period = || {
            let end = start + chrono::Duration::milliseconds((end_s * 1000.0).round() as i64);
            format!("the scenario runs from {start} to {end}")
        };
        match self {
            DesignFlow::Window { from, to, .. } if s(*to) <= 0.0 || s(*from) >= end_s => {
                Err(format!(
                    "a design period outside the scenario's period ({}): {DESIGN_FLOW_VALID}",
                    period()
                ))
            }
            DesignFlow::Instant(t) if s(*t) < 0.0 || s(*t) > end_s => Err(format!(
                "a design instant outside the scenario's period ({}): {DESIGN_FLOW_VALID}",
                period()
            )),
            _ => Ok(()),
        }
    }

    /// The spelling, for reports.
    pub fn label(&self) -> String {
        match self {
            DesignFlow::P90Month => "p90_month".into(),
            DesignFlow::DriestMonth => "driest_month".into(),
            DesignFlow::Window { label, .. } => label.clone(),
            DesignFlow::Instant(t) => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
        }
    }
}

fn day(t: &str) -> Option<NaiveDateTime> {
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
}

fn month(t: &str) -> Option<NaiveDateTime> {
    // "YYYY-MM" exactly (chrono needs a day to parse a date)
    let (y, m) = t.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m) = (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?);
    NaiveDate::from_ymd_opt(y, m, 1).and_then(|d| d.and_hms_opt(0, 0, 0))
}

/// `[capacity]`: the design-flow rule and the reduction costs.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacitySettings {
    /// How the design flow is chosen.
    pub design_flow: DesignFlow,
    /// Cost per kg/day removed, by source group name (groups not named cost 1).
    pub reduction_cost: Vec<(String, f64)>,
}

impl Default for CapacitySettings {
    fn default() -> CapacitySettings {
        CapacitySettings {
            design_flow: DesignFlow::P90Month,
            reduction_cost: Vec::new(),
        }
    }
}

impl CapacitySettings {
    /// The cost per kg/day removed from group `name` (1 when not given).
    pub fn cost_of(&self, name: &str) -> f64 {
        self.reduction_cost
            .iter()
            .find(|(g, _)| g == name)
            .map_or(1.0, |&(_, c)| c)
    }
}

/// The source groups that a reduction cost may name: the groups of the outfalls and line loads, in order of
/// first appearance (the allocation reduces these; inflows and everything else are background).
pub fn reducible_groups(outfalls: &[Outfall], line_loads: &[LineLoad]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let all = outfalls
        .iter()
        .map(|o| &o.group)
        .chain(line_loads.iter().map(|l| &l.group));
    for g in all {
        if !names.contains(g) {
            names.push(g.clone());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap()
    }

    /// Every spelling, and the windows they stand for by hand.
    #[test]
    fn spellings() {
        assert_eq!(DesignFlow::parse("p90_month"), Ok(DesignFlow::P90Month));
        assert_eq!(
            DesignFlow::parse("driest_month"),
            Ok(DesignFlow::DriestMonth)
        );
        let w = |t: &str| match DesignFlow::parse(t) {
            Ok(DesignFlow::Window { from, to, .. }) => (from, to),
            other => panic!("{t}: {other:?}"),
        };
        assert_eq!(w("2025-08"), (at(2025, 8, 1), at(2025, 9, 1)));
        assert_eq!(w("2025-12"), (at(2025, 12, 1), at(2026, 1, 1)));
        assert_eq!(w("2025-08-15"), (at(2025, 8, 15), at(2025, 8, 16)));
        assert_eq!(
            w("2025-08-01/2025-08-15"),
            (at(2025, 8, 1), at(2025, 8, 16))
        );
        assert_eq!(
            DesignFlow::parse("2025-08-15T06:00"),
            Ok(DesignFlow::Instant(
                at(2025, 8, 15) + chrono::Duration::hours(6)
            ))
        );
        for bad in [
            "p90",
            "2025-13",
            "2025-8",
            "2025-08-20/2025-08-01",
            "",
            "driest",
        ] {
            assert!(DesignFlow::parse(bad).is_err(), "{bad}");
        }
    }

    /// A window or instant outside the run is refused; one touching it inside is not.
    #[test]
    fn within_the_run() {
        let start = at(2025, 1, 1);
        let year_s = 365.0 * 86_400.0;
        let ok = |t: &str| DesignFlow::parse(t).unwrap().check_within(start, year_s);
        assert!(ok("2025-08").is_ok());
        assert!(ok("2025-12-31").is_ok());
        assert!(ok("2026-01-01T00:00").is_ok());
        assert!(ok("2026-01").is_err());
        assert!(ok("2024-12").is_err());
        assert!(ok("2024-12-31T23:00").is_err());
        assert!(ok("p90_month").is_ok());
    }
}
