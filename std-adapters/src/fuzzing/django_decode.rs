//! `django_decode`: any bytes as a Django `messages` cookie value (feature `django`).

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::django::{DecodeError, DjangoCodec, DjangoItem, KeyUsed, b62_encode, decode_payload};

/// The `SECRET_KEY` of the conformance vectors, so their cookies are valid seeds.
pub const SECRET_KEY: &str = "conformance-visible-secret-key-0123456789abcdef";
/// The `SECRET_KEY_FALLBACKS` of the conformance vectors.
pub const FALLBACK_KEYS: [&str; 2] = ["old-visible-key-1", "old-visible-key-2"];
/// The timestamp the key-holder half signs with (the vectors' `1r31eq`).
const TIMESTAMP: i64 = 1_700_000_000;

fn codec() -> &'static DjangoCodec {
    static CODEC: OnceLock<DjangoCodec> = OnceLock::new();
    CODEC.get_or_init(|| DjangoCodec::new(SECRET_KEY).with_fallback_keys(FALLBACK_KEYS))
}

/// Django's `Signer.signature` written from SPEC, independently of the
/// codec: base64url of `HMAC-SHA256(SHA256("django.contrib.messagessigner" ||
/// "django.http.cookies" || secret), value)`.
fn reference_signature(secret: &str, value: &[u8]) -> String {
    let key = Sha256::new()
        .chain_update(b"django.contrib.messages")
        .chain_update(b"signer")
        .chain_update(b"django.http.cookies")
        .chain_update(secret.as_bytes())
        .finalize();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(value);
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Which key, if any, signed `value` (`v:sig`, split at the last `:`), by the reference.
fn reference_key(value: &str) -> Option<KeyUsed> {
    let (signed, sig) = value.rsplit_once(':')?;
    if reference_signature(SECRET_KEY, signed.as_bytes()) == sig {
        return Some(KeyUsed::Current);
    }
    FALLBACK_KEYS
        .iter()
        .position(|k| reference_signature(k, signed.as_bytes()) == sig)
        .map(KeyUsed::Fallback)
}

/// Any bytes, taken two ways (non-UTF-8 bytes are replaced, as a cookie value is text).
///
/// **As a cookie value** through [`DjangoCodec::decode`] under the conformance vectors'
/// keys: it never panics, and it gets past the signature check (any answer but
/// `BadSignature` for a non-empty value) **exactly** when a reference `Signer` written
/// from SPEC says the text after the last `:` is the signature of what
/// precedes it under the current or a fallback key, and the key reported is the one that
/// signed. An accepted value with a canonical base62 timestamp is exactly what the
/// codec's own [`DjangoCodec::sign_raw`] makes of its payload and timestamp.
///
/// **As a payload** (what only a key holder can produce), signed by the codec both raw
/// ([`DjangoCodec::sign_raw`]) and as Django's `sign_object` does
/// ([`DjangoCodec::sign_payload`], compressed when that is shorter): decoding never
/// panics and never fails on the signature or the timestamp; the compressed and plain
/// forms decode alike and agree with [`decode_payload`]; and a decoded list written back
/// with [`DjangoCodec::encode_all`] (with the sentinel if there was one) decodes to the
/// same items.
///
/// Work is bounded by the input: the signature covers the whole value before anything
/// is decoded, and only a signed payload is inflated.
pub fn django_decode(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    as_cookie_value(&text);
    as_payload(data, &text);
}

fn as_cookie_value(value: &str) {
    let result = codec().decode(value);
    if value.is_empty() {
        assert_eq!(result, Ok(None), "an empty value is absent");
        return;
    }
    let expected = reference_key(value);
    match &result {
        Err(DecodeError::BadSignature) => {
            assert_eq!(expected, None, "a correctly signed value was refused")
        }
        _ => assert!(
            expected.is_some(),
            "accepted without a valid signature: {result:?}"
        ),
    }
    if let Ok(Some(decoded)) = &result {
        assert_eq!(Some(decoded.key), expected, "wrong key reported");
        let (signed, _) = value.rsplit_once(':').expect("signed");
        let (payload, ts) = signed.rsplit_once(':').expect("timestamped");
        assert_eq!(decoded.compressed, payload.starts_with('.'));
        if decoded.key == KeyUsed::Current && b62_encode(decoded.timestamp) == ts {
            assert_eq!(
                codec().sign_raw(payload, decoded.timestamp),
                value,
                "re-signing differs"
            );
        }
    }
}

fn as_payload(data: &[u8], text: &str) {
    // Raw: `text` is the signed part itself ([.]base64).
    let raw = codec().sign_raw(text, TIMESTAMP);
    let result = codec().decode(&raw);
    assert!(
        !matches!(
            result,
            Err(DecodeError::BadSignature | DecodeError::BadTimestamp)
        ),
        "own signature refused: {result:?}"
    );
    if let Ok(Some(d)) = &result {
        assert_eq!((d.key, d.timestamp), (KeyUsed::Current, TIMESTAMP));
        round_trip(&d.items, d.all_retrieved);
    }

    // As sign_object: `data` is the JSON payload, compressed when that is shorter.
    let signed = codec().sign_payload(data, TIMESTAMP);
    let result = codec().decode(&signed);
    assert!(
        !matches!(
            result,
            Err(DecodeError::BadSignature
                | DecodeError::BadTimestamp
                | DecodeError::BadBase64(_)
                | DecodeError::BadCompression(_))
        ),
        "own sign_object refused: {result:?}"
    );
    let plain = decode_payload(&URL_SAFE_NO_PAD.encode(data), false);
    match (&result, &plain) {
        (Ok(None), Ok(None)) => {}
        (Ok(Some(d)), Ok(Some(items))) => {
            assert_eq!(d.compressed, signed.starts_with('.'));
            let mut all = d.items.clone();
            if !d.all_retrieved {
                all.push(DjangoItem::not_finished());
            }
            assert_eq!(&all, items, "compressed and plain payloads differ");
            round_trip(&d.items, d.all_retrieved);
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "compressed and plain payloads differ"),
        (a, b) => panic!("sign_object form {a:?}, plain form {b:?}"),
    }
}

/// Decoded items written back decode to the same items.
fn round_trip(items: &[DjangoItem], all_retrieved: bool) {
    let mut all = items.to_vec();
    if !all_retrieved {
        all.push(DjangoItem::not_finished());
    }
    let value = codec()
        .encode_all(&all, TIMESTAMP, true)
        .expect("encode_empty");
    let again = codec()
        .decode(&value)
        .unwrap_or_else(|e| panic!("own encoding {value:?} refused: {e:?}"));
    match again {
        Some(d) => {
            assert_eq!(d.items, items, "items change through encode + decode");
            assert_eq!(d.all_retrieved, all_retrieved);
        }
        None => panic!("own encoding of {all:?} read as absent"),
    }
}
