//! What the staff screens show: built by the runtime, rendered by the UI.
//!
//! Nothing here can hold citizen data: device checks (a level and a short
//! technical reason), the paper, counts of outbox rows, counters by key,
//! the time and kind of recent error entries, and the result of the last
//! action.

use crate::session::PrintProblem;
use crate::time::UnixMillis;

/// Which staff screen is up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffScreen {
    /// The PIN keypad.
    Pin,
    /// The staff panel.
    Panel,
}

/// What the keypad says above the dots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinNotice {
    /// The PIN was wrong; this many tries are left.
    Wrong {
        /// Tries left.
        attempts_left: u32,
    },
    /// PIN entry is locked until then.
    Locked {
        /// The end of the lock (wall clock).
        until: UnixMillis,
    },
    /// A staff card was read; the PIN is still needed.
    CardAccepted,
}

/// A device check's level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Works.
    Ok,
    /// Works, but needs attention soon.
    Warn,
    /// Does not work.
    Fail,
}

/// One device's health, from the device checks (`kioskctl doctor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthRow {
    /// The device's key (`card_reader`, `camera`, `printer`, …).
    pub device: String,
    /// Its level.
    pub level: Level,
    /// A short technical reason (the check's finding or its fix).
    pub reason: String,
}

/// The paper as the printer reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaperState {
    /// Paper in, printer ready.
    Ok,
    /// The roll is nearly used up.
    NearEnd,
    /// No paper.
    Out,
    /// The cover is open.
    CoverOpen,
    /// The printer does not answer or reports an error.
    Offline,
}

/// The outbox of online requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxSummary {
    /// Requests waiting to be delivered (pending or being sent).
    pub pending: u32,
    /// Requests the portal refused (staff retry or discard them).
    pub failed: u32,
    /// The next delivery attempt of a pending request.
    pub next_due: Option<UnixMillis>,
}

/// A recent error-like audit entry: its time and kind only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorRow {
    /// When.
    pub at: UnixMillis,
    /// The audit kind (`staff_alert`, `ticket_not_printed`, …).
    pub kind: String,
}

/// Why the log export failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFailure {
    /// No `staff.export_dir` is configured.
    NotConfigured,
    /// The folder is not there (no USB stick mounted).
    Missing,
    /// The folder cannot be written (read-only, not a folder, no rights).
    NotWritable,
    /// The medium is full.
    Full,
    /// The store could not be read.
    Store,
}

/// The result of the last panel action, shown in a banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionResult {
    /// The test page printed.
    TestPrinted,
    /// The test page did not print.
    TestPrintFailed(PrintProblem),
    /// The configuration was reloaded; these sections only take effect
    /// after a restart.
    ConfigReloaded {
        /// Sections that changed but need a restart (`kiosk`, `face`, …).
        restart_needed: Vec<String>,
    },
    /// The new configuration was refused; the old one stays.
    ConfigRefused {
        /// The loader's message (file, field, reason).
        error: String,
    },
    /// The logs were written.
    LogsExported {
        /// The file's name in the export folder.
        file: String,
        /// Lines written.
        lines: u64,
    },
    /// The logs were not written.
    ExportFailed(ExportFailure),
    /// The ticket was printed again.
    Reprinted {
        /// Its number.
        number: String,
    },
    /// The re-print failed.
    ReprintFailed {
        /// Its number.
        number: String,
        /// Why.
        problem: Option<PrintProblem>,
    },
    /// No ticket of today waits to be re-printed.
    NothingToReprint,
    /// The checks ran again.
    Refreshed,
}

/// The staff panel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelView {
    /// Every device's check.
    pub health: Vec<HealthRow>,
    /// The printer's paper.
    pub paper: PaperState,
    /// The outbox.
    pub outbox: OutboxSummary,
    /// Today's counts, by key (labels are the UI's).
    pub counts: Vec<(String, u64)>,
    /// The last error-like audit entries, newest first.
    pub errors: Vec<ErrorRow>,
    /// Tickets of today that did not print (numbers only).
    pub unprinted: Vec<String>,
    /// The result of the last action.
    pub result: Option<ActionResult>,
}

/// Everything the staff screens show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffView {
    /// The screen.
    pub screen: StaffScreen,
    /// Digits typed on the keypad (shown as dots).
    pub digits_entered: u8,
    /// The keypad's notice.
    pub notice: Option<PinNotice>,
    /// The panel, when open.
    pub panel: Option<PanelView>,
    /// The wall-clock time the view was made (for the lock countdown).
    pub now: UnixMillis,
}
