//! GB 18918-2002 Table 1: discharge limits of municipal wastewater treatment plants, class 1A and 1B (daily
//! means, mg/L), for the `plant` projects (DESIGN.md §2 "Projects").
//!
//! NH3-N has a warm-water limit (water above 12 °C) and a cold-water limit (at or below 12 °C); for the other
//! parameters the two columns are equal. The limits are the crate's copy of `gb18918-2002-class1.csv`,
//! embedded at build time.
//!
//! Reference: GB 18918-2002 *Discharge standard of pollutants for municipal wastewater treatment plant*,
//! Table 1.

use std::sync::OnceLock;

/// The embedded copy of GB 18918-2002 Table 1 (class 1).
pub const CLASS1_CSV: &str = include_str!("gb18918-2002-class1.csv");

/// Class 1A (the stricter) or 1B.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade {
    /// Class 1A.
    A,
    /// Class 1B.
    B,
}

/// The class-1 limits of one parameter, mg/L.
#[derive(Debug, Clone, PartialEq)]
pub struct EffluentLimit {
    /// Parameter name as in scenario files (`COD`, `BOD5`, `SS`, `TN`, `NH3N`, `TP`).
    pub parameter: String,
    /// Class 1A, water above 12 °C.
    pub class_1a_mg_l: f64,
    /// Class 1A, water at or below 12 °C.
    pub class_1a_cold_mg_l: f64,
    /// Class 1B, water above 12 °C.
    pub class_1b_mg_l: f64,
    /// Class 1B, water at or below 12 °C.
    pub class_1b_cold_mg_l: f64,
}

fn parse(text: &str) -> Vec<EffluentLimit> {
    let mut out = Vec::new();
    let mut header_seen = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !header_seen {
            header_seen = true;
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let num = |i: usize| f.get(i).and_then(|s| s.parse::<f64>().ok());
        if let (Some(a), Some(ac), Some(b), Some(bc)) = (num(1), num(2), num(3), num(4)) {
            out.push(EffluentLimit {
                parameter: f[0].to_string(),
                class_1a_mg_l: a,
                class_1a_cold_mg_l: ac,
                class_1b_mg_l: b,
                class_1b_cold_mg_l: bc,
            });
        }
    }
    out
}

/// Every parameter of the table.
pub fn class1_table() -> &'static [EffluentLimit] {
    static T: OnceLock<Vec<EffluentLimit>> = OnceLock::new();
    T.get_or_init(|| parse(CLASS1_CSV))
}

/// The class-1 limit (mg/L) of a parameter, by grade and water temperature (`cold` = at or below 12 °C);
/// `None` for a parameter the table does not list.
pub fn class1_limit(parameter: &str, grade: Grade, cold: bool) -> Option<f64> {
    class1_table()
        .iter()
        .find(|r| r.parameter == parameter)
        .map(|r| match (grade, cold) {
            (Grade::A, false) => r.class_1a_mg_l,
            (Grade::A, true) => r.class_1a_cold_mg_l,
            (Grade::B, false) => r.class_1b_mg_l,
            (Grade::B, true) => r.class_1b_cold_mg_l,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class1_values_from_the_standard() {
        assert_eq!(class1_table().len(), 6);
        assert_eq!(class1_limit("COD", Grade::A, false), Some(50.0));
        assert_eq!(class1_limit("NH3N", Grade::A, true), Some(8.0));
        assert_eq!(class1_limit("NH3N", Grade::B, true), Some(15.0));
        assert_eq!(class1_limit("TP", Grade::B, false), Some(1.0));
        assert_eq!(class1_limit("DO", Grade::A, false), None);
    }
}
