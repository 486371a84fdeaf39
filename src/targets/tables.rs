//! The contents of `zones.csv` and `monthly.csv` (the caller writes the files atomically).
//!
//! Numbers are printed with Rust's `{}` (full round-trip precision); an empty cell means "none" (no class could
//! be given, no failing parameter); lists inside a cell are separated by `;`. Fields holding a comma, a quote or
//! a line break are quoted (RFC 4180).

use super::Assessment;
use super::gb3838::Class;
use crate::model::{ComplianceMethod, Sampling};

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn class_cell(c: Option<Class>) -> &'static str {
    c.map_or("", Class::name)
}

fn method_name(m: ComplianceMethod) -> &'static str {
    match m {
        ComplianceMethod::AnnualMean => "annual_mean",
        ComplianceMethod::Frequency => "frequency",
    }
}

fn sampling_name(s: Sampling) -> &'static str {
    match s {
        Sampling::Outputs => "outputs",
        Sampling::Monthly => "monthly",
    }
}

/// `zones.csv`: columns
/// `zone,site,year,target,method,threshold,sampling,samples,parameters,class,compliant,compliance_rate,failing`
/// (DESIGN.md §11).
///
/// One block per zone and assessment period ([`Assessment::zone_rows`]: `year` is `run` for the whole run, or
/// the calendar year with `[assessment] period = "year"`). In each block, first the zone's own row (`site` empty: the verdict of DESIGN.md §7 — worst site class,
/// compliant only if every site is, lowest site rate; `failing` lists the parameters failing the target at the
/// worst site, most severe first), then one row per site (section id, or reach id when the zone has no section;
/// `failing` empty). `parameters` are the assessed parameters, `samples` the number of samples, `compliant`
/// `true`/`false` (empty for a zone not assessed: no sample in its period), `compliance_rate` 1/0 for the annual-mean method or the share of samples meeting the target.
pub fn zones_csv(a: &Assessment) -> String {
    let mut out = String::from(
        "zone,site,year,target,method,threshold,sampling,samples,parameters,class,compliant,compliance_rate,failing\n",
    );
    for z in a.zone_rows() {
        let head = |site: &str| {
            format!(
                "{},{},{},{},{},{},{},{},{}",
                field(&z.id),
                field(site),
                z.year,
                z.target,
                method_name(z.method),
                z.threshold,
                sampling_name(z.sampling),
                z.samples,
                field(&z.parameters.join(";"))
            )
        };
        let failing: Vec<&str> = z.failing.iter().map(|f| f.parameter.as_str()).collect();
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            head(""),
            class_cell(z.class),
            super::compliant_cell(z.compliant),
            z.compliance_rate,
            field(&failing.join(";"))
        ));
        for s in &z.sites {
            out.push_str(&format!(
                "{},{},{},{},\n",
                head(&s.site),
                class_cell(s.class),
                s.compliant,
                s.compliance_rate
            ));
        }
    }
    out
}

/// `monthly.csv`: columns `zone,section,month,samples,target,class,compliant,compliance_rate,main_pollutants`,
/// then one column per pollutant (named as in `sections.csv`): the month mean concentration, mg/L, of a section
/// (or reach) row over the month's samples — empty on a zone's own row.
///
/// Rows in the order of [`Assessment::monthly`]: per zone, month by month, the zone's row (`section` empty)
/// then its sites'; then the sections that belong to no zone (`zone` empty, judged against class III by the
/// annual-mean method). `month` is `YYYY-MM`; `class` is the class of the month-mean concentrations;
/// `compliant` and `compliance_rate` apply the zone's method to the month's samples; `main_pollutants` are the
/// parameters whose month mean fails the target, most severe first (C/limit, or limit/C for DO).
pub fn monthly_csv(a: &Assessment, pollutants: &[String]) -> String {
    let mut out = String::from(
        "zone,section,month,samples,target,class,compliant,compliance_rate,main_pollutants",
    );
    for p in pollutants {
        out.push(',');
        out.push_str(&field(p));
    }
    out.push('\n');
    for r in &a.monthly {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}",
            field(r.zone.as_deref().unwrap_or("")),
            field(r.section.as_deref().unwrap_or("")),
            r.month,
            r.samples,
            r.target,
            class_cell(r.class),
            r.compliant,
            r.compliance_rate,
            field(&r.main_pollutants.join(";"))
        ));
        for p in 0..pollutants.len() {
            match r.mean_mg_l.get(p) {
                Some(v) if v.is_finite() => out.push_str(&format!(",{v}")),
                _ => out.push(','),
            }
        }
        out.push('\n');
    }
    out
}
