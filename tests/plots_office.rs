//! The office's plots: a comparison whose alternatives coincide still shows every line, its time axis reads as
//! dates, and many source groups get colours that stay apart.

use rivsim::projects::{CompareOutcome, compare_csv, plot_worse_than_v, plot_worse_than_v_png};
use rivsim::targets::ClassKm;

/// An outcome whose worse-than-V kilometres are `v(t)` at 60 daily output times.
fn outcome(name: &str, v: impl Fn(usize) -> f64) -> CompareOutcome {
    CompareOutcome {
        alternative: name.into(),
        zones: Vec::new(),
        years_km: Vec::new(),
        times_s: (0..60).map(|i| i as f64 * 86_400.0).collect(),
        km: (0..60)
            .map(|i| ClassKm {
                km: [0.0, 0.0, 0.0, 0.0, 0.0, v(i)],
            })
            .collect(),
    }
}

fn start() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(2025, 3, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
}

#[test]
fn coinciding_alternatives_all_stay_visible_and_the_axis_shows_dates() {
    // three alternatives with exactly the same line: drawn widest first, each colour must still show
    let outs = vec![
        outcome("baseline", |i| 10.0 - 0.1 * i as f64),
        outcome("all", |i| 10.0 - 0.1 * i as f64),
        outcome("late", |i| 10.0 - 0.1 * i as f64),
    ];
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("c.png");
    plot_worse_than_v_png(&png, "three alike", start(), &outs).unwrap();
    let img = image::open(&png).unwrap().to_rgb8();
    let colours = rivsim::colors::distinct(3);
    for (k, &(r, g, b)) in colours.iter().enumerate() {
        // pixels of exactly that colour (the legend swatch alone is 20 × ≤8 px; a 60-day line of 2–6 px over
        // ~900 px of width gives thousands): more than the swatch means the line itself shows
        let n = img.pixels().filter(|p| p.0 == [r, g, b]).count();
        assert!(n > 400, "alternative {k} shows {n} pixels");
    }
    assert!(rivsim::projects::line_width(0, 3) > rivsim::projects::line_width(2, 3));
    let svg = plot_worse_than_v("three alike", start(), &outs).unwrap();
    // dates on the time axis: the start and a date a month later
    assert!(svg.contains("2025-03-01"), "start date on the axis");
    assert!(svg.contains("2025-04-"), "a date in April on the axis");
    assert!(!svg.contains("days since start"));
    // the table is unaffected: one row per zone, none here
    assert_eq!(
        compare_csv(&outs),
        "alternative,zone,year,class,compliant,compliance_rate\n"
    );
}

#[test]
fn forty_source_groups_get_forty_distinct_colours() {
    let c = rivsim::colors::distinct(40);
    let mut sorted = c.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 40);
    // the closest pair by CIE 1976 ΔE: plotters' 99-colour palette, which the plots used before, has pairs
    // within its first 40 that are far closer
    let min = |v: &[(u8, u8, u8)]| {
        let mut m = f64::INFINITY;
        for i in 0..v.len() {
            for j in 0..i {
                m = m.min(rivsim::colors::delta_e(v[i], v[j]));
            }
        }
        m
    };
    let old: Vec<(u8, u8, u8)> = (0..40)
        .map(|k| {
            use plotters::style::{Color, Palette, Palette99};
            let c = Palette99::pick(k).to_rgba();
            let _ = Palette99::COLORS;
            (c.0, c.1, c.2)
        })
        .collect();
    assert!(min(&c) > 15.0, "{}", min(&c));
    assert!(
        min(&old) < min(&c) / 2.0,
        "old {} new {}",
        min(&old),
        min(&c)
    );
}
