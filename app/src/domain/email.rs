//! Email addresses: a forgiving but safe syntax check, and the normalized
//! form that decides when two addresses belong to the same person.
//!
//! The normalized form is what "one lead per normalized email per campaign"
//! and self-referral detection compare, so `Jane.Doe+promo@GMail.com` cannot
//! refer `janedoe@gmail.com`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The most octets in a whole address (RFC 5321's path limit less the angle
/// brackets).
pub const MAX_EMAIL_LEN: usize = 254;

/// The most octets in the part before the `@`.
pub const MAX_LOCAL_LEN: usize = 64;

/// The most octets in the domain.
pub const MAX_DOMAIN_LEN: usize = 253;

/// The most octets in one dot-separated domain label.
const MAX_LABEL_LEN: usize = 63;

/// Domains whose mailboxes ignore dots in the local part, and the one they
/// all deliver to.
const GMAIL_DOMAINS: [&str; 2] = ["gmail.com", "googlemail.com"];
const GMAIL_CANONICAL: &str = "gmail.com";

/// Why an email address was rejected. The messages are shown to end users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing but whitespace was entered.
    #[error("Enter an email address.")]
    Empty,
    /// The address, or the part before the `@`, is longer than mail allows.
    #[error("That email address is too long.")]
    TooLong,
    /// The address is not of the form `name@domain`.
    #[error("Enter a valid email address, like name@example.com.")]
    Invalid,
    /// The part after the `@` is not a domain name.
    #[error("The part after the @ should be a domain, like example.com.")]
    InvalidDomain,
}

/// A syntactically valid email address: trimmed, as given, with the domain
/// lowercased.
///
/// Deserializing runs the same checks as [`Email::parse`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String")]
pub struct Email(String);

impl Email {
    /// Checks an address as a person typed it.
    ///
    /// Accepts `local@domain` where, after trimming, the whole is at most
    /// [`MAX_EMAIL_LEN`] octets with no whitespace or control characters; the
    /// local part is 1..=[`MAX_LOCAL_LEN`] octets; the domain is at most
    /// [`MAX_DOMAIN_LEN`] octets of at least two dot-separated labels of ASCII
    /// letters, digits and inner hyphens, and its last label is not all
    /// digits (so IP addresses are rejected).
    ///
    /// # Errors
    ///
    /// An [`EmailError`] saying what to fix.
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let address = input.trim();
        if address.is_empty() {
            return Err(EmailError::Empty);
        }
        if address.len() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        if address.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::Invalid);
        }
        let Some((local, domain)) = address.split_once('@') else {
            return Err(EmailError::Invalid);
        };
        if local.is_empty() || domain.contains('@') || !local.chars().all(is_local_char) {
            return Err(EmailError::Invalid);
        }
        if local.len() > MAX_LOCAL_LEN {
            return Err(EmailError::TooLong);
        }
        if !is_valid_domain(domain) {
            return Err(EmailError::InvalidDomain);
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// The address as stored: trimmed, domain lowercased.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`, lowercase.
    pub fn domain(&self) -> &str {
        self.parts().1
    }

    /// The form two addresses of the same mailbox share: lowercase, without a
    /// `+tag`, and for Gmail without dots in the local part and with
    /// `gmail.com` as the domain.
    ///
    /// A local part that is nothing but a tag or dots is kept as it is, since
    /// there is no base address to fold it to.
    pub fn normalized(&self) -> String {
        let (local, domain) = self.parts();
        // Most addresses are ASCII, whose lowercase needs no Unicode tables.
        let mut local = if local.is_ascii() {
            local.to_ascii_lowercase()
        } else {
            local.to_lowercase()
        };
        if let Some((base, _tag)) = local.split_once('+')
            && !base.is_empty()
        {
            local = base.to_owned();
        }
        let domain = if GMAIL_DOMAINS.contains(&domain) {
            let undotted: String = local.chars().filter(|&c| c != '.').collect();
            if !undotted.is_empty() {
                local = undotted;
            }
            GMAIL_CANONICAL
        } else {
            domain
        };
        format!("{local}@{domain}")
    }

    /// The local part and the domain.
    fn parts(&self) -> (&str, &str) {
        self.0
            .split_once('@')
            .expect("an Email always holds exactly one '@'")
    }
}

/// Whether `c` may appear in an unquoted local part.
fn is_local_char(c: char) -> bool {
    // RFC 5322's dot-atom characters plus non-ASCII (RFC 6531). Quoted local
    // parts are left out: nobody uses them, and their commas, angle brackets
    // and backslashes are exactly what makes an address unsafe in a header.
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c) || !c.is_ascii()
}

/// Whether `domain` is a dotted DNS name with a non-numeric top-level label.
fn is_valid_domain(domain: &str) -> bool {
    if domain.len() > MAX_DOMAIN_LEN || !domain.contains('.') {
        return false;
    }
    let labels_ok = domain.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= MAX_LABEL_LEN
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    let top_level_ok = domain
        .rsplit('.')
        .next()
        .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()));
    labels_ok && top_level_ok
}

impl TryFrom<String> for Email {
    type Error = EmailError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl FromStr for Email {
    type Err = EmailError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Email::parse(s)
    }
}

impl fmt::Display for Email {
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

    fn normalized(address: &str) -> String {
        Email::parse(address).unwrap().normalized()
    }

    #[test]
    fn parsing_trims_and_lowercases_only_the_domain() {
        let email = Email::parse("  Jane.Doe+promo@GMail.COM \n").unwrap();
        assert_eq!(email.as_str(), "Jane.Doe+promo@gmail.com");
        assert_eq!(email.domain(), "gmail.com");
        assert_eq!(email.to_string(), email.as_str());
    }

    #[test]
    fn ordinary_addresses_are_accepted() {
        for address in [
            "a@b.co",
            "o'brien@example.ie",
            "first.last@sub.domain.co.uk",
            "user+tag@123.example.com",
            "x@xn--bcher-kva.example",
            "josé@example.com",
            "a@my-host.example",
        ] {
            assert!(Email::parse(address).is_ok(), "{address}");
        }
    }

    #[test]
    fn malformed_addresses_are_rejected_with_a_helpful_message() {
        for address in [
            "plainaddress",
            "@example.com",
            "a@@example.com",
            "a@b@example.com",
            "a b@example.com",
            "a\u{7}@example.com",
            "a,b@example.com",
            "<a>@example.com",
            "\"a\"@example.com",
        ] {
            assert_eq!(Email::parse(address), Err(EmailError::Invalid), "{address}");
        }
        assert_eq!(
            EmailError::Invalid.to_string(),
            "Enter a valid email address, like name@example.com."
        );
    }

    #[test]
    fn bad_domains_are_rejected() {
        for address in [
            "a@",
            "a@localhost",
            "a@-example.com",
            "a@example-.com",
            "a@example..com",
            "a@.example.com",
            "a@example.com.",
            "a@ex_ample.com",
            "a@192.168.0.1",
            "a@example.123",
            "a@münchen.de",
            &format!("a@{}.com", "x".repeat(64)),
        ] {
            assert_eq!(
                Email::parse(address),
                Err(EmailError::InvalidDomain),
                "{address}"
            );
        }
    }

    #[test]
    fn empty_and_overlong_addresses_are_rejected() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
        let local_64 = "x".repeat(64);
        assert!(Email::parse(&format!("{local_64}@example.com")).is_ok());
        assert_eq!(
            Email::parse(&format!("x{local_64}@example.com")),
            Err(EmailError::TooLong)
        );
        let long_domain = format!(
            "{}.{}.com",
            vec!["x".repeat(63); 3].join("."),
            "x".repeat(56)
        );
        assert_eq!(long_domain.len(), 252);
        assert_eq!(
            Email::parse(&format!("ab@{long_domain}")),
            Err(EmailError::TooLong)
        );
        assert!(Email::parse(&format!("a@{long_domain}")).is_ok());
    }

    #[test]
    fn normalizing_drops_tags_and_gmail_dots() {
        assert_eq!(normalized("Jane.Doe+promo@GMail.com"), "janedoe@gmail.com");
        assert_eq!(normalized("a.b+x@example.com"), "a.b@example.com");
        assert_eq!(normalized("J.A.N.E@googlemail.com"), "jane@gmail.com");
        assert_eq!(normalized("Jane@Example.com"), "jane@example.com");
        assert_eq!(normalized("a+b+c@example.com"), "a@example.com");
    }

    #[test]
    fn normalizing_keeps_a_local_part_that_would_vanish() {
        assert_eq!(normalized("+promo@example.com"), "+promo@example.com");
        assert_eq!(normalized("..@gmail.com"), "..@gmail.com");
    }

    #[test]
    fn deserializing_checks_the_address() {
        let ok: StrDeserializer<'_, DeError> = " Jane@Example.com".into_deserializer();
        assert_eq!(Email::deserialize(ok).unwrap().as_str(), "Jane@example.com");
        let bad: StrDeserializer<'_, DeError> = "not an email".into_deserializer();
        assert!(Email::deserialize(bad).is_err());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(input in "\\PC{0,80}") {
            let _ = Email::parse(&input);
        }

        #[test]
        fn the_normalized_form_is_a_valid_address_that_normalizes_to_itself(
            local in "[A-Za-z0-9.+_-]{1,20}",
            domain in prop_oneof![
                Just("gmail.com".to_owned()),
                Just("GoogleMail.com".to_owned()),
                "[a-z]{1,10}\\.[a-z]{2,5}",
            ],
        ) {
            let email = Email::parse(&format!("{local}@{domain}")).unwrap();
            let once = email.normalized();
            let again = Email::parse(&once).unwrap();
            prop_assert_eq!(again.normalized(), once);
        }

        #[test]
        fn case_and_tags_never_change_the_normalized_form(
            base in "[a-z0-9]{1,10}",
            tag in "[a-z0-9]{0,8}",
        ) {
            let plain = normalized(&format!("{base}@example.com"));
            let fancy = normalized(&format!("{}+{tag}@EXAMPLE.com", base.to_uppercase()));
            prop_assert_eq!(plain, fancy);
        }
    }
}
