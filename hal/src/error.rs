//! Device errors in embedded-hal 1.0 shape: a driver-specific error type that
//! can always be reduced to an [`ErrorKind`].

use core::fmt;

/// What went wrong with a device, in the terms the firmware reacts to.
///
/// Boards map their library errors (`pcsc::Error`, `nfc1::Error`,
/// `std::io::Error`, …) onto these kinds and document the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The device (or the card in it) is not there: no reader attached, no
    /// card on the reader, camera unplugged. Remedy: wait for it or ask staff.
    NotPresent,
    /// The card was taken away (or the device unplugged) during an operation.
    /// Remedy: ask the citizen to place the card again, then start over.
    Removed,
    /// The device is in use by someone else or not ready yet. Remedy: retry
    /// a little later.
    Busy,
    /// The device did not answer in time. Remedy: retry a bounded number of
    /// times, then report.
    Timeout,
    /// The device answered something that does not follow its protocol
    /// (malformed frame, impossible length). Remedy: reset the device.
    Protocol,
    /// The operating system reported an I/O failure. Remedy: check cabling,
    /// permissions and the device node; staff attention.
    Io,
    /// Anything else; the error's `Debug` output says more.
    Other,
}

impl ErrorKind {
    /// Whether retrying the same operation has a reasonable chance to succeed.
    pub fn is_transient(self) -> bool {
        matches!(self, ErrorKind::Busy | ErrorKind::Timeout)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::NotPresent => "device or card not present",
            ErrorKind::Removed => "card or device removed during the operation",
            ErrorKind::Busy => "device busy",
            ErrorKind::Timeout => "device did not answer in time",
            ErrorKind::Protocol => "device protocol violation",
            ErrorKind::Io => "I/O error",
            ErrorKind::Other => "other device error",
        })
    }
}

/// A device error: anything that can say which [`ErrorKind`] it is.
pub trait Error: fmt::Debug {
    /// The kind of this error, for the firmware to react to.
    fn kind(&self) -> ErrorKind;
}

impl Error for ErrorKind {
    fn kind(&self) -> ErrorKind {
        *self
    }
}

impl Error for core::convert::Infallible {
    fn kind(&self) -> ErrorKind {
        match *self {}
    }
}

/// Names the error type of a device. Every device trait has this as its
/// supertrait, so a device that implements several traits (a reader is both
/// [`crate::card::CardReader`] and [`crate::card::ApduTransport`]) has one
/// error type.
pub trait ErrorType {
    /// The error type of this device.
    type Error: Error;
}

impl<T: ErrorType + ?Sized> ErrorType for &mut T {
    type Error = T::Error;
}
