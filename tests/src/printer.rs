//! A network ESC/POS printer on 127.0.0.1 for tests: it parses what it is
//! sent (so raster data is never mistaken for a command), answers every
//! `DLE EOT n` with the status bytes of its scripted state, and keeps the
//! print jobs. Stopped and joined when dropped.

use kiosk_firmware::ticket::escpos::{Command, DecodeError, decode, status_bytes};
use kiosk_hal::printer::PrinterStatus;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How the test printer behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answers status queries from its state.
    Answer(PrinterStatus),
    /// Takes data but never answers a status query (a dead or
    /// unidirectional printer).
    Silent,
}

#[derive(Debug, Default)]
struct Shared {
    received: Vec<u8>,
    queries: u64,
}

/// The test printer.
#[derive(Debug)]
pub struct TestPrinter {
    addr: SocketAddr,
    behaviour: Arc<Mutex<Behaviour>>,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn serve(
    mut stream: TcpStream,
    behaviour: &Mutex<Behaviour>,
    shared: &Mutex<Shared>,
    stop: &AtomicBool,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buffer = Vec::new();
    let mut answered = 0usize;
    let mut chunk = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        match stream.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            Err(_) => continue,
        }
        let commands = match decode(&buffer) {
            Ok(d) => d.commands,
            Err(DecodeError::Truncated(_)) => continue,
            Err(_) => return,
        };
        let queries: Vec<u8> = commands
            .iter()
            .filter_map(|c| match c {
                Command::StatusQuery(n) => Some(*n),
                _ => None,
            })
            .collect();
        for n in &queries[answered..] {
            let current = *behaviour.lock().unwrap_or_else(PoisonError::into_inner);
            let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
            s.queries += 1;
            if let Behaviour::Answer(status) = current {
                let [a, b, c] = status_bytes(&status);
                let byte = match n {
                    1 => a,
                    2 => b,
                    _ => c,
                };
                let _ = stream.write_all(&[byte]);
            }
        }
        answered = queries.len();
        // Keep the stream without the status queries as "received".
        let mut s = shared.lock().unwrap_or_else(PoisonError::into_inner);
        s.received.clone_from(&buffer);
    }
}

impl TestPrinter {
    /// Starts a printer in `behaviour` on a free loopback port.
    pub fn start(behaviour: Behaviour) -> std::io::Result<TestPrinter> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let behaviour = Arc::new(Mutex::new(behaviour));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s, st) = (
            Arc::clone(&behaviour),
            Arc::clone(&shared),
            Arc::clone(&stop),
        );
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let _ = stream.set_nonblocking(false);
                        serve(stream, &b, &s, &st);
                    }
                    Err(_) => {
                        #[expect(
                            clippy::disallowed_methods,
                            reason = "test server polling accept"
                        )]
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            }
        });
        Ok(TestPrinter {
            addr,
            behaviour,
            shared,
            stop,
            thread: Some(thread),
        })
    }

    /// `tcp:127.0.0.1:PORT`.
    pub fn port(&self) -> String {
        format!("tcp:{}", self.addr)
    }

    /// Changes how it behaves from now on.
    pub fn set(&self, behaviour: Behaviour) {
        *self
            .behaviour
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = behaviour;
    }

    /// Every byte received on the current connection.
    pub fn received(&self) -> Vec<u8> {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .received
            .clone()
    }

    /// Status queries seen.
    pub fn queries(&self) -> u64 {
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .queries
    }
}

impl Drop for TestPrinter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
