//! Section and zone assessment: single-factor classes, failing parameters, compliance over the period and per
//! calendar month.
//!
//! **Samples.** A place is judged on samples: the output times t_i ≥ warm-up (`model.sim.warmup_s`), or — for a
//! zone with `sampling = "monthly"` — one output time per calendar month, the one nearest to 00:00 of the
//! sampling day (default the 15th, the month's last day if the month is shorter), kept only if that instant lies
//! within the sampled window [first, last output time after the warm-up].
//!
//! **Class.** At one sample the class of a place is the worst over its assessed parameters of the
//! single-parameter classes (single-factor method). Over a period the class is that of the period-mean
//! concentrations C̄_p = (1/n)·Σ_i C_p(t_i) (arithmetic mean of the samples, mg/L).
//!
//! **Failing parameters** over a period: those whose period mean does not meet the limit L of the zone's target
//! class, each with value C̄, limit L and exceedance multiple C̄/L − 1 (null for DO, a minimum); the same list
//! against class III is reported as the environmental bulletins do.
//!
//! **Compliance** of one place over a set of n samples against target class T:
//! - annual-mean method (default): compliant iff class(C̄) ≤ T; `compliance_rate` is 1.0 if compliant, else 0.0;
//! - frequency method: m = number of samples whose class ≤ T; `compliance_rate` = m/n; compliant iff
//!   m/n ≥ threshold (default 0.8, compared with a 1e-12 allowance for round-off in m/n).
//!
//! A zone is assessed at its sites: the sections it names, else the sections on its reaches, else (with a
//! warning) the reach-mean concentrations of its reaches. Its class is the worst site class, it complies only if
//! every site does, and its `compliance_rate` is the lowest site rate (the worst section). A zone with no site or
//! no classifiable parameter, or no samples, is reported as not compliant with rate 0 and a warning.
//!
//! A section that belongs to no zone is still classified, against class III (the bulletins' reference), with
//! the default parameters, every output time after the warm-up and the annual-mean method. A section's summary
//! entry (`class`, `failing`) uses its zone's target, parameters and samples; a section assessed by several
//! zones (named by one, lying in another) takes the first of them in file order.
//!
//! References: GB 3838-2002 §5 (single-factor evaluation); Ministry of Environmental Protection, *Surface water
//! environmental quality assessment method (trial)* (地表水环境质量评价办法（试行）, 环办〔2011〕22号) for
//! period means, main pollutants and exceedance multiples; SL 395-2007 (water-function zone compliance by
//! frequency of compliant samples) for the frequency method.

use super::gb3838::{Class, Limits, Param, limits};
use super::{MonthKey, PeriodKey, TargetsError};
use crate::model::{ComplianceMethod, Model, Sampling, WaterBody};
use crate::transport::RunResults;
use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use serde::Serialize;

/// The assessed parameters of a place: `(pollutant index, limits for the place's water body)`. `zone_params`
/// non-empty: those pollutants (custom ones skipped; TN on a river uses the lake limits). Empty: every simulated
/// GB 3838 parameter that applies to the water body (TN only on lakes).
pub fn assessed_parameters(
    model: &Model,
    zone_params: &[usize],
    body: WaterBody,
) -> Vec<(usize, Limits)> {
    let param_of = |p: usize| model.pollutants.get(p).and_then(|n| Param::from_name(n));
    if zone_params.is_empty() {
        (0..model.pollutants.len())
            .filter_map(|p| param_of(p).map(|q| (p, q)))
            .filter(|(_, q)| q.applies_by_default(body))
            .map(|(p, q)| (p, limits(q, body)))
            .collect()
    } else {
        zone_params
            .iter()
            .filter_map(|&p| param_of(p).map(|q| (p, limits(q, body))))
            .collect()
    }
}

/// The date-time of an output time (seconds since the scenario start), to the millisecond.
pub fn datetime_at(start: NaiveDateTime, t_s: f64) -> NaiveDateTime {
    let ms = if t_s.is_finite() {
        (t_s * 1000.0).round().clamp(-9.0e15, 9.0e15) as i64
    } else {
        0
    };
    start
        .checked_add_signed(TimeDelta::milliseconds(ms))
        .unwrap_or(start)
}

/// The calendar month of an output time.
pub fn month_at(start: NaiveDateTime, t_s: f64) -> MonthKey {
    let d = datetime_at(start, t_s);
    MonthKey {
        year: d.year(),
        month: d.month(),
    }
}

/// Indices of the output times after the warm-up (t ≥ warmup_s, with a 1e-9 s allowance for round-off).
pub fn sample_indices(model: &Model, results: &RunResults) -> Vec<usize> {
    let w = model.sim.warmup_s;
    (0..results.output_times_s.len())
        .filter(|&i| results.output_times_s[i] >= w - 1e-9 * w.abs().max(1.0))
        .collect()
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let first = NaiveDate::from_ymd_opt(year, month, 1);
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    match (first, next) {
        (Some(a), Some(b)) => (b - a).num_days() as u32,
        _ => 28,
    }
}

/// Indices of monthly samples: per calendar month, the output time (after the warm-up) nearest to 00:00 of
/// day `day` (clamped to the month's last day), for the months whose sampling instant lies within the sampled
/// window. Ties go to the earlier output time.
pub fn monthly_sample_indices(model: &Model, results: &RunResults, day: u32) -> Vec<usize> {
    let cand = sample_indices(model, results);
    let times = &results.output_times_s;
    let (Some(&first), Some(&last)) = (cand.first(), cand.last()) else {
        return Vec::new();
    };
    let (t_first, t_last) = (times[first], times[last]);
    let start = model.sim.start;
    let mut m = month_at(start, t_first);
    let m_last = month_at(start, t_last);
    let mut out: Vec<usize> = Vec::new();
    while m <= m_last {
        let d = day.clamp(1, days_in_month(m.year, m.month));
        if let Some(at) =
            NaiveDate::from_ymd_opt(m.year, m.month, d).and_then(|x| x.and_hms_opt(0, 0, 0))
        {
            let t_star = (at - start).num_milliseconds() as f64 / 1000.0;
            if t_star >= t_first - 1e-6 && t_star <= t_last + 1e-6 {
                // nearest candidate
                let k = cand.partition_point(|&i| times[i] < t_star);
                let mut best = cand[k.min(cand.len() - 1)];
                if k > 0 {
                    let before = cand[k - 1];
                    if (t_star - times[before]) <= (times[best] - t_star).abs() {
                        best = before;
                    }
                }
                if out.last() != Some(&best) {
                    out.push(best);
                }
            }
        }
        m = m.next();
    }
    out
}

/// Where a site's concentrations come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteRef {
    /// A section (index into `Model::sections`).
    Section(usize),
    /// A reach's volume-weighted mean (index into `Model::reaches`).
    Reach(usize),
}

/// A place that is assessed, with its parameters.
#[derive(Debug, Clone)]
pub(crate) struct Site {
    pub name: String,
    pub place: SiteRef,
    pub params: Vec<(usize, Limits)>,
}

impl Site {
    fn value(&self, results: &RunResults, np: usize, i: usize, p: usize) -> f64 {
        match self.place {
            SiteRef::Section(s) => results.section_conc[i][s * np + p],
            SiteRef::Reach(r) => results.reach_conc[i][r * np + p],
        }
    }
}

/// A parameter that fails a class limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failing {
    /// Parameter name.
    pub parameter: String,
    /// Concentration, mg/L (a period or month mean).
    pub value: f64,
    /// The limit it fails, mg/L.
    pub limit: f64,
    /// C/limit − 1; `null` for DO (a minimum).
    pub exceedance_multiple: Option<f64>,
}

/// A site evaluated over a set of samples.
#[derive(Debug, Clone)]
pub(crate) struct SiteEval {
    /// Mean per assessed parameter (site.params order), mg/L.
    pub mean: Vec<f64>,
    /// Class of the means (None: no parameter or no sample).
    pub class: Option<Class>,
    /// Class at each sample.
    pub sample_classes: Vec<Option<Class>>,
    /// Number of samples meeting the target.
    pub meets: usize,
}

pub(crate) fn class_of(values: impl Iterator<Item = (f64, Limits)>) -> Option<Class> {
    values.map(|(v, l)| l.classify(v)).max()
}

pub(crate) fn eval_site(
    site: &Site,
    results: &RunResults,
    np: usize,
    samples: &[usize],
    target: Class,
) -> SiteEval {
    let mut sum = vec![0.0; site.params.len()];
    let mut sample_classes = Vec::with_capacity(samples.len());
    let mut meets = 0;
    for &i in samples {
        let mut worst: Option<Class> = None;
        for (k, &(p, lim)) in site.params.iter().enumerate() {
            let v = site.value(results, np, i, p);
            sum[k] += v;
            let c = lim.classify(v);
            worst = Some(worst.map_or(c, |w| w.max(c)));
        }
        if worst.is_some_and(|c| c.meets(target)) {
            meets += 1;
        }
        sample_classes.push(worst);
    }
    let n = samples.len();
    let mean: Vec<f64> = sum
        .iter()
        .map(|s| if n > 0 { s / n as f64 } else { f64::NAN })
        .collect();
    let class = if n == 0 {
        None
    } else {
        class_of(mean.iter().zip(&site.params).map(|(&v, &(_, l))| (v, l)))
    };
    SiteEval {
        mean,
        class,
        sample_classes,
        meets,
    }
}

pub(crate) fn failing(model: &Model, site: &Site, mean: &[f64], class: Class) -> Vec<Failing> {
    let mut out: Vec<(f64, Failing)> = Vec::new();
    for (&v, &(p, lim)) in mean.iter().zip(&site.params) {
        if let (false, Some(limit)) = (lim.meets(v, class), lim.limit(class)) {
            out.push((
                lim.severity(v, class),
                Failing {
                    parameter: model.pollutants[p].clone(),
                    value: v,
                    limit,
                    exceedance_multiple: lim.exceedance_multiple(v, class),
                },
            ));
        }
    }
    // most severe first (C/L, or L/C for DO)
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    out.into_iter().map(|(_, f)| f).collect()
}

/// Compliance verdict over a set of samples: `(compliant, compliance_rate)` per the module docs.
pub(crate) fn verdict(
    ev: &SiteEval,
    n: usize,
    method: ComplianceMethod,
    threshold: f64,
    target: Class,
) -> (bool, f64) {
    if n == 0 || ev.class.is_none() {
        return (false, 0.0);
    }
    match method {
        ComplianceMethod::AnnualMean => {
            let ok = ev.class.is_some_and(|c| c.meets(target));
            (ok, if ok { 1.0 } else { 0.0 })
        }
        ComplianceMethod::Frequency => {
            let share = ev.meets as f64 / n as f64;
            (share >= threshold - 1e-12, share)
        }
    }
}

/// The class, failing parameters and samples of one section (the `class` and `failing` keys of a
/// `summary.json` section, DESIGN.md §7, plus `zone`, `target` and `failing_class_iii`).
#[derive(Debug, Clone, Serialize)]
pub struct SectionAssessment {
    /// Section id.
    #[serde(skip)]
    pub id: String,
    /// The zone the section is judged in (its first zone), if any.
    pub zone: Option<String>,
    /// Target class: the zone's, or III for a section in no zone.
    pub target: Class,
    /// Class of the period-mean concentrations (`null` if nothing could be classified).
    pub class: Option<Class>,
    /// Parameters whose period mean fails the target, most severe first.
    pub failing: Vec<Failing>,
    /// Parameters whose period mean fails class III, most severe first.
    pub failing_class_iii: Vec<Failing>,
    /// Output-time indices of the samples.
    #[serde(skip)]
    pub sample_indices: Vec<usize>,
    /// The section's class at each sample.
    #[serde(skip)]
    pub sample_classes: Vec<Option<Class>>,
    /// Assessed parameters: pollutant indices.
    #[serde(skip)]
    pub parameters: Vec<usize>,
    /// Period mean of each assessed parameter (same order as `parameters`), mg/L.
    #[serde(skip)]
    pub mean_mg_l: Vec<f64>,
}

/// One site of a zone, assessed over the period.
#[derive(Debug, Clone, Serialize)]
pub struct SiteAssessment {
    /// Section id, or reach id when the zone has no section.
    pub site: String,
    /// Section or reach.
    #[serde(skip)]
    pub place: SiteRef,
    /// Period-mean class.
    pub class: Option<Class>,
    /// Compliant over the period.
    pub compliant: bool,
    /// 1/0 (annual mean) or the share of samples meeting the target (frequency).
    pub compliance_rate: f64,
}

/// A zone's verdict over the period (serialises to exactly the `zones` entry of DESIGN.md §7).
#[derive(Debug, Clone, Serialize)]
pub struct ZoneAssessment {
    /// Zone id.
    pub id: String,
    /// The period judged: the whole run, or a calendar year (DESIGN.md §11).
    pub year: PeriodKey,
    /// Target class.
    pub target: Class,
    /// Compliance method.
    pub method: ComplianceMethod,
    /// Worst site's period-mean class.
    pub class: Option<Class>,
    /// Every site compliant; `None` (`null` in `summary.json`) when the zone was not assessed: no sample in
    /// its period, no site or no parameter to judge (a zone nobody measured neither meets nor fails).
    pub compliant: Option<bool>,
    /// Lowest site compliance rate (see the module docs); 0 when not assessed.
    pub compliance_rate: f64,
    /// Frequency threshold.
    #[serde(skip)]
    pub threshold: f64,
    /// Sampling.
    #[serde(skip)]
    pub sampling: Sampling,
    /// Number of samples.
    pub samples: usize,
    /// Assessed parameter names (of the first site; sites on one water body share them).
    #[serde(skip)]
    pub parameters: Vec<String>,
    /// The sites.
    #[serde(skip)]
    pub sites: Vec<SiteAssessment>,
    /// Parameters failing the target at the worst site, most severe first.
    #[serde(skip)]
    pub failing: Vec<Failing>,
}

/// One row of the monthly table: a zone (section `None`: the zone as a whole) or one of its sites, or a
/// section in no zone (zone `None`), in one calendar month.
#[derive(Debug, Clone, Serialize)]
pub struct MonthlyRow {
    /// Zone id.
    pub zone: Option<String>,
    /// Section (or reach) id; `None` for the zone's own row.
    pub section: Option<String>,
    /// Month, `YYYY-MM`.
    pub month: MonthKey,
    /// Number of samples in the month.
    pub samples: usize,
    /// Target class.
    pub target: Class,
    /// Month-mean class (worst site for a zone row).
    pub class: Option<Class>,
    /// Compliant in the month by the zone's method (every site for a zone row).
    pub compliant: bool,
    /// As for the period, over the month's samples (lowest site for a zone row).
    pub compliance_rate: f64,
    /// Parameters failing the target on month means, most severe first (for a zone row: over all sites,
    /// each parameter once, at its most severe site).
    pub main_pollutants: Vec<String>,
    /// The month mean of every pollutant (model order) over the month's samples, mg/L, for a section (or
    /// reach) row; empty for a zone's own row.
    pub mean_mg_l: Vec<f64>,
}

/// How a place is judged: target, parameters, samples, method.
struct Judge<'a> {
    target: Class,
    method: ComplianceMethod,
    threshold: f64,
    samples: &'a [usize],
}

fn site_for_section(model: &Model, s: usize, zone_params: &[usize]) -> Site {
    let sec = &model.sections[s];
    let body = model
        .reaches
        .get(sec.reach)
        .map_or(WaterBody::River, |r| r.water_body);
    Site {
        name: sec.id.clone(),
        place: SiteRef::Section(s),
        params: assessed_parameters(model, zone_params, body),
    }
}

/// The sites of zone `z` (see the module docs) and a warning when it falls back to reaches or has none.
pub(crate) fn zone_sites(model: &Model, z: usize) -> (Vec<Site>, Option<String>) {
    let zone = &model.zones[z];
    let mut secs: Vec<usize> = zone.sections.clone();
    if secs.is_empty() {
        secs = (0..model.sections.len())
            .filter(|&s| {
                model
                    .reaches
                    .get(model.sections[s].reach)
                    .and_then(|r| r.zone)
                    == Some(z)
            })
            .collect();
    }
    secs.retain(|&s| s < model.sections.len());
    if !secs.is_empty() {
        let sites = secs
            .iter()
            .map(|&s| site_for_section(model, s, &zone.parameters))
            .collect();
        return (sites, None);
    }
    let sites: Vec<Site> = (0..model.reaches.len())
        .filter(|&r| model.reaches[r].zone == Some(z))
        .map(|r| Site {
            name: model.reaches[r].id.clone(),
            place: SiteRef::Reach(r),
            params: assessed_parameters(model, &zone.parameters, model.reaches[r].water_body),
        })
        .collect();
    let warn = if sites.is_empty() {
        format!("zone {}: no section and no reach; not assessed", zone.id)
    } else {
        format!(
            "zone {}: no section; assessed on the reach-mean concentrations of its {} reach(es)",
            zone.id,
            sites.len()
        )
    };
    (sites, Some(warn))
}

/// The samples of zone `z`.
pub fn zone_sample_indices(model: &Model, results: &RunResults, z: usize) -> Vec<usize> {
    let zone = &model.zones[z];
    match zone.sampling {
        Sampling::Outputs => sample_indices(model, results),
        Sampling::Monthly => monthly_sample_indices(model, results, zone.sampling_day),
    }
}

/// The calendar year of an output time.
pub fn year_at(start: NaiveDateTime, t_s: f64) -> i32 {
    datetime_at(start, t_s).year()
}

/// The samples that lie in calendar year `year` (all of them for `None`).
pub fn in_year(
    model: &Model,
    results: &RunResults,
    mut samples: Vec<usize>,
    year: Option<i32>,
) -> Vec<usize> {
    if let Some(y) = year {
        samples.retain(|&i| year_at(model.sim.start, results.output_times_s[i]) == y);
    }
    samples
}

/// The calendar years of the output times after the warm-up, in order.
pub fn years(model: &Model, results: &RunResults) -> Vec<i32> {
    let mut out: Vec<i32> = Vec::new();
    for i in sample_indices(model, results) {
        let y = year_at(model.sim.start, results.output_times_s[i]);
        if out.last() != Some(&y) {
            out.push(y);
        }
    }
    out
}

/// Split sample indices by calendar month (in time order).
pub(crate) fn by_month(
    model: &Model,
    results: &RunResults,
    samples: &[usize],
) -> Vec<(MonthKey, Vec<usize>)> {
    let mut out: Vec<(MonthKey, Vec<usize>)> = Vec::new();
    for &i in samples {
        let m = month_at(model.sim.start, results.output_times_s[i]);
        match out.last_mut() {
            Some((k, v)) if *k == m => v.push(i),
            _ => out.push((m, vec![i])),
        }
    }
    out
}

struct MonthSite {
    /// Month mean of every pollutant (model order), mg/L.
    mean_mg_l: Vec<f64>,
    class: Option<Class>,
    compliant: bool,
    rate: f64,
    failing: Vec<Failing>,
    n: usize,
}

fn month_site(
    model: &Model,
    results: &RunResults,
    site: &Site,
    samples: &[usize],
    j: &Judge,
) -> MonthSite {
    let np = model.pollutants.len();
    let ev = eval_site(site, results, np, samples, j.target);
    let (compliant, rate) = verdict(&ev, samples.len(), j.method, j.threshold, j.target);
    let failing = if samples.is_empty() {
        Vec::new()
    } else {
        failing(model, site, &ev.mean, j.target)
    };
    let n = samples.len();
    let mean_mg_l = (0..np)
        .map(|p| {
            if n == 0 {
                f64::NAN
            } else {
                samples
                    .iter()
                    .map(|&i| site.value(results, np, i, p))
                    .sum::<f64>()
                    / n as f64
            }
        })
        .collect();
    MonthSite {
        mean_mg_l,
        class: ev.class,
        compliant,
        rate,
        failing,
        n: samples.len(),
    }
}

/// What [`assess_places`] returns: sections, zones, monthly rows, warnings.
pub(crate) type Places = (
    Vec<SectionAssessment>,
    Vec<ZoneAssessment>,
    Vec<MonthlyRow>,
    Vec<String>,
);

/// A zone judged over the whole period on its sites (the part of [`assess_places`] that the zone's
/// verdict needs).
struct ZonePeriod {
    target: Class,
    sites: Vec<Site>,
    samples: Vec<usize>,
    site_results: Vec<SiteAssessment>,
    compliant: bool,
    rate: f64,
    /// The worst site's class and failing parameters (with `detail`).
    worst: Option<(Class, Vec<Failing>)>,
    /// Where the zone's sites came from, when worth saying (`zone_sites`).
    warning: Option<String>,
}

/// Zone `z` judged over the whole period; `detail`: also find its worst site's failing parameters.
fn zone_period(
    model: &Model,
    results: &RunResults,
    z: usize,
    detail: bool,
    year: Option<i32>,
) -> Result<ZonePeriod, TargetsError> {
    let np = model.pollutants.len();
    let zone = &model.zones[z];
    let target = Class::from_target(zone.target).ok_or_else(|| TargetsError::Zone {
        zone: zone.id.clone(),
        field: "target".into(),
        value: zone.target.to_string(),
        expected: "1 (I) … 5 (V)".into(),
    })?;
    if !(zone.threshold > 0.0 && zone.threshold <= 1.0) {
        return Err(TargetsError::Zone {
            zone: zone.id.clone(),
            field: "threshold".into(),
            value: zone.threshold.to_string(),
            expected: "a share in (0, 1]".into(),
        });
    }
    let (sites, warning) = zone_sites(model, z);
    let samples = in_year(model, results, zone_sample_indices(model, results, z), year);
    let mut site_results = Vec::with_capacity(sites.len());
    let mut worst: Option<(Class, Vec<Failing>)> = None;
    for site in &sites {
        let ev = eval_site(site, results, np, &samples, target);
        let (ok, rate) = verdict(&ev, samples.len(), zone.method, zone.threshold, target);
        if detail
            && let Some(c) = ev
                .class
                .filter(|&c| worst.as_ref().is_none_or(|(w, _)| c > *w))
        {
            worst = Some((c, failing(model, site, &ev.mean, target)));
        }
        site_results.push(SiteAssessment {
            site: site.name.clone(),
            place: site.place,
            class: ev.class,
            compliant: ok,
            compliance_rate: rate,
        });
    }
    let compliant = !site_results.is_empty() && site_results.iter().all(|s| s.compliant);
    let rate = site_results
        .iter()
        .map(|s| s.compliance_rate)
        .fold(None, |a: Option<f64>, r| Some(a.map_or(r, |a| a.min(r))))
        .unwrap_or(0.0);
    Ok(ZonePeriod {
        target,
        sites,
        samples,
        site_results,
        compliant,
        rate,
        worst,
        warning,
    })
}

/// Every zone's verdict over the whole period, (compliant, compliance rate), as [`assess_places`] gives
/// them, without the monthly table and the sections (what ranking by compliance compares).
pub(crate) fn zone_verdicts(
    model: &Model,
    results: &RunResults,
) -> Result<Vec<(bool, f64)>, TargetsError> {
    (0..model.zones.len())
        .map(|z| zone_period(model, results, z, false, None).map(|zp| (zp.compliant, zp.rate)))
        .collect()
}

/// Sections, zones and (over the whole run) the monthly table, over the whole run (`year` `None`) or over one
/// calendar year. Returns warnings for zones that could not be assessed as asked (the whole run's pass says
/// what holds for every year; a year's pass adds only the zones with no sample in that year).
pub(crate) fn assess_places(
    model: &Model,
    results: &RunResults,
    year: Option<i32>,
) -> Result<Places, TargetsError> {
    let key = year.map_or(PeriodKey::Run, PeriodKey::Year);
    let np = model.pollutants.len();
    let mut warnings = Vec::new();
    let mut zones = Vec::with_capacity(model.zones.len());
    let mut monthly = Vec::new();
    // first zone of each section
    let mut section_zone: Vec<Option<usize>> = vec![None; model.sections.len()];

    for (z, zone) in model.zones.iter().enumerate() {
        let ZonePeriod {
            target,
            sites,
            samples,
            site_results,
            compliant,
            rate,
            worst,
            warning: warn,
        } = zone_period(model, results, z, true, year)?;
        if year.is_none() {
            warnings.extend(warn);
        }
        for site in &sites {
            if let SiteRef::Section(s) = site.place {
                section_zone[s].get_or_insert(z);
            }
        }
        if samples.is_empty() && !sites.is_empty() {
            warnings.push(match year {
                None => format!(
                    "zone {}: no sample after the warm-up ({:?} sampling); not assessed",
                    zone.id, zone.sampling
                ),
                Some(y) => format!(
                    "zone {} in {y}: no sample in the year ({:?} sampling); not assessed",
                    zone.id, zone.sampling
                ),
            });
        }
        if year.is_none() && sites.iter().any(|s| s.params.is_empty()) {
            warnings.push(format!(
                "zone {}: no GB 3838 parameter to assess (simulated: {})",
                zone.id,
                model.pollutants.join(", ")
            ));
        }
        let judge = Judge {
            target,
            method: zone.method,
            threshold: zone.threshold,
            samples: &samples,
        };
        let class = site_results.iter().filter_map(|s| s.class).max();
        let parameters = sites
            .first()
            .map(|s| {
                s.params
                    .iter()
                    .map(|&(p, _)| model.pollutants[p].clone())
                    .collect()
            })
            .unwrap_or_default();

        // months (once, in the whole run's pass)
        let months = if year.is_none() {
            by_month(model, results, &samples)
        } else {
            Vec::new()
        };
        for (month, idx) in months {
            let mj = Judge {
                samples: &idx,
                ..judge
            };
            let mut zone_row = MonthlyRow {
                zone: Some(zone.id.clone()),
                section: None,
                month,
                samples: idx.len(),
                target,
                class: None,
                compliant: !sites.is_empty(),
                compliance_rate: f64::INFINITY,
                main_pollutants: Vec::new(),
                mean_mg_l: Vec::new(),
            };
            let mut zone_failing: Vec<(f64, String)> = Vec::new();
            let mut rows = Vec::new();
            for site in &sites {
                let ms = month_site(model, results, site, mj.samples, &mj);
                zone_row.class = zone_row.class.max(ms.class);
                zone_row.compliant &= ms.compliant;
                zone_row.compliance_rate = zone_row.compliance_rate.min(ms.rate);
                for f in &ms.failing {
                    let sev = f.value / f.limit;
                    let sev = if f.exceedance_multiple.is_none() {
                        1.0 / sev.max(1e-12)
                    } else {
                        sev
                    };
                    match zone_failing.iter_mut().find(|(_, n)| *n == f.parameter) {
                        Some(e) => e.0 = e.0.max(sev),
                        None => zone_failing.push((sev, f.parameter.clone())),
                    }
                }
                rows.push(MonthlyRow {
                    zone: Some(zone.id.clone()),
                    section: Some(site.name.clone()),
                    month,
                    samples: ms.n,
                    target,
                    class: ms.class,
                    compliant: ms.compliant,
                    compliance_rate: ms.rate,
                    main_pollutants: ms.failing.into_iter().map(|f| f.parameter).collect(),
                    mean_mg_l: ms.mean_mg_l,
                });
            }
            if !zone_row.compliance_rate.is_finite() {
                zone_row.compliance_rate = 0.0;
            }
            zone_failing.sort_by(|a, b| b.0.total_cmp(&a.0));
            zone_row.main_pollutants = zone_failing.into_iter().map(|(_, n)| n).collect();
            monthly.push(zone_row);
            monthly.extend(rows);
        }

        zones.push(ZoneAssessment {
            id: zone.id.clone(),
            year: key,
            target,
            method: zone.method,
            class,
            compliant: class.map(|_| compliant),
            compliance_rate: rate,
            threshold: zone.threshold,
            sampling: zone.sampling,
            samples: samples.len(),
            parameters,
            sites: site_results,
            failing: worst.map(|(_, f)| f).unwrap_or_default(),
        });
    }

    // sections
    let all_samples = in_year(model, results, sample_indices(model, results), year);
    let mut sections = Vec::with_capacity(model.sections.len());
    for (s, own_zone) in section_zone.iter().enumerate() {
        let (zone_id, target, params, samples, method, threshold) = match *own_zone {
            Some(z) => {
                let zone = &model.zones[z];
                (
                    Some(zone.id.clone()),
                    Class::from_target(zone.target).unwrap_or(Class::III),
                    zone.parameters.clone(),
                    in_year(model, results, zone_sample_indices(model, results, z), year),
                    zone.method,
                    zone.threshold,
                )
            }
            None => (
                None,
                Class::III,
                Vec::new(),
                all_samples.clone(),
                ComplianceMethod::AnnualMean,
                1.0,
            ),
        };
        let site = site_for_section(model, s, &params);
        let ev = eval_site(&site, results, np, &samples, target);
        let (fail, fail3) = if samples.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            (
                failing(model, &site, &ev.mean, target),
                failing(model, &site, &ev.mean, Class::III),
            )
        };
        if zone_id.is_none() && year.is_none() {
            let judge = Judge {
                target,
                method,
                threshold,
                samples: &samples,
            };
            for (month, idx) in by_month(model, results, &samples) {
                let ms = month_site(
                    model,
                    results,
                    &site,
                    &idx,
                    &Judge {
                        samples: &idx,
                        ..judge
                    },
                );
                monthly.push(MonthlyRow {
                    zone: None,
                    section: Some(site.name.clone()),
                    month,
                    samples: ms.n,
                    target,
                    class: ms.class,
                    compliant: ms.compliant,
                    compliance_rate: ms.rate,
                    main_pollutants: ms.failing.into_iter().map(|f| f.parameter).collect(),
                    mean_mg_l: ms.mean_mg_l,
                });
            }
        }
        sections.push(SectionAssessment {
            id: site.name.clone(),
            zone: zone_id,
            target,
            class: ev.class,
            failing: fail,
            failing_class_iii: fail3,
            sample_indices: samples,
            sample_classes: ev.sample_classes,
            parameters: site.params.iter().map(|&(p, _)| p).collect(),
            mean_mg_l: ev.mean,
        });
    }
    Ok((sections, zones, monthly, warnings))
}
