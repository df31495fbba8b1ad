//! `encrypted_decode`: any bytes as an encrypted herald cookie value, and as a body to
//! encrypt (RULES ).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use herald_core::cipher::{NONCE_LEN, OVERHEAD};
use herald_core::codec;
use herald_core::signer::{self, KeyUsed, MAX_RAW_LEN, MAX_VALUE_LEN, OpenError};
use herald_core::{Inbox, Loaded, MessageList, Storage};

use super::{Owned, cipher, old_cipher, signer};

/// The capacities of the default [`Inbox`].
type Full = MessageList<3072, 32>;

/// Any bytes, taken two ways.
///
/// **As an encrypted cookie value** (what a client can send): through
/// [`Inbox::load_cookie`] with the [`Cipher`](herald_core::Cipher) (under cookie and fallback storage) and
/// [`Cipher::open`](herald_core::Cipher::open).
/// * It never panics; a value over [`MAX_VALUE_LEN`] characters is refused as `TooLong`.
/// * Nothing is accepted unless it is exactly the encryption of its body under a key the
///   cipher holds: when the inbox accepts the value, encrypting the body it opened to again,
///   with the value's own nonce and the key the inbox reported (current or fallback),
///   reproduces the input byte for byte. (So a tampered, truncated or forged value, or
///   one sealed for another purpose, never opens.)
/// * A signed value never opens under the cipher, and an encrypted one never verifies
///   under the signer.
/// * The inbox holds exactly what [`codec::decode_body_at`] makes of the opened body.
///
/// **As a body** (what the server encrypts): encrypted with a nonce taken from the input,
/// its value has exactly the predicted length, opens to the same body, and flipping any of
/// a few bits chosen by the input is rejected.
pub fn encrypted_decode(data: &[u8]) {
    as_value(data);
    as_body(data);
}

fn as_value(data: &[u8]) {
    let cipher = cipher();
    let mut scratch = [0u8; MAX_RAW_LEN];
    let opened = cipher.open(data, 0, None, &mut scratch);
    if data.len() > MAX_VALUE_LEN {
        assert_eq!(
            opened,
            Err(OpenError::TooLong),
            "over-long value not refused"
        );
    }
    let mut signed_scratch = [0u8; MAX_RAW_LEN];
    if let Ok(o) = signer().open(data, 0, None, &mut signed_scratch) {
        assert!(
            opened.is_err(),
            "a value both verified and decrypted: {o:?}"
        );
    }
    for storage in [Storage::Cookie, Storage::Fallback] {
        let mut inbox: Inbox = Inbox::new(storage, herald_core::Level::INFO);
        let loaded = inbox.load_cookie(Some(data), cipher, 0, None);
        super::load_agrees_with_open(data, &loaded, &opened, "cipher");
        let Ok(Loaded::Messages {
            count,
            expired,
            continued,
            key,
        }) = loaded
        else {
            if loaded.is_err() {
                assert_eq!(inbox.len(), 0, "a refused value left messages behind");
            }
            continue;
        };
        let body = opened.expect("accepted means opened").body;
        // Independent check: re-encrypting the body reproduces the value exactly.
        let raw = URL_SAFE_NO_PAD
            .decode(data)
            .expect("an accepted value is base64url");
        let nonce: [u8; NONCE_LEN] = raw[..NONCE_LEN].try_into().expect("24 bytes");
        let sealer = match key {
            KeyUsed::Current => cipher,
            KeyUsed::Fallback(0) => old_cipher(),
            KeyUsed::Fallback(i) => panic!("no fallback key {i}"),
        };
        let mut again = [0u8; MAX_VALUE_LEN];
        let again = sealer
            .encrypt(body, &nonce, &mut again)
            .expect("it was read, so it fits");
        assert_eq!(
            again.as_bytes(),
            data,
            "accepted without being our encryption"
        );
        // The inbox holds exactly the decoded body, less what had expired at its time.
        let mut list = Full::new();
        let at = codec::decode_body_at(body, &mut list, 0).expect("an accepted body decodes");
        assert_eq!(
            (count, expired, continued),
            (list.len(), at.expired, at.header.continued)
        );
        let held: Vec<Owned> = inbox.iter().map(|m| Owned::of(&m)).collect();
        assert_eq!(held.len(), list.len());
        for (h, m) in held.iter().zip(list.iter()) {
            assert!(h.same_as(&m), "inbox holds {h:?}, body has {m:?}");
        }
    }
}

fn as_body(data: &[u8]) {
    if data.is_empty() || signer::encoded_len(data.len() + OVERHEAD) > MAX_VALUE_LEN {
        return;
    }
    let mut nonce = [0u8; NONCE_LEN];
    for (n, d) in nonce.iter_mut().zip(data.iter().rev()) {
        *n = *d;
    }
    let mut out = [0u8; MAX_VALUE_LEN];
    let value = cipher()
        .encrypt(data, &nonce, &mut out)
        .expect("fits by the check above");
    assert_eq!(
        value.len(),
        signer::encoded_len(data.len() + OVERHEAD),
        "exact length"
    );
    let value = value.as_bytes().to_vec();
    let mut scratch = [0u8; MAX_RAW_LEN];
    match cipher().open(&value, 0, None, &mut scratch) {
        Ok(o) => assert_eq!(o.body, data, "decrypts to the body"),
        Err(OpenError::Body(e)) => assert_eq!(codec::peek_issued_at(data), Err(e)),
        Err(e) => panic!("our own value refused: {e:?}"),
    }
    let mut bad = value.clone();
    for (i, &d) in data.iter().take(8).enumerate() {
        let at = (usize::from(d) * 131 + i * 977) % bad.len();
        let bit = 1 << (d % 8);
        bad[at] ^= bit;
        assert!(
            cipher().open(&bad, 0, None, &mut scratch).is_err(),
            "a flipped bit at {at} was accepted"
        );
        bad[at] ^= bit;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_of_the_cipher_passes_and_its_flips_do_not() {
        let mut out = [0u8; 256];
        let body = [2u8, 0, 0, 1, 40, 2, b'H', b'i', 1, 0, 0];
        let value = cipher()
            .encrypt(&body, &[1; NONCE_LEN], &mut out)
            .unwrap()
            .to_owned();
        encrypted_decode(value.as_bytes());
        encrypted_decode(&body);
        let _: &herald_core::Cipher = old_cipher();
    }
}
