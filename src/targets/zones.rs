//! Zone definitions: checking and parsing what a scenario file says about a water-function zone.
//!
//! The loader reads `[[zones]]` into strings and numbers and calls [`parse_zone`], which returns either the
//! typed fields of [`crate::model::Zone`] or every problem it found (unknown target class, unknown or
//! unsimulated parameter, bad method, threshold outside (0, 1], bad sampling or sampling day).
//!
//! Parameters (`parameters` key): a list of GB 3838 Table 1 names that are simulated (`["CODMn", "NH3N"]`), or a
//! single preset name — `"two_factor"` (CODMn, NH3N), `"three_factor"` (CODMn, NH3N, TP) or `"all"` — given
//! either as a string or as a one-element list. `"all"`, an empty list and a missing key all mean the defaults:
//! every simulated GB 3838 parameter that applies to the water body of the place assessed (TN only on lakes).

use super::gb3838::{Class, Param};
use crate::model::{ComplianceMethod, Sampling};

/// The default frequency threshold (share of samples that must meet the target).
pub const DEFAULT_THRESHOLD: f64 = 0.8;
/// The default day of the month of a monthly sample.
pub const DEFAULT_SAMPLING_DAY: u32 = 15;

/// A zone as written in the scenario file (every key except `id` and `sections`).
#[derive(Debug, Clone, Default)]
pub struct ZoneSpec<'a> {
    /// `target`: `I` … `V`.
    pub target: &'a str,
    /// `parameters`: names or one preset name; empty = defaults.
    pub parameters: &'a [String],
    /// `method`: `annual_mean` (default) or `frequency`.
    pub method: Option<&'a str>,
    /// `threshold`: in (0, 1], default 0.8.
    pub threshold: Option<f64>,
    /// `sampling`: `outputs` (default) or `monthly`.
    pub sampling: Option<&'a str>,
    /// `sampling_day`: 1–31, default 15.
    pub sampling_day: Option<i64>,
}

/// The typed zone fields, ready to go into [`crate::model::Zone`].
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneFields {
    /// Target class 1 (I) … 5 (V).
    pub target: u8,
    /// Pollutant indices of the assessed parameters; empty = defaults for the water body.
    pub parameters: Vec<usize>,
    /// Compliance method.
    pub method: ComplianceMethod,
    /// Frequency threshold in (0, 1].
    pub threshold: f64,
    /// Sampling.
    pub sampling: Sampling,
    /// Sampling day, 1–31.
    pub sampling_day: u32,
}

/// One problem in a zone definition: the field, the value as written and what would be valid. The loader adds
/// the file and the zone id.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneProblem {
    /// Field name, e.g. `target`.
    pub field: &'static str,
    /// The offending value.
    pub value: String,
    /// What would be valid.
    pub expected: String,
}

impl std::fmt::Display for ZoneProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "field `{}` = {}: {}",
            self.field, self.value, self.expected
        )
    }
}

/// The parameters of a preset name, or `None` if `name` is not a preset. `"all"` gives an empty list (the
/// defaults).
pub fn preset(name: &str) -> Option<&'static [Param]> {
    match name {
        "two_factor" => Some(&[Param::CODMn, Param::NH3N]),
        "three_factor" => Some(&[Param::CODMn, Param::NH3N, Param::TP]),
        "all" => Some(&[]),
        _ => None,
    }
}

/// Check and parse one zone against the simulated pollutant names. Returns every problem found.
pub fn parse_zone(spec: &ZoneSpec, pollutants: &[String]) -> Result<ZoneFields, Vec<ZoneProblem>> {
    let mut problems = Vec::new();
    let target = match Class::parse(spec.target.trim()) {
        Some(c) if c != Class::VPlus => c.index() as u8 + 1,
        _ => {
            let numeral = match spec.target.trim().parse::<u8>() {
                Ok(n @ 1..=5) => format!(
                    " (a class in Roman numerals, as a string: for class {n} write target = \"{}\")",
                    Class::ALL[n as usize - 1].name()
                ),
                _ => String::new(),
            };
            problems.push(ZoneProblem {
                field: "target",
                value: format!("{:?}", spec.target),
                expected: format!("one of \"I\", \"II\", \"III\", \"IV\", \"V\"{numeral}"),
            });
            0
        }
    };

    let simulated = |p: Param| pollutants.iter().position(|n| n == p.name());
    let mut parameters = Vec::new();
    let preset_params = match spec.parameters {
        [one] => preset(one),
        _ => None,
    };
    let names: Vec<&str> = match preset_params {
        Some(ps) => ps.iter().map(|p| p.name()).collect(),
        None => spec.parameters.iter().map(String::as_str).collect(),
    };
    for name in names {
        match Param::from_name(name) {
            None => problems.push(ZoneProblem {
                field: "parameters",
                value: format!("{name:?}"),
                expected: format!(
                    "GB 3838 Table 1 parameters ({}) or a preset (\"two_factor\", \"three_factor\", \"all\"); \
                     custom pollutants cannot be classified",
                    Param::ALL.map(Param::name).join(", ")
                ),
            }),
            Some(p) => match simulated(p) {
                Some(i) => {
                    if !parameters.contains(&i) {
                        parameters.push(i);
                    }
                }
                None => problems.push(ZoneProblem {
                    field: "parameters",
                    value: format!("{name:?}"),
                    expected: format!(
                        "a simulated pollutant ([simulation] pollutants = [{}])",
                        pollutants.join(", ")
                    ),
                }),
            },
        }
    }

    let method = match spec.method.map(str::trim) {
        None | Some("annual_mean") => ComplianceMethod::AnnualMean,
        Some("frequency") => ComplianceMethod::Frequency,
        Some(m) => {
            problems.push(ZoneProblem {
                field: "method",
                value: format!("{m:?}"),
                expected: "\"annual_mean\" (default) or \"frequency\"".into(),
            });
            ComplianceMethod::AnnualMean
        }
    };

    let threshold = spec.threshold.unwrap_or(DEFAULT_THRESHOLD);
    // written so that NaN fails too
    if !(threshold > 0.0 && threshold <= 1.0) {
        problems.push(ZoneProblem {
            field: "threshold",
            value: format!("{threshold}"),
            expected: "a share in (0, 1], e.g. 0.8 (the default)".into(),
        });
    }

    let sampling = match spec.sampling.map(str::trim) {
        None | Some("outputs") => Sampling::Outputs,
        Some("monthly") => Sampling::Monthly,
        Some(s) => {
            problems.push(ZoneProblem {
                field: "sampling",
                value: format!("{s:?}"),
                expected:
                    "\"outputs\" (every output time after the warm-up, default) or \"monthly\""
                        .into(),
            });
            Sampling::Outputs
        }
    };

    let sampling_day = match spec.sampling_day {
        None => DEFAULT_SAMPLING_DAY,
        Some(d) if (1..=31).contains(&d) => d as u32,
        Some(d) => {
            problems.push(ZoneProblem {
                field: "sampling_day",
                value: format!("{d}"),
                expected:
                    "a day of the month 1–31 (default 15; past a month's end its last day is used)"
                        .into(),
            });
            DEFAULT_SAMPLING_DAY
        }
    };

    if problems.is_empty() {
        Ok(ZoneFields {
            target,
            parameters,
            method,
            threshold,
            sampling,
            sampling_day,
        })
    } else {
        Err(problems)
    }
}

/// Every problem in a zone definition (empty when it is valid). Same checks as [`parse_zone`].
pub fn validate_zone(spec: &ZoneSpec, pollutants: &[String]) -> Vec<ZoneProblem> {
    parse_zone(spec, pollutants).err().unwrap_or_default()
}
