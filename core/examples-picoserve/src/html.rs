//! The page, formatted straight into the socket: [`Page`] is a picoserve [`Content`] whose
//! length is measured by formatting it once into a counter, then formatted again into the
//! connection's write buffer. No string is built anywhere.

use core::fmt::{self, Write as _};

use herald_core::{Level, ListView, TagTable};
use picoserve::io::Write;
use picoserve::response::Content;

/// Writes its [`fmt::Display`] value HTML-escaped (`&`, `<`, `>`, `"`, `'`).
///
/// ```
/// use herald_picoserve_example::html::Escape;
///
/// let out = format!("{}", Escape("<b>\"Tom\" & 'Jerry'</b>"));
/// assert_eq!(out, "&lt;b&gt;&quot;Tom&quot; &amp; &#x27;Jerry&#x27;&lt;/b&gt;");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Escape<T>(pub T);

/// An [`fmt::Write`] that escapes what it forwards.
struct Escaper<'a, 'f>(&'a mut fmt::Formatter<'f>);

impl fmt::Write for Escaper<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut rest = s;
        while let Some(i) = rest.find(['&', '<', '>', '"', '\'']) {
            let (plain, tail) = rest.split_at(i);
            self.0.write_str(plain)?;
            let mut chars = tail.chars();
            self.0.write_str(match chars.next() {
                Some('&') => "&amp;",
                Some('<') => "&lt;",
                Some('>') => "&gt;",
                Some('"') => "&quot;",
                _ => "&#x27;",
            })?;
            rest = chars.as_str();
        }
        self.0.write_str(rest)
    }
}

impl<T: fmt::Display> fmt::Display for Escape<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(Escaper(f), "{}", self.0)
    }
}

/// A level as the form shows it: its tag, or its number when it has none.
struct LevelName<'t>(Level, TagTable<'t>);

impl fmt::Display for LevelName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1.level_tag(self.0) {
            "" => write!(f, "{}", self.0),
            tag => f.write_str(tag),
        }
    }
}

/// The index page: the messages (each in an `<li>` whose class is its tags, the text
/// HTML-escaped) and the add-message form.
///
/// Every text is escaped, even that of a message marked safe: this app never marks one
/// (the form cannot), and a messages cookie is request data, so a flag found in it is
/// not trusted to turn text into markup.
#[derive(Clone, Copy, Debug)]
pub struct Page<'a> {
    /// The messages to show, in order.
    pub messages: ListView<'a>,
    /// The tag table the classes come from.
    pub tags: TagTable<'a>,
    /// The minimum level, shown as a hint.
    pub min_level: Level,
}

const HEAD: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>herald on picoserve</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
ul.messages { list-style: none; padding: 0; }
ul.messages li { padding: .6rem .9rem; margin: .4rem 0; border-left: .35rem solid #888; border-radius: .25rem; background: #f3f3f3; }
ul.messages li.debug { border-color: #888; background: #f3f3f3; }
ul.messages li.info { border-color: #2b6cb0; background: #ebf4ff; }
ul.messages li.success { border-color: #2f855a; background: #e6fffa; }
ul.messages li.warning { border-color: #b7791f; background: #fffbea; }
ul.messages li.error { border-color: #c53030; background: #fff5f5; }
form { display: grid; gap: .6rem; max-width: 28rem; }
p.none, small { color: #666; }
</style>
</head>
<body>
<h1>herald on picoserve</h1>
<p>One-time flash messages from <code>herald-core</code> (<code>no_std</code>, no heap, signed cookie) in a <code>picoserve</code> server.</p>
"#;

const FORM: &str = r#"<form method="post" action="/add">
<label>Level
<select name="level">
<option value="debug">debug</option>
<option value="info">info</option>
<option value="success" selected>success</option>
<option value="warning">warning</option>
<option value="error">error</option>
</select>
</label>
<label>Message <input name="message" required maxlength="1000" autofocus></label>
<label>Extra tags <input name="extra_tags"></label>
<button type="submit">Add message</button>
</form>
"#;

impl fmt::Display for Page<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(HEAD)?;
        if self.messages.is_empty() {
            f.write_str("<p class=\"none\">No messages.</p>\n")?;
        } else {
            f.write_str("<ul class=\"messages\">\n")?;
            for message in self.messages.iter() {
                write!(
                    f,
                    "<li class=\"{}\" data-level=\"{}\">",
                    Escape(message.tags(&self.tags)),
                    message.level
                )?;
                writeln!(f, "{}</li>", Escape(message.message))?;
            }
            f.write_str("</ul>\n")?;
        }
        f.write_str(FORM)?;
        write!(
            f,
            "<p><small>Messages below <strong>{}</strong> are ignored. \
             Each message is shown once.</small></p>\n</body>\n</html>\n",
            LevelName(self.min_level, self.tags)
        )
    }
}

/// Counts the bytes formatted into it.
struct Counter(usize);

impl fmt::Write for Counter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

impl Content for Page<'_> {
    fn content_type(&self) -> &'static str {
        "text/html; charset=utf-8"
    }

    fn content_length(&self) -> usize {
        let mut counter = Counter(0);
        match write!(counter, "{self}") {
            Ok(()) => counter.0,
            Err(fmt::Error) => 0,
        }
    }

    async fn write_content<W: Write>(self, mut writer: W) -> Result<(), W::Error> {
        writer.write_fmt(format_args!("{self}")).await
    }
}
