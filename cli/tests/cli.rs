//! The `herald` binary, run as a process: `django decode/encode` against the conformance
//! vectors, herald's own `decode/encode`, `inspect`, pasted cookie lines, bad input and
//! exit codes.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

/// The Django conformance vectors, `../shared/conformance/django-vectors.json` beside the
/// repository root (as `herald-flash`'s tests read them). Panics with a clear message when
/// the file is missing.
fn load_vectors() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/django-vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "\n\n*** Django conformance vectors not found at {}: {e}\n\
             *** The `shared` folder must sit beside the repository root \
             (shared/conformance/django-vectors.json).\n\n",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("django-vectors.json is valid JSON")
}

fn herald(args: &[&str], stdin: &str) -> Output {
    herald_env(args, stdin, &[])
}

/// `herald` with these environment variables; `HERALD_SECRET` and
/// `HERALD_FALLBACK_SECRETS` are unset unless given here.
fn herald_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_herald"));
    cmd.env_remove("HERALD_SECRET")
        .env_remove("HERALD_FALLBACK_SECRETS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run herald");
    // A process that fails on its arguments may exit before reading its input.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().expect("herald runs")
}

/// Incompressible-ish text: `n` pseudo-random alphanumerics from a small LCG.
fn noise(seed: u64, n: usize) -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(ALNUM[(x >> 33) as usize % ALNUM.len()])
        })
        .collect()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("UTF-8 errors")
}

fn json_out(o: &Output) -> Value {
    assert!(o.status.success(), "exit {:?}: {}", o.status, stderr(o));
    let s = stdout(o);
    assert_eq!(s.lines().count(), 1, "one JSON object on one line: {s}");
    serde_json::from_str(&s).expect("JSON output")
}

fn vectors(kind: &str) -> Vec<Value> {
    load_vectors()["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["kind"] == kind)
        .cloned()
        .collect()
}

fn vector(id: &str) -> Value {
    load_vectors()["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("vector {id}"))
}

fn decode_args<'a>(v: &'a Value, cookie: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "django",
        "decode",
        "--secret",
        v["secret_key"].as_str().unwrap(),
    ];
    for k in v["fallback_keys"].as_array().unwrap() {
        args.push("--fallback-key");
        args.push(k.as_str().unwrap());
    }
    args.push(cookie);
    args
}

// ----------------------------------------------------------------------------------
// herald django decode
// ----------------------------------------------------------------------------------

#[test]
fn django_decode_matches_every_decode_vector() {
    let vs = vectors("decode");
    for v in &vs {
        let id = v["id"].as_str().unwrap();
        let cookie = v["input"]["cookie_value"].as_str().unwrap();
        let out = json_out(&herald(&decode_args(v, cookie), ""));
        let e = &v["expected"];
        match e["result"].as_str().unwrap() {
            "ok" => assert_eq!(
                out,
                json!({"result": "ok", "messages": e["messages"], "all_retrieved": e["all_retrieved"]}),
                "{id}"
            ),
            // Django raises on these; the CLI reports them as invalid (RULES R-4.21).
            "invalid" | "exception" => assert_eq!(out, json!({"result": "invalid"}), "{id}"),
            "absent" => assert_eq!(out, json!({"result": "absent"}), "{id}"),
            other => panic!("{id}: {other}"),
        }
    }
    println!("herald django decode: {} decode vectors checked", vs.len());
}

#[test]
fn django_decode_reports_why_a_value_is_invalid_on_stderr() {
    let v = vector("v-decode-09");
    let o = herald(
        &decode_args(&v, v["input"]["cookie_value"].as_str().unwrap()),
        "",
    );
    assert_eq!(json_out(&o), json!({"result": "invalid"}));
    assert!(stderr(&o).contains("bad signature"), "{}", stderr(&o));
    let o = herald(
        &[
            "django",
            "decode",
            "--secret",
            "wrong",
            v["construction"]["untampered_cookie"].as_str().unwrap(),
        ],
        "",
    );
    assert_eq!(json_out(&o), json!({"result": "invalid"}));
}

#[test]
fn django_decode_accepts_pasted_cookie_lines_and_stdin() {
    let v = vector("v-decode-01");
    let value = v["input"]["cookie_value"].as_str().unwrap();
    let want =
        json!({"result": "ok", "messages": v["expected"]["messages"], "all_retrieved": true});
    for pasted in [
        format!("messages={value}"),
        format!("messages={value}; HttpOnly; Path=/; SameSite=Lax"),
        format!("Set-Cookie: messages={value}; Path=/"),
        format!("Cookie: csrftoken=abc; messages=\"{value}\"; sessionid=x"),
        format!("  {value}\n"),
    ] {
        assert_eq!(
            json_out(&herald(&decode_args(&v, &pasted), "")),
            want,
            "{pasted}"
        );
    }
    assert_eq!(
        json_out(&herald(&decode_args(&v, "-"), &format!("{value}\n"))),
        want
    );
    let o = herald(&decode_args(&v, "Cookie: a=1; b=2"), "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no `messages` cookie"));
}

// ----------------------------------------------------------------------------------
// herald django encode
// ----------------------------------------------------------------------------------

#[test]
fn django_encode_matches_every_encode_vector_byte_for_byte() {
    let vs = vectors("encode");
    for v in &vs {
        let id = v["id"].as_str().unwrap();
        let ts = v["timestamp"].to_string();
        let mut args = vec![
            "django",
            "encode",
            "--secret",
            v["secret_key"].as_str().unwrap(),
            "--timestamp",
            &ts,
        ];
        if !v["input"]["remove_oldest"].as_bool().unwrap() {
            args.push("--keep-oldest");
        }
        let input = v["input"]["messages"].to_string();
        let out = json_out(&herald(&args, &input));
        assert_eq!(
            out,
            json!({"value": v["expected"]["cookie_value"], "unstored_indices": v["expected"]["unstored_indices"]}),
            "{id}"
        );
    }
    println!(
        "herald django encode: {} encode vectors byte-exact",
        vs.len()
    );
}

#[test]
fn django_encode_defaults_and_max_size() {
    let input = r#"[{"level": 20, "message": "Saved."}, {"level": 40, "message": "x", "extra_tags": null, "is_safe": true}]"#;
    let out = json_out(&herald(
        &[
            "django",
            "encode",
            "--secret",
            "secret",
            "--timestamp",
            "1700000000",
        ],
        input,
    ));
    let value = out["value"].as_str().unwrap().to_owned();
    // extra_tags defaults to "" (storage.add's default), null omits it.
    let back = json_out(&herald(
        &["django", "decode", "--secret", "secret", &value],
        "",
    ));
    assert_eq!(back["messages"][0]["extra_tags"], "");
    assert_eq!(back["messages"][1]["extra_tags"], Value::Null);
    assert_eq!(back["messages"][1]["is_safe"], true);
    assert_eq!(back["messages"][1]["tags"], "error");

    // A small limit: only some fit; --keep-oldest flips which end is unstored.
    let many: Vec<Value> = (0..30)
        .map(|i| json!({"level": 20, "message": noise(i, 60)}))
        .collect();
    let many = Value::Array(many).to_string();
    let out = json_out(&herald(
        &[
            "django",
            "encode",
            "--secret",
            "s",
            "--timestamp",
            "5",
            "--max-size",
            "400",
        ],
        &many,
    ));
    let unstored: Vec<u64> = out["unstored_indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(
        !unstored.is_empty() && unstored[0] == 0,
        "oldest dropped: {unstored:?}"
    );
    assert!(out["value"].as_str().unwrap().len() <= 400);
    let back = json_out(&herald(
        &[
            "django",
            "decode",
            "--secret",
            "s",
            out["value"].as_str().unwrap(),
        ],
        "",
    ));
    assert_eq!(back["all_retrieved"], false);
    assert_eq!(
        back["messages"].as_array().unwrap().len() + unstored.len(),
        30
    );
    let out = json_out(&herald(
        &[
            "django",
            "encode",
            "--secret",
            "s",
            "--timestamp",
            "5",
            "--max-size",
            "400",
            "--keep-oldest",
        ],
        &many,
    ));
    assert_eq!(
        out["unstored_indices"].as_array().unwrap().last().unwrap(),
        29
    );
    // --max-size 0: no limit.
    let out = json_out(&herald(
        &[
            "django",
            "encode",
            "--secret",
            "s",
            "--timestamp",
            "5",
            "--max-size",
            "0",
        ],
        &many,
    ));
    assert_eq!(out["unstored_indices"], json!([]));
    // Empty list: nothing to store, the cookie is deleted.
    let out = json_out(&herald(
        &["django", "encode", "--secret", "s", "--timestamp", "5"],
        "[]",
    ));
    assert_eq!(out, json!({"value": null, "unstored_indices": []}));
}

#[test]
fn django_encode_rejects_bad_input_with_a_clear_message() {
    let args = ["django", "encode", "--secret", "s", "--timestamp", "1"];
    for (input, needle) in [
        ("not json", "not valid JSON"),
        ("{\"level\": 20}", "must be a JSON array"),
        ("[1]", "item 0: expected a message object"),
        ("[{\"message\": \"x\"}]", "item 0: missing \"level\""),
        (
            "[{\"level\": \"20\", \"message\": \"x\"}]",
            "\"level\" must be an integer",
        ),
        (
            "[{\"level\": 20, \"message\": 5}]",
            "\"message\" must be a string",
        ),
        (
            "[{\"level\": 20, \"message\": \"x\", \"extra_tags\": 1}]",
            "\"extra_tags\" must be a string or null",
        ),
        (
            "[{\"level\": 20, \"message\": \"x\", \"is_safe\": 1}]",
            "\"is_safe\" must be true or false",
        ),
        (
            "[{\"level\": 20, \"message\": \"x\", \"colour\": 1}]",
            "unknown key",
        ),
        (
            "[{\"level\": 99999999999, \"message\": \"x\"}]",
            "i32 range",
        ),
    ] {
        let o = herald(&args, input);
        assert_eq!(o.status.code(), Some(1), "{input}");
        assert!(stdout(&o).is_empty(), "{input}");
        assert!(stderr(&o).contains(needle), "{input}: {}", stderr(&o));
    }
}

#[test]
fn usage_errors_exit_non_zero() {
    for args in [
        &["django", "encode", "--timestamp", "1"][..],
        &["django", "encode", "--secret", "s"],
        &["django", "encode", "--secret", "s", "--timestamp", "soon"],
        &[
            "django",
            "encode",
            "--secret",
            "s",
            "--timestamp",
            "1",
            "--max-size",
            "-3",
        ],
        &["django", "decode", "--secret", "s"],
        &["django", "decode", "x"],
        &["django", "frobnicate"],
        &["nonsense"],
        &[],
    ] {
        let o = herald(args, "[]");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(!stderr(&o).is_empty(), "{args:?}");
    }
    let o = herald(&["--help"], "");
    assert!(o.status.success());
    for cmd in ["inspect", "decode", "encode", "django"] {
        assert!(stdout(&o).contains(cmd), "{cmd} in --help");
    }
}

// ----------------------------------------------------------------------------------
// herald inspect (Django values)
// ----------------------------------------------------------------------------------

#[test]
fn inspect_django_value_shows_key_size_timestamp_and_messages() {
    let v = vector("v-decode-19"); // signed with the second fallback key
    let value = v["input"]["cookie_value"].as_str().unwrap();
    let secret = v["secret_key"].as_str().unwrap();
    let fb: Vec<&str> = v["fallback_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let o = herald(
        &[
            "inspect", value, "--secret", secret, "--secret", fb[0], "--secret", fb[1],
        ],
        "",
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = stdout(&o);
    for needle in [
        "format: Django",
        &format!("size: {} characters (within", value.len()),
        "timestamp: 1700000000 (1r31eq in base62), 2023-11-14T22:13:20Z",
        "signature: valid (fallback key 1)",
        "compressed: no",
        "not-finished sentinel: no",
        "messages: 1",
        "level 30 (warning), tags \"x warning\", extra_tags \"x\": from older key",
    ] {
        assert!(s.contains(needle), "{needle:?} in:\n{s}");
    }

    // Current key; compressed; a sentinel.
    let v = vector("v-encode-39");
    let value = v["expected"]["cookie_value"].as_str().unwrap();
    let o = herald(
        &[
            "inspect",
            value,
            "--secret",
            v["secret_key"].as_str().unwrap(),
        ],
        "",
    );
    let s = stdout(&o);
    assert!(o.status.success());
    assert!(s.contains("signature: valid (current key)"), "{s}");
    assert!(s.contains("compressed: yes (zlib)"), "{s}");
    assert!(s.contains("not-finished sentinel: yes"), "{s}");
    let stored = v["expected"]["stored_indices"].as_array().unwrap().len();
    assert!(s.contains(&format!("messages: {stored}\n")), "{s}");

    // No secret: not checked, still shown.
    let o = herald(&["inspect", value], "");
    assert!(o.status.success());
    assert!(stdout(&o).contains("signature: not checked"));

    // Wrong key: invalid, exit 1.
    let o = herald(&["inspect", value, "--secret", "wrong"], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("signature: INVALID"));

    // Raw items are shown as JSON.
    let v = vector("v-decode-07");
    let o = herald(
        &["inspect", v["input"]["cookie_value"].as_str().unwrap()],
        "",
    );
    assert!(
        stdout(&o).contains("raw JSON value: \"test\""),
        "{}",
        stdout(&o)
    );
}

#[test]
fn inspect_rejects_garbage() {
    for garbage in [
        "this is not a messages cookie",
        "W10:1r31eq",
        "A:1r31eq:xyz",
        "%%%",
    ] {
        let o = herald(&["inspect", garbage], "");
        assert_eq!(o.status.code(), Some(1), "{garbage}: {}", stdout(&o));
    }
    let o = herald(&["inspect", ""], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("empty"));
}

// ----------------------------------------------------------------------------------
// herald's own format: herald encode / decode / inspect
// ----------------------------------------------------------------------------------

const SECRET: &str = "0123456789abcdef0123456789abcdef-current";
const OLD: &str = "0123456789abcdef0123456789abcdef-previous";
/// Fallback secrets that verify nothing (secrets are at least 32 bytes long).
/// A secret that verifies nothing here.
const WRONG: &str = "0123456789abcdef0123456789abcdef-wrong";
const UNUSED: &str = "0123456789abcdef0123456789abcdef-unused-1";
const UNUSED2: &str = "0123456789abcdef0123456789abcdef-unused-2";

#[test]
fn native_encode_decode_round_trip() {
    let input = json!([
        {"level": 20, "message": "Profile saved. é 😀 \"quotes\" \u{7f}"},
        {"level": 40, "message": "<b>failed</b>", "extra_tags": null, "is_safe": true},
        {"level": -7, "message": "custom", "extra_tags": "a  b"},
    ]);
    let out = json_out(&herald(
        &["encode", "--secret", SECRET, "--timestamp", "1700000000"],
        &input.to_string(),
    ));
    assert_eq!(out["unstored_indices"], json!([]));
    let value = out["value"].as_str().unwrap().to_owned();
    assert!(
        !value.contains(':'),
        "herald's format is one base64url token"
    );
    let back = json_out(&herald(&["decode", "--secret", SECRET, &value], ""));
    assert_eq!(
        back,
        json!({"result": "ok", "all_retrieved": true, "messages": [
            {"level": 20, "message": "Profile saved. é 😀 \"quotes\" \u{7f}", "extra_tags": "", "is_safe": false, "level_tag": "info", "tags": "info"},
            {"level": 40, "message": "<b>failed</b>", "extra_tags": null, "is_safe": true, "level_tag": "error", "tags": "error"},
            {"level": -7, "message": "custom", "extra_tags": "a  b", "is_safe": false, "level_tag": "", "tags": "a  b"},
        ]})
    );
    // Key rotation: the old key as a fallback.
    let old = json_out(&herald(
        &["encode", "--secret", OLD, "--timestamp", "1"],
        &input.to_string(),
    ));
    let old_value = old["value"].as_str().unwrap();
    assert_eq!(
        json_out(&herald(&["decode", "--secret", SECRET, old_value], "")),
        json!({"result": "invalid"})
    );
    let back = json_out(&herald(
        &[
            "decode",
            "--secret",
            SECRET,
            "--fallback-key",
            OLD,
            old_value,
        ],
        "",
    ));
    assert_eq!(back["result"], "ok");
    // The cookie name is bound into the signature.
    let back = json_out(&herald(
        &[
            "decode",
            "--secret",
            SECRET,
            "--cookie-name",
            "flash",
            &value,
        ],
        "",
    ));
    assert_eq!(back, json!({"result": "invalid"}));
    // A Django value is not a herald value, and the other way round.
    assert_eq!(
        json_out(&herald(
            &["django", "decode", "--secret", SECRET, &value],
            ""
        )),
        json!({"result": "invalid"})
    );
    // Tampering.
    let mut t = value.clone().into_bytes();
    t[5] = if t[5] == b'A' { b'B' } else { b'A' };
    let t = String::from_utf8(t).unwrap();
    assert_eq!(
        json_out(&herald(&["decode", "--secret", SECRET, &t], "")),
        json!({"result": "invalid"})
    );
}

#[test]
fn native_encode_truncates_both_ways() {
    let many: Vec<Value> = (0..40)
        .map(|i| json!({"level": 20, "message": format!("message number {i}")}))
        .collect();
    let many = Value::Array(many).to_string();
    let args = [
        "encode",
        "--secret",
        SECRET,
        "--timestamp",
        "1700000000",
        "--max-size",
        "300",
    ];
    let out = json_out(&herald(&args, &many));
    let unstored = out["unstored_indices"].as_array().unwrap().clone();
    assert!(!unstored.is_empty());
    assert_eq!(unstored[0], 0, "the oldest are dropped");
    let value = out["value"].as_str().unwrap();
    assert!(value.len() <= 300);
    let back = json_out(&herald(&["decode", "--secret", SECRET, value], ""));
    assert_eq!(back["all_retrieved"], false);
    let kept = back["messages"].as_array().unwrap();
    assert_eq!(kept.len() + unstored.len(), 40);
    assert_eq!(kept.last().unwrap()["message"], "message number 39");

    let mut args = args.to_vec();
    args.push("--keep-oldest");
    let out = json_out(&herald(&args, &many));
    assert_eq!(
        out["unstored_indices"].as_array().unwrap().last().unwrap(),
        39
    );
    let back = json_out(&herald(
        &["decode", "--secret", SECRET, out["value"].as_str().unwrap()],
        "",
    ));
    assert_eq!(back["messages"][0]["message"], "message number 0");

    let out = json_out(&herald(
        &["encode", "--secret", SECRET, "--timestamp", "1"],
        "[]",
    ));
    assert_eq!(out, json!({"value": null, "unstored_indices": []}));
}

#[test]
fn native_encode_rejects_what_the_format_cannot_hold() {
    let args = ["encode", "--secret", SECRET, "--timestamp", "1"];
    for (input, needle) in [
        ("[{\"raw\": \"x\"}]", "messages only"),
        ("[{\"level\": 20, \"message\": \"\"}]", "empty text"),
        ("[oops", "not valid JSON"),
    ] {
        let o = herald(&args, input);
        assert_eq!(o.status.code(), Some(1), "{input}");
        assert!(stderr(&o).contains(needle), "{input}: {}", stderr(&o));
    }
    let o = herald(&["encode", "--secret", SECRET, "--timestamp", "-1"], "[]");
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("timestamp"));
}

#[test]
fn inspect_native_value() {
    let input = json!([{"level": 25, "message": "Done.", "extra_tags": "big"}]).to_string();
    let out = json_out(&herald(
        &["encode", "--secret", OLD, "--timestamp", "1700000000"],
        &input,
    ));
    let value = out["value"].as_str().unwrap();
    let o = herald(&["inspect", value, "--secret", SECRET, "--secret", OLD], "");
    assert!(o.status.success(), "{}", stdout(&o));
    let s = stdout(&o);
    for needle in [
        "format: herald",
        "signature: valid (fallback key 0)",
        "timestamp: 1700000000 (2023-11-14T22:13:20Z)",
        "not-finished marker: no",
        "messages: 1",
        "level 25 (success), tags \"big success\", extra_tags \"big\": Done.",
    ] {
        assert!(s.contains(needle), "{needle:?} in:\n{s}");
    }
    let o = herald(&["inspect", value, "--secret", SECRET], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("signature: INVALID"));
    let o = herald(&["inspect", value], "");
    assert!(o.status.success());
    assert!(stdout(&o).contains("signature: not checked"));
}

/// RULES R-11.5: a format-2 value whose message carries an expiry (written by the core, as
/// `Messages::add_expiring` has it written) shows the expiry in `decode` and `inspect`.
#[test]
fn decode_and_inspect_show_a_message_expiry() {
    use herald_core::codec::{self, Header};
    use herald_core::{Level, Message, MessageList, Signer};
    let signer: Signer =
        Signer::new(SECRET.as_bytes(), "herald.messages", "messages", &[]).unwrap();
    let mut list: MessageList = MessageList::new();
    list.push(Message::new(Level::INFO, "Export ready.").with_expires_at(1_700_000_600))
        .unwrap();
    list.push(Message::new(Level::INFO, "Saved.")).unwrap();
    let header = Header {
        issued_at: 1_700_000_000,
        continued: false,
    };
    let mut out = [0u8; 512];
    let value = codec::seal_body(&header, list.view(), &signer, &mut out)
        .unwrap()
        .to_owned();
    let back = json_out(&herald(&["decode", "--secret", SECRET, &value], ""));
    assert_eq!(back["messages"][0]["expires_at"], json!(1_700_000_600u64));
    assert_eq!(back["messages"][1].get("expires_at"), None, "{back}");
    let o = herald(&["inspect", &value, "--secret", SECRET], "");
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("extra_tags \"\", expires at 1700000600: Export ready."),
        "{}",
        stdout(&o)
    );
}

// ----------------------------------------------------------------------------------
// Secrets from the environment and from files
// ----------------------------------------------------------------------------------

/// A file holding `contents` in this test's own scratch folder.
fn secret_file(test: &str, name: &str, contents: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{test}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// A herald value and a Django value of one message, signed with `secret`.
fn signed_values(secret: &str) -> (String, String) {
    let input = r#"[{"level": 20, "message": "hello"}]"#;
    let native = json_out(&herald(
        &["encode", "--secret", secret, "--timestamp", "1700000000"],
        input,
    ));
    let django = json_out(&herald(
        &[
            "django",
            "encode",
            "--secret",
            secret,
            "--timestamp",
            "1700000000",
        ],
        input,
    ));
    (
        native["value"].as_str().unwrap().to_owned(),
        django["value"].as_str().unwrap().to_owned(),
    )
}

fn decoded_ok(o: &Output) -> bool {
    let out = json_out(o);
    out["result"] == "ok" && out["messages"][0]["message"] == "hello"
}

#[test]
fn secrets_from_the_environment() {
    let (native, django) = signed_values(SECRET);
    let (old_native, old_django) = signed_values(OLD);
    // HERALD_SECRET when no --secret* option is given, in every command.
    let env = [("HERALD_SECRET", SECRET)];
    assert!(decoded_ok(&herald_env(&["decode", &native], "", &env)));
    assert!(decoded_ok(&herald_env(
        &["django", "decode", &django],
        "",
        &env
    )));
    let o = herald_env(&["inspect", &native], "", &env);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("signature: valid (current key)"));
    let out = json_out(&herald_env(
        &["encode", "--timestamp", "1700000000"],
        r#"[{"level": 20, "message": "hello"}]"#,
        &env,
    ));
    assert_eq!(out["value"], native.as_str(), "signed with HERALD_SECRET");
    let out = json_out(&herald_env(
        &["django", "encode", "--timestamp", "1700000000"],
        r#"[{"level": 20, "message": "hello"}]"#,
        &env,
    ));
    assert_eq!(out["value"], django.as_str());

    // An option wins over HERALD_SECRET.
    let wrong = [("HERALD_SECRET", WRONG)];
    assert!(decoded_ok(&herald_env(
        &["decode", "--secret", SECRET, &native],
        "",
        &wrong
    )));
    assert_eq!(
        json_out(&herald_env(&["decode", &native], "", &wrong)),
        json!({"result": "invalid"})
    );

    // --secret-env NAME names another variable.
    let o = herald_env(
        &["django", "decode", "--secret-env", "MY_DJANGO_KEY", &django],
        "",
        &[("MY_DJANGO_KEY", SECRET), ("HERALD_SECRET", WRONG)],
    );
    assert!(decoded_ok(&o));

    // HERALD_FALLBACK_SECRETS: comma-separated, or one per line.
    for list in [
        format!("{UNUSED},{OLD}"),
        format!("{UNUSED}, {OLD} ,"),
        format!("{UNUSED}\n{OLD}\n"),
        format!("{UNUSED},{UNUSED2}\r\n{OLD}\r\n"),
    ] {
        let env = [
            ("HERALD_SECRET", SECRET),
            ("HERALD_FALLBACK_SECRETS", &list),
        ];
        assert!(
            decoded_ok(&herald_env(&["decode", &old_native], "", &env)),
            "{list:?}"
        );
        assert!(decoded_ok(&herald_env(
            &["django", "decode", &old_django],
            "",
            &env
        )));
        let o = herald_env(&["inspect", &old_native], "", &env);
        assert!(
            stdout(&o).contains("signature: valid (fallback key 1)"),
            "{list:?}: {}",
            stdout(&o)
        );
    }
    // --fallback-keys-env NAME, and an option wins over HERALD_FALLBACK_SECRETS.
    let env = [
        ("HERALD_SECRET", SECRET),
        ("HERALD_FALLBACK_SECRETS", &format!("{UNUSED},{UNUSED2}")),
        ("OLD_KEYS", OLD),
    ];
    assert_eq!(
        json_out(&herald_env(&["decode", &old_native], "", &env)),
        json!({"result": "invalid"})
    );
    assert!(decoded_ok(&herald_env(
        &["decode", "--fallback-keys-env", "OLD_KEYS", &old_native],
        "",
        &env
    )));
    assert!(decoded_ok(&herald_env(
        &["decode", "--fallback-key", OLD, &old_native],
        "",
        &env
    )));
    // inspect: HERALD_FALLBACK_SECRETS alone (no secret) checks nothing.
    let o = herald_env(
        &["inspect", &old_native],
        "",
        &[("HERALD_FALLBACK_SECRETS", OLD)],
    );
    assert!(o.status.success());
    assert!(stdout(&o).contains("signature: not checked"));
}

#[test]
fn secrets_from_files() {
    let t = "secrets_from_files";
    let (native, django) = signed_values(SECRET);
    let (old_native, old_django) = signed_values(OLD);
    for (name, contents) in [
        ("newline", format!("{SECRET}\n")),
        ("crlf", format!("{SECRET}\r\n")),
        ("bare", SECRET.to_owned()),
    ] {
        let path = secret_file(t, name, &contents);
        let path = path.to_str().unwrap();
        assert!(
            decoded_ok(&herald(&["decode", "--secret-file", path, &native], "")),
            "{name}"
        );
        assert!(decoded_ok(&herald(
            &["django", "decode", "--secret-file", path, &django],
            ""
        )));
        let o = herald(&["inspect", &django, "--secret-file", path], "");
        assert!(
            stdout(&o).contains("signature: valid (current key)"),
            "{name}"
        );
        let out = json_out(&herald(
            &["encode", "--secret-file", path, "--timestamp", "1700000000"],
            r#"[{"level": 20, "message": "hello"}]"#,
        ));
        assert_eq!(out["value"], native.as_str(), "{name}");
    }
    // One trailing newline only: the rest is part of the secret.
    let two = secret_file(t, "two-newlines", &format!("{SECRET}\n\n"));
    assert_eq!(
        json_out(&herald(
            &["decode", "--secret-file", two.to_str().unwrap(), &native],
            ""
        )),
        json!({"result": "invalid"})
    );
    // A file wins over HERALD_SECRET.
    let good = secret_file(t, "good", SECRET);
    let good = good.to_str().unwrap();
    assert!(decoded_ok(&herald_env(
        &["decode", "--secret-file", good, &native],
        "",
        &[("HERALD_SECRET", WRONG)]
    )));
    // Fallback keys: one per line, or comma-separated on one line.
    for (name, list) in [
        ("fb-lines", format!("{UNUSED}\n{OLD}\n")),
        ("fb-commas", format!("{UNUSED},{OLD}")),
    ] {
        let fb = secret_file(t, name, &list);
        let fb = fb.to_str().unwrap();
        for (args, value) in [
            (vec!["decode"], &old_native),
            (vec!["django", "decode"], &old_django),
        ] {
            let mut args = args;
            args.extend(["--secret-file", good, "--fallback-keys-file", fb, value]);
            assert!(decoded_ok(&herald(&args, "")), "{name}: {args:?}");
        }
        let o = herald(
            &[
                "inspect",
                &old_django,
                "--secret-file",
                good,
                "--fallback-keys-file",
                fb,
            ],
            "",
        );
        assert!(
            stdout(&o).contains("signature: valid (fallback key 1)"),
            "{name}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn two_forms_of_one_secret_are_a_usage_error() {
    let t = "two_forms_of_one_secret_are_a_usage_error";
    let (native, _) = signed_values(SECRET);
    let file = secret_file(t, "secret", SECRET);
    let file = file.to_str().unwrap();
    for args in [
        &["decode", "--secret", SECRET, "--secret-file", file, &native][..],
        &[
            "decode",
            "--secret-file",
            file,
            "--secret-env",
            "X",
            &native,
        ],
        &["decode", "--secret", SECRET, "--secret-env", "X", &native],
        &[
            "django",
            "decode",
            "--secret",
            SECRET,
            "--secret-file",
            file,
            &native,
        ],
        &[
            "encode",
            "--secret",
            SECRET,
            "--secret-file",
            file,
            "--timestamp",
            "1",
        ],
        &[
            "django",
            "encode",
            "--secret-env",
            "X",
            "--secret",
            SECRET,
            "--timestamp",
            "1",
        ],
        &[
            "inspect",
            &native,
            "--secret",
            SECRET,
            "--secret-file",
            file,
        ],
        &[
            "decode",
            "--secret",
            SECRET,
            "--fallback-key",
            OLD,
            "--fallback-keys-file",
            file,
            &native,
        ],
        &[
            "decode",
            "--secret",
            SECRET,
            "--fallback-keys-env",
            "X",
            "--fallback-keys-file",
            file,
            &native,
        ],
    ] {
        let o = herald_env(args, "[]", &[("X", SECRET)]);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stdout(&o).is_empty(), "{args:?}");
        assert!(
            stderr(&o).contains("cannot be used with"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // decode and encode take one current secret; older ones are fallback keys.
    let o = herald(
        &["decode", "--secret", SECRET, "--secret", OLD, &native],
        "",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("more than once"), "{}", stderr(&o));
    // Fallback keys given without a current secret.
    let o = herald(&["inspect", &native, "--fallback-key", OLD], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no current secret"), "{}", stderr(&o));
    // No secret at all: the usage error names the safe forms.
    for args in [
        &["decode", &native][..],
        &["django", "decode", &native],
        &["encode", "--timestamp", "1"],
    ] {
        let o = herald(args, "[]");
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        for needle in ["no secret given", "--secret-file", "HERALD_SECRET"] {
            assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
        }
    }
}

#[test]
fn an_unreadable_or_empty_secret_is_a_clear_error() {
    let t = "an_unreadable_or_empty_secret_is_a_clear_error";
    let (native, django) = signed_values(SECRET);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-{t}"));
    let missing = dir.join("no-such-file");
    let missing = missing.to_str().unwrap();
    let empty = secret_file(t, "empty", "\n");
    let empty = empty.to_str().unwrap();
    for (args, env, needle) in [
        (
            &["decode", "--secret-file", missing, &native][..],
            &[][..],
            format!("cannot read the secret file {missing}"),
        ),
        (
            &["django", "decode", "--secret-file", missing, &django],
            &[],
            format!("cannot read the secret file {missing}"),
        ),
        (
            &["encode", "--secret-file", missing, "--timestamp", "1"],
            &[],
            format!("cannot read the secret file {missing}"),
        ),
        (
            &["inspect", &native, "--secret-file", missing],
            &[],
            format!("cannot read the secret file {missing}"),
        ),
        (
            &[
                "decode",
                "--secret",
                SECRET,
                "--fallback-keys-file",
                missing,
                &native,
            ],
            &[],
            format!("cannot read the fallback keys file {missing}"),
        ),
        (
            &["decode", "--secret-file", empty, &native],
            &[],
            "is empty".to_owned(),
        ),
        (
            &["decode", "--secret-env", "HERALD_TEST_UNSET", &native],
            &[],
            "HERALD_TEST_UNSET is not set".to_owned(),
        ),
        (
            &[
                "decode",
                "--secret",
                SECRET,
                "--fallback-keys-env",
                "HERALD_TEST_UNSET",
                &native,
            ],
            &[],
            "HERALD_TEST_UNSET is not set".to_owned(),
        ),
        (
            &["decode", &native],
            &[("HERALD_SECRET", "")],
            "HERALD_SECRET is set but empty".to_owned(),
        ),
    ] {
        let o = herald_env(args, "[]", env);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stdout(&o).is_empty(), "{args:?}: {}", stdout(&o));
        assert!(stderr(&o).contains(&needle), "{args:?}: {}", stderr(&o));
    }
}

// ----------------------------------------------------------------------------------
// Control characters from a cookie are printed escaped
// ----------------------------------------------------------------------------------

/// Characters that must never reach the terminal raw: C0 (but the line ends), DEL, C1,
/// the bidi controls and the line and paragraph separators.
fn raw_controls(s: &str) -> Vec<char> {
    s.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(
                    c,
                    '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}'
                )
                || matches!(c, '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
        })
        .collect()
}

/// A text that would recolour, retitle, clear and reorder a terminal, and forge a line.
const HOSTILE: &str = "red \u{1b}[31mALERT\u{1b}[0m \u{202e}txt.exe\u{2066} \u{9b}2J\u{7f}\u{8}\r\nsignature: valid (forged)\u{2028}";
/// `HOSTILE` as inspect prints it.
const HOSTILE_SHOWN: &str = "red \\u{1b}[31mALERT\\u{1b}[0m \\u{202e}txt.exe\\u{2066} \\u{9b}2J\\u{7f}\\u{8}\\u{d}\\u{a}signature: valid (forged)\\u{2028}";

#[test]
fn inspect_escapes_control_characters_from_the_cookie() {
    let input = json!([
        {"level": 20, "message": HOSTILE, "extra_tags": "tag\u{1b}]0;title\u{7} \u{202e}x"},
        {"level": 25, "message": "plain \\u{1b} text, é 😀"},
    ])
    .to_string();
    let mut django_input: Value = serde_json::from_str(&input).unwrap();
    django_input
        .as_array_mut()
        .unwrap()
        .push(json!({"raw": {"k\u{9b}": "\u{1b}[2J\u{202e}\u{85}"}}));
    let django = json_out(&herald(
        &[
            "django",
            "encode",
            "--secret",
            SECRET,
            "--timestamp",
            "1700000000",
        ],
        &django_input.to_string(),
    ));
    let native = json_out(&herald(
        &["encode", "--secret", SECRET, "--timestamp", "1700000000"],
        &input,
    ));
    for value in [&django["value"], &native["value"]] {
        let value = value.as_str().unwrap();
        // Validly signed, and the same without a secret (an unverified cookie).
        for args in [
            &["inspect", value, "--secret", SECRET][..],
            &["inspect", value],
        ] {
            let o = herald(args, "");
            assert!(o.status.success(), "{}", stderr(&o));
            let s = stdout(&o);
            assert_eq!(raw_controls(&s), [], "{s}");
            assert!(s.contains(HOSTILE_SHOWN), "{s}");
            assert!(
                s.contains("extra_tags \"tag\\u{1b}]0;title\\u{7} \\u{202e}x\""),
                "{s}"
            );
            // Other text is kept as it is, backslashes included.
            assert!(s.contains(": plain \\u{1b} text, é 😀\n"), "{s}");
            // The forged line is not a line.
            assert_eq!(
                s.lines().filter(|l| l.starts_with("signature:")).count(),
                1,
                "{s}"
            );
            if value.contains(':') {
                assert!(
                    s.contains(r#"raw JSON value: {"k\u{9b}":"\u001b[2J\u{202e}\u{85}"}"#),
                    "{s}"
                );
            }
        }
    }
}

#[test]
fn inspect_escapes_control_characters_in_unverified_parts() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    // The signature part of a Django value is shown as it is given.
    let o = herald(&["inspect", "W10:1r31eq:\u{1b}[2J\u{202e}sig\u{9b}"], "");
    let s = stdout(&o);
    assert_eq!(raw_controls(&s), [], "{s}");
    assert!(
        s.contains("signature text: \\u{1b}[2J\\u{202e}sig\\u{9b}"),
        "{s}"
    );
    // A payload the decoder refuses: its error quotes the payload (JSON escapes here, as
    // Django reads the payload's bytes as Latin-1).
    let value = format!("{}:1r31eq:x", b64(r#""\u009b2J\u202e\u007f""#));
    let o = herald(&["inspect", &value], "");
    assert_eq!(o.status.code(), Some(1));
    let s = stdout(&o);
    assert_eq!(raw_controls(&s), [], "{s}");
    assert!(s.contains("\\u{9b}2J\\u{202e}\\u{7f}"), "{s}");
    // A timestamp that is not base62.
    let o = herald(&["inspect", "W10:\u{1b}[5m:x"], "");
    let s = stdout(&o);
    assert_eq!(raw_controls(&s), [], "{s}");
}

#[test]
fn json_output_escapes_control_characters_too() {
    // serde_json escapes the C0 controls only; DEL, C1 and the bidi controls are
    // escaped by herald, as \uXXXX: the JSON value is the same.
    let input = json!([{"level": 20, "message": HOSTILE, "extra_tags": "\u{85}\u{202e}"}]);
    let django = json_out(&herald(
        &["django", "encode", "--secret", SECRET, "--timestamp", "1"],
        &input.to_string(),
    ));
    let native = json_out(&herald(
        &["encode", "--secret", SECRET, "--timestamp", "1"],
        &input.to_string(),
    ));
    for args in [
        vec![
            "django",
            "decode",
            "--secret",
            SECRET,
            django["value"].as_str().unwrap(),
        ],
        vec![
            "decode",
            "--secret",
            SECRET,
            native["value"].as_str().unwrap(),
        ],
    ] {
        let o = herald(&args, "");
        let text = stdout(&o);
        assert_eq!(raw_controls(&text), [], "{text}");
        for escape in [
            r"\u001b", r"\u202e", r"\u2066", r"\u009b", r"\u007f", r"\u2028", r"\u0085",
        ] {
            assert!(text.contains(escape), "{escape} in {text}");
        }
        let out = json_out(&o);
        assert_eq!(out["messages"][0]["message"], HOSTILE);
        assert_eq!(out["messages"][0]["extra_tags"], "\u{85}\u{202e}");
    }
}

// ----------------------------------------------------------------------------------
// Cookie: lines are read as the servers read them
// ----------------------------------------------------------------------------------

/// A herald value and a Django value holding the one message `text`.
fn values_of(text: &str) -> (String, String) {
    let input = json!([{"level": 20, "message": text}]).to_string();
    let native = json_out(&herald(
        &["encode", "--secret", SECRET, "--timestamp", "1700000000"],
        &input,
    ));
    let django = json_out(&herald(
        &[
            "django",
            "encode",
            "--secret",
            SECRET,
            "--timestamp",
            "1700000000",
        ],
        &input,
    ));
    (
        native["value"].as_str().unwrap().to_owned(),
        django["value"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn cookie_lines_take_the_first_cookie_of_the_name_as_the_server_does() {
    let (a_native, a_django) = values_of("from A");
    let (b_native, b_django) = values_of("from B");
    for (a, b, decode) in [
        (&a_native, &b_native, &["decode"][..]),
        (&a_django, &b_django, &["django", "decode"]),
    ] {
        for pasted in [
            format!("Cookie: messages={a}; messages={b}"),
            format!("cookie: x=1;messages=\"{a}\" ;messages={b}"),
            // Several headers (HTTP/2 may split them), in the order received.
            format!("Cookie: x=1\nCookie: messages={a}; messages={b}\r\nCOOKIE: messages={b}"),
            // A foreign cookie of any shape does not hide ours; names match whole.
            format!("Cookie: other={{\"json\": [1, 2]}}; xmessages={b}; messages={a}"),
        ] {
            let o = herald(&["inspect", &pasted, "--secret", SECRET], "");
            assert!(o.status.success(), "{pasted}: {}", stderr(&o));
            assert!(
                stdout(&o).contains(": from A\n"),
                "{pasted}: {}",
                stdout(&o)
            );
            let mut args = decode.to_vec();
            args.extend(["--secret", SECRET, pasted.as_str()]);
            let out = json_out(&herald(&args, ""));
            assert_eq!(out["messages"][0]["message"], "from A", "{pasted}");
            // The same from standard input.
            let mut args = decode.to_vec();
            args.extend(["--secret", SECRET, "-"]);
            let out = json_out(&herald(&args, &format!("{pasted}\n")));
            assert_eq!(out["messages"][0]["message"], "from A", "{pasted}");
        }
        // The other order reads B: it is the position that decides.
        let o = herald(
            &[
                "inspect",
                &format!("Cookie: messages={b}; messages={a}"),
                "--secret",
                SECRET,
            ],
            "",
        );
        assert!(stdout(&o).contains(": from B\n"), "{}", stdout(&o));
    }
    // A malformed first value is no cookie; the later one is not used instead.
    let o = herald(
        &[
            "inspect",
            &format!("Cookie: messages=a b; messages={a_native}"),
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("malformed"), "{}", stderr(&o));
    assert!(stderr(&o).contains("0x20"), "{}", stderr(&o));
    // Only Cookie lines after a Cookie line.
    let o = herald(
        &[
            "inspect",
            &format!("Cookie: a=1\nHost: x\nCookie: messages={a_native}"),
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("line 2 is not a Cookie header"),
        "{}",
        stderr(&o)
    );
    // The cookie name must be a name.
    let o = herald(&["inspect", "Cookie: a=1", "--cookie-name", "bad name"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a cookie name"), "{}", stderr(&o));
}
