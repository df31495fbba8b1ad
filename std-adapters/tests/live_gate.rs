//! The harness's rule for live tests (tests/common/live.rs): a missing tool fails the test
//! with a how-to message unless its group is deselected explicitly; deselection never looks
//! the tool up; a typo in `HERALD_SKIP_LIVE` is an error, not a silent skip.

#[path = "common/live.rs"]
mod live;

use std::cell::Cell;
use std::ffi::OsString;

use live::{Decision, Group, decide, deselected, find_redis_server};

fn found() -> Result<&'static str, String> {
    Ok("/usr/bin/tool")
}

fn missing() -> Result<&'static str, String> {
    Err("redis-server not found on PATH".to_owned())
}

#[test]
fn a_found_tool_runs_unless_deselected() {
    for skip in [None, Some(""), Some(" "), Some("django"), Some(",django,")] {
        assert_eq!(
            decide(Group::Redis, "t", skip, found),
            Decision::Run("/usr/bin/tool"),
            "{skip:?}"
        );
    }
}

#[test]
fn a_missing_tool_fails_with_the_how_to_unless_deselected() {
    for skip in [None, Some(""), Some("django")] {
        let Decision::Fail(msg) = decide(Group::Redis, "redis_test", skip, missing) else {
            panic!("{skip:?}: a missing tool must fail");
        };
        assert!(msg.contains("`redis_test`"), "names the test: {msg}");
        assert!(
            msg.contains("redis-server not found on PATH"),
            "says why: {msg}"
        );
        assert!(msg.contains("scripts/test"), "says how: {msg}");
        assert!(
            msg.contains("apt-get install redis-server"),
            "says how: {msg}"
        );
        assert!(
            msg.contains("HERALD_SKIP_LIVE=redis"),
            "says how not to: {msg}"
        );
    }
    let Decision::Fail(msg) = decide(Group::Django, "dj", None, || {
        Err::<(), _>("no Python with Django".to_owned())
    }) else {
        panic!("a missing Django must fail");
    };
    assert!(msg.contains(".venv-django") && msg.contains("HERALD_SKIP_LIVE=django"));
}

#[test]
fn deselection_skips_without_looking_the_tool_up() {
    for (group, skip) in [
        (Group::Redis, "redis"),
        (Group::Redis, "all"),
        (Group::Redis, "django, redis"),
        (Group::Django, "django"),
        (Group::Django, "redis,django"),
        (Group::Django, " all "),
    ] {
        for lookup in [found, missing] {
            let looked = Cell::new(false);
            let d = decide(group, "t", Some(skip), || {
                looked.set(true);
                lookup()
            });
            assert_eq!(d, Decision::Deselected, "{group:?} {skip:?}");
            assert!(!looked.get(), "{group:?} {skip:?}: not looked up");
        }
    }
}

#[test]
fn an_unknown_group_name_is_an_error_not_a_skip() {
    for skip in ["reds", "redis,djnago", "none", "1", "REDIS"] {
        let d = decide(Group::Redis, "t", Some(skip), found);
        let Decision::Fail(msg) = d else {
            panic!("{skip:?}: must fail, got {d:?}");
        };
        assert!(msg.contains("unknown live test group"), "{msg}");
    }
    assert_eq!(
        deselected(Some("all,redis")).unwrap(),
        [Group::Redis, Group::Django]
    );
    assert_eq!(deselected(None).unwrap(), []);
}

#[test]
fn the_redis_server_override_and_path_lookup() {
    let dir = std::env::temp_dir().join(format!("herald-live-gate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("redis-server");
    std::fs::write(&bin, b"").unwrap();
    let os = |p: &std::path::Path| Some(OsString::from(p));

    // The override wins, and must name a file.
    assert_eq!(find_redis_server(os(&bin), None).unwrap(), bin);
    let err = find_redis_server(Some("/nonexistent".into()), os(&dir)).unwrap_err();
    assert!(err.contains("HERALD_REDIS_SERVER=/nonexistent"), "{err}");
    // PATH is searched in order; a directory of that name is not the binary.
    let empty = dir.join("empty");
    std::fs::create_dir_all(empty.join("redis-server")).unwrap();
    let path = std::env::join_paths([&empty, &dir]).unwrap();
    assert_eq!(find_redis_server(None, Some(path)).unwrap(), bin);
    let err = find_redis_server(None, os(&empty)).unwrap_err();
    assert!(err.contains("not found on PATH"), "{err}");
    assert!(find_redis_server(None, None).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
