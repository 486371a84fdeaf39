//! GB 3838-2002 Table 1: the water-quality classes and the single-parameter classification.
//!
//! The limits (mg/L) are the crate's copy of `gb3838-2002-table1.csv`, embedded at build time. For a
//! parameter with a maximum limit L_k for class k (k = I … V), a value C has class
//!
//!   class(C) = the best k with C ≤ L_k·(1 + 1e-9), or V+ (劣V) if C exceeds L_V,
//!
//! and for DO, a minimum, the best k with C ≥ L_k·(1 − 1e-9). The relative tolerance 1e-9 lets a value that
//! equals a limit up to round-off meet it. Where two classes share a limit (COD and BOD5 in I and II) the
//! better class is given, because the search runs from class I down.
//!
//! Water body: TP has separate river and lake/reservoir limits, chosen by the reach's `water_body`; TN is
//! listed for lakes and reservoirs only — it is assessed on a river only when a zone asks for it, and then
//! against the (only) lake limits.
//!
//! Reference: GB 3838-2002 *Environmental quality standards for surface water*, Table 1 (basic items).

use crate::model::WaterBody;
use serde::Serialize;
use std::fmt;
use std::sync::OnceLock;

/// The embedded copy of GB 3838-2002 Table 1.
pub const TABLE1_CSV: &str = include_str!("gb3838-2002-table1.csv");

/// Relative tolerance within which a value at a limit meets it.
pub const LIMIT_RTOL: f64 = 1e-9;

/// A GB 3838 water-quality class, from best (I) to worse than V (V+, 劣V). `Ord`: I < II < … < V+, so the
/// worst of several classes is their maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Class {
    /// Class I.
    I,
    /// Class II.
    II,
    /// Class III.
    III,
    /// Class IV.
    IV,
    /// Class V.
    V,
    /// Worse than class V (劣V).
    #[serde(rename = "V+")]
    VPlus,
}

impl Class {
    /// All classes, best first.
    pub const ALL: [Class; 6] = [
        Class::I,
        Class::II,
        Class::III,
        Class::IV,
        Class::V,
        Class::VPlus,
    ];

    /// The name exactly as written in files: `I II III IV V V+`.
    pub fn name(self) -> &'static str {
        match self {
            Class::I => "I",
            Class::II => "II",
            Class::III => "III",
            Class::IV => "IV",
            Class::V => "V",
            Class::VPlus => "V+",
        }
    }

    /// Position 0 (I) … 5 (V+).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The class of a target number 1 (I) … 5 (V), as stored in `model::Zone::target`.
    pub fn from_target(target: u8) -> Option<Class> {
        match target {
            1..=5 => Some(Class::ALL[target as usize - 1]),
            _ => None,
        }
    }

    /// Parse a class name (`I` … `V`, `V+`).
    pub fn parse(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == name)
    }

    /// `true` if this class is at least as good as `target`.
    pub fn meets(self, target: Class) -> bool {
        self <= target
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether a limit is an upper bound (most parameters) or a lower bound (DO).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The concentration must be at most the limit.
    Max,
    /// The concentration must be at least the limit (dissolved oxygen).
    Min,
}

/// A parameter of GB 3838 Table 1 that rivsim can assess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Param {
    /// Dissolved oxygen.
    DO,
    /// Permanganate index.
    CODMn,
    /// Chemical oxygen demand (dichromate).
    COD,
    /// Five-day biochemical oxygen demand.
    BOD5,
    /// Ammonia nitrogen.
    NH3N,
    /// Total phosphorus.
    TP,
    /// Total nitrogen.
    TN,
}

impl Param {
    /// All assessable parameters.
    pub const ALL: [Param; 7] = [
        Param::DO,
        Param::CODMn,
        Param::COD,
        Param::BOD5,
        Param::NH3N,
        Param::TP,
        Param::TN,
    ];

    /// The pollutant name as written in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Param::DO => "DO",
            Param::CODMn => "CODMn",
            Param::COD => "COD",
            Param::BOD5 => "BOD5",
            Param::NH3N => "NH3N",
            Param::TP => "TP",
            Param::TN => "TN",
        }
    }

    /// The parameter of a pollutant name, or `None` for a custom pollutant (not classified).
    pub fn from_name(name: &str) -> Option<Param> {
        Param::ALL.into_iter().find(|p| p.name() == name)
    }

    /// `true` if the parameter is assessed by default on this water body (TN on lakes only).
    pub fn applies_by_default(self, body: WaterBody) -> bool {
        !(self == Param::TN && body == WaterBody::River)
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The limits of one parameter for one water body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Parameter.
    pub param: Param,
    /// Upper or lower bound.
    pub direction: Direction,
    /// Limits for classes I … V, mg/L.
    pub mg_l: [f64; 5],
}

impl Limits {
    /// The limit of a class I … V (`None` for V+, which has no limit).
    pub fn limit(&self, class: Class) -> Option<f64> {
        self.mg_l.get(class.index()).copied()
    }

    /// `true` if `value_mg_l` meets the limit of `class` (within the relative tolerance [`LIMIT_RTOL`]).
    /// Every value meets V+.
    pub fn meets(&self, value_mg_l: f64, class: Class) -> bool {
        match self.limit(class) {
            None => true,
            Some(l) => match self.direction {
                Direction::Max => value_mg_l <= l + LIMIT_RTOL * l.abs(),
                Direction::Min => value_mg_l >= l - LIMIT_RTOL * l.abs(),
            },
        }
    }

    /// The class of a value: the best class whose limit it meets; V+ if it meets none (or is not finite).
    pub fn classify(&self, value_mg_l: f64) -> Class {
        if !value_mg_l.is_finite() {
            return Class::VPlus;
        }
        Class::ALL[..5]
            .iter()
            .copied()
            .find(|&c| self.meets(value_mg_l, c))
            .unwrap_or(Class::VPlus)
    }

    /// Exceedance multiple against a class, C/limit − 1, for a value that fails it; `None` for DO (a minimum
    /// has no exceedance multiple), for V+ and for a value that meets the limit.
    pub fn exceedance_multiple(&self, value_mg_l: f64, class: Class) -> Option<f64> {
        if self.direction == Direction::Min || self.meets(value_mg_l, class) {
            return None;
        }
        self.limit(class).map(|l| value_mg_l / l - 1.0)
    }

    /// How far a value is from meeting a class limit, as a ratio ≥ 1 when it fails: C/L for a maximum,
    /// L/C for DO. Used only to rank failing parameters ("main pollutants").
    pub fn severity(&self, value_mg_l: f64, class: Class) -> f64 {
        match self.limit(class) {
            None => 0.0,
            Some(l) => match self.direction {
                Direction::Max => value_mg_l / l,
                Direction::Min => l / value_mg_l.max(1e-12),
            },
        }
    }
}

/// One row of the table as parsed: limits and the water bodies it applies to.
#[derive(Debug, Clone, Copy)]
struct Row {
    limits: Limits,
    river: bool,
    lake: bool,
}

/// Parse the embedded table. The text is part of the crate, so a failure is a build defect, caught by the
/// unit test below.
fn parse_table(text: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    let mut header_seen = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !header_seen {
            header_seen = true;
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != 9 {
            return Err(format!(
                "line {}: expected 9 fields, got {}",
                n + 1,
                f.len()
            ));
        }
        let param = Param::from_name(f[0]).ok_or(format!("line {}: parameter {}", n + 1, f[0]))?;
        let direction = match f[2] {
            "max" => Direction::Max,
            "min" => Direction::Min,
            d => return Err(format!("line {}: direction {d}", n + 1)),
        };
        let mut mg_l = [0.0; 5];
        for (k, v) in mg_l.iter_mut().enumerate() {
            *v = f[3 + k]
                .parse()
                .map_err(|_| format!("line {}: limit {}", n + 1, f[3 + k]))?;
        }
        let (river, lake) = match f[8] {
            "all" => (true, true),
            "river" => (true, false),
            "lake" => (false, true),
            a => return Err(format!("line {}: applies_to {a}", n + 1)),
        };
        rows.push(Row {
            limits: Limits {
                param,
                direction,
                mg_l,
            },
            river,
            lake,
        });
    }
    Ok(rows)
}

fn table() -> &'static [Row] {
    static TABLE: OnceLock<Vec<Row>> = OnceLock::new();
    TABLE.get_or_init(|| parse_table(TABLE1_CSV).unwrap_or_default())
}

/// The limits of a parameter for a water body. TN on a river falls back to the lake limits (the only ones
/// listed), used when a zone asks for TN explicitly.
pub fn limits(param: Param, body: WaterBody) -> Limits {
    let rows = table();
    let exact = rows.iter().find(|r| {
        r.limits.param == param
            && match body {
                WaterBody::River => r.river,
                WaterBody::Lake => r.lake,
            }
    });
    match exact.or_else(|| rows.iter().find(|r| r.limits.param == param)) {
        Some(r) => r.limits,
        // Unreachable with the shipped table (every Param has a row; see the unit test).
        None => Limits {
            param,
            direction: Direction::Max,
            mg_l: [f64::INFINITY; 5],
        },
    }
}

/// The class of one value of one parameter on a water body.
pub fn classify(param: Param, body: WaterBody, value_mg_l: f64) -> Class {
    limits(param, body).classify(value_mg_l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_parses_with_every_parameter() {
        let rows = parse_table(TABLE1_CSV).expect("embedded table parses");
        assert_eq!(rows.len(), 8);
        for p in Param::ALL {
            assert!(rows.iter().any(|r| r.limits.param == p), "{p}");
        }
        // spot values straight from the standard
        assert_eq!(
            limits(Param::TP, WaterBody::River).mg_l,
            [0.02, 0.1, 0.2, 0.3, 0.4]
        );
        assert_eq!(
            limits(Param::TP, WaterBody::Lake).mg_l,
            [0.01, 0.025, 0.05, 0.1, 0.2]
        );
        assert_eq!(
            limits(Param::DO, WaterBody::River).direction,
            Direction::Min
        );
    }
}
