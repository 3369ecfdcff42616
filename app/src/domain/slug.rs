//! Slugs: the short lowercase names in URLs, for campaigns and for referral
//! links (`/c/spring-promo`, `/r/jane-k7m2x9`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::codes::ALPHABET;

/// The most characters in a slug.
pub const MAX_SLUG_LEN: usize = 64;

/// The most characters [`Slug::from_name`] keeps, leaving room for a suffix
/// that makes a taken slug unique.
pub const MAX_NAME_SLUG_LEN: usize = 48;

/// The most characters of a name's first word in a [`link_slug`].
pub const MAX_LINK_WORD_LEN: usize = 12;

/// How many random symbols end a [`link_slug`].
pub const LINK_RANDOM_LEN: usize = 6;

/// The slug used when a campaign name has no ASCII letters or digits.
const FALLBACK_NAME_SLUG: &str = "campaign";

/// The first part of a link slug when a name has no ASCII letters or digits.
const FALLBACK_LINK_WORD: &str = "ref";

/// Why a slug was rejected. The messages are shown to end users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// Nothing but whitespace was entered.
    #[error("Enter a short link name, like spring-promo.")]
    Empty,
    /// More than [`MAX_SLUG_LEN`] characters.
    #[error("That link name is too long: use at most {max} characters.", max = MAX_SLUG_LEN)]
    TooLong,
    /// A character other than a lowercase ASCII letter, digit or hyphen.
    #[error("Link names use letters, digits and hyphens only; '{0}' is not allowed.")]
    InvalidCharacter(char),
    /// A hyphen at the start or end, or two in a row.
    #[error("Link names can't start or end with a hyphen or have two hyphens in a row.")]
    MisplacedHyphen,
}

/// A URL-safe name: 1..=[`MAX_SLUG_LEN`] characters of `a-z`, `0-9` and `-`,
/// with no hyphen at either end and no two hyphens in a row.
///
/// Deserializing runs the same checks as [`Slug::parse`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct Slug(String);

impl Slug {
    /// Checks a slug a person typed, after trimming and lowercasing it.
    ///
    /// # Errors
    ///
    /// A [`SlugError`] saying what to fix.
    pub fn parse(input: &str) -> Result<Slug, SlugError> {
        let slug = input.trim().to_lowercase();
        if slug.is_empty() {
            return Err(SlugError::Empty);
        }
        if let Some(bad) = slug
            .chars()
            .find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        {
            return Err(SlugError::InvalidCharacter(bad));
        }
        if slug.len() > MAX_SLUG_LEN {
            return Err(SlugError::TooLong);
        }
        if slug.starts_with('-') || slug.ends_with('-') || slug.contains("--") {
            return Err(SlugError::MisplacedHyphen);
        }
        Ok(Slug(slug))
    }

    /// Makes a slug from a display name: ASCII letters and digits lowercased,
    /// every run of anything else turned into one hyphen, hyphens trimmed from
    /// the ends, cut to [`MAX_NAME_SLUG_LEN`]; `campaign` if nothing is left.
    ///
    /// Non-ASCII letters count as "anything else": `Café 2024` becomes
    /// `caf-2024`.
    pub fn from_name(name: &str) -> Slug {
        let slug = slugify(name, MAX_NAME_SLUG_LEN);
        if slug.is_empty() {
            Slug(FALLBACK_NAME_SLUG.to_owned())
        } else {
            Slug(slug)
        }
    }

    /// The slug text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `text` is written the way referral links write a link slug (lowercase letters,
/// digits and hyphens), so a `ref` value may be looked up as a slug before it is read as a code.
pub fn is_slug_shaped(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Makes a referral link slug: the first word of `name` that has an ASCII
/// letter or digit, slugified and cut to [`MAX_LINK_WORD_LEN`] (`ref` if there
/// is none), a hyphen, then [`LINK_RANDOM_LEN`] random symbols of the
/// lowercase Crockford alphabet: `jane-k7m2x9`.
///
/// `random_index(n)` must return a uniformly random number in `0..n`.
pub fn link_slug(name: &str, random_index: &mut impl FnMut(usize) -> usize) -> Slug {
    let mut slug = name
        .split_whitespace()
        .map(|word| slugify(word, MAX_LINK_WORD_LEN))
        .find(|word| !word.is_empty())
        .unwrap_or_else(|| FALLBACK_LINK_WORD.to_owned());
    slug.push('-');
    for _ in 0..LINK_RANDOM_LEN {
        // Same alphabet as referral codes, lowercased for URLs: nothing in a
        // link can be misread as I, L, O or U. The modulo guards against a
        // random source that breaks its contract.
        let symbol = ALPHABET[random_index(ALPHABET.len()) % ALPHABET.len()];
        slug.push(char::from(symbol.to_ascii_lowercase()));
    }
    Slug(slug)
}

/// Lowercase ASCII letters and digits of `text`, with each run of other
/// characters between them turned into one hyphen, at most `max_len` long and
/// never starting or ending with a hyphen. Empty if `text` has no ASCII letter
/// or digit.
fn slugify(text: &str, max_len: usize) -> String {
    let mut slug = String::new();
    let mut gap = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !slug.is_empty() {
                slug.push('-');
            }
            gap = false;
            slug.push(c.to_ascii_lowercase());
            if slug.len() >= max_len {
                break;
            }
        } else {
            gap = true;
        }
    }
    // Only ASCII was pushed, so cutting at a byte index is safe; a cut can
    // land just after a hyphen, which must not end the slug.
    slug.truncate(max_len);
    let trimmed_len = slug.trim_end_matches('-').len();
    slug.truncate(trimmed_len);
    slug
}

impl TryFrom<String> for Slug {
    type Error = SlugError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Slug::parse(&value)
    }
}

impl FromStr for Slug {
    type Err = SlugError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Slug::parse(s)
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, StrDeserializer};

    fn replay(values: Vec<usize>) -> impl FnMut(usize) -> usize {
        let mut next = 0;
        move |n| {
            let value = values[next % values.len()] % n;
            next += 1;
            value
        }
    }

    #[test]
    fn parsing_trims_and_lowercases() {
        assert_eq!(
            Slug::parse("  Spring-Promo ").unwrap().as_str(),
            "spring-promo"
        );
        assert_eq!(Slug::parse("a").unwrap().as_str(), "a");
        assert_eq!(Slug::parse("2024").unwrap().to_string(), "2024");
    }

    #[test]
    fn parsing_rejects_bad_slugs_with_a_helpful_message() {
        assert_eq!(Slug::parse(" "), Err(SlugError::Empty));
        assert_eq!(
            Slug::parse("spring_promo"),
            Err(SlugError::InvalidCharacter('_'))
        );
        assert_eq!(
            Slug::parse("spring promo"),
            Err(SlugError::InvalidCharacter(' '))
        );
        assert_eq!(Slug::parse("café"), Err(SlugError::InvalidCharacter('é')));
        for bad in ["-promo", "promo-", "spring--promo", "-"] {
            assert_eq!(Slug::parse(bad), Err(SlugError::MisplacedHyphen), "{bad}");
        }
        assert!(Slug::parse(&"a".repeat(MAX_SLUG_LEN)).is_ok());
        assert_eq!(
            Slug::parse(&"a".repeat(MAX_SLUG_LEN + 1)),
            Err(SlugError::TooLong)
        );
        assert_eq!(
            SlugError::MisplacedHyphen.to_string(),
            "Link names can't start or end with a hyphen or have two hyphens in a row."
        );
    }

    #[test]
    fn names_become_lowercase_hyphenated_slugs() {
        assert_eq!(
            Slug::from_name("Spring Promo 2024!").as_str(),
            "spring-promo-2024"
        );
        assert_eq!(
            Slug::from_name("  --Hello,   World--  ").as_str(),
            "hello-world"
        );
        assert_eq!(Slug::from_name("Café Crème").as_str(), "caf-cr-me");
    }

    #[test]
    fn names_without_ascii_letters_or_digits_become_campaign() {
        assert_eq!(Slug::from_name("").as_str(), "campaign");
        assert_eq!(Slug::from_name("!!! ???").as_str(), "campaign");
        assert_eq!(Slug::from_name("夏のキャンペーン").as_str(), "campaign");
    }

    #[test]
    fn long_names_are_cut_without_a_trailing_hyphen() {
        let name = format!("{} {}", "a".repeat(47), "b".repeat(10));
        assert_eq!(Slug::from_name(&name).as_str(), "a".repeat(47));
        assert_eq!(
            Slug::from_name(&"x".repeat(100)).as_str().len(),
            MAX_NAME_SLUG_LEN
        );
    }

    #[test]
    fn link_slugs_are_the_first_word_and_six_lowercase_symbols() {
        // Indices 19, 7, 20, 2, 29, 9 are K, 7, M, 2, X, 9.
        let slug = link_slug("Jane Doe", &mut replay(vec![19, 7, 20, 2, 29, 9]));
        assert_eq!(slug.as_str(), "jane-k7m2x9");
    }

    #[test]
    fn link_slugs_fall_back_to_ref_and_cut_long_words() {
        let mut zeros = replay(vec![0]);
        assert_eq!(link_slug("", &mut zeros).as_str(), "ref-000000");
        assert_eq!(link_slug("李 🙂", &mut zeros).as_str(), "ref-000000");
        assert_eq!(link_slug("— Jane", &mut zeros).as_str(), "jane-000000");
        assert_eq!(
            link_slug("Bartholomew-Maximilian Jones", &mut zeros).as_str(),
            "bartholomew-000000"
        );
        assert_eq!(
            link_slug("Maximilianus", &mut zeros).as_str(),
            "maximilianus-000000"
        );
    }

    #[test]
    fn deserializing_checks_the_slug() {
        let ok: StrDeserializer<'_, DeError> = "spring-promo".into_deserializer();
        assert_eq!(Slug::deserialize(ok).unwrap().as_str(), "spring-promo");
        let bad: StrDeserializer<'_, DeError> = "spring--promo".into_deserializer();
        assert!(Slug::deserialize(bad).is_err());
    }

    proptest! {
        #[test]
        fn every_name_slug_is_a_valid_slug(name in "\\PC{0,100}") {
            let slug = Slug::from_name(&name);
            prop_assert!(slug.as_str().len() <= MAX_NAME_SLUG_LEN);
            prop_assert_eq!(Slug::parse(slug.as_str()), Ok(slug));
        }

        #[test]
        fn every_link_slug_is_a_valid_slug_with_a_random_tail(
            name in "\\PC{0,40}",
            seeds in proptest::collection::vec(any::<usize>(), 1..8),
        ) {
            let slug = link_slug(&name, &mut replay(seeds));
            prop_assert_eq!(Slug::parse(slug.as_str()), Ok(slug.clone()));
            let (word, tail) = slug.as_str().rsplit_once('-').unwrap();
            prop_assert!(!word.is_empty() && word.len() <= MAX_LINK_WORD_LEN);
            prop_assert_eq!(tail.len(), LINK_RANDOM_LEN);
            prop_assert!(tail.bytes().all(|b| ALPHABET.contains(&b.to_ascii_uppercase())));
        }

        #[test]
        fn parsing_is_idempotent(input in "[ a-zA-Z0-9-]{0,70}") {
            if let Ok(slug) = Slug::parse(&input) {
                prop_assert_eq!(Slug::parse(slug.as_str()), Ok(slug.clone()));
            }
        }
    }
}
