//! What a search box's text can mean, and the keys that make a prefix search one index range.
//!
//! One box finds a lead by the friend's email, phone, name, an order id or a referral code. The
//! text is read here into the shapes it could have (pure, no data access); the leads service
//! tries them against the database in a fixed order (see `services::leads::search`).

use crate::domain::{codes, email::Email, phone::Phone};

/// The longest search text taken (longer text is cut at a character boundary).
pub const MAX_TEXT: usize = 200;

/// The search key of a name: trimmed, runs of white space as one space, lower case in every
/// script. Stored in `leads.name_key` (the migration that added it keeps a frozen copy).
pub fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The smallest string above every string that starts with `prefix`, in code point (and so
/// UTF-8 byte) order: "jo" gives "jp". `None` when there is none (empty, or only `char::MAX`),
/// and then the prefix range has no upper end.
pub fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32);
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The shapes a search text can have. Every field is what the text would be if it were that
/// kind of thing; the service tries them in turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchText {
    /// The text as typed, trimmed (an order id is matched exactly as typed).
    pub exact: String,
    /// A complete email address, normalized as leads are stored.
    pub email: Option<String>,
    /// A phone number's key (`tel:+4420…`), when the text is shaped like one.
    pub phone: Option<String>,
    /// A referral code's lookup key, when the text could be a code.
    pub code: Option<String>,
    /// The start of a name or an email, folded like `name_key`.
    pub prefix: String,
}

impl SearchText {
    /// Reads a search box; `None` for blank text.
    pub fn parse(text: &str) -> Option<SearchText> {
        let mut exact = text.trim();
        if exact.is_empty() {
            return None;
        }
        if let Some((cut, _)) = exact.char_indices().nth(MAX_TEXT) {
            exact = &exact[..cut];
        }
        let email = exact
            .contains('@')
            .then(|| Email::parse(exact).ok())
            .flatten()
            .map(|e| e.normalized());
        // Only text made of a number's characters: "Anna 2" is a name, not a phone.
        let phone = Phone::parse(exact).ok().map(|p| p.key().to_owned());
        let code = codes::normalize(exact).ok();
        Some(SearchText {
            exact: exact.to_owned(),
            email,
            phone,
            code,
            prefix: name_key(exact),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_to_one_key() {
        assert_eq!(name_key("  Élodie   DUPONT "), "élodie dupont");
        assert_eq!(name_key("ANN\tlee"), "ann lee");
        assert_eq!(name_key("   "), "");
    }

    #[test]
    fn the_successor_bounds_every_string_with_the_prefix() {
        assert_eq!(prefix_successor("jo").as_deref(), Some("jp"));
        assert_eq!(prefix_successor("a@b").as_deref(), Some("a@c"));
        // Past the surrogate gap.
        assert_eq!(prefix_successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        let top = format!("x{}", char::MAX);
        assert_eq!(prefix_successor(&top).as_deref(), Some("y"));
        assert_eq!(prefix_successor(&char::MAX.to_string()), None);
        assert_eq!(prefix_successor(""), None);
        let upper = prefix_successor("jo").unwrap();
        for name in ["jo", "joanna", "jo-anne", "jo\u{10FFFF}"] {
            assert!(name >= "jo" && name < upper.as_str(), "{name}");
        }
        for name in ["j", "jp", "jn\u{10FFFF}", "k"] {
            assert!(!(name >= "jo" && name < upper.as_str()), "{name}");
        }
    }

    #[test]
    fn a_search_text_is_read_into_what_it_could_be() {
        assert_eq!(SearchText::parse("   "), None);
        let email = SearchText::parse(" Ann.Lee+promo@Example.com ").unwrap();
        assert_eq!(email.email.as_deref(), Some("ann.lee@example.com"));
        assert_eq!(email.prefix, "ann.lee+promo@example.com");
        assert_eq!(email.phone, None);

        let partial = SearchText::parse("ann@").unwrap();
        assert_eq!(partial.email, None, "not a whole address");
        assert_eq!(partial.prefix, "ann@");

        let phone = SearchText::parse("+44 20 7946-0958").unwrap();
        assert_eq!(phone.phone.as_deref(), Some("tel:+442079460958"));

        let name = SearchText::parse("Anna 2").unwrap();
        assert_eq!(name.phone, None);
        assert_eq!(name.prefix, "anna 2");

        let order = SearchText::parse(" ORD-1001 ").unwrap();
        assert_eq!(order.exact, "ORD-1001");

        let long = "é".repeat(MAX_TEXT + 10);
        assert_eq!(
            SearchText::parse(&long).unwrap().exact.chars().count(),
            MAX_TEXT
        );
    }
}
