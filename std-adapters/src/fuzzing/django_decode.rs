//! `django_decode`: any bytes as a Django `messages` cookie value (feature `django`).

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::django::{
    DecodeError, Decoded, DjangoCodec, DjangoItem, JsonStyle, KeyUsed, MAX_INFLATED_LEN,
    MAX_VALUE_LEN, ToDjangoJson, b62_encode, decode_payload, zlib_decompress_into,
};

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

/// Django's `Signer.signature` written from RULES, independently of the
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

/// Any bytes, taken three ways (non-UTF-8 bytes are replaced, as a cookie value is text).
///
/// **As a cookie value** through [`DjangoCodec::decode`] under the conformance vectors'
/// keys: it never panics; a value longer than [`MAX_VALUE_LEN`] bytes is refused as
/// `TooLong`, whatever it holds; a shorter one gets past the signature check (any answer
/// but `BadSignature` for a non-empty value) **exactly** when a reference `Signer`
/// written from Django's key derivation and HMAC says the text after the last `:` is the
/// signature of what precedes it under the current or a fallback key, and the key
/// reported is the one that signed. An accepted value with a canonical base62 timestamp
/// is exactly what the codec's own [`DjangoCodec::sign_raw`] makes of its payload and
/// timestamp.
///
/// **As a payload** (what only a key holder can produce), signed by the codec both raw
/// ([`DjangoCodec::sign_raw`]) and as Django's `sign_object` does
/// ([`DjangoCodec::sign_payload`], compressed when that is shorter): decoding never
/// panics and never fails on the signature or the timestamp; the compressed and plain
/// forms decode alike and agree with [`decode_payload`]; and a decoded list written back
/// with [`DjangoCodec::encode_all`] (with the sentinel if there was one) decodes to the
/// same items. Where a form is over a limit (a value longer than [`MAX_VALUE_LEN`], a
/// payload inflating past [`MAX_INFLATED_LEN`]), the decoder must report exactly that.
///
/// **As the seed of a compression bomb** ([`as_bomb`]): a short unit of the input
/// repeated to a length around or far beyond [`MAX_INFLATED_LEN`], compressed and signed
/// with the fuzz key. It must be refused with `InflatedTooLarge` exactly when it is
/// longer than the limit, and inflation must stop one byte past the limit in a buffer
/// never grown beyond that, holding the start of the payload.
///
/// Work is bounded by the input and the limits: a value is at most [`MAX_VALUE_LEN`]
/// bytes before anything is verified, the signature covers the whole value before
/// anything is decoded, only a signed payload is inflated, and never past the limit.
pub fn django_decode(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    as_cookie_value(&text);
    as_payload(data, &text);
    as_bomb(data);
}

/// How long the repeated payload of [`as_bomb`] is, from the first byte: within 16 bytes
/// of [`MAX_INFLATED_LEN`] on either side for most values, four times it and more for
/// the top 16 values (a real bomb, still about a kilobyte compressed).
fn bomb_len(selector: u8) -> usize {
    match selector {
        0..=0xef => MAX_INFLATED_LEN - 16 + usize::from(selector % 33),
        _ => 4 * MAX_INFLATED_LEN + usize::from(selector),
    }
}

/// The longest repeated unit of [`as_bomb`]: short enough that zlib compresses any
/// repetition of it to well under a cookie's size.
const BOMB_UNIT: usize = 32;

/// The compression-bomb form: the first byte picks the length (`bomb_len`), the next
/// bytes (at most `BOMB_UNIT`, a space when there are none) are repeated to it, and the
/// result is signed as Django's `sign_object` signs, compressed.
pub fn as_bomb(data: &[u8]) {
    let (selector, rest) = data.split_first().unwrap_or((&0, &[]));
    let unit = match &rest[..rest.len().min(BOMB_UNIT)] {
        [] => b" ".as_slice(),
        unit => unit,
    };
    let len = bomb_len(*selector);
    let payload: Vec<u8> = unit.iter().copied().cycle().take(len).collect();
    let signed = codec().sign_payload(&payload, TIMESTAMP);
    assert!(
        signed.starts_with('.') && signed.len() <= MAX_VALUE_LEN,
        "a repetition of {} bytes compresses to a cookie-sized value, not {}",
        unit.len(),
        signed.len()
    );
    let over = len > MAX_INFLATED_LEN;

    // The zlib stream alone: inflation stops one byte past the limit.
    let b64 = signed[1..].split(':').next().expect("signed");
    let compressed = URL_SAFE_NO_PAD.decode(b64).expect("own base64");
    let mut out = Vec::new();
    let inflated = zlib_decompress_into(&compressed, &mut out);
    assert!(
        out.capacity() <= MAX_INFLATED_LEN + 1,
        "the output grew to {} bytes",
        out.capacity()
    );
    if over {
        assert_eq!(inflated, Err(DecodeError::InflatedTooLarge));
        assert_eq!(
            out.len(),
            MAX_INFLATED_LEN + 1,
            "inflation did not stop at the limit"
        );
    } else {
        assert_eq!(inflated, Ok(()), "{len} bytes are within the limit");
        assert_eq!(out.len(), len);
    }
    assert_eq!(
        out,
        payload[..out.len()],
        "inflated bytes differ from the payload"
    );

    // The signed value: refused exactly when over the limit, otherwise read as the
    // same payload uncompressed.
    let result = codec().decode(&signed);
    if over {
        assert_eq!(result, Err(DecodeError::InflatedTooLarge));
    } else {
        assert_same_as_plain(&result, &payload);
    }
}

fn as_cookie_value(value: &str) {
    let result = codec().decode(value);
    if value.is_empty() {
        assert_eq!(result, Ok(None), "an empty value is absent");
        return;
    }
    if value.len() > MAX_VALUE_LEN {
        assert_eq!(result, Err(DecodeError::TooLong(value.len())));
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
    if raw.len() > MAX_VALUE_LEN {
        assert_eq!(result, Err(DecodeError::TooLong(raw.len())));
    }
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
    if signed.len() > MAX_VALUE_LEN {
        assert_eq!(result, Err(DecodeError::TooLong(signed.len())));
        return;
    }
    if signed.starts_with('.') && data.len() > MAX_INFLATED_LEN {
        assert_eq!(result, Err(DecodeError::InflatedTooLarge));
        return;
    }
    if let Ok(Some(d)) = &result {
        assert_eq!(d.compressed, signed.starts_with('.'));
    }
    assert_same_as_plain(&result, data);
}

/// `result` (the decoding of a signed `payload`, compressed or not, within both limits)
/// is what the uncompressed payload decodes to, and its items survive a round trip.
fn assert_same_as_plain(result: &Result<Option<Decoded>, DecodeError>, payload: &[u8]) {
    let plain = decode_payload(&URL_SAFE_NO_PAD.encode(payload), false);
    match (result, &plain) {
        (Ok(None), Ok(None)) => {}
        (Ok(Some(d)), Ok(Some(items))) => {
            let mut all = d.items.clone();
            if !d.all_retrieved {
                all.push(DjangoItem::not_finished());
            }
            assert_eq!(&all, items, "compressed and plain payloads differ");
            round_trip(&d.items, d.all_retrieved);
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "compressed and plain payloads differ"),
        (a, b) => panic!("signed form {a:?}, plain form {b:?}"),
    }
}

/// Decoded items written back decode to the same items, or, where the encoding is over
/// one of the decoder's limits, are refused with exactly that limit's error.
fn round_trip(items: &[DjangoItem], all_retrieved: bool) {
    let mut all = items.to_vec();
    if !all_retrieved {
        all.push(DjangoItem::not_finished());
    }
    let value = codec()
        .encode_all(&all, TIMESTAMP, true)
        .expect("encode_empty");
    let decoded = codec().decode(&value);
    if value.len() > MAX_VALUE_LEN {
        assert_eq!(decoded, Err(DecodeError::TooLong(value.len())));
        // The payload itself still reads back, unsigned.
        let (payload, _) = value.split_once(':').expect("signed");
        let (compressed, b64) = match payload.strip_prefix('.') {
            Some(b64) => (true, b64),
            None => (false, payload),
        };
        match decode_payload(b64, compressed) {
            Err(DecodeError::InflatedTooLarge) => {
                assert!(compressed && json_len(&all) > MAX_INFLATED_LEN);
            }
            other => assert_eq!(other, Ok(Some(all)), "items change through encode + decode"),
        }
        return;
    }
    match decoded {
        Ok(Some(d)) => {
            assert_eq!(d.items, items, "items change through encode + decode");
            assert_eq!(d.all_retrieved, all_retrieved);
        }
        Err(DecodeError::InflatedTooLarge) => {
            let len = json_len(&all);
            assert!(
                value.starts_with('.') && len > MAX_INFLATED_LEN,
                "own encoding of {len} JSON bytes refused as too large"
            );
        }
        Ok(None) => panic!("own encoding of {all:?} read as absent"),
        Err(e) => panic!("own encoding {value:?} refused: {e:?}"),
    }
}

/// The length of the JSON list the encoder writes for `items`: ASCII, so also the length
/// its compressed form inflates to.
fn json_len(items: &[DjangoItem]) -> usize {
    let mut json = String::from("[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        item.write_django_json(&mut json, JsonStyle::Compact);
    }
    json.push(']');
    json.len()
}
