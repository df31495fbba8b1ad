//! Replays the committed seed corpus of every fuzz target (`fuzz/seeds/<target>/`)
//! through the same `pub fn`s the cargo-fuzz targets call, on stable Rust, plus the
//! full-size bit-flip test of the signed cookie.
//!
//! `HERALD_WRITE_SEEDS=1 cargo test -p herald --features fuzzing,django --test fuzz_seeds
//! -- --ignored write_seeds` regenerates the hand-made seeds (files named `gen-*`); the
//! others come from fuzzing campaigns (`cargo fuzz cmin`, see `fuzz/CAMPAIGN.md`).
#![cfg(feature = "fuzzing")]

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use herald_core::codec::{self, Header};
use herald_core::signer::MAX_VALUE_LEN;
use herald_core::{Inbox, Level, LoadError, Loaded, Message, MessageList, Storage};
use herald_flash::fuzzing::{self, TARGETS};

fn seeds_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
}

fn seed_files(target: &str) -> Vec<PathBuf> {
    let dir = seeds_root().join(target);
    let entries = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed folder {} is missing: {e}", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("readable folder entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "seed folder {} is empty", dir.display());
    files
}

#[test]
fn every_seed_of_every_target() {
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, target) in TARGETS {
        let files = seed_files(name);
        for file in &files {
            let data = fs::read(file).expect("readable seed");
            if catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
                failures.push(file.display().to_string());
            }
        }
        println!("{name}: {} seeds", files.len());
        total += files.len();
    }
    assert!(failures.is_empty(), "seeds that fail: {failures:#?}");
    println!("{total} seeds replayed");
}

#[test]
fn every_seed_folder_has_a_target() {
    for entry in fs::read_dir(seeds_root()).expect("fuzz/seeds exists") {
        let name = entry.expect("entry").file_name();
        let name = name.to_string_lossy();
        let known = TARGETS.iter().any(|(t, _)| *t == name);
        // django_decode exists only with the `django` feature.
        assert!(
            known || (name == "django_decode" && cfg!(not(feature = "django"))),
            "seed folder {name} has no target"
        );
    }
}

/// Every single-bit change of a full-size (≈ 2 KB) signed cookie is rejected.
#[test]
fn every_bit_flip_of_a_full_size_cookie_is_rejected() {
    let header = Header {
        issued_at: 1_700_000_000,
        continued: true,
    };
    // As many ~60-character messages as fit in 2048 characters.
    let texts: Vec<String> = (0..64)
        .map(|i| format!("Message number {i}: the profile was saved with üñïçødé text."))
        .collect();
    let mut list: MessageList = MessageList::new();
    for (i, t) in texts.iter().enumerate() {
        let m = Message::new(Level(10 * (i as i32 % 5) + 10), t).with_safe(i % 3 == 0);
        list.push(if i % 4 == 0 {
            m.with_extra_tags("tag")
        } else {
            m
        })
        .unwrap();
        if herald_core::truncate::signed_len(&header, list.view()) > 2048 {
            list.truncate(i);
            break;
        }
    }
    let count = list.len();
    let mut out = [0u8; MAX_VALUE_LEN];
    let value = codec::seal_body(&header, list.view(), fuzzing::signer(), &mut out)
        .unwrap()
        .as_bytes()
        .to_vec();
    assert!(
        (1900..=2048).contains(&value.len()),
        "cookie of {} characters",
        value.len()
    );
    let load = |v: &[u8]| {
        let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        inbox.load_cookie(Some(v), fuzzing::signer(), 1_700_000_000, None)
    };
    assert!(matches!(
        load(&value),
        Ok(Loaded::Messages { count: c, .. }) if c == count
    ));
    let mut flipped = value.clone();
    for i in 0..flipped.len() {
        for bit in 0..8 {
            flipped[i] ^= 1 << bit;
            let got = load(&flipped);
            assert!(
                matches!(got, Err(LoadError::Open(_))),
                "byte {i} bit {bit}: {got:?}"
            );
            flipped[i] ^= 1 << bit;
        }
    }
    assert_eq!(flipped, value);
}

/// Regenerates the hand-made seeds (`gen-*` files).
#[test]
#[ignore = "writes fuzz/seeds; run with HERALD_WRITE_SEEDS=1"]
fn write_seeds() {
    if std::env::var_os("HERALD_WRITE_SEEDS").is_none() {
        println!("set HERALD_WRITE_SEEDS=1 to write the seeds");
        return;
    }
    seeds::write_all(&seeds_root());
}

mod seeds {
    use super::*;

    fn write(root: &Path, target: &str, name: &str, data: &[u8]) {
        let dir = root.join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(format!("gen-{name}")), data).unwrap();
    }

    /// A deterministic byte stream (xorshift), for the structured targets.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    fn list(n: usize, text_len: usize) -> MessageList<16384, 64> {
        let mut l = MessageList::new();
        for i in 0..n {
            let text: String = format!("message {i} ")
                .chars()
                .chain("é€😀abcdefghij".chars().cycle())
                .take(text_len.max(1))
                .collect();
            let m = Message::new(Level(10 * (i as i32 % 5) + 10), &text)
                .with_safe(i % 2 == 1)
                .with_extra_tags(if i % 3 == 0 { "" } else { "extra tags" });
            let m = if i % 7 == 6 {
                Message {
                    extra_tags: None,
                    ..m
                }
            } else {
                m
            };
            l.push(m).unwrap();
        }
        l
    }

    pub(super) fn write_all(root: &Path) {
        // native_decode: valid values (current and old key) and their raw bodies.
        for (n, len, continued, issued_at) in [
            (0, 1, false, 0u64),
            (0, 1, true, 1_700_000_000),
            (1, 14, false, 1_700_000_000),
            (3, 40, true, 1_700_000_000),
            (10, 60, false, u64::MAX),
            (24, 60, true, 1_700_000_000),
            (32, 90, false, 127),
        ] {
            let l = list(n, len);
            let header = Header {
                issued_at,
                continued,
            };
            let mut out = [0u8; MAX_VALUE_LEN];
            let name = format!("{n}x{len}-{}", u8::from(continued));
            if let Ok(v) = codec::seal_body(&header, l.view(), fuzzing::signer(), &mut out) {
                write(
                    root,
                    "native_decode",
                    &format!("value-{name}"),
                    v.as_bytes(),
                );
            }
            if n == 3 {
                let v =
                    codec::seal_body(&header, l.view(), fuzzing::old_signer(), &mut out).unwrap();
                write(
                    root,
                    "native_decode",
                    &format!("old-key-{name}"),
                    v.as_bytes(),
                );
            }
            let mut body = vec![0u8; codec::body_len(&header, l.view())];
            codec::encode_body(&header, l.view(), &mut body).unwrap();
            write(root, "native_decode", &format!("body-{name}"), &body);
        }
        // Format 2 with expiries (RULES R-11.5): relative to the issued-at, one already
        // past at the targets' time 0 (issued at 0, expiring at 0) and one overflowing.
        let mut expiring: MessageList<16384, 64> = MessageList::new();
        for (i, t) in [0u64, 1, 600, 1 << 40].into_iter().enumerate() {
            let m = Message::new(Level::INFO, "expiring").with_safe(i % 2 == 1);
            expiring.push(m.with_expires_at(t)).unwrap();
        }
        expiring.push(Message::new(Level::INFO, "forever")).unwrap();
        for issued_at in [0u64, 1_700_000_000] {
            let header = Header {
                issued_at,
                continued: false,
            };
            let mut body = vec![0u8; codec::body_len(&header, expiring.view())];
            codec::encode_body(&header, expiring.view(), &mut body).unwrap();
            write(
                root,
                "native_decode",
                &format!("body-expiring-{issued_at}"),
                &body,
            );
            let mut out = [0u8; MAX_VALUE_LEN];
            let v =
                codec::seal_body(&header, expiring.view(), fuzzing::signer(), &mut out).unwrap();
            write(
                root,
                "native_decode",
                &format!("value-expiring-{issued_at}"),
                v.as_bytes(),
            );
            // encrypted_decode: the same messages encrypted, with both keys, and the body.
            for (name, cipher) in [
                ("value", fuzzing::cipher()),
                ("old-key", fuzzing::old_cipher()),
            ] {
                let mut out = [0u8; MAX_VALUE_LEN];
                let v = cipher
                    .encrypt(&body, &[issued_at as u8 ^ 0x5a; 24], &mut out)
                    .unwrap();
                write(
                    root,
                    "encrypted_decode",
                    &format!("{name}-expiring-{issued_at}"),
                    v.as_bytes(),
                );
            }
            write(
                root,
                "encrypted_decode",
                &format!("body-expiring-{issued_at}"),
                &body,
            );
        }
        write(
            root,
            "native_decode",
            "body-bad-flags",
            &[2, 0, 0, 1, 40, 1, b'x', 0, 4],
        );
        for (n, len) in [(1usize, 14usize), (10, 60), (30, 50)] {
            let l = list(n, len);
            let header = Header {
                issued_at: 1_700_000_000,
                continued: n == 30,
            };
            let mut body = vec![0u8; codec::body_len(&header, l.view())];
            codec::encode_body(&header, l.view(), &mut body).unwrap();
            let mut out = [0u8; MAX_VALUE_LEN];
            if let Ok(v) = fuzzing::cipher().encrypt(&body, &[n as u8; 24], &mut out) {
                write(
                    root,
                    "encrypted_decode",
                    &format!("value-{n}x{len}"),
                    v.as_bytes(),
                );
            }
            write(root, "encrypted_decode", &format!("body-{n}x{len}"), &body);
        }
        // A signed value (never opens under the cipher) and garbage.
        let mut out = [0u8; MAX_VALUE_LEN];
        let signed = codec::seal_body(
            &Header::default(),
            list(2, 20).view(),
            fuzzing::signer(),
            &mut out,
        )
        .unwrap();
        write(root, "encrypted_decode", "signed-value", signed.as_bytes());
        write(root, "encrypted_decode", "garbage-short", b"AAAA");
        write(
            root,
            "encrypted_decode",
            "garbage-nonce-and-tag",
            &[b'A'; 54],
        );

        write(root, "native_decode", "garbage-padding", b"AAAA=");
        write(root, "native_decode", "garbage-short", b"AAAA");
        // An over-long varint (non-canonical) body.
        write(
            root,
            "native_decode",
            "body-overlong-varint",
            &[1, 0x80, 0x80, 0, 0, 1, 0x28, 2, b'h', b'i', 1, 0, 0],
        );

        // Structured targets: deterministic noise of several lengths.
        for target in ["inbox_ops", "truncation", "fallback_roundtrip"] {
            for (i, len) in [8usize, 64, 256, 1024, 4096].into_iter().enumerate() {
                write(
                    root,
                    target,
                    &format!("noise-{len}"),
                    &noise(i as u64 + 1, len),
                );
            }
        }

        // django_decode: every cookie value of the conformance vectors, and payloads.
        let vectors = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/conformance/django-vectors.json");
        let text =
            fs::read_to_string(&vectors).unwrap_or_else(|e| panic!("{}: {e}", vectors.display()));
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut values = std::collections::BTreeSet::new();
        collect_cookie_values(&json, &mut values);
        for (i, v) in values.iter().enumerate() {
            write(
                root,
                "django_decode",
                &format!("vector-{i:03}"),
                v.as_bytes(),
            );
        }
        for (name, payload) in [
            ("payload-one", r#"[["__json_message",0,20,"Hello",""]]"#),
            (
                "payload-mixed",
                r#"[["__json_message",1,25,"<b>ok</b>","a b"],"test",{"k":["__json_message",0,40,"e"]},["__json_message",0,30,"w",null],"__messagesnotfinished__"]"#,
            ),
            ("payload-null", "null"),
            (
                "payload-numbers",
                "[1.5, 1e300, -0.0, 12345678901234567890, true]",
            ),
        ] {
            write(root, "django_decode", name, payload.as_bytes());
        }

        // cookie_header: first byte picks the name (0 = "messages"), `\n` separates headers.
        let mut out = [0u8; MAX_VALUE_LEN];
        let valid = codec::seal_body(
            &Header::default(),
            list(2, 20).view(),
            fuzzing::signer(),
            &mut out,
        )
        .unwrap()
        .to_owned();
        for (name, header) in [
            ("simple", format!("\0messages={valid}")),
            ("among-others", format!("\0csrftoken=abc; messages={valid}; sessionid=xyz")),
            ("quoted", format!("\0messages=\"{valid}\"")),
            ("spaces", format!("\0a = 1 ;\tmessages = {valid} ;")),
            ("two-headers", format!("\0a=1\nmessages={valid}; b=2")),
            ("duplicate", format!("\0messages=first; messages={valid}")),
            ("invalid-first", format!("\0messages=a b; messages={valid}")),
            ("lookalikes", "\0xmessages=1; messages2=2; Messages=3".to_owned()),
            ("empty", "\0messages=; other".to_owned()),
            ("empty-quoted", "\0messages=\"\"".to_owned()),
            ("non-utf8", "\0messages=\u{ff}x; b=\u{1}".to_owned()),
            ("sessionid", "\u{1}sessionid=abc; messages=x".to_owned()),
            ("bad-name", "\u{5}bad name=1".to_owned()),
            (
                "django-value",
                "\0messages=W1siX19qc29uX21lc3NhZ2UiLDAsMjAsIlNhdmVkLiIsIiJdXQ:1r31eq:rPRZCDPSBkHEmCoCRnjVx8wVpwSYu_9p5Qz-iqCEnQU".to_owned(),
            ),
        ] {
            write(root, "cookie_header", name, header.as_bytes());
        }
        write(
            root,
            "cookie_header",
            "raw-bytes",
            b"\0messages=\xff\xfe; \x00=\x7f;;=;",
        );
    }

    fn collect_cookie_values(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, x) in map {
                    match (k.as_str(), x) {
                        ("cookie_value" | "value", serde_json::Value::String(s))
                            if s.contains(':') =>
                        {
                            out.insert(s.clone());
                        }
                        _ => collect_cookie_values(x, out),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for x in items {
                    collect_cookie_values(x, out);
                }
            }
            _ => {}
        }
    }
}
