//! The repository's README shows the same quick starts as the crate's README, which the
//! crate docs include and rustdoc compiles: what a newcomer copies from either is code that
//! builds.

#[test]
fn the_repository_readme_carries_the_compiled_quick_starts() {
    let dir = env!("CARGO_MANIFEST_DIR");
    let crate_readme = std::fs::read_to_string(format!("{dir}/README.md")).unwrap();
    let root_readme = std::fs::read_to_string(format!("{dir}/../README.md")).unwrap();
    let start = crate_readme
        .find("## Quick start: axum")
        .expect("axum quick start");
    let end = crate_readme
        .find("## What to know")
        .expect("the section after");
    let quick_starts = &crate_readme[start..end];
    assert!(quick_starts.contains("## Quick start: actix-web"));
    assert!(
        root_readme.contains(quick_starts),
        "README.md must carry std-adapters/README.md's quick starts verbatim"
    );
}
