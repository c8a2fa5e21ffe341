//! The PC/SC side: find the reader, wait for a card, connect.

use anyhow::{Context as _, bail};
use std::time::Duration;

/// Connects to the card in the first reader whose name contains `reader`,
/// waiting up to `wait` for the reader and the card to appear (pcscd polls
/// vpcd, so a card just inserted shows after a moment).
pub(crate) fn connect(reader: &str, wait: Duration) -> anyhow::Result<pcsc::Card> {
    let ctx = pcsc::Context::establish(pcsc::Scope::User)
        .context("cannot reach pcscd (is it running?)")?;
    #[expect(
        clippy::disallowed_methods,
        reason = "a command-line tool waiting for a card"
    )]
    let start = std::time::Instant::now();
    loop {
        let last = match ctx.list_readers_owned() {
            Ok(readers) => {
                match readers
                    .iter()
                    .find(|r| r.to_string_lossy().contains(reader))
                {
                    Some(name) => {
                        match ctx.connect(name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY) {
                            Ok(card) => return Ok(card),
                            Err(e @ (pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard)) => {
                                e.to_string()
                            }
                            Err(e) => {
                                return Err(e).with_context(|| format!("connecting to {name:?}"));
                            }
                        }
                    }
                    None => format!("no reader named like {reader:?}"),
                }
            }
            Err(pcsc::Error::NoReadersAvailable) => "no readers".into(),
            Err(e) => return Err(e).context("listing PC/SC readers"),
        };
        if start.elapsed() >= wait {
            bail!("no card after {} s: {last}", wait.as_secs());
        }
        #[expect(
            clippy::disallowed_methods,
            reason = "waiting for pcscd to see the card"
        )]
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends one APDU and returns the response (data and status word).
pub(crate) fn transmit(card: &pcsc::Card, apdu: &[u8]) -> Result<Vec<u8>, pcsc::Error> {
    let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
    let response = card.transmit(apdu, &mut buf)?;
    Ok(response.to_vec())
}
