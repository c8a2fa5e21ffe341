//! Compiles the `.slint` screens into Rust.

fn main() {
    if let Err(e) = slint_build::compile("ui/kiosk.slint") {
        eprintln!("cannot compile the kiosk screens: {e}");
        std::process::exit(1);
    }
}
