//! The htmx layer over real HTTP (`examples/htmx.rs`, served on loopback, driven by
//! reqwest with a cookie store), and the actix-web middleware with actix's test client.

#[path = "../examples/htmx.rs"]
#[allow(dead_code)]
mod example;

use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};

const SECRET: &[u8] = b"htmx-test-secret-of-at-least-32-bytes";

struct Server {
    base: String,
    client: Client,
}

impl Server {
    async fn start() -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = example::app(SECRET).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let client = Client::builder()
            .cookie_store(true)
            .redirect(Policy::none())
            .build()
            .unwrap();
        Server { base, client }
    }

    async fn get(&self, path: &str, htmx: bool) -> reqwest::Response {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if htmx {
            req = req.header("HX-Request", "true");
        }
        req.send().await.unwrap()
    }

    async fn post(&self, path: &str, text: Option<&str>, htmx: bool) -> reqwest::Response {
        let mut req = self.client.post(format!("{}{path}", self.base));
        if htmx {
            req = req.header("HX-Request", "true");
        }
        if let Some(text) = text {
            req = req
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!("text={text}"));
        }
        req.send().await.unwrap()
    }
}

fn trigger(res: &reqwest::Response) -> Option<Value> {
    let v = res.headers().get("hx-trigger")?;
    Some(serde_json::from_slice(v.as_bytes()).expect("HX-Trigger is JSON"))
}

fn info(text: &str) -> Value {
    json!({"level": 20, "level_tag": "info", "tags": "info", "message": text, "extra_tags": "", "is_safe": false})
}

#[tokio::test]
async fn htmx_get_gets_the_messages_in_hx_trigger_once() {
    let s = Server::start().await;
    assert_eq!(
        s.post("/add", Some("First"), false).await.status(),
        StatusCode::SEE_OTHER
    );
    let res = s.get("/status", true).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(trigger(&res), Some(json!({"messages": [info("First")]})));
    assert_eq!(res.text().await.unwrap(), "<em>ok</em>");
    // Read, so gone: neither the next fragment nor the next page has them.
    let res = s.get("/status", true).await;
    assert_eq!(trigger(&res), None);
    let page = s.get("/", false).await.text().await.unwrap();
    assert!(!page.contains("First"), "{page}");
}

#[tokio::test]
async fn htmx_post_merges_with_the_handlers_event() {
    let s = Server::start().await;
    let res = s.post("/save", None, true).await;
    assert_eq!(
        trigger(&res),
        Some(json!({
            "saved": {"id": 7},
            "messages": [{"level": 25, "level_tag": "success", "tags": "success", "message": "Draft saved.", "extra_tags": "", "is_safe": false}],
        }))
    );
    // Without htmx, the handler's header is left as it is and the message waits.
    let res = s.post("/save", None, false).await;
    assert_eq!(trigger(&res), Some(json!({"saved": {"id": 7}})));
    let page = s.get("/", false).await.text().await.unwrap();
    assert!(
        page.contains(r#"<li class="success">Draft saved.</li>"#),
        "{page}"
    );
}

#[tokio::test]
async fn a_redirect_gets_no_header_and_the_next_page_shows_the_messages() {
    let s = Server::start().await;
    let res = s
        .post("/add", Some("%3Cb%3EAfter%3C%2Fb%3E+redirect"), true)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(trigger(&res), None);
    let res = s.get("/", false).await;
    assert_eq!(trigger(&res), None);
    let page = res.text().await.unwrap();
    assert!(
        page.contains(r#"<li class="info">&lt;b&gt;After&lt;/b&gt; redirect</li>"#),
        "{page}"
    );
    // Shown once.
    assert!(
        !s.get("/", false)
            .await
            .text()
            .await
            .unwrap()
            .contains("After")
    );
}

#[tokio::test]
async fn a_request_without_htmx_gets_no_header() {
    let s = Server::start().await;
    s.post("/add", Some("Plain"), false).await;
    let res = s.get("/status", false).await;
    assert_eq!(trigger(&res), None);
    // Not read by anyone: still there for the next htmx request.
    let res = s.get("/status", true).await;
    assert_eq!(trigger(&res), Some(json!({"messages": [info("Plain")]})));
    // No messages: no header.
    assert_eq!(trigger(&s.get("/status", true).await), None);
}

#[tokio::test]
async fn non_ascii_text_is_escaped_in_the_header() {
    let s = Server::start().await;
    s.post("/add", Some("Caf%C3%A9+%F0%9F%8E%89"), false).await;
    let res = s.get("/status", true).await;
    let raw = res.headers()["hx-trigger"].to_str().unwrap().to_owned();
    assert!(raw.contains(r"Caf\u00e9 \ud83c\udf89"), "{raw}");
    assert_eq!(trigger(&res), Some(json!({"messages": [info("Café 🎉")]})));
}

mod actix {
    use actix_web::{App, HttpResponse, test, web};
    use herald_flash::actix::MessagesMiddleware;
    use herald_flash::htmx::HtmxMiddleware;
    use herald_flash::{Config, Messages};
    use serde_json::{Value, json};

    async fn fragment(messages: Messages) -> HttpResponse {
        messages.warning("Careful");
        HttpResponse::Ok()
            .insert_header(("HX-Trigger", "a, b"))
            .body("<em>ok</em>")
    }

    async fn moved(messages: Messages) -> HttpResponse {
        messages.warning("Moved");
        HttpResponse::SeeOther()
            .insert_header(("Location", "/"))
            .finish()
    }

    #[actix_web::test]
    async fn actix_middleware() {
        let config = Config::builder().secret(super::SECRET).build().unwrap();
        let app = test::init_service(
            App::new()
                .wrap(HtmxMiddleware::new().event("flash"))
                .wrap(MessagesMiddleware::cookie(config))
                .route("/f", web::get().to(fragment))
                .route("/m", web::post().to(moved)),
        )
        .await;
        let req = test::TestRequest::get()
            .uri("/f")
            .insert_header(("HX-Request", "true"))
            .to_request();
        let res = test::call_service(&app, req).await;
        let header: Value =
            serde_json::from_slice(res.headers().get("hx-trigger").unwrap().as_bytes()).unwrap();
        assert_eq!(
            header,
            json!({"a": null, "b": null, "flash": [{"level": 30, "level_tag": "warning", "tags": "warning", "message": "Careful", "extra_tags": "", "is_safe": false}]})
        );
        // Read: nothing is stored (the response only deletes the cookie, as Django does).
        let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
        assert!(
            cookie.starts_with("messages=\"\";") && cookie.contains("Max-Age=0"),
            "{cookie}"
        );

        let req = test::TestRequest::post()
            .uri("/m")
            .insert_header(("HX-Request", "true"))
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status().as_u16(), 303);
        assert!(res.headers().get("hx-trigger").is_none());
        // Unread: stored in the cookie for the next page.
        let cookie = res.headers().get("set-cookie").unwrap().to_str().unwrap();
        assert!(
            cookie.starts_with("messages=") && !cookie.starts_with("messages=\"\""),
            "{cookie}"
        );

        let req = test::TestRequest::get().uri("/f").to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(
            res.headers().get("hx-trigger").unwrap().to_str().unwrap(),
            "a, b"
        );
    }
}
