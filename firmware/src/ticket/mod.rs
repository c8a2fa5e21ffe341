//! Queue tickets: layout, 1-bit raster and ESC/POS bytes.
//!
//! [`render`] lays a [`TicketContent`] out on the paper width, top to
//! bottom: the centre's name, the service (Vietnamese, then English), the
//! number in large type, a priority band when one applies, the waiting
//! count, the counters, the time of issue, a QR code to follow the queue,
//! the ticket's reference (a re-print says so), and a privacy line.
//! [`escpos::encode_ticket`] turns the raster into the bytes for any ESC/POS
//! printer. A ticket never carries personal data (reference note
//! kiosk-products-and-rules.md §5.1 item 10: no full personal data).

pub mod escpos;
pub mod raster;

use raster::{Bitmap, Canvas, PaperWidth, RasterError, Style};

/// The local date and time printed on a ticket (the caller converts from
/// the clock: time is a parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// Year, e.g. 2026.
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31.
    pub day: u8,
    /// Hour 0–23.
    pub hour: u8,
    /// Minute 0–59.
    pub minute: u8,
}

/// Vietnam's offset from UTC (ICT, UTC+7, no daylight saving).
pub const VIETNAM_OFFSET_MS: i64 = 7 * 3_600_000;

impl LocalTime {
    /// The local time in Vietnam at `unix_ms` (wall-clock milliseconds since
    /// the Unix epoch, passed in by the caller); `None` out of range.
    pub fn in_vietnam(unix_ms: u64) -> Option<LocalTime> {
        let local = i64::try_from(unix_ms)
            .ok()?
            .checked_add(VIETNAM_OFFSET_MS)?;
        let date = crate::cccd::date::Date::from_unix_days(local.div_euclid(86_400_000))?;
        let minute_of_day = local.rem_euclid(86_400_000) / 60_000;
        Some(LocalTime {
            year: date.year(),
            month: date.month(),
            day: date.day(),
            hour: u8::try_from(minute_of_day / 60).ok()?,
            minute: u8::try_from(minute_of_day % 60).ok()?,
        })
    }

    /// Minutes since local midnight.
    pub fn minute_of_day(&self) -> u16 {
        u16::from(self.hour) * 60 + u16::from(self.minute)
    }

    /// `YYYYMMDD`, the local day as a key (queue numbers restart with it).
    pub fn day_key(&self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

impl core::fmt::Display for LocalTime {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{:02}:{:02} {:02}/{:02}/{:04}",
            self.hour, self.minute, self.day, self.month, self.year
        )
    }
}

/// What a ticket says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketContent {
    /// The service centre's name.
    pub center_name: String,
    /// The service in Vietnamese.
    pub service_vi: String,
    /// The service in English.
    pub service_en: String,
    /// The queue number, e.g. `A012`.
    pub number: String,
    /// The priority band, Vietnamese and English, when priority applies.
    pub priority: Option<(String, String)>,
    /// People waiting before this ticket.
    pub waiting: u32,
    /// Counters that serve the service, e.g. `1, 2, 5`.
    pub counters: String,
    /// Time of issue.
    pub issued_at: LocalTime,
    /// What the QR code carries: the link to follow the queue.
    pub qr: String,
    /// The ticket's unique reference (kiosk, day, number), printed small:
    /// the display number restarts every day, the reference never repeats.
    pub reference: String,
    /// Whether this is a re-print of a ticket that failed to print (the
    /// paper then says so).
    pub reprint: bool,
    /// Whether the number came from the kiosk's offline block while the
    /// centre was unreachable (`queue::centre`): the paper says so, and
    /// shows no waiting count (the kiosk does not know it).
    pub offline: bool,
}

/// The privacy line at the foot of every ticket.
pub const PRIVACY_LINE: &str =
    "Phiếu không chứa thông tin cá nhân.\nThis ticket holds no personal data.";

/// Lays out and rasterises a ticket for `paper`.
pub fn render(content: &TicketContent, paper: PaperWidth) -> Result<Bitmap, RasterError> {
    let narrow = paper == PaperWidth::Mm58;
    let k = if narrow { 0.72 } else { 1.0 };
    let mut c = Canvas::new(paper, if narrow { 8 } else { 16 })?;
    c.space(8);
    c.text(&content.center_name, Style::heading(26.0 * k))?;
    c.space(10);
    c.rule(3);
    c.space(14);
    c.text(&content.service_vi, Style::heading(34.0 * k))?;
    c.text(&content.service_en, Style::regular(24.0 * k).centered())?;
    c.space(10);
    c.text(
        "SỐ THỨ TỰ · YOUR NUMBER",
        Style::regular(22.0 * k).centered(),
    )?;
    c.text(&content.number, Style::heading(150.0 * k))?;
    if let Some((vi, en)) = &content.priority {
        c.space(4);
        c.text(
            &format!("ƯU TIÊN · {vi}"),
            Style::heading(28.0 * k).inverse(),
        )?;
        c.text(
            &format!("Priority: {en}"),
            Style::regular(22.0 * k).centered(),
        )?;
    }
    c.space(12);
    if content.offline {
        c.text(
            "CẤP NGOẠI TUYẾN · ISSUED OFFLINE",
            Style::heading(24.0 * k).inverse(),
        )?;
        c.text(
            "Số vẫn được gọi theo thứ tự · Your number will be called in turn",
            Style::regular(20.0 * k).centered(),
        )?;
    } else {
        c.text(
            &format!(
                "Số người đang chờ: {} · People waiting: {}",
                content.waiting, content.waiting
            ),
            Style::regular(24.0 * k).centered(),
        )?;
    }
    c.text(
        &format!("Quầy · Counters: {}", content.counters),
        Style::regular(24.0 * k).centered(),
    )?;
    c.text(
        &content.issued_at.to_string(),
        Style::regular(24.0 * k).centered(),
    )?;
    c.space(8);
    c.qr(content.qr.as_bytes(), if narrow { 3 } else { 4 })?;
    c.text(
        "Quét mã để theo dõi lượt · Scan to follow the queue",
        Style::regular(20.0 * k).centered(),
    )?;
    c.text(&content.reference, Style::regular(18.0 * k).centered())?;
    if content.reprint {
        c.space(4);
        c.text("BẢN IN LẠI · REPRINT", Style::heading(22.0 * k).inverse())?;
    }
    c.space(10);
    c.rule(2);
    c.space(6);
    c.text(PRIVACY_LINE, Style::regular(20.0 * k).centered())?;
    c.space(8);
    Ok(c.finish())
}

#[cfg(test)]
mod tests;
