//! `herald_flash::success`: Django's `SuccessMessageMixin` for form handlers.

use std::convert::Infallible;

use herald_flash::success::{SuccessMessageError, add_success, format_success};
use herald_flash::tower::MessagesLayer;
use herald_flash::{Config, Level, Messages, OwnedMessage};
use serde::Serialize;
use tower::{Layer, ServiceExt, service_fn};

#[derive(Serialize)]
struct ProjectForm {
    name: String,
    members: u32,
    ratio: f64,
    public: bool,
    note: Option<String>,
    labels: Vec<String>,
}

fn form() -> ProjectForm {
    ProjectForm {
        name: "Apollo".into(),
        members: 3,
        ratio: 0.5,
        public: false,
        note: None,
        labels: vec!["a".into()],
    }
}

#[test]
fn formats_fields_as_python_str_does() {
    assert_eq!(
        format_success("{name} was created successfully", &form()).unwrap(),
        "Apollo was created successfully"
    );
    assert_eq!(
        format_success("{members}/{ratio}/{public}/{note}/{labels}", &form()).unwrap(),
        r#"3/0.5/False/None/["a"]"#
    );
    assert_eq!(
        format_success("{{name}} {{{name}}}", &form()).unwrap(),
        "{name} {Apollo}"
    );
    assert_eq!(format_success("plain", &form()).unwrap(), "plain");
    assert_eq!(format_success("", &form()).unwrap(), "");
}

#[test]
fn typed_errors() {
    assert_eq!(
        format_success("{title} saved", &form()),
        Err(SuccessMessageError::MissingField {
            field: "title".into()
        })
    );
    assert_eq!(
        format_success("{}", &form()),
        Err(SuccessMessageError::MissingField {
            field: String::new()
        })
    );
    assert_eq!(
        format_success("ab {name", &form()),
        Err(SuccessMessageError::UnmatchedBrace { at: 3 })
    );
    assert_eq!(
        format_success("a } b", &form()),
        Err(SuccessMessageError::UnmatchedBrace { at: 2 })
    );
    assert_eq!(
        format_success("{na{me}", &form()),
        Err(SuccessMessageError::UnmatchedBrace { at: 0 })
    );
    assert_eq!(
        format_success("{x}", &42),
        Err(SuccessMessageError::NotAStruct)
    );
}

/// In a request: the message is added at SUCCESS; on an error nothing is added.
#[tokio::test]
async fn adds_a_success_message_in_a_request() {
    let config = Config::builder()
        .secret("success-test-secret-of-32-bytes!!!!")
        .build()
        .unwrap();
    let svc =
        MessagesLayer::cookie(config).layer(service_fn(|req: http::Request<String>| async move {
            let messages = req.extensions().get::<Messages>().unwrap().clone();
            let added = add_success(&messages, "{name} was created successfully", &form()).unwrap();
            assert_eq!(added, "Apollo was created successfully");
            assert!(add_success(&messages, "{nope}", &form()).is_err());
            add_success(&messages, "", &form()).unwrap(); // empty: nothing added, as in Django
            let mut res = http::Response::new(String::new());
            res.extensions_mut().insert(messages.to_vec());
            Ok::<_, Infallible>(res)
        }));
    let res = svc
        .oneshot(http::Request::new(String::new()))
        .await
        .unwrap();
    let shown = res.extensions().get::<Vec<OwnedMessage>>().unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].level, Level::SUCCESS);
    assert_eq!(shown[0].message, "Apollo was created successfully");
    assert_eq!(shown[0].tags, "success");
}
