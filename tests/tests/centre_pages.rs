//! The centre's counter and hall-display pages (issue 18) with a real
//! PostgreSQL, the real `kiosk-centre` binary and a real browser (Debian's
//! `chromium` driven through `chromedriver` over W3C WebDriver): staff sign
//! in (a wrong PIN refused with its message, a lockout after five), a call
//! from the counter page shows on the display page with its chime and
//! spoken call, the identity packet shows on the counter page only for a
//! ticket issued with one and only at the counter that called it, and is
//! gone (row deleted) once served. Plus the API's refusals of packets it
//! must not keep, and the refusals of cross-origin requests, of other
//! counters and of displays without the right token, each by its code.
//!
//! Screenshots of both pages in both languages go to
//! `$CARGO_TARGET_DIR/centre-pages/` (and, copied by hand, to
//! `docs/screenshots/`).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use kiosk_board::online::centre::CentreClient;
use kiosk_firmware::queue::Lane;
use kiosk_firmware::queue::centre::{
    Attempt, FormField, IdentityPacket, IssueRequest, PrefilledForm,
};
use kiosk_tests::centre::CentreProcess;
use kiosk_tests::webdriver::Browser;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const NAME: &str = "Nguyễn Thị Minh Khai";

fn client(file: &Path) -> CentreClient {
    let section = kiosk_board::config::load_centre_section(file).unwrap();
    CentreClient::new(&section.endpoint).unwrap()
}

fn packet(service: &str) -> IdentityPacket {
    IdentityPacket {
        full_name: NAME.into(),
        date_of_birth: "19/05/1990".into(),
        masked_id: "********4321".into(),
        verification: "face_matched".into(),
        genuineness: "anchored".into(),
        service: service.into(),
        form: Some(PrefilledForm {
            procedure: "1.001193".into(),
            fields: vec![FormField {
                key: "place_of_origin".into(),
                label_vi: "Quê quán".into(),
                label_en: "Place of origin".into(),
                value: "Hà Nội".into(),
            }],
        }),
        consented_at_unix_ms: 1_796_608_800_000,
    }
}

fn request(service: &str, identity: Option<IdentityPacket>) -> IssueRequest {
    IssueRequest {
        service: service.into(),
        lane: Lane::Normal,
        priority: None,
        verification: if identity.is_some() {
            "face_matched".into()
        } else {
            "anonymous".into()
        },
        identity,
    }
}

/// Issues through the mutual-TLS API; the status and the JSON body.
fn issue(c: &CentreClient, key: &str, req: &IssueRequest) -> (u16, Value) {
    match c.issue(key, req) {
        Attempt::Answered { status, body } => (status, serde_json::from_slice(&body).unwrap()),
        Attempt::Unreachable(e) => panic!("the centre is unreachable: {e}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// The sealed identity packets of ticket `id` (as stored).
fn sealed_rows(url: &str, id: i64) -> Vec<Vec<u8>> {
    runtime().block_on(async {
        let pool = kiosk_centre::db::pool(url, 1).unwrap();
        let c = pool.get().await.unwrap();
        c.query(
            "SELECT sealed FROM identity_packet WHERE ticket_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<_, Vec<u8>>(0))
        .collect()
    })
}

/// Live staff sessions at `counter`.
fn staff_sessions(url: &str, counter: i32) -> i64 {
    runtime().block_on(async {
        let pool = kiosk_centre::db::pool(url, 1).unwrap();
        let c = pool.get().await.unwrap();
        c.query_one(
            "SELECT count(*) FROM page_session WHERE kind = 'staff' AND counter = $1",
            &[&counter],
        )
        .await
        .unwrap()
        .get(0)
    })
}

/// The identity views' audit: (ticket, staff, counter, outcome).
fn audit(url: &str) -> Vec<(i64, String, i32, String)> {
    runtime().block_on(async {
        let pool = kiosk_centre::db::pool(url, 1).unwrap();
        let c = pool.get().await.unwrap();
        c.query(
            "SELECT ticket_id, staff_id, counter, outcome FROM identity_view ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
    })
}

/// A request to the pages' listener with curl (the centre's CA pinned):
/// the status and the JSON body.
fn curl(centre: &CentreProcess, dir: &Path, jar: &str, args: &[&str]) -> (u16, Value) {
    let port = centre.pages_port.unwrap();
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--cacert"])
        .arg(dir.join("pki/ca.pem"))
        .arg("--cookie-jar")
        .arg(dir.join(jar))
        .arg("--cookie")
        .arg(dir.join(jar))
        .args(["--write-out", "\n%{http_code}"])
        .args(
            args.iter()
                .map(|a| a.replace("{base}", &format!("https://127.0.0.1:{port}"))),
        )
        .output()
        .expect("curl runs (Debian package curl)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (
        status.trim().parse().unwrap(),
        serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())),
    )
}

fn login_args(pin: &str, counter: u16) -> Vec<String> {
    vec![
        "-X".into(),
        "POST".into(),
        "-H".into(),
        "X-Centre-Page: 1".into(),
        "-H".into(),
        "Content-Type: application/json".into(),
        "--data".into(),
        json!({ "staff": "nv01", "pin": pin, "counter": counter }).to_string(),
        "{base}/counter/api/login".into(),
    ]
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn screenshots_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("centre-pages")
}

/// The API keeps a packet only for an identified holder of the same
/// service, within the size limit, once per idempotency key, encrypted.
#[test]
fn the_centre_keeps_identity_packets_only_for_identified_tickets_once_and_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let (centre, layout) = CentreProcess::start_new(dir.path(), 1);
    let kiosk = client(&layout.kiosk_files[0]);

    let mut anonymous = request("A", Some(packet("A")));
    anonymous.verification = "anonymous".into();
    let (status, body) = issue(&kiosk, "key-anonymous-1", &anonymous);
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("identity_on_anonymous"))
    );

    let (status, body) = issue(&kiosk, "key-mismatch-1", &request("A", Some(packet("B"))));
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("identity_service_mismatch"))
    );

    let mut big = packet("A");
    big.full_name = "X".repeat(20_000);
    let (status, body) = issue(&kiosk, "key-oversize-1", &request("A", Some(big)));
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("identity_too_large"))
    );

    let req = request("A", Some(packet("A")));
    let (status, first) = issue(&kiosk, "key-identity-1", &req);
    assert_eq!(status, 201, "{first}");
    let (status, again) = issue(&kiosk, "key-identity-1", &req);
    assert_eq!((status, again["replayed"].as_bool()), (200, Some(true)));
    let id = first["ticket"]["id"].as_i64().unwrap();
    let rows = sealed_rows(&centre.db_url, id);
    assert_eq!(rows.len(), 1, "a replay stores no second packet");
    for needle in [
        NAME.as_bytes(),
        b"19/05/1990".as_slice(),
        "Hà Nội".as_bytes(),
    ] {
        assert!(
            !rows[0].windows(needle.len()).any(|w| w == needle),
            "the stored packet is ciphertext"
        );
    }
    assert!(
        !first.to_string().contains(NAME),
        "the answer carries no personal data"
    );
    let log = std::fs::read_to_string(centre.log_file()).unwrap_or_default();
    assert!(!log.contains(NAME), "no personal data in the log");
}

/// A packet goes with its ticket at a no-show, and the sweep deletes those
/// of past days; a PIN lockout ends after five minutes (the database
/// functions take `now`).
#[test]
fn packets_go_at_a_no_show_and_at_day_end_and_a_lockout_ends_after_five_minutes() {
    use kiosk_centre::db::pages::PinFailure;
    use kiosk_centre::db::{CentreDb, CentreError, Refusal};
    use kiosk_firmware::store::UnixMillis;
    let url = kiosk_tests::centre::fresh_db();
    let rt = runtime();
    rt.block_on(async {
        let pool = kiosk_centre::db::pool(&url, 2).unwrap();
        kiosk_centre::db::migrate(&pool).await.unwrap();
        let table: toml::Table = toml::from_str(kiosk_centre::demo::DEMO_QUEUE).unwrap();
        let queue: kiosk_firmware::queue::QueueConfig =
            table["queue"].clone().try_into().unwrap();
        let catalog = kiosk_firmware::queue::Catalog::from_config(&queue).unwrap();
        let key = kiosk_centre::identity::IdentityKey::from_bytes(&[9; 32]);
        let db = CentreDb::new(pool, "C1", catalog, 799).with_identity_key(std::sync::Arc::new(key));
        let monday = UnixMillis(kiosk_tests::centre::MONDAY_NINE_MS);
        let tuesday = UnixMillis(monday.0 + 24 * 3_600_000);
        let req = request("A", Some(packet("A")));
        let a = db.issue("K1", "sweep-key-1", &req, monday).await.unwrap().ticket;
        let b = db.issue("K1", "sweep-key-2", &req, monday).await.unwrap().ticket;
        assert!(db.has_identity(a.id).await.unwrap() && db.has_identity(b.id).await.unwrap());
        let called = db.call_next(1, None, monday).await.unwrap().unwrap();
        assert_eq!(called.id, a.id);
        assert_eq!(db.view_identity(a.id, "nv01", 1, monday).await.unwrap().full_name, NAME);
        db.no_show(a.id, 1, monday).await.unwrap();
        assert!(!db.has_identity(a.id).await.unwrap(), "gone with the no-show");
        assert_eq!(db.sweep(monday).await.unwrap(), 0, "today's packets stay");
        assert_eq!(db.sweep(tuesday).await.unwrap(), 1, "yesterday's go");
        assert!(!db.has_identity(b.id).await.unwrap());

        for left in [4, 3, 2, 1] {
            assert_eq!(db.pin_failed("nv01", monday).await.unwrap(), PinFailure::Remaining(left));
        }
        let until = monday.0 + 5 * 60_000;
        assert_eq!(db.pin_failed("nv01", monday).await.unwrap(), PinFailure::Locked(until));
        assert!(matches!(
            db.check_lockout("nv01", UnixMillis(until - 1)).await,
            Err(CentreError::Refused(Refusal::LockedOut { until_unix_ms })) if until_unix_ms == until
        ));
        db.check_lockout("nv01", UnixMillis(until)).await.unwrap();
    });
}

/// Eight wrong PINs sent at once: four are told how many tries are left,
/// the fifth locks the id and the rest are refused as locked — parallel
/// guesses do not outrun the count.
#[test]
fn parallel_wrong_pins_cannot_outrun_the_lockout() {
    let dir = tempfile::tempdir().unwrap();
    let (centre, layout) = CentreProcess::start_with(dir.path(), 1, None, true);
    let pin = layout.staff_pin.clone().unwrap();
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    let codes: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (centre, dir) = (&centre, dir.path());
                s.spawn(move || {
                    let (status, body) = curl(
                        centre,
                        dir,
                        &format!("guess-{i}.jar"),
                        &strs(&login_args(wrong, 1)),
                    );
                    (status, body["error"].as_str().unwrap_or("").to_owned())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let told = codes
        .iter()
        .filter(|c| *c == &(401, "bad_credentials".to_owned()))
        .count();
    let locked = codes
        .iter()
        .filter(|c| *c == &(429, "locked_out".to_owned()))
        .count();
    assert_eq!((told, locked), (4, 4), "{codes:?}");
    let (status, body) = curl(
        &centre,
        dir.path(),
        "right.jar",
        &strs(&login_args(&pin, 1)),
    );
    assert_eq!((status, body["error"].as_str()), (429, Some("locked_out")));
}

/// The centre refuses to start with an identity key others may read.
#[test]
fn the_centre_refuses_an_identity_key_readable_by_others() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let (mut centre, layout) = CentreProcess::start_new(dir.path(), 1);
    centre.kill();
    std::fs::set_permissions(&layout.identity_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = Command::new(kiosk_tests::centre::target_dir_binary("kiosk-centre"))
        .args(["serve", "--config"])
        .arg(&layout.config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("chmod 600"), "{err}");
}

/// The whole counter and display in a browser.
#[test]
fn staff_call_at_the_counter_page_and_the_display_shows_and_speaks_the_call() {
    kiosk_tests::webdriver::require_browser();
    let dir = tempfile::tempdir().unwrap();
    // The system clock: the browser measures the display's latency.
    let (centre, layout) = CentreProcess::start_with(dir.path(), 1, None, true);
    let base = format!("https://127.0.0.1:{}", centre.pages_port.unwrap());
    let pin = layout.staff_pin.clone().unwrap();
    let wrong = if pin == "000000" { "111111" } else { "000000" };
    let kiosk = client(&layout.kiosk_files[0]);
    let shots = screenshots_dir();

    // Displays: a wrong token is refused, the right one becomes a cookie
    // and leaves the URL.
    let (status, _) = curl(
        &centre,
        dir.path(),
        "nobody.jar",
        &["{base}/display?token=nope"],
    );
    assert_eq!(status, 401);
    let (status, body) = curl(
        &centre,
        dir.path(),
        "nobody.jar",
        &["{base}/display/api/events"],
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("display_not_admitted"))
    );
    let (status, _) = curl(&centre, dir.path(), "nobody.jar", &["{base}/display"]);
    assert_eq!(status, 401, "no token, no cookie: not admitted");
    let token = layout.display_token.clone().unwrap();
    let (status, _) = curl(
        &centre,
        dir.path(),
        "display.jar",
        &[&format!("{{base}}/display?token={token}")],
    );
    assert_eq!(status, 303, "the token is swapped for a cookie");
    for bad in [
        "number=A001%3Brm%20-rf&counter=1",
        "number=-v%20en&counter=1",
        "number=A001&counter=0",
        "number=A001&counter=70000",
        "number=A001&counter=1&lang=fr",
    ] {
        let (status, body) = curl(
            &centre,
            dir.path(),
            "display.jar",
            &[&format!("{{base}}/display/api/audio?{bad}")],
        );
        assert_eq!(
            (status, body["error"].as_str()),
            (422, Some("bad_request")),
            "{bad}"
        );
    }

    let browser = Browser::start(&layout.spki_sha256);
    browser.goto(&format!("{base}/display?token=wrong-token"));
    assert!(browser.text("#refused").contains("Không được phép"));
    browser.goto(&format!(
        "{base}/display?token={}&lang=vi",
        layout.display_token.as_deref().unwrap()
    ));
    assert_eq!(
        browser.url(),
        format!("{base}/display?lang=vi"),
        "the token left the URL"
    );
    browser.wait_text("#status", "Trực tuyến");
    let display = browser.tab();

    // The counter: a wrong PIN is refused with its message; the right one
    // signs in.
    let counter = browser.new_tab();
    browser.switch_to(&counter);
    browser.goto(&format!("{base}/counter"));
    browser.type_into("#staff", "nv01");
    browser.type_into("#pin", wrong);
    browser.type_into("#counter-no", "1");
    browser.click("#login-button");
    let message = browser.wait_text("#login-message", "Sai mã nhân viên hoặc mã PIN");
    assert!(message.contains("Còn 4 lần thử"), "{message}");
    browser.type_into("#pin", &pin);
    browser.click("#login-button");
    browser.wait_text("#who", "Quầy 1 · nv01");

    // Two tickets through the kiosks' API: one with a packet, one without.
    let (status, with) = issue(&kiosk, "pages-key-1", &request("A", Some(packet("A"))));
    assert_eq!(status, 201, "{with}");
    let (status, without) = issue(&kiosk, "pages-key-2", &request("A", None));
    assert_eq!(status, 201, "{without}");
    let with_id = with["ticket"]["id"].as_i64().unwrap();
    let with_number = with["ticket"]["number"].as_str().unwrap().to_owned();
    let without_number = without["ticket"]["number"].as_str().unwrap().to_owned();
    browser.wait_text("#waiting li[data-service=\"A\"]", ": 2 ");

    // Call next: the counter shows the number and the packet …
    browser.click("#call-next");
    browser.wait_text("#current-number", &with_number);
    assert_eq!(browser.wait_text("#id-name", NAME), NAME);
    assert!(browser.text("#id-masked").contains("4321"));
    assert!(browser.text("#id-form").contains("Hà Nội"));
    assert!(browser.text("#id-verification").contains("Khớp khuôn mặt"));
    browser.screenshot(&shots.join("counter-vi.png"));

    // … and the display shows it, with its latency, chime and speech.
    browser.switch_to(&display);
    let css = format!("tr.call[data-number=\"{with_number}\"][data-counter=\"1\"]");
    let latency = browser.wait("the call on the display", Duration::from_secs(10), || {
        let v = browser.js(
            "const e = document.querySelector(arguments[0]); return e ? [e.dataset.latencyMs, e.dataset.latencyCentreMs] : null;",
            json!([css]),
        );
        v.as_array().cloned()
    });
    println!(
        "display latency of the call: data-latency-ms {} ms (browser clock), data-latency-centre-ms {} ms",
        latency[0], latency[1]
    );
    let audio = browser.wait("the call's audio", Duration::from_secs(15), || {
        let v = browser.js(
            "const e = document.querySelector(arguments[0]); return e && e.dataset.audio ? [e.dataset.audio, e.dataset.audioUrl, e.dataset.audioSeconds || ''] : null;",
            json!([css]),
        );
        v.as_array().cloned()
    });
    assert_eq!(
        audio[0], "loaded",
        "the display loaded the call's WAV: {audio:?}"
    );
    let wav = browser.js_async(
        "const done = arguments[arguments.length - 1];
         fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => {
           const u = new Uint8Array(b);
           done({ status: 200, len: u.length, head: Array.from(u.slice(0, 44)) });
         }).catch(e => done({ error: String(e) }));",
        json!([audio[1]]),
    );
    let head: Vec<u8> = wav["head"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
        .collect();
    assert_eq!(&head[0..4], b"RIFF");
    assert_eq!(&head[8..16], b"WAVEfmt ");
    let rate = u32::from_le_bytes(head[24..28].try_into().unwrap());
    let data = u32::from_le_bytes(head[40..44].try_into().unwrap());
    let chime = kiosk_centre::audio::chime().len() as u32 * 2;
    let len = u32::try_from(wav["len"].as_u64().unwrap()).unwrap();
    assert_eq!(len, data + 44);
    println!(
        "call audio: {len} bytes, {:.2} s (chime {:.2} s), browser duration {}",
        f64::from(data) / f64::from(rate * 2),
        f64::from(chime) / f64::from(rate * 2),
        audio[2]
    );
    assert!(
        data > chime + rate,
        "the WAV holds the chime and at least a second of speech (espeak-ng)"
    );
    browser.screenshot(&shots.join("display-vi.png"));
    browser.goto(&format!("{base}/display?lang=en"));
    browser.wait_text("#status", "Live");
    browser.wait_text("#current", &with_number);
    browser.screenshot(&shots.join("display-en.png"));

    // Another counter's session, a cross-origin request, no session: each
    // refused with its code; each view audited.
    let (status, body) = curl(
        &centre,
        dir.path(),
        "other.jar",
        &strs(&login_args(&pin, 2)),
    );
    assert_eq!(status, 200, "{body}");
    let jar = std::fs::read_to_string(dir.path().join("other.jar")).unwrap();
    let cookie = jar
        .lines()
        .find(|l| l.contains("__Host-centre_session"))
        .unwrap_or_else(|| panic!("no session cookie: {jar}"));
    let fields: Vec<&str> = cookie.split('\t').collect();
    assert!(fields[0].starts_with("#HttpOnly_"), "HttpOnly: {cookie}");
    assert_eq!(
        (fields[2], fields[3]),
        ("/", "TRUE"),
        "Path=/ and Secure: {cookie}"
    );
    assert_eq!(fields[6].len(), 64, "32 random bytes in hex");
    let unknown: Vec<String> = login_args(&pin, 1)
        .into_iter()
        .map(|a| a.replace("\"nv01\"", "\"nobody\""))
        .collect();
    let (status, body) = curl(&centre, dir.path(), "nobody.jar", &strs(&unknown));
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("bad_credentials"))
    );
    let (status, body) = curl(
        &centre,
        dir.path(),
        "nobody.jar",
        &strs(&login_args(&pin, 3)),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("counter_not_allowed"))
    );
    let identity_url = format!("{{base}}/counter/api/tickets/{with_id}/identity");
    let (status, body) = curl(&centre, dir.path(), "other.jar", &[&identity_url]);
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("not_at_your_counter"))
    );
    assert!(!body.to_string().contains(NAME));
    let (status, body) = curl(&centre, dir.path(), "nobody.jar", &[&identity_url]);
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("not_signed_in"))
    );
    let cross = [
        "-X",
        "POST",
        "-H",
        "X-Centre-Page: 1",
        "-H",
        "Origin: https://evil.example",
        "-H",
        "Content-Type: application/json",
        "--data",
        "{}",
        "{base}/counter/api/call-next",
    ];
    let (status, body) = curl(&centre, dir.path(), "other.jar", &cross);
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("cross_origin"))
    );
    let no_header = [
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data",
        "{}",
        "{base}/counter/api/call-next",
    ];
    let (status, body) = curl(&centre, dir.path(), "other.jar", &no_header);
    assert_eq!(
        (status, body["error"].as_str()),
        (403, Some("cross_origin"))
    );
    let views = audit(&centre.db_url);
    assert!(
        views.contains(&(with_id, "nv01".into(), 1, "shown".into())),
        "{views:?}"
    );
    assert!(
        views.contains(&(with_id, "nv01".into(), 2, "not_at_your_counter".into())),
        "{views:?}"
    );

    // Served: the packet is gone, its row deleted.
    browser.switch_to(&counter);
    browser.goto(&format!("{base}/counter?lang=en"));
    browser.wait_text("#id-name", NAME);
    browser.wait_text("#who", "Counter 1");
    browser.screenshot(&shots.join("counter-en.png"));
    browser.click("#served");
    browser.wait(
        "the packet to leave the page",
        Duration::from_secs(10),
        || (!browser.visible("#identity")).then_some(()),
    );
    assert!(
        sealed_rows(&centre.db_url, with_id).is_empty(),
        "the row is deleted"
    );
    let fetch_identity = "const done = arguments[arguments.length - 1];
         fetch(arguments[0], { credentials: 'same-origin' })
           .then(r => r.json().then(j => done([r.status, j.error])));";
    let gone = browser.js_async(
        fetch_identity,
        json!([format!("/counter/api/tickets/{with_id}/identity")]),
    );
    assert_eq!(gone, json!([410, "identity_gone"]));

    // The next ticket has no packet: none shown, the endpoint says so.
    browser.click("#call-next");
    browser.wait_text("#current-number", &without_number);
    assert!(browser.visible("#no-identity"));
    assert!(!browser.visible("#identity"));
    let without_id = without["ticket"]["id"].as_i64().unwrap();
    let none = browser.js_async(
        fetch_identity,
        json!([format!("/counter/api/tickets/{without_id}/identity")]),
    );
    assert_eq!(none, json!([404, "no_identity"]));

    // Recall, then transfer it to service B: the counter is free again and
    // B has one waiting (the queue's own transfer).
    browser.click("#recall");
    browser.wait_text("#current-number", &without_number);
    browser.js(
        "document.getElementById('to-service').value = 'B';",
        json!([]),
    );
    browser.click("#transfer");
    browser.wait_text("#current-number", "—");
    browser.wait_text("#waiting li[data-service=\"B\"]", ": 1 ");

    // Lockout: five wrong PINs lock the id, even against the right PIN.
    browser.click("#logout");
    browser.wait("the sign-in form", Duration::from_secs(10), || {
        browser.visible("#login").then_some(())
    });
    assert_eq!(
        staff_sessions(&centre.db_url, 1),
        0,
        "signing out deleted the session's row"
    );
    for _ in 0..5 {
        browser.type_into("#staff", "nv01");
        browser.type_into("#pin", wrong);
        browser.type_into("#counter-no", "1");
        browser.click("#login-button");
        browser.wait("an answer", Duration::from_secs(10), || {
            (!browser.text("#login-message").is_empty()).then_some(())
        });
        let _ = browser.js(
            "document.getElementById('login-message').textContent = '';",
            json!([]),
        );
    }
    browser.type_into("#pin", &pin);
    browser.click("#login-button");
    browser.wait_text("#login-message", "Locked after 5 wrong PINs");
    let (status, body) = curl(
        &centre,
        dir.path(),
        "third.jar",
        &strs(&login_args(&pin, 1)),
    );
    assert_eq!((status, body["error"].as_str()), (429, Some("locked_out")));

    let log = std::fs::read_to_string(centre.log_file()).unwrap_or_default();
    assert!(
        log.contains("counter page: signed in"),
        "the info log was captured: {log}"
    );
    for personal in [NAME, "19/05/1990", "********4321", "Hà Nội"] {
        assert!(
            !log.contains(personal),
            "no personal data in the centre's log: {personal}"
        );
    }
    for f in [
        "counter-vi.png",
        "counter-en.png",
        "display-vi.png",
        "display-en.png",
    ] {
        println!("screenshot: {}", shots.join(f).display());
    }
}
