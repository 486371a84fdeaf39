//! Targets and assessment: GB 3838-2002 classes, water-function zone compliance, kilometres per class.
//!
//! Stage 5 of the pipeline (scenario → model → hydraulics → transport → **assessment** → report). It reads a
//! [`Model`] and the [`RunResults`] of a run and never touches solver state. [`assess()`] does everything at
//! once and returns an [`Assessment`]:
//! - [`gb3838`]: the classes I … V, V+ (劣V) and the classification of one value of one parameter;
//! - [`assess`](mod@assess): sections and zones — single-factor class, failing parameters with their exceedance
//!   multiples, compliance by the annual-mean or frequency method over the period and per calendar month;
//! - [`rivers`]: kilometres per class (period mean, time-weighted, worst month), per river-chief level and per
//!   jurisdiction;
//! - [`zones`]: checking and parsing zone definitions for the scenario loader;
//! - [`tables`]: the `zones.csv` and `monthly.csv` contents;
//! - [`gb18918`]: the wastewater-plant discharge limits used by plant projects.
//!
//! The definitions (samples, means, methods, rates) are in the docs of each module. Reference: GB 3838-2002
//! *Environmental quality standards for surface water*, Table 1 and §5.

pub mod assess;
pub mod gb18918;
pub mod gb3838;
pub mod rivers;
pub mod tables;
pub mod zones;

pub use assess::{Failing, MonthlyRow, SectionAssessment, SiteAssessment, ZoneAssessment};
pub use gb3838::{Class, Param, classify};
pub use rivers::{ClassKm, KmBreakdown, RiverStats};
pub use zones::{ZoneFields, ZoneProblem, ZoneSpec, parse_zone, validate_zone};

/// A zone's `compliant` in a CSV cell: `true`, `false`, or empty when it was not assessed.
pub fn compliant_cell(compliant: Option<bool>) -> &'static str {
    match compliant {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    }
}

/// (zones meeting their target, zones assessed): a zone that was not assessed (no sample in its period)
/// counts as neither.
pub fn compliant_count<'a>(zones: impl Iterator<Item = &'a ZoneAssessment>) -> (usize, usize) {
    zones.fold((0, 0), |(ok, n), z| match z.compliant {
        Some(c) => (ok + c as usize, n + 1),
        None => (ok, n),
    })
}

use crate::model::{AssessmentPeriod, Model};
use crate::transport::RunResults;
use serde::{Serialize, Serializer};
use std::fmt;

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MonthKey {
    /// Year.
    pub year: i32,
    /// Month 1–12.
    pub month: u32,
}

impl MonthKey {
    /// The following month.
    pub fn next(self) -> MonthKey {
        if self.month >= 12 {
            MonthKey {
                year: self.year + 1,
                month: 1,
            }
        } else {
            MonthKey {
                year: self.year,
                month: self.month + 1,
            }
        }
    }
}

impl fmt::Display for MonthKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl Serialize for MonthKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The period a verdict covers: the whole run after the warm-up, or one calendar year (DESIGN.md §11).
/// Serialises as `"run"` or as the year's number; prints as `run` or the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeriodKey {
    /// The whole run after the warm-up.
    Run,
    /// A calendar year.
    Year(i32),
}

impl fmt::Display for PeriodKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeriodKey::Run => f.write_str("run"),
            PeriodKey::Year(y) => write!(f, "{y}"),
        }
    }
}

impl Serialize for PeriodKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            PeriodKey::Run => s.serialize_str("run"),
            PeriodKey::Year(y) => s.serialize_i32(*y),
        }
    }
}

/// One calendar year judged on its own (`[assessment] period = "year"`).
#[derive(Debug, Clone, Serialize)]
pub struct YearAssessment {
    /// The year.
    pub year: i32,
    /// Output times after the warm-up that fall in the year (a year only partly in the run has fewer).
    pub output_times: usize,
    /// Whether the whole year lies in the assessed run (after the warm-up, up to the end).
    pub whole_year: bool,
    /// One per model zone, in model order, judged on the year's samples.
    #[serde(skip)]
    pub zones: Vec<ZoneAssessment>,
    /// One per model section, judged on the year's samples.
    #[serde(skip)]
    pub sections: Vec<SectionAssessment>,
    /// Kilometres per class of the year-mean concentrations.
    pub rivers: KmBreakdown,
    /// Each reach's class of its year-mean concentrations (for maps and GIS layers).
    #[serde(skip)]
    pub reach_class: Vec<Option<Class>>,
}

/// Why an assessment could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetsError {
    /// The run results do not fit the model.
    #[error("run results do not match the model: {what}: expected {expected}, found {found}")]
    Shape {
        /// What is mis-sized.
        what: String,
        /// Expected size.
        expected: usize,
        /// Actual size.
        found: usize,
    },
    /// A zone in the model is out of range (the loader should have rejected it).
    #[error("zone {zone}: field `{field}` = {value}: expected {expected}")]
    Zone {
        /// Zone id.
        zone: String,
        /// Field.
        field: String,
        /// Value.
        value: String,
        /// What would be valid.
        expected: String,
    },
}

/// Check that the results have one row per output time and the model's sections, reaches and pollutants.
pub fn check_shapes(model: &Model, results: &RunResults) -> Result<(), TargetsError> {
    let np = model.pollutants.len();
    let nt = results.output_times_s.len();
    let shape = |what: String, expected: usize, found: usize| {
        if expected == found {
            Ok(())
        } else {
            Err(TargetsError::Shape {
                what,
                expected,
                found,
            })
        }
    };
    shape("pollutants".into(), np, results.pollutants.len())?;
    shape(
        "section_conc rows (output times)".into(),
        nt,
        results.section_conc.len(),
    )?;
    shape(
        "reach_conc rows (output times)".into(),
        nt,
        results.reach_conc.len(),
    )?;
    for i in 0..nt {
        shape(
            format!("section_conc[{i}] (sections × pollutants)"),
            model.sections.len() * np,
            results.section_conc[i].len(),
        )?;
        shape(
            format!("reach_conc[{i}] (reaches × pollutants)"),
            model.reaches.len() * np,
            results.reach_conc[i].len(),
        )?;
    }
    Ok(())
}

/// Everything the assessment produces.
#[derive(Debug, Clone, Serialize)]
pub struct Assessment {
    /// One per model section, in model order.
    pub sections: Vec<SectionAssessment>,
    /// One per model zone, in model order.
    pub zones: Vec<ZoneAssessment>,
    /// Per zone: the zone row then its sites' rows, month by month; then sections in no zone.
    pub monthly: Vec<MonthlyRow>,
    /// Kilometres per class.
    pub rivers: RiverStats,
    /// Things the reader should know (zones assessed on reaches, zones with no samples, …).
    pub warnings: Vec<String>,
    /// Each calendar year on its own, when the scenario asks for it (`[assessment] period = "year"`); empty
    /// otherwise.
    pub years: Vec<YearAssessment>,
}

impl Assessment {
    /// The `classes_km` object of `summary.json`: kilometres per class of the period-mean concentrations.
    pub fn classes_km(&self) -> ClassKm {
        self.rivers.period_mean.km
    }

    /// Kilometres worse than class V (period mean).
    pub fn worse_than_v_km(&self) -> f64 {
        self.rivers.period_mean.km.worse_than_v()
    }

    /// The zone verdicts of the assessment period: per zone and year (zone by zone, years in order) when the
    /// scenario assesses calendar years, else one per zone over the whole run. What `zones.csv`,
    /// `summary.json`'s `zones` and `compare.csv` list.
    pub fn zone_rows(&self) -> Vec<&ZoneAssessment> {
        if self.years.is_empty() {
            return self.zones.iter().collect();
        }
        (0..self.zones.len())
            .flat_map(|z| self.years.iter().filter_map(move |y| y.zones.get(z)))
            .collect()
    }
}

/// 00:00 of 1 January of `year`.
fn year_start(year: i32) -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(year, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default()
}

/// Assess a run: sections, zones, the monthly table and the river statistics; with `[assessment] period =
/// "year"` also each calendar year on its own.
pub fn assess(model: &Model, results: &RunResults) -> Result<Assessment, TargetsError> {
    check_shapes(model, results)?;
    let (sections, zones, monthly, mut warnings) = assess::assess_places(model, results, None)?;
    let rivers = rivers::river_stats(model, results)?;
    let mut years = Vec::new();
    if model.assessment_period == AssessmentPeriod::Year {
        let all = assess::sample_indices(model, results);
        let (first, last) = (
            assess::datetime_at(model.sim.start, model.sim.warmup_s),
            assess::datetime_at(model.sim.start, model.sim.end_s),
        );
        for y in assess::years(model, results) {
            let (sections, zones, _, w) = assess::assess_places(model, results, Some(y))?;
            warnings.extend(w);
            let samples = assess::in_year(model, results, all.clone(), Some(y));
            let whole_year = first <= year_start(y) && year_start(y + 1) <= last;
            let (km, reach_class) = rivers::period_mean_km(model, results, &samples);
            years.push(YearAssessment {
                year: y,
                output_times: samples.len(),
                whole_year,
                zones,
                sections,
                rivers: km,
                reach_class,
            });
        }
    }
    Ok(Assessment {
        sections,
        zones,
        monthly,
        rivers,
        warnings,
        years,
    })
}
