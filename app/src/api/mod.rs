//! Server functions: thin. Each one authorizes, calls a service, and returns wire types.
//! They live under `/rpc/...` so they never mix with the REST API at `/api/v1/...`.

pub mod auth;
pub mod campaigns;
pub mod keys;
pub mod leads;
pub mod referrers;
