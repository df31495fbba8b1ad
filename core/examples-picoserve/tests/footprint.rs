//! The footprint tool runs: the in-memory requests are answered correctly and the stack
//! search converges (the figures themselves are only meaningful in a release build; see
//! the crate's README).

use std::process::Command;

#[test]
fn footprint_tool_measures_both_requests() {
    let output = Command::new(env!("CARGO_BIN_EXE_herald-picoserve-footprint"))
        .output()
        .expect("the footprint tool runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for line in [
        "size_of::<Inbox>() (default capacity)",
        "connection future, size_of_val",
        "GET /     (verify + decode",
        "POST /add (verify + decode",
        "one connection needs:",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in\n{stdout}");
    }
}
