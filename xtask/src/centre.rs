//! `cargo xtask centre`: a whole service centre on one machine, so a
//! tester sees the hall at once — a private PostgreSQL and the centre
//! (`kiosk-centre demo`), simulated kiosks numbering through it, the hall
//! display and a counter page in Chromium.
//!
//! With a display, each kiosk opens its own window and Chromium opens the
//! display and counter pages; everything runs until the kiosks' windows
//! close (or Ctrl-C), then the centre and its database are stopped by PID.
//! Without a display (`--headless`, or neither `DISPLAY` nor
//! `WAYLAND_DISPLAY` set) each kiosk plays the happy-path scenario through
//! the centre, the desk calls the first number, and headless Chromium
//! photographs the hall display: a smoke run of the whole hall whose
//! screenshots land in `target/centre-hall/`.

use anyhow::{Context as _, bail};
use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Options of `cargo xtask centre`.
#[derive(Debug)]
pub(crate) struct Options {
    /// How many simulated kiosks (1–9).
    pub kiosks: usize,
    /// Play scenarios and take screenshots instead of opening windows.
    pub headless: bool,
    /// The face models (`KIOSK_MODEL_DIR` of the kiosks).
    pub model_dir: PathBuf,
    /// The face-test photos (`KIOSK_FACE_FIXTURES`: the simulator's cards
    /// and camera faces).
    pub fixtures: PathBuf,
}

/// A child process stopped (SIGKILL through `Child::kill`, by its PID)
/// and reaped when dropped.
struct Running {
    name: String,
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SIGTERM first so the centre's demo stops its PostgreSQL.
            let _ = Command::new("kill")
                .arg(self.child.id().to_string())
                .status();
            for _ in 0..50 {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                #[expect(
                    clippy::disallowed_methods,
                    reason = "a developer task waiting for a child to stop, not a state machine"
                )]
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            println!("{}: did not stop on SIGTERM, killing it", self.name);
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn spawn(name: &str, cmd: &mut Command) -> anyhow::Result<Running> {
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {name} ({:?})", cmd.get_program()))?;
    println!("centre: started {name} (pid {})", child.id());
    Ok(Running {
        name: name.to_owned(),
        child,
    })
}

/// Makes every relative path of a board configuration (keys ending in
/// `_dir`, `_file`, or `catalogue`) absolute against `base`, the folder
/// the configuration came from.
fn absolutise(value: &mut toml::Value, base: &Path) {
    match value {
        toml::Value::Table(table) => {
            for (key, v) in table.iter_mut() {
                let is_path = key.ends_with("_dir") || key.ends_with("_file") || key == "catalogue";
                match v {
                    toml::Value::String(s) if is_path && Path::new(s.as_str()).is_relative() => {
                        *s = base.join(s.as_str()).to_string_lossy().into_owned();
                    }
                    _ => absolutise(v, base),
                }
            }
        }
        toml::Value::Array(items) => {
            for item in items {
                absolutise(item, base);
            }
        }
        _ => {}
    }
}

fn table<'a>(value: &'a mut toml::Value, key: &str) -> anyhow::Result<&'a mut toml::Table> {
    value
        .get_mut(key)
        .and_then(toml::Value::as_table_mut)
        .with_context(|| format!("the simulator configuration has no [{key}]"))
}

/// Rewrites `https://HOST:PORT` (or `HOST:PORT`) with another port.
fn with_port(address: &str, port: u16) -> String {
    match address.rsplit_once(':') {
        Some((head, _)) => format!("{head}:{port}"),
        None => format!("{address}:{port}"),
    }
}

/// Writes kiosk `index`'s configuration: the simulator board's own
/// (`board/config/sim.toml`), with its own id, data folder, printer output
/// and ports (each simulated kiosk runs its own simulated portal and
/// identity authority), and the `[centre]` section the demo wrote for it.
fn kiosk_config(
    root: &Path,
    dir: &Path,
    index: usize,
    id: &str,
    client_file: &Path,
) -> anyhow::Result<PathBuf> {
    let sim = root.join("board/config/sim.toml");
    let text =
        std::fs::read_to_string(&sim).with_context(|| format!("cannot read {}", sim.display()))?;
    let mut config: toml::Value = toml::from_str(&text)?;
    absolutise(&mut config, &root.join("board/config"));
    let own = dir.join(id);
    std::fs::create_dir_all(&own)?;
    let path_of = |p: PathBuf| toml::Value::String(p.to_string_lossy().into_owned());
    let kiosk = table(&mut config, "kiosk")?;
    kiosk.insert("id".into(), toml::Value::String(id.to_owned()));
    kiosk.insert("data_dir".into(), path_of(own.join("data")));
    // Ports of kiosk `index` (1-based): 9464/8443/8444 plus 10·index.
    let offset = 10 * u16::try_from(index).context("too many kiosks")?;
    if let Some(metrics) = config
        .get_mut("metrics")
        .and_then(toml::Value::as_table_mut)
        && let Some(listen) = metrics.get("listen").and_then(toml::Value::as_str)
    {
        let listen = with_port(listen, 9464 + offset);
        metrics.insert("listen".into(), toml::Value::String(listen));
    }
    for (section, sub, port) in [
        ("requests", Some("portal"), 8443 + offset),
        ("verification", None, 8444 + offset),
    ] {
        let Some(mut t) = config.get_mut(section).and_then(toml::Value::as_table_mut) else {
            continue;
        };
        if let Some(sub) = sub {
            match t.get_mut(sub).and_then(toml::Value::as_table_mut) {
                Some(s) => t = s,
                None => continue,
            }
        }
        if let Some(url) = t.get("url").and_then(toml::Value::as_str) {
            let url = with_port(url, port);
            t.insert("url".into(), toml::Value::String(url));
        }
    }
    if let Some(staff) = config.get_mut("staff").and_then(toml::Value::as_table_mut) {
        staff.insert("export_dir".into(), path_of(own.join("export")));
    }
    if let Some(printer) = config
        .get_mut("sim")
        .and_then(|s| s.get_mut("printer"))
        .and_then(toml::Value::as_table_mut)
    {
        printer.insert("output_dir".into(), path_of(own.join("printer")));
    }
    // The demo's client file: a `[centre]` section with paths relative to
    // the file's folder.
    let client_text = std::fs::read_to_string(client_file)
        .with_context(|| format!("cannot read {}", client_file.display()))?;
    let mut client: toml::Value = toml::from_str(&client_text)?;
    absolutise(&mut client, client_file.parent().unwrap_or(dir));
    let centre = client
        .get("centre")
        .cloned()
        .context("the demo's client file has no [centre]")?;
    let toml::Value::Table(top) = &mut config else {
        bail!("the simulator configuration is not a table");
    };
    top.insert("centre".into(), centre);
    let file = dir.join(format!("{id}.board.toml"));
    std::fs::write(
        &file,
        format!(
            "# Written by `cargo xtask centre` from board/config/sim.toml: kiosk {id} of the demo hall.\n{}",
            toml::to_string(&config)?
        ),
    )?;
    Ok(file)
}

/// The demo's ready line (`kiosk-centre demo` prints one JSON object).
fn ready_line(centre: &mut Running) -> anyhow::Result<serde_json::Value> {
    let stdout = centre
        .child
        .stdout
        .take()
        .context("the centre's stdout is not piped")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    serde_json::from_str(line.trim())
        .with_context(|| format!("kiosk-centre demo did not report ready: {line:?}"))
}

/// The centre's pages, as the demo reported them.
struct Pages {
    counter: Option<String>,
    display: Option<String>,
    /// The base64 SHA-256 of the centre certificate's public key: Chromium
    /// trusts exactly that certificate (`--ignore-certificate-errors-spki-list`).
    spki: Option<String>,
}

/// Chromium with a fresh profile in `profile`, trusting only the centre's
/// certificate, playing the display's sound without a click.
fn chromium(profile: &Path, spki: &str) -> Command {
    let mut cmd = Command::new("chromium");
    cmd.arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--ignore-certificate-errors-spki-list={spki}"))
        .args([
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--autoplay-policy=no-user-gesture-required",
        ])
        .stderr(Stdio::null());
    cmd
}

fn string_at<'a>(value: &'a serde_json::Value, path: &[&str]) -> Option<&'a str> {
    let mut v = value;
    for key in path {
        v = v.get(key)?;
    }
    v.as_str()
}

/// Runs the hall.
pub(crate) fn run(root: &Path, target: &Path, options: &Options) -> anyhow::Result<()> {
    if !(1..=9).contains(&options.kiosks) {
        bail!("--kiosks 1–9");
    }
    let bin = target.join("debug");
    let dir = target.join("centre-hall");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let mut centre_cmd = Command::new(bin.join("kiosk-centre"));
    centre_cmd
        .args(["demo", "--kiosks", &options.kiosks.to_string()])
        .args(["--listen", "127.0.0.1:0", "--dir"])
        .arg(dir.join("centre"))
        .stdout(Stdio::piped());
    let mut centre = spawn("the centre (PostgreSQL and kiosk-centre)", &mut centre_cmd)?;
    let ready = ready_line(&mut centre)?;
    let files: Vec<PathBuf> = ready
        .get("layout")
        .and_then(|l| l.get("kiosk_files"))
        .and_then(serde_json::Value::as_array)
        .context("the demo named no kiosk files")?
        .iter()
        .filter_map(|v| v.as_str().map(PathBuf::from))
        .collect();
    let desk = string_at(&ready, &["layout", "desk_file"])
        .map(PathBuf::from)
        .context("the demo named no desk file")?;
    let mut configs = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let id = file
            .file_stem()
            .and_then(|s| s.to_str())
            .context("bad client file name")?;
        configs.push((id.to_owned(), kiosk_config(root, &dir, i + 1, id, file)?));
    }
    println!(
        "\ncentre: {} (mutual TLS; kiosks and desks)",
        string_at(&ready, &["url"]).unwrap_or("?")
    );
    for (id, config) in &configs {
        println!("centre: kiosk {id}: {}", config.display());
    }
    println!(
        "centre: desk: kioskctl centre call --centre {} …",
        desk.display()
    );
    let pages = Pages {
        counter: string_at(&ready, &["counter_page"]).map(str::to_owned),
        display: string_at(&ready, &["display_page"]).map(str::to_owned),
        spki: string_at(&ready, &["layout", "spki_sha256"]).map(str::to_owned),
    };
    if let Some(counter) = &pages.counter {
        println!(
            "centre: counter page {counter}: staff {} with PIN {} at counter 1",
            string_at(&ready, &["layout", "staff_id"]).unwrap_or("?"),
            string_at(&ready, &["layout", "staff_pin"]).unwrap_or("?"),
        );
    }
    if let Some(display) = &pages.display {
        println!("centre: hall display {display}");
    }
    if options.headless {
        headless(root, &bin, &dir, &configs, &desk, &pages, options)
    } else {
        windows(&bin, &dir, &configs, &pages, options)
    }
}

/// The happy path as kiosk `index` (1-based) of the hall plays it: the
/// holder shares the verified identity with the counter on the consent
/// screen, and the centre's number is the `index`-th of service A (the
/// kiosks play one after the other).
fn hall_scenario(root: &Path, dir: &Path, index: usize) -> anyhow::Result<PathBuf> {
    let source = root.join("board/sim/scenarios/happy-path.toml");
    let text = std::fs::read_to_string(&source)
        .with_context(|| format!("cannot read {}", source.display()))?;
    let mut scenario: toml::Value = toml::from_str(&text)?;
    let steps = scenario
        .get_mut("steps")
        .and_then(toml::Value::as_array_mut)
        .context("the happy path has no steps")?;
    let step = |key: &str, value: &str| {
        let mut t = toml::Table::new();
        t.insert(key.to_owned(), toml::Value::String(value.to_owned()));
        toml::Value::Table(t)
    };
    let chosen = steps
        .iter()
        .position(|s| s.get("touch").and_then(toml::Value::as_str) == Some("service-A"))
        .context("the happy path no longer chooses service A")?;
    steps.insert(chosen + 1, step("wait_screen", "identity-consent"));
    steps.insert(chosen + 2, step("touch", "share"));
    for s in steps.iter_mut() {
        if let Some(t) = s.as_table_mut()
            && t.contains_key("expect_ticket")
        {
            t.insert(
                "expect_ticket".into(),
                toml::Value::String(format!("A{index:03}")),
            );
        }
    }
    if let Some(t) = scenario.as_table_mut() {
        t.insert(
            "name".into(),
            toml::Value::String(format!(
                "the hall's kiosk {index}: card, face matched, identity shared, ticket A{index:03} from the centre"
            )),
        );
    }
    std::fs::create_dir_all(dir)?;
    let file = dir.join("hall-scenario.toml");
    std::fs::write(&file, toml::to_string(&scenario)?)?;
    Ok(file)
}

/// One window per kiosk; waits until they are all closed.
fn windows(
    bin: &Path,
    dir: &Path,
    configs: &[(String, PathBuf)],
    pages: &Pages,
    options: &Options,
) -> anyhow::Result<()> {
    let mut browsers = Vec::new();
    if let Some(spki) = &pages.spki {
        for (name, url) in [("display", &pages.display), ("counter", &pages.counter)] {
            let Some(url) = url else { continue };
            let mut cmd = chromium(&dir.join(format!("chromium-{name}")), spki);
            cmd.arg(format!("--app={url}"));
            browsers.push(spawn(&format!("the {name} page in Chromium"), &mut cmd)?);
        }
    }
    let mut kiosks = Vec::new();
    for (id, config) in configs {
        let mut cmd = Command::new(bin.join("kiosk"));
        cmd.args(["--board", "sim", "--config"])
            .arg(config)
            .env("KIOSK_MODEL_DIR", &options.model_dir)
            .env("KIOSK_FACE_FIXTURES", &options.fixtures);
        kiosks.push(spawn(&format!("kiosk {id}"), &mut cmd)?);
    }
    println!("centre: close the kiosks' windows (or press Ctrl-C) to stop the hall");
    for kiosk in &mut kiosks {
        let _ = kiosk.child.wait();
    }
    Ok(())
}

/// Each kiosk plays the happy path through the centre; the desk calls the
/// first number.
fn headless(
    root: &Path,
    bin: &Path,
    dir: &Path,
    configs: &[(String, PathBuf)],
    desk: &Path,
    pages: &Pages,
    options: &Options,
) -> anyhow::Result<()> {
    for (i, (id, config)) in configs.iter().enumerate() {
        let scenario = hall_scenario(root, &dir.join(id), i + 1)?;
        let mut cmd = Command::new(bin.join("kioskctl"));
        cmd.env("KIOSK_MODEL_DIR", &options.model_dir)
            .env("KIOSK_FACE_FIXTURES", &options.fixtures)
            .args(["sim", "run", "--config"])
            .arg(config)
            .arg("--scenario")
            .arg(&scenario)
            .arg("--out")
            .arg(dir.join(id).join("screens"));
        crate::step(
            &format!("kiosk {id}: the happy path through the centre"),
            &mut cmd,
        )?;
    }
    let mut call = Command::new(bin.join("kioskctl"));
    call.args(["centre", "call", "--centre"])
        .arg(desk)
        .args(["--counter", "1", "--service", "A"]);
    crate::step("the desk at counter 1 calls the next number", &mut call)?;
    if let (Some(display), Some(spki)) = (&pages.display, &pages.spki) {
        let shot = dir.join("display.png");
        let mut cmd = chromium(&dir.join("chromium-display"), spki);
        cmd.args([
            "--headless=new",
            "--disable-gpu",
            "--no-sandbox",
            "--hide-scrollbars",
            "--window-size=1920,1080",
            // Never wait on the open event stream for longer than this
            // (`--virtual-time-budget` would: the stream never ends).
            "--timeout=5000",
        ])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(display);
        crate::step(
            "the hall display, photographed by headless Chromium",
            &mut cmd,
        )?;
        println!("centre: the hall display: {}", shot.display());
    }
    println!(
        "\ncentre: the kiosks' screens are in {}/<kiosk>/screens",
        dir.display()
    );
    Ok(())
}
