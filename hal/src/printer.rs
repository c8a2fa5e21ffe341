//! The ticket printer: a byte sink for ESC/POS plus its real-time status.
//!
//! The firmware makes every byte (layout, raster, `GS v 0`, cut); a printer
//! implementation only moves them (USB printer class, serial, TCP 9100, or
//! the simulator) and answers status queries.

use crate::ErrorType;

/// How much paper is left, as far as the printer's sensors tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaperLevel {
    /// Enough paper.
    Ok,
    /// The near-end sensor has tripped: a few tickets left. Staff should be
    /// alerted, printing can continue.
    NearEnd,
    /// No paper: printing is impossible.
    Out,
}

/// The printer's real-time status (ESC/POS `DLE EOT` 1, 2 and 4, or the
/// equivalent of the transport).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrinterStatus {
    /// The printer answers and is able to print (no error, cover closed).
    pub online: bool,
    /// Paper sensor reading.
    pub paper: PaperLevel,
    /// The cover (or the head lever) is open.
    pub cover_open: bool,
    /// A cutter, mechanical or unrecoverable error is latched.
    pub error: bool,
}

impl PrinterStatus {
    /// A printer with paper, closed and without error.
    pub const READY: PrinterStatus = PrinterStatus {
        online: true,
        paper: PaperLevel::Ok,
        cover_open: false,
        error: false,
    };

    /// Whether a ticket can be printed now.
    pub fn can_print(&self) -> bool {
        self.online && self.paper != PaperLevel::Out && !self.cover_open && !self.error
    }
}

/// A printer that takes ESC/POS bytes.
pub trait Printer: ErrorType {
    /// Queues `bytes` for the printer. May buffer; nothing is guaranteed to be
    /// on paper until [`Printer::flush`] returns.
    ///
    /// Errors: [`crate::ErrorKind::NotPresent`] when the printer is gone,
    /// [`crate::ErrorKind::Timeout`] when it stops accepting data (paper out
    /// or offline usually; ask [`Printer::status`]), [`crate::ErrorKind::Io`].
    fn write(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;

    /// Sends everything queued and waits until the transport has accepted
    /// it. A printer whose transport cannot tell "printed" from "sent"
    /// (TCP 9100) returns when sent; the firmware confirms with a status
    /// query afterwards.
    fn flush(&mut self) -> Result<(), Self::Error>;

    /// Queries the printer's real-time status. Must work while the printer is
    /// out of paper or its cover is open (that is what it is for).
    fn status(&mut self) -> Result<PrinterStatus, Self::Error>;
}

impl<T: Printer + ?Sized> Printer for &mut T {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Self::Error> {
        T::write(self, bytes)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        T::flush(self)
    }
    fn status(&mut self) -> Result<PrinterStatus, Self::Error> {
        T::status(self)
    }
}
