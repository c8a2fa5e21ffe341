//! ESC/POS: the byte stream thermal printers understand (Epson ESC/POS
//! Application Programming Guide; the subset every 80/58 mm printer has).
//!
//! A ticket is printed as one raster image, never as text in a code page:
//! Vietnamese code pages differ between vendors and combining marks do not
//! compose, so every public fix ends in "print a raster" (reference note
//! kiosk-products-and-rules.md, TL;DR 9).
//!
//! | bytes | command |
//! | --- | --- |
//! | `1B 40` | `ESC @` initialise |
//! | `1D 76 30 00 xL xH yL yH d…` | `GS v 0` raster bit image, normal density, `x` bytes × `y` dots |
//! | `1B 64 n` | `ESC d n` print and feed `n` lines |
//! | `1D 56 42 n` | `GS V 66 n` feed `n` dots and cut (partial) |
//! | `10 04 n` | `DLE EOT n` real-time status (n = 1 printer, 2 offline cause, 4 paper) |
//!
//! [`decode`] reads a stream back into pages (for the simulator's PNG and
//! the golden transcripts) and rejects anything it does not know.

use super::raster::Bitmap;
use kiosk_hal::printer::{PaperLevel, PrinterStatus};

/// `ESC @`.
pub const INIT: [u8; 2] = [0x1B, 0x40];
/// Rows per `GS v 0` band: printers buffer a limited image, so tall
/// tickets are sent in bands of this many rows (18 KB at 576 dots).
pub const BAND_ROWS: u32 = 256;
/// Lines fed before the cut, so the last printed line clears the cutter.
pub const FEED_LINES: u8 = 4;

/// The `DLE EOT n` queries, in the order the firmware asks them.
pub const STATUS_QUERIES: [[u8; 3]; 3] =
    [[0x10, 0x04, 0x01], [0x10, 0x04, 0x02], [0x10, 0x04, 0x04]];

/// Encodes a whole ticket: initialise, the raster in bands, feed, cut.
pub fn encode_ticket(bitmap: &Bitmap) -> Vec<u8> {
    let stride = bitmap.stride();
    let mut out = Vec::with_capacity(bitmap.packed().len() + 64);
    out.extend_from_slice(&INIT);
    let mut row = 0u32;
    while row < bitmap.height() {
        let rows = BAND_ROWS.min(bitmap.height() - row);
        let x = u16::try_from(stride).unwrap_or(u16::MAX).to_le_bytes();
        let y = u16::try_from(rows).unwrap_or(u16::MAX).to_le_bytes();
        out.extend_from_slice(&[0x1D, 0x76, 0x30, 0x00, x[0], x[1], y[0], y[1]]);
        let start = row as usize * stride;
        let end = (row + rows) as usize * stride;
        out.extend_from_slice(bitmap.packed().get(start..end).unwrap_or(&[]));
        row += rows;
    }
    out.extend_from_slice(&[0x1B, 0x64, FEED_LINES]);
    out.extend_from_slice(&[0x1D, 0x56, 0x42, 0x00]);
    out
}

/// One decoded command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `ESC @`.
    Init,
    /// `GS v 0` with its mode, size and data length.
    Raster {
        /// Mode (0 normal, 1 double width, 2 double height, 3 both).
        mode: u8,
        /// Bytes per row.
        width_bytes: u16,
        /// Rows.
        height: u16,
    },
    /// `ESC d n`.
    FeedLines(u8),
    /// `LF`.
    LineFeed,
    /// `GS V m [n]`.
    Cut {
        /// Whether it is a partial cut.
        partial: bool,
    },
    /// `DLE EOT n`.
    StatusQuery(u8),
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Init => write!(f, "ESC @"),
            Command::Raster {
                mode,
                width_bytes,
                height,
            } => write!(f, "GS v 0 mode={mode} width={width_bytes}B height={height}"),
            Command::FeedLines(n) => write!(f, "ESC d {n}"),
            Command::LineFeed => write!(f, "LF"),
            Command::Cut { partial } => {
                write!(f, "GS V {}", if *partial { "partial" } else { "full" })
            }
            Command::StatusQuery(n) => write!(f, "DLE EOT {n}"),
        }
    }
}

/// A stream the decoder cannot follow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A byte that starts no command the kiosk sends.
    #[error("unknown ESC/POS byte {byte:#04x} at offset {offset}")]
    Unknown {
        /// The byte.
        byte: u8,
        /// Where.
        offset: usize,
    },
    /// The stream ends inside a command.
    #[error("the stream ends inside a command at offset {0}")]
    Truncated(usize),
    /// A raster band of another width than the page's.
    #[error("raster band at offset {offset} is {got} bytes wide, the page {want}")]
    WidthChanged {
        /// Where.
        offset: usize,
        /// The page's width in bytes.
        want: u16,
        /// The band's width in bytes.
        got: u16,
    },
}

/// A decoded print job: the commands, and the paper they produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Every command, in order (the transcript).
    pub commands: Vec<Command>,
    /// The pages, one per cut (a trailing uncut page is included).
    pub pages: Vec<Bitmap>,
}

impl Decoded {
    /// The transcript, one command per line.
    pub fn transcript(&self) -> String {
        self.commands.iter().map(|c| format!("{c}\n")).collect()
    }
}

/// Height in dots of one fed line (ESC/POS default line spacing, 1/6 inch).
pub const LINE_DOTS: u32 = 30;

/// Decodes an ESC/POS stream.
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let mut commands = Vec::new();
    let mut pages = Vec::new();
    let mut page: Option<(u16, Vec<u8>, u32)> = None; // width bytes, rows, height
    let mut i = 0;
    let need = |n: usize, i: usize| {
        if bytes.len() < i + n {
            Err(DecodeError::Truncated(i))
        } else {
            Ok(())
        }
    };
    let feed = |page: &mut Option<(u16, Vec<u8>, u32)>, dots: u32| {
        if let Some((w, rows, h)) = page.as_mut() {
            rows.extend(std::iter::repeat_n(0u8, usize::from(*w) * dots as usize));
            *h += dots;
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            0x1B => {
                need(2, i)?;
                match bytes[i + 1] {
                    0x40 => {
                        commands.push(Command::Init);
                        i += 2;
                    }
                    0x64 => {
                        need(3, i)?;
                        let n = bytes[i + 2];
                        commands.push(Command::FeedLines(n));
                        feed(&mut page, u32::from(n) * LINE_DOTS);
                        i += 3;
                    }
                    b => {
                        return Err(DecodeError::Unknown {
                            byte: b,
                            offset: i + 1,
                        });
                    }
                }
            }
            0x1D => {
                need(2, i)?;
                match bytes[i + 1] {
                    0x76 => {
                        need(8, i)?;
                        if bytes[i + 2] != 0x30 {
                            return Err(DecodeError::Unknown {
                                byte: bytes[i + 2],
                                offset: i + 2,
                            });
                        }
                        let mode = bytes[i + 3];
                        let width_bytes = u16::from_le_bytes([bytes[i + 4], bytes[i + 5]]);
                        let height = u16::from_le_bytes([bytes[i + 6], bytes[i + 7]]);
                        let len = usize::from(width_bytes) * usize::from(height);
                        need(8 + len, i)?;
                        let data = &bytes[i + 8..i + 8 + len];
                        let (w, rows, h) = page.get_or_insert_with(|| (width_bytes, Vec::new(), 0));
                        if *w != width_bytes {
                            return Err(DecodeError::WidthChanged {
                                offset: i,
                                want: *w,
                                got: width_bytes,
                            });
                        }
                        rows.extend_from_slice(data);
                        *h += u32::from(height);
                        commands.push(Command::Raster {
                            mode,
                            width_bytes,
                            height,
                        });
                        i += 8 + len;
                    }
                    0x56 => {
                        need(3, i)?;
                        let m = bytes[i + 2];
                        let (partial, len) = match m {
                            0 | 48 => (false, 3),
                            1 | 49 => (true, 3),
                            65 => (false, 4),
                            66 => (true, 4),
                            b => {
                                return Err(DecodeError::Unknown {
                                    byte: b,
                                    offset: i + 2,
                                });
                            }
                        };
                        need(len, i)?;
                        if len == 4 {
                            feed(&mut page, u32::from(bytes[i + 3]));
                        }
                        commands.push(Command::Cut { partial });
                        if let Some((w, rows, h)) = page.take() {
                            pages.extend(Bitmap::from_packed(u32::from(w) * 8, h, rows));
                        }
                        i += len;
                    }
                    b => {
                        return Err(DecodeError::Unknown {
                            byte: b,
                            offset: i + 1,
                        });
                    }
                }
            }
            0x10 => {
                need(3, i)?;
                if bytes[i + 1] != 0x04 {
                    return Err(DecodeError::Unknown {
                        byte: bytes[i + 1],
                        offset: i + 1,
                    });
                }
                commands.push(Command::StatusQuery(bytes[i + 2]));
                i += 3;
            }
            0x0A => {
                commands.push(Command::LineFeed);
                feed(&mut page, LINE_DOTS);
                i += 1;
            }
            b => return Err(DecodeError::Unknown { byte: b, offset: i }),
        }
    }
    if let Some((w, rows, h)) = page.take() {
        pages.extend(Bitmap::from_packed(u32::from(w) * 8, h, rows));
    }
    Ok(Decoded { commands, pages })
}

/// A status byte that is not a `DLE EOT` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0:#04x} is not a DLE EOT status byte (bits 1 and 4 set, 0 and 7 clear)")]
pub struct StatusError(pub u8);

fn checked(byte: u8) -> Result<u8, StatusError> {
    // Every DLE EOT answer has bit 1 and bit 4 set, bits 0 and 7 clear.
    if byte & 0x93 == 0x12 {
        Ok(byte)
    } else {
        Err(StatusError(byte))
    }
}

/// Reads the answers to [`STATUS_QUERIES`] (`DLE EOT 1`, `2`, `4`):
/// - n=1 bit 3: off line;
/// - n=2 bit 2: cover open; bit 5: stopped at paper end; bit 6: error;
/// - n=4 bits 2–3: paper near end; bits 5–6: paper end.
pub fn parse_status(
    printer: u8,
    offline_cause: u8,
    paper: u8,
) -> Result<PrinterStatus, StatusError> {
    let printer = checked(printer)?;
    let cause = checked(offline_cause)?;
    let paper = checked(paper)?;
    let level = if paper & 0x60 != 0 || cause & 0x20 != 0 {
        PaperLevel::Out
    } else if paper & 0x0C != 0 {
        PaperLevel::NearEnd
    } else {
        PaperLevel::Ok
    };
    Ok(PrinterStatus {
        online: printer & 0x08 == 0,
        paper: level,
        cover_open: cause & 0x04 != 0,
        error: cause & 0x40 != 0,
    })
}

/// The answers a printer in `status` gives to [`STATUS_QUERIES`] (for the
/// test printers).
pub fn status_bytes(status: &PrinterStatus) -> [u8; 3] {
    let offline =
        !status.online || status.cover_open || status.error || status.paper == PaperLevel::Out;
    let printer = 0x12 | if offline { 0x08 } else { 0 };
    let cause = 0x12
        | if status.cover_open { 0x04 } else { 0 }
        | if status.paper == PaperLevel::Out {
            0x20
        } else {
            0
        }
        | if status.error { 0x40 } else { 0 };
    let paper = 0x12
        | match status.paper {
            PaperLevel::Ok => 0,
            PaperLevel::NearEnd => 0x0C,
            PaperLevel::Out => 0x6C,
        };
    [printer, cause, paper]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bitmap(width: u32, height: u32) -> Bitmap {
        let mut b = Bitmap::new(width, height);
        for y in 0..height {
            b.set(y % width, y);
        }
        b
    }

    #[test]
    fn a_ticket_is_init_raster_bands_feed_and_cut() {
        let b = bitmap(576, 600);
        let bytes = encode_ticket(&b);
        assert_eq!(&bytes[..2], &INIT);
        assert_eq!(
            &bytes[2..10],
            &[0x1D, 0x76, 0x30, 0x00, 72, 0, 0, 1],
            "72 bytes × 256 rows"
        );
        assert_eq!(
            &bytes[bytes.len() - 7..],
            &[0x1B, 0x64, 4, 0x1D, 0x56, 0x42, 0x00]
        );
        let decoded = decode(&bytes).unwrap();
        assert_eq!(
            decoded.transcript(),
            "ESC @\nGS v 0 mode=0 width=72B height=256\nGS v 0 mode=0 width=72B height=256\n\
             GS v 0 mode=0 width=72B height=88\nESC d 4\nGS V partial\n"
        );
        let page = &decoded.pages[0];
        assert_eq!(page.height(), 600 + 4 * LINE_DOTS);
        for y in 0..600 {
            assert!(page.get(y % 576, y));
        }
    }

    #[test]
    fn the_decoder_rejects_what_it_does_not_know() {
        assert_eq!(
            decode(&[0x1B, 0x21, 0x00]),
            Err(DecodeError::Unknown {
                byte: 0x21,
                offset: 1
            })
        );
        assert_eq!(
            decode(&[0x41]),
            Err(DecodeError::Unknown {
                byte: 0x41,
                offset: 0
            })
        );
        assert_eq!(
            decode(&[0x1D, 0x76, 0x30, 0x00, 1, 0, 2, 0, 0xFF]),
            Err(DecodeError::Truncated(0))
        );
        let mut two = encode_ticket(&bitmap(16, 2));
        two.truncate(two.len() - 7);
        two.extend_from_slice(&[0x1D, 0x76, 0x30, 0x00, 1, 0, 1, 0, 0xFF]);
        assert!(matches!(
            decode(&two),
            Err(DecodeError::WidthChanged {
                want: 2,
                got: 1,
                ..
            })
        ));
    }

    #[test]
    fn decoding_never_panics_on_arbitrary_bytes() {
        // A deterministic spread of inputs, including every prefix of a
        // real ticket (a torn stream).
        let ticket = encode_ticket(&bitmap(64, 40));
        for end in 0..ticket.len() {
            let _ = decode(&ticket[..end]);
        }
        let mut x = 0x1234_5678u32;
        for _ in 0..2000 {
            let len = (x % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    [
                        0x1B,
                        0x1D,
                        0x10,
                        0x0A,
                        0x76,
                        0x30,
                        0x56,
                        0x42,
                        (x >> 8) as u8,
                    ][(x % 9) as usize]
                })
                .collect();
            let _ = decode(&bytes);
        }
    }

    #[test]
    fn status_bytes_round_trip_through_the_parser() {
        let states = [
            PrinterStatus::READY,
            PrinterStatus {
                paper: PaperLevel::NearEnd,
                ..PrinterStatus::READY
            },
            PrinterStatus {
                online: false,
                paper: PaperLevel::Out,
                ..PrinterStatus::READY
            },
            PrinterStatus {
                online: false,
                cover_open: true,
                ..PrinterStatus::READY
            },
            PrinterStatus {
                online: false,
                error: true,
                ..PrinterStatus::READY
            },
        ];
        for s in states {
            let [a, b, c] = status_bytes(&s);
            assert_eq!(parse_status(a, b, c), Ok(s), "{s:?}");
        }
    }

    #[test]
    fn a_byte_without_the_fixed_bits_is_not_a_status() {
        assert_eq!(parse_status(0x00, 0x12, 0x12), Err(StatusError(0x00)));
        assert_eq!(parse_status(0x12, 0x12, 0x93), Err(StatusError(0x93)));
    }

    #[test]
    fn an_epson_paper_end_answer_reads_as_out() {
        // TM-T20 with the roll empty: printer 0x1E (off line), cause 0x32
        // (stopped at paper end), paper 0x7E (near end and end).
        let s = parse_status(0x1E, 0x32, 0x7E).unwrap();
        assert!(!s.online);
        assert_eq!(s.paper, PaperLevel::Out);
        assert!(!s.can_print());
    }
}
