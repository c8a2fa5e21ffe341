//! `[linux]`: the devices of a real board as its configuration names them,
//! parsed and validated on any machine (the drivers that open them are
//! `crate::drivers::linux`, feature `linux`).

use super::ConfigError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The highest GPIO line offset accepted (chips have at most a few hundred).
pub const MAX_LINE: u32 = 1023;

/// `[linux]`: a real board's devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinuxConfig {
    /// The board's name in reports: `linux:NAME`.
    pub name: String,
    /// The card reader.
    pub card_reader: ReaderConfig,
    /// The face camera.
    pub camera: CameraConfig,
    /// The ticket printer.
    pub printer: PrinterConfig,
    /// GPIO lines, when the board has any.
    pub gpio: Option<GpioConfig>,
    /// The loudspeaker for spoken guidance.
    pub speaker: SpeakerConfig,
    /// The touchscreen, as the kiosk compositor drives it.
    pub display: DisplayConfig,
}

/// `[linux.display]`: the touchscreen under the kiosk compositor (`sway`,
/// started by `kiosk --ui sway`; docs/architecture.md, "The display").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DisplayConfig {
    /// Clockwise rotation of the picture in degrees (0, 90, 180 or 270):
    /// a portrait panel mounted landscape, or one mounted upside down.
    /// The compositor rotates touches with the picture.
    pub rotation: u16,
}

/// `[linux.speaker]`: spoken guidance through espeak-ng on the board's
/// default sound device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeakerConfig {
    /// Whether the kiosk speaks (a kiosk in a quiet room may not).
    pub enabled: bool,
    /// Words per minute: slower helps elderly citizens (espeak-ng `-s`).
    pub rate_wpm: u32,
    /// Loudness, 0–200 (espeak-ng `-a`).
    pub amplitude: u32,
}

impl Default for SpeakerConfig {
    fn default() -> Self {
        SpeakerConfig {
            enabled: true,
            rate_wpm: 140,
            amplitude: 100,
        }
    }
}

/// `[linux.card_reader]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReaderConfig {
    /// A PC/SC reader through pcscd.
    Pcsc {
        /// A substring of the reader's name (`ACS ACR1252`).
        name: String,
        /// Whether it passes extended-length APDUs.
        extended_length: bool,
    },
    /// A libnfc device.
    Nfc {
        /// The connection string (`pn532_uart:/dev/ttyS0`, `pcsc:NAME`).
        connstring: String,
        /// Whether it passes extended-length APDUs (PN532: no).
        extended_length: bool,
    },
}

/// `[linux.camera]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraConfig {
    /// The V4L2 node, preferably a stable `/dev/v4l/by-id/...` link.
    pub device: PathBuf,
    /// Asked width.
    pub width: u32,
    /// Asked height.
    pub height: u32,
}

/// `[linux.printer]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterConfig {
    /// Where it is attached.
    pub port: crate::drivers::printer::PrinterPort,
    /// Paper width: 80 or 58 mm.
    pub paper_width_mm: u32,
}

/// One GPIO line and its polarity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    /// The line's offset on the chip.
    pub line: u32,
    /// Active (light on, switch closed) when the line is low.
    #[serde(default)]
    pub active_low: bool,
}

/// `[linux.gpio]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpioConfig {
    /// The chip, e.g. `/dev/gpiochip0`.
    pub chip: PathBuf,
    /// Output lines by light name (`ready`, `busy`, `fault`, `card_slot`,
    /// `buzzer`).
    pub outputs: BTreeMap<String, Line>,
    /// The tamper switch (active = cabinet open).
    pub tamper: Option<Line>,
    /// The presence sensor (active = someone there).
    pub presence: Option<Line>,
}

/// The section as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLinux {
    name: String,
    card_reader: RawReader,
    camera: RawCamera,
    printer: RawPrinter,
    gpio: Option<RawGpio>,
    speaker: Option<RawSpeaker>,
    display: Option<RawDisplay>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDisplay {
    rotation: Option<u16>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpeaker {
    enabled: Option<bool>,
    rate_wpm: Option<u32>,
    amplitude: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReader {
    kind: String,
    name: Option<String>,
    connstring: Option<String>,
    extended_length: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCamera {
    device: PathBuf,
    #[serde(default = "default_width")]
    width: u32,
    #[serde(default = "default_height")]
    height: u32,
}

fn default_width() -> u32 {
    1280
}

fn default_height() -> u32 {
    720
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrinter {
    port: String,
    #[serde(default = "default_paper")]
    paper_width_mm: u32,
}

fn default_paper() -> u32 {
    80
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGpio {
    chip: PathBuf,
    #[serde(default)]
    outputs: RawOutputs,
    #[serde(default)]
    inputs: RawInputs,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutputs {
    ready: Option<Line>,
    busy: Option<Line>,
    fault: Option<Line>,
    card_slot: Option<Line>,
    buzzer: Option<Line>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInputs {
    tamper: Option<Line>,
    presence: Option<Line>,
}

/// Validates `[linux]`; paths resolve against `base`.
pub(crate) fn validate(
    raw: RawLinux,
    base: &Path,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<LinuxConfig, ConfigError> {
    if raw.name.trim().is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            "linux.name",
            format!(
                "must be ASCII letters, digits, '-' or '_', not {:?}",
                raw.name
            ),
        ));
    }
    let r = raw.card_reader;
    let card_reader = match r.kind.as_str() {
        "pcsc" => ReaderConfig::Pcsc {
            name: r.name.filter(|n| !n.trim().is_empty()).ok_or_else(|| {
                invalid(
                    "linux.card_reader.name",
                    "is required with kind = \"pcsc\" (a part of the reader's name, e.g. \
                         \"ACS ACR1252\"; `pcsc_scan` lists them)"
                        .into(),
                )
            })?,
            extended_length: r.extended_length.unwrap_or(true),
        },
        "nfc" => ReaderConfig::Nfc {
            connstring: r.connstring.filter(|c| c.contains(':')).ok_or_else(|| {
                invalid(
                    "linux.card_reader.connstring",
                    "is required with kind = \"nfc\": a libnfc connection string such as \
                         \"pn532_uart:/dev/ttyS0\" or \"pcsc:ACS ACR1252\""
                        .into(),
                )
            })?,
            extended_length: r.extended_length.unwrap_or(false),
        },
        other => {
            return Err(invalid(
                "linux.card_reader.kind",
                format!("must be \"pcsc\" or \"nfc\", not {other:?}"),
            ));
        }
    };
    let c = raw.camera;
    if c.device.as_os_str().is_empty() {
        return Err(invalid(
            "linux.camera.device",
            "must name a V4L2 device, e.g. /dev/video0".into(),
        ));
    }
    if !(160..=4096).contains(&c.width) || !(120..=4096).contains(&c.height) {
        return Err(invalid(
            "linux.camera.width/height",
            format!("must be 160–4096 × 120–4096, not {}×{}", c.width, c.height),
        ));
    }
    let port = raw
        .printer
        .port
        .parse()
        .map_err(|e: String| invalid("linux.printer.port", e))?;
    if ![58, 80].contains(&raw.printer.paper_width_mm) {
        return Err(invalid(
            "linux.printer.paper_width_mm",
            format!("must be 80 or 58, not {}", raw.printer.paper_width_mm),
        ));
    }
    let gpio = raw
        .gpio
        .map(|g| validate_gpio(g, base, invalid))
        .transpose()?;
    let d = SpeakerConfig::default();
    let speaker = match raw.speaker {
        None => d,
        Some(sp) => SpeakerConfig {
            enabled: sp.enabled.unwrap_or(d.enabled),
            rate_wpm: sp.rate_wpm.unwrap_or(d.rate_wpm),
            amplitude: sp.amplitude.unwrap_or(d.amplitude),
        },
    };
    if !(80..=300).contains(&speaker.rate_wpm) {
        return Err(invalid(
            "linux.speaker.rate_wpm",
            format!("must be 80–300 words per minute, not {}", speaker.rate_wpm),
        ));
    }
    if speaker.amplitude > 200 {
        return Err(invalid(
            "linux.speaker.amplitude",
            format!("must be 0–200, not {}", speaker.amplitude),
        ));
    }
    let display = DisplayConfig {
        rotation: raw.display.and_then(|d| d.rotation).unwrap_or(0),
    };
    if !matches!(display.rotation, 0 | 90 | 180 | 270) {
        return Err(invalid(
            "linux.display.rotation",
            format!(
                "must be 0, 90, 180 or 270 (degrees clockwise), not {}",
                display.rotation
            ),
        ));
    }
    Ok(LinuxConfig {
        name: raw.name,
        card_reader,
        camera: CameraConfig {
            device: base.join(c.device),
            width: c.width,
            height: c.height,
        },
        printer: PrinterConfig {
            port,
            paper_width_mm: raw.printer.paper_width_mm,
        },
        gpio,
        speaker,
        display,
    })
}

fn validate_gpio(
    g: RawGpio,
    base: &Path,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<GpioConfig, ConfigError> {
    let name = g.chip.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if !name.starts_with("gpiochip") {
        return Err(invalid(
            "linux.gpio.chip",
            format!(
                "must be a GPIO character device such as /dev/gpiochip0, not {}",
                g.chip.display()
            ),
        ));
    }
    let outputs: BTreeMap<String, Line> = [
        ("ready", g.outputs.ready),
        ("busy", g.outputs.busy),
        ("fault", g.outputs.fault),
        ("card_slot", g.outputs.card_slot),
        ("buzzer", g.outputs.buzzer),
    ]
    .into_iter()
    .filter_map(|(n, l)| l.map(|l| (n.to_owned(), l)))
    .collect();
    let mut used: BTreeMap<u32, String> = BTreeMap::new();
    let all = outputs
        .iter()
        .map(|(n, l)| (format!("linux.gpio.outputs.{n}"), *l))
        .chain(
            g.inputs
                .tamper
                .map(|l| ("linux.gpio.inputs.tamper".to_owned(), l)),
        )
        .chain(
            g.inputs
                .presence
                .map(|l| ("linux.gpio.inputs.presence".to_owned(), l)),
        );
    for (field, line) in all {
        if line.line > MAX_LINE {
            return Err(invalid(
                &field,
                format!(
                    "line {} is not a GPIO line offset (0–{MAX_LINE})",
                    line.line
                ),
            ));
        }
        if let Some(other) = used.insert(line.line, field.clone()) {
            return Err(invalid(
                &field,
                format!("line {} is already used by {other}", line.line),
            ));
        }
    }
    Ok(GpioConfig {
        chip: base.join(g.chip),
        outputs,
        tamper: g.inputs.tamper,
        presence: g.inputs.presence,
    })
}
