//! Heap allocations per request for every adapter row, by a counting global allocator,
//! for 1 and 10 messages, and the `Set-Cookie` each flash row sends for one message.
//!
//! Usage: `cargo run --release -p herald-benches --bin alloc_per_request [CYCLES]`
//! (default 200 cycles per row after a check and three warm-up cycles).

use herald_benches::adapters;
use herald_benches::alloc_count::Counting;

#[global_allocator]
static ALLOC: Counting = Counting;

fn main() {
    let cycles: u32 = std::env::args()
        .nth(1)
        .map(|s| s.parse().expect("CYCLES is a number"))
        .unwrap_or(200);
    let mut measured = adapters::measure(1, cycles);
    measured.extend(adapters::measure(10, cycles));
    println!("Allocations per request (server side: service call + body), {cycles} cycles:\n");
    println!("{}", adapters::alloc_table(&measured));
    println!("{}", adapters::set_cookie_table(&measured));
}
