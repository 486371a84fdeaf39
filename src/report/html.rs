//! `report.html`: one self-contained page a river chief can read — the scenario, the zone compliance table,
//! the worse-than-V kilometres, the monthly class grid, the plots and the warnings.
//!
//! Images are embedded as base64 `data:` URIs and the style sheet is inline, so the single file can be mailed
//! or opened offline. Every text from the scenario (titles, ids, warnings) is HTML-escaped.

use super::plot::{PlotError, PlotFile, class_color};
use crate::model::{ComplianceMethod, Model};
use crate::targets::{Assessment, Class, ClassKm, Failing, MonthKey};
use base64::Engine;
use std::fmt::Write;

/// An image to embed.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Caption under the image.
    pub caption: String,
    /// MIME type, `image/png` or `image/svg+xml`.
    pub mime: String,
    /// File contents.
    pub bytes: Vec<u8>,
}

/// Read the plot files (as written by [`super::plot::standard_plots`]) for embedding.
pub fn load_images(plots: &[PlotFile]) -> Result<Vec<Image>, PlotError> {
    plots
        .iter()
        .map(|p| {
            let bytes = std::fs::read(&p.path).map_err(|e| PlotError {
                path: p.path.clone(),
                message: format!("cannot read the plot for the report: {e}"),
            })?;
            let svg = p
                .path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("svg"));
            Ok(Image {
                caption: p.caption.clone(),
                mime: if svg { "image/svg+xml" } else { "image/png" }.into(),
                bytes,
            })
        })
        .collect()
}

/// Escape text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn hex(c: Option<Class>) -> String {
    let c = class_color(c);
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn badge(c: Option<Class>) -> String {
    let fg = if matches!(c, Some(Class::IV)) {
        "#222"
    } else {
        "#fff"
    };
    format!(
        "<span class=\"badge\" style=\"background:{};color:{fg}\">{}</span>",
        hex(c),
        c.map_or("–", Class::name)
    )
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "<span class=\"ok\">✔ meets target</span>"
    } else {
        "<span class=\"fail\">✘ fails target</span>"
    }
}

fn failing_text(f: &[Failing]) -> String {
    if f.is_empty() {
        return "—".into();
    }
    f.iter()
        .map(|f| match f.exceedance_multiple {
            Some(e) => format!(
                "{} {} mg/L (limit {}, exceedance multiple {})",
                escape(&f.parameter),
                sig(f.value),
                f.limit,
                sig(e)
            ),
            None => format!(
                "{} {} mg/L (minimum {})",
                escape(&f.parameter),
                sig(f.value),
                f.limit
            ),
        })
        .collect::<Vec<_>>()
        .join("<br>")
}

/// A value for display with three significant digits (tables only; the CSV and JSON keep full precision).
fn sig(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.digits$}")
}

fn km_row(out: &mut String, name: &str, km: &ClassKm, unclassified: f64) {
    let total = km.total() + unclassified;
    let _ = write!(out, "<tr><th>{}</th>", escape(name));
    for c in Class::ALL {
        let v = km.get(c);
        let share = if total > 0.0 { 100.0 * v / total } else { 0.0 };
        let _ = write!(
            out,
            "<td>{v:.2}<span class=\"share\"> {share:.0}%</span></td>"
        );
    }
    let _ = write!(out, "<td>{total:.2}</td></tr>");
}

fn km_head(out: &mut String, first: &str) {
    let _ = write!(out, "<tr><th>{}</th>", escape(first));
    for c in Class::ALL {
        let _ = write!(out, "<th>{}</th>", badge(Some(c)));
    }
    out.push_str("<th>total km</th></tr>");
}

const STYLE: &str = "
body{font-family:'DejaVu Sans',Arial,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:0;background:#f4f6f8;color:#1d2329}
header{background:#12406b;color:#fff;padding:22px 36px}
header h1{margin:0 0 6px 0;font-size:26px}
header p{margin:2px 0;opacity:.9;font-size:14px}
main{padding:18px 36px 40px 36px;max-width:1200px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:16px 22px;margin:18px 0}
h2{font-size:20px;margin:4px 0 12px 0;color:#12406b}
.cards{display:flex;gap:16px;flex-wrap:wrap}
.card{flex:1;min-width:200px;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:14px 18px}
.card .big{font-size:30px;font-weight:bold}
.card .lbl{font-size:13px;color:#555}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{border-bottom:1px solid #e1e5ea;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef2f6}
.badge{display:inline-block;min-width:30px;text-align:center;border-radius:4px;padding:1px 6px;font-weight:bold}
.ok{color:#1e7d32;font-weight:bold}.fail{color:#c00000;font-weight:bold}
.share{color:#777;font-size:12px}
.grid td{text-align:center;padding:5px 2px}.grid th{white-space:nowrap;padding:5px 3px}
.miss{outline:2px solid #c00000;outline-offset:-2px}
figure{margin:10px 0 26px 0}figure img{max-width:100%;border:1px solid #dde}
figcaption{font-size:13px;color:#444;margin-top:4px}
.warn li{color:#8a5300}
.note{font-size:13px;color:#555}
";

/// The whole page. `images` are embedded in order; `warnings` are the run's and the assessment's notes.
pub fn report_html(model: &Model, a: &Assessment, images: &[Image], warnings: &[String]) -> String {
    let mut o = String::with_capacity(64 * 1024);
    let end = crate::targets::assess::datetime_at(model.sim.start, model.sim.end_s);
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{STYLE}</style></head><body>\
         <header><h1>{t}</h1><p>Scenario <code>{f}</code> · {s} to {e} · warm-up {w} h excluded · pollutants {p}</p>\
         <p>Water quality assessed against GB 3838-2002 by rivsim {v}</p></header><main>",
        t = escape(&model.title),
        f = escape(&model.path.display().to_string()),
        s = model.sim.start.format("%Y-%m-%d %H:%M"),
        e = end.format("%Y-%m-%d %H:%M"),
        w = sig(model.sim.warmup_s / 3600.0),
        p = escape(&model.pollutants.join(", ")),
        v = env!("CARGO_PKG_VERSION"),
    );

    // key figures
    let n_ok = a.zones.iter().filter(|z| z.compliant).count();
    let pm = &a.rivers.period_mean;
    let vplus = pm.km.worse_than_v();
    let total = a.rivers.total_km;
    let _ = write!(
        o,
        "<div class=\"cards\">\
         <div class=\"card\"><div class=\"big\">{n_ok} / {nz}</div><div class=\"lbl\">water-function zones meeting \
         their target</div></div>\
         <div class=\"card\"><div class=\"big\" style=\"color:{red}\">{vplus:.2} km</div><div class=\"lbl\">worse than \
         class V (V+), {vs:.0}% of {total:.2} km (period mean)</div></div>\
         <div class=\"card\"><div class=\"big\">{wm:.2} km</div><div class=\"lbl\">worse than V in their worst \
         month</div></div>\
         <div class=\"card\"><div class=\"big\">{nw}</div><div class=\"lbl\">warnings</div></div></div>",
        nz = a.zones.len(),
        red = hex(Some(Class::VPlus)),
        vs = if total > 0.0 {
            100.0 * vplus / total
        } else {
            0.0
        },
        wm = a.rivers.worst_month.km.worse_than_v(),
        nw = warnings.len(),
    );

    // zones
    o.push_str("<section><h2>Water-function zones</h2>");
    if a.zones.is_empty() {
        o.push_str("<p class=\"note\">The scenario defines no water-function zone.</p>");
    } else {
        o.push_str(
            "<table><tr><th>Zone</th><th>Target</th><th>Class</th><th>Verdict</th><th>Method</th>\
             <th>Compliance rate</th><th>Sites</th><th>Failing at the worst site (period mean)</th></tr>",
        );
        for z in &a.zones {
            let method = match z.method {
                ComplianceMethod::AnnualMean => "annual mean".to_string(),
                ComplianceMethod::Frequency => {
                    format!("frequency ≥ {}%", (1e6 * z.threshold).round() / 1e4)
                }
            };
            let sites: Vec<String> = z.sites.iter().map(|s| escape(&s.site)).collect();
            let _ = write!(
                o,
                "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{method}<br><span class=\"note\">{} samples, \
                 {}</span></td><td>{:.0}%</td><td>{}</td><td>{}</td></tr>",
                escape(&z.id),
                badge(Some(z.target)),
                badge(z.class),
                verdict(z.compliant),
                z.samples,
                escape(&z.parameters.join(", ")),
                100.0 * z.compliance_rate,
                sites.join(", "),
                failing_text(&z.failing)
            );
        }
        o.push_str("</table>");
    }
    o.push_str("</section>");

    // monthly grid
    let mut months: Vec<MonthKey> = a.monthly.iter().map(|r| r.month).collect();
    months.sort();
    months.dedup();
    if !a.zones.is_empty() && !months.is_empty() {
        o.push_str(
            "<section><h2>Month by month</h2><p class=\"note\">Class of the monthly mean at each zone's worst site; \
             a red frame marks a month in which the zone misses its target.</p><table class=\"grid\"><tr><th>Zone</th>",
        );
        for m in &months {
            let _ = write!(o, "<th>{m}</th>");
        }
        o.push_str("</tr>");
        for z in &a.zones {
            let _ = write!(o, "<tr><th>{}</th>", escape(&z.id));
            for m in &months {
                let row = a.monthly.iter().find(|r| {
                    r.zone.as_deref() == Some(z.id.as_str()) && r.section.is_none() && r.month == *m
                });
                match row {
                    Some(r) => {
                        let _ = write!(
                            o,
                            "<td{}>{}</td>",
                            if r.compliant { "" } else { " class=\"miss\"" },
                            badge(r.class)
                        );
                    }
                    None => o.push_str("<td></td>"),
                }
            }
            o.push_str("</tr>");
        }
        o.push_str("</table></section>");
    }

    // sections
    if !a.sections.is_empty() {
        o.push_str(
            "<section><h2>Assessment sections</h2><table><tr><th>Section</th><th>Zone</th><th>Target</th>\
             <th>Class</th><th>Failing the target</th><th>Failing class III</th></tr>",
        );
        for s in &a.sections {
            let _ = write!(
                o,
                "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&s.id),
                escape(s.zone.as_deref().unwrap_or("—")),
                badge(Some(s.target)),
                badge(s.class),
                failing_text(&s.failing),
                failing_text(&s.failing_class_iii)
            );
        }
        o.push_str("</table></section>");
    }

    // kilometres
    o.push_str("<section><h2>River length per class (km)</h2><table>");
    km_head(&mut o, "View");
    km_row(&mut o, "period mean", &pm.km, pm.unclassified_km);
    km_row(
        &mut o,
        "time-weighted",
        &a.rivers.time_weighted.km,
        a.rivers.time_weighted.unclassified_km,
    );
    km_row(
        &mut o,
        "worst month",
        &a.rivers.worst_month.km,
        a.rivers.worst_month.unclassified_km,
    );
    o.push_str("</table>");
    if pm.unclassified_km > 0.0 {
        let _ = write!(
            o,
            "<p class=\"note\">{:.2} km could not be classified (no GB 3838 parameter simulated).</p>",
            pm.unclassified_km
        );
    }
    for (title, map) in [
        ("River-chief level", &pm.by_level),
        ("Jurisdiction", &pm.by_jurisdiction),
    ] {
        if map.len() > 1 || map.keys().any(|k| k != "unassigned") {
            let _ = write!(
                o,
                "<h2 style=\"font-size:16px;margin-top:18px\">By {} (period mean)</h2><table>",
                title.to_lowercase()
            );
            km_head(&mut o, title);
            for (k, km) in map {
                km_row(&mut o, k, km, 0.0);
            }
            o.push_str("</table>");
        }
    }
    o.push_str("</section>");

    // plots
    if !images.is_empty() {
        o.push_str("<section><h2>Plots</h2>");
        let engine = base64::engine::general_purpose::STANDARD;
        for im in images {
            let _ = write!(
                o,
                "<figure><img alt=\"{c}\" src=\"data:{};base64,{}\"><figcaption>{c}</figcaption></figure>",
                escape(&im.mime),
                engine.encode(&im.bytes),
                c = escape(&im.caption)
            );
        }
        o.push_str("</section>");
    }

    // warnings
    o.push_str("<section><h2>Warnings</h2>");
    if warnings.is_empty() {
        o.push_str("<p class=\"note\">None.</p>");
    } else {
        o.push_str("<ul class=\"warn\">");
        for w in warnings {
            let _ = write!(o, "<li>{}</li>", escape(w));
        }
        o.push_str("</ul>");
    }
    o.push_str(
        "</section><p class=\"note\">Classes by the single-factor method of GB 3838-2002 (worst parameter decides); \
         figures in tables are rounded for reading, the CSV and JSON files keep full precision.</p></main></body></html>\n",
    );
    o
}
