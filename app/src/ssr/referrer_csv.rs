//! Reading files of referrers to add in bulk: a name, an email and, optionally, the code a
//! business already printed for them.
//!
//! Columns are found by header name in any order and common spellings; the file is read like a
//! conversions file (`conversion_csv`): streamed, a UTF-8 BOM skipped, `,` `;` or tab, CRLF and
//! quoted newlines, and each row's exact physical line. Only the shape is checked here; whether
//! a name, email or code is acceptable is `services::referrer_import`'s to say.

use std::io::Read;

use crate::{
    ssr::conversion_csv::{HeaderProblem, Records, normalize_header},
    types::ImportError,
};

/// The most bytes any field may hold.
const MAX_FIELD_LEN: usize = 1000;

const NAME_NAMES: &[&str] = &[
    "name",
    "full name",
    "referrer name",
    "referrer",
    "customer name",
    "contact name",
    "display name",
];
const FIRST_NAME_NAMES: &[&str] = &["first name", "given name", "firstname"];
const LAST_NAME_NAMES: &[&str] = &["last name", "family name", "surname", "lastname"];
const EMAIL_NAMES: &[&str] = &[
    "email",
    "e-mail",
    "email address",
    "referrer email",
    "customer email",
    "mail",
];
const CODE_NAMES: &[&str] = &[
    "code",
    "referral code",
    "referrer code",
    "ref code",
    "promo code",
    "coupon code",
];

/// Why a file cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReferrerFileError {
    /// Nothing in it.
    #[error("The file is empty.")]
    Empty,
    /// Not UTF-8.
    #[error("The file is not UTF-8 text; save it as CSV UTF-8.")]
    NotUtf8,
    /// No header row.
    #[error("The first line must name the columns (name, email, and code if you keep codes).")]
    NoHeader,
    /// An email column is missing.
    #[error("No email column: name one “email” (and one “name”; “code” is optional).")]
    NoEmail,
    /// Unreadable for another reason.
    #[error("The file could not be read: {0}")]
    Unreadable(String),
}

/// One row's fields, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferrerRow {
    /// The physical line the row starts on.
    pub line: u64,
    /// The name (first and last joined when the file splits them); `None` when blank.
    pub name: Option<String>,
    /// The email; `None` when blank.
    pub email: Option<String>,
    /// The code to keep; `None` when blank or when the file has no code column.
    pub code: Option<String>,
}

/// Where each field is.
#[derive(Clone, Debug, Default)]
struct Columns {
    name: Option<usize>,
    first: Option<usize>,
    last: Option<usize>,
    email: Option<usize>,
    code: Option<usize>,
}

/// A file of referrers, row by row.
pub struct ReferrerCsvReader<R: Read> {
    records: Records<R>,
    names: Vec<String>,
    columns: Columns,
}

impl<R: Read> ReferrerCsvReader<R> {
    /// Reads the header row and finds the columns.
    pub fn new(reader: R) -> Result<Self, ReferrerFileError> {
        let (records, names, _skipped) =
            Records::open(reader).map_err(|problem| match problem {
                HeaderProblem::Empty => ReferrerFileError::Empty,
                HeaderProblem::Unreadable(e) => ReferrerFileError::Unreadable(e.to_string()),
                HeaderProblem::NotUtf8 => ReferrerFileError::NotUtf8,
                HeaderProblem::NoHeader => ReferrerFileError::NoHeader,
            })?;
        let mut columns = Columns::default();
        for (index, name) in names.iter().enumerate() {
            let normalized = normalize_header(name);
            let is = |list: &[&str]| list.iter().any(|n| normalize_header(n) == normalized);
            let slot = if is(EMAIL_NAMES) {
                &mut columns.email
            } else if is(CODE_NAMES) {
                &mut columns.code
            } else if is(FIRST_NAME_NAMES) {
                &mut columns.first
            } else if is(LAST_NAME_NAMES) {
                &mut columns.last
            } else if is(NAME_NAMES) {
                &mut columns.name
            } else {
                continue;
            };
            // The first column of each kind counts.
            slot.get_or_insert(index);
        }
        if columns.email.is_none() {
            return Err(ReferrerFileError::NoEmail);
        }
        Ok(ReferrerCsvReader {
            records,
            names,
            columns,
        })
    }

    /// The header of the column a field came from, for a refused row's report.
    pub fn column(&self, field: &str) -> String {
        let index = match field {
            "email" => self.columns.email,
            "code" | "referral_code" => self.columns.code,
            _ => self.columns.name.or(self.columns.first),
        };
        index
            .and_then(|i| self.names.get(i))
            .cloned()
            .unwrap_or_default()
    }

    /// The next row, or `None` at the end. Blank rows are skipped.
    pub fn next_row(&mut self) -> Option<Result<ReferrerRow, ImportError>> {
        Some(match self.records.next()? {
            Ok(line) => self.build_row(line),
            Err((line, reason)) => Err(ImportError {
                line,
                column: String::new(),
                reason,
            }),
        })
    }

    fn build_row(&self, line: u64) -> Result<ReferrerRow, ImportError> {
        if self.records.record.len() != self.names.len() {
            return Err(ImportError {
                line,
                column: String::new(),
                reason: format!(
                    "Expected {} fields, found {}.",
                    self.names.len(),
                    self.records.record.len()
                ),
            });
        }
        let name = match self.field(line, self.columns.name)? {
            Some(name) => Some(name),
            None => {
                let parts: Vec<String> = [self.columns.first, self.columns.last]
                    .into_iter()
                    .map(|c| self.field(line, c))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .flatten()
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            }
        };
        Ok(ReferrerRow {
            line,
            name,
            email: self.field(line, self.columns.email)?,
            code: self.field(line, self.columns.code)?,
        })
    }

    /// The trimmed text of column `index`; `None` when absent or empty.
    fn field(&self, line: u64, index: Option<usize>) -> Result<Option<String>, ImportError> {
        self.records
            .text_field(line, index, &self.names, MAX_FIELD_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Result<ReferrerRow, ImportError>> {
        let mut reader = ReferrerCsvReader::new(text.as_bytes()).expect("header");
        std::iter::from_fn(|| reader.next_row()).collect()
    }

    #[test]
    fn columns_are_found_by_name_in_any_order() {
        let read = rows("Referral Code;E-mail;Full Name\r\nJANE-7K4;jane@example.com;Jane Doe\r\n");
        assert_eq!(
            read,
            [Ok(ReferrerRow {
                line: 2,
                name: Some("Jane Doe".into()),
                email: Some("jane@example.com".into()),
                code: Some("JANE-7K4".into()),
            })]
        );
    }

    #[test]
    fn first_and_last_names_are_joined_and_blank_fields_are_none() {
        let read =
            rows("first name,last name,email\nAnn,Lee,ann@example.com\n,,\n , ,bob@example.com\n");
        assert_eq!(read.len(), 2, "the blank row is skipped: {read:?}");
        assert_eq!(read[0].as_ref().unwrap().name.as_deref(), Some("Ann Lee"));
        let bob = read[1].as_ref().unwrap();
        assert_eq!(
            (bob.line, bob.name.clone(), bob.code.clone()),
            (4, None, None)
        );
    }

    #[test]
    fn a_file_without_an_email_column_or_with_a_short_row_is_refused() {
        assert!(matches!(
            ReferrerCsvReader::new("name,code\nJane,X\n".as_bytes()),
            Err(ReferrerFileError::NoEmail)
        ));
        assert!(matches!(
            ReferrerCsvReader::new("".as_bytes()),
            Err(ReferrerFileError::Empty)
        ));
        let read = rows("name,email\nJane\n");
        assert!(
            read[0]
                .as_ref()
                .unwrap_err()
                .reason
                .contains("Expected 2 fields")
        );
    }
}
