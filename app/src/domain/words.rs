//! Small pieces of English shared by the pages, emails and the CLI.

/// `n` with its noun in the right number: "1 row", "0 rows", "3 rows".
pub fn counted(n: impl Into<i128>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::counted;

    #[test]
    fn one_is_singular_and_everything_else_plural() {
        assert_eq!(counted(1u64, "row", "rows"), "1 row");
        assert_eq!(counted(0u64, "row", "rows"), "0 rows");
        assert_eq!(counted(2i64, "referrer", "referrers"), "2 referrers");
        assert_eq!(counted(-1i64, "row", "rows"), "-1 rows");
    }
}
