//! Writing CSV files a spreadsheet opens safely: every export and the refused-rows report.

/// One CSV field: quoted, inner quotes doubled, and a leading `=`, `+`, `-`, `@`, tab or CR
/// defused with `'` so a spreadsheet shows it as text instead of running it as a formula.
pub fn field(value: &str) -> String {
    let defused = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

/// One CSV line of `fields`, each written by [`field`], ending in a newline.
pub fn line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = fields
        .iter()
        .map(|f| field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("plain"), "\"plain\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        for formula in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(field(formula).starts_with("\"'"), "{formula}");
        }
        assert_eq!(line(&["a", "=b"]), "\"a\",\"'=b\"\n");
    }
}
