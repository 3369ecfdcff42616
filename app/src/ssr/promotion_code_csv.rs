//! Reading files that map Stripe promotion codes to referrers.
//!
//! A row names a promotion code (Stripe's id `promo_...`, the code customers type, or both) and
//! the referrer it belongs to (their referral code or email). Columns are found by header name, in
//! any order and common spellings, so Stripe's own promotion-code export (`id`, `Code`) works as
//! it is once a referrer column is added (a `referral_code (metadata)` column counts too). The
//! file is read like a conversions file (`conversion_csv`): streamed, a UTF-8 BOM skipped, `,` `;`
//! or tab, CRLF and quoted newlines, and each row's exact physical line.
//!
//! Only the file's shape is checked here. Whether a promotion code is well formed and whether the
//! referrer exists is decided by `services::inbound`, which names the column of each refused
//! field through [`MappingHeaders::column`].

use std::io::Read;

use crate::{
    ssr::conversion_csv::{HeaderProblem, Records, normalize_header, quoted_list},
    types::ImportError,
};

/// The most bytes any field may hold.
const MAX_FIELD_LEN: usize = 1000;

/// Accepted header names of Stripe's promotion code id (`promo_...`). Stripe's export calls it `id`.
const PROMOTION_CODE_ID_NAMES: &[&str] = &[
    "promotion code id",
    "promo code id",
    "promo id",
    "promotion id",
    "stripe promotion code id",
    "stripe id",
    "id",
];

/// Accepted header names of the code customers type.
const CODE_NAMES: &[&str] = &[
    "code",
    "promotion code",
    "promo code",
    "promo",
    "coupon code",
    "coupon",
    "discount code",
    "voucher code",
    "voucher",
    "customer facing code",
];

/// Accepted header names of the referrer's referral code.
const REFERRAL_CODE_NAMES: &[&str] = &[
    "referral code",
    "referrer code",
    "referrer referral code",
    "ref code",
    "ref",
    "referral",
    "invite code",
];

/// Accepted header names of the referrer's email.
const EMAIL_NAMES: &[&str] = &[
    "referrer email",
    "email",
    "e-mail",
    "email address",
    "referrer e-mail",
    "partner email",
    "affiliate email",
    "ambassador email",
    "mail",
];

/// Accepted header names of a column naming the referrer either way: an email (it has an `@`)
/// or a referral code.
const REFERRER_NAMES: &[&str] = &[
    "referrer",
    "referred by",
    "partner",
    "affiliate",
    "ambassador",
];

/// Which column plays which role (indexes into the record). Header names are matched as in
/// conversions files (case, spaces, `_`, `-` and `.` ignored), and Stripe's ` (metadata)` suffix
/// is dropped. When two headers name the same role the first one wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappingColumns {
    /// Stripe's promotion code id.
    pub promotion_code_id: Option<usize>,
    /// The code customers type.
    pub code: Option<usize>,
    /// The referrer's referral code.
    pub referral_code: Option<usize>,
    /// The referrer's email.
    pub email: Option<usize>,
    /// The referrer, by email or referral code.
    pub referrer: Option<usize>,
}

/// The header row: names as in the file and the roles found for them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappingHeaders {
    /// The header names as in the file, trimmed.
    pub names: Vec<String>,
    /// The column roles.
    pub columns: MappingColumns,
}

impl MappingHeaders {
    /// The header of the column a field of `row` came from (`promotion_code_id`, `code`,
    /// `referral_code` or `email`); `""` for anything else (the row as a whole).
    pub fn column(&self, row: &MappingRow, field: Option<&str>) -> String {
        let cols = &self.columns;
        let index = match field {
            Some("promotion_code_id") => cols.promotion_code_id,
            Some("code") => cols.code,
            Some(f @ ("referral_code" | "email")) if row.referrer_field == Some(f) => cols.referrer,
            Some("referral_code") => cols.referral_code,
            Some("email") => cols.email,
            _ => None,
        };
        index
            .and_then(|i| self.names.get(i))
            .cloned()
            .unwrap_or_default()
    }
}

/// The whole file cannot be read as a promotion-code mapping file. The messages are shown to the
/// user as they are.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MappingHeaderError {
    /// There is nothing in the file (or only blank lines).
    #[error("The file is empty.")]
    Empty,
    /// The first row has no column names at all.
    #[error(
        "The first row has no column names. The file needs a header row, such as \"promotion code id,code,referral code\"."
    )]
    NoHeader,
    /// The header row is not UTF-8 text.
    #[error(
        "The header row is not valid UTF-8 text. Save the file as \"CSV UTF-8\" and upload it again."
    )]
    NotUtf8,
    /// The first row holds data (a promotion code id or an email) rather than column names.
    #[error(
        "The first row looks like data, not column names (\"{first}\"). Add a header row, such as \"promotion code id,code,referral code\"."
    )]
    LooksLikeData {
        /// The cell that looked like data.
        first: String,
    },
    /// No column names a promotion code.
    #[error(
        "No promotion code column found. Columns seen: {}. Accepted names: {}.",
        quoted_list(.seen),
        [PROMOTION_CODE_ID_NAMES, CODE_NAMES].concat().join(", ")
    )]
    NoPromotionCodeColumn {
        /// The header names in the file.
        seen: Vec<String>,
    },
    /// No column names the referrer.
    #[error(
        "No referrer column found (their referral code or email). Columns seen: {}. Accepted names: {}.",
        quoted_list(.seen),
        [REFERRAL_CODE_NAMES, EMAIL_NAMES, REFERRER_NAMES].concat().join(", ")
    )]
    NoReferrerColumn {
        /// The header names in the file.
        seen: Vec<String>,
    },
    /// Reading the file failed before the header row was complete.
    #[error("The file could not be read: {0}")]
    Unreadable(String),
}

/// One row with a promotion code and a referrer, both as written (trimmed; empty as `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingRow {
    /// The 1-based physical line where the record starts.
    pub line: u64,
    /// Stripe's promotion code id.
    pub promotion_code_id: Option<String>,
    /// The code customers type.
    pub code: Option<String>,
    /// The referrer's referral code (or link slug).
    pub referral_code: Option<String>,
    /// The referrer's email.
    pub email: Option<String>,
    /// The field the referrer column filled, if it did (`referral_code` or `email`).
    referrer_field: Option<&'static str>,
}

/// What one row of the file turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MappingOutcome {
    /// A row to map.
    Row(MappingRow),
    /// A row that cannot be read, to report.
    Invalid(ImportError),
}

/// A streaming reader of a promotion-code mapping file, in constant memory.
pub struct PromotionCodeCsvReader<R: Read> {
    /// The records, with their lines.
    records: Records<R>,
    /// The header row.
    headers: MappingHeaders,
}

impl<R: Read> PromotionCodeCsvReader<R> {
    /// Reads the header row and finds the columns.
    ///
    /// # Errors
    ///
    /// A [`MappingHeaderError`] when the file is empty, unreadable, has no usable header row, or
    /// lacks a promotion code column or a referrer column.
    pub fn new(reader: R) -> Result<Self, MappingHeaderError> {
        let (records, names, _skipped) =
            Records::open(reader).map_err(|problem| match problem {
                HeaderProblem::Empty => MappingHeaderError::Empty,
                HeaderProblem::Unreadable(e) => MappingHeaderError::Unreadable(e),
                HeaderProblem::NotUtf8 => MappingHeaderError::NotUtf8,
                HeaderProblem::NoHeader => MappingHeaderError::NoHeader,
            })?;
        let columns = map_columns(&names);
        let has_code = columns.promotion_code_id.is_some() || columns.code.is_some();
        let has_referrer = columns.referral_code.is_some()
            || columns.email.is_some()
            || columns.referrer.is_some();
        if !has_code || !has_referrer {
            if let Some(first) = names
                .iter()
                .find(|h| h.starts_with("promo_") || h.contains('@'))
            {
                return Err(MappingHeaderError::LooksLikeData {
                    first: first.clone(),
                });
            }
            return Err(if has_code {
                MappingHeaderError::NoReferrerColumn { seen: names }
            } else {
                MappingHeaderError::NoPromotionCodeColumn { seen: names }
            });
        }
        Ok(Self {
            records,
            headers: MappingHeaders { names, columns },
        })
    }

    /// The header row and its column roles.
    pub fn headers(&self) -> &MappingHeaders {
        &self.headers
    }

    /// The next row, or `None` at the end of the file. Blank rows are skipped.
    pub fn next_row(&mut self) -> Option<MappingOutcome> {
        Some(match self.records.next()? {
            Ok(line) => match self.build_row(line) {
                Ok(row) => MappingOutcome::Row(row),
                Err(error) => MappingOutcome::Invalid(error),
            },
            Err((line, reason)) => MappingOutcome::Invalid(ImportError {
                line,
                column: String::new(),
                reason,
            }),
        })
    }

    /// Checks the shape of the record in `self.records.record`, which starts on `line`.
    fn build_row(&self, line: u64) -> Result<MappingRow, ImportError> {
        if self.records.record.len() != self.headers.names.len() {
            return Err(ImportError {
                line,
                column: String::new(),
                reason: format!(
                    "Expected {} fields, found {}.",
                    self.headers.names.len(),
                    self.records.record.len()
                ),
            });
        }
        let cols = &self.headers.columns;
        let promotion_code_id = self.field(line, cols.promotion_code_id)?;
        let code = self.field(line, cols.code)?;
        let mut referral_code = self.field(line, cols.referral_code)?;
        let mut email = self.field(line, cols.email)?;
        let mut referrer_field = None;
        if let Some(referrer) = self.field(line, cols.referrer)? {
            if referrer.contains('@') {
                if email.is_none() {
                    email = Some(referrer);
                    referrer_field = Some("email");
                }
            } else if referral_code.is_none() {
                referral_code = Some(referrer);
                referrer_field = Some("referral_code");
            }
        }
        if promotion_code_id.is_none() && code.is_none() {
            return Err(ImportError {
                line,
                column: String::new(),
                reason: "Needs the promotion code id (promo_...) or the code customers type."
                    .to_owned(),
            });
        }
        if referral_code.is_none() && email.is_none() {
            return Err(ImportError {
                line,
                column: String::new(),
                reason: "Needs the referrer's referral code or email.".to_owned(),
            });
        }
        Ok(MappingRow {
            line,
            promotion_code_id,
            code,
            referral_code,
            email,
            referrer_field,
        })
    }

    /// The trimmed text of column `index`, `None` when the column is absent or the field empty.
    fn field(&self, line: u64, index: Option<usize>) -> Result<Option<String>, ImportError> {
        self.records
            .text_field(line, index, &self.headers.names, MAX_FIELD_LEN)
    }
}

impl<R: Read> Iterator for PromotionCodeCsvReader<R> {
    type Item = MappingOutcome;

    fn next(&mut self) -> Option<MappingOutcome> {
        self.next_row()
    }
}

/// Whether the normalized header `normalized` is one of `names`.
fn is_one_of(normalized: &str, names: &[&str]) -> bool {
    names
        .iter()
        .any(|name| normalize_header(name) == normalized)
}

/// Maps header names to column roles; the first header of a role wins.
fn map_columns(headers: &[String]) -> MappingColumns {
    let mut map = MappingColumns::default();
    for (i, header) in headers.iter().enumerate() {
        let normalized = normalize_header(header);
        // Stripe exports metadata as `referral_code (metadata)`.
        let name = normalized
            .strip_suffix("(metadata)")
            .map_or(normalized.as_str(), str::trim_end);
        if name.is_empty() {
            continue;
        }
        let slot = if is_one_of(name, PROMOTION_CODE_ID_NAMES) {
            &mut map.promotion_code_id
        } else if is_one_of(name, CODE_NAMES) {
            &mut map.code
        } else if is_one_of(name, REFERRAL_CODE_NAMES) {
            &mut map.referral_code
        } else if is_one_of(name, EMAIL_NAMES) {
            &mut map.email
        } else if is_one_of(name, REFERRER_NAMES) {
            &mut map.referrer
        } else {
            continue;
        };
        slot.get_or_insert(i);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<(MappingHeaders, Vec<MappingOutcome>), MappingHeaderError> {
        let reader = PromotionCodeCsvReader::new(text.as_bytes())?;
        let headers = reader.headers().clone();
        Ok((headers, reader.collect()))
    }

    fn row(outcome: &MappingOutcome) -> &MappingRow {
        match outcome {
            MappingOutcome::Row(row) => row,
            MappingOutcome::Invalid(e) => panic!("invalid: {e:?}"),
        }
    }

    fn invalid(outcome: &MappingOutcome) -> &ImportError {
        match outcome {
            MappingOutcome::Invalid(e) => e,
            MappingOutcome::Row(row) => panic!("valid: {row:?}"),
        }
    }

    #[test]
    fn columns_are_found_by_their_common_names() {
        let (headers, rows) = read(
            "Promotion Code ID,Coupon Code,Referrer_Email,Referral-Code\npromo_1,ANN10,ann@example.com,ANN-7K4Q\n",
        )
        .unwrap();
        assert_eq!(
            headers.columns,
            MappingColumns {
                promotion_code_id: Some(0),
                code: Some(1),
                referral_code: Some(3),
                email: Some(2),
                referrer: None,
            }
        );
        let r = row(&rows[0]);
        assert_eq!(r.line, 2);
        assert_eq!(r.promotion_code_id.as_deref(), Some("promo_1"));
        assert_eq!(r.code.as_deref(), Some("ANN10"));
        assert_eq!(r.email.as_deref(), Some("ann@example.com"));
        assert_eq!(r.referral_code.as_deref(), Some("ANN-7K4Q"));
    }

    #[test]
    fn stripes_export_with_a_metadata_column_is_read_as_it_is() {
        let (headers, rows) = read(
            "id,Code,Coupon ID,Active,referral_code (metadata)\npromo_1Mx,SPRING,co_1,true,JANE-7K4Q\n",
        )
        .unwrap();
        assert_eq!(headers.columns.promotion_code_id, Some(0));
        assert_eq!(headers.columns.code, Some(1));
        assert_eq!(headers.columns.referral_code, Some(4));
        assert_eq!(row(&rows[0]).referral_code.as_deref(), Some("JANE-7K4Q"));
    }

    #[test]
    fn a_referrer_column_holds_an_email_or_a_referral_code() {
        let (headers, rows) =
            read("code;referrer\r\nANN10;ann@example.com\r\nBOB10;BOB-1234\r\n").unwrap();
        let ann = row(&rows[0]);
        assert_eq!(ann.email.as_deref(), Some("ann@example.com"));
        assert_eq!(ann.referral_code, None);
        assert_eq!(headers.column(ann, Some("email")), "referrer");
        let bob = row(&rows[1]);
        assert_eq!(bob.referral_code.as_deref(), Some("BOB-1234"));
        assert_eq!(headers.column(bob, Some("referral_code")), "referrer");
        assert_eq!(headers.column(bob, Some("code")), "code");
        assert_eq!(headers.column(bob, None), "");
    }

    #[test]
    fn bad_rows_are_reported_with_their_line_and_the_rest_are_read() {
        let text = "\u{feff}code,email\n\nANN10,ann@example.com\n\"multi\nline\",b@example.com\n,c@example.com\nDAN10,\nEVE10\nFAY10,fay@example.com\n";
        let (_, rows) = read(text).unwrap();
        assert_eq!(rows.len(), 6);
        assert_eq!(row(&rows[0]).line, 3);
        assert_eq!(row(&rows[1]).code.as_deref(), Some("multi\nline"));
        assert_eq!(row(&rows[1]).line, 4);
        let no_code = invalid(&rows[2]);
        assert_eq!((no_code.line, no_code.column.as_str()), (6, ""));
        assert!(no_code.reason.contains("promotion code"), "{no_code:?}");
        let no_referrer = invalid(&rows[3]);
        assert_eq!(no_referrer.line, 7);
        assert!(no_referrer.reason.contains("referrer"), "{no_referrer:?}");
        let short = invalid(&rows[4]);
        assert_eq!(short.line, 8);
        assert_eq!(short.reason, "Expected 2 fields, found 1.");
        assert_eq!(row(&rows[5]).line, 9);
    }

    #[test]
    fn a_field_that_is_not_utf8_names_its_column() {
        let mut bytes = b"code\tref\n".to_vec();
        bytes.extend_from_slice(b"AB\xff\tJANE-7K4Q\n");
        let reader = PromotionCodeCsvReader::new(bytes.as_slice()).unwrap();
        let rows: Vec<MappingOutcome> = reader.collect();
        let e = invalid(&rows[0]);
        assert_eq!((e.line, e.column.as_str()), (2, "code"));
    }

    #[test]
    fn files_without_the_needed_columns_are_refused() {
        assert_eq!(read("").err(), Some(MappingHeaderError::Empty));
        assert_eq!(read("\n\n").err(), Some(MappingHeaderError::Empty));
        assert_eq!(
            read(",,\n1,2,3\n").err(),
            Some(MappingHeaderError::NoHeader)
        );
        assert!(matches!(
            read("code,amount\nA,1\n").err(),
            Some(MappingHeaderError::NoReferrerColumn { .. })
        ));
        let err = read("name,email\nAnn,ann@example.com\n").err().unwrap();
        assert!(matches!(
            err,
            MappingHeaderError::NoPromotionCodeColumn { .. }
        ));
        assert!(err.to_string().contains("\"name\", \"email\""), "{err}");
        assert!(matches!(
            read("promo_1,ann@example.com\n").err(),
            Some(MappingHeaderError::LooksLikeData { .. })
        ));
    }
}
