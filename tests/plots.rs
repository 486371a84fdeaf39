//! Plots and the HTML report on a small looped network with hand-made concentrations.
//!
//! Each PNG is checked from its header (signature and dimensions) and decoded to count pixels of the colours
//! that must be there (a class colour on the map, the red target line). Set `RIVSIM_SAMPLE_REPORT_DIR` to keep
//! the sample plots and `report.html` in that directory (for looking at them).

use chrono::NaiveDate;
use rivsim::model::*;
use rivsim::report::html::{Image, load_images, report_html};
use rivsim::report::markup::escape;
use rivsim::report::plot::*;
use rivsim::targets::{Class, ClassKm, assess};
use rivsim::transport::RunResults;
use std::path::Path;

const DAY: f64 = 86400.0;

fn node(id: &str, x: f64, y: f64) -> Node {
    Node {
        id: id.into(),
        kind: NodeKind::Junction,
        xy: Some((x, y)),
        level_m: None,
        bed_m: None,
        concentration: vec![],
        area_m2: None,
    }
}

fn reach(
    id: &str,
    from: usize,
    to: usize,
    length_m: f64,
    river: &str,
    level: ChiefLevel,
    jur: &str,
) -> Reach {
    Reach {
        id: id.into(),
        from,
        to,
        length_m,
        section: Section::Rectangle { width_m: 10.0 },
        bed_up_m: 0.0,
        bed_down_m: 0.0,
        manning_n: 0.03,
        dispersion_m2s: 0.0,
        decay_per_day: vec![0.0; 4],
        release_g_m2_day: vec![0.0; 4],
        cell_length_m: 100.0,
        water_body: WaterBody::River,
        zone: None,
        jurisdiction: Some(jur.into()),
        level: Some(level),
        river: Some(river.into()),
        geometry: vec![],
    }
}

/// A year, daily output, two rivers and a loop; the upstream inflow of Main River is worse than V in winter
/// and improves downstream and in summer.
fn sample() -> (Model, RunResults) {
    let nodes = vec![
        node("U1", 0.0, 0.0),
        node("J1", 3000.0, 500.0),
        node("J2", 6000.0, 0.0),
        node("O", 9000.0, 200.0),
        node("U2", 0.0, -2500.0),
        node("J3", 3000.0, -1500.0),
    ];
    use ChiefLevel::*;
    let mut reaches = vec![
        reach("R1", 0, 1, 3100.0, "Main River", District, "Town A"),
        reach("R2", 1, 2, 3200.0, "Main River", District, "Town A"),
        reach("R3", 2, 3, 3000.0, "Main River", District, "Town B"),
        reach("R4", 4, 5, 3200.0, "Xi Creek", Town, "Town B"),
        reach("R5", 5, 2, 3400.0, "Xi Creek", Town, "Town B"),
        reach("R6", 1, 5, 2000.0, "Link Canal", Village, "Town A"),
    ];
    reaches[0].zone = Some(0);
    reaches[1].zone = Some(0);
    reaches[2].zone = Some(1);
    reaches[3].zone = Some(2);
    reaches[4].zone = Some(2);
    // two-factor-like selection (NH3N, TP), monthly sampling on the 15th
    let monthly = Zone {
        id: "Z3 Xi Creek".into(),
        target: 5,
        parameters: vec![1, 2],
        method: ComplianceMethod::Frequency,
        threshold: 0.8,
        sections: vec![],
        sampling: Sampling::Monthly,
        sampling_day: 15,
    };
    let zones = vec![
        Zone {
            id: "Z1 Main upper".into(),
            target: 4,
            parameters: vec![],
            method: ComplianceMethod::Frequency,
            threshold: 0.8,
            sections: vec![],
            sampling: Sampling::Outputs,
            sampling_day: 15,
        },
        Zone {
            id: "Z2 Main lower".into(),
            target: 3,
            parameters: vec![],
            method: ComplianceMethod::AnnualMean,
            threshold: 0.8,
            sections: vec![],
            sampling: Sampling::Outputs,
            sampling_day: 15,
        },
        monthly,
    ];
    let sections = vec![
        SectionPoint {
            id: "S1".into(),
            reach: 0,
            at_m: 2000.0,
        },
        SectionPoint {
            id: "S2".into(),
            reach: 2,
            at_m: 2500.0,
        },
        SectionPoint {
            id: "S3".into(),
            reach: 4,
            at_m: 3000.0,
        },
    ];
    let model = Model {
        title: "Sample district <two rivers & a loop>".into(),
        path: "scenarios/sample.toml".into(),
        sim: Simulation {
            start: NaiveDate::from_ymd_opt(2025, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            end_s: 364.0 * DAY,
            time_step_s: None,
            output_interval_s: DAY,
            warmup_s: 5.0 * DAY,
            mode: Mode::Dynamic,
            hydraulics: FlowModel::Steady,
            max_steps: MAX_TRANSPORT_STEPS,
        },
        pollutants: vec!["COD".into(), "NH3N".into(), "TP".into(), "DO".into()],
        nodes,
        reaches,
        zones,
        sections,
        ..Default::default()
    };
    // reach "badness" factor: upstream worst; seasonal factor: winter worst
    let reach_f = [1.8, 1.1, 0.7, 0.9, 0.8, 1.0];
    let season = |i: usize| 1.0 + 0.45 * (2.0 * std::f64::consts::PI * i as f64 / 365.0).cos();
    let conc = |i: usize, f: f64, p: usize| -> f64 {
        let s = season(i) * f;
        match p {
            0 => 18.0 * s + 2.0 * ((i * 7) % 5) as f64,
            1 => 1.25 * s,
            2 => 0.22 * s,
            _ => (8.0 - 2.5 * s).max(0.5),
        }
    };
    let nt = 365;
    let sec_reach = [0usize, 2, 4];
    let results = RunResults {
        mean_cell_conc: Vec::new(),
        output_times_s: (0..nt).map(|i| i as f64 * DAY).collect(),
        pollutants: model.pollutants.clone(),
        section_conc: (0..nt)
            .map(|i| {
                (0..12)
                    .map(|k| conc(i, reach_f[sec_reach[k / 4]], k % 4))
                    .collect()
            })
            .collect(),
        reach_conc: (0..nt)
            .map(|i| (0..24).map(|k| conc(i, reach_f[k / 4], k % 4)).collect())
            .collect(),
        output_period: vec![0; nt],
        mass_balance: vec![Default::default(); 4],
        warnings: vec!["time step cut to 300 s by the Courant limit".into()],
        steps: 0,
        final_cell_conc: vec![],
    };
    (model, results)
}

/// (width, height) from a PNG's IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    assert_eq!(&b[12..16], b"IHDR");
    let be = |k: usize| u32::from_be_bytes([b[k], b[k + 1], b[k + 2], b[k + 3]]);
    (be(16), be(20))
}

/// Pixels within ±8 per channel of a colour.
fn count_color(path: &Path, c: RGBColorLike) -> usize {
    let img = image::open(path).unwrap().to_rgb8();
    img.pixels()
        .filter(|p| (0..3).all(|k| (p[k] as i32 - c[k] as i32).abs() <= 8))
        .count()
}

type RGBColorLike = [u8; 3];

fn rgb(c: Option<Class>) -> RGBColorLike {
    let c = class_color(c);
    [c.0, c.1, c.2]
}

fn out_dir() -> (Option<tempfile::TempDir>, std::path::PathBuf) {
    match std::env::var_os("RIVSIM_SAMPLE_REPORT_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            (None, d.into())
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

#[test]
fn standard_plots_and_report() {
    let (model, results) = sample();
    let a = assess(&model, &results).unwrap();
    let (_keep, dir) = out_dir();
    let net = rivsim::network::Network::build(&model);
    let plots = standard_plots(&model, &net, &results, &a, &dir, rivsim::lang::Lang::En).unwrap();
    let names: Vec<String> = plots
        .iter()
        .map(|p| p.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "map.png",
            "classes_km.png",
            // ids keep their characters: a space is legal in file names everywhere
            "profile_Main River.png",
            "profile_Xi Creek.png",
            "profile_Link Canal.png",
            "section_S1.png",
            "section_S2.png",
            "section_S3.png"
        ]
    );
    // sizes from each figure's layout: map 1100×900; bars 170 + 90·3; profiles 80 + 300·4 (COD, NH3N, TP, DO);
    // section time series 80 + 260 per assessed parameter (S3's zone asks for NH3N and TP).
    let expect = [
        (1100, 900),
        (1100, 440),
        (1100, 1280),
        (1100, 1280),
        (1100, 1280),
        (1100, 1120),
        (1100, 1120),
        (1100, 600),
    ];
    for (p, e) in plots.iter().zip(expect) {
        assert_eq!(png_size(&p.path), e, "{}", p.path.display());
        let len = std::fs::metadata(&p.path).unwrap().len();
        assert!(len > 20_000, "{} only {len} bytes", p.path.display()); // a blank page compresses to ~5 kB
    }

    // the map draws each reach 6 px wide in its class colour: the period-mean classes present must show
    let map = &plots[0].path;
    let mut classes: Vec<Option<Class>> = a.rivers.reach_class.clone();
    classes.sort();
    classes.dedup();
    for c in classes {
        assert!(
            count_color(map, rgb(c)) > 300,
            "class {c:?} missing on the map"
        );
    }
    // R1 (upstream, factor 1.8) is worse than V on the period mean: NH3N 1.25·1.8 = 2.25 > 2.0 on average (the
    // cosine swing averages out over the year) — so red is on the map and in the V+ bar
    assert_eq!(a.rivers.reach_class[0], Some(Class::VPlus));
    assert!(count_color(&plots[1].path, rgb(Some(Class::VPlus))) > 1000);
    // the red dashed target line on every section panel
    for p in &plots[5..] {
        assert!(
            count_color(&p.path, [255, 0, 0]) > 500,
            "{}",
            p.path.display()
        );
    }

    // written atomically: no temporary file left behind
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".partial."))
        .collect();
    assert!(left.is_empty());

    // report
    let images = load_images(&plots).unwrap();
    let mut warnings = results.warnings.clone();
    warnings.extend(a.warnings.iter().cloned());
    let html = report_html(&model, &a, &images, &warnings);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        html.matches("src=\"data:image/png;base64,").count(),
        plots.len()
    );
    assert!(html.contains("Sample district &lt;two rivers &amp; a loop&gt;"));
    for z in &model.zones {
        assert!(html.contains(&escape(&z.id)));
    }
    assert!(html.contains("time step cut to 300 s"));
    std::fs::write(dir.join("report.html"), &html).unwrap();
}

#[test]
fn svg_output_and_plain_data() {
    let dir = tempfile::tempdir().unwrap();
    let before = ClassKm {
        km: [0.0, 1.0, 2.0, 3.0, 1.5, 4.0],
    };
    let after = ClassKm {
        km: [0.0, 2.0, 5.0, 3.5, 1.0, 0.0],
    };
    let png = dir.path().join("bars.png");
    class_km_bars_plot(
        &png,
        "Before and after",
        &[("before".into(), before), ("after".into(), after)],
    )
    .unwrap();
    assert_eq!(png_size(&png), (1100, 350));
    let svg = dir.path().join("bars.svg");
    class_km_bars_plot(
        &svg,
        "Before and after",
        &[("before".into(), before), ("after".into(), after)],
    )
    .unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg") && text.contains("before") && text.contains("class V+"));
    // an image embeds as a data URI even when hand-made
    let (model, results) = sample();
    let a = assess(&model, &results).unwrap();
    let html = report_html(
        &model,
        &a,
        &[Image {
            caption: "bars".into(),
            mime: "image/svg+xml".into(),
            bytes: text.into_bytes(),
        }],
        &[],
    );
    assert!(html.contains("data:image/svg+xml;base64,PHN2Zy")); // "<svg" in base64
}

#[test]
fn an_unwritable_path_is_an_error_not_a_panic() {
    let e = class_km_bars_plot(
        Path::new("/nonexistent-dir/x/bars.png"),
        "t",
        &[("a".into(), ClassKm::default())],
    )
    .unwrap_err();
    assert!(e.to_string().contains("/nonexistent-dir/x/bars.png"), "{e}");
    let map = NetworkMap {
        title: "empty".into(),
        lines: vec![],
        nodes: vec![],
        sections: vec![],
        labels: true,
    };
    let e = network_map_plot(Path::new("/tmp/never.png"), &map).unwrap_err();
    assert!(e.message.contains("no coordinates"), "{e}");
}

// ------------------------------------------------------------------------------------------ profile chains

/// The profile chain by its definition (module docs of `report::chains`), the way it was first written: from
/// every source reach, walk by scanning the whole set for the longest reach leaving the current node that is
/// not yet on the walk; keep the longest walk. Quadratic and worse, but obviously the definition.
fn chain_by_definition(model: &Model, set: &[usize]) -> Vec<usize> {
    let rs = &model.reaches;
    let mut starts: Vec<usize> = set
        .iter()
        .copied()
        .filter(|&r| !set.iter().any(|&q| rs[q].to == rs[r].from))
        .collect();
    if starts.is_empty() {
        starts = set.to_vec();
    }
    let mut best: (f64, Vec<usize>) = (0.0, Vec::new());
    for s in starts {
        let mut chain = vec![s];
        let mut len = rs[s].length_m;
        loop {
            let at = rs[*chain.last().unwrap()].to;
            let next = set
                .iter()
                .copied()
                .filter(|&q| rs[q].from == at && !chain.contains(&q))
                .max_by(|&a, &b| rs[a].length_m.total_cmp(&rs[b].length_m));
            let Some(q) = next else { break };
            len += rs[q].length_m;
            chain.push(q);
        }
        if len > best.0 {
            best = (len, chain);
        }
    }
    best.1
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
    /// `river_chains` gives the walk of the definition on random directed networks of a few nodes (cycles,
    /// parallel reaches, self-loops and rings included), with and without river names. Lengths are whole
    /// metres, so sums are exact in any order and ties are real ties.
    #[test]
    fn river_chains_follow_the_definition(
        edges in proptest::collection::vec((0usize..7, 0usize..7, 1u32..6, 0usize..3), 1..16),
        named in proptest::bool::ANY,
    ) {
        let nodes: Vec<Node> = (0..7).map(|i| node(&format!("N{i}"), i as f64, 0.0)).collect();
        let rivers = ["A", "B", "C"];
        let reaches: Vec<Reach> = edges
            .iter()
            .enumerate()
            .map(|(i, &(f, t, l, river))| {
                let mut r = reach(&format!("R{i}"), f, t, l as f64 * 100.0, rivers[river], ChiefLevel::Town, "T");
                if !named {
                    r.river = None;
                }
                r
            })
            .collect();
        let model = Model { nodes, reaches, ..Model::default() };
        let got = rivsim::report::chains::river_chains(&model);
        let mut expected: Vec<(String, Vec<usize>)> = if named {
            rivers
                .iter()
                .map(|&n| {
                    let set: Vec<usize> = (0..model.reaches.len())
                        .filter(|&r| model.reaches[r].river.as_deref() == Some(n))
                        .collect();
                    (n.to_string(), chain_by_definition(&model, &set))
                })
                .collect()
        } else {
            let all: Vec<usize> = (0..model.reaches.len()).collect();
            vec![("main stem".to_string(), chain_by_definition(&model, &all))]
        };
        expected.retain(|c| !c.1.is_empty());
        let len = |c: &[usize]| c.iter().map(|&r| model.reaches[r].length_m).sum::<f64>();
        expected.sort_by(|a, b| len(&b.1).total_cmp(&len(&a.1)));
        proptest::prop_assert_eq!(got, expected);
    }
}

/// The main stem of a 40,000-reach comb: 20,000 main reaches of 1 km in a line, a 500 m tributary entering
/// each main node. Every tributary is a source, so the definition walks 20,000 times, each walk scanning all
/// 40,000 reaches per step: about 10^13 operations. The chain is the first tributary and then the whole main
/// stem (by hand: 0.5 km + 20,000 km beats every other source's walk). The 20 s bound is far above the
/// linear computation (well under a second in a debug build) and far below the quadratic one.
#[test]
fn the_main_stem_of_a_40000_reach_comb_in_linear_time() {
    let m = 20_000;
    let mut nodes: Vec<Node> = (0..=m)
        .map(|i| node(&format!("M{i}"), i as f64, 0.0))
        .collect();
    nodes.extend((0..m).map(|i| node(&format!("S{i}"), i as f64, 1.0)));
    let mut reaches: Vec<Reach> = (0..m)
        .map(|i| {
            reach(
                &format!("R{i}"),
                i,
                i + 1,
                1000.0,
                "x",
                ChiefLevel::Town,
                "T",
            )
        })
        .collect();
    reaches.extend((0..m).map(|i| {
        reach(
            &format!("T{i}"),
            m + 1 + i,
            i,
            500.0,
            "x",
            ChiefLevel::Town,
            "T",
        )
    }));
    for r in &mut reaches {
        r.river = None;
    }
    let model = Model {
        nodes,
        reaches,
        ..Model::default()
    };
    let clock = std::time::Instant::now();
    let chains = rivsim::report::chains::river_chains(&model);
    let elapsed = clock.elapsed().as_secs_f64();
    let mut expected = vec![m];
    expected.extend(0..m);
    assert_eq!(chains, vec![("main stem".to_string(), expected)]);
    assert!(elapsed < 20.0, "river_chains took {elapsed} s");
}
