//! Live cross-check against real Django, in both directions.
//!
//! Fresh random secrets and message lists (unicode including astral characters and
//! controls, long texts, lists long enough to force truncation in both remove-oldest
//! modes, safe flags, extra tags `None`/`""`/text, raw JSON items, random cookie
//! settings and timestamps) come from a seeded RNG; the seed is printed, and
//! `HERALD_LIVE_SEED=<seed>` replays a run. One Python process handles every case
//! (`django_support/django_live.py`, JSON over stdin/stdout):
//!
//! * Django encodes → herald produces the same cookie bytes, `Set-Cookie` header and
//!   unstored messages, and herald decodes Django's value back to the stored messages;
//! * herald encodes → Django decodes it to the same messages (and `all_retrieved`), also
//!   for values signed with a key Django only has as a fallback; values tampered by
//!   herald are invalid for both;
//! * the session's `_messages` JSON string, both ways.
//!
//! Python with Django: `HERALD_DJANGO_PYTHON`, else `<repo>/.venv-django/bin/python`.
//! Without one the test fails and says how to get Django, unless the Django tests are
//! deselected with `HERALD_SKIP_LIVE=django` (see tests/common/live.rs).
#![cfg(feature = "django")]

mod django_support;

use django_support::{Rng, django_python, run_django_helper};
use herald_flash::django::{
    CookieSettings, DecodeError, DjangoCodec, DjangoItem, DjangoMessage, KeyUsed, MAX_COOKIE_SIZE,
    decode_session, encode_session, python_b64_decode,
};
use serde_json::{Map, Value, json};

const ENCODE_CASES: usize = 300;
const CRAFTED_CASES: usize = 200;

fn seed() -> u64 {
    match std::env::var("HERALD_LIVE_SEED") {
        Ok(s) => s.parse().expect("HERALD_LIVE_SEED must be an integer"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos() as u64,
    }
}

// ----------------------------------------------------------------------------------
// Random inputs
// ----------------------------------------------------------------------------------

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const SPECIALS: &[char] = &[
    'é',
    'ß',
    'ñ',
    'Ω',
    '中',
    '文',
    '語',
    '😀',
    '🎉',
    '👍',
    '🏽',
    '🚀',
    '\u{10ffff}',
    '\u{e000}',
    '\u{2028}',
    '\u{2029}',
    '\u{feff}',
    '\u{200f}',
    'ا',
    'ש',
    '\u{7f}',
    '\u{0}',
    '\u{1}',
    '\u{1f}',
    '\n',
    '\r',
    '\t',
    '\u{8}',
    '\u{c}',
    '"',
    '\\',
    '/',
    '<',
    '>',
    '&',
    '\'',
    ';',
    ',',
    '=',
    ' ',
    ':',
    '.',
    '\u{80}',
    '\u{ff}',
    '\u{100}',
];
const WORDS: &[&str] = &[
    "order",
    "saved",
    "deleted",
    "profile",
    "invoice",
    "sent",
    "réglé",
    "完成",
    "ok",
    "warning",
    "<b>bold</b>",
    "a;b",
    "x=y",
    "\"quoted\"",
];

/// `min + below(extra)` random alphanumerics.
fn alnum(rng: &mut Rng, min: usize, extra: usize) -> String {
    let n = min + if extra > 0 { rng.below(extra) } else { 0 };
    (0..n).map(|_| char::from(*rng.pick(ALNUM))).collect()
}

fn text(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => String::new(),
        1 | 2 => alnum(rng, 1, 40),
        3 | 4 => (0..1 + rng.below(30))
            .map(|_| *rng.pick(SPECIALS))
            .collect(),
        5 => alnum(rng, 300, 2700),
        6 => {
            let w = *rng.pick(WORDS);
            w.repeat(1 + rng.below(200))
        }
        _ => {
            let mut t = String::new();
            for _ in 0..1 + rng.below(12) {
                let w = *rng.pick(WORDS);
                t.push_str(w);
                t.push(if rng.chance(20) {
                    *rng.pick(SPECIALS)
                } else {
                    ' '
                });
            }
            t
        }
    }
}

fn level(rng: &mut Rng) -> i32 {
    match rng.below(10) {
        0 => rng.below(2001) as i32 - 1000,
        1 => *rng.pick(&[0, 29, 50, i32::MIN, i32::MAX, -1]),
        _ => *rng.pick(&[10, 20, 25, 30, 40]),
    }
}

fn raw_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 1 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => json!(rng.next_u64() as i64 >> rng.below(64)),
        3 => {
            let f = *rng.pick(&[0.5, -2.25, 1e16, 1.5e-7, 123456.789, 1e22, 0.1, -0.0]);
            json!(f)
        }
        4 | 5 => Value::String(text(rng)),
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| raw_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut m = Map::new();
            for _ in 0..rng.below(4) {
                m.insert(alnum(rng, 1, 5), raw_value(rng, depth + 1));
            }
            Value::Object(m)
        }
    }
}

fn item(rng: &mut Rng, allow_raw: bool) -> DjangoItem {
    if allow_raw && rng.chance(8) {
        let mut v = raw_value(rng, 0);
        while v == json!(herald_flash::django::NOT_FINISHED) {
            v = raw_value(rng, 0);
        }
        return DjangoItem::Raw(v);
    }
    let extra_tags = match rng.below(4) {
        0 => None,
        1 => Some(String::new()),
        _ => Some(text(rng).chars().take(30).collect()),
    };
    DjangoItem::Message(DjangoMessage {
        level: level(rng),
        message: text(rng),
        extra_tags,
        is_safe: rng.chance(25),
    })
}

fn messages(rng: &mut Rng) -> Vec<DjangoItem> {
    let allow_raw = rng.chance(15);
    let n = match rng.below(10) {
        0 => 0,
        1..=5 => 1 + rng.below(4),
        6 | 7 => 5 + rng.below(20),
        _ => 20 + rng.below(180),
    };
    (0..n).map(|_| item(rng, allow_raw)).collect()
}

fn secret(rng: &mut Rng) -> String {
    let mut s = alnum(rng, 8, 50);
    if rng.chance(20) {
        s.push(*rng.pick(SPECIALS));
        s.push_str("κλειδί");
    }
    s
}

fn timestamp(rng: &mut Rng) -> i64 {
    match rng.below(10) {
        0 => 0,
        1 => -(rng.below(1_000_000) as i64),
        2 => 4_102_444_800 + rng.below(1 << 30) as i64,
        _ => 1_500_000_000 + rng.below(400_000_000) as i64,
    }
}

fn settings(rng: &mut Rng) -> (Value, CookieSettings) {
    let domain = *rng.pick(&[None, None, Some(".example.com"), Some("")]);
    let secure = rng.chance(30);
    let httponly = rng.chance(80);
    let samesite = *rng.pick(&[
        Some("Lax"),
        Some("Lax"),
        Some("Strict"),
        Some("None"),
        Some("lax"),
        Some("STRICT"),
        None,
        Some(""),
    ]);
    let json =
        json!({"domain": domain, "secure": secure, "httponly": httponly, "samesite": samesite});
    let cs = CookieSettings::default()
        .domain(domain)
        .secure(secure)
        .httponly(httponly)
        .samesite(samesite)
        .expect("valid SameSite");
    (json, cs)
}

/// A crafted payload (bytes signed as they are): message arrays with every kind of flag,
/// level, text and extra-tags value Django's decoder meets, whitespace, raw UTF-8 bytes
/// (read as latin-1), raw items, sentinels, non-list payloads and broken JSON.
fn crafted_payload(rng: &mut Rng) -> Vec<u8> {
    const TOP: &[&str] = &[
        "0",
        "\"\"",
        "{}",
        "\"abc\"",
        "{\"a\": 1}",
        "true",
        "false",
        "null",
        "[]",
        "[1,",
        "[[\"__json_message\"]]",
        "[[\"__json_message\", 1]]",
        "[[\"__json_message\", 0, 20]]",
        "[\"__messagesnotfinished__\"]",
        "[[]]",
        "[{}]",
        "  [ ]  ",
        "[1.0, -0.0, 1e16, 2.5e-7]",
        "[{\"a\": {\"b\": [\"__json_message\", 1, \"25\", \"deep\"]}}]",
        "{\"__json_message\": 1}",
    ];
    const FLAGS: &[&str] = &[
        "0", "1", "true", "false", "2", "\"\"", "null", "\"x\"", "[]", "{}", "0.0", "[0]",
    ];
    const LEVELS: &[&str] = &[
        "20", "20.9", "-3.5", "\"30\"", "\" 30 \"", "true", "false", "null", "\"x\"", "1e3", "25",
        "\"1_0\"", "\"-7\"", "[20]", "0.0",
    ];
    const TEXTS: &[&str] = &[
        "\"t\"",
        "\"caf\\u00e9 \\ud83d\\ude00\"",
        "\"café 😀 ü\"",
        "\"\"",
        "\"<b>x</b>\"",
    ];
    const EXTRAS: &[Option<&str>] = &[
        None,
        Some("null"),
        Some("\"\""),
        Some("\"a b\""),
        Some("\"é\""),
    ];
    const WS: &[&str] = &["", "", " ", "\n", "\t", " \r\n "];
    const RAWS: &[&str] = &[
        "\"s\"",
        "1.5",
        "-7",
        "null",
        "{\"k\": [\"__json_message\", 0, 40, \"in\"]}",
        "[[\"__json_message\", \"\", 10, \"n\", null]]",
    ];
    if rng.chance(15) {
        return rng.pick(TOP).as_bytes().to_vec();
    }
    let mut out = String::from("[");
    let n = 1 + rng.below(3);
    for i in 0..n {
        let w = *rng.pick(WS);
        if i > 0 {
            out.push(',');
        }
        out.push_str(w);
        if rng.chance(20) {
            let raw = *rng.pick(RAWS);
            out.push_str(raw);
            continue;
        }
        let mut elems = vec![
            "\"__json_message\"".to_owned(),
            rng.pick(FLAGS).to_string(),
            rng.pick(LEVELS).to_string(),
            rng.pick(TEXTS).to_string(),
        ];
        if let Some(e) = rng.pick(EXTRAS) {
            elems.push(e.to_string());
        }
        if rng.chance(5) {
            elems.push("\"more\"".to_owned());
        }
        out.push('[');
        out.push_str(&elems.join(&format!(",{w}")));
        out.push(']');
    }
    if rng.chance(25) {
        out.push_str(", \"__messagesnotfinished__\"");
    }
    out.push(']');
    out.into_bytes()
}

/// A string for Python's non-validating base64 decoder: alphabet characters of both
/// alphabets, padding and junk.
fn b64_input(rng: &mut Rng) -> String {
    const CHARS: &[char] = &[
        'A', 'Q', 'g', 'w', 'Z', '0', '9', '-', '_', '+', '/', '=', '=', ' ', '.', '!', 'é',
    ];
    (0..rng.below(13)).map(|_| *rng.pick(CHARS)).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ----------------------------------------------------------------------------------
// Descriptions (as django_live.py describes Django's objects)
// ----------------------------------------------------------------------------------

fn input_json(item: &DjangoItem) -> Value {
    match item {
        DjangoItem::Message(m) => json!({
            "level": m.level, "message": m.message, "extra_tags": m.extra_tags, "is_safe": m.is_safe,
        }),
        DjangoItem::Raw(v) => json!({ "raw": v }),
    }
}

fn describe(item: &DjangoItem) -> Value {
    match item {
        DjangoItem::Raw(v) => json!({ "raw": plain(v) }),
        m => input_json(m),
    }
}

fn plain(v: &Value) -> Value {
    if let Some(m) = DjangoMessage::from_json_array(v) {
        return json!({ "message_object": input_json(&DjangoItem::Message(m)) });
    }
    match v {
        Value::Array(a) => Value::Array(a.iter().map(plain).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        other => other.clone(),
    }
}

/// Python truthiness of a JSON value.
fn python_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn describe_all(items: &[DjangoItem]) -> Value {
    Value::Array(items.iter().map(describe).collect())
}

// ----------------------------------------------------------------------------------
// The test
// ----------------------------------------------------------------------------------

struct EncodeCase {
    secret: String,
    fallbacks: Vec<String>,
    items: Vec<DjangoItem>,
    remove_oldest: bool,
    timestamp: i64,
    herald_value: Option<String>,
    herald_header: String,
    herald_unstored: Vec<usize>,
}

impl EncodeCase {
    fn codec(&self) -> DjangoCodec {
        DjangoCodec::new(&self.secret).with_fallback_keys(&self.fallbacks)
    }

    fn stored(&self) -> Vec<DjangoItem> {
        self.items
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.herald_unstored.contains(i))
            .map(|(_, it)| it.clone())
            .collect()
    }
}

/// What herald expects Django to answer for one decode case.
enum Expect {
    /// ok with these items and this `all_retrieved`.
    Ok(Vec<DjangoItem>, bool),
    /// invalid (herald says invalid too).
    Invalid,
}

fn flip(value: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = value.chars().collect();
    let i = rng.below(chars.len());
    let c = chars[i];
    chars[i] = if c == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[test]
fn live_cross_check_with_real_django() {
    let Some(python) = django_python("live_cross_check_with_real_django") else {
        return;
    };
    let seed = seed();
    println!("live Django cross-check: seed {seed} (replay with HERALD_LIVE_SEED={seed})");
    let mut rng = Rng::new(seed);

    // herald's side first: it does not depend on Django's answers.
    let mut enc_cases = Vec::with_capacity(ENCODE_CASES);
    let mut settings_json = Vec::with_capacity(ENCODE_CASES);
    for _ in 0..ENCODE_CASES {
        let sk = secret(&mut rng);
        let fallbacks: Vec<String> = (0..rng.below(3)).map(|_| secret(&mut rng)).collect();
        let items = messages(&mut rng);
        let remove_oldest = rng.chance(50);
        let timestamp = timestamp(&mut rng);
        let (sj, settings) = settings(&mut rng);
        let codec = DjangoCodec::new(&sk).with_fallback_keys(&fallbacks);
        let enc = codec.encode(&items, remove_oldest, timestamp, MAX_COOKIE_SIZE);
        enc_cases.push(EncodeCase {
            herald_header: enc.set_cookie_header(&settings),
            herald_unstored: enc.unstored.clone().collect(),
            herald_value: enc.value,
            secret: sk,
            fallbacks,
            items,
            remove_oldest,
            timestamp,
        });
        settings_json.push(sj);
    }

    let mut cases: Vec<Value> = Vec::new();
    for (c, sj) in enc_cases.iter().zip(&settings_json) {
        cases.push(json!({
            "op": "encode", "secret": c.secret, "fallbacks": c.fallbacks, "settings": sj,
            "timestamp": c.timestamp, "remove_oldest": c.remove_oldest,
            "messages": c.items.iter().map(input_json).collect::<Vec<_>>(),
        }));
    }
    let n_encode = cases.len();

    // herald encodes -> Django decodes.
    let mut decode_expect: Vec<(usize, Expect, String)> = Vec::new();
    for (i, c) in enc_cases.iter().enumerate() {
        let Some(value) = &c.herald_value else {
            continue;
        };
        let stored = c.stored();
        let all = c.herald_unstored.is_empty();
        decode_expect.push((i, Expect::Ok(stored.clone(), all), value.clone()));
        // Signed with a key Django only knows as a fallback.
        if !c.fallbacks.is_empty() {
            let k = rng.below(c.fallbacks.len());
            let v = DjangoCodec::new(&c.fallbacks[k])
                .encode(&c.items, c.remove_oldest, c.timestamp, MAX_COOKIE_SIZE)
                .value
                .expect("same list, same value shape");
            let d = c.codec().decode(&v).unwrap().unwrap();
            assert_eq!(d.key, KeyUsed::Fallback(k));
            decode_expect.push((i, Expect::Ok(d.items, d.all_retrieved), v));
        }
        // Tampered.
        if rng.chance(30) {
            let t = flip(value, &mut rng);
            if &t != value {
                let e = c
                    .codec()
                    .decode(&t)
                    .expect_err("herald rejects a tampered value");
                assert!(e.marks_used(), "tampered value: {e}");
                decode_expect.push((i, Expect::Invalid, t));
            }
        }
    }
    for (i, _, value) in &decode_expect {
        let c = &enc_cases[*i];
        cases.push(json!({
            "op": "decode", "secret": c.secret, "fallbacks": c.fallbacks, "value": value,
        }));
    }
    let n_decode = decode_expect.len();

    // Sessions, both ways.
    let session_lists: Vec<Vec<DjangoItem>> = enc_cases
        .iter()
        .filter(|c| !c.items.is_empty())
        .take(100)
        .map(|c| c.items.clone())
        .collect();
    for items in &session_lists {
        cases.push(json!({
            "op": "session_encode", "secret": "s",
            "messages": items.iter().map(input_json).collect::<Vec<_>>(),
        }));
        cases.push(json!({
            "op": "session_decode", "secret": "s", "value": encode_session(items).unwrap(),
        }));
    }

    // Crafted signed payloads and Python's base64.
    let crafted: Vec<(Vec<u8>, String)> = (0..CRAFTED_CASES)
        .map(|_| {
            let p = crafted_payload(&mut rng);
            let v = DjangoCodec::new("crafted-secret").sign_payload(&p, 1_700_000_000);
            (p, v)
        })
        .collect();
    let crafted_base = cases.len();
    for (p, v) in &crafted {
        cases.push(json!({
            "op": "sign_payload", "secret": "crafted-secret", "timestamp": 1_700_000_000,
            "payload_hex": hex(p),
        }));
        cases.push(json!({ "op": "decode", "secret": "crafted-secret", "value": v }));
    }
    let b64_inputs: Vec<String> = (0..CRAFTED_CASES).map(|_| b64_input(&mut rng)).collect();
    let b64_base = cases.len();
    for b in &b64_inputs {
        cases.push(json!({ "op": "b64_decode", "secret": "s", "value": b }));
    }

    // One Python process for everything.
    let answer = run_django_helper(&python, &cases);
    println!(
        "real Django {} on Python {} (zlib {})",
        answer["django_version"], answer["python_version"], answer["zlib_version"]
    );
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results.len(), cases.len());

    let mut failures: Vec<String> = Vec::new();
    let mut fail = |what: String| {
        if failures.len() < 20 {
            eprintln!("MISMATCH: {what}");
        }
        failures.push(what);
    };

    // Django encodes -> herald: same bytes, same header, same unstored; herald reads it.
    let (mut truncated, mut compressed, mut deleted) = (0, 0, 0);
    for (i, c) in enc_cases.iter().enumerate() {
        let r = &results[i];
        let django_value = r["value"].as_str();
        if django_value != c.herald_value.as_deref() {
            fail(format!(
                "encode case {i}: cookie value differs\n  django: {django_value:?}\n  herald: {:?}",
                c.herald_value
            ));
        }
        if r["set_cookie"] != c.herald_header.as_str() {
            fail(format!(
                "encode case {i}: Set-Cookie differs\n  django: {}\n  herald: {}",
                r["set_cookie"], c.herald_header
            ));
        }
        let django_unstored: Vec<usize> = r["unstored_indices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        if django_unstored != c.herald_unstored {
            fail(format!(
                "encode case {i}: unstored differ: django {django_unstored:?}, herald {:?}",
                c.herald_unstored
            ));
        }
        match django_value {
            None => deleted += 1,
            Some(v) => {
                truncated += usize::from(!django_unstored.is_empty());
                compressed += usize::from(v.starts_with('.'));
                match c.codec().decode(v) {
                    Ok(Some(d)) => {
                        let want: Vec<DjangoItem> = c
                            .items
                            .iter()
                            .enumerate()
                            .filter(|(j, _)| !django_unstored.contains(j))
                            .map(|(_, it)| it.clone())
                            .collect();
                        if d.items != want || d.all_retrieved != django_unstored.is_empty() {
                            fail(format!(
                                "encode case {i}: herald reads Django's value differently"
                            ));
                        }
                        if d.key != KeyUsed::Current || d.timestamp != c.timestamp {
                            fail(format!(
                                "encode case {i}: key {:?} / timestamp {}",
                                d.key, d.timestamp
                            ));
                        }
                    }
                    other => fail(format!(
                        "encode case {i}: herald cannot read Django's value: {other:?}"
                    )),
                }
            }
        }
    }

    // herald encodes -> Django decodes.
    let (mut ok_checked, mut invalid_checked) = (0, 0);
    for (k, (i, expect, value)) in decode_expect.iter().enumerate() {
        let r = &results[n_encode + k];
        match expect {
            Expect::Ok(items, all) => {
                ok_checked += 1;
                if r["result"] != "ok" {
                    fail(format!(
                        "decode of herald value (case {i}): Django says {r}: {value}"
                    ));
                } else if r["messages"] != describe_all(items) || r["all_retrieved"] != *all {
                    fail(format!(
                        "decode of herald value (case {i}): Django reads\n  {}\n  herald wrote\n  {}",
                        r["messages"],
                        describe_all(items)
                    ));
                }
            }
            Expect::Invalid => {
                invalid_checked += 1;
                if r["result"] != "invalid" {
                    fail(format!(
                        "tampered herald value (case {i}): Django says {r}: {value}"
                    ));
                }
            }
        }
    }

    // Sessions.
    let base = n_encode + n_decode;
    for (k, items) in session_lists.iter().enumerate() {
        let enc = &results[base + 2 * k];
        let dec = &results[base + 2 * k + 1];
        let ours = encode_session(items).unwrap();
        if enc["value"] != ours.as_str() {
            fail(format!(
                "session encode {k}: django {}\n  herald {ours}",
                enc["value"]
            ));
        }
        if dec["result"] != "ok" || dec["messages"] != describe_all(items) {
            fail(format!(
                "session decode {k}: Django reads herald's session as {dec}"
            ));
        }
        if let Some(s) = enc["value"].as_str() {
            let back = decode_session(s).unwrap().unwrap_or_default();
            if back != *items {
                fail(format!(
                    "session {k}: herald reads Django's session string differently"
                ));
            }
        }
    }

    // Crafted payloads: same signature bytes, same reading.
    let (mut crafted_same, mut crafted_unrepresentable) = (0, 0);
    let codec = DjangoCodec::new("crafted-secret");
    for (k, (payload, value)) in crafted.iter().enumerate() {
        let signed = &results[crafted_base + 2 * k];
        let r = &results[crafted_base + 2 * k + 1];
        let shown = String::from_utf8_lossy(payload);
        if signed["value"] != value.as_str() {
            fail(format!(
                "sign_object({shown}): django {} herald {value}",
                signed["value"]
            ));
        }
        let ours = codec.decode(value);
        let matches = match (&ours, r["result"].as_str().unwrap()) {
            (Ok(None), "absent") => true,
            (Ok(Some(d)), "ok") => match r.get("non_list") {
                // A falsy non-list payload is no messages for Django's storage too.
                Some(v) => d.items.is_empty() && !python_truthy(v),
                None => {
                    r["messages"] == describe_all(&d.items) && r["all_retrieved"] == d.all_retrieved
                }
            },
            (Err(e), "invalid") => e.marks_used(),
            (Err(e @ (DecodeError::Unsupported(_) | DecodeError::NotAList(_))), django) => {
                // Documented: Django keeps such values (or raises); herald refuses them.
                crafted_unrepresentable += 1;
                django != "invalid" && !e.marks_used()
            }
            (Err(e), "exception") => !e.marks_used(),
            _ => false,
        };
        if matches {
            crafted_same += 1;
        } else {
            fail(format!(
                "crafted payload {shown:?}: Django {r}, herald {ours:?}"
            ));
        }
    }
    for (k, b) in b64_inputs.iter().enumerate() {
        let r = &results[b64_base + k];
        let ours = python_b64_decode(b.as_bytes());
        let same = match (&ours, r.get("hex")) {
            (Ok(bytes), Some(h)) => *h == hex(bytes),
            (Err(_), None) => true,
            _ => false,
        };
        if !same {
            fail(format!("b64_decode({b:?}): Django {r}, herald {ours:?}"));
        }
    }

    println!(
        "live Django cross-check: {} crafted signed payloads read alike ({crafted_unrepresentable} \
         of them refused by herald as documented), {} base64 inputs decoded alike",
        crafted_same,
        b64_inputs.len()
    );
    println!(
        "live Django cross-check: {n_encode} encode cases (byte-exact; {truncated} truncated, \
         {compressed} compressed, {deleted} deletions), {ok_checked} herald values read by Django, \
         {invalid_checked} tampered values rejected by both, {} session lists both ways; \
         {} mismatches",
        session_lists.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches with real Django (seed {seed}); first: {}",
        failures.len(),
        failures[0]
    );
}
