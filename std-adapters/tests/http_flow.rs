//! End-to-end flows over real HTTP on 127.0.0.1, with a real client and cookie jar, against
//! both the axum and the actix-web adapter (the same app on each).

mod common;

use common::*;
use herald_flash::session::MemorySessions;
use herald_flash::{Limits, SameSite};

fn long(i: usize, len: usize) -> String {
    let mut s = format!("message {i:02} ");
    while s.len() < len {
        s.push(char::from(b'a' + (s.len() % 26) as u8));
    }
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_redirect_get_shows_once_for_every_storage() {
    for fw in FRAMEWORKS {
        let stores = [
            ("cookie", Store::Cookie),
            ("memory fallback", Store::Memory(MemorySessions::new())),
            ("ecosystem fallback", Store::Ecosystem),
        ];
        for (name, store) in stores {
            let server = spawn(fw, config().build().unwrap(), store).await;
            let (c, _) = client();
            let res = post_add(&c, &server, &[("level", "25"), ("text", "Profile saved.")]).await;
            assert_eq!(
                set_cookies(&res, "messages").len(),
                1,
                "{fw:?} {name}: the cookie is set"
            );
            let shown = get_json(&c, &server, "/show").await;
            assert_eq!(texts(&shown), ["Profile saved."], "{fw:?} {name}");
            assert_eq!(shown[0]["level"], 25);
            assert_eq!(shown[0]["tags"], "success");
            assert!(
                texts(&get_json(&c, &server, "/show").await).is_empty(),
                "{fw:?} {name}: shown once"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_read_consumes_everything_but_len_does_not() {
    for fw in FRAMEWORKS {
        let server = spawn(fw, config().build().unwrap(), Store::Cookie).await;
        let (c, _) = client();
        post_add(&c, &server, &[("text", "one"), ("text", "two")]).await;
        let res = c.get(server.url("/count")).send().await.unwrap();
        assert!(
            set_cookies(&res, "messages").is_empty(),
            "{fw:?}: len() writes nothing (R-2.4, R-2.7)"
        );
        assert_eq!(res.json::<serde_json::Value>().await.unwrap(), 2);
        assert_eq!(get_json(&c, &server, "/count").await, 2, "{fw:?}");
        // Iterating only the first still marks everything used.
        assert_eq!(
            texts(&get_json(&c, &server, "/first").await),
            ["one"],
            "{fw:?}"
        );
        assert!(
            texts(&get_json(&c, &server, "/show").await).is_empty(),
            "{fw:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_preserves_the_messages_for_the_next_request() {
    for fw in FRAMEWORKS {
        let server = spawn(
            fw,
            config().build().unwrap(),
            Store::Memory(MemorySessions::new()),
        )
        .await;
        let (c, _) = client();
        post_add(&c, &server, &[("text", "kept")]).await;
        assert_eq!(
            texts(&get_json(&c, &server, "/keep").await),
            ["kept"],
            "{fw:?}"
        );
        assert_eq!(
            texts(&get_json(&c, &server, "/keep").await),
            ["kept"],
            "{fw:?}"
        );
        assert_eq!(
            texts(&get_json(&c, &server, "/show").await),
            ["kept"],
            "{fw:?}"
        );
        assert!(
            texts(&get_json(&c, &server, "/show").await).is_empty(),
            "{fw:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_request_display_stores_nothing() {
    for fw in FRAMEWORKS {
        let server = spawn(fw, config().build().unwrap(), Store::Cookie).await;
        let (c, _) = client();
        let res = c
            .post(server.url("/add-show"))
            .form(&[("text", "now")])
            .send()
            .await
            .unwrap();
        for line in set_cookies(&res, "messages") {
            assert!(
                line.starts_with("messages=\"\""),
                "{fw:?}: only a deletion may be sent: {line}"
            );
        }
        let shown: serde_json::Value = res.json().await.unwrap();
        assert_eq!(texts(&shown), ["now"], "{fw:?}");
        assert!(
            texts(&get_json(&c, &server, "/show").await).is_empty(),
            "{fw:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minimum_level_and_per_request_level() {
    for fw in FRAMEWORKS {
        let server = spawn(fw, config().build().unwrap(), Store::Cookie).await;
        let (c, _) = client();
        // Below the default minimum (INFO): ignored; equal to it: kept.
        post_add(
            &c,
            &server,
            &[
                ("level", "10"),
                ("text", "debug"),
                ("level", "20"),
                ("text", "info"),
            ],
        )
        .await;
        assert_eq!(
            texts(&get_json(&c, &server, "/show").await),
            ["info"],
            "{fw:?}"
        );
        // A per-request level applies to that request only.
        let pairs = [
            ("set_level", "30"),
            ("level", "25"),
            ("text", "success"),
            ("level", "30"),
            ("text", "warning"),
            ("set_level", ""),
            ("level", "20"),
            ("text", "info again"),
        ];
        post_add(&c, &server, &pairs).await;
        assert_eq!(
            get_json(&c, &server, "/level").await,
            20,
            "{fw:?}: the default is back"
        );
        assert_eq!(
            texts(&get_json(&c, &server, "/show").await),
            ["warning", "info again"],
            "{fw:?}"
        );
        // A configured minimum (MESSAGE_LEVEL) and a custom tag.
        let server = spawn(
            fw,
            config()
                .min_level(herald_flash::Level(29))
                .tag(herald_flash::Level(29), "custom")
                .build()
                .unwrap(),
            Store::Cookie,
        )
        .await;
        let (c, _) = client();
        post_add(
            &c,
            &server,
            &[
                ("level", "25"),
                ("text", "s"),
                ("level", "29"),
                ("extra", "x"),
                ("text", "c"),
            ],
        )
        .await;
        let shown = get_json(&c, &server, "/show").await;
        assert_eq!(texts(&shown), ["c"], "{fw:?}");
        assert_eq!(shown[0]["tags"], "x custom");
        assert_eq!(shown[0]["level_tag"], "custom");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_truncated_or_garbage_cookie_means_no_messages_and_is_cleared() {
    for fw in FRAMEWORKS {
        let server = spawn(fw, config().build().unwrap(), Store::Cookie).await;
        let raw = raw_client();
        let res = raw
            .post(server.url("/add"))
            .form(&[("text", "secret")])
            .send()
            .await
            .unwrap();
        let good = cookie_value(&set_cookies(&res, "messages")[0]).to_owned();
        let mut flipped = good.clone().into_bytes();
        flipped[5] = if flipped[5] == b'A' { b'B' } else { b'A' };
        let bad = [
            String::from_utf8(flipped).unwrap(),
            good[..good.len() - 3].to_owned(),
            good[1..].to_owned(),
            "garbage".to_owned(),
            "%%%".to_owned(),
            format!("{good}="),
        ];
        for value in bad {
            let res = raw
                .get(server.url("/show"))
                .header("cookie", format!("messages={value}"))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200, "{fw:?}: never a 4xx/5xx for {value:?}");
            let lines = set_cookies(&res, "messages");
            assert_eq!(lines.len(), 1, "{fw:?}: the bad cookie is cleared");
            assert!(
                lines[0].starts_with("messages=\"\";"),
                "{fw:?}: {}",
                lines[0]
            );
            assert!(texts(&res.json().await.unwrap()).is_empty(), "{fw:?}");
        }
        // The good one still works.
        let res = raw
            .get(server.url("/show"))
            .header("cookie", format!("messages={good}"))
            .send()
            .await
            .unwrap();
        assert_eq!(texts(&res.json().await.unwrap()), ["secret"], "{fw:?}");
        // An untouched bad cookie is left alone.
        let res = raw
            .get(server.url("/plain"))
            .header("cookie", "messages=garbage")
            .send()
            .await
            .unwrap();
        assert!(set_cookies(&res, "messages").is_empty(), "{fw:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_reads_old_cookies_and_rewrites_them_with_the_new_key() {
    for fw in FRAMEWORKS {
        let old = spawn(
            fw,
            herald_flash::Config::builder()
                .secret(OLD_SECRET)
                .build()
                .unwrap(),
            Store::Cookie,
        )
        .await;
        let rotated = spawn(
            fw,
            config().fallback_secret(OLD_SECRET).build().unwrap(),
            Store::Cookie,
        )
        .await;
        let new_only = spawn(fw, config().build().unwrap(), Store::Cookie).await;
        let raw = raw_client();
        let res = raw
            .post(old.url("/add"))
            .form(&[("text", "rotated")])
            .send()
            .await
            .unwrap();
        let old_value = cookie_value(&set_cookies(&res, "messages")[0]).to_owned();
        let cookie = |v: &str| format!("messages={v}");
        // The new-key-only server rejects it.
        let res = raw
            .get(new_only.url("/count"))
            .header("cookie", cookie(&old_value))
            .send()
            .await
            .unwrap();
        assert_eq!(res.json::<serde_json::Value>().await.unwrap(), 0, "{fw:?}");
        // The rotated server reads it, and re-signs it even on a request that does not
        // touch the messages.
        let res = raw
            .get(rotated.url("/plain"))
            .header("cookie", cookie(&old_value))
            .send()
            .await
            .unwrap();
        let lines = set_cookies(&res, "messages");
        assert_eq!(lines.len(), 1, "{fw:?}: re-signed with the current key");
        let new_value = cookie_value(&lines[0]).to_owned();
        assert_ne!(new_value, old_value);
        let res = raw
            .get(rotated.url("/count"))
            .header("cookie", cookie(&new_value))
            .send()
            .await
            .unwrap();
        assert!(
            set_cookies(&res, "messages").is_empty(),
            "{fw:?}: current-key cookies are left alone"
        );
        // The new-key-only server reads the re-signed cookie.
        let res = raw
            .get(new_only.url("/show"))
            .header("cookie", cookie(&new_value))
            .send()
            .await
            .unwrap();
        assert_eq!(texts(&res.json().await.unwrap()), ["rotated"], "{fw:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_only_overflow_drops_the_oldest_and_reports_them() {
    for fw in FRAMEWORKS {
        let server = spawn(fw, config().build().unwrap(), Store::Cookie).await;
        let (c, _) = client();
        let all: Vec<String> = (0..7).map(|i| long(i, 400)).collect();
        let pairs: Vec<(&str, &str)> = all.iter().map(|t| ("text", t.as_str())).collect();
        let res = post_add(&c, &server, &pairs).await;
        assert_eq!(
            res.headers()["x-add-results"],
            ["Queued"; 7].join(","),
            "{fw:?}"
        );
        let lines = set_cookies(&res, "messages");
        assert!(
            cookie_value(&lines[0]).len() <= 2048,
            "{fw:?}: the value respects the maximum"
        );
        let dropped: usize = res.headers()["x-herald-unstored"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            dropped > 0 && dropped < all.len(),
            "{fw:?}: dropped {dropped}"
        );
        let reported = res.headers()["x-herald-unstored-texts"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            reported,
            all[..dropped].join("|"),
            "{fw:?}: the oldest are reported"
        );
        assert!(
            res.headers()["x-herald-unstored-reason"]
                .to_str()
                .unwrap()
                .contains("cookie")
        );
        assert_eq!(
            texts(&get_json(&c, &server, "/show").await),
            all[dropped..],
            "{fw:?}: the newest are kept"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_results_reach_the_handler_and_a_full_inbox_hands_the_message_back() {
    for fw in FRAMEWORKS {
        let limits = Limits {
            max_bytes: 3072,
            max_messages: 32,
        };
        let config = config().request_limits(limits).build().unwrap();
        let server = spawn(fw, config, Store::Cookie).await;
        let (c, _) = client();
        let big: Vec<String> = (0..8).map(|i| long(i, 400)).collect();
        let mut pairs = vec![
            ("text", ""),
            ("level", "10"),
            ("text", "low"),
            ("level", "20"),
        ];
        pairs.extend(big.iter().map(|t| ("text", t.as_str())));
        let res = post_add(&c, &server, &pairs).await;
        let results = res.headers()["x-add-results"].to_str().unwrap().to_owned();
        let results: Vec<&str> = results.split(',').collect();
        assert_eq!(
            &results[..2],
            ["IgnoredEmpty", "IgnoredBelowLevel"],
            "{fw:?}"
        );
        assert_eq!(&results[2..9], vec!["Queued"; 7], "{fw:?}");
        assert!(
            results[9].starts_with("error: herald: message at level 20 not queued"),
            "{fw:?}: the 8th does not fit the 3072-byte request limit and is handed back: {}",
            results[9]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_overflow_lands_in_the_session_and_is_shown_once_in_order() {
    for fw in FRAMEWORKS {
        for (name, store) in [
            ("memory", Store::Memory(MemorySessions::new())),
            ("ecosystem", Store::Ecosystem),
        ] {
            let memory = match &store {
                Store::Memory(m) => Some(m.clone()),
                _ => None,
            };
            let server = spawn(fw, config().build().unwrap(), store).await;
            let (c, _) = client();
            // The actix cookie session store holds at most ~4 KB, so keep the overflow small.
            let all: Vec<String> = (0..7).map(|i| long(i, 400)).collect();
            let pairs: Vec<(&str, &str)> = all.iter().map(|t| ("text", t.as_str())).collect();
            let res = post_add(&c, &server, &pairs).await;
            assert!(
                res.headers().get("x-herald-unstored").is_none(),
                "{fw:?} {name}: nothing unstored"
            );
            let lines = set_cookies(&res, "messages");
            assert!(cookie_value(&lines[0]).len() <= 2048);
            if let Some(m) = &memory {
                assert_eq!(m.len(), 1, "{fw:?}: the overflow is in the session");
            }
            assert_eq!(
                texts(&get_json(&c, &server, "/show").await),
                all,
                "{fw:?} {name}"
            );
            if let Some(m) = &memory {
                assert!(
                    m.is_empty(),
                    "{fw:?}: the session entry is removed once read"
                );
            }
            assert!(
                texts(&get_json(&c, &server, "/show").await).is_empty(),
                "{fw:?} {name}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_storage_keeps_no_messages_cookie() {
    for fw in FRAMEWORKS {
        let store = MemorySessions::new();
        let server = spawn(
            fw,
            config().build().unwrap(),
            Store::MemorySessionOnly(store.clone()),
        )
        .await;
        let (c, _) = client();
        let res = post_add(&c, &server, &[("text", "in the session")]).await;
        assert!(set_cookies(&res, "messages").is_empty(), "{fw:?}");
        assert_eq!(
            set_cookies(&res, "herald_session").len(),
            1,
            "{fw:?}: the session cookie is issued"
        );
        assert_eq!(store.len(), 1);
        assert_eq!(
            texts(&get_json(&c, &server, "/show").await),
            ["in the session"],
            "{fw:?}"
        );
        assert!(store.is_empty());
        assert!(
            texts(&get_json(&c, &server, "/show").await).is_empty(),
            "{fw:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_cookie_and_deletion_attributes_match_the_configuration() {
    for fw in FRAMEWORKS {
        let configured = config()
            .cookie_name("flash")
            .domain(Some(".example.test".into()))
            .secure(true)
            .http_only(false)
            .same_site(Some(SameSite::Strict))
            .build()
            .unwrap();
        for (cfg, attrs, deletion) in [
            // The defaults: HttpOnly, Path=/, SameSite=Lax and Secure.
            (
                config().build().unwrap(),
                "; HttpOnly; Path=/; SameSite=Lax; Secure",
                "messages=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax",
            ),
            // Secure turned off explicitly (plain-HTTP development on another host name).
            (
                config().secure(false).build().unwrap(),
                "; HttpOnly; Path=/; SameSite=Lax",
                "messages=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax",
            ),
            (
                configured,
                "; Domain=.example.test; Path=/; SameSite=Strict; Secure",
                "flash=\"\"; Domain=.example.test; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Strict",
            ),
        ] {
            let name = cfg.cookie_name().to_owned();
            let server = spawn(fw, cfg, Store::Cookie).await;
            let raw = raw_client();
            let res = raw
                .post(server.url("/add"))
                .form(&[("text", "attrs")])
                .send()
                .await
                .unwrap();
            let lines = set_cookies(&res, &name);
            assert_eq!(lines.len(), 1, "{fw:?}");
            let value = cookie_value(&lines[0]);
            assert_eq!(lines[0], format!("{name}={value}{attrs}"), "{fw:?}");
            let res = raw
                .get(server.url("/show"))
                .header("cookie", format!("{name}={value}"))
                .send()
                .await
                .unwrap();
            assert_eq!(set_cookies(&res, &name), [deletion], "{fw:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_layer_is_a_clear_error_unless_failing_silently() {
    for fw in FRAMEWORKS {
        let server = spawn(fw, config().build().unwrap(), Store::Cookie).await;
        let raw = raw_client();
        let res = raw
            .post(server.url("/nolayer/strict"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 500, "{fw:?}");
        // A generic body: what to fix is logged at ERROR (tests/api.rs checks the line).
        let body = res.text().await.unwrap();
        assert_eq!(body, "Internal Server Error", "{fw:?}");
        let res = raw
            .post(server.url("/nolayer/silent"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{fw:?}");
        assert_eq!(
            res.json::<serde_json::Value>().await.unwrap(),
            serde_json::json!(["Silenced"])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untouched_messages_survive_and_json_has_the_documented_shape() {
    for fw in FRAMEWORKS {
        let server = spawn(fw, config().build().unwrap(), Store::Cookie).await;
        let (c, _) = client();
        post_add(
            &c,
            &server,
            &[
                ("level", "40"),
                ("extra", "big red"),
                ("text", "Failed <b>"),
            ],
        )
        .await;
        let res = c.get(server.url("/plain")).send().await.unwrap();
        assert!(
            set_cookies(&res, "messages").is_empty(),
            "{fw:?}: R-2.7, nothing written"
        );
        let shown = get_json(&c, &server, "/show").await;
        assert_eq!(
            shown,
            serde_json::json!([{
                "level": 40,
                "level_tag": "error",
                "tags": "big red error",
                "message": "Failed <b>",
                "extra_tags": "big red",
                "is_safe": false,
            }]),
            "{fw:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_posts_before_one_get_show_everything_in_order() {
    for fw in FRAMEWORKS {
        let server = spawn(
            fw,
            config().build().unwrap(),
            Store::Memory(MemorySessions::new()),
        )
        .await;
        let (c, _) = client();
        let mut expected = Vec::new();
        for level in ["10", "20", "25", "30", "40"] {
            let texts: Vec<String> = (0..5).map(|i| format!("level {level} #{i}")).collect();
            let mut pairs = vec![("set_level", "0"), ("level", level)];
            pairs.extend(texts.iter().map(|t| ("text", t.as_str())));
            post_add(&c, &server, &pairs).await;
            expected.extend(texts);
        }
        assert_eq!(
            texts(&get_json(&c, &server, "/show").await),
            expected,
            "{fw:?}"
        );
    }
}
