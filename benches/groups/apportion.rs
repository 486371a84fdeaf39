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
