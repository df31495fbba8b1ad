//! Message levels and their tags (RULES §1, R-1.1 – R-1.5).

use core::fmt;

use serde::{Deserialize, Serialize};

/// A message level: any integer, with Django's five built-in levels as constants (R-1.1).
///
/// Levels order messages by importance; an inbox ignores messages whose level is strictly
/// below its minimum level (R-2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Level(pub i32);

impl Level {
    /// `DEBUG` = 10: development-only detail; below the default minimum level.
    pub const DEBUG: Level = Level(10);
    /// `INFO` = 20: informational; the default minimum level.
    pub const INFO: Level = Level(20);
    /// `SUCCESS` = 25: an action succeeded.
    pub const SUCCESS: Level = Level(25);
    /// `WARNING` = 30: something went wrong but was handled.
    pub const WARNING: Level = Level(30);
    /// `ERROR` = 40: an action failed.
    pub const ERROR: Level = Level(40);

    /// The level's integer value.
    pub const fn value(self) -> i32 {
        self.0
    }
}

impl From<i32> for Level {
    fn from(value: i32) -> Self {
        Level(value)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Django's default tag table (R-1.2): the five built-in levels and their tags.
pub const DEFAULT_TAGS: [(Level, &str); 5] = [
    (Level::DEBUG, "debug"),
    (Level::INFO, "info"),
    (Level::SUCCESS, "success"),
    (Level::WARNING, "warning"),
    (Level::ERROR, "error"),
];

/// The tag table in force: Django's defaults with caller overrides laid over them (R-1.3).
///
/// An override replaces the default tag of a level, blanks it (map it to `""`), or gives a
/// tag to a level that has none. The table borrows the overrides, so it is `Copy`, costs
/// nothing to build and allocates nothing. When a level appears several times in the
/// overrides, the last entry wins (as in a Python dict literal).
///
/// ```
/// use herald_core::level::{Level, TagTable};
/// let overrides = [(Level::INFO, "note"), (Level(12), "custom"), (Level::ERROR, "")];
/// let tags = TagTable::new(&overrides);
/// assert_eq!(tags.level_tag(Level::INFO), "note");
/// assert_eq!(tags.level_tag(Level(12)), "custom");
/// assert_eq!(tags.level_tag(Level::ERROR), "");
/// assert_eq!(tags.level_tag(Level::WARNING), "warning");
/// assert_eq!(tags.level_tag(Level(99)), "");
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TagTable<'a> {
    overrides: &'a [(Level, &'a str)],
}

impl<'a> TagTable<'a> {
    /// The default table (R-1.2) with `overrides` laid over it (R-1.3).
    pub const fn new(overrides: &'a [(Level, &'a str)]) -> Self {
        TagTable { overrides }
    }

    /// Django's default table, without overrides.
    pub const fn defaults() -> TagTable<'static> {
        TagTable { overrides: &[] }
    }

    /// The overrides this table lays over the defaults.
    pub const fn overrides(&self) -> &'a [(Level, &'a str)] {
        self.overrides
    }

    /// The tag of `level` (R-1.4): the override if any, else the default, else `""`.
    pub fn level_tag(&self, level: Level) -> &'a str {
        if let Some((_, tag)) = self.overrides.iter().rev().find(|(l, _)| *l == level) {
            return tag;
        }
        DEFAULT_TAGS
            .iter()
            .find(|(l, _)| *l == level)
            .map_or("", |(_, tag)| tag)
    }

    /// The full tag string of a message (R-1.5): `extra_tags` first, then the level tag,
    /// empty parts dropped, joined by one space. `extra_tags` is kept exactly as written.
    ///
    /// The result is a [`Tags`] value that implements [`fmt::Display`] and compares with
    /// `&str`, so it can be written into any buffer without allocating.
    pub fn tags<'m>(&self, level: Level, extra_tags: Option<&'m str>) -> Tags<'m>
    where
        'a: 'm,
    {
        Tags {
            extra: extra_tags.unwrap_or(""),
            level: self.level_tag(level),
        }
    }
}

/// The tag string of a message (R-1.5), rendered lazily: extra tags, then the level tag,
/// joined by one space, empty parts dropped.
#[derive(Clone, Copy, Debug)]
pub struct Tags<'a> {
    extra: &'a str,
    level: &'a str,
}

impl<'a> Tags<'a> {
    /// The two parts in output order, empty parts dropped.
    pub fn parts(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        [self.extra, self.level]
            .into_iter()
            .filter(|p| !p.is_empty())
    }

    /// The rendered length in bytes.
    pub fn len(&self) -> usize {
        let sep = usize::from(!self.extra.is_empty() && !self.level.is_empty());
        self.extra.len() + self.level.len() + sep
    }

    /// Whether the rendered string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Tags<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, part) in self.parts().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(part)?;
        }
        Ok(())
    }
}

impl PartialEq<str> for Tags<'_> {
    fn eq(&self, other: &str) -> bool {
        let mut rest = other;
        for (i, part) in self.parts().enumerate() {
            if i > 0 {
                match rest.strip_prefix(' ') {
                    Some(r) => rest = r,
                    None => return false,
                }
            }
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }
}

impl PartialEq<&str> for Tags<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self == **other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_1_1_and_r_1_2_builtin_levels_and_default_tags() {
        let t = TagTable::defaults();
        assert_eq!(Level::DEBUG.value(), 10);
        assert_eq!(Level::INFO.value(), 20);
        assert_eq!(Level::SUCCESS.value(), 25);
        assert_eq!(Level::WARNING.value(), 30);
        assert_eq!(Level::ERROR.value(), 40);
        assert_eq!(t.level_tag(Level::DEBUG), "debug");
        assert_eq!(t.level_tag(Level::INFO), "info");
        assert_eq!(t.level_tag(Level::SUCCESS), "success");
        assert_eq!(t.level_tag(Level::WARNING), "warning");
        assert_eq!(t.level_tag(Level::ERROR), "error");
        for other in [0, -5, 29, 41, 50, i32::MIN, i32::MAX] {
            assert_eq!(
                t.level_tag(Level(other)),
                "",
                "R-1.4: level {other} has no tag"
            );
        }
    }

    #[test]
    fn r_1_3_overrides_replace_blank_and_add() {
        let o = [
            (Level::INFO, "custom"),
            (Level::DEBUG, ""),
            (Level(12), "bad"),
        ];
        let t = TagTable::new(&o);
        assert_eq!(t.level_tag(Level::INFO), "custom");
        assert_eq!(t.level_tag(Level::DEBUG), "");
        assert_eq!(t.level_tag(Level(12)), "bad");
        assert_eq!(t.level_tag(Level::SUCCESS), "success");
    }

    #[test]
    fn r_1_3_last_override_wins() {
        let o = [(Level::INFO, "first"), (Level::INFO, "second")];
        assert_eq!(TagTable::new(&o).level_tag(Level::INFO), "second");
    }

    #[test]
    fn r_1_5_tags_extra_first_and_empty_parts_dropped() {
        let t = TagTable::defaults();
        assert_eq!(t.tags(Level::INFO, Some("a b")), "a b info");
        assert_eq!(t.tags(Level::INFO, Some("")), "info");
        assert_eq!(t.tags(Level::INFO, None), "info");
        assert_eq!(t.tags(Level(3), Some("x")), "x");
        assert_eq!(t.tags(Level(3), None), "");
        assert!(t.tags(Level(3), Some("")).is_empty());
        assert_eq!(t.tags(Level::DEBUG, Some("  a  β  ")), "  a  β   debug");
        assert_eq!(
            t.tags(Level::DEBUG, Some("  a  β  ")).len(),
            "  a  β   debug".len()
        );
        assert!(t.tags(Level::INFO, Some("a")) != "a  info");
        assert!(t.tags(Level::INFO, Some("a")) != "a info ");
    }

    /// Django test `test_tags` (RULES §10 #21): tags at level 0 for the standard messages.
    #[test]
    fn django_test_tags_and_custom_tags() {
        let t = TagTable::defaults();
        let got = [
            t.tags(Level::INFO, Some("")),
            t.tags(Level(29), Some("")),
            t.tags(Level::DEBUG, Some("extra-tag")),
            t.tags(Level::WARNING, Some("")),
            t.tags(Level::ERROR, Some("")),
            t.tags(Level::SUCCESS, Some("")),
            t.tags(Level::INFO, None),
        ];
        let want = [
            "info",
            "",
            "extra-tag debug",
            "warning",
            "error",
            "success",
            "info",
        ];
        for (g, w) in got.iter().zip(want) {
            assert_eq!(*g, w);
        }
        // test_custom_tags (RULES §10 #23).
        let o = [
            (Level::INFO, "info"),
            (Level::DEBUG, ""),
            (Level::WARNING, ""),
            (Level::ERROR, "bad"),
            (Level(29), "custom"),
        ];
        let t = TagTable::new(&o);
        let got = [
            t.tags(Level::INFO, Some("")),
            t.tags(Level(29), Some("")),
            t.tags(Level::DEBUG, Some("extra-tag")),
            t.tags(Level::WARNING, Some("")),
            t.tags(Level::ERROR, Some("")),
            t.tags(Level::SUCCESS, Some("")),
        ];
        let want = ["info", "custom", "extra-tag", "", "bad", "success"];
        for (g, w) in got.iter().zip(want) {
            assert_eq!(*g, w);
        }
    }
}
