//! A whole centre on one machine, for testers and the benchmark
//! (`kiosk-centre demo`): a private PostgreSQL, a test PKI, a centre
//! configuration with one offline block per kiosk, and one `[centre]`
//! client file per kiosk and desk that `kioskctl --centre` reads.

use crate::postgres::TempPostgres;
use std::path::{Path, PathBuf};

/// The services of a demo centre: open every day, all day, so a demo or a
/// benchmark never meets closed hours.
pub const DEMO_QUEUE: &str = r#"
[queue]
status_url = "https://dichvucong.example.gov.vn/hang-doi"
elderly_age = 60
priority_head_start_minutes = 20
hours = { days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], open = ["00:00-24:00"] }

[[queue.services]]
code = "A"
name_vi = "Hộ tịch"
name_en = "Civil status"
counters = [1, 2]
daily_limit = 999

[[queue.services]]
code = "B"
name_vi = "Chứng thực"
name_en = "Certified copies"
counters = [3]
daily_limit = 999
"#;

/// The ids of a demo's kiosks.
pub fn kiosk_ids(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("KIOSK-{i:02}")).collect()
}

/// The desk (counter client) of a demo.
pub const DESK: &str = "DESK-01";

/// The demo's member of staff on the counter page.
pub const DEMO_STAFF: &str = "nv01";

/// The demo's hall display.
pub const DEMO_DISPLAY: &str = "hall";

/// What a demo set up.
#[derive(Debug, serde::Serialize)]
pub struct DemoLayout {
    /// The centre's configuration file.
    pub config: PathBuf,
    /// The identity packets' key (32 bytes, mode 600).
    pub identity_key: PathBuf,
    /// The counter page's demo staff id (with `[pages]`).
    pub staff_id: Option<String>,
    /// Their PIN (a demo: printed so a tester can sign in at once).
    pub staff_pin: Option<String>,
    /// The counters they may serve.
    pub staff_counters: Vec<u16>,
    /// The hall display's token (`/display?token=…`).
    pub display_token: Option<String>,
    /// The base64 SHA-256 of the centre certificate's public key, for
    /// Chromium's `--ignore-certificate-errors-spki-list`.
    pub spki_sha256: String,
    /// One `[centre]` client file per kiosk, in order.
    pub kiosk_files: Vec<PathBuf>,
    /// The desk's client file.
    pub desk_file: PathBuf,
    /// The CA.
    pub ca: PathBuf,
}

/// Writes the PKI, the centre's configuration (database `url`, listening
/// on `listen`) and the client files into `dir`. Kiosk `i` gets the
/// offline block `800 + 20·i … 819 + 20·i`.
pub fn write_layout(
    dir: &Path,
    url: &str,
    listen: &str,
    kiosks: usize,
    clock_start: Option<&str>,
    pages_listen: Option<&str>,
) -> anyhow::Result<DemoLayout> {
    anyhow::ensure!(
        (1..=9).contains(&kiosks),
        "1–9 kiosks (each gets a block of 20 numbers above 799)"
    );
    let ids = kiosk_ids(kiosks);
    let mut clients = ids.clone();
    clients.push(DESK.to_owned());
    let pki_dir = dir.join("pki");
    let ca = crate::pki::generate(&pki_dir, &clients)?;
    let identity_key = dir.join("identity.key");
    if !identity_key.exists() {
        crate::identity::IdentityKey::generate(&identity_key)?;
    }
    let mut text = format!(
        "# Written by `kiosk-centre demo`.\n[centre]\nid = \"DEMO-CENTRE\"\nlisten = \"{listen}\"\n\
         counter_clients = [\"{DESK}\"]\nonline_max = 799\nidentity_key_file = \"identity.key\"\n"
    );
    if let Some(c) = clock_start {
        text.push_str(&format!("clock_start = \"{c}\"\n"));
    }
    text.push_str(&format!(
        "\n[tls]\ncert_file = \"pki/centre.pem\"\nkey_file = \"pki/centre.key\"\nclient_ca_file = \"pki/ca.pem\"\n\n\
         [database]\nurl = \"{url}\"\npool_size = 8\n\n"
    ));
    for (i, id) in ids.iter().enumerate() {
        let first = 800 + 20 * i;
        text.push_str(&format!(
            "[[kiosks]]\nid = \"{id}\"\noffline_block = \"{first}-{}\"\n\n",
            first + 19
        ));
    }
    let (mut staff_id, mut staff_pin, mut display_token) = (None, None, None);
    let staff_counters = vec![1, 2];
    if let Some(pages) = pages_listen {
        let digits = crate::identity::random_bytes::<6>()
            .ok_or_else(|| anyhow::anyhow!("no random bytes"))?;
        let pin: String = digits.iter().map(|b| char::from(b'0' + b % 10)).collect();
        let salt = crate::identity::random_bytes::<16>()
            .ok_or_else(|| anyhow::anyhow!("no random bytes"))?;
        let hash = kiosk_firmware::staff::hash_pin(&pin, &salt)?;
        let (token, token_sha256) = display_token_pair()?;
        text.push_str(&format!(
            "[pages]\nlisten = \"{pages}\"\n\n[[staff]]\nid = \"{DEMO_STAFF}\"\npin_hash = \"{}\"\ncounters = {staff_counters:?}\n\n\
             [[displays]]\nid = \"{DEMO_DISPLAY}\"\ntoken_sha256 = \"{token_sha256}\"\n\n",
            hash.as_str()
        ));
        staff_id = Some(DEMO_STAFF.to_owned());
        staff_pin = Some(pin);
        display_token = Some(token);
    }
    text.push_str(DEMO_QUEUE);
    let config = dir.join("centre.toml");
    std::fs::write(&config, text)?;
    let spki_sha256 = crate::pki::spki_sha256_base64(&pki_dir.join("centre.pem"))?;
    Ok(DemoLayout {
        config,
        identity_key,
        staff_id,
        staff_pin,
        staff_counters,
        display_token,
        spki_sha256,
        kiosk_files: ids
            .iter()
            .map(|id| dir.join(format!("{id}.toml")))
            .collect(),
        desk_file: dir.join(format!("{DESK}.toml")),
        ca,
    })
}

/// A fresh display token (64 hex digits) and the hex SHA-256 of its text,
/// for `[[displays]] token_sha256`.
pub fn display_token_pair() -> anyhow::Result<(String, String)> {
    use sha2::Digest as _;
    let raw =
        crate::identity::random_bytes::<32>().ok_or_else(|| anyhow::anyhow!("no random bytes"))?;
    let token = hex::encode(raw);
    let digest = hex::encode(sha2::Sha256::digest(token.as_bytes()));
    Ok((token, digest))
}

/// Writes the `[centre]` client files for a centre now listening at
/// `url` (`https://127.0.0.1:PORT`).
pub fn write_client_files(layout: &DemoLayout, url: &str) -> anyhow::Result<()> {
    let mut files: Vec<&PathBuf> = layout.kiosk_files.iter().collect();
    files.push(&layout.desk_file);
    for file in files {
        let id = file
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| anyhow::anyhow!("bad client file name"))?;
        std::fs::write(
            file,
            format!(
                "# Written by `kiosk-centre demo`: the [centre] section of a board configuration.\n\
                 [centre]\nurl = \"{url}\"\nca_file = \"pki/ca.pem\"\n\
                 client_cert_file = \"pki/{id}.pem\"\nclient_key_file = \"pki/{id}.key\"\ntimeout_ms = 2000\n"
            ),
        )?;
    }
    Ok(())
}

/// A private PostgreSQL with a fresh database `centre`; returns it and the
/// database's connection string.
pub fn database() -> anyhow::Result<(TempPostgres, String)> {
    let pg = TempPostgres::start()?;
    let url = pg.create_database("centre")?;
    Ok((pg, url))
}
