//! Phone numbers of friends recorded at the sales desk, when a customer gave a number rather than
//! an email.
//!
//! Handoff does not dial or text anyone, so a number is only checked for shape and reduced to a
//! key that recognises the same number typed twice (`+44 20 7946 0958` and `+44 (20) 7946-0958`).
//! No country rules are guessed: `020 7946 0958` and `+44 20 7946 0958` are different keys, as a
//! business that mixes both forms would see in its own records too.

/// The fewest digits a phone number may have (short local numbers).
pub const MIN_DIGITS: usize = 7;
/// The most digits a phone number may have (E.164's limit).
pub const MAX_DIGITS: usize = 15;

/// A checked phone number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phone {
    shown: String,
    key: String,
}

/// Why a phone number was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Letters or other characters that have no place in a number.
    #[error("A phone number has only digits, spaces, dashes, dots, brackets and a leading +.")]
    Characters,
    /// Too few or too many digits.
    #[error("A phone number has {MIN_DIGITS} to {MAX_DIGITS} digits, like +44 20 7946 0958.")]
    Length,
}

impl Phone {
    /// Checks a typed number: digits with spaces, `-`, `.`, `(`, `)` between them and an optional
    /// leading `+`.
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let shown = input.trim();
        let mut digits = String::new();
        for (index, ch) in shown.char_indices() {
            match ch {
                '0'..='9' => digits.push(ch),
                '+' if index == 0 => {}
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(PhoneError::Characters),
            }
        }
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) {
            return Err(PhoneError::Length);
        }
        let plus = if shown.starts_with('+') { "+" } else { "" };
        Ok(Phone {
            shown: shown.to_owned(),
            key: format!("tel:{plus}{digits}"),
        })
    }

    /// The number as typed (trimmed).
    pub fn as_str(&self) -> &str {
        &self.shown
    }

    /// The key that finds this number again however it was spaced: `tel:` then an optional `+`
    /// and the digits. It shares the leads' `email_normalized` column (one friend per campaign,
    /// by email or by phone), and the `tel:` prefix keeps it from ever equalling an email.
    pub fn key(&self) -> &str {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_number_spaced_differently_has_one_key() {
        let a = Phone::parse(" +44 20 7946 0958 ").unwrap();
        let b = Phone::parse("+44 (20) 7946-0958").unwrap();
        assert_eq!(a.key(), "tel:+442079460958");
        assert_eq!(a.key(), b.key());
        assert_eq!(a.as_str(), "+44 20 7946 0958");
        assert_ne!(a.key(), Phone::parse("020 7946 0958").unwrap().key());
    }

    #[test]
    fn letters_and_a_plus_inside_are_refused() {
        assert_eq!(Phone::parse("555-CALL-NOW"), Err(PhoneError::Characters));
        assert_eq!(Phone::parse("44+2079460958"), Err(PhoneError::Characters));
        assert_eq!(Phone::parse("a@b.example"), Err(PhoneError::Characters));
    }

    #[test]
    fn too_short_or_too_long_is_refused() {
        assert_eq!(Phone::parse("123 45"), Err(PhoneError::Length));
        assert_eq!(Phone::parse(""), Err(PhoneError::Length));
        assert_eq!(Phone::parse("+1234567890123456"), Err(PhoneError::Length));
        assert!(Phone::parse("1234567").is_ok());
        assert!(Phone::parse("+123456789012345").is_ok());
    }
}
