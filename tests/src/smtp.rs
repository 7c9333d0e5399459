//! A small SMTP server on loopback that records what it receives, for end-to-end mail tests.
//! It speaks enough of RFC 5321 for lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and can
//! be told to refuse messages, transiently (4xx) or permanently (5xx).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::TcpListener,
    sync::Notify,
};

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA (headers and body), dot-unstuffed.
    pub data: String,
}

impl ReceivedMail {
    /// The message with quoted-printable soft breaks and escapes undone (enough to read links).
    pub fn decoded(&self) -> String {
        let joined = self.data.replace("=\r\n", "").replace("=\n", "");
        let bytes = joined.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'='
                && i + 2 < bytes.len()
                && let Ok(byte) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
            {
                out.push(byte);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The `token` query parameter of the first link in the message.
    pub fn link_token(&self) -> String {
        let text = self.decoded();
        let start = text.find("token=").expect("a link with a token") + "token=".len();
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }

    /// The value of a header (first occurrence, unfolded).
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_string())
    }
}

#[derive(Default)]
struct State {
    received: Vec<ReceivedMail>,
    /// Reply to MAIL FROM with this code for the next `count` transactions (None: accept).
    refuse: Option<(u16, usize)>,
    refused: usize,
    /// How long to hold the reply to a message's end-of-data (a slow mail server).
    delay: Duration,
}

#[derive(Clone)]
pub struct SmtpSink {
    port: u16,
    state: Arc<Mutex<State>>,
    arrived: Arc<Notify>,
}

impl SmtpSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind smtp sink");
        let port = listener.local_addr().expect("addr").port();
        let sink = SmtpSink {
            port,
            state: Arc::default(),
            arrived: Arc::new(Notify::new()),
        };
        let accept = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let session = accept.clone();
                tokio::spawn(async move {
                    let _ = session.serve(stream).await;
                });
            }
        });
        sink
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Refuse the next `count` messages with `code` (e.g. 451 transient, 550 permanent).
    pub fn refuse_next(&self, code: u16, count: usize) {
        self.state.lock().unwrap().refuse = Some((code, count));
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.state.lock().unwrap().received.clone()
    }

    /// Holds each end-of-data reply for `delay`, so a delivery stays in flight that long.
    pub fn slow_down(&self, delay: Duration) {
        self.state.lock().unwrap().delay = delay;
    }

    /// How many transactions were refused so far.
    pub fn refused(&self) -> usize {
        self.state.lock().unwrap().refused
    }

    /// Waits until at least `count` messages arrived.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected {count} message(s), got {}", self.received().len());
            }
        }
    }

    /// Waits for the `nth` (1-based) message addressed to `to`.
    pub async fn wait_for_to(&self, to: &str, nth: usize, timeout: Duration) -> ReceivedMail {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.arrived.notified();
            let mine: Vec<ReceivedMail> = self
                .received()
                .into_iter()
                .filter(|m| m.to.iter().any(|t| t == to))
                .collect();
            if mine.len() >= nth {
                return mine[nth - 1].clone();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!("expected message {nth} to {to}, got {}", mine.len());
            }
        }
    }

    async fn serve(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write
            .write_all(b"220 sink.test ESMTP test sink\r\n")
            .await?;
        let mut from = String::new();
        let mut to = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_string();
            let verb = command
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            let reply: String = match verb.as_str() {
                "EHLO" => "250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8".into(),
                "HELO" => "250 sink.test".into(),
                "MAIL" => {
                    let refusal = {
                        let mut state = self.state.lock().unwrap();
                        match state.refuse {
                            Some((code, n)) if n > 0 => {
                                state.refuse = if n > 1 { Some((code, n - 1)) } else { None };
                                state.refused += 1;
                                Some(code)
                            }
                            _ => None,
                        }
                    };
                    match refusal {
                        Some(code) => format!("{code} refused by test sink"),
                        None => {
                            from = address(&command);
                            to.clear();
                            "250 OK".into()
                        }
                    }
                }
                "RCPT" => {
                    to.push(address(&command));
                    "250 OK".into()
                }
                "DATA" => {
                    write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                    let mut data = String::new();
                    loop {
                        line.clear();
                        if lines.read_line(&mut line).await? == 0 {
                            return Ok(());
                        }
                        if line == ".\r\n" || line == ".\n" {
                            break;
                        }
                        let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                        data.push_str(unstuffed);
                    }
                    let delay = self.state.lock().unwrap().delay;
                    tokio::time::sleep(delay).await;
                    self.state.lock().unwrap().received.push(ReceivedMail {
                        from: from.clone(),
                        to: to.clone(),
                        data,
                    });
                    self.arrived.notify_waiters();
                    "250 OK queued".into()
                }
                "RSET" | "NOOP" => "250 OK".into(),
                "QUIT" => {
                    write.write_all(b"221 bye\r\n").await?;
                    return Ok(());
                }
                _ => "502 command not implemented".into(),
            };
            write.write_all(reply.as_bytes()).await?;
            write.write_all(b"\r\n").await?;
        }
    }
}

/// The address inside `MAIL FROM:<a@b>` / `RCPT TO:<a@b>`.
fn address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(addr, _)| addr.to_string())
        .unwrap_or_default()
}
