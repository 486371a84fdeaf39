//! `report.xlsx`: the run's tables as an Excel workbook (rust_xlsxwriter), for the offices that work in Excel.
//!
//! Sheets, in order (names and column titles in the report's language, [`Lang`]):
//! - zones (水功能区): one row per zone and assessment period (each calendar year with `[assessment] period =
//!   "year"`), then its sites — as `zones.csv`;
//! - monthly (逐月): the monthly table with the month mean concentrations — as `monthly.csv`, the month a date;
//! - sections (断面): each section's class, failing parameters and mean concentrations per period;
//! - km (河长): kilometres per class per period, for the whole network, per river-chief level and per
//!   jurisdiction;
//! - rivers and outfalls (一河一策, 一口一策) when the policy pages were made;
//! - compare, compare_km, rank and apportion when `compare.csv`, `compare_km.csv`, `rank.csv` or `apportion.csv`
//!   of an earlier `rivsim compare`, `rank` or `apportion` lie in the output folder.
//!
//! Numbers are numbers (full precision; a display format only rounds what Excel shows), verdicts are booleans,
//! months and times are Excel dates, and text stays text (ids that look like numbers are not converted).

use super::policy::Policies;
use crate::lang::Lang;
use crate::model::Model;
use crate::targets::{Assessment, Class, PeriodKey};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook, Worksheet, XlsxError};
use std::path::Path;

/// Excel's limit on the characters of a cell.
const CELL_CHARS: usize = 32_767;

/// Write text to a cell, cut to Excel's limit with a trailing "…" (ids can be longer than a cell may hold; the
/// CSV and JSON files keep them whole).
fn put(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    s: impl AsRef<str>,
) -> Result<&mut Worksheet, XlsxError> {
    let s = s.as_ref();
    if s.chars().count() <= CELL_CHARS {
        return ws.write_string(r, c, s);
    }
    let mut cut: String = s.chars().take(CELL_CHARS - 1).collect();
    cut.push('…');
    ws.write_string(r, c, cut)
}

/// Column titles in the report's language.
fn titles(l: Lang, en: &[&'static str]) -> Vec<String> {
    en.iter().map(|t| l.t(t).to_string()).collect()
}

fn head(ws: &mut Worksheet, cols: &[String], bold: &Format) -> Result<(), XlsxError> {
    for (c, t) in cols.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, t, bold)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn period_cell(ws: &mut Worksheet, r: u32, c: u16, k: PeriodKey, l: Lang) -> Result<(), XlsxError> {
    match k {
        PeriodKey::Run => put(ws, r, c, l.t("whole run")).map(|_| ()),
        PeriodKey::Year(y) => ws.write_number(r, c, y as f64).map(|_| ()),
    }
}

fn class_cell(
    ws: &mut Worksheet,
    r: u32,
    c: u16,
    k: Option<Class>,
    l: Lang,
) -> Result<(), XlsxError> {
    if let Some(k) = k {
        put(ws, r, c, l.class(k.name()))?;
    }
    Ok(())
}

fn num(ws: &mut Worksheet, r: u32, c: u16, v: f64) -> Result<(), XlsxError> {
    if v.is_finite() {
        ws.write_number(r, c, v)?;
    }
    Ok(())
}

/// The workbook's bytes.
pub fn workbook(
    model: &Model,
    a: &Assessment,
    policies: Option<&Policies>,
    out_dir: &Path,
    l: Lang,
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let pct = Format::new().set_num_format("0.0%");
    let month_fmt = Format::new().set_num_format("yyyy-mm");

    // zones
    let ws = wb.add_worksheet();
    ws.set_name(l.t("Water-function zones"))?;
    head(
        ws,
        &titles(
            l,
            &[
                "Zone",
                "Section",
                "Year",
                "Target",
                "Method",
                "Threshold",
                "Samples",
                "Parameter",
                "Class",
                "Meets target",
                "Compliance rate",
                "Failing the target",
            ],
        ),
        &bold,
    )?;
    let mut r = 1u32;
    for z in a.zone_rows() {
        let mut row = |ws: &mut Worksheet,
                       site: &str,
                       class,
                       ok: Option<bool>,
                       rate: f64,
                       failing: String| {
            put(ws, r, 0, &z.id)?;
            put(ws, r, 1, site)?;
            period_cell(ws, r, 2, z.year, l)?;
            put(ws, r, 3, l.class(z.target.name()))?;
            put(ws, r, 4, format!("{:?}", z.method).to_lowercase())?;
            ws.write_number(r, 5, z.threshold)?;
            ws.write_number(r, 6, z.samples as f64)?;
            put(ws, r, 7, z.parameters.join(";"))?;
            class_cell(ws, r, 8, class, l)?;
            match ok {
                Some(ok) => ws.write_boolean(r, 9, ok)?,
                None => put(ws, r, 9, l.t("not assessed"))?,
            };
            ws.write_number_with_format(r, 10, rate, &pct)?;
            put(ws, r, 11, failing)?;
            r += 1;
            Ok::<(), XlsxError>(())
        };
        let failing: Vec<&str> = z.failing.iter().map(|f| f.parameter.as_str()).collect();
        row(
            ws,
            "",
            z.class,
            z.compliant,
            z.compliance_rate,
            failing.join(";"),
        )?;
        for s in &z.sites {
            row(
                ws,
                &s.site,
                s.class,
                Some(s.compliant),
                s.compliance_rate,
                String::new(),
            )?;
        }
    }
    ws.autofit();

    // monthly
    let ws = wb.add_worksheet();
    ws.set_name(l.t("Month by month"))?;
    let mut cols = titles(
        l,
        &[
            "Zone",
            "Section",
            "Month",
            "Samples",
            "Target",
            "Class",
            "Meets target",
            "Compliance rate",
            "Failing the target",
        ],
    );
    cols.extend(model.pollutants.iter().map(|p| format!("{p} (mg/L)")));
    head(ws, &cols, &bold)?;
    for (k, m) in a.monthly.iter().enumerate() {
        let r = 1 + k as u32;
        put(ws, r, 0, m.zone.as_deref().unwrap_or(""))?;
        put(ws, r, 1, m.section.as_deref().unwrap_or(""))?;
        let d = ExcelDateTime::from_ymd(m.month.year as u16, m.month.month as u8, 1)?;
        ws.write_datetime_with_format(r, 2, &d, &month_fmt)?;
        ws.write_number(r, 3, m.samples as f64)?;
        put(ws, r, 4, l.class(m.target.name()))?;
        class_cell(ws, r, 5, m.class, l)?;
        ws.write_boolean(r, 6, m.compliant)?;
        ws.write_number_with_format(r, 7, m.compliance_rate, &pct)?;
        put(ws, r, 8, m.main_pollutants.join(";"))?;
        for (p, v) in m.mean_mg_l.iter().enumerate() {
            num(ws, r, 9 + p as u16, *v)?;
        }
    }
    ws.autofit();

    // sections
    let ws = wb.add_worksheet();
    ws.set_name(l.t("Assessment sections"))?;
    let mut cols = titles(
        l,
        &[
            "Section",
            "Zone",
            "Year",
            "Samples",
            "Target",
            "Class",
            "Failing the target",
            "Failing class III",
        ],
    );
    cols.extend(model.pollutants.iter().map(|p| format!("{p} (mg/L)")));
    head(ws, &cols, &bold)?;
    let periods: Vec<(PeriodKey, &[crate::targets::SectionAssessment])> = if a.years.is_empty() {
        vec![(PeriodKey::Run, &a.sections[..])]
    } else {
        a.years
            .iter()
            .map(|y| (PeriodKey::Year(y.year), &y.sections[..]))
            .collect()
    };
    let mut r = 1u32;
    for s in 0..a.sections.len() {
        for (k, list) in &periods {
            let Some(sa) = list.get(s) else { continue };
            let names = |f: &[crate::targets::Failing]| {
                f.iter()
                    .map(|f| f.parameter.as_str())
                    .collect::<Vec<_>>()
                    .join(";")
            };
            put(ws, r, 0, &sa.id)?;
            put(ws, r, 1, sa.zone.as_deref().unwrap_or(""))?;
            period_cell(ws, r, 2, *k, l)?;
            ws.write_number(r, 3, sa.sample_indices.len() as f64)?;
            put(ws, r, 4, l.class(sa.target.name()))?;
            class_cell(ws, r, 5, sa.class, l)?;
            put(ws, r, 6, names(&sa.failing))?;
            put(ws, r, 7, names(&sa.failing_class_iii))?;
            for (&p, &v) in sa.parameters.iter().zip(&sa.mean_mg_l) {
                num(ws, r, 8 + p as u16, v)?;
            }
            r += 1;
        }
    }
    ws.autofit();

    // kilometres
    let ws = wb.add_worksheet();
    ws.set_name(l.t("River length per class (km)"))?;
    let mut cols = titles(l, &["Year", "View", "River"]);
    cols.extend(Class::ALL.iter().map(|c| l.class(c.name())));
    cols.push(l.t("total km").to_string());
    head(ws, &cols, &bold)?;
    let mut views: Vec<(PeriodKey, &crate::targets::KmBreakdown)> = a
        .years
        .iter()
        .map(|y| (PeriodKey::Year(y.year), &y.rivers))
        .collect();
    views.push((PeriodKey::Run, &a.rivers.period_mean));
    let mut r = 1u32;
    for (k, b) in views {
        let mut rows: Vec<(&str, String, crate::targets::ClassKm)> =
            vec![(l.t("period mean"), l.t("whole network").to_string(), b.km)];
        rows.extend(
            b.by_level
                .iter()
                .map(|(n, km)| (l.t("River-chief level"), l.level(n), *km)),
        );
        rows.extend(
            b.by_jurisdiction
                .iter()
                .map(|(n, km)| (l.t("Jurisdiction"), n.clone(), *km)),
        );
        for (view, name, km) in rows {
            period_cell(ws, r, 0, k, l)?;
            put(ws, r, 1, view)?;
            put(ws, r, 2, name)?;
            for (c, v) in km.km.iter().enumerate() {
                ws.write_number(r, 3 + c as u16, *v)?;
            }
            ws.write_number(r, 9, km.total())?;
            r += 1;
        }
    }
    ws.autofit();

    if let Some(p) = policies {
        policy_sheets(&mut wb, model, p, l, &bold)?;
    }
    for (file, sheet) in [
        ("compare.csv", "compare"),
        ("compare_years.csv", "compare_years"),
        ("compare_km.csv", "compare_km"),
        ("rank.csv", "rank"),
        ("apportion.csv", "apportion"),
    ] {
        if let Ok(text) = std::fs::read_to_string(out_dir.join(file)) {
            csv_sheet(&mut wb, sheet, &text, &bold)?;
        }
    }
    wb.save_to_buffer()
}

fn policy_sheets(
    wb: &mut Workbook,
    model: &Model,
    p: &Policies,
    l: Lang,
    bold: &Format,
) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(l.t("One river, one policy"))?;
    let mut cols = titles(
        l,
        &[
            "River",
            "Length",
            "Reaches",
            "Section",
            "Projects acting on it",
            "Load reaching it by source group",
        ],
    );
    cols.extend(model.pollutants.iter().map(|p| format!("{p} (kg/d)")));
    head(ws, &cols, bold)?;
    let mut r = 1u32;
    let pj = |ks: &[usize]| {
        ks.iter()
            .map(|&k| model.projects[k].id.as_str())
            .collect::<Vec<_>>()
            .join(";")
    };
    for rv in &p.rivers {
        let reaches: Vec<&str> = rv
            .reaches
            .iter()
            .map(|&k| model.reaches[k].id.as_str())
            .collect();
        let sections: Vec<&str> = rv
            .sections
            .iter()
            .map(|&k| model.sections[k].id.as_str())
            .collect();
        let groups: Vec<(&str, Option<&Vec<f64>>)> = if rv.loads.is_empty() {
            vec![("", None)]
        } else {
            rv.loads
                .iter()
                .map(|(g, v)| (g.as_str(), Some(v)))
                .collect()
        };
        for (g, v) in groups {
            put(ws, r, 0, &rv.name)?;
            ws.write_number(r, 1, rv.km)?;
            put(ws, r, 2, reaches.join(";"))?;
            put(ws, r, 3, sections.join(";"))?;
            put(ws, r, 4, pj(&rv.projects))?;
            put(ws, r, 5, g)?;
            for (k, x) in v.into_iter().flatten().enumerate() {
                num(ws, r, 6 + k as u16, *x)?;
            }
            r += 1;
        }
    }
    ws.autofit();
    let ws = wb.add_worksheet();
    ws.set_name(l.t("One outfall, one policy"))?;
    let mut cols = titles(l, &["Outfall", "Kind", "Project that treats it", "Section"]);
    cols.extend(model.pollutants.iter().map(|p| format!("{p} (kg/d)")));
    cols.extend(
        model
            .pollutants
            .iter()
            .map(|p| format!("{p} {}", l.t("share"))),
    );
    head(ws, &cols, bold)?;
    let np = model.pollutants.len() as u16;
    let pct = Format::new().set_num_format("0.0%");
    let mut r = 1u32;
    for op in &p.outfalls {
        let of = &model.outfalls[op.outfall];
        let mut write_row =
            |ws: &mut Worksheet, section: &str, shares: Option<&Vec<Option<f64>>>| {
                put(ws, r, 0, &of.id)?;
                put(ws, r, 1, format!("{:?}", of.kind).to_lowercase())?;
                put(ws, r, 2, pj(&op.projects))?;
                put(ws, r, 3, section)?;
                for (k, v) in op.load_kg_d.iter().enumerate() {
                    num(ws, r, 4 + k as u16, *v)?;
                }
                for (k, v) in shares.into_iter().flatten().enumerate() {
                    if let Some(v) = v {
                        ws.write_number_with_format(r, 4 + np + k as u16, *v, &pct)?;
                    }
                }
                r += 1;
                Ok::<(), XlsxError>(())
            };
        if op.sections.is_empty() {
            write_row(ws, "", None)?;
        }
        for (s, sh) in &op.sections {
            write_row(ws, &model.sections[*s].id, Some(sh))?;
        }
    }
    ws.autofit();
    Ok(())
}

/// A CSV file as a sheet: numbers as numbers, ISO date-times (`YYYY-MM-DDTHH:MM:SS`) as dates, the rest text.
fn csv_sheet(wb: &mut Workbook, name: &str, text: &str, bold: &Format) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(name)?;
    let date_fmt = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    for (r, rec) in rd.records().enumerate() {
        let Ok(rec) = rec else { break };
        for (c, cell) in rec.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            if r == 0 {
                ws.write_string_with_format(r, c, cell, bold)?;
            } else if let Ok(v) = cell.parse::<f64>()
                && v.is_finite()
                && c > 0
            {
                ws.write_number(r, c, v)?;
            } else if let Ok(t) = chrono::NaiveDateTime::parse_from_str(cell, "%Y-%m-%dT%H:%M:%S") {
                ws.write_datetime_with_format(r, c, t, &date_fmt)?;
            } else if cell == "true" || cell == "false" {
                ws.write_boolean(r, c, cell == "true")?;
            } else {
                put(ws, r, c, cell)?;
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofit();
    Ok(())
}
