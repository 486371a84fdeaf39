//! `report.html`: one self-contained page a river chief can read — the scenario, the zone compliance table (per
//! calendar year when the scenario assesses years), the worse-than-V kilometres, the month tables (class and
//! mean concentrations per zone and section, twelve months a row so the page reads at 1400 px without scrolling
//! sideways), the assessment sections, kilometres per class by level and jurisdiction, one page per river and per
//! outfall (一河一策, 一口一策) when given, the plots and the warnings — in English or Chinese ([`Lang`]).
//!
//! Images are embedded as base64 `data:` URIs, the style sheet is inline and so is the subset of the compiled-in
//! font that the page's text uses ([`crate::fonts::css_font_face`]), so the single file can be mailed or opened
//! offline and shows Chinese on a machine without a Chinese font. Every text from the scenario (titles, ids,
//! warnings) is HTML-escaped.

use super::markup::{escape, sig};
use super::plot::{PlotError, PlotFile, class_color};
use super::policy::Policies;
use crate::lang::Lang;
use crate::model::{ComplianceMethod, Model, WaterBody};
use crate::targets::gb3838::{Param, limits};
use crate::targets::{Assessment, Class, ClassKm, Failing, KmBreakdown, PeriodKey, ZoneAssessment};
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

fn hex(c: Option<Class>) -> String {
    let c = class_color(c);
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn badge(l: Lang, c: Option<Class>) -> String {
    let fg = if matches!(c, Some(Class::IV)) {
        "#222"
    } else {
        "#fff"
    };
    format!(
        "<span class=\"badge\" style=\"background:{};color:{fg}\">{}</span>",
        hex(c),
        c.map_or("–".to_string(), |c| l.class(c.name()))
    )
}

fn verdict(l: Lang, z: &ZoneAssessment) -> String {
    if z.class.is_none() {
        format!("<span class=\"note\">{}</span>", l.t("not assessed"))
    } else if z.compliant == Some(true) {
        format!("<span class=\"ok\">✔ {}</span>", l.t("meets target"))
    } else {
        format!("<span class=\"fail\">✘ {}</span>", l.t("fails target"))
    }
}

fn failing_text(l: Lang, f: &[Failing]) -> String {
    if f.is_empty() {
        return "—".into();
    }
    f.iter()
        .map(|f| match f.exceedance_multiple {
            Some(e) => format!(
                "{} {} mg/L ({} {}, {} {})",
                escape(&f.parameter),
                sig(f.value),
                l.t("limit"),
                f.limit,
                l.t("exceedance multiple"),
                sig(e)
            ),
            None => format!(
                "{} {} mg/L ({} {})",
                escape(&f.parameter),
                sig(f.value),
                l.t("minimum"),
                f.limit
            ),
        })
        .collect::<Vec<_>>()
        .join("<br>")
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

fn km_head(out: &mut String, l: Lang, first: &str) {
    let _ = write!(out, "<tr><th>{}</th>", escape(first));
    for c in Class::ALL {
        let _ = write!(out, "<th>{}</th>", badge(l, Some(c)));
    }
    let _ = write!(out, "<th>{}</th></tr>", l.t("total km"));
}

const STYLE: &str = "
body{font-family:'rivsim-sans','DejaVu Sans',Arial,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:0;background:#f4f6f8;color:#1d2329}
header{background:#12406b;color:#fff;padding:22px 36px}
header h1{margin:0 0 6px 0;font-size:26px}
header p{margin:2px 0;opacity:.9;font-size:14px}
main{padding:18px 36px 40px 36px;max-width:1300px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:16px 22px;margin:18px 0}
h2{font-size:20px;margin:4px 0 12px 0;color:#12406b}
h3{font-size:16px;margin:18px 0 8px 0;color:#12406b}
.cards{display:flex;gap:16px;flex-wrap:wrap}
.card{flex:1;min-width:200px;background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:14px 18px}
.card .big{font-size:30px;font-weight:bold}
.card .lbl{font-size:13px;color:#555}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{border-bottom:1px solid #e1e5ea;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef2f6}
.badge{display:inline-block;min-width:30px;text-align:center;border-radius:4px;padding:1px 6px;font-weight:bold;white-space:nowrap}
.ok{color:#1e7d32;font-weight:bold}.fail{color:#c00000;font-weight:bold}
.share{color:#777;font-size:12px}
.grid{table-layout:fixed}.grid td{text-align:center;padding:4px 2px;font-size:13px}.grid th{white-space:nowrap;padding:4px 3px;font-size:13px;overflow:hidden;text-overflow:ellipsis}
.grid col.place{width:150px}.grid col.year{width:56px}
.miss{outline:2px solid #c00000;outline-offset:-2px}
figure{margin:10px 0 26px 0}figure img{max-width:100%;border:1px solid #dde}
figcaption{font-size:13px;color:#444;margin-top:4px}
.warn li{color:#8a5300}
.note{font-size:13px;color:#555}
";

/// Everything a report page shows besides the assessment.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// Plots to embed, in order.
    pub images: &'a [Image],
    /// The run's and the assessment's notes.
    pub warnings: &'a [String],
    /// The language.
    pub lang: Lang,
    /// One river one policy, one outfall one policy, if made.
    pub policies: Option<&'a Policies>,
}

/// The whole page in English, without policy pages. `images` are embedded in order; `warnings` are the run's
/// and the assessment's notes.
pub fn report_html(model: &Model, a: &Assessment, images: &[Image], warnings: &[String]) -> String {
    report_page(
        model,
        a,
        &Page {
            images,
            warnings,
            lang: Lang::En,
            policies: None,
        },
    )
}

/// The whole page (see the module docs).
pub fn report_page(model: &Model, a: &Assessment, page: &Page) -> String {
    let l = page.lang;
    let mut o = String::with_capacity(64 * 1024);
    header(&mut o, model, l);
    cards(&mut o, a, page.warnings.len(), l);
    zones_table(&mut o, a, l);
    month_tables(&mut o, model, a, l);
    sections_table(&mut o, a, l);
    km_tables(&mut o, a, l);
    if let Some(p) = page.policies {
        super::policy::policy_html(&mut o, model, a, p, l);
    }
    plots(&mut o, page.images, l);
    let _ = write!(o, "<section><h2>{}</h2>", l.t("Warnings"));
    if page.warnings.is_empty() {
        let _ = write!(o, "<p class=\"note\">{}</p>", l.t("None."));
    } else {
        o.push_str("<ul class=\"warn\">");
        for w in page.warnings {
            let _ = write!(o, "<li>{}</li>", escape(w));
        }
        o.push_str("</ul>");
    }
    let _ = writeln!(
        o,
        "</section><p class=\"note\">{}</p></main></body></html>",
        l.t("Classes by the single-factor method of GB 3838-2002 (worst parameter decides); figures in tables are rounded for reading, the CSV and JSON files keep full precision.")
    );
    // the font last: its subset holds exactly the characters of the page
    let face = crate::fonts::css_font_face(&crate::fonts::text_outside_tags(&o));
    o.replacen(FONT_SLOT, &face, 1)
}

const FONT_SLOT: &str = "/*rivsim-font*/";

fn header(o: &mut String, model: &Model, l: Lang) {
    let end = crate::targets::assess::datetime_at(model.sim.start, model.sim.end_s);
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{FONT_SLOT}{STYLE}</style></head><body>\
         <header><h1>{t}</h1><p>{scen} <code>{f}</code> · {s} {to} {e} · {w} h {wx} · {pol} {p}</p>\
         <p>{by} {v}</p></header><main>",
        lang = l.html(),
        t = escape(&model.title),
        scen = l.t("Scenario"),
        f = escape(&model.path.display().to_string()),
        s = model.sim.start.format("%Y-%m-%d %H:%M"),
        to = l.t("to"),
        e = end.format("%Y-%m-%d %H:%M"),
        w = sig(model.sim.warmup_s / 3600.0),
        wx = l.t("warm-up excluded"),
        pol = l.t("pollutants"),
        p = escape(&model.pollutants.join(", ")),
        by = l.t("Water quality assessed against GB 3838-2002 by rivsim"),
        v = env!("CARGO_PKG_VERSION"),
    );
}

fn cards(o: &mut String, a: &Assessment, n_warnings: usize, l: Lang) {
    // with years: the last year's zones and kilometres, the office's current standing
    let (zones, km, label) = match a.years.last() {
        Some(y) => (
            y.zones.iter().collect::<Vec<_>>(),
            &y.rivers,
            format!(" ({})", y.year),
        ),
        None => (
            a.zones.iter().collect(),
            &a.rivers.period_mean,
            format!(" ({})", l.t("period mean")),
        ),
    };
    let (n_ok, n_assessed) = crate::targets::compliant_count(zones.iter().copied());
    let vplus = km.km.worse_than_v();
    let total = a.rivers.total_km;
    let _ = write!(
        o,
        "<div class=\"cards\">\
         <div class=\"card\"><div class=\"big\">{n_ok} / {n_assessed}</div><div class=\"lbl\">{zl}{label}{unassessed}</div></div>\
         <div class=\"card\"><div class=\"big\" style=\"color:{red}\">{vplus:.2} km</div><div class=\"lbl\">{vl}, \
         {vs:.0}% {of} {total:.2} km{label}</div></div>\
         <div class=\"card\"><div class=\"big\">{wm:.2} km</div><div class=\"lbl\">{wml}</div></div>\
         <div class=\"card\"><div class=\"big\">{n_warnings}</div><div class=\"lbl\">{wl}</div></div></div>",
        unassessed = if n_assessed < zones.len() {
            format!(" · {} {}", zones.len() - n_assessed, l.t("not assessed"))
        } else {
            String::new()
        },
        zl = l.t("water-function zones meeting their target"),
        red = hex(Some(Class::VPlus)),
        vl = l.t("worse than class V (V+)"),
        vs = if total > 0.0 {
            100.0 * vplus / total
        } else {
            0.0
        },
        of = l.t("of"),
        wm = a.rivers.worst_month.km.worse_than_v(),
        wml = l.t("worse than V in their worst month"),
        wl = l.t("warnings"),
    );
}

fn method_text(l: Lang, z: &ZoneAssessment) -> String {
    match z.method {
        ComplianceMethod::AnnualMean => l.t("annual mean").to_string(),
        ComplianceMethod::Frequency => {
            format!(
                "{} ≥ {}%",
                l.t("frequency"),
                (1e6 * z.threshold).round() / 1e4
            )
        }
    }
}

fn zones_table(o: &mut String, a: &Assessment, l: Lang) {
    let _ = write!(o, "<section><h2>{}</h2>", l.t("Water-function zones"));
    if a.zones.is_empty() {
        let _ = write!(
            o,
            "<p class=\"note\">{}</p></section>",
            l.t("The scenario defines no water-function zone.")
        );
        return;
    }
    let _ = write!(
        o,
        "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>\
         <th>{}</th></tr>",
        l.t("Zone"),
        l.t("Year"),
        l.t("Target"),
        l.t("Class"),
        l.t("Verdict"),
        l.t("Method"),
        l.t("Compliance rate"),
        l.t("Sites"),
        l.t("Failing at the worst site"),
    );
    for z in a.zone_rows() {
        let sites: Vec<String> = z.sites.iter().map(|s| escape(&s.site)).collect();
        let year = match z.year {
            PeriodKey::Run => l.t("whole run").to_string(),
            PeriodKey::Year(y) => y.to_string(),
        };
        let _ = write!(
            o,
            "<tr><th>{}</th><td>{year}</td><td>{}</td><td>{}</td><td>{}</td><td>{}<br><span class=\"note\">{} {}, \
             {}</span></td><td>{:.0}%</td><td>{}</td><td>{}</td></tr>",
            escape(&z.id),
            badge(l, Some(z.target)),
            badge(l, z.class),
            verdict(l, z),
            method_text(l, z),
            z.samples,
            l.t("samples"),
            escape(&z.parameters.join(", ")),
            100.0 * z.compliance_rate,
            sites.join(", "),
            failing_text(l, &z.failing)
        );
    }
    o.push_str("</table></section>");
}

/// The years and months of the monthly table, as (year, month) keys.
fn years_of(a: &Assessment) -> Vec<i32> {
    let mut ys: Vec<i32> = a.monthly.iter().map(|r| r.month.year).collect();
    ys.sort();
    ys.dedup();
    ys
}

fn month_head(o: &mut String, l: Lang, first: &str, second: &str) {
    o.push_str("<table class=\"grid\"><colgroup><col class=\"place\"><col class=\"year\">");
    if !second.is_empty() {
        o.push_str("<col class=\"year\">");
    }
    o.push_str("</colgroup>");
    let _ = write!(o, "<tr><th>{}</th><th>{}</th>", escape(first), l.t("Year"));
    if !second.is_empty() {
        let _ = write!(o, "<th>{}</th>", escape(second));
    }
    for m in 1..=12 {
        match l {
            Lang::En => {
                let name = chrono::Month::try_from(m as u8).map_or("", |m| m.name());
                let _ = write!(o, "<th>{}</th>", &name[..name.len().min(3)]);
            }
            Lang::Zh => {
                let _ = write!(o, "<th>{m}月</th>");
            }
        }
    }
    o.push_str("</tr>");
}

/// The month tables: per zone (its own row and its sites') and per section in no zone, one row per year with
/// twelve month cells holding the month-mean class; then per section the month mean of every GB 3838 parameter
/// (coloured by its single-parameter class).
fn month_tables(o: &mut String, model: &Model, a: &Assessment, l: Lang) {
    if a.monthly.is_empty() {
        return;
    }
    let years = years_of(a);
    let _ = write!(
        o,
        "<section><h2>{}</h2><p class=\"note\">{}</p>",
        l.t("Month by month"),
        l.t("Class of the monthly mean at each zone's worst site and at each section; a red frame marks a month that misses the target.")
    );
    month_head(o, l, l.t("Zone"), "");
    // places in the table's order: (zone, section) as the monthly rows give them
    let mut places: Vec<(Option<&str>, Option<&str>)> = Vec::new();
    for r in &a.monthly {
        let key = (r.zone.as_deref(), r.section.as_deref());
        if !places.contains(&key) {
            places.push(key);
        }
    }
    for &(zone, section) in &places {
        for &y in &years {
            let rows: Vec<_> = a
                .monthly
                .iter()
                .filter(|r| {
                    r.zone.as_deref() == zone
                        && r.section.as_deref() == section
                        && r.month.year == y
                })
                .collect();
            if rows.is_empty() {
                continue;
            }
            let name = match (zone, section) {
                (Some(z), None) => format!("<b>{}</b>", escape(z)),
                (_, Some(s)) => format!("&nbsp;&nbsp;{}", escape(s)),
                (None, None) => String::new(),
            };
            let _ = write!(o, "<tr><th>{name}</th><td>{y}</td>");
            for m in 1..=12 {
                match rows.iter().find(|r| r.month.month == m) {
                    Some(r) => {
                        let _ = write!(
                            o,
                            "<td{}>{}</td>",
                            if r.compliant { "" } else { " class=\"miss\"" },
                            badge(l, r.class)
                        );
                    }
                    None => o.push_str("<td></td>"),
                }
            }
            o.push_str("</tr>");
        }
    }
    o.push_str("</table>");

    // concentrations
    let _ = write!(o, "<h3>{} (mg/L)</h3>", l.t("Monthly mean concentrations"));
    month_head(o, l, l.t("Section"), l.t("Parameter"));
    for &(zone, section) in &places {
        let Some(sec) = section else { continue };
        let body = model
            .sections
            .iter()
            .find(|s| s.id == sec)
            .and_then(|s| model.reaches.get(s.reach))
            .map_or(WaterBody::River, |r| r.water_body);
        for &y in &years {
            let rows: Vec<_> = a
                .monthly
                .iter()
                .filter(|r| {
                    r.zone.as_deref() == zone
                        && r.section.as_deref() == Some(sec)
                        && r.month.year == y
                })
                .collect();
            if rows.is_empty() {
                continue;
            }
            for (p, name) in model.pollutants.iter().enumerate() {
                let lim = Param::from_name(name).map(|q| limits(q, body));
                let _ = write!(
                    o,
                    "<tr><th>{}</th><td>{y}</td><td>{}</td>",
                    escape(sec),
                    escape(name)
                );
                for m in 1..=12 {
                    let v = rows
                        .iter()
                        .find(|r| r.month.month == m)
                        .and_then(|r| r.mean_mg_l.get(p).copied());
                    match v {
                        Some(v) if v.is_finite() => {
                            let style = lim.map_or(String::new(), |lim| {
                                format!(" style=\"background:{}33\"", hex(Some(lim.classify(v))))
                            });
                            let _ = write!(o, "<td{style}>{}</td>", sig(v));
                        }
                        _ => o.push_str("<td></td>"),
                    }
                }
                o.push_str("</tr>");
            }
        }
    }
    o.push_str("</table></section>");
}

fn sections_table(o: &mut String, a: &Assessment, l: Lang) {
    if a.sections.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<section><h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>\
         <th>{}</th></tr>",
        l.t("Assessment sections"),
        l.t("Section"),
        l.t("Zone"),
        l.t("Year"),
        l.t("Target"),
        l.t("Class"),
        l.t("Failing the target"),
        l.t("Failing class III"),
    );
    let periods: Vec<(String, &[crate::targets::SectionAssessment])> = if a.years.is_empty() {
        vec![(l.t("whole run").to_string(), &a.sections[..])]
    } else {
        a.years
            .iter()
            .map(|y| (y.year.to_string(), &y.sections[..]))
            .collect()
    };
    for (k, s) in a.sections.iter().enumerate() {
        for (label, list) in &periods {
            let Some(sy) = list.get(k) else { continue };
            let _ = write!(
                o,
                "<tr><th>{}</th><td>{}</td><td>{label}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&s.id),
                escape(s.zone.as_deref().unwrap_or("—")),
                badge(l, Some(sy.target)),
                badge(l, sy.class),
                failing_text(l, &sy.failing),
                failing_text(l, &sy.failing_class_iii)
            );
        }
    }
    o.push_str("</table></section>");
}

fn km_tables(o: &mut String, a: &Assessment, l: Lang) {
    let pm = &a.rivers.period_mean;
    let _ = write!(
        o,
        "<section><h2>{}</h2><table>",
        l.t("River length per class (km)")
    );
    km_head(o, l, l.t("View"));
    for y in &a.years {
        km_row(
            o,
            &y.year.to_string(),
            &y.rivers.km,
            y.rivers.unclassified_km,
        );
    }
    km_row(o, l.t("period mean"), &pm.km, pm.unclassified_km);
    km_row(
        o,
        l.t("time-weighted"),
        &a.rivers.time_weighted.km,
        a.rivers.time_weighted.unclassified_km,
    );
    km_row(
        o,
        l.t("worst month"),
        &a.rivers.worst_month.km,
        a.rivers.worst_month.unclassified_km,
    );
    o.push_str("</table>");
    if pm.unclassified_km > 0.0 {
        let _ = write!(
            o,
            "<p class=\"note\">{:.2} km {}</p>",
            pm.unclassified_km,
            l.t("could not be classified (no GB 3838 parameter simulated).")
        );
    }
    let mut views: Vec<(String, &KmBreakdown)> = a
        .years
        .iter()
        .map(|y| (y.year.to_string(), &y.rivers))
        .collect();
    if views.is_empty() {
        views.push((l.t("period mean").to_string(), pm));
    }
    for (title, level) in [
        (l.t("River-chief level"), true),
        (l.t("Jurisdiction"), false),
    ] {
        let map_of = |b: &KmBreakdown| {
            if level {
                b.by_level.clone()
            } else {
                b.by_jurisdiction.clone()
            }
        };
        if !views
            .iter()
            .any(|(_, b)| map_of(b).len() > 1 || map_of(b).keys().any(|k| k != "unassigned"))
        {
            continue;
        }
        let _ = write!(
            o,
            "<h3>{} ({})</h3><table>",
            l.t(if level {
                "by river-chief level"
            } else {
                "by jurisdiction"
            }),
            views
                .iter()
                .map(|v| escape(&v.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
        km_head(o, l, title);
        for (label, b) in &views {
            for (k, km) in map_of(b) {
                let name = if level { l.level(&k) } else { k.clone() };
                let row = if views.len() > 1 {
                    format!("{label} · {name}")
                } else {
                    name
                };
                km_row(o, &row, &km, 0.0);
            }
        }
        o.push_str("</table>");
    }
    o.push_str("</section>");
}

fn plots(o: &mut String, images: &[Image], l: Lang) {
    if images.is_empty() {
        return;
    }
    let _ = write!(o, "<section><h2>{}</h2>", l.t("Plots"));
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
