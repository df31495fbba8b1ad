//! The Django codec's limits on hostile input, through the public API only: how long a
//! cookie value may be before anything is verified, and how far a compressed payload may
//! inflate.
#![cfg(feature = "django")]

use std::time::Instant;

use herald_core::Level;
use herald_flash::django::{
    DecodeError, DjangoCodec, DjangoItem, DjangoMessage, MAX_COOKIE_SIZE, MAX_INFLATED_LEN,
    MAX_VALUE_LEN, decode_payload,
};

const KEY: &str = "a Django SECRET_KEY for the limit tests, long enough";
const NOW: i64 = 1_700_000_000;

fn codec() -> DjangoCodec {
    DjangoCodec::new(KEY).with_fallback_keys(["an older key", "the oldest key"])
}

#[test]
fn the_limits_are_herald_s_cookie_limit_and_64_kib() {
    assert_eq!(MAX_VALUE_LEN, 4096);
    assert_eq!(MAX_VALUE_LEN, herald_core::signer::MAX_VALUE_LEN);
    assert_eq!(MAX_INFLATED_LEN, 65_536);
    const { assert!(MAX_COOKIE_SIZE < MAX_VALUE_LEN) };
}

/// The case: a signed cookie of about 1.4 KiB whose payload inflates to 1 MiB,
/// and bigger ones, are refused with the over-limit error, and refusing them costs about
/// as much as reading a 64 KiB payload, not more.
#[test]
fn compression_bombs_are_refused_at_the_limit() {
    let codec = codec();
    let mut sizes = Vec::new();
    for inflated in [MAX_INFLATED_LEN + 1, 1 << 20, 2 << 20] {
        // A JSON list of one long string: valid, so only the limit stands in the way.
        let json = format!("[\"{}\"]", "a".repeat(inflated - 4));
        let value = codec.sign_payload(json.as_bytes(), NOW);
        assert!(value.starts_with('.'), "compressed");
        assert!(value.len() <= MAX_VALUE_LEN, "{} bytes", value.len());
        let start = Instant::now();
        let error = codec.decode(&value).unwrap_err();
        let took = start.elapsed();
        assert_eq!(error, DecodeError::InflatedTooLarge);
        assert!(!error.marks_used(), "Django itself would read it");
        let b64 = value[1..].split(':').next().unwrap();
        assert_eq!(
            decode_payload(b64, true),
            Err(DecodeError::InflatedTooLarge)
        );
        sizes.push((inflated, value.len(), took));
    }
    // 1 MiB of payload fits a cookie of under 1.5 KiB.
    assert!(sizes[1].1 < 1500, "{sizes:?}");
    println!("inflated bytes, cookie bytes, decode time: {sizes:?}");
}

#[test]
fn a_payload_that_inflates_to_exactly_the_limit_is_read() {
    let codec = codec();
    let text = "b".repeat(MAX_INFLATED_LEN - 4);
    let value = codec.sign_payload(format!("[\"{text}\"]").as_bytes(), NOW);
    let decoded = codec.decode(&value).unwrap().unwrap();
    assert!(decoded.compressed);
    assert_eq!(
        decoded.items,
        [DjangoItem::Raw(serde_json::Value::from(text))]
    );
}

/// A value over the length limit gets the same distinct error whether or not it is
/// correctly signed, and whatever key signed it: the signature is never looked at.
#[test]
fn values_over_the_length_limit_are_refused_before_verification() {
    let codec = codec();
    // Texts that do not compress: letters and digits from a simple LCG.
    let mut x = 12_345u32;
    let texts: Vec<String> = (0..8)
        .map(|_| {
            (0..600)
                .map(|_| {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(x >> 16) as usize % 36])
                })
                .collect()
        })
        .collect();
    let messages: Vec<DjangoMessage> = texts.iter().map(|t| DjangoMessage::new(20, t)).collect();
    // With no size limit, the encoder writes a value longer than the decoder reads.
    let value = codec.encode_all(&messages, NOW, false).unwrap();
    assert!(value.len() > MAX_VALUE_LEN, "{}", value.len());
    let too_long = Err(DecodeError::TooLong(value.len()));
    assert_eq!(codec.decode(&value), too_long);
    let forged = format!("{}A", &value[..value.len() - 1]);
    assert_eq!(codec.decode(&forged), too_long);
    let other_key = DjangoCodec::new("another key")
        .encode_all(&messages, NOW, false)
        .unwrap();
    assert_eq!(
        codec.decode(&other_key),
        Err(DecodeError::TooLong(other_key.len()))
    );
    // The same messages truncated to Django's cookie size are read.
    let stored = codec.encode(&messages, true, NOW, MAX_COOKIE_SIZE);
    let decoded = codec.decode(stored.value.as_deref().unwrap()).unwrap();
    assert!(!decoded.unwrap().all_retrieved);
    assert_eq!(
        DecodeError::TooLong(5000).to_string(),
        "the cookie value is 5000 bytes long, more than the 4096 herald reads"
    );
}

/// Values signed with a fallback key verify; a signature text that differs from the one
/// Django writes, even in bits that base64 ignores, does not.
#[test]
fn signatures_compare_exactly() {
    let value = DjangoCodec::new("the oldest key").sign_raw("W10", NOW);
    let decoded = codec().decode(&value).unwrap();
    assert!(decoded.is_some_and(|d| d.items.is_empty()));
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = value.chars().last().unwrap();
    let i = alphabet.find(last).unwrap();
    let sibling = alphabet.as_bytes()[i ^ 1] as char;
    let tweaked = format!("{}{sibling}", &value[..value.len() - 1]);
    assert_eq!(codec().decode(&tweaked), Err(DecodeError::BadSignature));
}

/// `DecodeError` may grow: matching it needs a catch-all arm, which this match has.
#[test]
fn decode_errors_are_matched_with_a_catch_all() {
    fn verdict(e: &DecodeError) -> &'static str {
        match e {
            DecodeError::TooLong(_) | DecodeError::InflatedTooLarge => "over a limit",
            DecodeError::BadSignature => "forged",
            _ => "other",
        }
    }
    assert_eq!(verdict(&DecodeError::InflatedTooLarge), "over a limit");
    assert_eq!(verdict(&DecodeError::BadTimestamp), "other");
}

/// What a list of messages can reach: Django's encoder (and herald's, which is the same)
/// truncates by cookie size only, so a long list of identical messages fits a 2048-byte
/// cookie and still inflates past the limit, and is then refused like a bomb. herald's
/// storages never hold such a list with their default capacities (32 messages, 3072
/// bytes of text); this records where the line is.
#[test]
fn the_encoder_never_writes_a_cookie_that_inflates_past_the_limit() {
    let codec = codec();
    let message = herald_core::Message::new(Level::INFO, "Saved.");
    // `["__json_message",0,20,"Saved.",""]` is 35 bytes: n of them, with the commas and
    // brackets, are 36 n + 1. More than `fits` of them compress into a short cookie but
    // would inflate past the limit: the encoder keeps what can be read back (with the
    // not-finished sentinel) and reports the rest as unstored, in both policies.
    let fits = (MAX_INFLATED_LEN - 1) / 36;
    assert_eq!(fits, 1820);
    for remove_oldest in [true, false] {
        for n in [32, fits, fits + 1, 5000] {
            let many = vec![message; n];
            let stored = codec.encode(&many, remove_oldest, NOW, MAX_COOKIE_SIZE);
            let value = stored.value.unwrap();
            assert!(value.len() <= MAX_COOKIE_SIZE, "{n}: {} bytes", value.len());
            let read = codec.decode(&value).unwrap().unwrap();
            let kept = read
                .items
                .iter()
                .filter(|i| i.as_message().is_some())
                .count();
            assert_eq!(kept + stored.unstored.len(), n, "{n}: kept + unstored");
            if n <= fits {
                assert!(stored.unstored.is_empty(), "all {n} fit");
                assert!(read.all_retrieved);
            } else {
                assert!(!stored.unstored.is_empty(), "{n}: some left out");
                assert!(!read.all_retrieved, "{n}: the sentinel says so");
            }
        }
    }
}
