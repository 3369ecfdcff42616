//! Referral codes made to be spoken, printed and typed.
//!
//! A code has two forms:
//!
//! - the **display** form people see on a flyer or a screen, grouped with
//!   hyphens (`7K4Q-M2XC`, `ACME-JANE-7K4Q`, `OLIVIA-3MX9`);
//! - the **key**, the canonical form used for lookups: uppercase Crockford
//!   base32 with no separators (`7K4QM2XC`, `ACMEJANE7K4Q`, `011V1A3MX9`).
//!
//! Whatever a person types goes through [`normalize`], which forgives case,
//! spaces, hyphens and look-alike letters, so `luke 7k4q`, `LUKE-7K4Q` and
//! `1vke7k4q` are the same key.
//!
//! The last symbol of every key is a Luhn mod N check symbol (N = 32) over all
//! the symbols before it. It catches every single mistyped symbol, and every
//! swap of two adjacent different symbols except `0`/`Z` next to each other
//! (the base-32 counterpart of Luhn's classic `09`/`90` blind spot). That lets
//! the UI say "check it for a typo" before any database lookup, and
//! [`one_edit_neighbours`] turn a typo into a short list of "did you mean"
//! candidates.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The Crockford base32 alphabet: digits and uppercase letters without `I`,
/// `L`, `O` and `U`, which are too easily confused with `1`, `1`, `0` and `V`.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The fewest symbols a key can have, check symbol included.
pub const MIN_KEY_LEN: usize = 4;

/// The most symbols a key can have, check symbol included.
pub const MAX_KEY_LEN: usize = 40;

/// The most letters or digits kept from a prefix.
pub const MAX_PREFIX_LEN: usize = 8;

/// The most letters kept from a name in a [`CodeStyle::NameBased`] code.
pub const MAX_NAME_LEN: usize = 8;

/// The fewest random symbols a generated code gets.
pub const MIN_RANDOM_LEN: usize = 3;

/// The most random symbols a generated code gets.
///
/// With the longest prefix and name this still keeps a key within
/// [`MAX_KEY_LEN`].
pub const MAX_RANDOM_LEN: usize = 20;

/// The name part used when a name has too few letters to be recognisable.
const FALLBACK_NAME: &str = "REF";

/// The modulus of the check: the size of [`ALPHABET`].
const N: u32 = ALPHABET.len() as u32;

/// Why a referral code was rejected. The messages are shown to end users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Nothing but separators (or nothing at all) was entered.
    #[error("Enter a referral code.")]
    Empty,
    /// A character that is neither a code symbol, a look-alike of one, nor a
    /// separator.
    #[error("Referral codes use letters and digits only; '{0}' is not allowed.")]
    InvalidCharacter(char),
    /// More than [`MAX_KEY_LEN`] symbols.
    #[error("That code is too long: referral codes have at most {max} letters and digits.", max = MAX_KEY_LEN)]
    TooLong,
    /// Fewer than [`MIN_KEY_LEN`] symbols.
    #[error("That code is too short: referral codes have at least {min} letters and digits.", min = MIN_KEY_LEN)]
    TooShort,
    /// The check symbol does not match: almost certainly a typo.
    #[error("That code doesn't look right: check it for a typo.")]
    CheckFailed,
}

/// Turns what a person typed into the canonical key.
///
/// Uppercases; drops spaces (any whitespace), hyphens (and typographic
/// dashes), underscores and dots; reads `O` as `0`, `I` and `L` as `1`, and
/// `U` as `V`. Only the upper length limit is enforced here; the minimum
/// length and the check symbol are [`ReferralCode::parse`]'s job.
///
/// # Errors
///
/// [`CodeError::InvalidCharacter`] for any other character,
/// [`CodeError::Empty`] when no symbol is left, and [`CodeError::TooLong`] past
/// [`MAX_KEY_LEN`] symbols.
pub fn normalize(input: &str) -> Result<String, CodeError> {
    let mut key = String::new();
    for typed in input.chars() {
        if is_separator(typed) {
            continue;
        }
        let symbol = fold_look_alike(typed.to_ascii_uppercase());
        if symbol_value(symbol).is_none() {
            return Err(CodeError::InvalidCharacter(typed));
        }
        // Stop early so a pasted novel costs no more than a code does.
        if key.len() == MAX_KEY_LEN {
            return Err(CodeError::TooLong);
        }
        key.push(symbol);
    }
    if key.is_empty() {
        Err(CodeError::Empty)
    } else {
        Ok(key)
    }
}

/// Whether `c` is ignored when reading a code.
fn is_separator(c: char) -> bool {
    // Phones and word processors turn typed hyphens into dashes, and people
    // copy codes out of formatted emails, so the look-alikes count too.
    matches!(c, '-' | '_' | '.' | '\u{2010}'..='\u{2015}' | '\u{2212}') || c.is_whitespace()
}

/// Maps the letters left out of [`ALPHABET`] to the symbol they look like.
fn fold_look_alike(upper: char) -> char {
    match upper {
        'O' => '0',
        'I' | 'L' => '1',
        'U' => 'V',
        other => other,
    }
}

/// The value (index in [`ALPHABET`]) of a canonical symbol.
fn symbol_value(symbol: char) -> Option<u32> {
    let byte = u8::try_from(symbol).ok()?;
    let index = ALPHABET.iter().position(|&s| s == byte)?;
    u32::try_from(index).ok()
}

/// The symbol of a value below [`N`].
fn symbol_of(value: u32) -> char {
    char::from(ALPHABET[value as usize % ALPHABET.len()])
}

/// Luhn mod N sum of `values` given right to left; `double_first` says
/// whether the rightmost given value is doubled.
fn luhn_sum(values_right_to_left: impl Iterator<Item = u32>, double_first: bool) -> u32 {
    let mut double = double_first;
    let mut sum = 0;
    for value in values_right_to_left {
        let addend = if double {
            // Adding the base-N "digits" of 2v keeps the doubling a
            // permutation of 0..N, which is what catches every substitution.
            let doubled = value * 2;
            doubled / N + doubled % N
        } else {
            value
        };
        sum = (sum + addend) % N;
        double = !double;
    }
    sum
}

/// The Luhn mod 32 check symbol for `body`, a canonical key without its check
/// symbol (prefix and name parts included).
///
/// # Panics
///
/// If `body` holds a character outside [`ALPHABET`]: callers pass output of
/// [`normalize`] or of this module's generators, never raw input.
pub fn check_symbol(body: &str) -> char {
    let values = body.chars().rev().map(|c| {
        symbol_value(c).unwrap_or_else(|| panic!("check_symbol: {c:?} is not a code symbol"))
    });
    // The check symbol itself will sit at the undoubled rightmost place, so the
    // body's last symbol is the first doubled one.
    symbol_of((N - luhn_sum(values, true)) % N)
}

/// Whether the last symbol of `key` is the right check symbol for the rest.
///
/// False for an empty key and for any key with a non-canonical character.
pub fn has_valid_check(key: &str) -> bool {
    let mut values = Vec::with_capacity(key.len());
    for c in key.chars().rev() {
        match symbol_value(c) {
            Some(value) => values.push(value),
            None => return false,
        }
    }
    !values.is_empty() && luhn_sum(values.into_iter(), false) == 0
}

/// How a new code is made up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CodeStyle {
    /// Only random symbols: `7K4Q-M2XC`.
    #[default]
    Random,
    /// The referrer's first name and a few random symbols: `JANE-7K4Q`.
    NameBased,
}

impl CodeStyle {
    /// Every style, in the order a form lists them.
    pub const ALL: [CodeStyle; 2] = [CodeStyle::Random, CodeStyle::NameBased];

    /// The stable name used in storage, JSON and forms.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeStyle::Random => "random",
            CodeStyle::NameBased => "name_based",
        }
    }

    /// Reads a style name: `random`, `name_based`, `name-based` or `name`,
    /// ignoring case and surrounding whitespace.
    pub fn parse(input: &str) -> Option<CodeStyle> {
        match input.trim().to_ascii_lowercase().as_str() {
            "random" => Some(CodeStyle::Random),
            "name_based" | "name-based" | "name" => Some(CodeStyle::NameBased),
            _ => None,
        }
    }

    /// How many random symbols [`ReferralCode::generate`] uses for this style.
    ///
    /// Random codes get 7 (32^7, about 34 billion, per campaign); name-based
    /// codes get 3 (32,768 per name), since the name already spreads them out.
    pub fn default_random_len(self) -> usize {
        match self {
            CodeStyle::Random => 7,
            CodeStyle::NameBased => 3,
        }
    }
}

impl fmt::Display for CodeStyle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code style name that [`CodeStyle::parse`] does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Unknown code style '{0}': use \"random\" or \"name_based\".")]
pub struct UnknownCodeStyle(pub String);

impl FromStr for CodeStyle {
    type Err = UnknownCodeStyle;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CodeStyle::parse(s).ok_or_else(|| UnknownCodeStyle(s.to_owned()))
    }
}

/// A referral code whose key is known to be well formed and correctly checked.
///
/// The only ways to get one are [`ReferralCode::parse`],
/// [`ReferralCode::from_display`], the generators and deserialization, which
/// runs the same checks as [`ReferralCode::from_display`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "StoredCode")]
pub struct ReferralCode {
    display: String,
    key: String,
}

/// The unchecked serialized shape of a [`ReferralCode`].
#[derive(Deserialize)]
struct StoredCode {
    display: String,
    key: String,
}

impl TryFrom<StoredCode> for ReferralCode {
    type Error = String;

    fn try_from(stored: StoredCode) -> Result<Self, Self::Error> {
        let code = ReferralCode::from_display(&stored.display).map_err(|e| e.to_string())?;
        if code.key == stored.key {
            Ok(code)
        } else {
            Err(format!(
                "referral code key {:?} does not match display {:?}",
                stored.key, stored.display
            ))
        }
    }
}

impl ReferralCode {
    /// Reads a code as a person typed it.
    ///
    /// The display of a parsed code is its key: the form the code was printed
    /// in is whatever the database stored when it was made.
    ///
    /// # Errors
    ///
    /// Those of [`normalize`], then [`CodeError::TooShort`] below
    /// [`MIN_KEY_LEN`] symbols and [`CodeError::CheckFailed`] when the check
    /// symbol is wrong.
    pub fn parse(input: &str) -> Result<ReferralCode, CodeError> {
        let key = normalize(input)?;
        if key.len() < MIN_KEY_LEN {
            return Err(CodeError::TooShort);
        }
        if !has_valid_check(&key) {
            return Err(CodeError::CheckFailed);
        }
        Ok(ReferralCode {
            display: key.clone(),
            key,
        })
    }

    /// Rebuilds a code from its stored display form, keeping that form (trimmed)
    /// as the display.
    ///
    /// # Errors
    ///
    /// As [`ReferralCode::parse`].
    pub fn from_display(display: &str) -> Result<ReferralCode, CodeError> {
        let parsed = ReferralCode::parse(display)?;
        Ok(ReferralCode {
            display: display.trim().to_owned(),
            key: parsed.key,
        })
    }

    /// Makes a new code with the style's default number of random symbols
    /// (see [`CodeStyle::default_random_len`]).
    ///
    /// `random_index(n)` must return a uniformly random number in `0..n`;
    /// passing randomness in keeps this module pure. See
    /// [`ReferralCode::generate_with_random_len`] for the shapes produced.
    pub fn generate(
        style: CodeStyle,
        prefix: Option<&str>,
        name: &str,
        random_index: &mut impl FnMut(usize) -> usize,
    ) -> ReferralCode {
        ReferralCode::generate_with_random_len(
            style,
            prefix,
            name,
            style.default_random_len(),
            random_index,
        )
    }

    /// Makes a new code with `random_len` random symbols, clamped to
    /// [`MIN_RANDOM_LEN`]`..=`[`MAX_RANDOM_LEN`] so the result always parses.
    ///
    /// Callers that keep colliding with existing codes for a name ask for one
    /// more random symbol than the default (`JANE-7K4QX`).
    ///
    /// - [`CodeStyle::Random`]: the random symbols and the check symbol in
    ///   hyphenated groups of at most four: `7K4Q-M2XC`.
    /// - [`CodeStyle::NameBased`]: the first word of `name` that has at least
    ///   two ASCII letters, keeping only those letters, uppercased and cut to
    ///   [`MAX_NAME_LEN`] (`REF` when there is no such word), then the random
    ///   symbols and the check symbol as one group: `JANE-7K4Q`.
    ///
    /// A prefix keeps only ASCII letters and digits, uppercased and cut to
    /// [`MAX_PREFIX_LEN`]; if any are left it leads the display:
    /// `ACME-7K4Q-M2XC`, `ACME-JANE-7K4Q`.
    ///
    /// Prefix and name are displayed as written (`LUKE`, `OLIVIA`), but the
    /// key and the check use their normalized form (`1VKE`, `011V1A`), so what
    /// people type back from the display always matches.
    pub fn generate_with_random_len(
        style: CodeStyle,
        prefix: Option<&str>,
        name: &str,
        random_len: usize,
        random_index: &mut impl FnMut(usize) -> usize,
    ) -> ReferralCode {
        let random_len = random_len.clamp(MIN_RANDOM_LEN, MAX_RANDOM_LEN);
        let mut groups: Vec<String> = Vec::new();
        if let Some(prefix) = prefix.map(clean_prefix).filter(|p| !p.is_empty()) {
            groups.push(prefix);
        }
        if style == CodeStyle::NameBased {
            groups.push(name_part(name));
        }

        let mut key: String = groups
            .iter()
            .flat_map(|g| g.chars())
            .map(fold_look_alike)
            .collect();
        let mut tail: String = (0..random_len)
            .map(|_| random_symbol(random_index))
            .collect();
        key.push_str(&tail);
        let check = check_symbol(&key);
        key.push(check);
        tail.push(check);

        match style {
            CodeStyle::Random => groups.extend(balanced_groups(&tail)),
            CodeStyle::NameBased => groups.push(tail),
        }
        ReferralCode {
            display: groups.join("-"),
            key,
        }
    }

    /// The form shown to people, e.g. `ACME-JANE-7K4Q`.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The canonical key used for lookups, e.g. `ACMEJANE7K4Q`.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for ReferralCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl FromStr for ReferralCode {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReferralCode::parse(s)
    }
}

/// One uniformly random symbol of [`ALPHABET`].
fn random_symbol(random_index: &mut impl FnMut(usize) -> usize) -> char {
    // The modulo only matters for a random source that breaks its contract;
    // it turns that bug into skewed codes instead of a panic mid-request.
    char::from(ALPHABET[random_index(ALPHABET.len()) % ALPHABET.len()])
}

/// The display form of a prefix: ASCII letters and digits, uppercased, cut.
fn clean_prefix(prefix: &str) -> String {
    prefix
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(MAX_PREFIX_LEN)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The display form of the name part of a name-based code.
fn name_part(name: &str) -> String {
    // Skipping initials and honorific dots ("J. Smith") gives SMITH rather
    // than the anonymous fallback.
    name.split_whitespace()
        .map(|word| {
            word.chars()
                .filter(char::is_ascii_alphabetic)
                .map(|c| c.to_ascii_uppercase())
                .collect::<String>()
        })
        .find(|letters| letters.len() >= 2)
        .map(|mut letters| {
            letters.truncate(MAX_NAME_LEN);
            letters
        })
        .unwrap_or_else(|| FALLBACK_NAME.to_owned())
}

/// Splits `symbols` (ASCII) into hyphen groups of at most four, as even as
/// possible and longest first.
fn balanced_groups(symbols: &str) -> Vec<String> {
    // Even groups read aloud better than a dangling one: five symbols become
    // `7K4-QX` rather than `7K4Q-X`.
    let count = symbols.len().div_ceil(4).max(1);
    let (base, extra) = (symbols.len() / count, symbols.len() % count);
    let mut groups = Vec::with_capacity(count);
    let mut start = 0;
    for i in 0..count {
        let len = base + usize::from(i < extra);
        groups.push(symbols[start..start + len].to_owned());
        start += len;
    }
    groups
}

/// Every key at Damerau-Levenshtein distance exactly 1 from `key` (one
/// substitution, insertion, deletion, or swap of adjacent symbols over
/// [`ALPHABET`]) that is a possible key: [`MIN_KEY_LEN`]`..=`[`MAX_KEY_LEN`]
/// symbols with a valid check symbol. `key` itself is never included.
///
/// `key` should be the output of [`normalize`]. The result is sorted and
/// typically holds about twice as many entries as `key` has symbols, small
/// enough for one indexed `IN (...)` query.
pub fn one_edit_neighbours(key: &str) -> Vec<String> {
    let symbols: Vec<char> = key.chars().collect();
    // No key of at most MAX_KEY_LEN symbols is one edit from anything longer.
    if symbols.len() > MAX_KEY_LEN + 1 {
        return Vec::new();
    }
    let alphabet = ALPHABET.iter().copied().map(char::from);
    let mut found = BTreeSet::new();
    let mut consider = |candidate: Vec<char>| {
        if (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&candidate.len()) {
            let candidate: String = candidate.into_iter().collect();
            if candidate != key && has_valid_check(&candidate) {
                found.insert(candidate);
            }
        }
    };

    for i in 0..symbols.len() {
        for replacement in alphabet.clone().filter(|&s| s != symbols[i]) {
            let mut candidate = symbols.clone();
            candidate[i] = replacement;
            consider(candidate);
        }
        let mut deleted = symbols.clone();
        deleted.remove(i);
        consider(deleted);
        if i + 1 < symbols.len() && symbols[i] != symbols[i + 1] {
            let mut swapped = symbols.clone();
            swapped.swap(i, i + 1);
            consider(swapped);
        }
    }
    for i in 0..=symbols.len() {
        for inserted in alphabet.clone() {
            let mut candidate = symbols.clone();
            candidate.insert(i, inserted);
            consider(candidate);
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, MapDeserializer};

    /// A `random_index` that replays `values` (wrapping) reduced modulo `n`.
    fn replay(values: Vec<usize>) -> impl FnMut(usize) -> usize {
        let mut next = 0;
        move |n| {
            let value = values[next % values.len()] % n;
            next += 1;
            value
        }
    }

    /// A `random_index` that draws the symbols of `symbols` in order.
    fn draws(symbols: &str) -> impl FnMut(usize) -> usize {
        replay(
            symbols
                .bytes()
                .map(|b| ALPHABET.iter().position(|&s| s == b).expect("test symbol"))
                .collect(),
        )
    }

    fn with_check(body: &str) -> String {
        format!("{body}{}", check_symbol(body))
    }

    /// Optimal string alignment distance, equal to Damerau-Levenshtein for
    /// distances up to 1, which is all these tests need.
    fn osa_distance(a: &str, b: &str) -> usize {
        let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[a.len()][b.len()]
    }

    /// Every string one edit away from `key`, valid or not.
    fn all_single_edits(key: &str) -> Vec<String> {
        let symbols: Vec<char> = key.chars().collect();
        let alphabet: Vec<char> = ALPHABET.iter().copied().map(char::from).collect();
        let mut edits = Vec::new();
        for i in 0..symbols.len() {
            for &s in &alphabet {
                let mut e = symbols.clone();
                e[i] = s;
                edits.push(e);
            }
            let mut e = symbols.clone();
            e.remove(i);
            edits.push(e);
            if i + 1 < symbols.len() {
                let mut e = symbols.clone();
                e.swap(i, i + 1);
                edits.push(e);
            }
        }
        for i in 0..=symbols.len() {
            for &s in &alphabet {
                let mut e = symbols.clone();
                e.insert(i, s);
                edits.push(e);
            }
        }
        edits
            .into_iter()
            .map(|e| e.into_iter().collect::<String>())
            .filter(|e| e != key)
            .collect()
    }

    fn key_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(0..ALPHABET.len(), MIN_KEY_LEN - 1..MAX_KEY_LEN).prop_map(|v| {
            with_check(
                &v.into_iter()
                    .map(|i| char::from(ALPHABET[i]))
                    .collect::<String>(),
            )
        })
    }

    fn style_strategy() -> impl Strategy<Value = CodeStyle> {
        prop_oneof![Just(CodeStyle::Random), Just(CodeStyle::NameBased)]
    }

    #[test]
    fn the_alphabet_is_32_distinct_symbols_without_i_l_o_or_u() {
        let distinct: BTreeSet<u8> = ALPHABET.iter().copied().collect();
        assert_eq!(distinct.len(), 32);
        for missing in *b"ILOU" {
            assert!(!ALPHABET.contains(&missing));
        }
    }

    #[test]
    fn normalize_ignores_case_spaces_hyphens_and_reads_look_alikes() {
        assert_eq!(normalize("jane-7k4q"), normalize("JANE 7K4Q"));
        assert_eq!(normalize("O o").unwrap(), "00");
        assert_eq!(normalize("I i L l").unwrap(), "1111");
        assert_eq!(normalize("u U").unwrap(), "VV");
        assert_eq!(normalize(" ac_me.7k–4q\t").unwrap(), "ACME7K4Q");
        assert_eq!(normalize("luke 7k4q").unwrap(), "1VKE7K4Q");
    }

    #[test]
    fn normalize_rejects_other_characters_naming_the_character_as_typed() {
        assert_eq!(normalize("JANE#7K"), Err(CodeError::InvalidCharacter('#')));
        assert_eq!(normalize("josé"), Err(CodeError::InvalidCharacter('é')));
    }

    #[test]
    fn normalize_rejects_empty_and_overlong_input() {
        assert_eq!(normalize(""), Err(CodeError::Empty));
        assert_eq!(normalize(" - _ . "), Err(CodeError::Empty));
        assert_eq!(
            normalize(&"A".repeat(MAX_KEY_LEN)).unwrap().len(),
            MAX_KEY_LEN
        );
        assert_eq!(
            normalize(&"A".repeat(MAX_KEY_LEN + 1)),
            Err(CodeError::TooLong)
        );
    }

    #[test]
    fn the_check_symbol_matches_a_hand_computed_example() {
        // One symbol "1" is doubled: 2, so the check is 32 - 2 = 30, 'Y'.
        assert_eq!(check_symbol("1"), 'Y');
        assert!(has_valid_check("1Y"));
        assert_eq!(check_symbol(""), '0');
    }

    #[test]
    fn has_valid_check_is_false_for_empty_or_non_canonical_keys() {
        assert!(!has_valid_check(""));
        let key = with_check("JANE7K4");
        assert!(has_valid_check(&key));
        assert!(!has_valid_check(&key.to_lowercase()));
        assert!(!has_valid_check(&format!("{}-{}", &key[..4], &key[4..])));
    }

    #[test]
    #[should_panic(expected = "not a code symbol")]
    fn check_symbol_panics_on_a_non_canonical_body() {
        check_symbol("jane");
    }

    #[test]
    fn every_adjacent_swap_of_different_symbols_is_caught_except_0_and_z() {
        // Detection only depends on the two symbols and which of them is
        // doubled, so both parities over all pairs cover every case.
        let alphabet: Vec<char> = ALPHABET.iter().copied().map(char::from).collect();
        for &a in &alphabet {
            for &b in &alphabet {
                if a == b {
                    continue;
                }
                for filler in ["", "0"] {
                    let key = with_check(&format!("{a}{b}{filler}"));
                    let swapped = with_check_swapped(&key, 0);
                    let blind_spot = matches!((a, b), ('0', 'Z') | ('Z', '0'));
                    assert_eq!(
                        has_valid_check(&swapped),
                        blind_spot,
                        "swapping {a}{b} in {key} gave {swapped}"
                    );
                }
            }
        }
    }

    fn with_check_swapped(key: &str, i: usize) -> String {
        let mut symbols: Vec<char> = key.chars().collect();
        symbols.swap(i, i + 1);
        symbols.into_iter().collect()
    }

    #[test]
    fn random_codes_look_like_two_groups_of_four() {
        let code = ReferralCode::generate(CodeStyle::Random, None, "Jane", &mut draws("7K4QM2X"));
        assert_eq!(code.key(), with_check("7K4QM2X"));
        assert_eq!(code.display(), format!("7K4Q-M2X{}", &code.key()[7..]));
    }

    #[test]
    fn name_based_codes_show_the_first_name_and_four_symbols() {
        let code =
            ReferralCode::generate(CodeStyle::NameBased, None, "Jane Doe", &mut draws("7K4"));
        assert_eq!(code.key(), with_check("JANE7K4"));
        assert_eq!(code.display(), format!("JANE-7K4{}", &code.key()[7..]));
    }

    #[test]
    fn a_prefix_leads_the_code_and_is_covered_by_the_check() {
        let random =
            ReferralCode::generate(CodeStyle::Random, Some("acme"), "", &mut draws("7K4QM2X"));
        assert_eq!(random.key(), with_check("ACME7K4QM2X"));
        assert!(random.display().starts_with("ACME-7K4Q-M2X"));

        let named = ReferralCode::generate(
            CodeStyle::NameBased,
            Some("Acme Inc."),
            "jane",
            &mut draws("7K4"),
        );
        assert_eq!(named.key(), with_check("ACME1NCJANE7K4"));
        assert!(named.display().starts_with("ACMEINC-JANE-7K4"));
    }

    #[test]
    fn prefixes_keep_only_eight_ascii_letters_and_digits() {
        let code = ReferralCode::generate(
            CodeStyle::NameBased,
            Some("Ünïcode-Prefix 2024!"),
            "Jane",
            &mut draws("7K4"),
        );
        assert!(
            code.display().starts_with("NCODEPRE-JANE-"),
            "{}",
            code.display()
        );
        let blank =
            ReferralCode::generate(CodeStyle::NameBased, Some("!!"), "Jane", &mut draws("7K4"));
        assert!(blank.display().starts_with("JANE-"), "{}", blank.display());
    }

    #[test]
    fn names_are_shown_as_written_but_keyed_without_look_alikes() {
        let luke = ReferralCode::generate(CodeStyle::NameBased, None, "Luke", &mut draws("7K4"));
        assert!(luke.display().starts_with("LUKE-7K4"));
        assert_eq!(luke.key(), with_check("1VKE7K4"));
        let typed = format!("luke {}", luke.display()[5..].to_lowercase());
        assert_eq!(ReferralCode::parse(&typed).unwrap().key(), luke.key());

        let olivia =
            ReferralCode::generate(CodeStyle::NameBased, None, "OLIVIA", &mut draws("3MX"));
        assert!(olivia.display().starts_with("OLIVIA-3MX"));
        assert!(olivia.key().starts_with("011V1A3MX"));
    }

    #[test]
    fn names_without_two_ascii_letters_fall_back_to_ref() {
        for name in ["", "  ", "J", "李小龍", "É"] {
            let code = ReferralCode::generate(CodeStyle::NameBased, None, name, &mut draws("7K4"));
            assert!(
                code.display().starts_with("REF-7K4"),
                "{name:?}: {}",
                code.display()
            );
        }
    }

    #[test]
    fn name_parts_use_the_first_real_word_and_at_most_eight_letters() {
        let cases = [
            ("J. Smith", "SMITH"),
            ("José García", "JOS"),
            ("Mary-Jane Watson", "MARYJANE"),
            ("Maximiliana", "MAXIMILI"),
        ];
        for (name, expected) in cases {
            let code = ReferralCode::generate(CodeStyle::NameBased, None, name, &mut draws("7K4"));
            assert_eq!(code.display().split('-').next(), Some(expected), "{name:?}");
        }
    }

    #[test]
    fn a_longer_random_part_is_one_group_for_names_and_balanced_groups_otherwise() {
        let named = ReferralCode::generate_with_random_len(
            CodeStyle::NameBased,
            None,
            "Jane",
            4,
            &mut draws("7K4Q"),
        );
        assert_eq!(named.key(), with_check("JANE7K4Q"));
        assert_eq!(named.display().len(), "JANE-7K4QX".len());

        let random = ReferralCode::generate_with_random_len(
            CodeStyle::Random,
            None,
            "",
            4,
            &mut draws("7K4Q"),
        );
        assert_eq!(random.display().len(), "7K4-QX".len());
        assert_eq!(&random.display()[3..4], "-");
    }

    #[test]
    fn random_length_is_clamped_so_codes_always_parse() {
        let short =
            ReferralCode::generate_with_random_len(CodeStyle::Random, None, "", 0, &mut draws("7"));
        assert_eq!(short.key().len(), MIN_RANDOM_LEN + 1);
        let long = ReferralCode::generate_with_random_len(
            CodeStyle::NameBased,
            Some("LONGPREFIX"),
            "Maximiliana",
            1000,
            &mut draws("7"),
        );
        assert_eq!(
            long.key().len(),
            MAX_PREFIX_LEN + MAX_NAME_LEN + MAX_RANDOM_LEN + 1
        );
        assert_eq!(
            ReferralCode::parse(long.display()).unwrap().key(),
            long.key()
        );
    }

    #[test]
    fn balanced_groups_split_evenly_into_fours_at_most() {
        assert_eq!(balanced_groups("ABCDEFGH"), ["ABCD", "EFGH"]);
        assert_eq!(balanced_groups("ABCDE"), ["ABC", "DE"]);
        assert_eq!(balanced_groups("ABCDEFGHJ"), ["ABC", "DEF", "GHJ"]);
        assert_eq!(balanced_groups("ABCD"), ["ABCD"]);
    }

    #[test]
    fn parse_rejects_short_codes_and_failed_checks() {
        assert_eq!(ReferralCode::parse("1Y"), Err(CodeError::TooShort));
        let key = with_check("JANE7K4");
        let mut typo: Vec<char> = key.chars().collect();
        typo[5] = if typo[5] == 'A' { 'B' } else { 'A' };
        let typo: String = typo.into_iter().collect();
        assert_eq!(ReferralCode::parse(&typo), Err(CodeError::CheckFailed));
        assert_eq!(
            CodeError::CheckFailed.to_string(),
            "That code doesn't look right: check it for a typo."
        );
    }

    #[test]
    fn a_parsed_code_is_displayed_as_its_key() {
        let code = ReferralCode::parse(&with_check("JANE7K4").to_lowercase()).unwrap();
        assert_eq!(code.display(), code.key());
    }

    #[test]
    fn from_display_keeps_the_printed_form() {
        let made = ReferralCode::generate(
            CodeStyle::NameBased,
            Some("acme"),
            "Olivia",
            &mut draws("3MX"),
        );
        let again = ReferralCode::from_display(&format!(" {} ", made.display())).unwrap();
        assert_eq!(again, made);
    }

    #[test]
    fn deserializing_checks_the_code_like_from_display() {
        let made = ReferralCode::generate(CodeStyle::Random, None, "", &mut draws("7K4QM2X"));
        let fields = |display: &str, key: &str| {
            MapDeserializer::<_, DeError>::new(
                vec![
                    ("display".to_owned(), display.to_owned()),
                    ("key".to_owned(), key.to_owned()),
                ]
                .into_iter(),
            )
        };
        assert_eq!(
            ReferralCode::deserialize(fields(made.display(), made.key())).unwrap(),
            made
        );
        assert!(ReferralCode::deserialize(fields(made.display(), "7K4QM2XC0")).is_err());
        assert!(ReferralCode::deserialize(fields("7K4Q-M2XX", "7K4QM2XX")).is_err());
    }

    #[test]
    fn code_styles_round_trip_through_their_names() {
        for style in CodeStyle::ALL {
            assert_eq!(CodeStyle::parse(style.as_str()), Some(style));
            assert_eq!(style.as_str().parse::<CodeStyle>(), Ok(style));
            let de: serde::de::value::StrDeserializer<'_, DeError> =
                style.as_str().into_deserializer();
            assert_eq!(CodeStyle::deserialize(de).unwrap(), style);
        }
        for alias in ["name-based", "name", " Name_Based "] {
            assert_eq!(CodeStyle::parse(alias), Some(CodeStyle::NameBased));
        }
        assert_eq!(CodeStyle::default(), CodeStyle::Random);
        assert!("vanity".parse::<CodeStyle>().is_err());
    }

    #[test]
    fn neighbours_of_a_typo_include_the_intended_code() {
        let intended = with_check("JANE7K4");
        let typo = format!("{}{}", &intended[..5], &intended[6..]);
        assert!(one_edit_neighbours(&typo).contains(&intended));
    }

    #[test]
    fn neighbours_of_every_single_edit_of_a_code_include_that_code() {
        // Exhaustive for one realistic key; the property test below samples
        // edits of random keys of every length.
        let key = with_check("ACMEJANE7K4");
        for typo in all_single_edits(&key) {
            assert!(
                one_edit_neighbours(&typo).contains(&key),
                "{key} from {typo}"
            );
        }
    }

    #[test]
    fn neighbours_of_an_overlong_key_are_empty() {
        assert!(one_edit_neighbours(&"0".repeat(MAX_KEY_LEN + 2)).is_empty());
        assert!(!one_edit_neighbours(&"0".repeat(MAX_KEY_LEN + 1)).is_empty());
    }

    proptest! {
        #[test]
        fn generated_codes_parse_back_to_the_same_key(
            style in style_strategy(),
            prefix in proptest::option::of(".{0,12}"),
            name in ".{0,20}",
            random_len in 0usize..25,
            seeds in proptest::collection::vec(any::<usize>(), 1..30),
        ) {
            let code = ReferralCode::generate_with_random_len(
                style, prefix.as_deref(), &name, random_len, &mut replay(seeds),
            );
            prop_assert!(has_valid_check(code.key()));
            prop_assert_eq!(normalize(code.display()).unwrap(), code.key());
            let typed = ReferralCode::parse(code.display()).unwrap();
            prop_assert_eq!(typed.key(), code.key());
            let typed_lowercase = ReferralCode::parse(&code.display().to_lowercase()).unwrap();
            prop_assert_eq!(typed_lowercase.key(), code.key());
            prop_assert_eq!(ReferralCode::from_display(code.display()).unwrap(), code);
        }

        #[test]
        fn default_generated_codes_have_the_documented_shape(
            seeds in proptest::collection::vec(any::<usize>(), 1..10),
        ) {
            let random = ReferralCode::generate(CodeStyle::Random, None, "x", &mut replay(seeds.clone()));
            prop_assert_eq!(random.key().len(), 8);
            prop_assert_eq!(random.display().len(), 9);
            prop_assert_eq!(&random.display()[4..5], "-");
            let named = ReferralCode::generate(CodeStyle::NameBased, Some("ACME"), "Jane", &mut replay(seeds));
            prop_assert!(named.display().starts_with("ACME-JANE-"));
            prop_assert_eq!(named.display().len(), "ACME-JANE-7K4Q".len());
        }

        #[test]
        fn normalize_is_idempotent(input in ".{0,50}") {
            if let Ok(key) = normalize(&input) {
                prop_assert_eq!(normalize(&key), Ok(key.clone()));
            }
        }

        #[test]
        fn normalize_ignores_case_separators_and_look_alikes(key in key_strategy()) {
            let decorated: String = key
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    let c = match c {
                        '0' if i % 2 == 0 => 'o',
                        '1' if i % 2 == 0 => 'l',
                        '1' => 'I',
                        'V' if i % 2 == 0 => 'u',
                        c => c.to_ascii_lowercase(),
                    };
                    if i % 3 == 2 { format!("{c} -") } else { c.to_string() }
                })
                .collect();
            prop_assert_eq!(normalize(&decorated), Ok(key));
        }

        #[test]
        fn every_single_substitution_fails_the_check(key in key_strategy()) {
            prop_assert!(has_valid_check(&key));
            let symbols: Vec<char> = key.chars().collect();
            for i in 0..symbols.len() {
                for &replacement in ALPHABET {
                    let replacement = char::from(replacement);
                    if replacement == symbols[i] {
                        continue;
                    }
                    let mut typo = symbols.clone();
                    typo[i] = replacement;
                    let typo: String = typo.into_iter().collect();
                    prop_assert!(!has_valid_check(&typo), "{} -> {}", key, typo);
                }
            }
        }

        #[test]
        fn adjacent_swaps_pass_the_check_only_for_0_and_z(key in key_strategy()) {
            let symbols: Vec<char> = key.chars().collect();
            for i in 0..symbols.len() - 1 {
                let (a, b) = (symbols[i], symbols[i + 1]);
                if a == b {
                    continue;
                }
                let swapped = with_check_swapped(&key, i);
                let blind_spot = matches!((a, b), ('0', 'Z') | ('Z', '0'));
                prop_assert_eq!(has_valid_check(&swapped), blind_spot, "{} -> {}", key, swapped);
            }
        }

        #[test]
        fn neighbours_find_the_key_from_a_single_edit(
            key in key_strategy(),
            pick in any::<proptest::sample::Index>(),
        ) {
            let edits = all_single_edits(&key);
            let typo = &edits[pick.index(edits.len())];
            let neighbours = one_edit_neighbours(typo);
            prop_assert!(neighbours.contains(&key), "{} not among neighbours of {}", key, typo);
        }

        #[test]
        fn neighbours_are_valid_distinct_keys_one_edit_away(key in "[0-9A-Z]{3,12}") {
            let neighbours = one_edit_neighbours(&key);
            prop_assert!(!neighbours.contains(&key));
            let distinct: BTreeSet<&String> = neighbours.iter().collect();
            prop_assert_eq!(distinct.len(), neighbours.len());
            for n in &neighbours {
                prop_assert!(has_valid_check(n));
                prop_assert!((MIN_KEY_LEN..=MAX_KEY_LEN).contains(&n.len()));
                prop_assert_eq!(osa_distance(&key, n), 1, "{} vs {}", key, n);
            }
        }
    }
}
