//! A success message for form handlers: Django's `SuccessMessageMixin` (feature
//! `success`).
//!
//! After a form was accepted, [`add_success`] formats a message from the form's fields
//! and adds it at SUCCESS, as the mixin's `form_valid` does with
//! `success_message % cleaned_data`. The form is any `Serialize` struct (the one the
//! handler deserialized); its fields are read through `serde_json`. Placeholders are
//! written `{field}` (Python's `%(field)s`); `{{` and `}}` are literal braces.
//!
//! A field renders as Python's `str()` renders the cleaned value: a string as it is, a
//! number in its shortest form, `true`/`false` as `True`/`False`, a missing optional
//! value (`None`, JSON `null`) as `None`; a list or map renders as its JSON text. A
//! placeholder naming a field the form does not have is an error
//! ([`SuccessMessageError::MissingField`], Django's `KeyError`), and nothing is added.
//! As in Django, an empty template adds nothing.
//!
//! ```
//! use herald_flash::Messages;
//! use herald_flash::success::{add_success, format_success};
//! use serde::Serialize;
//!
//! #[derive(Serialize)]
//! struct NewProject {
//!     name: String,
//!     members: u32,
//! }
//!
//! let form = NewProject { name: "Apollo".into(), members: 3 };
//! assert_eq!(
//!     format_success("{name} was created successfully ({members} members)", &form).unwrap(),
//!     "Apollo was created successfully (3 members)"
//! );
//!
//! # let messages = Messages::detached();
//! // In the handler, after the form was accepted:
//! add_success(&messages, "{name} was created successfully", &form)?;
//! # Ok::<(), herald_flash::success::SuccessMessageError>(())
//! ```

use serde::Serialize;
use serde_json::Value;

use crate::Messages;

/// Why a success message could not be formatted. Nothing was added.
///
/// ```
/// use herald_flash::success::{format_success, SuccessMessageError};
/// #[derive(serde::Serialize)]
/// struct Form { name: String }
/// let err = format_success("{title} saved", &Form { name: "x".into() }).unwrap_err();
/// assert_eq!(err, SuccessMessageError::MissingField { field: "title".into() });
/// assert_eq!(err.to_string(), "herald: the success message names the field `title`, which the form does not have");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SuccessMessageError {
    /// A placeholder names a field the form does not have (Django: `KeyError`).
    #[error("herald: the success message names the field `{field}`, which the form does not have")]
    MissingField {
        /// The field the placeholder names.
        field: String,
    },
    /// The template has a `{` without its `}`, or a lone `}` (write `{{`, `}}` for braces).
    #[error("herald: the success message template has an unmatched brace at byte {at}")]
    UnmatchedBrace {
        /// The byte offset of the brace in the template.
        at: usize,
    },
    /// The form does not serialize as a struct or map, so it has no fields.
    #[error("herald: the form does not serialize as a struct or map with named fields")]
    NotAStruct,
    /// The form could not be serialized (its `Serialize` failed).
    #[error("herald: the form could not be serialized: {0}")]
    Serialize(String),
}

/// The fields of `form`, as a JSON object.
fn fields(form: &impl Serialize) -> Result<serde_json::Map<String, Value>, SuccessMessageError> {
    match serde_json::to_value(form) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(SuccessMessageError::NotAStruct),
        Err(e) => Err(SuccessMessageError::Serialize(e.to_string())),
    }
}

/// A field's text, as Python's `str()` of the cleaned value.
fn push_value(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        other => out.push_str(&other.to_string()),
    }
}

/// Formats `template` with the fields of `form`: `{field}` becomes the field's text,
/// `{{` and `}}` literal braces. See the [module docs](self) for how values render.
///
/// ```
/// # use herald_flash::success::format_success;
/// #[derive(serde::Serialize)]
/// struct Form { name: String, public: bool, note: Option<String> }
/// let form = Form { name: "Docs".into(), public: true, note: None };
/// assert_eq!(
///     format_success("{{{name}}} public={public} note={note}", &form).unwrap(),
///     "{Docs} public=True note=None"
/// );
/// ```
///
/// # Errors
/// [`SuccessMessageError`]: a missing field, an unmatched brace, a form without fields.
pub fn format_success(
    template: &str,
    form: &impl Serialize,
) -> Result<String, SuccessMessageError> {
    let fields = fields(form)?;
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut offset = 0;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let at = offset + i;
        let tail = &rest[i..];
        let consumed = if tail.starts_with("{{") {
            out.push('{');
            2
        } else if tail.starts_with("}}") {
            out.push('}');
            2
        } else if tail.starts_with('}') {
            return Err(SuccessMessageError::UnmatchedBrace { at });
        } else {
            let Some(end) = tail[1..]
                .find(['}', '{'])
                .filter(|&e| tail.as_bytes()[e + 1] == b'}')
            else {
                return Err(SuccessMessageError::UnmatchedBrace { at });
            };
            let name = &tail[1..=end];
            match fields.get(name) {
                Some(value) => push_value(&mut out, value),
                None => {
                    return Err(SuccessMessageError::MissingField {
                        field: name.to_owned(),
                    });
                }
            }
            end + 2
        };
        rest = &tail[consumed..];
        offset = at + consumed;
    }
    out.push_str(rest);
    Ok(out)
}

/// Adds the success message for an accepted form: [`format_success`], then
/// [`Messages::success`] (an empty result adds nothing, as in Django). Returns the text
/// it added.
///
/// ```
/// use herald_flash::Messages;
/// use herald_flash::success::add_success;
///
/// #[derive(serde::Deserialize, serde::Serialize)]
/// struct Signup { email: String }
///
/// // An axum handler: `Form(form): Form<Signup>` deserialized it; then
/// fn accepted(messages: &Messages, form: &Signup) -> Result<(), herald_flash::success::SuccessMessageError> {
///     add_success(messages, "{email} is signed up", form)?;
///     Ok(())
/// }
/// # accepted(&Messages::detached(), &Signup { email: "a@example.com".into() }).unwrap();
/// ```
///
/// # Errors
/// As [`format_success`]; nothing is added then.
pub fn add_success(
    messages: &Messages,
    template: &str,
    form: &impl Serialize,
) -> Result<String, SuccessMessageError> {
    let text = format_success(template, form)?;
    messages.success(&text);
    Ok(text)
}
