//! Queue tickets through the real runtime: a number is drawn from the store,
//! printed on a network ESC/POS printer (a loopback test printer answering
//! DLE EOT from a script), and every printer state ends as the citizen and
//! staff should see it: the number on screen, the ticket re-printable.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use kiosk_board::drivers::Erased;
use kiosk_board::drivers::printer::{EscposPrinter, PrinterPort};
use kiosk_board::runtime::PrinterAlert;
use kiosk_firmware::session::{
    AccessKey, Input, MenuChoice, PrintProblem, Priority, StepKind, TicketInfo, Verification,
};
use kiosk_firmware::ticket::escpos::decode;
use kiosk_hal::printer::{PaperLevel, PrinterStatus};
use kiosk_tests::SimKiosk;
use kiosk_tests::printer::{Behaviour, TestPrinter};
use std::time::Duration;

fn network_printer(port: &str) -> Box<dyn kiosk_board::drivers::PrinterDevice> {
    let port: PrinterPort = port.parse().unwrap();
    Box::new(Erased::new(
        "printer",
        EscposPrinter::new(port).with_status_timeout(Duration::from_millis(300)),
    ))
}

fn take_number(k: &mut SimKiosk, service: &str, priority: Option<Priority>) -> TicketInfo {
    if k.step() == StepKind::Attract {
        k.runtime.input(Input::WalkIn, k.now);
    }
    k.runtime.input(
        Input::Choose(MenuChoice::TakeNumber {
            service: service.into(),
            priority,
        }),
        k.now,
    );
    let view = k.runtime.view();
    assert_eq!(view.step, StepKind::ShowingTicket, "{view:?}");
    let ticket = view.ticket.unwrap();
    k.runtime.input(Input::Cancel, k.now);
    ticket
}

fn state(f: impl FnOnce(&mut PrinterStatus)) -> PrinterStatus {
    let mut s = PrinterStatus::READY;
    f(&mut s);
    s
}

#[test]
fn a_ticket_prints_on_a_network_printer_as_one_decodable_page() {
    let dir = tempfile::tempdir().unwrap();
    let printer = TestPrinter::start(Behaviour::Answer(PrinterStatus::READY)).unwrap();
    let mut k = SimKiosk::with_queue(dir.path(), Some(network_printer(&printer.port())));
    let ticket = take_number(&mut k, "A", None);
    assert_eq!(ticket.number, "A001");
    assert!(ticket.printed);
    assert_eq!(printer.queries(), 6, "DLE EOT 1, 2, 4 before and after");
    let decoded = decode(&printer.received()).unwrap();
    assert_eq!(decoded.pages.len(), 1);
    assert_eq!(decoded.pages[0].width(), 576);
    assert!(decoded.pages[0].height() > 600);
    assert_eq!(k.runtime.printer_alert(), None);
}

#[test]
fn every_printer_state_ends_with_the_number_on_screen_and_a_reprint_once_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let printer = TestPrinter::start(Behaviour::Answer(PrinterStatus::READY)).unwrap();
    let mut k = SimKiosk::with_queue(dir.path(), Some(network_printer(&printer.port())));
    let cases = [
        (
            Behaviour::Answer(state(|s| {
                s.online = false;
                s.paper = PaperLevel::Out;
            })),
            PrintProblem::PaperOut,
        ),
        (
            Behaviour::Answer(state(|s| {
                s.online = false;
                s.cover_open = true;
            })),
            PrintProblem::CoverOpen,
        ),
        (
            Behaviour::Answer(state(|s| s.online = false)),
            PrintProblem::Offline,
        ),
        (
            Behaviour::Answer(state(|s| {
                s.online = false;
                s.error = true;
            })),
            PrintProblem::PrinterError,
        ),
        // A printer that takes bytes but never answers status: off line.
        (Behaviour::Silent, PrintProblem::Offline),
    ];
    for (i, (behaviour, problem)) in cases.into_iter().enumerate() {
        printer.set(behaviour);
        let ticket = take_number(&mut k, "B", None);
        let number = format!("B{:03}", i + 1);
        assert_eq!(ticket.number, number, "{problem:?}");
        assert!(!ticket.printed, "{problem:?}");
        assert_eq!(ticket.print_problem, Some(problem));
        assert_eq!(
            k.runtime.printer_alert(),
            Some(PrinterAlert::CannotPrint(problem))
        );
        assert!(k.sim.light(kiosk_hal::indicators::Light::Fault));
        // Staff fix it and re-print the same number.
        printer.set(Behaviour::Answer(PrinterStatus::READY));
        k.runtime.reprint_ticket(&number, k.now).unwrap();
        assert!(
            !k.runtime.printing(),
            "the simulator's board prints at once"
        );
        assert_eq!(k.runtime.printer_alert(), None, "{problem:?}");
    }
    let store = k.runtime.store().unwrap();
    let tickets = store.tickets_of_day("20261125").unwrap();
    assert_eq!(tickets.len(), 5, "no number was drawn twice");
    assert!(tickets.iter().all(|t| t.printed_at.is_some()));
    assert!(tickets.iter().all(|t| t.print_attempts == 2));
    assert_eq!(k.runtime.counters().tickets_unprinted, 5);
    assert_eq!(k.runtime.counters().tickets_printed, 5);
}

#[test]
fn paper_near_end_still_prints_and_alerts_staff_once() {
    let dir = tempfile::tempdir().unwrap();
    let near_end = state(|s| s.paper = PaperLevel::NearEnd);
    let printer = TestPrinter::start(Behaviour::Answer(near_end)).unwrap();
    let mut k = SimKiosk::with_queue(dir.path(), Some(network_printer(&printer.port())));
    assert!(take_number(&mut k, "A", None).printed);
    assert!(take_number(&mut k, "A", None).printed);
    assert_eq!(k.runtime.printer_alert(), Some(PrinterAlert::PaperNearEnd));
    assert_eq!(k.runtime.counters().printer_alerts, 1);
    assert!(!k.sim.light(kiosk_hal::indicators::Light::Fault));
}

#[test]
fn a_dead_connection_is_disconnected_and_the_ticket_waits_for_a_new_printer() {
    let dir = tempfile::tempdir().unwrap();
    let printer = TestPrinter::start(Behaviour::Answer(PrinterStatus::READY)).unwrap();
    let port = printer.port();
    let mut k = SimKiosk::with_queue(dir.path(), Some(network_printer(&port)));
    assert!(take_number(&mut k, "A", None).printed);
    drop(printer);
    let ticket = take_number(&mut k, "A", None);
    assert_eq!(ticket.number, "A002");
    assert!(!ticket.printed);
    assert_eq!(ticket.print_problem, Some(PrintProblem::Disconnected));
    let unprinted = k.runtime.store().unwrap().unprinted_tickets(5).unwrap();
    assert_eq!(unprinted.len(), 1);
    assert_eq!(unprinted[0].number, "A002");
    assert_eq!(
        unprinted[0].last_print_problem.as_deref(),
        Some("disconnected")
    );
    // The printer is still gone: a re-print says so and keeps the ticket.
    k.runtime.reprint_ticket("A002", k.now).unwrap();
    assert_eq!(
        k.runtime.printer_alert(),
        Some(PrinterAlert::CannotPrint(PrintProblem::Disconnected))
    );
    let unprinted = k.runtime.store().unwrap().unprinted_tickets(5).unwrap();
    assert_eq!(unprinted[0].print_attempts, 2, "the re-print was recorded");
    assert!(k.runtime.reprint_ticket("A999", k.now).is_err());
}

#[test]
fn a_verified_citizen_of_60_or_more_gets_a_priority_number_without_asking() {
    let dir = tempfile::tempdir().unwrap();
    let mut k = SimKiosk::with_queue(dir.path(), None);
    // Trần Thị Mẫu, born 20/03/1955: 71 on the day.
    k.sim
        .insert_card(Box::new(kiosk_tests::card("bac-only-elderly")));
    k.run_for(Duration::from_secs(1));
    let qr = kiosk_tests::card_qr("bac-only-elderly").to_owned();
    k.runtime
        .input(Input::AccessKey(AccessKey::CardQr(qr)), k.now);
    k.settle();
    k.runtime.input(Input::Confirm(true), k.now);
    // The citizen declines the face check; staff confirm the person.
    k.runtime.input(Input::Consent(false), k.now);
    k.staff_approve();
    assert_eq!(
        k.runtime.view().verification,
        Some(Verification::StaffConfirmed)
    );
    let ticket = take_number(&mut k, "A", None);
    assert_eq!(ticket.number, "AU001");
    assert_eq!(ticket.priority, Some(Priority::Elderly));
    assert!(ticket.printed);
    assert!(!k.runtime.holds_personal_data());
}
