//! The template context: what Django's `django.contrib.messages.context_processors.messages`
//! gives every template, for Rust template engines.
//!
//! [`Messages::context`](crate::Messages::context) (or [`Context::new`] on a
//! [`Snapshot`]) returns a [`Context`] with
//!
//! * `messages`: the request's messages, oldest first, each a [`ContextMessage`] with
//!   `level`, `level_tag`, `tags`, `message`, `extra_tags` and `is_safe`, which **displays
//!   as HTML the way Django's templates show it**: the text escaped as Django's `escape`
//!   does (`&`, `<`, `>`, `"`, `'` become `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#x27;`),
//!   or unescaped exactly when it is safe HTML (`is_safe`, Django's `mark_safe`);
//! * `DEFAULT_MESSAGE_LEVELS`: `DEBUG`, `INFO`, `SUCCESS`, `WARNING`, `ERROR` → 10, 20,
//!   25, 30, 40 ([`DefaultLevels`]). Like Django's (`constants.DEFAULT_LEVELS`), it holds
//!   these five and nothing else: levels and tags configured with
//!   [`ConfigBuilder::tag`](crate::ConfigBuilder::tag) change every message's
//!   `level_tag` and `tags`, but are not added to it (Django's `MESSAGE_TAGS` setting does
//!   not add to it either); compare a custom level with its number
//!   (`message.level == 35`) or test its tag.
//!
//! **Taking the context marks the messages used** (they are cleared when this response is
//! sent, unless [`Messages::keep`](crate::Messages::keep) is called). In Django the
//! marking happens when the template iterates `messages`; here the context is an owned
//! read taken before rendering, so a page that takes the context and renders nothing of
//! it still consumes the messages. Take it only for pages that show them.
//!
//! The same names serialize (serde) as JSON for APIs: `{"messages": [{"level",
//! "level_tag", "tags", "message", "extra_tags", "is_safe"}, ...], "DEFAULT_MESSAGE_LEVELS":
//! {"DEBUG": 10, ...}}`, the vocabulary of [`OwnedMessage`] and
//! [`MessageView`](crate::MessageView).
//!
//! ## Engines
//! The bindings are for minijinja 2, askama 0.14 and tera 1 (use the same major in your
//! application: askama's `HtmlSafe` of another major is another trait).
//!
//! * **minijinja** (feature `minijinja`): `Context::minijinja` gives the value to render
//!   with, and `minijinja_formatter` (install it with `Environment::set_formatter`) makes
//!   a message display as safe HTML exactly when `is_safe`. Django's templates work as
//!   they are.
//! * **askama** (feature `askama`): a [`ContextMessage`] is `HtmlSafe` and displays its
//!   own, Django-escaped HTML; put [`Context::messages`] and
//!   [`Context::DEFAULT_MESSAGE_LEVELS`] in the template struct under those names. Askama's
//!   `if` needs a `bool`, so `{% if messages %}` is written `{% if !messages.is_empty() %}`
//!   and `{% if message.tags %}` is `{% if !message.tags.is_empty() %}`.
//! * **tera** (feature `tera`): `Context::tera` gives a `tera::Context`. Tera cannot
//!   mark a value as safe nor display an object, so each message also carries `html`
//!   (the same HTML a message displays as), and `{{ message }}` is written
//!   `{{ message.html | safe }}`.
//!
//! ```
//! use herald_flash::Messages;
//! use herald_flash::context::Context;
//!
//! let messages = Messages::detached(); // in a handler: the extractor
//! let context: Context = messages.context(); // marks the messages used
//! assert!(context.messages.is_empty());
//! assert_eq!(context.DEFAULT_MESSAGE_LEVELS.ERROR, 40);
//! ```

use std::fmt;

use serde::Serialize;

use crate::messages::Snapshot;
use crate::view::OwnedMessage;

/// Django's `DEFAULT_MESSAGE_LEVELS` (`django.contrib.messages.constants.DEFAULT_LEVELS`):
/// the five built-in levels by name. Custom levels are not in it, as in Django.
///
/// ```
/// let levels = herald_flash::context::DefaultLevels::DJANGO;
/// assert_eq!((levels.DEBUG, levels.SUCCESS, levels.ERROR), (10, 25, 40));
/// ```
#[allow(non_snake_case)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DefaultLevels {
    /// 10.
    pub DEBUG: i32,
    /// 20.
    pub INFO: i32,
    /// 25.
    pub SUCCESS: i32,
    /// 30.
    pub WARNING: i32,
    /// 40.
    pub ERROR: i32,
}

impl DefaultLevels {
    /// Django's values: 10, 20, 25, 30, 40.
    ///
    /// ```
    /// use herald_flash::{Level, context::DefaultLevels};
    /// assert_eq!(DefaultLevels::DJANGO.WARNING, Level::WARNING.0);
    /// ```
    pub const DJANGO: DefaultLevels = DefaultLevels {
        DEBUG: 10,
        INFO: 20,
        SUCCESS: 25,
        WARNING: 30,
        ERROR: 40,
    };
}

impl Default for DefaultLevels {
    fn default() -> Self {
        DefaultLevels::DJANGO
    }
}

/// One message as a template sees it: the fields Django's `Message` has, and a
/// [`Display`](fmt::Display) that writes its HTML (escaped as Django escapes, unless
/// `is_safe`).
///
/// Serializes with the names of [`OwnedMessage`]: `{"level", "level_tag", "tags",
/// "message", "extra_tags", "is_safe"}`.
///
/// ```
/// use herald_flash::{Level, OwnedMessage, TagTable};
/// use herald_flash::context::ContextMessage;
///
/// let table = TagTable::defaults();
/// let m = ContextMessage::from(OwnedMessage::new(
///     herald_flash::Message::new(Level::ERROR, "<b>No</b> & 'never'"),
///     &table,
/// ));
/// assert_eq!(m.to_string(), "&lt;b&gt;No&lt;/b&gt; &amp; &#x27;never&#x27;");
/// assert_eq!(m.tags, "error");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ContextMessage {
    /// The level's number (Django's `message.level`).
    pub level: i32,
    /// The level's tag, `""` when it has none.
    pub level_tag: String,
    /// Extra tags, then the level tag (Django's `message.tags`).
    pub tags: String,
    /// The text, as given (not escaped).
    pub message: String,
    /// The extra tags as given.
    pub extra_tags: Option<String>,
    /// Whether the text is trusted HTML.
    pub is_safe: bool,
}

impl ContextMessage {
    /// The HTML the message displays as: the text itself when it is safe, else the text
    /// escaped as Django's `django.utils.html.escape` does.
    ///
    /// ```
    /// # use herald_flash::{Level, Message, OwnedMessage, TagTable, context::ContextMessage};
    /// let safe = Message::new(Level::INFO, "<i>hi</i>").with_safe(true);
    /// let m = ContextMessage::from(OwnedMessage::new(safe, &TagTable::defaults()));
    /// assert_eq!(m.html(), "<i>hi</i>");
    /// ```
    pub fn html(&self) -> String {
        self.to_string()
    }
}

impl From<OwnedMessage> for ContextMessage {
    fn from(m: OwnedMessage) -> Self {
        ContextMessage {
            level: m.level.0,
            level_tag: m.level_tag,
            tags: m.tags,
            message: m.message,
            extra_tags: m.extra_tags,
            is_safe: m.is_safe,
        }
    }
}

/// Writes `text` escaped as Django's `escape` (Python's `html.escape`) does.
fn write_escaped(f: &mut impl fmt::Write, text: &str) -> fmt::Result {
    let mut rest = text;
    while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
        f.write_str(&rest[..i])?;
        f.write_str(match rest.as_bytes()[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#x27;",
        })?;
        rest = &rest[i + 1..];
    }
    f.write_str(rest)
}

impl fmt::Display for ContextMessage {
    /// The message's HTML: see [`ContextMessage::html`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_safe {
            f.write_str(&self.message)
        } else {
            write_escaped(f, &self.message)
        }
    }
}

/// The template context of one response: `messages` and `DEFAULT_MESSAGE_LEVELS`, as
/// Django's messages context processor gives them. See the [module docs](self).
///
/// ```
/// use herald_flash::context::Context;
/// let context = Context::new(&herald_flash::Messages::detached().read());
/// let json = serde_json::to_value(&context).unwrap();
/// assert_eq!(json["DEFAULT_MESSAGE_LEVELS"]["INFO"], 20);
/// assert_eq!(json["messages"], serde_json::json!([]));
/// ```
#[allow(non_snake_case)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Context {
    /// The messages, oldest first.
    pub messages: Vec<ContextMessage>,
    /// Django's five built-in levels by name (no custom levels, as in Django).
    pub DEFAULT_MESSAGE_LEVELS: DefaultLevels,
}

impl Context {
    /// The context for the messages `snapshot` read (the read marked them used).
    ///
    /// ```
    /// # fn handler(messages: herald_flash::Messages) {
    /// let context = herald_flash::context::Context::new(&messages.read());
    /// # }
    /// ```
    pub fn new(snapshot: &Snapshot) -> Self {
        Context {
            messages: snapshot
                .iter()
                .map(|m| ContextMessage::from(m.to_owned()))
                .collect(),
            DEFAULT_MESSAGE_LEVELS: DefaultLevels::DJANGO,
        }
    }

    /// The context as a minijinja value (a map with `messages` and
    /// `DEFAULT_MESSAGE_LEVELS`), each message an object with the six fields that renders
    /// as its HTML when the environment uses [`minijinja_formatter`]. Merge it into a
    /// larger context with `minijinja::context! { title => "..", ..value }`.
    ///
    /// ```
    /// use minijinja::Environment;
    /// let mut env = Environment::new();
    /// env.set_formatter(herald_flash::context::minijinja_formatter);
    /// env.add_template("page.html", "{% for m in messages %}{{ m }}{% endfor %}").unwrap();
    /// let context = herald_flash::Messages::detached().context();
    /// let html = env.get_template("page.html").unwrap().render(context.minijinja()).unwrap();
    /// assert_eq!(html, "");
    /// ```
    #[cfg(feature = "minijinja")]
    #[cfg_attr(docsrs, doc(cfg(feature = "minijinja")))]
    pub fn minijinja(&self) -> minijinja::Value {
        use minijinja::Value;
        let messages: Vec<Value> = self
            .messages
            .iter()
            .map(|m| Value::from_object(m.clone()))
            .collect();
        minijinja::context! {
            messages => messages,
            DEFAULT_MESSAGE_LEVELS => Value::from_serialize(self.DEFAULT_MESSAGE_LEVELS),
        }
    }

    /// The context as a `tera::Context` with `messages` and `DEFAULT_MESSAGE_LEVELS`.
    /// Each message has the six fields and `html`, the HTML it displays as (Django's
    /// escaping, none when `is_safe`): write `{{ message.html | safe }}` where Django's
    /// templates write `{{ message }}` (tera can mark no value as safe). Add your own
    /// variables with `insert`, or merge with `extend`.
    ///
    /// ```
    /// let context = herald_flash::Messages::detached().context();
    /// let html = tera::Tera::one_off(
    ///     "{% for m in messages %}{{ m.html | safe }}{% endfor %}",
    ///     &context.tera(),
    ///     true,
    /// )
    /// .unwrap();
    /// assert_eq!(html, "");
    /// ```
    #[cfg(feature = "tera")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tera")))]
    pub fn tera(&self) -> tera::Context {
        #[derive(Serialize)]
        struct TeraMessage<'a> {
            #[serde(flatten)]
            message: &'a ContextMessage,
            html: String,
        }
        let messages: Vec<TeraMessage<'_>> = self
            .messages
            .iter()
            .map(|message| TeraMessage {
                message,
                html: message.html(),
            })
            .collect();
        let mut context = tera::Context::new();
        context.insert("messages", &messages);
        context.insert("DEFAULT_MESSAGE_LEVELS", &self.DEFAULT_MESSAGE_LEVELS);
        context
    }
}

impl From<&Snapshot> for Context {
    fn from(snapshot: &Snapshot) -> Self {
        Context::new(snapshot)
    }
}

/// Askama: a message displays its own HTML (escaped as Django escapes, unless `is_safe`),
/// so askama's HTML escaper must not escape it again.
#[cfg(feature = "askama")]
#[cfg_attr(docsrs, doc(cfg(feature = "askama")))]
impl askama::filters::HtmlSafe for ContextMessage {}

#[cfg(feature = "minijinja")]
impl minijinja::value::Object for ContextMessage {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }

    fn get_value(self: &std::sync::Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        use minijinja::Value;
        Some(match key.as_str()? {
            "level" => Value::from(self.level),
            "level_tag" => Value::from(self.level_tag.as_str()),
            "tags" => Value::from(self.tags.as_str()),
            "message" => Value::from(self.message.as_str()),
            "extra_tags" => Value::from(self.extra_tags.clone()),
            "is_safe" => Value::from(self.is_safe),
            _ => return None,
        })
    }

    fn is_true(self: &std::sync::Arc<Self>) -> bool {
        true
    }

    /// The text. Without [`minijinja_formatter`], minijinja escapes it with its own rules
    /// (safe messages too).
    fn render(self: &std::sync::Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result
    where
        Self: Sized + 'static,
    {
        f.write_str(&self.message)
    }
}

/// A minijinja formatter that writes a herald message as Django's templates do: escaped
/// as Django escapes, or unescaped exactly when it is safe HTML (with auto-escaping off,
/// its text as it is). Every other value goes to minijinja's own
/// [`escape_formatter`](minijinja::escape_formatter).
///
/// ```
/// use herald_flash::{Level, Message, OwnedMessage, TagTable};
/// use herald_flash::context::{ContextMessage, minijinja_formatter};
/// use minijinja::{Environment, Value, context};
///
/// let mut env = Environment::new();
/// env.set_formatter(minijinja_formatter);
/// env.add_template("m.html", "{{ m }} {{ m.tags }}").unwrap();
/// let safe = Message::new(Level::SUCCESS, "<b>Saved</b>").with_safe(true);
/// let m = Value::from_object(ContextMessage::from(OwnedMessage::new(safe, &TagTable::defaults())));
/// let html = env.get_template("m.html").unwrap().render(context! { m }).unwrap();
/// assert_eq!(html, "<b>Saved</b> success");
/// ```
///
/// # Errors
/// Those of [`escape_formatter`](minijinja::escape_formatter), and a failed write.
#[cfg(feature = "minijinja")]
#[cfg_attr(docsrs, doc(cfg(feature = "minijinja")))]
pub fn minijinja_formatter(
    out: &mut minijinja::Output<'_>,
    state: &minijinja::State<'_, '_>,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    match value.downcast_object_ref::<ContextMessage>() {
        Some(m) => {
            let written = match state.auto_escape() {
                minijinja::AutoEscape::Html => write!(out, "{m}"),
                minijinja::AutoEscape::None => out.write_str(&m.message),
                // JSON and custom escaping: the text, as any other string.
                _ => {
                    let text = minijinja::Value::from(m.message.as_str());
                    return minijinja::escape_formatter(out, state, &text);
                }
            };
            written.map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write")
                    .with_source(e)
            })
        }
        None => minijinja::escape_formatter(out, state, value),
    }
}
