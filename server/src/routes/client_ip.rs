//! The client's IP address: the extractor lives in `app::ssr::client_ip`, beside the server
//! functions that need it too.

pub use app::ssr::client_ip::{ClientIp, client_address};
