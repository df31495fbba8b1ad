//! The core rows against their limits, timed side by side: for each row, short blocks of
//! herald's operation and of the limit's alternate (about half a millisecond each, 400
//! rounds), and each side keeps its fastest block. A machine whose load changes during a
//! run slows both sides of a round alike, where criterion measures herald's row and the
//! limit's at different times; on a shared machine this ratio is the one to read.
//!
//! Usage: `core_ratios [--rounds N] [--json FILE]`. Prints a markdown table; with `--json`,
//! also writes the rows (read by the `report` bin: `$CARGO_TARGET_DIR/core-ratios.json`).

use std::hint::black_box;
use std::time::Instant;

use herald_benches::core_work::{ROWS, Work};
use herald_benches::run_args::{self, RunArgs};

/// Operations per block: about half a millisecond at this row's size.
fn block(row: &str) -> usize {
    let n: usize = row
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    if row.contains("truncate") {
        // 200 messages, of which about 22 are signed.
        return 200;
    }
    (1500 / n).max(8)
}

fn fastest(work: &mut Work, ops: usize, best: &mut f64) {
    let t = Instant::now();
    for _ in 0..ops {
        work.run();
    }
    *best = best.min(t.elapsed().as_nanos() as f64 / ops as f64);
}

fn main() {
    let args = RunArgs::parse(
        std::env::args().skip(1),
        400,
        "core_ratios [--rounds N] [--json FILE]",
    );
    let rounds = args.rounds;
    println!("{}\n", run_args::sha_line());
    println!("| row | herald | limit | ratio |");
    println!("|---|---:|---:|---:|");
    let mut rows = Vec::new();
    for row in ROWS.iter().filter(|r| r.starts_with("herald_")) {
        let lim = row.replacen("herald_", "limit_", 1);
        let (mut h, mut l) = (
            Work::new(row).expect("a listed row"),
            Work::new(&lim).expect("every herald row has its limit"),
        );
        let ops = block(row);
        let (mut bh, mut bl) = (f64::MAX, f64::MAX);
        for _ in 0..rounds {
            fastest(&mut h, ops, &mut bh);
            fastest(&mut l, ops, &mut bl);
        }
        black_box((&h, &l));
        println!("| {row} | {bh:.0} ns | {bl:.0} ns | {:.2}× |", bh / bl);
        rows.push(format!(
            "{{\"row\": \"{row}\", \"herald_ns\": {bh:.1}, \"limit_ns\": {bl:.1}}}"
        ));
    }
    args.write_json(&rows);
}
