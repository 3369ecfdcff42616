//! Reading uploaded conversions CSV files.
//!
//! Business users upload conversions (orders, signups, qualified leads)
//! exported from shops, CRMs and spreadsheets. [`ConversionCsvReader`] streams
//! such a file in constant memory: it finds the header row, sniffs the
//! delimiter, maps columns to roles by header name ([`ColumnMap`]) and then
//! validates every row, yielding either a clean [`ConversionRow`] or a
//! [`RowError`] with the line, the column and a reason a person can act on.
//!
//! Only a broken header is fatal ([`HeaderError`]); a bad row never stops the
//! rest of the file. No database work happens here: referral codes are passed
//! through for the service to resolve.

use std::collections::VecDeque;
use std::io::{self, Chain, Cursor, Read};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc};
use csv::ByteRecord;
use sha2::{Digest, Sha256};

use crate::domain::{
    email::Email,
    rules::{currency_exponent, normalize_currency, normalize_event_name},
};

/// The most bytes any field may hold.
const MAX_FIELD_LEN: usize = 1000;

/// The most bytes an order / external id may hold.
const MAX_EXTERNAL_ID_LEN: usize = 200;

/// How far to look for the end of the header row when sniffing the delimiter.
const MAX_HEADER_PEEK: usize = 1 << 20;

/// The CSV parser's read buffer.
const CSV_BUFFER_CAPACITY: usize = 64 * 1024;

/// After this many CSV-level errors in a row the stream is given up.
const MAX_CONSECUTIVE_CSV_ERRORS: u32 = 100;

/// The UTF-8 byte order mark some editors put at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Accepted header names of the email column.
const EMAIL_NAMES: &[&str] = &[
    "email",
    "e-mail",
    "email address",
    "customer email",
    "friend email",
    "lead email",
    "contact email",
    "mail",
];

/// Accepted header names of the referral code column.
const CODE_NAMES: &[&str] = &[
    "referral code",
    "referral",
    "ref code",
    "ref",
    "referrer code",
    "code",
    "invite code",
];

/// Accepted header names of the promo / coupon code column.
const PROMO_NAMES: &[&str] = &[
    "promo code",
    "promo",
    "coupon",
    "coupon code",
    "discount code",
    "voucher",
    "voucher code",
    "promotion code",
];

/// Accepted header names of an amount in major units (12.50).
const AMOUNT_NAMES: &[&str] = &[
    "amount",
    "total",
    "order total",
    "value",
    "revenue",
    "price",
    "order value",
    "deal amount",
    "sum",
];

/// Accepted header names of an amount in minor units (1250).
const AMOUNT_MINOR_NAMES: &[&str] = &[
    "amount cents",
    "amount in cents",
    "cents",
    "amount minor",
    "amount_minor",
    "total cents",
];

/// Accepted header names of the currency column.
const CURRENCY_NAMES: &[&str] = &["currency", "currency code", "cur"];

/// Accepted header names of the event column.
const EVENT_NAMES: &[&str] = &[
    "event",
    "event name",
    "type",
    "event type",
    "status",
    "stage",
];

/// Accepted header names of the date column.
const DATE_NAMES: &[&str] = &[
    "date",
    "occurred at",
    "created at",
    "order date",
    "timestamp",
    "time",
    "close date",
    "converted at",
];

/// Accepted header names of the order / external id column.
const EXTERNAL_ID_NAMES: &[&str] = &[
    "order id",
    "order",
    "order number",
    "external id",
    "id",
    "transaction id",
    "reference",
    "ref id",
    "deal id",
    "invoice",
    "invoice id",
    "payment id",
];

/// Which column plays which role (indexes into the record), found by header
/// name.
///
/// Header names are matched case-insensitively, ignoring surrounding spaces
/// and treating `_`, `-`, `.` and spaces alike, so `Referral Code`,
/// `referral_code` and `REFERRAL-CODE` are the same. Unknown headers are
/// ignored; when two headers name the same role the first one wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ColumnMap {
    /// The friend's email address.
    pub email: Option<usize>,
    /// The referral code.
    pub code: Option<usize>,
    /// A promo / coupon / discount / voucher code.
    pub promo_code: Option<usize>,
    /// The amount of the conversion.
    pub amount: Option<usize>,
    /// Whether the amount header said cents / minor units, so amounts are
    /// whole numbers of minor units rather than decimals of major units.
    pub amount_is_minor: bool,
    /// The ISO 4217 currency code.
    pub currency: Option<usize>,
    /// The event name (signup, purchase, qualified, ...).
    pub event: Option<usize>,
    /// When the conversion happened.
    pub date: Option<usize>,
    /// The order id, external id, transaction id, deal id, invoice, ...
    pub external_id: Option<usize>,
}

/// The whole file cannot be read as a conversions CSV. The messages are shown
/// to the user as they are.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    /// There is nothing in the file (or only blank lines).
    #[error("The file is empty.")]
    Empty,
    /// The first row has no column names at all.
    #[error(
        "The first row has no column names. The file needs a header row, such as \"email,amount,date\"."
    )]
    NoHeader,
    /// The header row is not UTF-8 text (often a spreadsheet or another
    /// encoding).
    #[error(
        "The header row is not valid UTF-8 text. Save the file as \"CSV UTF-8\" and upload it again."
    )]
    NotUtf8,
    /// The first row holds data (an email address) rather than column names.
    #[error(
        "The first row looks like data, not column names (\"{first}\"). Add a header row, such as \"email,amount,date\"."
    )]
    LooksLikeData {
        /// The cell that looked like data.
        first: String,
    },
    /// None of the headers names an email, referral code or promo code
    /// column, so no row could be matched to a referral.
    #[error(
        "No email, referral code or promo code column found. Columns seen: {}. Accepted names: {}.",
        quoted_list(.seen),
        accepted_identifier_names()
    )]
    NoIdentifierColumn {
        /// The header names in the file.
        seen: Vec<String>,
    },
    /// Reading the file failed before the header row was complete.
    #[error("The file could not be read: {0}")]
    Unreadable(String),
}

/// One valid row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversionRow {
    /// The 1-based physical line where the record starts (the header is on
    /// line 1 unless blank lines precede it), counting quoted line breaks,
    /// CRLF, LF and lone CR line endings.
    pub line: u64,
    /// The external id, trimmed; or, when there is none, `row:` followed by
    /// the lowercase hex SHA-256 of the record's fields, each trimmed of
    /// ASCII whitespace and joined by `'\x1f'`. The hash is stable across
    /// re-uploads of the same data, whatever the delimiter, quoting or line
    /// endings.
    pub row_id: String,
    /// The email address, trimmed, with its domain lowercased; `None` if
    /// empty.
    pub email: Option<String>,
    /// The referral code, trimmed; `None` if empty. Not validated here.
    pub code: Option<String>,
    /// The promo / coupon code, trimmed; `None` if empty. Not validated here.
    pub promo_code: Option<String>,
    /// The amount in minor units of the currency (cents), negative for
    /// refunds.
    pub amount_minor: Option<i64>,
    /// The uppercase ISO 4217 code, from the currency column or else from the
    /// amount (`12.00 EUR`).
    pub currency: Option<String>,
    /// The event name, trimmed, lowercased, with runs of whitespace replaced
    /// by `_`.
    pub event: Option<String>,
    /// When the conversion happened, in UTC.
    pub occurred_at: Option<DateTime<Utc>>,
}

/// One invalid row: reported, never fatal.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// The 1-based physical line where the record starts.
    pub line: u64,
    /// The header of the offending column as in the file (trimmed), or `""`
    /// when the row as a whole is wrong.
    pub column: String,
    /// What is wrong, as an English sentence for the user.
    pub reason: String,
}

/// What one row of the file turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowOutcome {
    /// A valid row.
    Row(ConversionRow),
    /// An invalid row, to report to the user.
    Invalid(RowError),
}

/// A streaming reader of a conversions CSV file.
///
/// Memory stays constant however long the file is: the CSV buffers are
/// reused and only the strings of the returned row are allocated.
pub struct ConversionCsvReader<R: Read> {
    /// The records, with their lines.
    records: Records<R>,
    /// The header names, trimmed.
    headers: Vec<String>,
    /// The column roles.
    columns: ColumnMap,
    /// Bytes of byte order mark skipped before the parser's input.
    skipped: u64,
    /// Dates after this are in the future.
    latest_date: DateTime<Utc>,
}

/// The record loop every CSV reader here shares: physical line numbers, blank rows skipped, a
/// row the CSV parser rejects reported (and the rest of the file given up after an I/O error or
/// [`MAX_CONSECUTIVE_CSV_ERRORS`] bad rows in a row).
pub(crate) struct Records<R: Read> {
    /// The CSV parser, over the peeked header bytes followed by the rest.
    pub(crate) csv: csv::Reader<LineTracker<Chain<Cursor<Vec<u8>>, R>>>,
    /// The current record (reused).
    pub(crate) record: ByteRecord,
    /// Whether the stream has ended (end of file or an unrecoverable error).
    finished: bool,
    /// CSV-level errors since the last good record.
    consecutive_errors: u32,
}

/// Why a file's header row could not be read (each reader words it for its own file).
#[derive(Debug)]
pub(crate) enum HeaderProblem {
    /// Nothing in the file.
    Empty,
    /// Reading failed.
    Unreadable(String),
    /// The header row is not UTF-8.
    NotUtf8,
    /// The header row has no names.
    NoHeader,
}

impl<R: Read> Records<R> {
    /// Opens `reader`: strips a UTF-8 BOM, sniffs the delimiter, reads the header row. Returns the
    /// records after it, the trimmed header names and the BOM bytes skipped.
    pub(crate) fn open(mut reader: R) -> Result<(Self, Vec<String>, u64), HeaderProblem> {
        let (peeked, skipped, delimiter) =
            peek_header(&mut reader).map_err(|e| HeaderProblem::Unreadable(e.to_string()))?;
        let source = LineTracker::new(Cursor::new(peeked).chain(reader));
        let csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(CSV_BUFFER_CAPACITY)
            .from_reader(source);
        let mut records = Self {
            csv,
            record: ByteRecord::new(),
            finished: false,
            consecutive_errors: 0,
        };
        match records.read_record() {
            Ok(Some(_)) => {}
            Ok(None) => return Err(HeaderProblem::Empty),
            Err(e) => return Err(HeaderProblem::Unreadable(e.to_string())),
        }
        let mut names = Vec::with_capacity(records.record.len());
        for (i, field) in records.record.iter().enumerate() {
            let field = if i == 0 {
                field.strip_prefix(BOM).unwrap_or(field)
            } else {
                field
            };
            let text = std::str::from_utf8(field).map_err(|_| HeaderProblem::NotUtf8)?;
            names.push(text.trim().to_owned());
        }
        if names.iter().all(String::is_empty) {
            return Err(HeaderProblem::NoHeader);
        }
        Ok((records, names, skipped))
    }

    /// The trimmed text of column `index` of the current record (which starts on `line`);
    /// `None` when the column is absent or the field empty. A field over `max_len` bytes or not
    /// UTF-8 is refused, naming its column from `names` (the header row).
    pub(crate) fn text_field(
        &self,
        line: u64,
        index: Option<usize>,
        names: &[String],
        max_len: usize,
    ) -> Result<Option<String>, crate::types::ImportError> {
        let Some(bytes) = index.and_then(|i| self.record.get(i)) else {
            return Ok(None);
        };
        let error = |reason: String| crate::types::ImportError {
            line,
            column: index
                .and_then(|i| names.get(i))
                .cloned()
                .unwrap_or_default(),
            reason,
        };
        let bytes = bytes.trim_ascii();
        if bytes.len() > max_len {
            return Err(error(format!("Too long (max {max_len} characters).")));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| error("Not valid UTF-8 text; save the file as UTF-8.".to_owned()))?
            .trim();
        Ok((!text.is_empty()).then(|| text.to_owned()))
    }

    /// The next record that is not blank, in `self.record`, as the line it starts on; or the line
    /// and reason of a row that could not be read; `None` at the end.
    pub(crate) fn next(&mut self) -> Option<Result<u64, (u64, String)>> {
        while !self.finished {
            match self.read_record() {
                Ok(None) => self.finished = true,
                Ok(Some(line)) => {
                    self.consecutive_errors = 0;
                    if self.record.iter().all(|f| f.trim_ascii().is_empty()) {
                        continue;
                    }
                    return Some(Ok(line));
                }
                Err(error) => {
                    self.consecutive_errors += 1;
                    let line = error
                        .position()
                        .map_or_else(|| self.csv.get_ref().line, |p| p.line());
                    let fatal = error.is_io_error()
                        || self.consecutive_errors >= MAX_CONSECUTIVE_CSV_ERRORS;
                    let reason = if fatal {
                        self.finished = true;
                        format!("The rest of the file could not be read: {error}.")
                    } else {
                        format!("This row could not be read: {error}.")
                    };
                    return Some(Err((line, reason)));
                }
            }
        }
        None
    }

    /// Reads the next record into `self.record`, returning the line it starts on, or `None` at the
    /// end of the file.
    pub(crate) fn read_record(&mut self) -> Result<Option<u64>, csv::Error> {
        let start = self.csv.position().byte();
        let result = self.csv.read_byte_record(&mut self.record);
        let end = self.csv.position().byte();
        let line = self.csv.get_mut().record_span(start, end);
        result.map(|more| more.then_some(line))
    }
}

impl<R: Read> ConversionCsvReader<R> {
    /// Reads the header: strips a UTF-8 BOM, sniffs the delimiter (`,`, `;`
    /// or tab, whichever appears most often outside quotes in the header
    /// line; `,` on a tie), maps columns.
    ///
    /// # Errors
    ///
    /// A [`HeaderError`] when the file is empty, unreadable, has no usable
    /// header row, or has no email, referral code or promo code column.
    pub fn new(reader: R) -> Result<Self, HeaderError> {
        let (records, headers, skipped) =
            Records::open(reader).map_err(|problem| match problem {
                HeaderProblem::Empty => HeaderError::Empty,
                HeaderProblem::Unreadable(e) => HeaderError::Unreadable(e),
                HeaderProblem::NotUtf8 => HeaderError::NotUtf8,
                HeaderProblem::NoHeader => HeaderError::NoHeader,
            })?;
        let columns = map_columns(&headers);
        if columns.email.is_none() && columns.code.is_none() && columns.promo_code.is_none() {
            if let Some(first) = headers.iter().find(|h| Email::parse(h).is_ok()) {
                return Err(HeaderError::LooksLikeData {
                    first: first.clone(),
                });
            }
            return Err(HeaderError::NoIdentifierColumn { seen: headers });
        }
        Ok(Self {
            records,
            headers,
            columns,
            skipped,
            latest_date: Utc::now() + TimeDelta::days(1),
        })
    }

    /// The roles found for the columns.
    pub fn columns(&self) -> &ColumnMap {
        &self.columns
    }

    /// The header names as in the file, trimmed.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Bytes of the file consumed so far (for a progress bar against the
    /// file size). Reaches the file size at the end of the stream.
    pub fn bytes_read(&self) -> u64 {
        self.skipped + self.records.csv.position().byte()
    }

    /// The next row, or `None` at the end of the file.
    ///
    /// Blank lines and rows whose fields are all empty are skipped. A
    /// CSV-level error becomes a [`RowError`]; if the file cannot be read any
    /// further it is the last item.
    pub fn next_row(&mut self) -> Option<RowOutcome> {
        Some(match self.records.next()? {
            Ok(line) => match self.build_row(line) {
                Ok(row) => RowOutcome::Row(row),
                Err(error) => RowOutcome::Invalid(error),
            },
            Err((line, reason)) => RowOutcome::Invalid(RowError {
                line,
                column: String::new(),
                reason,
            }),
        })
    }

    /// Validates the record in `self.records.record`, which starts on `line`.
    fn build_row(&self, line: u64) -> Result<ConversionRow, RowError> {
        if self.records.record.len() != self.headers.len() {
            return Err(RowError {
                line,
                column: String::new(),
                reason: format!(
                    "Expected {} fields, found {}.",
                    self.headers.len(),
                    self.records.record.len()
                ),
            });
        }
        let cols = &self.columns;
        let email = self.field(line, cols.email)?;
        let code = self.field(line, cols.code)?;
        let promo_code = self.field(line, cols.promo_code)?;
        let external_id = self.field(line, cols.external_id)?;
        let currency = self.field(line, cols.currency)?;
        let amount = self.field(line, cols.amount)?;
        let event = self.field(line, cols.event)?;
        let date = self.field(line, cols.date)?;

        if email.is_none() && code.is_none() && promo_code.is_none() {
            return Err(RowError {
                line,
                column: String::new(),
                reason: "Needs an email or a referral code.".to_owned(),
            });
        }
        let email = match email {
            Some(text) => Some(
                Email::parse(text)
                    .map_err(|e| self.error(line, cols.email, e.to_string()))?
                    .as_str()
                    .to_owned(),
            ),
            None => None,
        };
        if external_id.is_some_and(|id| id.len() > MAX_EXTERNAL_ID_LEN) {
            return Err(self.error(
                line,
                cols.external_id,
                format!("Too long (max {MAX_EXTERNAL_ID_LEN} characters)."),
            ));
        }
        let mut currency = match currency {
            Some(text) => Some(normalize_currency(text).ok_or_else(|| {
                self.error(
                    line,
                    cols.currency,
                    "Currency should be a three-letter code like USD.",
                )
            })?),
            None => None,
        };
        let amount_minor = match amount {
            Some(text) if cols.amount_is_minor => Some(
                parse_minor_amount(text).map_err(|reason| self.error(line, cols.amount, reason))?,
            ),
            Some(text) => {
                let (minor, inline) = parse_major_amount(text, currency.as_deref())
                    .map_err(|reason| self.error(line, cols.amount, reason))?;
                if currency.is_none() {
                    currency = inline;
                }
                Some(minor)
            }
            None => None,
        };
        let event = match event {
            Some(text) => Some(normalize_event_name(text).ok_or_else(|| {
                self.error(
                    line,
                    cols.event,
                    "Event names are letters, digits, spaces, _ . or -, at most 80 characters.",
                )
            })?),
            None => None,
        };
        let occurred_at = match date {
            Some(text) => Some(
                parse_date(text, self.latest_date)
                    .map_err(|reason| self.error(line, cols.date, reason))?,
            ),
            None => None,
        };
        let row_id = match external_id {
            Some(id) => id.to_owned(),
            None => self.row_hash(),
        };
        Ok(ConversionRow {
            line,
            row_id,
            email,
            code: code.map(str::to_owned),
            promo_code: promo_code.map(str::to_owned),
            amount_minor,
            currency,
            event,
            occurred_at,
        })
    }

    /// The trimmed text of column `index` of the record, `None` when the
    /// column is absent or the field empty.
    fn field(&self, line: u64, index: Option<usize>) -> Result<Option<&str>, RowError> {
        let Some(bytes) = index.and_then(|i| self.records.record.get(i)) else {
            return Ok(None);
        };
        let bytes = bytes.trim_ascii();
        if bytes.len() > MAX_FIELD_LEN {
            return Err(self.error(
                line,
                index,
                format!("Too long (max {MAX_FIELD_LEN} characters)."),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| {
            self.error(line, index, "Not valid UTF-8 text; save the file as UTF-8.")
        })?;
        let text = text.trim();
        Ok((!text.is_empty()).then_some(text))
    }

    /// A row error on column `index` (or on the whole row when `None`).
    fn error(&self, line: u64, index: Option<usize>, reason: impl Into<String>) -> RowError {
        RowError {
            line,
            column: index
                .and_then(|i| self.headers.get(i))
                .cloned()
                .unwrap_or_default(),
            reason: reason.into(),
        }
    }

    /// `row:` and the hex SHA-256 of the record's trimmed fields joined by
    /// the unit separator.
    fn row_hash(&self) -> String {
        let mut hasher = Sha256::new();
        for (i, field) in self.records.record.iter().enumerate() {
            if i > 0 {
                hasher.update([0x1f]);
            }
            hasher.update(field.trim_ascii());
        }
        let mut hex_digest = [0u8; 64];
        hex::encode_to_slice(hasher.finalize(), &mut hex_digest)
            .expect("a 32-byte digest is 64 hex digits");
        let mut id = String::with_capacity(4 + hex_digest.len());
        id.push_str("row:");
        id.extend(hex_digest.iter().map(|&b| char::from(b)));
        id
    }
}

impl<R: Read> Iterator for ConversionCsvReader<R> {
    type Item = RowOutcome;

    fn next(&mut self) -> Option<RowOutcome> {
        self.next_row()
    }
}

/// Reads from `reader` up to the end of the first non-blank line (outside
/// quotes), so the delimiter can be sniffed before the CSV parser is built.
///
/// Returns the bytes read with any UTF-8 BOM removed, the length of the BOM
/// removed, and the delimiter.
pub(crate) fn peek_header<R: Read>(reader: &mut R) -> io::Result<(Vec<u8>, u64, u8)> {
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut chunk = [0u8; 8 * 1024];
    let mut eof = false;
    let mut fill = |buf: &mut Vec<u8>, eof: &mut bool| -> io::Result<()> {
        loop {
            match reader.read(&mut chunk) {
                Ok(0) => {
                    *eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    };
    while buf.len() < BOM.len() && !eof {
        fill(&mut buf, &mut eof)?;
    }
    let skipped = if buf.starts_with(BOM) {
        buf.drain(..BOM.len());
        BOM.len() as u64
    } else {
        0
    };

    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    let mut seen_content = false;
    let mut pos = 0;
    'scan: loop {
        while pos < buf.len() {
            let b = buf[pos];
            pos += 1;
            if in_quotes {
                in_quotes = b != b'"';
                continue;
            }
            match b {
                b'"' => {
                    in_quotes = true;
                    seen_content = true;
                }
                b'\r' | b'\n' if seen_content => break 'scan,
                b'\r' | b'\n' => {}
                b',' | b';' | b'\t' => {
                    let slot = match b {
                        b',' => 0,
                        b';' => 1,
                        _ => 2,
                    };
                    counts[slot] += 1;
                    seen_content = true;
                }
                _ => seen_content = true,
            }
        }
        if eof || buf.len() >= MAX_HEADER_PEEK {
            break;
        }
        fill(&mut buf, &mut eof)?;
    }
    let mut delimiter = b',';
    let mut best = counts[0];
    for (count, candidate) in [(counts[1], b';'), (counts[2], b'\t')] {
        if count > best {
            best = count;
            delimiter = candidate;
        }
    }
    Ok((buf, skipped, delimiter))
}

/// Passes bytes through while noting where line breaks are, so the line a
/// record starts on is known exactly (the CSV parser only counts `\n`, and
/// counts the blank lines it skips as part of the next record).
pub(crate) struct LineTracker<R> {
    /// The source.
    inner: R,
    /// Bytes read from the source so far.
    offset: u64,
    /// Offsets of `\r` and `\n` bytes read but not yet passed by the parser,
    /// and whether each is a `\r`.
    breaks: VecDeque<(u64, bool)>,
    /// The line of the next byte the parser will consume.
    pub(crate) line: u64,
    /// The offset of the last `\r` passed, so `\r\n` counts once.
    last_cr: Option<u64>,
}

impl<R> LineTracker<R> {
    /// Tracks lines of `inner`, starting at line 1.
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            offset: 0,
            breaks: VecDeque::new(),
            line: 1,
            last_cr: None,
        }
    }

    /// Passes the line break at the front of the queue.
    fn pass_break(&mut self) {
        if let Some((at, is_cr)) = self.breaks.pop_front() {
            if is_cr {
                self.line += 1;
                self.last_cr = Some(at);
            } else if at == 0 || self.last_cr != Some(at - 1) {
                self.line += 1;
            }
        }
    }

    /// The parser consumed bytes `start..end` for one record (after skipping
    /// any blank lines, as the parser does): returns the line where the
    /// record itself starts and moves past the record.
    pub(crate) fn record_span(&mut self, start: u64, end: u64) -> u64 {
        while self.breaks.front().is_some_and(|&(at, _)| at < start) {
            self.pass_break();
        }
        let mut at = start;
        while at < end && self.breaks.front().is_some_and(|&(b, _)| b == at) {
            self.pass_break();
            at += 1;
        }
        let line = self.line;
        while self.breaks.front().is_some_and(|&(b, _)| b < end) {
            self.pass_break();
        }
        line
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                result => break result?,
            }
        };
        for (i, &b) in buf[..n].iter().enumerate() {
            if b == b'\n' || b == b'\r' {
                self.breaks.push_back((self.offset + i as u64, b == b'\r'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// A header name reduced to lowercase words separated by single spaces.
pub(crate) fn normalize_header(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let words = name
        .split(|c: char| matches!(c, '_' | '-' | '.') || c.is_whitespace())
        .filter(|w| !w.is_empty());
    for word in words {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Whether the normalized header `normalized` is one of `names`.
fn is_one_of(normalized: &str, names: &[&str]) -> bool {
    names
        .iter()
        .any(|name| normalize_header(name) == normalized)
}

/// Maps header names to column roles; the first header of a role wins.
fn map_columns(headers: &[String]) -> ColumnMap {
    let mut map = ColumnMap::default();
    for (i, header) in headers.iter().enumerate() {
        let name = normalize_header(header);
        if name.is_empty() {
            continue;
        }
        let slot = if is_one_of(&name, EMAIL_NAMES) {
            &mut map.email
        } else if is_one_of(&name, CODE_NAMES) {
            &mut map.code
        } else if is_one_of(&name, PROMO_NAMES) {
            &mut map.promo_code
        } else if is_one_of(&name, AMOUNT_NAMES) || is_one_of(&name, AMOUNT_MINOR_NAMES) {
            if map.amount.is_none() {
                map.amount_is_minor = is_one_of(&name, AMOUNT_MINOR_NAMES);
            }
            &mut map.amount
        } else if is_one_of(&name, CURRENCY_NAMES) {
            &mut map.currency
        } else if is_one_of(&name, EVENT_NAMES) {
            &mut map.event
        } else if is_one_of(&name, DATE_NAMES) {
            &mut map.date
        } else if is_one_of(&name, EXTERNAL_ID_NAMES) {
            &mut map.external_id
        } else {
            continue;
        };
        slot.get_or_insert(i);
    }
    map
}

/// `"a", "b"` for a header error; blank headers show as `(blank)`.
pub(crate) fn quoted_list(items: &[String]) -> String {
    let shown: Vec<String> = items
        .iter()
        .map(|h| {
            if h.is_empty() {
                "(blank)".to_owned()
            } else {
                format!("\"{h}\"")
            }
        })
        .collect();
    shown.join(", ")
}

/// The accepted names of the identifier columns, for the header error.
fn accepted_identifier_names() -> String {
    [EMAIL_NAMES, CODE_NAMES, PROMO_NAMES].concat().join(", ")
}

/// `text` in quotes for a message, cut short if long.
fn shown(text: &str) -> String {
    const MAX_SHOWN: usize = 40;
    match text.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("\"{}…\"", &text[..cut]),
        None => format!("\"{text}\""),
    }
}

/// An amount already in minor units: an optional sign and digits only.
/// Reads an amount as people and tools write it (see the rules on `parse_major_amount`), or, when
/// `minor` is set, as a whole number of minor units. Returns minor units and any currency code
/// written inline ("12.00 EUR"). Inbound webhooks use this too, so amounts read the same
/// everywhere.
pub fn parse_amount(
    text: &str,
    currency: Option<&str>,
    minor: bool,
) -> Result<(i64, Option<String>), String> {
    if minor {
        parse_minor_amount(text.trim()).map(|m| (m, None))
    } else {
        parse_major_amount(text.trim(), currency)
    }
}

fn parse_minor_amount(text: &str) -> Result<i64, String> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(
            if text
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b','))
            {
                format!(
                    "Amount is in cents, so it should be a whole number: {}.",
                    shown(text)
                )
            } else {
                format!("Amount is not a number: {}.", shown(text))
            },
        );
    }
    let mut value: i64 = 0;
    for b in digits.bytes() {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or_else(|| "Amount is too large.".to_owned())?;
    }
    Ok(if negative { -value } else { value })
}

/// The currency symbols accepted before or after an amount. They do not
/// imply a currency (`$` is many currencies).
const CURRENCY_SYMBOLS: [char; 4] = ['$', '€', '£', '¥'];

/// Characters accepted as thousands separators besides `.` and `,`: spaces,
/// no-break spaces and apostrophes (`1'234.50`).
fn is_group_space(c: char) -> bool {
    matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'' | '’')
}

/// Removes a leading `+`/`-` (or `−`), returning whether it was a minus.
fn take_sign(text: &str) -> (Option<bool>, &str) {
    let mut chars = text.chars();
    match chars.next() {
        Some('-' | '−') => (Some(true), chars.as_str().trim_start()),
        Some('+') => (Some(false), chars.as_str().trim_start()),
        _ => (None, text),
    }
}

/// Why a decimal amount was rejected.
enum AmountError {
    /// Not a number at all.
    NotANumber,
    /// More decimals than the currency's minor unit.
    TooManyDecimals,
    /// Does not fit in minor units.
    TooLarge,
}

/// Parses an amount in major units into minor units of the currency,
/// returning also a currency code written in the amount (`12.00 EUR`).
///
/// Accepted: an optional sign; a currency symbol (`$ € £ ¥`) or an ISO code
/// before or after the number, with or without a space; thousands
/// separators (`,` `.` spaces, no-break spaces, `'`); a decimal point or
/// comma.
///
/// The decimal separator is decided like this:
/// - if both `.` and `,` appear, the last one is the decimal separator (it
///   must appear once) and the other separates thousands: `1,234.56` and
///   `1.234,56` are both 1234.56;
/// - if only one of them appears, more than once, it separates thousands:
///   `1,234,567`;
/// - if only one of them appears, once, it is the decimal separator unless
///   exactly 3 digits follow it (and the currency does not have 3 decimals,
///   and the integer part is not 0), in which case it separates thousands:
///   `12,5` is 12.50, `12,50` is 12.50, `1,234` is 1234, `0,123` is 0.123.
///
/// Thousands groups must look like groups (1-3 digits first, then 2-3,
/// the last 3). More decimals than the currency allows is an error, except
/// for trailing zeros (`1000.00` JPY is 1000 yen).
fn parse_major_amount(
    text: &str,
    column_currency: Option<&str>,
) -> Result<(i64, Option<String>), String> {
    let not_a_number = || format!("Amount is not a number: {}.", shown(text));

    let (sign_before, mut rest) = take_sign(text);
    let mut inline: Option<&str> = None;
    if let Some(after) = rest.strip_prefix(CURRENCY_SYMBOLS) {
        rest = after.trim_start();
    } else if let Some((code, after)) = split_code_prefix(rest) {
        inline = Some(code);
        rest = after.trim_start();
    }
    let (sign_after, after_sign) = take_sign(rest);
    rest = after_sign;
    if let Some(before) = rest.strip_suffix(CURRENCY_SYMBOLS) {
        rest = before.trim_end();
    } else if let Some((before, code)) = split_code_suffix(rest) {
        if inline.is_some() {
            return Err(not_a_number());
        }
        inline = Some(code);
        rest = before.trim_end();
    }
    let negative = match (sign_before, sign_after) {
        (Some(_), Some(_)) => return Err(not_a_number()),
        (Some(minus), None) | (None, Some(minus)) => minus,
        (None, None) => false,
    };

    let inline = inline.map(str::to_ascii_uppercase);
    if let (Some(column), Some(written)) = (column_currency, inline.as_deref())
        && column != written
    {
        return Err(format!(
            "Amount is in {written} but the currency column says {column}."
        ));
    }
    let currency = column_currency.or(inline.as_deref());
    let exponent = currency.map_or(2, currency_exponent);
    let magnitude = match parse_decimal(rest, exponent) {
        Ok(value) => value,
        Err(AmountError::NotANumber) => return Err(not_a_number()),
        Err(AmountError::TooLarge) => return Err("Amount is too large.".to_owned()),
        Err(AmountError::TooManyDecimals) => {
            return Err(match currency {
                Some(code) => format!("Amount has more decimals than {code} allows."),
                None => format!("Amount has more than {exponent} decimals."),
            });
        }
    };
    Ok((if negative { -magnitude } else { magnitude }, inline))
}

/// A three-letter code at the start of `text`, not followed by a letter.
fn split_code_prefix(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    (bytes.len() > 3
        && bytes[..3].iter().all(u8::is_ascii_alphabetic)
        && !bytes[3].is_ascii_alphabetic())
    .then(|| text.split_at(3))
}

/// A three-letter code at the end of `text`, not preceded by a letter.
fn split_code_suffix(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    let cut = bytes.len().checked_sub(3)?;
    (cut > 0
        && bytes[cut..].iter().all(u8::is_ascii_alphabetic)
        && !bytes[cut - 1].is_ascii_alphabetic())
    .then(|| text.split_at(cut))
}

/// The unsigned number in `text` in units of 10^-`exponent`; see
/// [`parse_major_amount`] for the separator rules.
fn parse_decimal(text: &str, exponent: u32) -> Result<i64, AmountError> {
    // Normalize into ASCII digits, '.', ',' and ' ' (any group space).
    let mut buf = [0u8; 64];
    let mut len = 0;
    for c in text.chars() {
        let b = match c {
            '0'..='9' | '.' | ',' => c as u8,
            c if is_group_space(c) => b' ',
            _ => return Err(AmountError::NotANumber),
        };
        if len == buf.len() {
            return Err(AmountError::TooLarge);
        }
        buf[len] = b;
        len += 1;
    }
    let s = &buf[..len];
    let count = |c: u8| s.iter().filter(|&&b| b == c).count();
    let (dots, commas) = (count(b'.'), count(b','));
    let last = |c: u8| s.iter().rposition(|&b| b == c);

    let decimal_at = match (dots, commas) {
        (0, 0) => None,
        (1, 0) | (0, 1) => {
            let at = last(b'.').or(last(b',')).ok_or(AmountError::NotANumber)?;
            let after = &s[at + 1..];
            let integer_is_zero = s[..at].iter().all(|&b| b == b'0' || b == b' ');
            if after.len() == 3 && exponent != 3 && !integer_is_zero {
                None
            } else {
                Some(at)
            }
        }
        (_, 0) | (0, _) => None,
        _ => {
            let (at, c) = match (last(b'.'), last(b',')) {
                (Some(dot), Some(comma)) if dot > comma => (dot, b'.'),
                (_, Some(comma)) => (comma, b','),
                _ => return Err(AmountError::NotANumber),
            };
            if count(c) != 1 {
                return Err(AmountError::NotANumber);
            }
            Some(at)
        }
    };
    let (integer, fraction) = match decimal_at {
        Some(at) => (&s[..at], &s[at + 1..]),
        None => (s, &s[..0]),
    };
    if !fraction.iter().all(u8::is_ascii_digit) || (integer.is_empty() && fraction.is_empty()) {
        return Err(AmountError::NotANumber);
    }
    let groups: Vec<&[u8]> = integer.split(|b| !b.is_ascii_digit()).collect();
    if groups.len() > 1 {
        let last_index = groups.len() - 1;
        let well_formed = groups.iter().enumerate().all(|(i, g)| match i {
            0 => (1..=3).contains(&g.len()),
            i if i == last_index => g.len() == 3,
            _ => (2..=3).contains(&g.len()),
        });
        if !well_formed {
            return Err(AmountError::NotANumber);
        }
    }
    let mut fraction = fraction;
    while fraction.len() > exponent as usize && fraction.last() == Some(&b'0') {
        fraction = &fraction[..fraction.len() - 1];
    }
    if fraction.len() > exponent as usize {
        return Err(AmountError::TooManyDecimals);
    }
    let mut value: i64 = 0;
    let padding = exponent as usize - fraction.len();
    let digits = groups
        .iter()
        .flat_map(|g| g.iter())
        .chain(fraction)
        .chain(std::iter::repeat_n(&b'0', padding));
    for &b in digits {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or(AmountError::TooLarge)?;
    }
    Ok(value)
}

/// Parses a date or timestamp, naive ones as UTC.
///
/// Accepted: RFC 3339 (`2026-03-04T10:30:00+01:00`); `YYYY-MM-DD` or
/// `YYYY/MM/DD`, optionally followed by ` ` or `T` and `HH:MM[:SS[.fff]]`
/// (and an optional `Z`); unix seconds (9 to 11 digits); and day-month-year
/// forms when they are unambiguous: `DD.MM.YYYY` (dots are always
/// day-first), and `DD/MM/YYYY` or `MM/DD/YYYY` when one part is over 12 or
/// both parts are equal. Dates after `latest` are rejected as in the future
/// (the reader passes now plus one day).
fn parse_date(text: &str, latest: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let unrecognised = || format!("Unrecognised date {}; use YYYY-MM-DD.", shown(text));
    let parsed = if text.bytes().all(|b| b.is_ascii_digit()) {
        if !(9..=11).contains(&text.len()) {
            return Err(unrecognised());
        }
        let seconds: i64 = text.parse().map_err(|_| unrecognised())?;
        Utc.timestamp_opt(seconds, 0)
            .single()
            .ok_or_else(unrecognised)?
    } else if let Ok(datetime) = DateTime::parse_from_rfc3339(text) {
        datetime.with_timezone(&Utc)
    } else {
        let (date_part, time_part) = match text.find([' ', 'T', 't']) {
            Some(at) => (&text[..at], Some(text[at + 1..].trim())),
            None => (text, None),
        };
        let date = match parse_calendar_date(date_part) {
            Ok(date) => date,
            Err(DateError::Ambiguous) => {
                return Err(format!(
                    "Ambiguous date {}; use YYYY-MM-DD.",
                    shown(date_part)
                ));
            }
            Err(DateError::Unrecognised) => return Err(unrecognised()),
        };
        let time = match time_part {
            Some(time) => parse_time(time).ok_or_else(unrecognised)?,
            None => NaiveTime::MIN,
        };
        NaiveDateTime::new(date, time).and_utc()
    };
    if parsed > latest {
        return Err("Date is in the future.".to_owned());
    }
    Ok(parsed)
}

/// Why a calendar date was rejected.
enum DateError {
    /// Could be day-month or month-day.
    Ambiguous,
    /// Not a date.
    Unrecognised,
}

/// `YYYY-MM-DD`, `YYYY/MM/DD`, `YYYY.MM.DD`, `DD.MM.YYYY`, or an
/// unambiguous `DD/MM/YYYY` / `MM/DD/YYYY` (also with `-`).
fn parse_calendar_date(text: &str) -> Result<NaiveDate, DateError> {
    let separator = text
        .bytes()
        .find(|b| matches!(b, b'-' | b'/' | b'.'))
        .ok_or(DateError::Unrecognised)?;
    let mut parts = text.split(char::from(separator));
    let (Some(a), Some(b), Some(c), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DateError::Unrecognised);
    };
    let number = |part: &str, max_len: usize| -> Result<u32, DateError> {
        if part.is_empty() || part.len() > max_len || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DateError::Unrecognised);
        }
        part.parse().map_err(|_| DateError::Unrecognised)
    };
    let (year, month, day) = if a.len() == 4 {
        (number(a, 4)?, number(b, 2)?, number(c, 2)?)
    } else if c.len() == 4 {
        let (first, second, year) = (number(a, 2)?, number(b, 2)?, number(c, 4)?);
        if separator == b'.' || (first > 12 && second <= 12) {
            (year, second, first)
        } else if second > 12 && first <= 12 {
            (year, first, second)
        } else if first == second {
            (year, first, first)
        } else if first <= 12 && second <= 12 {
            return Err(DateError::Ambiguous);
        } else {
            return Err(DateError::Unrecognised);
        }
    } else {
        return Err(DateError::Unrecognised);
    };
    let year = i32::try_from(year).map_err(|_| DateError::Unrecognised)?;
    NaiveDate::from_ymd_opt(year, month, day).ok_or(DateError::Unrecognised)
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fff`, optionally followed by `Z`.
fn parse_time(text: &str) -> Option<NaiveTime> {
    let text = text.strip_suffix(['Z', 'z']).map_or(text, str::trim_end);
    let mut parts = text.split(':');
    let hour = parts.next()?;
    let minute = parts.next()?;
    let second = parts.next();
    if parts.next().is_some() {
        return None;
    }
    let small = |part: &str| -> Option<u32> {
        if (1..=2).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (seconds, nanos) = match second {
        None => (0, 0),
        Some(second) => match second.split_once('.') {
            None => (small(second)?, 0),
            Some((whole, fraction)) => {
                if fraction.is_empty()
                    || fraction.len() > 9
                    || !fraction.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                let scale = 10u32.pow(9 - fraction.len() as u32);
                (small(whole)?, fraction.parse::<u32>().ok()? * scale)
            }
        },
    };
    NaiveTime::from_hms_nano_opt(small(hour)?, small(minute)?, seconds, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::email::EmailError;
    use proptest::prelude::*;

    /// A reader over `input`, which must have a valid header.
    fn reader(input: &str) -> ConversionCsvReader<&[u8]> {
        ConversionCsvReader::new(input.as_bytes()).expect("valid header")
    }

    /// All outcomes of `input`.
    fn outcomes(input: &[u8]) -> Vec<RowOutcome> {
        ConversionCsvReader::new(input)
            .expect("valid header")
            .collect()
    }

    /// The rows of `input`, which must all be valid.
    fn rows(input: &str) -> Vec<ConversionRow> {
        outcomes(input.as_bytes())
            .into_iter()
            .map(|o| match o {
                RowOutcome::Row(row) => row,
                RowOutcome::Invalid(e) => panic!("unexpected row error {e:?}"),
            })
            .collect()
    }

    /// The only outcome of `input`, which must be an error.
    fn only_error(input: &str) -> RowError {
        let mut all = outcomes(input.as_bytes());
        assert_eq!(all.len(), 1, "{all:?}");
        match all.remove(0) {
            RowOutcome::Invalid(e) => e,
            RowOutcome::Row(row) => panic!("expected an error, got {row:?}"),
        }
    }

    fn row_error(line: u64, column: &str, reason: &str) -> RowError {
        RowError {
            line,
            column: column.to_owned(),
            reason: reason.to_owned(),
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_bom_never_reaches_the_first_header() {
        let input = "\u{feff}Email,Amount\r\njane@example.com,12.50\r\n";
        let mut r = reader(input);
        assert_eq!(r.headers(), ["Email", "Amount"]);
        assert_eq!(r.columns().email, Some(0));
        let Some(RowOutcome::Row(row)) = r.next_row() else {
            panic!("expected a row");
        };
        assert_eq!(row.email.as_deref(), Some("jane@example.com"));
        assert_eq!(row.amount_minor, Some(1250));
        assert!(r.next_row().is_none());
        assert_eq!(r.bytes_read(), input.len() as u64);
    }

    #[test]
    fn crlf_rows_have_the_right_lines_and_no_stray_carriage_returns() {
        let input = "email,code\r\na@example.com,AB12\r\n\r\nb@example.com,CD34\r\n";
        let rows = rows(input);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[0].code.as_deref()), (2, Some("AB12")));
        assert_eq!((rows[1].line, rows[1].code.as_deref()), (4, Some("CD34")));
    }

    #[test]
    fn lone_carriage_returns_end_lines_too() {
        let rows = rows("email\ra@example.com\r\rb@example.com\r");
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 4]);
    }

    #[test]
    fn quoted_newlines_and_delimiters_keep_later_line_numbers_right() {
        let input = "email,code,notes\n\
                     a@example.com,AB,\"line one\nline two, with comma\nline three\"\n\
                     b@example.com,\"C\"\"D\",x\n\
                     bad,EF,y\n";
        let all = outcomes(input.as_bytes());
        assert_eq!(all.len(), 3);
        let RowOutcome::Row(first) = &all[0] else {
            panic!("{all:?}")
        };
        assert_eq!(first.line, 2);
        let RowOutcome::Row(second) = &all[1] else {
            panic!("{all:?}")
        };
        assert_eq!((second.line, second.code.as_deref()), (5, Some("C\"D")));
        assert_eq!(
            all[2],
            RowOutcome::Invalid(row_error(6, "email", &EmailError::Invalid.to_string()))
        );
    }

    #[test]
    fn semicolons_with_decimal_commas() {
        let input = "E-Mail;Referral Code;Betrag;Currency;Datum\n\
                     a@example.com;AB12;1.234,56;EUR;2026-01-02\n\
                     b@example.com;AB12;12,5;eur;\n";
        let mut r = reader(input);
        assert_eq!(
            *r.columns(),
            ColumnMap {
                email: Some(0),
                code: Some(1),
                currency: Some(3),
                ..ColumnMap::default()
            }
        );
        let Some(RowOutcome::Row(row)) = r.next_row() else {
            panic!("expected a row")
        };
        // "Betrag" is not an accepted header, so no amount is read.
        assert_eq!(row.amount_minor, None);
        assert_eq!(row.currency.as_deref(), Some("EUR"));

        let input = "email;amount;currency\na@example.com;1.234,56;EUR\nb@example.com;12,5;eur\n";
        let rows = rows(input);
        assert_eq!(rows[0].amount_minor, Some(123_456));
        assert_eq!(
            (rows[1].amount_minor, rows[1].currency.as_deref()),
            (Some(1250), Some("EUR"))
        );
    }

    #[test]
    fn tabs_are_sniffed() {
        let rows = rows("email\tamount\tevent\na@example.com\t1,234.00\tOrder  Paid\n");
        assert_eq!(rows[0].amount_minor, Some(123_400));
        assert_eq!(rows[0].event.as_deref(), Some("order_paid"));
    }

    #[test]
    fn delimiters_inside_quoted_headers_are_not_counted() {
        let r = reader("\"a,b,c,d\";email;code\nx;a@example.com;AB\n");
        assert_eq!(r.headers(), ["a,b,c,d", "email", "code"]);
        assert_eq!(r.columns().code, Some(2));
    }

    #[test]
    fn header_spellings_map_to_roles() {
        let r = reader(
            " Customer_Email ,REFERRAL-CODE,Coupon Code,Order.Total,Currency Code,Event Type,\
             created_at,Transaction ID,Favourite Colour",
        );
        assert_eq!(
            *r.columns(),
            ColumnMap {
                email: Some(0),
                code: Some(1),
                promo_code: Some(2),
                amount: Some(3),
                amount_is_minor: false,
                currency: Some(4),
                event: Some(5),
                date: Some(6),
                external_id: Some(7),
            }
        );
        assert_eq!(r.headers()[0], "Customer_Email");

        let cases = [
            ("e-mail", "email"),
            ("Mail", "email"),
            ("ref", "code"),
            ("Invite Code", "code"),
            ("VOUCHER", "promo"),
            ("promotion_code", "promo"),
            ("revenue", "amount"),
            ("Deal Amount", "amount"),
            ("cur", "currency"),
            ("stage", "event"),
            ("Close Date", "date"),
            ("timestamp", "date"),
            ("id", "external_id"),
            ("Ref ID", "external_id"),
            ("Invoice", "external_id"),
            ("order", "external_id"),
        ];
        for (header, role) in cases {
            let identifier = ["email", "code", "promo"].contains(&role);
            let first = if identifier { "notes" } else { "email" };
            let columns = reader(&format!("{first},{header}\n")).columns().clone();
            let index = match role {
                "email" => columns.email,
                "code" => columns.code,
                "promo" => columns.promo_code,
                "amount" => columns.amount,
                "currency" => columns.currency,
                "event" => columns.event,
                "date" => columns.date,
                _ => columns.external_id,
            };
            assert_eq!(index, Some(1), "{header}");
        }
        let r = reader("Code,email,Referral Code,E-Mail\n");
        assert_eq!((r.columns().code, r.columns().email), (Some(0), Some(1)));
    }

    #[test]
    fn minor_unit_headers_set_the_flag_and_the_first_amount_wins() {
        for header in [
            "Amount Cents",
            "amount_in_cents",
            "cents",
            "amount_minor",
            "Total-Cents",
        ] {
            let input = format!("email,{header},amount\n");
            let r = reader(&input);
            assert_eq!(r.columns().amount, Some(1), "{header}");
            assert!(r.columns().amount_is_minor, "{header}");
        }
        let r = reader("email,total,amount cents,mail\n");
        assert_eq!(
            (r.columns().amount, r.columns().amount_is_minor),
            (Some(1), false)
        );
        assert_eq!(r.columns().email, Some(0));
    }

    #[test]
    fn a_header_without_an_identifier_column_is_rejected() {
        let error = ConversionCsvReader::new("Name,Total,\n".as_bytes())
            .err()
            .expect("no identifier");
        assert_eq!(
            error,
            HeaderError::NoIdentifierColumn {
                seen: vec!["Name".to_owned(), "Total".to_owned(), String::new()]
            }
        );
        let message = error.to_string();
        assert!(
            message.contains("Columns seen: \"Name\", \"Total\", (blank)."),
            "{message}"
        );
        assert!(message.contains("email, e-mail"), "{message}");
        assert!(message.contains("referral code"), "{message}");
        assert!(message.contains("coupon"), "{message}");
    }

    #[test]
    fn broken_headers_are_reported() {
        let error = |input: &[u8]| ConversionCsvReader::new(input).err().expect("an error");
        assert_eq!(error(b""), HeaderError::Empty);
        assert_eq!(error(b"\xEF\xBB\xBF"), HeaderError::Empty);
        assert_eq!(error(b"\r\n\n\r\n"), HeaderError::Empty);
        assert_eq!(error(b",,\na,b,c\n"), HeaderError::NoHeader);
        assert_eq!(error(b"em\xE9il,code\n"), HeaderError::NotUtf8);
        assert_eq!(
            error(b"jane@example.com,12.00\n"),
            HeaderError::LooksLikeData {
                first: "jane@example.com".to_owned()
            }
        );
    }

    #[test]
    fn the_header_may_follow_blank_lines() {
        let rows = rows("\n\nemail\na@example.com\n");
        assert_eq!(rows[0].line, 4);
    }

    #[test]
    fn rows_without_any_identifier_are_rejected() {
        let input = "email,code,promo code,amount\n,,,12.00\n,,SUMMER,\n";
        let all = outcomes(input.as_bytes());
        assert_eq!(
            all[0],
            RowOutcome::Invalid(row_error(2, "", "Needs an email or a referral code."))
        );
        let RowOutcome::Row(row) = &all[1] else {
            panic!("{all:?}")
        };
        assert_eq!(
            (row.line, row.promo_code.as_deref(), row.email.as_ref()),
            (3, Some("SUMMER"), None)
        );
    }

    #[test]
    fn every_rule_reports_its_line_and_column() {
        let header = "Email,Code,Amount,Currency,Date,Order ID\n";
        let long = "x".repeat(1001);
        let long_id = "x".repeat(201);
        let cases: Vec<(String, &str, String)> = vec![
            (
                "not-an-email,,,,,".to_owned(),
                "Email",
                EmailError::Invalid.to_string(),
            ),
            (
                "a@localhost,,,,,".to_owned(),
                "Email",
                EmailError::InvalidDomain.to_string(),
            ),
            (
                ",AB,twelve,,,".to_owned(),
                "Amount",
                "Amount is not a number: \"twelve\".".to_owned(),
            ),
            (
                ",AB,12.345.6,,,".to_owned(),
                "Amount",
                "Amount is not a number: \"12.345.6\".".to_owned(),
            ),
            (
                ",AB,1.5,JPY,,".to_owned(),
                "Amount",
                "Amount has more decimals than JPY allows.".to_owned(),
            ),
            (
                ",AB,12.3456,,,".to_owned(),
                "Amount",
                "Amount has more than 2 decimals.".to_owned(),
            ),
            (
                ",AB,99999999999999999999,,,".to_owned(),
                "Amount",
                "Amount is too large.".to_owned(),
            ),
            (
                ",AB,12.00 EUR,USD,,".to_owned(),
                "Amount",
                "Amount is in EUR but the currency column says USD.".to_owned(),
            ),
            (
                ",AB,12,US Dollar,,".to_owned(),
                "Currency",
                "Currency should be a three-letter code like USD.".to_owned(),
            ),
            (
                ",AB,,,03/04/2026,".to_owned(),
                "Date",
                "Ambiguous date \"03/04/2026\"; use YYYY-MM-DD.".to_owned(),
            ),
            (
                ",AB,,,last tuesday,".to_owned(),
                "Date",
                "Unrecognised date \"last tuesday\"; use YYYY-MM-DD.".to_owned(),
            ),
            (
                ",AB,,,2999-01-01,".to_owned(),
                "Date",
                "Date is in the future.".to_owned(),
            ),
            (
                format!(",{long},,,,"),
                "Code",
                "Too long (max 1000 characters).".to_owned(),
            ),
            (
                format!(",AB,,,,{long_id}"),
                "Order ID",
                "Too long (max 200 characters).".to_owned(),
            ),
        ];
        for (row, column, reason) in cases {
            let input = format!("{header}\n{row}\n");
            assert_eq!(only_error(&input), row_error(3, column, &reason), "{row}");
        }
    }

    #[test]
    fn a_row_that_is_not_utf8_is_reported_and_the_next_is_read() {
        let input = b"email,code\na@example.com,A\xE9B\nb@example.com,CD\n";
        let all = outcomes(input);
        assert_eq!(
            all[0],
            RowOutcome::Invalid(row_error(
                2,
                "code",
                "Not valid UTF-8 text; save the file as UTF-8."
            ))
        );
        let RowOutcome::Row(row) = &all[1] else {
            panic!("{all:?}")
        };
        assert_eq!((row.line, row.code.as_deref()), (3, Some("CD")));
        assert_eq!(all.len(), 2);
    }

    #[test]
    fn bytes_that_are_not_utf8_in_ignored_columns_are_fine() {
        let rows = rows_from_bytes(b"email,name\na@example.com,Jos\xE9\n");
        assert_eq!(rows.len(), 1);
        assert!(rows[0].row_id.starts_with("row:"));
    }

    fn rows_from_bytes(input: &[u8]) -> Vec<ConversionRow> {
        outcomes(input)
            .into_iter()
            .filter_map(|o| match o {
                RowOutcome::Row(row) => Some(row),
                RowOutcome::Invalid(_) => None,
            })
            .collect()
    }

    #[test]
    fn a_wrong_field_count_is_a_row_error() {
        let input =
            "email,code,amount\na@example.com,AB\nb@example.com,AB,1,extra\nc@example.com,AB,1\n";
        let all = outcomes(input.as_bytes());
        assert_eq!(
            all[0],
            RowOutcome::Invalid(row_error(2, "", "Expected 3 fields, found 2."))
        );
        assert_eq!(
            all[1],
            RowOutcome::Invalid(row_error(3, "", "Expected 3 fields, found 4."))
        );
        assert!(matches!(&all[2], RowOutcome::Row(row) if row.line == 4));
    }

    #[test]
    fn row_ids_come_from_the_external_id_or_a_stable_hash() {
        let input = "order id,email,amount\n A-1 ,a@example.com,10\n,a@example.com,10\n,a@example.com,10\n,a@example.com,11\n";
        let found = rows(input);
        assert_eq!(found[0].row_id, "A-1");
        let hashed = &found[1].row_id;
        let hex_part = hashed.strip_prefix("row:").expect("row: prefix");
        assert_eq!(hex_part.len(), 64);
        assert!(
            hex_part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_eq!(found[2].row_id, *hashed);
        assert_ne!(found[3].row_id, *hashed);

        let expected = format!(
            "row:{}",
            hex::encode(Sha256::digest(b"\x1fa@example.com\x1f10"))
        );
        assert_eq!(*hashed, expected);

        // Same data with other delimiters, quoting, padding and line endings.
        let again = rows("order id;email;amount\r\n;\"a@example.com\" ; 10 \r\n");
        assert_eq!(again[0].row_id, *hashed);
    }

    #[test]
    fn empty_lines_and_rows_are_skipped() {
        let input = "email,code\n\na@example.com,A\n,\n  ,  \n\nb@example.com,B";
        let rows = rows(input);
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].line, rows[1].line), (3, 7));
    }

    #[test]
    fn values_are_normalized() {
        let rows = rows(
            "email,referral code,coupon,amount,currency,event,date\n\
             \u{a0}Jane@Example.COM , ab12 , SAVE10 ,12 eur,, Qualified  Lead ,2026-01-02T03:04:05Z\n",
        );
        let row = &rows[0];
        assert_eq!(row.email.as_deref(), Some("Jane@example.com"));
        assert_eq!(row.code.as_deref(), Some("ab12"));
        assert_eq!(row.promo_code.as_deref(), Some("SAVE10"));
        assert_eq!(row.amount_minor, Some(1200));
        assert_eq!(row.currency.as_deref(), Some("EUR"));
        assert_eq!(row.event.as_deref(), Some("qualified_lead"));
        assert_eq!(row.occurred_at, Some(utc("2026-01-02T03:04:05Z")));
    }

    #[test]
    fn amounts() {
        // (amount, currency, in cents?, expected)
        let cases: [(&str, &str, bool, Result<i64, &str>); 34] = [
            ("1,234.56", "", false, Ok(123_456)),
            ("1.234,56", "", false, Ok(123_456)),
            ("12,5", "", false, Ok(1250)),
            ("12,50", "", false, Ok(1250)),
            ("€12,50", "", false, Ok(1250)),
            ("12,50 €", "", false, Ok(1250)),
            ("$1,234", "", false, Ok(123_400)),
            ("1,234,567", "", false, Ok(123_456_700)),
            ("1 234 567,89", "", false, Ok(123_456_789)),
            ("1\u{a0}234,5", "", false, Ok(123_450)),
            ("1'234.50", "CHF", false, Ok(123_450)),
            ("1,23,456.00", "INR", false, Ok(12_345_600)),
            ("0,123", "", false, Err("Amount has more than 2 decimals.")),
            ("USD 10", "", false, Ok(1000)),
            ("USD10", "USD", false, Ok(1000)),
            ("12.00 EUR", "", false, Ok(1200)),
            ("1000", "JPY", false, Ok(1000)),
            ("¥1,000", "JPY", false, Ok(1000)),
            ("1.000", "JPY", false, Ok(1000)),
            ("1000.00", "JPY", false, Ok(1000)),
            (
                "1.5",
                "JPY",
                false,
                Err("Amount has more decimals than JPY allows."),
            ),
            ("1.234", "KWD", false, Ok(1234)),
            ("-5.00", "", false, Ok(-500)),
            ("-$5", "", false, Ok(-500)),
            ("$ -5", "", false, Ok(-500)),
            ("+7", "", false, Ok(700)),
            (".5", "", false, Ok(50)),
            ("1299", "", true, Ok(1299)),
            ("-1299", "", true, Ok(-1299)),
            (
                "12.99",
                "",
                true,
                Err("Amount is in cents, so it should be a whole number: \"12.99\"."),
            ),
            (
                "12..5",
                "",
                false,
                Err("Amount is not a number: \"12..5\"."),
            ),
            (
                "1,2,3",
                "",
                false,
                Err("Amount is not a number: \"1,2,3\"."),
            ),
            ("--5", "", false, Err("Amount is not a number: \"--5\".")),
            ("1e3", "", false, Err("Amount is not a number: \"1e3\".")),
        ];
        for (amount, currency, cents, expected) in cases {
            let header = if cents { "amount cents" } else { "amount" };
            let input = format!("code,{header},currency\nAB,\"{amount}\",{currency}\n");
            let got = match outcomes(input.as_bytes()).remove(0) {
                RowOutcome::Row(row) => Ok(row.amount_minor.expect("an amount")),
                RowOutcome::Invalid(e) => {
                    assert_eq!((e.line, e.column.as_str()), (2, header));
                    Err(e.reason)
                }
            };
            assert_eq!(got, expected.map_err(str::to_owned), "{amount} {currency}");
        }
        assert_eq!(
            parse_minor_amount("9223372036854775808"),
            Err("Amount is too large.".to_owned())
        );
        assert_eq!(
            parse_minor_amount("-9223372036854775807"),
            Ok(-9_223_372_036_854_775_807)
        );
    }

    #[test]
    fn dates() {
        let ok = |text: &str, expected: &str| {
            let latest = Utc::now() + TimeDelta::days(1);
            assert_eq!(parse_date(text, latest), Ok(utc(expected)), "{text}");
        };
        ok("2026-03-04", "2026-03-04T00:00:00Z");
        ok("2026/03/04", "2026-03-04T00:00:00Z");
        ok("2026-3-4", "2026-03-04T00:00:00Z");
        ok("2026-03-04 10:30", "2026-03-04T10:30:00Z");
        ok("2026-03-04 10:30:15", "2026-03-04T10:30:15Z");
        ok("2026-03-04T10:30:15", "2026-03-04T10:30:15Z");
        ok("2026-03-04T10:30:15.250", "2026-03-04T10:30:15.250Z");
        ok("2026-03-04T10:30Z", "2026-03-04T10:30:00Z");
        ok("2026-03-04T10:30:15+02:00", "2026-03-04T08:30:15Z");
        ok("2026-03-04 10:30:15-05:00", "2026-03-04T15:30:15Z");
        ok("2026-03-04T10:30:15.5Z", "2026-03-04T10:30:15.500Z");
        ok("1772620200", "2026-03-04T10:30:00Z");
        ok("999999999", "2001-09-09T01:46:39Z");
        ok("25/03/2026", "2026-03-25T00:00:00Z");
        ok("03/25/2026", "2026-03-25T00:00:00Z");
        ok("04/04/2026", "2026-04-04T00:00:00Z");
        ok("03.04.2026", "2026-04-03T00:00:00Z");
        ok("25/03/2026 14:05", "2026-03-25T14:05:00Z");

        let err = |text: &str, expected: &str| {
            let latest = Utc::now() + TimeDelta::days(1);
            assert_eq!(parse_date(text, latest), Err(expected.to_owned()), "{text}");
        };
        err(
            "03/04/2026",
            "Ambiguous date \"03/04/2026\"; use YYYY-MM-DD.",
        );
        err(
            "12-11-2026",
            "Ambiguous date \"12-11-2026\"; use YYYY-MM-DD.",
        );
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "31/31/2026",
            "2026-03-04 25:00",
            "2026-03-04T10",
            "12345",
            "123456789012",
            "20260304",
            "March 4, 2026",
            "04/03/26",
        ] {
            err(
                bad,
                &format!("Unrecognised date \"{bad}\"; use YYYY-MM-DD."),
            );
        }
        let latest = utc("2026-06-01T00:00:00Z");
        assert_eq!(parse_date("2026-06-01", latest), Ok(latest));
        assert_eq!(
            parse_date("2026-06-01 00:00:01", latest),
            Err("Date is in the future.".to_owned())
        );
    }

    #[test]
    fn tomorrow_is_not_yet_the_future() {
        let soon = (Utc::now() + TimeDelta::hours(12)).format("%Y-%m-%dT%H:%M:%SZ");
        let rows = rows(&format!("code,date\nAB,{soon}\n"));
        assert!(rows[0].occurred_at.is_some());
    }

    #[test]
    fn a_read_failure_mid_file_ends_the_stream_with_an_error() {
        struct Failing(&'static [u8]);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::Error::other("disk on fire"));
                }
                let n = self.0.len().min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = ConversionCsvReader::new(Failing(b"email\na@example.com\nb@exam"))
            .expect("valid header");
        let mut all = Vec::new();
        while let Some(outcome) = r.next_row() {
            all.push(outcome);
            assert!(all.len() < 10, "the stream must end");
        }
        let Some(RowOutcome::Invalid(last)) = all.last() else {
            panic!("{all:?}")
        };
        assert_eq!(last.column, "");
        assert!(last.reason.contains("disk on fire"), "{}", last.reason);
        assert!(r.next_row().is_none());
    }

    #[test]
    fn progress_reaches_the_file_size() {
        let input = "email,code\na@example.com,A\nb@example.com,B\n";
        let mut r = reader(input);
        assert!(r.bytes_read() > 0);
        let mut last = r.bytes_read();
        while r.next_row().is_some() {
            assert!(r.bytes_read() >= last);
            last = r.bytes_read();
        }
        assert_eq!(r.bytes_read(), input.len() as u64);
    }

    proptest! {
        #[test]
        fn any_bytes_after_a_header_never_panic(
            body in proptest::collection::vec(
                prop_oneof![
                    4 => any::<u8>(),
                    1 => Just(b'"'),
                    1 => Just(b','),
                    1 => Just(b'\n'),
                    1 => Just(b'\r'),
                ],
                0..300,
            )
        ) {
            let mut input = b"email,code,amount,currency,date,order id\n".to_vec();
            input.extend(body);
            let mut r = ConversionCsvReader::new(&input[..]).expect("valid header");
            let mut last_line = 0;
            while let Some(outcome) = r.next_row() {
                let line = match outcome {
                    RowOutcome::Row(row) => row.line,
                    RowOutcome::Invalid(e) => e.line,
                };
                prop_assert!(line > last_line);
                last_line = line;
            }
            prop_assert_eq!(r.bytes_read(), input.len() as u64);
        }

        #[test]
        fn amount_and_date_parsing_never_panic(text in "\\PC{0,30}") {
            let _ = parse_major_amount(&text, None);
            let _ = parse_major_amount(&text, Some("JPY"));
            let _ = parse_minor_amount(&text);
            let _ = parse_date(&text, Utc::now());
        }

        #[test]
        fn formatted_amounts_read_back(cents in -1_000_000_000_000i64..1_000_000_000_000) {
            let units = cents.unsigned_abs() / 100;
            let sign = if cents < 0 { "-" } else { "" };
            let mut grouped = String::new();
            for (i, digit) in units.to_string().chars().enumerate() {
                let left = units.to_string().len() - i;
                if i > 0 && left % 3 == 0 {
                    grouped.push(',');
                }
                grouped.push(digit);
            }
            let text = format!("{sign}${grouped}.{:02}", cents.unsigned_abs() % 100);
            prop_assert_eq!(parse_major_amount(&text, None), Ok((cents, None)));
            let european = text.replace(',', " ").replace('.', ",");
            prop_assert_eq!(parse_major_amount(&european, None), Ok((cents, None)));
        }
    }
}
