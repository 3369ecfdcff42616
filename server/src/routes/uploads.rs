//! Request bodies too big to hold in memory (CSV uploads) are streamed to a file under
//! `<data dir>/uploads/` and removed when the handler is done with them.

use std::path::{Path, PathBuf};

use app::{error::AppError, ssr::services::secrets::random_token};
use axum::body::Body;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

/// The largest upload accepted: 2 GiB (about 20 million conversion rows).
pub const MAX_UPLOAD_BYTES: u64 = 2 << 30;

/// A spooled upload; the file is deleted on drop.
#[derive(Debug)]
pub struct Spooled {
    /// Where the bytes are.
    pub path: PathBuf,
    /// How many.
    pub bytes: u64,
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Streams `body` into a new file under `data_dir/uploads`.
pub async fn spool(body: Body, data_dir: &Path) -> Result<Spooled, AppError> {
    spool_stream(body.into_data_stream(), data_dir).await
}

/// Streams any byte stream (a request body, a multipart field) into a new file under
/// `data_dir/uploads`.
pub async fn spool_stream<S, E>(mut stream: S, data_dir: &Path) -> Result<Spooled, AppError>
where
    S: futures_util::Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let dir = data_dir.join("uploads");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| AppError::internal("uploads::spool mkdir", e))?;
    let path = dir.join(format!("{}.csv", random_token(12)));
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(|e| AppError::internal("uploads::spool create", e))?;
    let mut spooled = Spooled { path, bytes: 0 };
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            AppError::invalid(
                "upload_interrupted",
                "file",
                format!("The upload did not arrive in full: {e}"),
            )
        })?;
        spooled.bytes += chunk.len() as u64;
        if spooled.bytes > MAX_UPLOAD_BYTES {
            return Err(AppError::invalid(
                "file_too_large",
                "file",
                "The file is larger than 2 GiB; split it into smaller files.",
            ));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| AppError::internal("uploads::spool write", e))?;
    }
    file.flush()
        .await
        .map_err(|e| AppError::internal("uploads::spool flush", e))?;
    Ok(spooled)
}
