//! A small SMTP server on loopback for the email tests: it speaks enough of RFC 5321 for lettre
//! (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps every message it accepts, and can refuse
//! recipients for good (550) to test permanent failures.

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicBool, Ordering},
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};

/// One message as received.
#[derive(Clone, Debug)]
pub struct Received {
    /// `MAIL FROM` address.
    pub mail_from: String,
    /// `RCPT TO` addresses.
    pub rcpt_to: Vec<String>,
    /// The message as sent (dot-unstuffed), CRLF line ends.
    pub data: String,
}

impl Received {
    /// The parsed message.
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .expect("the message parses")
    }
}

/// A running test SMTP server.
pub struct SmtpServer {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
    refuse_recipients: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpServer {
    /// Starts a server on a free port.
    pub async fn start() -> SmtpServer {
        Self::start_on(0).await
    }

    /// Starts a server on `port` (0: any free port).
    pub async fn start_on(port: u16) -> SmtpServer {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the test SMTP server");
        let port = listener.local_addr().expect("address").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let refuse_recipients = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let messages = messages.clone();
            let refuse = refuse_recipients.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(session(stream, messages.clone(), refuse.clone()));
                }
            }
        });
        SmtpServer {
            port,
            messages,
            refuse_recipients,
            task,
        }
    }

    /// The URL the app is configured with.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.port)
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().expect("lock").clone()
    }

    /// From now on, answer every `RCPT TO` with 550 (a permanent refusal).
    pub fn refuse_recipients(&self) {
        self.refuse_recipients.store(true, Ordering::SeqCst);
    }

    /// Waits (up to `secs`) until at least `n` messages arrived; returns them.
    pub async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            let got = self.messages();
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }
}

fn address(arg: &str) -> String {
    arg.split_once(':')
        .map(|(_, a)| a.trim().trim_start_matches('<'))
        .and_then(|a| a.split('>').next())
        .unwrap_or("")
        .to_owned()
}

async fn session(
    stream: TcpStream,
    messages: Arc<Mutex<Vec<Received>>>,
    refuse_recipients: Arc<AtomicBool>,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    if write
        .write_all(b"220 handoff-test ESMTP\r\n")
        .await
        .is_err()
    {
        return;
    }
    let mut mail_from = String::new();
    let mut rcpt_to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-handoff-test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" | "NOOP" => b"250 OK\r\n",
            "RSET" => {
                mail_from.clear();
                rcpt_to.clear();
                b"250 OK\r\n"
            }
            "MAIL" => {
                mail_from = address(&command);
                rcpt_to.clear();
                b"250 OK\r\n"
            }
            "RCPT" if refuse_recipients.load(Ordering::SeqCst) => {
                b"550 5.1.1 No such mailbox here\r\n"
            }
            "RCPT" => {
                rcpt_to.push(address(&command));
                b"250 OK\r\n"
            }
            "DATA" => {
                if write
                    .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
                let mut data = String::new();
                loop {
                    line.clear();
                    match lines.read_line(&mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                messages.lock().expect("lock").push(Received {
                    mail_from: mail_from.clone(),
                    rcpt_to: std::mem::take(&mut rcpt_to),
                    data,
                });
                b"250 OK queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 Bye\r\n").await;
                return;
            }
            _ => b"502 Command not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
