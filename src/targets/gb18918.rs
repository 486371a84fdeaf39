//! GB 18918-2002 Table 1: discharge limits of municipal wastewater treatment plants, class 1A and 1B (daily
//! means, mg/L), for the `plant` projects (DESIGN.md §2 "Projects").
//!
//! NH3-N has a warm-water limit (water above 12 °C) and a cold-water limit (at or below 12 °C); for the other
//! parameters the two columns are equal. The limits are the crate's copy of `gb18918-2002-class1.csv`,
//! embedded at build time.
//!
//! A scenario names a class by the column it reads: `"1A"` and `"1B"` are the warm-water columns (NH3-N
//! 5 and 8 mg/L), `"1A_cold"` and `"1B_cold"` the cold-water ones (NH3-N 8 and 15 mg/L); [`class_names`]
//! lists them and [`class_limits`] gives a class's limits. Classes 2 and 3 of the standard are not in the
//! table.
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

/// The table as read: class names from the header (`class_1A` → `1A`), then one row per parameter with one
/// limit per class, mg/L.
struct Table {
    classes: Vec<String>,
    rows: Vec<(String, Vec<f64>)>,
}

fn parse(text: &str) -> Table {
    let mut t = Table {
        classes: Vec::new(),
        rows: Vec::new(),
    };
    let mut header_seen = false;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if !header_seen {
            header_seen = true;
            t.classes = f
                .iter()
                .skip(1)
                .map(|c| c.strip_prefix("class_").unwrap_or(c).to_string())
                .collect();
            continue;
        }
        let values: Option<Vec<f64>> = f.iter().skip(1).map(|s| s.parse::<f64>().ok()).collect();
        if let Some(v) = values.filter(|v| v.len() == t.classes.len()) {
            t.rows.push((f[0].to_string(), v));
        }
    }
    t
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| parse(CLASS1_CSV))
}

/// The class names a scenario may give as a plant's `effluent`, in the table's column order: `1A`,
/// `1A_cold`, `1B`, `1B_cold` (the `_cold` columns hold the limits for water at or below 12 °C).
pub fn class_names() -> &'static [String] {
    &table().classes
}

/// The limits of a named class (see [`class_names`]): `(parameter, mg/L)` for every parameter of the table,
/// in table order; `None` for a name the table does not hold.
pub fn class_limits(name: &str) -> Option<Vec<(&'static str, f64)>> {
    let t = table();
    let k = t.classes.iter().position(|c| c == name)?;
    Some(t.rows.iter().map(|(p, v)| (p.as_str(), v[k])).collect())
}

/// Every parameter of the table.
pub fn class1_table() -> &'static [EffluentLimit] {
    static T: OnceLock<Vec<EffluentLimit>> = OnceLock::new();
    T.get_or_init(|| {
        let t = table();
        let col = |name: &str| t.classes.iter().position(|c| c == name);
        let (Some(a), Some(ac), Some(b), Some(bc)) =
            (col("1A"), col("1A_cold"), col("1B"), col("1B_cold"))
        else {
            return Vec::new();
        };
        t.rows
            .iter()
            .map(|(p, v)| EffluentLimit {
                parameter: p.clone(),
                class_1a_mg_l: v[a],
                class_1a_cold_mg_l: v[ac],
                class_1b_mg_l: v[b],
                class_1b_cold_mg_l: v[bc],
            })
            .collect()
    })
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

    #[test]
    fn classes_by_name() {
        assert_eq!(class_names(), ["1A", "1A_cold", "1B", "1B_cold"]);
        let a = class_limits("1A").unwrap();
        assert_eq!(
            a,
            [
                ("COD", 50.0),
                ("BOD5", 10.0),
                ("SS", 10.0),
                ("TN", 15.0),
                ("NH3N", 5.0),
                ("TP", 0.5)
            ]
        );
        let bc = class_limits("1B_cold").unwrap();
        assert_eq!(bc[4], ("NH3N", 15.0));
        assert_eq!(class_limits("2"), None);
        assert_eq!(class_limits("1a"), None);
    }
}
