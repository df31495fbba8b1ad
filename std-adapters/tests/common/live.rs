//! Live tests: the tests that need a tool from outside Rust — a real `redis-server`, a
//! Python with Django — and the one rule for a missing tool.
//!
//! A live test whose tool is missing **fails**, with a message that says how to get the
//! tool (`scripts/test` at the repository root installs both). The only way not to run a
//! live test is to deselect its group explicitly: `HERALD_SKIP_LIVE=redis`, `=django`,
//! `=redis,django` or `=all`. A deselected test returns early and reports itself twice,
//! through channels libtest does not capture: one line written straight to the process's
//! standard error (not through `eprintln!`, which the harness swallows for passing tests),
//! and one line appended to the file named by `HERALD_LIVE_REPORT`, which `scripts/test`
//! sets and prints as a summary at the end of the run.
//!
//! This file is shared by `tests/common` and `tests/django_support` (included by path), so
//! a test binary may hold two copies; they behave the same.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

/// The variable that deselects live test groups.
pub const SKIP_VAR: &str = "HERALD_SKIP_LIVE";
/// The variable naming the file a deselected test appends its report line to.
pub const REPORT_VAR: &str = "HERALD_LIVE_REPORT";
/// The variable that overrides where the `redis-server` binary is (default: `PATH`).
pub const REDIS_SERVER_VAR: &str = "HERALD_REDIS_SERVER";

/// A group of live tests: the tests that need the same tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    /// Tests that start a real `redis-server`.
    Redis,
    /// Tests that run a real Django in a Python process.
    Django,
}

impl Group {
    /// Every group, in the order `all` lists them.
    pub const ALL: [Group; 2] = [Group::Redis, Group::Django];

    /// The group's name in `HERALD_SKIP_LIVE`.
    pub fn name(self) -> &'static str {
        match self {
            Group::Redis => "redis",
            Group::Django => "django",
        }
    }

    /// How to get the tool, or not to need it.
    pub fn how_to(self) -> &'static str {
        match self {
            Group::Redis => {
                "run scripts/test (it installs redis-server when it can), or \
                 apt-get install redis-server; to run without the Redis tests, set \
                 HERALD_SKIP_LIVE=redis"
            }
            Group::Django => {
                "run scripts/test (it creates .venv-django with Django), or \
                 python3 -m venv .venv-django && .venv-django/bin/pip install \
                 'django==5.2.*' (Django 6 on Python 3.12 or later), or point \
                 HERALD_DJANGO_PYTHON at a Python that can import django; to run without \
                 the Django cross-checks, set HERALD_SKIP_LIVE=django"
            }
        }
    }
}

/// The groups a `HERALD_SKIP_LIVE` value deselects: comma-separated group names, or
/// `all`; blanks and empty items are ignored, so an unset or empty value deselects
/// nothing.
///
/// # Errors
/// An unknown name, so that a typo does not silently run (or skip) something else.
pub fn deselected(value: Option<&str>) -> Result<Vec<Group>, String> {
    let mut out = Vec::new();
    for item in value.unwrap_or("").split(',').map(str::trim) {
        let groups: &[Group] = match item {
            "" => &[],
            "all" => &Group::ALL,
            name => match Group::ALL.iter().find(|g| g.name() == name) {
                Some(g) => std::slice::from_ref(g),
                None => {
                    return Err(format!(
                        "{SKIP_VAR}={:?}: unknown live test group {name:?} \
                         (known: redis, django, all)",
                        value.unwrap_or("")
                    ));
                }
            },
        };
        for g in groups {
            if !out.contains(g) {
                out.push(*g);
            }
        }
    }
    Ok(out)
}

/// What a live test does.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision<T> {
    /// The tool was found: run with it.
    Run(T),
    /// The group is deselected: do not run, and report it.
    Deselected,
    /// The tool is missing and the group not deselected: fail with this message.
    Fail(String),
}

/// The rule, without side effects: a deselected group is not run (and its tool is not
/// even looked up); otherwise the test runs with the tool `lookup` finds, or fails with a
/// message naming the test, why the tool was not found, and how to get it.
pub fn decide<T>(
    group: Group,
    test: &str,
    skip_value: Option<&str>,
    lookup: impl FnOnce() -> Result<T, String>,
) -> Decision<T> {
    match deselected(skip_value) {
        Err(e) => return Decision::Fail(e),
        Ok(groups) if groups.contains(&group) => return Decision::Deselected,
        Ok(_) => {}
    }
    match lookup() {
        Ok(tool) => Decision::Run(tool),
        Err(why) => Decision::Fail(format!(
            "live test `{test}` cannot run: {why}. To get it: {}",
            group.how_to()
        )),
    }
}

/// [`decide`] with the process's environment, acted on: the tool when the test is to
/// run; `None` when its group is deselected (after reporting that the test did not run);
/// a panic with the how-to message when the tool is missing.
pub fn require<T>(
    group: Group,
    test: &str,
    lookup: impl FnOnce() -> Result<T, String>,
) -> Option<T> {
    let skip = std::env::var(SKIP_VAR).ok();
    match decide(group, test, skip.as_deref(), lookup) {
        Decision::Run(tool) => Some(tool),
        Decision::Deselected => {
            report_deselected(group, test);
            None
        }
        Decision::Fail(msg) => panic!("\n\n*** {msg}\n"),
    }
}

/// The test binary's name without cargo's hash (`redis_two_servers`), for report lines.
fn binary_name() -> String {
    let exe = std::env::current_exe().ok();
    let stem = exe
        .as_deref()
        .and_then(|p| p.file_stem())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.chars().all(|c| c.is_ascii_hexdigit()) => name.to_owned(),
        _ => stem,
    }
}

/// Reports a deselected test where the harness does not swallow it: straight to standard
/// error, and as one line `group<TAB>binary: test` in the `HERALD_LIVE_REPORT` file.
fn report_deselected(group: Group, test: &str) {
    let who = format!("{}: {test}", binary_name());
    // `std::io::stderr()` directly: libtest captures only the print macros.
    let _ = writeln!(
        std::io::stderr().lock(),
        "NOT RUN (deselected by {SKIP_VAR}): {} live test {who}",
        group.name()
    );
    if let Some(path) = std::env::var_os(REPORT_VAR).filter(|p| !p.is_empty()) {
        let line = format!("{}\t{who}\n", group.name());
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path);
        // One write of one short line to a file opened for appending: lines of tests
        // running in parallel do not interleave.
        if let Err(e) = file.and_then(|mut f| f.write_all(line.as_bytes())) {
            panic!(
                "cannot append to {REPORT_VAR}={}: {e}",
                PathBuf::from(path).display()
            );
        }
    }
}

/// Where `redis-server` is: the file `override_path` names when given (the value of
/// `HERALD_REDIS_SERVER`), otherwise the first `redis-server` file on `path` (the value of
/// `PATH`).
///
/// # Errors
/// Why it was not found.
pub fn find_redis_server(
    override_path: Option<OsString>,
    path: Option<OsString>,
) -> Result<PathBuf, String> {
    if let Some(p) = override_path {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!(
                "redis-server not found: {REDIS_SERVER_VAR}={} is not a file",
                p.display()
            ))
        };
    }
    let path = path.unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
        .ok_or_else(|| "redis-server not found on PATH".to_owned())
}

/// [`find_redis_server`] with the process's environment.
pub fn redis_server_from_env() -> Result<PathBuf, String> {
    find_redis_server(std::env::var_os(REDIS_SERVER_VAR), std::env::var_os("PATH"))
}
