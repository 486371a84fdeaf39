//! Ranking: the bundled district scenario's nine projects — the flow states' response runs, marginal benefits,
//! greedy sequence and the exhaustive optimum under a budget (default objective, no superposition check).
//! Loading the files is outside the timing.
//!
//! Run: `cargo bench --bench rivsim -- rank`.

use criterion::{Criterion, criterion_group};
use rivsim::projects::{RankOptions, rank};
use std::path::Path;

fn district_rank(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/district/scenario.toml");
    let p = rivsim::pipeline::prepare(&path).expect("the bundled district scenario loads");
    let opts = RankOptions {
        budget: Some(60.0),
        check: false,
        ..RankOptions::default()
    };
    let mut g = c.benchmark_group("rank");
    g.sample_size(10);
    g.bench_function("district_9_projects_budget_60", |b| {
        b.iter(|| {
            let o = rank::rank(&p.model, &opts).expect("ranking");
            std::hint::black_box(o.optimum.benefit)
        })
    });
    g.finish();
}

criterion_group!(benches, district_rank);
