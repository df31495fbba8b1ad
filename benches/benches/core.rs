//! herald-core against the physical limit: encode+sign and verify+decode for 1, 10, 50 and 200
//! messages of ~60 characters, and truncation of 200 messages into 2048 bytes (both
//! policies), each beside HMAC-SHA256 + base64url over exactly the same number of bytes;
//! and encrypt+encode, decode+decrypt (feature `encryption`) beside XChaCha20-Poly1305 +
//! base64url of the same bytes. The workloads are `herald_benches::core_work`'s, which
//! `core_rows` (callgrind) and `core_ratios` (side by side) run too.
//! `cargo run -p herald-benches --bin report` prints the ratios.

use criterion::{Criterion, criterion_group, criterion_main};
use herald_benches::core_work::{ROWS, Work};

fn core_rows(c: &mut Criterion) {
    let mut g = c.benchmark_group("core");
    for row in ROWS {
        let mut work = Work::new(row).expect("a listed row");
        g.bench_function(*row, |b| b.iter(|| work.run()));
    }
    g.finish();
}

criterion_group!(benches, core_rows);
criterion_main!(benches);
