//! The cost of sealing and opening one cache row (a claim's PHI, ~200 bytes).

use claimdesk_local::crypto::{DataKey, KeyId};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use uuid::Uuid;

fn rows(c: &mut Criterion) {
    let key = DataKey::generate(KeyId(1));
    let row = Uuid::new_v4();
    let plain = vec![b'x'; 200];
    let sealed = key.seal("queue_claim", row, &plain);
    let mut g = c.benchmark_group("row");
    g.throughput(Throughput::Elements(1));
    g.bench_function("seal 200 B", |b| {
        b.iter(|| key.seal("queue_claim", black_box(row), black_box(&plain)))
    });
    g.bench_function("open 200 B", |b| {
        b.iter(|| {
            key.open("queue_claim", black_box(row), black_box(&sealed))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, rows);
criterion_main!(benches);
