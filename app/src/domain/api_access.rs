//! What an API key may do: its access level, chosen when it is created.

use serde::{Deserialize, Serialize};

/// An API key's access. A key given to an integration should have the least it needs: a
/// checkout or CRM that only reports sales needs [`ApiAccess::Conversions`], a dashboard needs
/// [`ApiAccess::ReadOnly`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApiAccess {
    /// Every call.
    Full,
    /// Only recording conversions: `POST /api/v1/conversions` and `/api/v1/conversions/import`.
    Conversions,
    /// Only reading: `GET` calls.
    ReadOnly,
}

impl ApiAccess {
    /// Every level, most powerful first.
    pub const ALL: [ApiAccess; 3] = [ApiAccess::Full, ApiAccess::Conversions, ApiAccess::ReadOnly];

    /// The stored and typed name: `full`, `conversions` or `read`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiAccess::Full => "full",
            ApiAccess::Conversions => "conversions",
            ApiAccess::ReadOnly => "read",
        }
    }

    /// The level named `name` (as [`ApiAccess::as_str`] writes it).
    pub fn parse(name: &str) -> Option<ApiAccess> {
        ApiAccess::ALL
            .into_iter()
            .find(|a| a.as_str() == name.trim())
    }

    /// What the level allows, for people.
    pub fn label(self) -> &'static str {
        match self {
            ApiAccess::Full => "Full access",
            ApiAccess::Conversions => "Record conversions only",
            ApiAccess::ReadOnly => "Read only",
        }
    }

    /// Whether a key with this access may make the call `method` `path` (a path under `/api/`).
    pub fn allows(self, method: &str, path: &str) -> bool {
        match self {
            ApiAccess::Full => true,
            ApiAccess::ReadOnly => method == "GET" || method == "HEAD",
            ApiAccess::Conversions => {
                method == "POST"
                    && matches!(
                        path.trim_end_matches('/'),
                        "/api/v1/conversions" | "/api/v1/conversions/import"
                    )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ApiAccess;

    #[test]
    fn each_level_allows_what_it_says_and_nothing_more() {
        let calls = [
            ("POST", "/api/v1/conversions"),
            ("POST", "/api/v1/conversions/import"),
            ("GET", "/api/v1/rewards"),
            ("POST", "/api/v1/rewards/7/issue"),
            ("POST", "/api/v1/campaigns"),
            ("PUT", "/api/v1/campaigns/spring/rules"),
            ("DELETE", "/api/v1/referrers/3"),
        ];
        let allowed = |access: ApiAccess| {
            calls
                .iter()
                .map(|(method, path)| access.allows(method, path))
                .collect::<Vec<_>>()
        };
        assert_eq!(allowed(ApiAccess::Full), [true; 7]);
        assert_eq!(
            allowed(ApiAccess::Conversions),
            [true, true, false, false, false, false, false]
        );
        assert_eq!(
            allowed(ApiAccess::ReadOnly),
            [false, false, true, false, false, false, false]
        );
        assert!(!ApiAccess::Conversions.allows("POST", "/api/v1/conversions-other"));
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for access in ApiAccess::ALL {
            assert_eq!(ApiAccess::parse(access.as_str()), Some(access));
        }
        assert_eq!(ApiAccess::parse("admin"), None);
    }
}
