//! What the privacy tests look for, and where: the simulator holders'
//! personal data in every form a log line could carry it, and a capture of
//! everything the kiosk logs.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

/// Everything written through it, kept in memory.
#[derive(Debug, Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// What was written so far.
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// A TRACE-level subscriber of every target that writes here, without
    /// colours.
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + use<> {
        tracing_subscriber::fmt()
            .with_writer(self.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> LogCapture {
        self.clone()
    }
}

/// One capture of every thread of this test process (the runtime's worker
/// threads log too), installed as the global subscriber on first use.
pub fn process_logs() -> &'static LogCapture {
    static LOGS: OnceLock<LogCapture> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = LogCapture::default();
        if let Err(e) = tracing::subscriber::set_global_default(logs.subscriber()) {
            panic!("the log capture must be the process's only subscriber: {e}");
        }
        logs
    })
}

/// The personal data of every simulator card (`board/sim/cards/*.toml`,
/// `[citizen]`): names, ID numbers, the date of birth in the forms the
/// kiosk meets it (DD/MM/YYYY on the chip, DDMMYYYY in the card QR,
/// YYYY-MM-DD, YYMMDD in the MRZ), places of origin and residence, each in
/// Unicode NFC and NFD. A log line carrying any of them fails a scan.
pub fn holders_personal_data() -> Vec<String> {
    use unicode_normalization::UnicodeNormalization;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../board/sim/cards");
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => panic!("cannot list {}: {e}", dir.display()),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let Ok(profile) = toml::from_str::<toml::Table>(&text) else {
            panic!("{} is not TOML", path.display());
        };
        let Some(citizen) = profile.get("citizen").and_then(|c| c.as_table()) else {
            continue;
        };
        for key in [
            "id_number",
            "old_id_number",
            "full_name",
            "father_name",
            "mother_name",
            "place_of_origin",
            "place_of_residence",
        ] {
            if let Some(v) = citizen.get(key).and_then(|v| v.as_str())
                && !v.is_empty()
            {
                found.push(v.to_owned());
            }
        }
        if let Some(dob) = citizen.get("date_of_birth").and_then(|v| v.as_str()) {
            let parts: Vec<&str> = dob.split('/').collect();
            if let [d, m, y] = parts[..] {
                found.push(dob.to_owned());
                found.push(format!("{d}{m}{y}"));
                found.push(format!("{y}-{m}-{d}"));
                if let Some(yy) = y.get(2..) {
                    found.push(format!("{yy}{m}{d}"));
                }
            }
        }
    }
    assert!(
        !found.is_empty(),
        "no holder data found in {}: the scan would prove nothing",
        dir.display()
    );
    let mut all = Vec::new();
    for v in found {
        let nfc: String = v.nfc().collect();
        let nfd: String = v.nfd().collect();
        all.push(nfc.clone());
        if nfd != nfc {
            all.push(nfd);
        }
    }
    all.sort();
    all.dedup();
    all
}

/// The items of `personal` that occur in `haystack` (bytes: a database
/// file's pages are searched as they lie on disk; invalid UTF-8 between
/// the strings does not hide them).
pub fn occurrences(haystack: &[u8], personal: &[String]) -> Vec<String> {
    let text = String::from_utf8_lossy(haystack);
    personal
        .iter()
        .filter(|p| text.contains(p.as_str()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use unicode_normalization::UnicodeNormalization;

    #[test]
    fn the_scan_finds_a_holder_in_either_normal_form_and_inside_binary_pages() {
        let personal = holders_personal_data();
        let name = "Nguyễn Văn Mẫu";
        let mut page = vec![0xffu8, 0x00, 0x13];
        page.extend_from_slice(name.nfd().collect::<String>().as_bytes());
        page.extend_from_slice(&[0x80, 0x00]);
        let found = occurrences(&page, &personal);
        assert!(
            found.iter().any(|f| f.nfc().collect::<String>() == name),
            "{found:?}"
        );
        let line = format!("session started holder={}", name.nfc().collect::<String>());
        assert!(!occurrences(line.as_bytes(), &personal).is_empty());
        assert!(occurrences(b"dob=1990-01-15", &personal).contains(&"1990-01-15".to_owned()));
        assert!(occurrences(b"nothing personal here", &personal).is_empty());
    }
}
