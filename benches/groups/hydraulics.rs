use criterion::{Criterion, criterion_group};

fn placeholder(c: &mut Criterion) {
    c.bench_function("hydraulics/placeholder", |b| b.iter(|| 1 + 1));
}

criterion_group!(benches, placeholder);
