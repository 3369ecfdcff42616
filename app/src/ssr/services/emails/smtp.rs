//! Sending over SMTP with lettre: the `HANDOFF_SMTP_URL` grammar, and one stored email turned
//! into a MIME message (text and HTML alternatives, unsubscribe headers on notifications).

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Mailbox, MultiPart,
        header::{self, HeaderName, HeaderValue},
    },
    transport::smtp::{PoolConfig, authentication::Credentials},
};

use crate::{
    domain::emails::EmailKind,
    ssr::{
        entities::email,
        services::emails::{queue::SendResult, sender::Sender},
    },
};

/// How the connection to the SMTP server is secured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte (usually port 465).
    ImplicitTls,
    /// `smtp://`: plain connection upgraded with STARTTLS, which must succeed (usually 587).
    StartTls,
    /// `smtp://...?tls=none`: no encryption at all; only when asked for (a relay on localhost).
    None,
}

/// A parsed `HANDOFF_SMTP_URL`. The password never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl {
    /// How the connection is secured.
    pub security: Security,
    /// The server's host name (checked against its certificate).
    pub host: String,
    /// The port.
    pub port: u16,
    /// User name and password, when the server wants them.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpUrl")
            .field("security", &self.security)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .finish()
    }
}

impl SmtpUrl {
    /// Reads `smtp://user:pass@host:587` (STARTTLS), `smtps://user:pass@host:465` (implicit TLS)
    /// or `smtp://host:25?tls=none` (plain). The error says what to write instead.
    pub fn parse(value: &str) -> Result<SmtpUrl, String> {
        let url = url::Url::parse(value.trim()).map_err(|e| {
            format!("not a URL ({e}); expected e.g. smtp://user:password@mail.example.com:587")
        })?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("needs a host, e.g. smtp://mail.example.com:587")?
            .to_owned();
        let mut tls: Option<String> = None;
        for (key, v) in url.query_pairs() {
            match key.as_ref() {
                "tls" => tls = Some(v.into_owned()),
                other => {
                    return Err(format!(
                        "unknown option \"{other}\"; the only option is tls=none"
                    ));
                }
            }
        }
        let security = match (url.scheme(), tls.as_deref()) {
            ("smtps", None) => Security::ImplicitTls,
            ("smtp", None | Some("starttls" | "required")) => Security::StartTls,
            ("smtp", Some("none")) => Security::None,
            ("smtps", Some(_)) => return Err("smtps:// is always TLS; drop the tls option".into()),
            ("smtp", Some(other)) => {
                return Err(format!(
                    "tls={other} is not known; write tls=none or leave it out"
                ));
            }
            (other, _) => {
                return Err(format!(
                    "scheme \"{other}\" is not known; use smtp:// (STARTTLS) or smtps:// (TLS)"
                ));
            }
        };
        let port = url.port().unwrap_or(match security {
            Security::ImplicitTls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        });
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| "the user name or password is not valid UTF-8".to_owned())
        };
        let credentials = if url.username().is_empty() {
            None
        } else {
            Some((
                decode(url.username())?,
                decode(url.password().unwrap_or(""))?,
            ))
        };
        Ok(SmtpUrl {
            security,
            host,
            port,
            credentials,
        })
    }
}

/// How many connections to the SMTP server are open at once, each sending one message at a
/// time. Why this many: lettre writes a message's end (`.`) in a packet of its own, which the
/// kernel holds until the server acknowledges the body, and servers delay that acknowledgement
/// (about 40 ms on Linux), so one connection sends at most about 24 messages a second whatever
/// the server's speed. Twenty connections stay under common relay limits (Postfix allows 50 per
/// client by default) and send several hundred a second (BENCHMARKS, "Email worker").
pub const SMTP_CONNECTIONS: u32 = 20;

/// The connection to the SMTP server (a pool) and the configured sender.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    configured: Sender,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.configured.from.to_string())
            .finish_non_exhaustive()
    }
}

/// Reads a sender address: `refer@example.com` or `Example Referrals <refer@example.com>`.
pub fn parse_mailbox(value: &str) -> Result<Mailbox, String> {
    value
        .trim()
        .parse::<Mailbox>()
        .map_err(|e| format!("\"{value}\" is not an email address ({e})"))
}

impl Mailer {
    /// A mailer for `url`, configured to send as `from` (see [`sender`](super::sender) for who
    /// each email comes from). Connects lazily: nothing is checked here.
    pub fn new(url: &SmtpUrl, from: Mailbox, reply_to: Option<Mailbox>) -> Result<Mailer, String> {
        let builder = match url.security {
            Security::ImplicitTls => AsyncSmtpTransport::<Tokio1Executor>::relay(&url.host)
                .map_err(|e| format!("cannot set up TLS for {}: {e}", url.host))?,
            Security::StartTls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&url.host)
                    .map_err(|e| format!("cannot set up STARTTLS for {}: {e}", url.host))?
            }
            Security::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&url.host),
        };
        let mut builder = builder
            .port(url.port)
            .timeout(Some(Duration::from_secs(20)));
        if let Some((user, password)) = &url.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: builder
                .pool_config(PoolConfig::new().max_size(SMTP_CONNECTIONS))
                .build(),
            configured: Sender { from, reply_to },
        })
    }

    /// The configured sender and reply-to, before an admin's or a campaign's choices.
    pub fn configured(&self) -> &Sender {
        &self.configured
    }

    /// Sends one stored email as `sender`; `unsubscribe_url` goes into the headers of
    /// notifications.
    pub async fn send(
        &self,
        row: &email::Model,
        sender: &Sender,
        unsubscribe_url: Option<&str>,
    ) -> SendResult {
        let message = match message(row, sender, unsubscribe_url) {
            Ok(m) => m,
            Err(e) => return SendResult::Permanent(e),
        };
        match self.transport.send(message).await {
            Ok(_) => SendResult::Sent,
            Err(e) if e.is_permanent() => SendResult::Permanent(e.to_string()),
            Err(e) => SendResult::Retry(e.to_string()),
        }
    }
}

/// The MIME message for a stored email, from `sender`.
pub fn message(
    row: &email::Model,
    sender: &Sender,
    unsubscribe_url: Option<&str>,
) -> Result<Message, String> {
    let to = row.to_address.parse::<Mailbox>().map_err(|e| {
        format!(
            "the recipient \"{}\" is not an address ({e})",
            row.to_address
        )
    })?;
    let mut builder = Message::builder()
        .from(sender.from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(row.message_id.clone()))
        .date(row.created_at.into());
    if let Some(reply_to) = &sender.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    let notification = row
        .kind
        .parse::<EmailKind>()
        .is_ok_and(EmailKind::is_notification);
    if notification && let Some(url) = unsubscribe_url {
        builder = builder
            .header(ListUnsubscribe(format!("<{url}>")))
            .header(ListUnsubscribePost);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            row.text_body.clone(),
            row.html_body.clone(),
        ))
        .map_err(|e| format!("cannot build the message: {e}"))
}

/// `List-Unsubscribe: <https://...>` (RFC 2369).
#[derive(Clone, Debug)]
struct ListUnsubscribe(String);

impl header::Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone, Debug)]
struct ListUnsubscribePost;

impl header::Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_choose_starttls_tls_or_plain_as_the_issue_says() {
        let u = SmtpUrl::parse("smtp://user:p%40ss@mail.example.com:587").unwrap();
        assert_eq!(u.security, Security::StartTls);
        assert_eq!(u.port, 587);
        assert_eq!(u.credentials, Some(("user".to_owned(), "p@ss".to_owned())));
        let u = SmtpUrl::parse("smtps://mail.example.com").unwrap();
        assert_eq!((u.security, u.port), (Security::ImplicitTls, 465));
        let u = SmtpUrl::parse("smtp://127.0.0.1:2525?tls=none").unwrap();
        assert_eq!((u.security, u.port), (Security::None, 2525));
        assert_eq!(u.credentials, None);
    }

    #[test]
    fn bad_smtp_urls_say_what_to_write() {
        for (bad, says) in [
            ("mail.example.com", "not a URL"),
            ("http://mail.example.com", "smtp://"),
            ("smtp://mail.example.com?tls=maybe", "tls=none"),
            ("smtp://mail.example.com?port=1", "unknown option"),
        ] {
            let err = SmtpUrl::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn the_password_never_prints() {
        let u = SmtpUrl::parse("smtp://user:hunter2@mail.example.com").unwrap();
        assert!(!format!("{u:?}").contains("hunter2"));
    }
}
