//! Why an uploaded logo was refused, in words the admin reads. The server checks the upload
//! (`ssr::services::logos`) and sends the browser back to the campaign page with the refusal's
//! code in the address (`?logo_error=svg_refused`); the page shows the sentence from here, so
//! the wording lives in one place and works without JavaScript.

/// The largest logo accepted, in bytes. A logo is shown at most a few hundred pixels wide: more
/// than this is a photo or an unoptimized export, and would slow every portal page and email.
pub const MAX_LOGO_BYTES: usize = 512 * 1024;
/// The widest or tallest logo accepted, in pixels.
pub const MAX_LOGO_SIDE: usize = 4096;

/// Why a logo upload was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogoRefusal {
    /// No file was chosen.
    MissingFile,
    /// More than [`MAX_LOGO_BYTES`].
    FileTooLarge,
    /// A side over [`MAX_LOGO_SIDE`] pixels.
    ImageTooLarge,
    /// An SVG (it can carry scripts).
    SvgRefused,
    /// Not a PNG or JPEG, or a damaged one.
    NotAnImage,
    /// The upload broke off.
    Interrupted,
}

impl LogoRefusal {
    const ALL: [LogoRefusal; 6] = [
        LogoRefusal::MissingFile,
        LogoRefusal::FileTooLarge,
        LogoRefusal::ImageTooLarge,
        LogoRefusal::SvgRefused,
        LogoRefusal::NotAnImage,
        LogoRefusal::Interrupted,
    ];

    /// The stable code (API errors, the page's address).
    pub fn code(self) -> &'static str {
        match self {
            LogoRefusal::MissingFile => "missing_file",
            LogoRefusal::FileTooLarge => "file_too_large",
            LogoRefusal::ImageTooLarge => "image_too_large",
            LogoRefusal::SvgRefused => "svg_refused",
            LogoRefusal::NotAnImage => "not_an_image",
            LogoRefusal::Interrupted => "upload_interrupted",
        }
    }

    /// The refusal with `code`, if there is one.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The sentence the admin reads.
    pub fn message(self) -> String {
        match self {
            LogoRefusal::MissingFile => "Choose a PNG or JPEG file to upload.".to_owned(),
            LogoRefusal::FileTooLarge => format!(
                "The logo is larger than {} KB. Export it smaller: a logo needs a few hundred pixels.",
                MAX_LOGO_BYTES / 1024
            ),
            LogoRefusal::ImageTooLarge => {
                format!(
                    "The logo is more than {MAX_LOGO_SIDE} pixels on a side. Export it smaller."
                )
            }
            LogoRefusal::SvgRefused => {
                "SVG logos are not accepted: an SVG file can carry scripts. Upload a PNG or JPEG."
                    .to_owned()
            }
            LogoRefusal::NotAnImage => {
                "The file is not a PNG or JPEG image, or it is damaged. Upload a PNG or JPEG."
                    .to_owned()
            }
            LogoRefusal::Interrupted => "The upload did not arrive in full. Try again.".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_is_found_by_its_code_and_says_something() {
        for refusal in LogoRefusal::ALL {
            assert_eq!(LogoRefusal::from_code(refusal.code()), Some(refusal));
            assert!(refusal.message().ends_with('.'));
        }
        assert_eq!(LogoRefusal::from_code("<script>"), None);
    }
}
