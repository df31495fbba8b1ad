//! The live-Django runner for the template checks: renders templates with Django's own
//! template engine and messages context processor (`django_render.py` beside this file).
//! The Python is found as for the other live tests (`HERALD_DJANGO_PYTHON`, else
//! `<repo>/.venv-django/bin/python`); a missing Django fails the test unless the Django
//! tests are deselected (`HERALD_SKIP_LIVE=django`).
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

#[allow(clippy::duplicate_mod)]
#[path = "../common/live.rs"]
pub mod live;

fn python_with_django() -> Result<PathBuf, String> {
    let candidate = match std::env::var_os("HERALD_DJANGO_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-django/bin/python"),
    };
    let status = Command::new(&candidate)
        .args(["-c", "import django"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => Ok(candidate),
        Ok(s) => Err(format!(
            "{} cannot import django ({s})",
            candidate.display()
        )),
        Err(e) => Err(format!("{} cannot be run: {e}", candidate.display())),
    }
}

/// The Python with Django for `test`; `None` when the Django tests are deselected.
pub fn django_python(test: &str) -> Option<PathBuf> {
    live::require(live::Group::Django, test, python_with_django)
}

/// Runs `django_render.py` on `input` (`{"tags", "templates", "messages"}`) and returns
/// its answer `{"django_version", "rendered": [...]}`.
pub fn render(python: &Path, input: &Value) -> Value {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django_support/django_render.py");
    let mut child = Command::new(python)
        .arg(&script)
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Django render helper");
    let bytes = serde_json::to_vec(input).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child
        .wait_with_output()
        .expect("run the Django render helper");
    writer
        .join()
        .unwrap()
        .expect("write to the Django render helper");
    assert!(
        out.status.success(),
        "the Django render helper failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the helper's output is JSON")
}
