//! Apportionment: the bundled district scenario (every project applied, as `rivsim apportion` runs it) with 20
//! source groups (its `group` keys, the groups after the 19th merged into "other sources"): hydraulics, the
//! tagged transport run of the total and the 20 groups over the year, and the averaging (means, shares, gap).
//! Loading the files, applying the projects and writing the outputs are outside the timing.
//!
//! Run: `cargo bench --bench rivsim -- apportion`.

use criterion::{Criterion, criterion_group};
use rivsim::apportion::{GroupBy, SourceGroups, analyse};
use std::path::Path;

fn district_20_groups(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/district/scenario.toml");
    let p = rivsim::pipeline::prepare(&path).expect("the bundled district scenario loads");
    let sel = rivsim::pipeline::selection(&p, &[], &[]).expect("all projects");
    let p = rivsim::pipeline::with_projects(&p, &sel).expect("projects apply");
    let groups = SourceGroups::of(&p.model, GroupBy::Group).merge_tail(20);
    assert_eq!(groups.len(), 20, "the district has more than 20 groups");
    let models = groups.models(&p.model);
    let opts = rivsim::transport::TransportOptions::default();
    // how much of the groups' work the skipping of absent groups can save: the share of (reach, pollutant,
    // group) triples whose reach mean is non-zero at some output time, and of blocks of four groups with one
    {
        let hyd = rivsim::pipeline::hydraulics(&p).expect("hydraulics");
        let t = rivsim::transport::run_tagged(&p.model, &p.net, &hyd, &opts, &models)
            .expect("tagged run");
        let (nr, np, ng) = (p.model.reaches.len(), p.model.pollutants.len(), t.n_groups);
        let nb = ng.div_ceil(4);
        // the blocks as the run lays the groups out
        let order = rivsim::transport::group_layout(&p.net, &hyd, &models);
        let (mut groups_on, mut blocks_on) = (0usize, 0usize);
        for r in 0..nr {
            for q in 0..np {
                let on: Vec<bool> = (0..ng)
                    .map(|g| (0..t.reach_conc.len()).any(|i| t.reach(i, r, q, g) != 0.0))
                    .collect();
                groups_on += on.iter().filter(|&&x| x).count();
                blocks_on += (0..nb)
                    .filter(|b| order[4 * b..(4 * b + 4).min(ng)].iter().any(|&g| on[g]))
                    .count();
            }
        }
        println!(
            "apportion: groups present (non-zero reach mean at some output) in {:.1}% of (reach, pollutant, \
             group), blocks of four (as laid out) in {:.1}% of (reach, pollutant, block)",
            100.0 * groups_on as f64 / (nr * np * ng) as f64,
            100.0 * blocks_on as f64 / (nr * np * nb) as f64
        );
    }
    let mut g = c.benchmark_group("apportion");
    g.sample_size(10);
    g.bench_function("district_year_20_groups", |b| {
        b.iter(|| {
            let hyd = rivsim::pipeline::hydraulics(&p).expect("hydraulics");
            let tagged = rivsim::transport::run_tagged(&p.model, &p.net, &hyd, &opts, &models)
                .expect("tagged run");
            let a = analyse(&p.model, &groups, &tagged).expect("analysis");
            std::hint::black_box(a.max_relative_gap)
        })
    });
    g.finish();
}

criterion_group!(benches, district_20_groups);
