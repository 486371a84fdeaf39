//! Durations, dates and time-series CSV files.
//!
//! - Duration: a non-negative integer or decimal and a unit, `s`, `min`, `h` or `d` (`"30s"`, `"1.5h"`);
//!   1 min = 60 s, 1 h = 3600 s, 1 d = 86,400 s.
//! - Date-time: ISO 8601 without a time-zone offset, `YYYY-MM-DD` (meaning 00:00 of that day),
//!   `YYYY-MM-DDTHH:MM`, `YYYY-MM-DDTHH:MM:SS` or with fractional seconds; a space may replace the `T`.
//! - Time-series CSV: first column `time` (a date-time as above), then one column per quantity. Times are
//!   strictly increasing; every value is a finite number. Times become seconds since the scenario start.

use super::problems::Problems;
use super::read;
use chrono::{NaiveDate, NaiveDateTime};
use std::collections::HashSet;
use std::path::Path;

/// Parse a duration such as `"5min"` into seconds. The error says what would be valid.
pub fn parse_duration(text: &str) -> Result<f64, String> {
    const VALID: &str =
        "a duration: a number and a unit s, min, h or d (e.g. \"30s\", \"5min\", \"6h\", \"1d\")";
    let t = text.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("{VALID}; the unit is missing"))?;
    let (num, unit) = t.split_at(split);
    let scale = match unit.trim() {
        "s" => 1.0,
        "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        other => return Err(format!("{VALID}; `{other}` is not a unit")),
    };
    let num = num.trim();
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(VALID.to_string());
    }
    let v: f64 = num.parse().map_err(|_| VALID.to_string())?;
    let s = v * scale;
    if !s.is_finite() {
        return Err(format!("{VALID}; this one is too large"));
    }
    Ok(s)
}

/// Parse an ISO date or date-time without offset.
pub fn parse_time(text: &str) -> Result<NaiveDateTime, String> {
    const VALID: &str =
        "an ISO date or date-time without time zone, e.g. 2025-01-01 or 2025-01-01T06:30:00";
    let t = text.trim();
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).ok_or_else(|| VALID.to_string());
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(dt);
        }
    }
    Err(VALID.to_string())
}

/// Seconds from `start` to `t`.
pub fn seconds_between(start: NaiveDateTime, t: NaiveDateTime) -> f64 {
    let d = t.signed_duration_since(start);
    // whole seconds plus the sub-second part, exact for the ranges chrono supports
    d.num_seconds() as f64 + f64::from(d.subsec_nanos()) * 1e-9
}

/// Column names a time-series file may carry besides pollutant names.
pub const QUANTITY_COLUMNS: [&str; 5] = ["flow_m3s", "level_m", "water_c", "opening_m", "on"];

/// A parsed time-series file.
#[derive(Debug, Clone)]
pub struct TsTable {
    /// Column names after `time`.
    pub columns: Vec<String>,
    /// Seconds since the scenario start, strictly increasing.
    pub times_s: Vec<f64>,
    /// `values[column][row]`.
    pub values: Vec<Vec<f64>>,
}

impl TsTable {
    /// The values of a column, if present.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.columns
            .iter()
            .position(|c| c == name)
            .map(|k| self.values[k].as_slice())
    }
}

/// Read and check a time-series CSV. `pollutants` are the declared names (also valid column names);
/// `start` converts times to seconds. Flow and pollutant columns must be non-negative. Returns `None` (with
/// problems pushed) when the file is unusable.
pub fn read_table(
    path: &Path,
    start: NaiveDateTime,
    pollutants: &[String],
    item: &str,
    probs: &mut Problems,
) -> Option<TsTable> {
    let bytes = read::read_bytes(
        path,
        read::MAX_DATA_BYTES,
        "a time-series CSV file",
        item,
        probs,
    )?;
    let text = read::utf8(&bytes, path, item, probs)?;
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let before = probs.count();
    let header: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            probs.push(path, None, item, "", "", format!("a CSV header ({e})"));
            return None;
        }
    };
    if header.first().map(|s| s.as_str()) != Some("time") {
        probs.push(
            path,
            Some(1),
            item,
            "time",
            header.first().cloned().unwrap_or_default(),
            "the first column named `time`",
        );
        return None;
    }
    let columns: Vec<String> = header[1..].to_vec();
    if columns.is_empty() {
        probs.push(
            path,
            Some(1),
            item,
            "",
            "",
            "at least one value column after `time`",
        );
    }
    let known: HashSet<&str> = QUANTITY_COLUMNS
        .iter()
        .copied()
        .chain(pollutants.iter().map(|s| s.as_str()))
        .collect();
    let mut seen = HashSet::new();
    for c in &columns {
        if !known.contains(c.as_str()) {
            probs.push(
                path,
                Some(1),
                item,
                "column",
                c.clone(),
                format!(
                    "a column named flow_m3s, level_m, water_c, opening_m, on or a declared pollutant ({})",
                    pollutants.join(", ")
                ),
            );
        }
        if !seen.insert(c.as_str()) {
            probs.push(path, Some(1), item, "column", c.clone(), "each column once");
        }
    }
    let non_negative: Vec<bool> = columns
        .iter()
        .map(|c| c == "flow_m3s" || pollutants.iter().any(|p| p == c))
        .collect();
    let mut times_s = Vec::new();
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); columns.len()];
    let mut rec = csv::StringRecord::new();
    let mut prev: Option<(NaiveDateTime, usize)> = None;
    let mut file_problems = 0usize;
    loop {
        let line = rdr.position().line() as usize;
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(line);
                let why = match e.kind() {
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("{expected_len} fields like the header (this row has {len})")
                    }
                    csv::ErrorKind::Utf8 { .. } => "UTF-8 text".to_string(),
                    _ => format!("a well-formed CSV row ({e})"),
                };
                probs.push(path, Some(line), item, "", "", why);
                return None;
            }
        }
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(line);
        let mut bad = |probs: &mut Problems, field: &str, value: &str, expected: String| {
            file_problems += 1;
            if file_problems <= 20 {
                probs.push(path, Some(line), item, field, value, expected);
            }
        };
        let tcell = rec.get(0).unwrap_or("").trim();
        match parse_time(tcell) {
            Ok(t) => {
                if let Some((p, pl)) = prev
                    && t <= p
                {
                    let what = if t == p {
                        "a duplicate of"
                    } else {
                        "earlier than"
                    };
                    bad(
                        probs,
                        "time",
                        tcell,
                        format!(
                            "times in strictly increasing order (this time is {what} the one on line {pl})"
                        ),
                    );
                }
                prev = Some((t, line));
                times_s.push(seconds_between(start, t));
            }
            Err(valid) => bad(probs, "time", tcell, valid),
        }
        for (k, col) in columns.iter().enumerate() {
            let c = rec.get(k + 1).unwrap_or("").trim();
            match c.parse::<f64>() {
                Ok(v) if v.is_finite() && (v >= 0.0 || !non_negative[k]) => values[k].push(v),
                Ok(v) if v.is_finite() => {
                    bad(probs, col, c, "a value ≥ 0".into());
                }
                _ => {
                    bad(probs, col, c, "a finite number".into());
                }
            }
        }
    }
    if file_problems > 20 {
        probs.push(
            path,
            None,
            item,
            "",
            "",
            format!(
                "{} more problem(s) in this file not listed",
                file_problems - 20
            ),
        );
    }
    if times_s.is_empty() && probs.count() == before {
        probs.push(
            path,
            None,
            item,
            "",
            "",
            "at least one row of values after the header",
        );
    }
    if probs.count() > before {
        return None;
    }
    Some(TsTable {
        columns,
        times_s,
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_seconds() {
        assert_eq!(parse_duration("30s"), Ok(30.0));
        assert_eq!(parse_duration("5min"), Ok(300.0));
        assert_eq!(parse_duration("6h"), Ok(21600.0));
        assert_eq!(parse_duration("1d"), Ok(86400.0));
        assert_eq!(parse_duration("1.5 h"), Ok(5400.0));
        assert_eq!(parse_duration("0s"), Ok(0.0));
        for bad in [
            "",
            "5",
            "min",
            "-5min",
            "5 minutes",
            "1e3s",
            "5mn",
            "1.2.3s",
            "inf s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        // 400 digits overflow to infinity
        assert!(parse_duration(&format!("{}d", "9".repeat(400))).is_err());
    }

    #[test]
    fn times_date_means_midnight() {
        let d = parse_time("2025-01-02").unwrap();
        let dt = parse_time("2025-01-02T06:30").unwrap();
        assert_eq!(seconds_between(d, dt), 6.5 * 3600.0);
        assert_eq!(
            parse_time("2025-01-02 06:30:15.5").unwrap(),
            dt + chrono::Duration::milliseconds(15500)
        );
        assert!(parse_time("2025-13-01").is_err());
        assert!(parse_time("2025-01-01T00:00:00+08:00").is_err());
        assert!(parse_time("yesterday").is_err());
    }
}
