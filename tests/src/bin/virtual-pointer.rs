//! `virtual-pointer X Y WIDTH HEIGHT`: a left click at (X, Y) of a
//! WIDTH×HEIGHT output, made through the compositor's input stack with the
//! wlroots virtual-pointer protocol (`zwlr_virtual_pointer_manager_v1`) on
//! `$WAYLAND_DISPLAY`. The production test (tests/tests/production.rs)
//! touches the kiosk with it.

#![allow(
    clippy::disallowed_methods,
    reason = "a test tool: pauses let the compositor pass each event on"
)]

use anyhow::{Context as _, bail};
use wayland_client::protocol::{wl_pointer, wl_registry, wl_seat};
use wayland_client::{Connection, Dispatch, QueueHandle};
use wayland_protocols_wlr::virtual_pointer::v1::client::{
    zwlr_virtual_pointer_manager_v1::ZwlrVirtualPointerManagerV1,
    zwlr_virtual_pointer_v1::ZwlrVirtualPointerV1,
};

/// The Linux input code of the left button (BTN_LEFT).
const BTN_LEFT: u32 = 0x110;

#[derive(Default)]
struct Globals {
    seat: Option<wl_seat::WlSeat>,
    manager: Option<ZwlrVirtualPointerManagerV1>,
}

impl Dispatch<wl_registry::WlRegistry, ()> for Globals {
    fn event(
        state: &mut Self,
        registry: &wl_registry::WlRegistry,
        event: wl_registry::Event,
        _: &(),
        _: &Connection,
        qh: &QueueHandle<Self>,
    ) {
        if let wl_registry::Event::Global {
            name,
            interface,
            version,
        } = event
        {
            match interface.as_str() {
                "wl_seat" if state.seat.is_none() => {
                    state.seat = Some(registry.bind(name, version.min(7), qh, ()));
                }
                "zwlr_virtual_pointer_manager_v1" => {
                    state.manager = Some(registry.bind(name, version.min(2), qh, ()));
                }
                _ => {}
            }
        }
    }
}

macro_rules! ignore_events {
    ($($t:ty),*) => {$(
        impl Dispatch<$t, ()> for Globals {
            fn event(_: &mut Self, _: &$t, _: <$t as wayland_client::Proxy>::Event, _: &(), _: &Connection, _: &QueueHandle<Self>) {}
        }
    )*};
}
ignore_events!(
    wl_seat::WlSeat,
    ZwlrVirtualPointerManagerV1,
    ZwlrVirtualPointerV1
);

fn main() -> anyhow::Result<()> {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .map(|a| {
            a.parse::<u32>()
                .with_context(|| format!("{a:?} is not a number"))
        })
        .collect::<anyhow::Result<_>>()?;
    let [x, y, width, height] = args[..] else {
        bail!("usage: virtual-pointer X Y WIDTH HEIGHT");
    };
    let conn = Connection::connect_to_env().context("no Wayland display ($WAYLAND_DISPLAY)")?;
    let mut queue = conn.new_event_queue();
    let qh = queue.handle();
    conn.display().get_registry(&qh, ());
    let mut globals = Globals::default();
    queue.roundtrip(&mut globals)?;
    let Some(manager) = globals.manager.as_ref() else {
        bail!("the compositor offers no zwlr_virtual_pointer_manager_v1");
    };
    let pointer = manager.create_virtual_pointer(globals.seat.as_ref(), &qh, ());
    queue.roundtrip(&mut globals)?;
    // Let clients see the new pointer before it moves.
    std::thread::sleep(std::time::Duration::from_millis(300));
    pointer.motion_absolute(0, x, y, width, height);
    pointer.frame();
    queue.roundtrip(&mut globals)?;
    std::thread::sleep(std::time::Duration::from_millis(200));
    pointer.button(10, BTN_LEFT, wl_pointer::ButtonState::Pressed);
    pointer.frame();
    queue.roundtrip(&mut globals)?;
    std::thread::sleep(std::time::Duration::from_millis(100));
    pointer.button(20, BTN_LEFT, wl_pointer::ButtonState::Released);
    pointer.frame();
    queue.roundtrip(&mut globals)?;
    std::thread::sleep(std::time::Duration::from_millis(200));
    pointer.destroy();
    queue.roundtrip(&mut globals)?;
    Ok(())
}
