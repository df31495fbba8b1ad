//! The template context (`herald_flash::context`) rendered by minijinja, askama and tera,
//! compared with what Django's own template engine renders for the same messages through
//! `django.contrib.messages.context_processors.messages` (live, `django_render.py`), and
//! with the recorded Django output in `tests/fixtures/django_templates.json` (which the
//! live run also checks, so the fixture cannot drift from Django).

#[path = "django_support/render.rs"]
mod render;

use std::convert::Infallible;

use askama::Template;
use herald_flash::context::{Context, ContextMessage, DefaultLevels, minijinja_formatter};
use herald_flash::tower::MessagesLayer;
use herald_flash::{Config, Level, Message, Messages};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt, service_fn};

/// Django's docs: the tag-classed list.
const LIST: &str = r#"{% if messages %}<ul class="messages">{% for message in messages %}<li{% if message.tags %} class="{{ message.tags }}"{% endif %}>{{ message }}</li>{% endfor %}</ul>{% endif %}"#;
/// Django's docs: "Important:" before errors.
const IMPORTANT: &str = r#"{% for message in messages %}{% if message.level == DEFAULT_MESSAGE_LEVELS.ERROR %}Important: {% endif %}{{ message }}{% endfor %}"#;

/// Tera: `{{ message }}` is `{{ message.html | safe }}` (tera marks no value safe and
/// cannot display an object); the rest is Django's text.
fn tera_source(django: &str) -> String {
    django.replace("{{ message }}", "{{ message.html | safe }}")
}

/// Askama: its `if` takes a `bool`, so the truth tests are written out, and it reads an
/// upper-case name as a Rust constant, so the field is `self.DEFAULT_MESSAGE_LEVELS`;
/// the rest is Django's text.
#[derive(Template)]
#[template(
    source = r#"{% if !messages.is_empty() %}<ul class="messages">{% for message in messages %}<li{% if !message.tags.is_empty() %} class="{{ message.tags }}"{% endif %}>{{ message }}</li>{% endfor %}</ul>{% endif %}"#,
    ext = "html"
)]
struct AskamaList<'a> {
    messages: &'a [ContextMessage],
}

#[allow(non_snake_case)]
#[derive(Template)]
#[template(
    source = r#"{% for message in messages %}{% if message.level == self.DEFAULT_MESSAGE_LEVELS.ERROR %}Important: {% endif %}{{ message }}{% endfor %}"#,
    ext = "html"
)]
struct AskamaImportant<'a> {
    messages: &'a [ContextMessage],
    DEFAULT_MESSAGE_LEVELS: DefaultLevels,
}

/// The custom level and its tag, in both herald's and Django's configuration.
const NOTICE: Level = Level(35);

/// The messages: an unsafe `<b>` text with every character Django escapes, a safe one,
/// extra tags, empty extra tags, a custom level with a tag, a level without a tag.
fn messages() -> Vec<(i32, &'static str, Option<&'static str>, bool)> {
    vec![
        (40, r#"<b>Unsafe</b> & "quoted" 'text'"#, None, false),
        (25, "<em>Saved</em> &amp; done", None, true),
        (20, "Note", Some("banner sticky"), false),
        (30, "Careful", Some(""), false),
        (35, "Custom <level>", Some("x"), false),
        (45, "No tag", None, false),
        (40, "<i>Safe error</i>", Some("fatal"), true),
    ]
}

fn config() -> Config {
    Config::builder()
        .secret("templates-test-secret-of-32-bytes!!")
        .tag(NOTICE, "notice")
        .build()
        .unwrap()
}

type Given = (i32, &'static str, Option<&'static str>, bool);

/// What `read` returns in a handler that first added `given` (in the same request).
async fn in_request<T: Clone + Send + Sync + 'static>(
    given: &[Given],
    read: fn(&Messages) -> T,
) -> T {
    let given = given.to_vec();
    let svc =
        MessagesLayer::cookie(config()).layer(service_fn(move |req: http::Request<String>| {
            let given = given.clone();
            async move {
                let messages = req.extensions().get::<Messages>().unwrap().clone();
                for (level, text, extra, safe) in given {
                    let mut m = Message::new(Level(level), text).with_safe(safe);
                    if let Some(extra) = extra {
                        m = m.with_extra_tags(extra);
                    }
                    messages.add_message(m);
                }
                let mut res = http::Response::new(String::new());
                res.extensions_mut().insert(read(&messages));
                Ok::<_, Infallible>(res)
            }
        }));
    let res = svc
        .oneshot(http::Request::new(String::new()))
        .await
        .unwrap();
    res.extensions().get::<T>().unwrap().clone()
}

/// The context a handler takes after adding `given` in the same request.
async fn context_of(given: &[Given]) -> Context {
    in_request(given, Messages::context).await
}

/// The JSON an API handler returns for the same messages (`Json(messages.read())`).
async fn snapshot_json(given: &[Given]) -> Value {
    in_request(given, |m| serde_json::to_value(m.read()).unwrap()).await
}

fn minijinja_render(source: &str, context: &Context) -> String {
    let mut env = minijinja::Environment::new();
    env.set_formatter(minijinja_formatter);
    // Auto-escaping as for an .html template.
    env.add_template("t.html", source).unwrap();
    env.get_template("t.html")
        .unwrap()
        .render(context.minijinja())
        .unwrap()
}

fn tera_render(source: &str, context: &Context) -> String {
    tera::Tera::one_off(&tera_source(source), &context.tera(), true).unwrap()
}

fn askama_render(which: &str, context: &Context) -> String {
    match which {
        "list" => AskamaList {
            messages: &context.messages,
        }
        .render()
        .unwrap(),
        _ => AskamaImportant {
            messages: &context.messages,
            DEFAULT_MESSAGE_LEVELS: context.DEFAULT_MESSAGE_LEVELS,
        }
        .render()
        .unwrap(),
    }
}

fn django_input(given: &[(i32, &'static str, Option<&'static str>, bool)]) -> Value {
    json!({
        "tags": {"35": "notice"},
        "templates": [LIST, IMPORTANT],
        "messages": given
            .iter()
            .map(|(level, message, extra_tags, is_safe)| json!({
                "level": level, "message": message, "extra_tags": extra_tags, "is_safe": is_safe,
            }))
            .collect::<Vec<_>>(),
    })
}

fn fixture_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/django_templates.json")
}

/// The recorded Django output: `{"cases": {"messages": [list, important], "empty": [..]}}`.
fn fixture() -> Value {
    let text =
        std::fs::read_to_string(fixture_path()).expect("tests/fixtures/django_templates.json");
    serde_json::from_str(&text).unwrap()
}

fn check_engines(case: &str, expected: &Value, context: &Context) {
    let (list, important) = (expected[0].as_str().unwrap(), expected[1].as_str().unwrap());
    assert_eq!(
        minijinja_render(LIST, context),
        list,
        "minijinja, list, {case}"
    );
    assert_eq!(
        minijinja_render(IMPORTANT, context),
        important,
        "minijinja, important, {case}"
    );
    assert_eq!(askama_render("list", context), list, "askama, list, {case}");
    assert_eq!(
        askama_render("important", context),
        important,
        "askama, important, {case}"
    );
    assert_eq!(tera_render(LIST, context), list, "tera, list, {case}");
    assert_eq!(
        tera_render(IMPORTANT, context),
        important,
        "tera, important, {case}"
    );
}

#[tokio::test]
async fn engines_render_what_django_renders() {
    let cases: [(&str, Vec<_>); 2] = [("messages", messages()), ("empty", Vec::new())];
    let fixture = fixture();
    let python = render::django_python("templates::engines_render_what_django_renders");
    for (name, given) in cases {
        let context = context_of(&given).await;
        assert_eq!(context.messages.len(), given.len());
        let recorded = &fixture["cases"][name];
        if let Some(python) = &python {
            let live = render::render(python, &django_input(&given));
            assert_eq!(
                &live["rendered"], recorded,
                "tests/fixtures/django_templates.json differs from Django {} (re-record it: see the fixture's \"how\")",
                live["django_version"]
            );
        }
        check_engines(name, recorded, &context);
    }
}

#[tokio::test]
async fn fields_and_default_levels_match_django() {
    let context = context_of(&messages()).await;
    let first = &context.messages[0];
    assert_eq!(
        (first.level, first.level_tag.as_str(), first.tags.as_str()),
        (40, "error", "error")
    );
    let custom = &context.messages[4];
    assert_eq!(
        (custom.level_tag.as_str(), custom.tags.as_str()),
        ("notice", "x notice")
    );
    let untagged = &context.messages[5];
    assert_eq!(
        (untagged.level_tag.as_str(), untagged.tags.as_str()),
        ("", "")
    );
    // Django's DEFAULT_MESSAGE_LEVELS: the five built-in levels, no custom one.
    let levels = serde_json::to_value(context.DEFAULT_MESSAGE_LEVELS).unwrap();
    assert_eq!(
        levels,
        json!({"DEBUG": 10, "INFO": 20, "SUCCESS": 25, "WARNING": 30, "ERROR": 40})
    );
    // minijinja sees the fields under Django's names.
    let mut env = minijinja::Environment::new();
    env.set_formatter(minijinja_formatter);
    let out = env
        .render_str(
            "{% for m in messages %}{{ m.level }}/{{ m.level_tag }}/{{ m.tags }}/{{ m.is_safe }};{% endfor %}{{ DEFAULT_MESSAGE_LEVELS.SUCCESS }}",
            context.minijinja(),
        )
        .unwrap();
    assert_eq!(
        out,
        "40/error/error/False;25/success/success/True;20/info/banner sticky info/False;30/warning/warning/False;35/notice/x notice/False;45///False;40/error/fatal error/True;25"
    );
}

/// With auto-escaping off, a message is its text, as in Django's `{% autoescape off %}`.
#[tokio::test]
async fn minijinja_without_autoescape_writes_the_text() {
    let context = context_of(&messages()[..1]).await;
    let mut env = minijinja::Environment::new();
    env.set_formatter(minijinja_formatter);
    env.add_template("t.txt", "{% for m in messages %}{{ m }}{% endfor %}")
        .unwrap();
    let out = env
        .get_template("t.txt")
        .unwrap()
        .render(context.minijinja())
        .unwrap();
    assert_eq!(out, r#"<b>Unsafe</b> & "quoted" 'text'"#);
}

/// The context's JSON and the API JSON (`Snapshot`, `OwnedMessage`) use one vocabulary.
#[tokio::test]
async fn json_has_one_vocabulary() {
    let context = context_of(&messages()).await;
    let json = serde_json::to_value(&context).unwrap();
    // Sorted: serde_json keeps the order only with its `preserve_order` feature.
    let keys = |v: &Value| {
        let mut keys = v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        keys.sort();
        keys
    };
    assert_eq!(keys(&json), ["DEFAULT_MESSAGE_LEVELS", "messages"]);
    let vocabulary = [
        "extra_tags",
        "is_safe",
        "level",
        "level_tag",
        "message",
        "tags",
    ];
    for m in json["messages"].as_array().unwrap() {
        assert_eq!(keys(m), vocabulary);
    }
    assert_eq!(
        json["messages"][2],
        json!({"level": 20, "level_tag": "info", "tags": "banner sticky info", "message": "Note", "extra_tags": "banner sticky", "is_safe": false})
    );
    // The same messages serialized as an API would (OwnedMessage, as Snapshot's items).
    let api: Vec<herald_flash::OwnedMessage> = {
        let table = config();
        messages()
            .into_iter()
            .map(|(level, text, extra, safe)| {
                let mut m = Message::new(Level(level), text).with_safe(safe);
                if let Some(extra) = extra {
                    m = m.with_extra_tags(extra);
                }
                herald_flash::OwnedMessage::new(m, &table.tags())
            })
            .collect()
    };
    assert_eq!(serde_json::to_value(&api).unwrap(), json["messages"]);
    // And as a JSON API handler returns them.
    assert_eq!(snapshot_json(&messages()).await, json["messages"]);
    // Tera's messages add only `html`.
    let tera = context.tera().into_json();
    let mut tera_keys = keys(&tera["messages"][0]);
    tera_keys.retain(|k| k != "html");
    assert_eq!(tera_keys, vocabulary);
    assert_eq!(tera["messages"][0]["html"], context.messages[0].html());
}
