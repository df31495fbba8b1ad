//! A counting global allocator for the allocation tables.
//!
//! A binary that wants counts declares `#[global_allocator] static A: Counting = Counting;`.
//! Counting is off by default and is switched on only around the server side of a request
//! ([`resume`] / [`pause`]), so the benchmark's own client work (building the request,
//! keeping the cookie jar) is not charged to the row. Without the global allocator the
//! switches are two relaxed atomic stores and cost nothing measurable.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static ON: AtomicBool = AtomicBool::new(false);
static COUNT: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

/// The system allocator, counting every allocation (`alloc`, `alloc_zeroed`, and a
/// `realloc`, which may move the block) made while counting is on.
pub struct Counting;

#[inline]
fn note(size: usize) {
    if ON.load(Ordering::Relaxed) {
        COUNT.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the
// counters are plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Starts (or continues) counting.
#[inline]
pub fn resume() {
    ON.store(true, Ordering::Relaxed);
}

/// Stops counting; the totals are kept.
#[inline]
pub fn pause() {
    ON.store(false, Ordering::Relaxed);
}

/// Returns the totals counted so far (allocations, bytes requested) and resets them.
pub fn take() -> (u64, u64) {
    (
        COUNT.swap(0, Ordering::Relaxed),
        BYTES.swap(0, Ordering::Relaxed),
    )
}

/// Whether [`Counting`] is this program's global allocator (counts something while on).
pub fn installed() -> bool {
    take();
    resume();
    let b = std::hint::black_box(Box::new(1u64));
    pause();
    drop(b);
    take().0 > 0
}
