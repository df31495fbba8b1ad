//! Runs one core benchmark row a given number of times, for instruction counting under
//! `valgrind --tool=callgrind` (see `benches/callgrind.sh`): the script runs each row with
//! 0 and with N iterations and divides the difference by N, so set-up cost cancels out.
//!
//! Usage: `core_rows ROW ITERATIONS`, where ROW is one of the names `--list` prints.

use herald_benches::core_work::{ROWS, Work};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--list") {
        for r in ROWS {
            println!("{r}");
        }
        return;
    }
    let row = args
        .get(1)
        .expect("usage: core_rows ROW ITERATIONS")
        .as_str();
    let iters: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .expect("ITERATIONS");
    let mut work = Work::new(row).unwrap_or_else(|| panic!("unknown row {row}"));
    for _ in 0..iters {
        work.run();
    }
}
