//! Uploaded campaign logos. An upload is checked from its bytes (PNG or JPEG, a bounded size
//! and bounded dimensions; SVG is refused, since an SVG can carry scripts and sanitizing one well
//! is a project of its own), kept in the database, and served at `/logo/{slug}` with its own
//! content type and `nosniff`. Storing one points the campaign's `logo_url` at it, so the portal,
//! the friend page and the emails show it without knowing where it came from.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, EntityTrait, QuerySelect, TransactionTrait,
    sea_query::OnConflict,
};
use sha2::{Digest, Sha256};

use crate::{
    domain::logo::{LogoRefusal, MAX_LOGO_BYTES, MAX_LOGO_SIDE},
    error::AppError,
    ssr::{
        entities::{campaign, campaign_logo},
        services::{campaigns, qr::QrLogo},
        state::AppState,
    },
};

/// The form field that carries the file.
pub const LOGO_FIELD: &str = "logo";

/// A checked logo: its content type, read from the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoType {
    /// `image/png`.
    Png,
    /// `image/jpeg`.
    Jpeg,
}

impl LogoType {
    /// The `Content-Type` it is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            LogoType::Png => "image/png",
            LogoType::Jpeg => "image/jpeg",
        }
    }
}

/// The error for `refusal`, on the logo field.
pub fn refused(refusal: LogoRefusal) -> AppError {
    AppError::invalid(refusal.code(), LOGO_FIELD, refusal.message())
}

/// Whether `bytes` look like an SVG (or other XML) document: text whose first tag is `<svg` or
/// an XML prolog, after any byte-order mark and whitespace.
fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    let lower = text.to_ascii_lowercase();
    lower.starts_with("<svg") || lower.starts_with("<?xml") || lower.contains("<svg")
}

/// Checks an uploaded logo from its bytes alone (the file name and the browser's content type
/// are not trusted): a PNG or JPEG of at most [`MAX_LOGO_BYTES`] whose header parses, and no side
/// over [`MAX_LOGO_SIDE`] pixels.
pub fn check(bytes: &[u8]) -> Result<LogoType, AppError> {
    if bytes.is_empty() {
        return Err(refused(LogoRefusal::MissingFile));
    }
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(refused(LogoRefusal::FileTooLarge));
    }
    let kind = match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Png) => LogoType::Png,
        Ok(imagesize::ImageType::Jpeg) => LogoType::Jpeg,
        _ if looks_like_svg(bytes) => return Err(refused(LogoRefusal::SvgRefused)),
        _ => return Err(refused(LogoRefusal::NotAnImage)),
    };
    // The header must parse: a file cut short or with a forged signature is refused here. A
    // PNG's header chunk is read by the `png` crate, which checks its name and checksum.
    let (width, height) = match kind {
        LogoType::Png => png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .map(|reader| {
                let info = reader.info();
                (info.width as usize, info.height as usize)
            })
            .map_err(|_| refused(LogoRefusal::NotAnImage))?,
        LogoType::Jpeg => imagesize::blob_size(bytes)
            .map(|size| (size.width, size.height))
            .map_err(|_| refused(LogoRefusal::NotAnImage))?,
    };
    if width == 0 || height == 0 {
        return Err(refused(LogoRefusal::NotAnImage));
    }
    if width > MAX_LOGO_SIDE || height > MAX_LOGO_SIDE {
        return Err(refused(LogoRefusal::ImageTooLarge));
    }
    Ok(kind)
}

/// The address a campaign's uploaded logo is served at. `etag` in the query changes with the
/// bytes, so a page or an email that shows it can be cached for long and still never show an
/// old logo.
pub fn url(public_url: &str, slug: &str, etag: &str) -> String {
    format!("{public_url}/logo/{slug}?v={etag}")
}

/// Whether `logo_url` is this server's address for campaign `slug`'s uploaded logo.
pub fn is_uploaded(public_url: &str, slug: &str, logo_url: Option<&str>) -> bool {
    logo_url.is_some_and(|u| u.starts_with(&format!("{public_url}/logo/{slug}?")))
}

/// Checks and keeps `bytes` as campaign `slug`'s logo, and points the campaign's logo at it, in
/// one transaction. Returns the logo's address.
pub async fn store(state: &AppState, slug: &str, bytes: Vec<u8>) -> Result<String, AppError> {
    let kind = check(&bytes)?;
    let row = campaigns::find_row(&state.db, slug).await?;
    let etag = hex::encode(&Sha256::digest(&bytes)[..12]);
    let address = url(&state.settings.public_url, &row.slug, &etag);
    let now = Utc::now();
    let txn = state
        .db
        .begin()
        .await
        .map_err(|e| AppError::internal("logos::store begin", e))?;
    campaign_logo::Entity::insert(campaign_logo::ActiveModel {
        campaign_id: Set(row.id),
        content_type: Set(kind.content_type().to_owned()),
        bytes: Set(bytes),
        etag: Set(etag),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(campaign_logo::Column::CampaignId)
            .update_columns([
                campaign_logo::Column::ContentType,
                campaign_logo::Column::Bytes,
                campaign_logo::Column::Etag,
                campaign_logo::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await
    .map_err(|e| AppError::internal("logos::store insert", e))?;
    let mut active: campaign::ActiveModel = row.into();
    active.logo_url = Set(Some(address.clone()));
    active.updated_at = Set(now);
    active
        .update(&txn)
        .await
        .map_err(|e| AppError::internal("logos::store campaign", e))?;
    txn.commit()
        .await
        .map_err(|e| AppError::internal("logos::store commit", e))?;
    state.links.invalidate_all();
    Ok(address)
}

/// Removes campaign `slug`'s uploaded logo. The campaign's logo goes with it when it pointed at
/// the upload (a logo address typed in by hand stays).
pub async fn remove(state: &AppState, slug: &str) -> Result<(), AppError> {
    let row = campaigns::find_row(&state.db, slug).await?;
    let txn = state
        .db
        .begin()
        .await
        .map_err(|e| AppError::internal("logos::remove begin", e))?;
    campaign_logo::Entity::delete_by_id(row.id)
        .exec(&txn)
        .await
        .map_err(|e| AppError::internal("logos::remove delete", e))?;
    if is_uploaded(
        &state.settings.public_url,
        &row.slug,
        row.logo_url.as_deref(),
    ) {
        let mut active: campaign::ActiveModel = row.into();
        active.logo_url = Set(None);
        active.updated_at = Set(Utc::now());
        active
            .update(&txn)
            .await
            .map_err(|e| AppError::internal("logos::remove campaign", e))?;
    }
    txn.commit()
        .await
        .map_err(|e| AppError::internal("logos::remove commit", e))?;
    state.links.invalidate_all();
    Ok(())
}

/// Campaign `slug`'s uploaded logo, if it has one.
pub async fn find(state: &AppState, slug: &str) -> Result<Option<campaign_logo::Model>, AppError> {
    let row = match campaigns::find_row(&state.db, slug).await {
        Ok(row) => row,
        Err(AppError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    campaign_logo::Entity::find_by_id(row.id)
        .one(&state.db)
        .await
        .map_err(|e| AppError::internal("logos::find", e))
}

/// How many prepared logos [`for_qr`] keeps (up to about 1 MB each, at 512 x 512 RGBA); when
/// full it starts over.
const QR_LOGOS_KEPT: usize = 32;

/// Campaign `campaign_id`'s uploaded logo, prepared for drawing into QR codes, or `None` when it
/// has none. Only the logo's tag is read on each call; the decode (several milliseconds for a
/// large JPEG) happens once per upload and process, keyed by that tag, so a new upload is seen
/// at once by every server process.
pub async fn for_qr(state: &AppState, campaign_id: i64) -> Result<Option<Arc<QrLogo>>, AppError> {
    static PREPARED: OnceLock<Mutex<HashMap<String, Arc<QrLogo>>>> = OnceLock::new();
    let prepared = PREPARED.get_or_init(Default::default);
    let err = |e| AppError::internal("logos::for_qr", e);
    let etag: Option<String> = campaign_logo::Entity::find_by_id(campaign_id)
        .select_only()
        .column(campaign_logo::Column::Etag)
        .into_tuple()
        .one(&state.db)
        .await
        .map_err(err)?;
    let Some(etag) = etag else {
        return Ok(None);
    };
    let key = format!("{campaign_id}:{etag}");
    if let Some(hit) = prepared
        .lock()
        .ok()
        .and_then(|kept| kept.get(&key).cloned())
    {
        return Ok(Some(hit));
    }
    let Some(row) = campaign_logo::Entity::find_by_id(campaign_id)
        .one(&state.db)
        .await
        .map_err(err)?
    else {
        // Removed between the two reads.
        return Ok(None);
    };
    // Decoding is CPU work of up to a few hundred milliseconds (a 4,096 px JPEG): off the
    // async workers.
    let etag = row.etag.clone();
    let logo = Arc::new(
        tokio::task::spawn_blocking(move || QrLogo::prepare(&row.etag, &row.bytes))
            .await
            .map_err(|e| AppError::internal("logos::for_qr decode task", e))??,
    );
    if let Ok(mut kept) = prepared.lock() {
        if kept.len() >= QR_LOGOS_KEPT {
            kept.clear();
        }
        kept.insert(format!("{campaign_id}:{etag}"), logo.clone());
    }
    Ok(Some(logo))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1 x 1 PNG.
    fn png() -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, 1, 1);
            encoder.set_color(png::ColorType::Grayscale);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&[0]).unwrap();
        }
        out
    }

    #[test]
    fn a_png_and_a_jpeg_are_recognized_from_their_bytes() {
        assert_eq!(check(&png()), Ok(LogoType::Png));
        // The start of a baseline JPEG: SOI, APP0 (JFIF), then a SOF0 with 2 x 3 pixels.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        jpeg.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        jpeg.extend_from_slice(&[
            0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x03, 0x00, 0x02, 0x01, 0x01, 0x11, 0x00,
        ]);
        jpeg.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(check(&jpeg), Ok(LogoType::Jpeg));
    }

    fn code(result: Result<LogoType, AppError>) -> String {
        // The refusals come from `LogoRefusal`; the code is what the page is sent back with.
        match result {
            Err(AppError::Invalid { code, .. }) => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn svg_other_files_and_oversized_images_are_refused_with_the_reason() {
        assert_eq!(
            code(check(
                b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"
            )),
            "svg_refused"
        );
        assert_eq!(
            code(check(b"\xEF\xBB\xBF  <?xml version=\"1.0\"?>\n<svg/>")),
            "svg_refused"
        );
        assert_eq!(code(check(b"GIF89a")), "not_an_image");
        assert_eq!(code(check(b"<html><script></script>")), "not_an_image");
        assert_eq!(code(check(b"")), "missing_file");
        // A PNG signature with its header cut off.
        assert_eq!(code(check(&png()[..12])), "not_an_image");
        let mut big = png();
        big.resize(MAX_LOGO_BYTES + 1, 0);
        assert_eq!(code(check(&big)), "file_too_large");
        // A PNG header claiming 5000 x 1 pixels.
        let mut wide = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut wide, 5000, 1);
            encoder.set_color(png::ColorType::Grayscale);
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&vec![0; 5000]).unwrap();
        }
        assert_eq!(code(check(&wide)), "image_too_large");
    }

    #[test]
    fn only_this_servers_logo_address_counts_as_uploaded() {
        let public = "https://refer.shop.test";
        assert!(is_uploaded(
            public,
            "spring",
            Some("https://refer.shop.test/logo/spring?v=ab12")
        ));
        assert!(!is_uploaded(
            public,
            "spring",
            Some("https://cdn.shop.test/logo.png")
        ));
        assert!(!is_uploaded(
            public,
            "spring",
            Some("https://refer.shop.test/logo/springer?v=1")
        ));
        assert!(!is_uploaded(public, "spring", None));
    }
}
