//! Every vector of `shared/conformance/django-vectors.json` (produced by real Django):
//! encode (byte-exact cookie value and `Set-Cookie`, unstored indices), decode, delete,
//! tags, session and whole-storage scenarios.
#![cfg(feature = "django")]

mod django_support;

use std::collections::BTreeMap;

use django_support::*;
use herald_core::Level;
use herald_core::level::TagTable;
use herald_flash::django::{
    CookieSettings, DjangoItem, DjangoMessage, KeyUsed, MAX_COOKIE_SIZE, decode_session,
    encode_session,
};
use serde_json::{Value, json};

fn vectors_of(kind: &str) -> Vec<Value> {
    let all = load_vectors();
    assert_eq!(all["format"], "django-messages-conformance/1");
    let vs: Vec<Value> = all["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .filter(|v| v["kind"] == kind)
        .cloned()
        .collect();
    assert_eq!(
        vs.len() as u64,
        all["counts"][kind].as_u64().expect("count"),
        "count of {kind} vectors"
    );
    assert!(!vs.is_empty(), "no {kind} vectors");
    vs
}

fn report(kind: &str, checked: usize, extra: &str) {
    println!("django vectors: {kind}: {checked} checked, {checked} passed{extra}");
}

#[test]
fn encode_vectors_are_byte_exact() {
    let vs = vectors_of("encode");
    let mut compressed = 0;
    for v in &vs {
        let id = v["id"].as_str().unwrap();
        let codec = codec_of(v);
        let settings = cookie_settings(&v["settings"]);
        let items: Vec<DjangoItem> = v["input"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(item_from_input)
            .collect();
        let remove_oldest = v["input"]["remove_oldest"].as_bool().unwrap();
        let ts = v["timestamp"].as_i64().unwrap();
        let e = &v["expected"];
        let enc = codec.encode(&items, remove_oldest, ts, MAX_COOKIE_SIZE);

        assert_eq!(
            enc.value.as_deref(),
            e["cookie_value"].as_str(),
            "{id}: cookie value"
        );
        assert_eq!(
            enc.set_cookie_header(&settings),
            e["cookie"]["set_cookie"].as_str().unwrap(),
            "{id}: Set-Cookie"
        );
        let unstored: Vec<usize> = enc.unstored.clone().collect();
        let want: Vec<usize> = e["unstored_indices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(unstored, want, "{id}: unstored indices");

        if let Some(value) = e["cookie_value"].as_str() {
            assert_eq!(value.len() as u64, e["cookie_length"].as_u64().unwrap());
            assert_eq!(enc.not_finished, e["sentinel_appended"].as_bool().unwrap());
            assert_eq!(value.starts_with('.'), e["compressed"].as_bool().unwrap());
            if value.starts_with('.') {
                compressed += 1;
            }
            let back = decode_with_sentinel(&codec, value);
            assert_eq!(describe_list(&back), e["decoded"], "{id}: decoded");
            // The payload is the decompressed JSON text.
            let d = codec.decode(value).unwrap().unwrap();
            assert_eq!(d.key, KeyUsed::Current);
            assert_eq!(d.timestamp, ts);
            if !enc.not_finished {
                assert_eq!(
                    codec.encode_all(&items, ts, false).as_deref(),
                    Some(value),
                    "{id}: _encode of the full list"
                );
            }
        } else {
            assert!(e["cookie"]["is_deletion"].as_bool().unwrap());
        }
    }
    report(
        "encode",
        vs.len(),
        &format!(" (byte-exact; {compressed} of them compressed)"),
    );
}

#[test]
fn encode_vectors_payload_text() {
    // The payload (JSON before compression) of each stored cookie, rebuilt from the items.
    let vs = vectors_of("encode");
    let mut n = 0;
    for v in &vs {
        let e = &v["expected"];
        let Some(payload) = e["payload"].as_str() else {
            continue;
        };
        let mut items: Vec<DjangoItem> = v["input"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(item_from_input)
            .collect();
        let stored: Vec<usize> = e["stored_indices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap() as usize)
            .collect();
        items = stored.iter().map(|&i| items[i].clone()).collect();
        if e["sentinel_appended"].as_bool().unwrap() {
            items.push(DjangoItem::not_finished());
        }
        let mut text = String::from("[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            herald_flash::django::ToDjangoJson::write_django_json(
                item,
                &mut text,
                herald_flash::django::JsonStyle::Compact,
            );
        }
        text.push(']');
        assert_eq!(text, payload, "{}: payload", v["id"]);
        n += 1;
    }
    report("encode payload", n, "");
}

#[test]
fn decode_vectors() {
    let vs = vectors_of("decode");
    let mut by_result: BTreeMap<String, usize> = BTreeMap::new();
    for v in &vs {
        let id = v["id"].as_str().unwrap();
        let codec = codec_of(v);
        let input = v["input"]["cookie_value"].as_str().unwrap();
        let e = &v["expected"];
        let want = e["result"].as_str().unwrap();
        let got = codec.decode(input);
        let (result, marks_used) = match &got {
            Ok(None) => ("absent", false),
            Ok(Some(_)) => ("ok", false),
            Err(err) if err.marks_used() => ("invalid", true),
            Err(_) => ("exception", false),
        };
        assert_eq!(result, want, "{id}: result ({got:?})");
        assert_eq!(
            marks_used,
            e["marks_used"].as_bool().unwrap(),
            "{id}: marks_used"
        );
        if let Ok(Some(d)) = &got {
            assert_eq!(describe_list(&d.items), e["messages"], "{id}: messages");
            assert_eq!(
                d.all_retrieved,
                e["all_retrieved"].as_bool().unwrap(),
                "{id}: all_retrieved"
            );
            let want_key = match v["construction"]["signed_with_key"].as_str() {
                Some(k) => {
                    let i = v["fallback_keys"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .position(|f| f == k)
                        .expect("fallback key");
                    KeyUsed::Fallback(i)
                }
                None => KeyUsed::Current,
            };
            assert_eq!(d.key, want_key, "{id}: key used");
        } else if want != "exception" {
            assert!(e["all_retrieved"].as_bool().unwrap());
            assert!(e["messages"].is_null());
        }
        *by_result.entry(want.to_owned()).or_default() += 1;
    }
    report("decode", vs.len(), &format!(" ({by_result:?})"));
}

#[test]
fn delete_vectors() {
    let vs = vectors_of("delete");
    for v in &vs {
        let settings = cookie_settings(&v["settings"]);
        let codec = codec_of(v);
        let enc = codec.encode::<DjangoItem>(&[], true, v["timestamp"].as_i64().unwrap(), 2048);
        assert_eq!(enc.value, None);
        let want = v["expected"]["cookie"]["set_cookie"].as_str().unwrap();
        assert_eq!(enc.set_cookie_header(&settings), want, "{}", v["id"]);
        assert_eq!(settings.delete_cookie_header(), want, "{}", v["id"]);
    }
    report("delete", vs.len(), "");
}

#[test]
fn tags_vectors() {
    let vs = vectors_of("tags");
    let mut checked = 0;
    for v in &vs {
        let overrides: Vec<(Level, String)> = match v["input"]["message_tags_setting"].as_object() {
            None => Vec::new(),
            Some(o) => o
                .iter()
                .map(|(k, t)| (Level(k.parse().unwrap()), t.as_str().unwrap().to_owned()))
                .collect(),
        };
        let borrowed: Vec<(Level, &str)> =
            overrides.iter().map(|(l, t)| (*l, t.as_str())).collect();
        let table = TagTable::new(&borrowed);
        for e in v["expected"].as_array().unwrap() {
            let m = DjangoMessage::new(e["level"].as_i64().unwrap() as i32, "m")
                .with_extra_tags(e["extra_tags"].as_str());
            assert_eq!(m.level_tag(&table), e["level_tag"], "{}", v["id"]);
            assert_eq!(m.tags(&table), e["tags"], "{}", v["id"]);
            assert_eq!(
                m.as_message().tags(&table).to_string(),
                e["tags"],
                "{}",
                v["id"]
            );
            checked += 1;
        }
    }
    report("tags", vs.len(), &format!(" ({checked} messages)"));
}

#[test]
fn session_vectors() {
    let vs = vectors_of("session");
    for v in &vs {
        let id = v["id"].as_str().unwrap();
        let items: Vec<DjangoItem> = v["input"]["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(item_from_input)
            .collect();
        let e = &v["expected"];
        let mut session: BTreeMap<String, String> =
            serde_json::from_value(v["input"]["session_before"].clone()).unwrap();
        match encode_session(&items) {
            Some(s) => {
                session.insert("_messages".into(), s);
            }
            None => {
                session.remove("_messages");
            }
        }
        assert_eq!(
            serde_json::to_value(&session).unwrap(),
            e["session_after"],
            "{id}"
        );
        assert_eq!(e["unstored"], json!([]));
        match session.get("_messages") {
            Some(s) => {
                let back = decode_session(s).unwrap().unwrap();
                assert_eq!(describe_list(&back), e["decoded"], "{id}: decoded");
            }
            None => assert!(e["decoded"].is_null()),
        }
    }
    report("session", vs.len(), "");
}

#[test]
fn scenario_vectors() {
    let vs = vectors_of("scenario");
    for v in &vs {
        let id = v["id"].as_str().unwrap();
        let input = &v["input"];
        let e = &v["expected"];
        let mut ctx = Ctx::new(codec_of(v), v["timestamp"].as_i64().unwrap());
        ctx.settings = cookie_settings(&v["settings"]);
        ctx.message_level = v["settings"]["MESSAGE_LEVEL"].as_i64().map(|l| l as i32);
        let kind = match input["storage"].as_str().unwrap() {
            "cookie" => Kind::Cookie,
            "fallback" => Kind::Fallback,
            other => panic!("{id}: storage {other}"),
        };
        let cookie = input["request_cookie"].as_str().map(str::to_owned);
        // The request cookie is Django's own encoding of request_cookie_messages.
        if let (Some(c), Some(msgs)) = (&cookie, input["request_cookie_messages"].as_array()) {
            let items: Vec<DjangoItem> = msgs.iter().map(item_from_input).collect();
            assert_eq!(
                ctx.codec
                    .encode_all(&items, ctx.timestamp, false)
                    .as_deref(),
                Some(c.as_str()),
                "{id}: request cookie"
            );
        }
        let session: Option<BTreeMap<String, String>> = match &input["request_session"] {
            Value::Null => None,
            s => Some(serde_json::from_value(s.clone()).unwrap()),
        };
        let mut storage = Storage::new(&ctx, kind, cookie, session);
        let mut results = Vec::new();
        for op in input["ops"].as_array().unwrap() {
            let r = match op["op"].as_str().unwrap() {
                "add" => {
                    storage.add(
                        op["level"].as_i64().unwrap() as i32,
                        op["message"].as_str().unwrap(),
                        match op.get("extra_tags") {
                            None => Some(""),
                            Some(t) => t.as_str(),
                        },
                    );
                    Value::Null
                }
                "iter" => describe_list(&storage.iter()),
                "len" => json!(storage.len()),
                "contains" => json!(storage.contains(
                    op["level"].as_i64().unwrap() as i32,
                    op["message"].as_str().unwrap()
                )),
                "set_level" => {
                    storage.set_level(op["level"].as_i64().map(|l| l as i32));
                    Value::Null
                }
                "get_level" => json!(storage.level()),
                other => panic!("{id}: op {other}"),
            };
            results.push(r);
        }
        assert_eq!(Value::Array(results), e["op_results"], "{id}: op results");
        let ret = storage.update();
        assert_eq!(
            ret.as_deref().map(describe_list).unwrap_or(Value::Null),
            e["update_returned"],
            "{id}: update() return"
        );
        assert_eq!(
            storage.set_cookie.as_deref(),
            e["cookie"]["set_cookie"].as_str(),
            "{id}: Set-Cookie"
        );
        if let Some(value) = e["cookie"]["value"].as_str().filter(|v| !v.is_empty()) {
            let back = decode_with_sentinel(&ctx.codec, value);
            assert_eq!(
                describe_list(&back),
                e["cookie_decoded"],
                "{id}: cookie decoded"
            );
        }
        if let Some(after) = e.get("session_after") {
            assert_eq!(
                serde_json::to_value(storage.session.as_ref().unwrap()).unwrap(),
                *after,
                "{id}: session after"
            );
        }
    }
    report("scenario", vs.len(), "");
}

#[test]
fn constants_match_the_vectors() {
    let all = load_vectors();
    let c = &all["constants"];
    assert_eq!(c["cookie_name"], herald_flash::django::COOKIE_NAME);
    assert_eq!(c["key_salt"], herald_flash::django::KEY_SALT);
    assert_eq!(c["max_cookie_size"], MAX_COOKIE_SIZE);
    assert_eq!(c["not_finished"], herald_flash::django::NOT_FINISHED);
    assert_eq!(c["message_key"], herald_flash::django::MESSAGE_KEY);
    assert_eq!(c["session_key"], herald_flash::django::SESSION_KEY);
    assert_eq!(c["default_level"], 20);
    let t = TagTable::defaults();
    for (level, tag) in c["default_tags"].as_object().unwrap() {
        assert_eq!(t.level_tag(Level(level.parse().unwrap())), tag);
    }
    assert_eq!(
        herald_flash::django::b62_encode(all["timestamp"].as_i64().unwrap()),
        "1r31eq"
    );
    let _ = CookieSettings::default();
}
