//! A device (or a network client) lent to a worker thread for one blocking
//! job, polled by the run loop (DESIGN.md §2: nothing blocks the loop).
//!
//! [`Lent::start`] hands the resource and the work to a thread (or, for
//! devices that answer at once — the simulator — does the work on the
//! spot, so virtual-time runs stay deterministic); [`Lent::poll`] takes the
//! answer and the resource back when they have come, or gives up at the
//! deadline: the job is then reported as unanswered and the resource comes
//! home later, when the thread's call returns ([`Polled::TimedOut`]).
//! The printing ([`crate::services::printing`]), delivering
//! ([`crate::services::delivering`]) and staff panel check
//! ([`crate::services::panelcheck`]) drivers are built on it.
//!
//! Nothing here reads a clock: `now` is passed in. Only
//! [`Lent::settle`] waits, in real time, for runs in virtual time.

use kiosk_firmware::time::Timestamp;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How often the loop looks for a worker's answer while one is awaited
/// (the workers do not wake the frontend's wait: the loop polls them at
/// this pace, and only while a job is armed).
pub const WORKER_POLL: Duration = Duration::from_millis(10);

/// Where a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// On the caller's thread, at once: for devices that never block (the
    /// simulator's).
    Inline,
    /// On a worker thread: for calls that block (a printer port, HTTPS).
    Worker,
}

/// What a poll found.
pub enum Polled<T, R> {
    /// The job ended: its result, and the resource back.
    Answered(R, T),
    /// The deadline passed first: the resource (and the late result) come
    /// through this channel when the worker's call returns.
    TimedOut(Receiver<(R, T)>),
}

impl<T, R> std::fmt::Debug for Polled<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Polled::Answered(..) => "Answered",
            Polled::TimedOut(_) => "TimedOut",
        })
    }
}

enum State<T, R> {
    /// The answer is here (inline work, or a worker that answered while
    /// the caller settled).
    Here(R, T),
    /// On the worker thread.
    Away(Receiver<(R, T)>),
    /// Polled to the end.
    Over,
}

/// One job on a lent resource (see the module documentation).
pub struct Lent<T, R> {
    state: State<T, R>,
    deadline: Timestamp,
    last_poll: Timestamp,
}

impl<T, R> std::fmt::Debug for Lent<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lent")
            .field(
                "state",
                &match self.state {
                    State::Here(..) => "here",
                    State::Away(_) => "away",
                    State::Over => "over",
                },
            )
            .field("deadline", &self.deadline)
            .finish()
    }
}

impl<T: Send + 'static, R: Send + 'static> Lent<T, R> {
    /// Starts `work` on `resource`; the job counts as unanswered once
    /// `deadline` has passed from `now`. A worker thread that cannot be
    /// started runs the work inline (logged).
    pub fn start(
        name: &str,
        mut resource: T,
        transport: Transport,
        work: impl FnOnce(&mut T) -> R + Send + 'static,
        now: Timestamp,
        deadline: Duration,
    ) -> Self {
        let deadline = now + deadline;
        if transport == Transport::Inline {
            let result = work(&mut resource);
            return Lent {
                state: State::Here(result, resource),
                deadline,
                last_poll: now,
            };
        }
        // The resource and the work wait in a slot the thread takes them
        // from, so a thread that cannot be spawned does not take them down
        // with it: they then run inline.
        let slot = Arc::new(Mutex::new(Some((resource, work))));
        let (reply_tx, reply_rx) = mpsc::channel();
        let worker_slot = Arc::clone(&slot);
        let spawned = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let taken = worker_slot
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                if let Some((mut resource, work)) = taken {
                    let result = work(&mut resource);
                    // The loop may have given up; the receiver then waits
                    // for the resource at home, or is gone with the loop.
                    let _ = reply_tx.send((result, resource));
                }
            });
        let state = match spawned {
            Ok(_) => State::Away(reply_rx),
            Err(e) => {
                tracing::warn!(error = %e, worker = name, "no worker thread: the job runs inline");
                match slot.lock().unwrap_or_else(PoisonError::into_inner).take() {
                    Some((mut resource, work)) => {
                        let result = work(&mut resource);
                        State::Here(result, resource)
                    }
                    None => State::Away(reply_rx),
                }
            }
        };
        Lent {
            state,
            deadline,
            last_poll: now,
        }
    }
}

impl<T, R> Lent<T, R> {
    /// The job's result and the resource once they are back; at the
    /// deadline, [`Polled::TimedOut`]. `None` while it runs (and after it
    /// was polled to the end).
    pub fn poll(&mut self, now: Timestamp) -> Option<Polled<T, R>> {
        self.last_poll = now;
        match std::mem::replace(&mut self.state, State::Over) {
            State::Here(result, resource) => Some(Polled::Answered(result, resource)),
            State::Away(reply) => match reply.try_recv() {
                Ok((result, resource)) => Some(Polled::Answered(result, resource)),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) if now >= self.deadline => {
                    Some(Polled::TimedOut(reply))
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => {
                    self.state = State::Away(reply);
                    None
                }
            },
            State::Over => None,
        }
    }

    /// When the loop should poll next: at once when the answer is here,
    /// soon while a worker runs (never after the deadline), never once
    /// over.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        match self.state {
            State::Here(..) => Some(self.last_poll),
            State::Away(_) => Some((self.last_poll + WORKER_POLL).min(self.deadline)),
            State::Over => None,
        }
    }

    /// Whether the job has not been polled to its end.
    pub fn is_armed(&self) -> bool {
        !matches!(self.state, State::Over)
    }

    /// Waits up to `max` of real time for the worker to answer, so the
    /// next [`Lent::poll`] takes its answer. Only for runs in virtual time
    /// (tests, scenarios): the real loop never blocks.
    pub fn settle(&mut self, max: Duration) {
        if let State::Away(reply) = &self.state
            && let Ok((result, resource)) = reply.recv_timeout(max)
        {
            self.state = State::Here(result, resource);
        }
    }
}

/// A resource on its way home from a worker that outlived its deadline.
pub struct Away<T, R> {
    home: Option<Receiver<(R, T)>>,
}

impl<T, R> Default for Away<T, R> {
    fn default() -> Self {
        Away { home: None }
    }
}

impl<T, R> std::fmt::Debug for Away<T, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.home.is_some() { "Away" } else { "Home" })
    }
}

/// What [`Away::poll`] found.
#[derive(Debug)]
pub enum Homecoming<T, R> {
    /// Nothing is away, or it has not come yet.
    Nothing,
    /// It came back, with the late result.
    Back(R, T),
    /// The worker ended without sending it back (it panicked).
    Lost,
}

impl<T, R> Away<T, R> {
    /// Waits for the resource through `home`.
    pub fn expect(&mut self, home: Receiver<(R, T)>) {
        self.home = Some(home);
    }

    /// Whether something is still away.
    pub fn is_away(&self) -> bool {
        self.home.is_some()
    }

    /// Takes the resource when it has come.
    pub fn poll(&mut self) -> Homecoming<T, R> {
        let Some(home) = self.home.as_ref() else {
            return Homecoming::Nothing;
        };
        match home.try_recv() {
            Ok((result, resource)) => {
                self.home = None;
                Homecoming::Back(result, resource)
            }
            Err(TryRecvError::Empty) => Homecoming::Nothing,
            Err(TryRecvError::Disconnected) => {
                self.home = None;
                Homecoming::Lost
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_work_is_answered_at_the_first_poll() {
        let mut job = Lent::start(
            "t",
            5u32,
            Transport::Inline,
            |n| {
                *n += 1;
                *n * 2
            },
            Timestamp::ZERO,
            Duration::from_secs(1),
        );
        assert_eq!(job.next_wakeup(), Some(Timestamp::ZERO));
        match job.poll(Timestamp::ZERO) {
            Some(Polled::Answered(12, 6)) => {}
            other => panic!("{other:?}"),
        }
        assert!(!job.is_armed());
        assert_eq!(job.next_wakeup(), None);
    }

    #[test]
    fn a_worker_answers_through_poll_and_settle() {
        let mut job = Lent::start(
            "t",
            String::from("printer"),
            Transport::Worker,
            |s| s.len(),
            Timestamp::ZERO,
            Duration::from_secs(60),
        );
        job.settle(Duration::from_secs(10));
        match job.poll(Timestamp::from_millis(5)) {
            Some(Polled::Answered(7, s)) => assert_eq!(s, "printer"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_worker_past_its_deadline_is_given_up_and_its_resource_comes_home_later() {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let mut job = Lent::start(
            "t",
            1u8,
            Transport::Worker,
            move |n| {
                let _ = go_rx.recv();
                *n
            },
            Timestamp::ZERO,
            Duration::from_millis(100),
        );
        assert!(job.poll(Timestamp::from_millis(50)).is_none());
        assert_eq!(job.next_wakeup(), Some(Timestamp::from_millis(60)));
        let Some(Polled::TimedOut(home)) = job.poll(Timestamp::from_millis(100)) else {
            panic!("the deadline passed");
        };
        let mut away = Away::default();
        away.expect(home);
        assert!(matches!(away.poll(), Homecoming::Nothing));
        go_tx.send(()).unwrap();
        let back = (0..1000).find_map(|_| match away.poll() {
            Homecoming::Back(r, t) => Some((r, t)),
            _ => {
                #[expect(clippy::disallowed_methods, reason = "waiting for a test thread")]
                std::thread::sleep(Duration::from_millis(5));
                None
            }
        });
        assert_eq!(back, Some((1, 1)));
        assert!(!away.is_away());
    }
}
