//! Property tests of `herald_flash::django`: JSON escaping, Python's float repr and base64,
//! the encode → decode round trip with truncation in both modes, fallback keys, sessions,
//! and decoding arbitrary input without panicking.
#![cfg(feature = "django")]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use herald_flash::django::{
    DjangoCodec, DjangoItem, DjangoMessage, JsonStyle, KeyUsed, ToDjangoJson, decode_session,
    encode_session, python_b64_decode, python_float_repr,
};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../proptest-regressions/django_props.txt"
        )))),
        ..ProptestConfig::default()
    }
}

/// Text mixing ASCII, escapes, controls, DEL, BMP and astral characters.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ]{0,40}",
        ".{0,30}",
        "[\\x00-\\x7f\u{80}-\u{ff}\u{2028}\u{feff}é😀中]{0,30}",
        "[a-f]{0,5}".prop_map(|s| s.repeat(60)),
        "[a-zA-Z0-9]{200,900}",
    ]
}

fn message() -> impl Strategy<Value = DjangoMessage> {
    (
        prop_oneof![Just(20), Just(40), any::<i32>()],
        text(),
        proptest::option::of("[a-z ]{0,12}"),
        any::<bool>(),
    )
        .prop_map(|(level, message, extra_tags, is_safe)| DjangoMessage {
            level,
            message,
            extra_tags,
            is_safe,
        })
}

fn json_text(item: &impl ToDjangoJson) -> String {
    let mut s = String::new();
    item.write_django_json(&mut s, JsonStyle::Compact);
    s
}

proptest! {
    #![proptest_config(config(512))]

    /// the writer's output is printable ASCII, parses back to the same string, and
    /// leaves exactly the printable ASCII characters other than `"` and `\` unescaped.
    #[test]
    fn json_strings_are_python_ensure_ascii(s in ".{0,40}") {
        let out = herald_flash::django::to_python_json(&serde_json::Value::from(s.as_str()), JsonStyle::Compact);
        prop_assert!(out.bytes().all(|b| (0x20..0x7f).contains(&b)), "{out}");
        prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s.clone());
        // Each character is either itself (printable ASCII but `"` and `\`), a two-character
        // escape, or one or two `\uXXXX` escapes.
        let expected_len: usize = s
            .chars()
            .map(|c| match c {
                '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
                ' '..='~' => 1,
                c => 6 * c.len_utf16(),
            })
            .sum();
        prop_assert_eq!(out.len(), expected_len + 2);
    }

    /// Python's float repr round-trips and always shows it is a float.
    #[test]
    fn float_repr_round_trips(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let r = python_float_repr(f);
        prop_assert_eq!(r.parse::<f64>().unwrap().to_bits(), f.to_bits(), "{}", r);
        prop_assert!(r.contains('.') || r.contains('e'), "{}", r);
    }

    /// on canonical unpadded base64url Python's decoder agrees with a strict one,
    /// and characters outside the alphabet are skipped.
    #[test]
    fn python_base64_decodes_canonical_input(bytes in proptest::collection::vec(any::<u8>(), 0..64), junk in "[ !*.~\u{e9}]{0,3}", at in any::<prop::sample::Index>()) {
        let enc = URL_SAFE_NO_PAD.encode(&bytes);
        prop_assert_eq!(python_b64_decode(enc.as_bytes()).unwrap(), bytes.clone());
        let i = at.index(enc.len() + 1);
        let mut with_junk = enc.clone();
        with_junk.insert_str(i, &junk);
        // Junk changes the padding Django adds, so only check when it keeps the length
        // class (a multiple of 4 of junk bytes) or there is none.
        if junk.len() % 4 == 0 {
            prop_assert_eq!(python_b64_decode(with_junk.as_bytes()).unwrap(), bytes);
        }
    }

    /// Session strings round-trip.
    #[test]
    fn session_round_trip(items in proptest::collection::vec(message(), 1..8)) {
        let items: Vec<DjangoItem> = items.into_iter().map(DjangoItem::Message).collect();
        let s = encode_session(&items).unwrap();
        prop_assert!(s.is_ascii());
        prop_assert_eq!(decode_session(&s).unwrap().unwrap(), items);
    }

    /// Arbitrary input never panics the decoder, and is never accepted without a key.
    #[test]
    fn decoding_garbage_does_not_panic(s in ".{0,200}") {
        let codec = DjangoCodec::new("k");
        if let Ok(Some(_)) = codec.decode(&s) {
            prop_assert!(false, "accepted an unsigned value: {s}");
        }
    }

    /// Any signed payload decodes or fails cleanly (no panic), whatever its bytes.
    #[test]
    fn signed_garbage_does_not_panic(payload in proptest::collection::vec(any::<u8>(), 0..300), ts in any::<i64>()) {
        let codec = DjangoCodec::new("k");
        let v = codec.sign_payload(&payload, ts);
        let _ = codec.decode(&v);
        let raw = codec.sign_raw(&String::from_utf8_lossy(&payload), ts);
        let _ = codec.decode(&raw);
    }
}

proptest! {
    #![proptest_config(config(160))]

    /// whatever is stored reads back exactly; the unstored messages
    /// are the oldest (remove_oldest) or the newest; the sentinel appears exactly when
    /// something was dropped; a value never exceeds the limit unless it is sentinel-only.
    #[test]
    fn encode_decode_round_trip_with_truncation(
        items in proptest::collection::vec(message(), 0..30),
        remove_oldest in any::<bool>(),
        max in prop_oneof![Just(0usize), 60usize..3000],
        ts in -1_000_000i64..5_000_000_000,
    ) {
        let codec = DjangoCodec::new("secret").with_fallback_keys(["old"]);
        let enc = codec.encode(&items, remove_oldest, ts, max);
        let n = items.len();
        prop_assert_eq!(enc.not_finished, !enc.unstored.is_empty());
        if !enc.unstored.is_empty() {
            if remove_oldest {
                prop_assert_eq!(enc.unstored.start, 0);
            } else {
                prop_assert_eq!(enc.unstored.end, n);
            }
        }
        let Some(value) = enc.value else {
            prop_assert_eq!(n, 0);
            return Ok(());
        };
        prop_assert!(value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b)));
        let stored: Vec<DjangoItem> = items
            .iter()
            .enumerate()
            .filter(|(i, _)| !enc.unstored.contains(i))
            .map(|(_, m)| DjangoItem::Message(m.clone()))
            .collect();
        if max > 0 && !stored.is_empty() {
            prop_assert!(value.len() <= max, "{} > {max}", value.len());
        }
        if enc.unstored.is_empty() {
            prop_assert_eq!(codec.encode_all(&items, ts, false), Some(value.clone()));
        }
        // Without a size limit (`max = 0`) the value can exceed the longest value herald
        // reads (`MAX_VALUE_LEN`): refused before any verification work, with that error.
        if value.len() > herald_flash::django::MAX_VALUE_LEN {
            prop_assert_eq!(
                codec.decode(&value),
                Err(herald_flash::django::DecodeError::TooLong(value.len()))
            );
            return Ok(());
        }
        let d = codec.decode(&value).unwrap().unwrap();
        prop_assert_eq!(&d.items, &stored);
        prop_assert_eq!(d.all_retrieved, enc.unstored.is_empty());
        prop_assert_eq!(d.key, KeyUsed::Current);
        prop_assert_eq!(d.timestamp, ts);
        prop_assert_eq!(d.compressed, value.starts_with('.'));
        // The payload is the items' JSON, joined.
        let mut payload = String::from("[");
        for (i, it) in stored.iter().enumerate() {
            if i > 0 { payload.push(','); }
            payload.push_str(&json_text(it));
        }
        if enc.not_finished {
            if !stored.is_empty() { payload.push(','); }
            payload.push_str("\"__messagesnotfinished__\"");
        }
        payload.push(']');
        if !value.starts_with('.') {
            let b64 = value.split(':').next().unwrap();
            prop_assert_eq!(python_b64_decode(b64.as_bytes()).unwrap(), payload.into_bytes());
        }
    }

    /// a value signed with a fallback key verifies and says which one; signing
    /// never uses a fallback key.
    #[test]
    fn fallback_keys_verify_and_are_reported(items in proptest::collection::vec(message(), 1..4), k in 0usize..3) {
        let keys = ["k0", "k1", "k2"];
        let reader = DjangoCodec::new("current").with_fallback_keys(keys);
        let writer = DjangoCodec::new(keys[k]).with_fallback_keys(["current"]);
        let v = writer.encode_all(&items, 1, false).unwrap();
        let d = reader.decode(&v).unwrap().unwrap();
        prop_assert_eq!(d.key, KeyUsed::Fallback(k));
        prop_assert_eq!(v, DjangoCodec::new(keys[k]).encode_all(&items, 1, false).unwrap());
        let stranger = DjangoCodec::new("someone else");
        prop_assert!(stranger.decode(&reader.encode_all(&items, 1, false).unwrap()).unwrap_err().marks_used());
    }
}
