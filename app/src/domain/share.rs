//! What a referrer's share says and where it goes: the portal's share buttons and the share
//! widget on the business's own site use the same words and the same plain links (no
//! third-party scripts).

/// Percent-encodes a value for a query string.
fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// What a share says before the link (the share sheet adds the link itself).
pub fn share_message(campaign: &str, code: Option<&str>) -> String {
    match code {
        Some(code) => format!("I recommend {campaign}. Use my link, or my code {code}."),
        None => format!("I recommend {campaign}. Use my link."),
    }
}

/// Share targets as plain links: no third-party scripts on the page.
pub fn share_links(campaign: &str, link: &str, code: Option<&str>) -> Vec<(&'static str, String)> {
    let message = match code {
        Some(code) => format!("I recommend {campaign}. Use my link {link} or my code {code}."),
        None => format!("I recommend {campaign}. Use my link {link}"),
    };
    vec![
        (
            "Email",
            format!(
                "mailto:?subject={}&body={}",
                enc(&format!("You'll like {campaign}")),
                enc(&message)
            ),
        ),
        ("SMS", format!("sms:?&body={}", enc(&message))),
        ("WhatsApp", format!("https://wa.me/?text={}", enc(&message))),
        (
            "LinkedIn",
            format!(
                "https://www.linkedin.com/sharing/share-offsite/?url={}",
                enc(link)
            ),
        ),
        (
            "X",
            format!(
                "https://twitter.com/intent/tweet?text={}&url={}",
                enc(&format!("I recommend {campaign}")),
                enc(link)
            ),
        ),
        (
            "Facebook",
            format!("https://www.facebook.com/sharer/sharer.php?u={}", enc(link)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_carries_the_link_and_the_message_is_encoded() {
        let links = share_links("Acme & Co", "https://h.example/r/ab-cd", Some("K7QM-4"));
        let labels: Vec<_> = links.iter().map(|(label, _)| *label).collect();
        assert_eq!(
            labels,
            ["Email", "SMS", "WhatsApp", "LinkedIn", "X", "Facebook"]
        );
        for (label, href) in &links {
            assert!(
                href.contains("https%3A%2F%2Fh.example%2Fr%2Fab-cd"),
                "{label}: {href}"
            );
            assert!(
                !href.contains("Acme & Co"),
                "{label} is not encoded: {href}"
            );
        }
        assert!(links[0].1.contains("K7QM-4"));
        assert_eq!(
            share_message("Acme", None),
            "I recommend Acme. Use my link."
        );
    }
}
