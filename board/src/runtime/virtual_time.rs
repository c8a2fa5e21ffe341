//! The run loop in virtual time: the scenario player
//! (`simulator::scenario::Player`) and the end-to-end tests' kiosk
//! (`kiosk_tests::SimKiosk`) drive the runtime through this one loop, as
//! [`crate::runtime::Runtime::run`] does with the real clock: a turn at
//! `now` ([`crate::runtime::Runtime::turn`] for the player, a bare tick for
//! the frontendless test kiosk), then on to the next wake-up the runtime
//! asks for ([`crate::runtime::Runtime::next_wakeup`]).
//!
//! Workers (the online check, a delivery to the portal, a print on a
//! blocking printer) answer in real time: before each turn the loop waits
//! for them ([`crate::runtime::Runtime::settle_workers`], at most
//! [`SETTLE`] each), so a run in virtual time stays deterministic.

use crate::runtime::Runtime;
use kiosk_firmware::time::Timestamp;
use std::time::Duration;

/// The least step of virtual time between two turns: no device answers in
/// no time (one APDU exchange, one frame), and a loop that asks to be
/// woken at once still moves on.
pub const MIN_STEP: Duration = Duration::from_millis(1);

/// The longest a turn in virtual time waits, in real time, for a worker
/// under way (their own timeouts are shorter).
pub const SETTLE: Duration = Duration::from_secs(60);

/// What a turn of the loop found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turned {
    /// What the caller waited for happened: stop here.
    Done,
    /// Go on; the runtime wants the next turn at this time
    /// ([`Runtime::next_wakeup`]).
    Next(Timestamp),
}

/// A virtual clock that runs a runtime's loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtualClock {
    /// Now, in virtual time.
    pub now: Timestamp,
}

impl VirtualClock {
    /// A clock at `now`.
    pub fn at(now: Timestamp) -> Self {
        VirtualClock { now }
    }

    /// Runs turns from now until `end`: `turn` at now, then at every
    /// wake-up it names (at least [`MIN_STEP`] apart), and at `end`. Stops
    /// as soon as a turn is [`Turned::Done`] (`true`); `false` once the
    /// turn at `end` was not done either. The clock is left where the last
    /// turn ran.
    pub fn advance(&mut self, end: Timestamp, turn: &mut dyn FnMut(Timestamp) -> Turned) -> bool {
        loop {
            let next = match turn(self.now) {
                Turned::Done => return true,
                Turned::Next(at) => at,
            };
            if self.now >= end {
                return false;
            }
            self.now = next.max(self.now + MIN_STEP).min(end);
        }
    }

    /// The turn of a runtime without a frontend (the tests' kiosk): a tick,
    /// until `end` or until `done` says so; returns whether it did.
    pub fn tick_until(
        &mut self,
        runtime: &mut Runtime,
        end: Timestamp,
        done: &mut dyn FnMut(&mut Runtime) -> bool,
    ) -> bool {
        self.advance(end, &mut |now| {
            runtime.settle_workers(SETTLE);
            runtime.tick(now);
            if done(runtime) {
                Turned::Done
            } else {
                Turned::Next(runtime.next_wakeup())
            }
        })
    }

    /// Ticks `runtime` until the chip read under way (if any) has ended,
    /// at most the read deadline and a second; returns whether it did.
    pub fn settle_read(&mut self, runtime: &mut Runtime) -> bool {
        let end =
            self.now + crate::services::reading::DEFAULT_READ_DEADLINE + Duration::from_secs(1);
        self.tick_until(runtime, end, &mut |rt| !rt.reading_card())
    }
}
