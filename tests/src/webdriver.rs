//! A small blocking W3C WebDriver client (the endpoints the pages' tests
//! use) over HTTP/1.1 on a loopback socket, and the Debian `chromium` and
//! `chromedriver` it drives: chromedriver on a private port, started here
//! and stopped by PID; Chromium headless with a fresh profile and the
//! centre's certificate pinned by its SPKI (not a blanket ignore).

#![allow(
    clippy::expect_used,
    reason = "test support: a step that cannot run fails the calling test with its message"
)]

use serde_json::{Value, json};
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where Debian installs them.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian installs chromedriver (package `chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Fails the test, naming the packages, when the browser is missing.
pub fn require_browser() {
    for (bin, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing (Debian package `{package}`): the pages' browser tests need the Debian packages `chromium` and \
             `chromium-driver` (apt-get install chromium chromium-driver; `cargo xtask setup` installs them)"
        );
    }
}

/// One HTTP/1.1 exchange with chromedriver: status and body.
fn http(port: u16, method: &str, path: &str, body: Option<&Value>) -> (u16, Vec<u8>) {
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("chromedriver answers");
    s.set_read_timeout(Some(Duration::from_secs(120)))
        .expect("a read timeout");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(payload.as_bytes()))
        .expect("a request to chromedriver");
    // chromedriver keeps the connection open: read the head, then the
    // body by its Content-Length (or its chunks).
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let split = loop {
        if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        let n = s.read(&mut buf).expect("chromedriver's answer");
        assert!(n > 0, "chromedriver closed the connection mid-answer");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let length: Option<usize> = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok());
    let chunked = head.contains("transfer-encoding: chunked");
    let mut body = raw[split + 4..].to_vec();
    loop {
        let complete = match length {
            Some(len) => body.len() >= len,
            None if chunked => body.ends_with(b"0\r\n\r\n"),
            None => false,
        };
        if complete {
            break;
        }
        let n = s.read(&mut buf).expect("chromedriver's answer");
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    if chunked {
        body = dechunk(&body);
    }
    (status, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&data[..end])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = end + 2;
        out.extend_from_slice(&data[start..(start + size).min(data.len())]);
        data = &data[(start + size + 2).min(data.len())..];
    }
    out
}

/// chromedriver, killed by PID when dropped (also when a test fails
/// while starting the browser).
#[derive(Debug)]
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A Chromium session through chromedriver; both stopped when dropped.
#[derive(Debug)]
pub struct Browser {
    _driver: Driver,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium that
    /// trusts only the certificate whose SPKI hashes to `spki_sha256`
    /// (base64).
    #[expect(
        clippy::disallowed_methods,
        reason = "waits for chromedriver to listen"
    )]
    pub fn start(spki_sha256: &str) -> Browser {
        require_browser();
        let port = crate::centre::free_port();
        let log = std::env::temp_dir().join(format!("chromedriver-{port}.log"));
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver(driver);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().expect("a profile folder");
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--autoplay-policy=no-user-gesture-required".to_owned(),
            "--window-size=1280,900".to_owned(),
            "--lang=vi".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--ignore-certificate-errors-spki-list={spki_sha256}"),
        ];
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                "acceptInsecureCerts": false,
                "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
            }}
        });
        let (status, body) = http(port, "POST", "/session", Some(&caps));
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let Some(session) = v["value"]["sessionId"].as_str().map(str::to_owned) else {
            panic!("no Chromium session ({status}): {v}");
        };
        Browser {
            _driver: driver,
            port,
            session,
            _profile: profile,
        }
    }

    /// A WebDriver command of this session; its `value`.
    pub fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, raw) = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        );
        let v: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        assert!(
            status < 300,
            "WebDriver {method} {path} answered {status}: {v}"
        );
        v["value"].clone()
    }

    /// Opens `url` in the current tab.
    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    /// The current tab's URL.
    pub fn url(&self) -> String {
        self.cmd("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Opens a new tab; returns its handle.
    pub fn new_tab(&self) -> String {
        self.cmd("POST", "/window/new", Some(json!({ "type": "tab" })))["handle"]
            .as_str()
            .expect("a window handle")
            .to_owned()
    }

    /// The current tab's handle.
    pub fn tab(&self) -> String {
        self.cmd("GET", "/window", None)
            .as_str()
            .expect("a window handle")
            .to_owned()
    }

    /// Switches to tab `handle`.
    pub fn switch_to(&self, handle: &str) {
        self.cmd("POST", "/window", Some(json!({ "handle": handle })));
    }

    /// Runs `script` (a function body; `arguments` are `args`).
    pub fn js(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Runs `script` whose last argument is the callback to call with the
    /// result.
    pub fn js_async(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// The element matching `css`, if any.
    pub fn find(&self, css: &str) -> Option<String> {
        let (status, raw) = http(
            self.port,
            "POST",
            &format!("/session/{}/element", self.session),
            Some(&json!({ "using": "css selector", "value": css })),
        );
        let v: Value = serde_json::from_slice(&raw).ok()?;
        (status == 200)
            .then(|| v["value"][ELEMENT].as_str().map(str::to_owned))
            .flatten()
    }

    /// Waits up to `timeout` for `cond` to hold; panics naming `what`.
    #[expect(clippy::disallowed_methods, reason = "polls a real browser")]
    pub fn wait<T>(&self, what: &str, timeout: Duration, mut cond: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = cond() {
                return v;
            }
            if Instant::now() > deadline {
                let page = self.js(
                    "return location.href + ' | ' + document.title + ' | ' + (document.body ? document.body.innerText.slice(0, 400) : '');",
                    json!([]),
                );
                panic!("waited {timeout:?} for {what}; the page: {page}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A WebDriver command that may fail (a stale element): its `value`,
    /// or `None`.
    fn try_cmd(&self, method: &str, path: &str, body: Option<Value>) -> Option<Value> {
        let (status, raw) = http(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body.as_ref(),
        );
        let v: Value = serde_json::from_slice(&raw).ok()?;
        (status < 300).then(|| v["value"].clone())
    }

    /// The visible text of `css` (waits up to 10 s for it to exist).
    pub fn text(&self, css: &str) -> String {
        self.wait(css, Duration::from_secs(10), || {
            self.js(
                "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                json!([css]),
            )
            .as_str()
            .map(str::to_owned)
        })
    }

    /// Waits until the visible text of `css` contains `needle`.
    pub fn wait_text(&self, css: &str, needle: &str) -> String {
        self.wait(
            &format!("{css} to show {needle:?}"),
            Duration::from_secs(10),
            || {
                let t = self.text(css);
                t.contains(needle).then_some(t)
            },
        )
    }

    /// Types `text` into the element `css` (cleared first).
    pub fn type_into(&self, css: &str, text: &str) {
        self.wait(
            &format!("typing into {css}"),
            Duration::from_secs(10),
            || {
                let el = self.find(css)?;
                self.try_cmd("POST", &format!("/element/{el}/clear"), Some(json!({})))?;
                self.try_cmd(
                    "POST",
                    &format!("/element/{el}/value"),
                    Some(json!({ "text": text })),
                )
            },
        );
    }

    /// Clicks the element `css`.
    pub fn click(&self, css: &str) {
        self.wait(&format!("clicking {css}"), Duration::from_secs(10), || {
            let el = self.find(css)?;
            self.try_cmd("POST", &format!("/element/{el}/click"), Some(json!({})))
        });
    }

    /// Whether `css` exists and is displayed.
    pub fn visible(&self, css: &str) -> bool {
        self.js(
            "const e = document.querySelector(arguments[0]); return !!e && e.checkVisibility();",
            json!([css]),
        )
        .as_bool()
        .unwrap_or(false)
    }

    /// Saves a PNG of the current tab to `path`.
    pub fn screenshot(&self, path: &Path) -> PathBuf {
        use base64::Engine as _;
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the screenshots' folder");
        }
        std::fs::write(path, png).expect("the screenshot is written");
        path.to_path_buf()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = http(
            self.port,
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}
