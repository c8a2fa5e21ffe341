//! The card's expiry date from the law, for BAC when the citizen does not
//! type it (no QR holds it). Reference icao-cccd.md §B.3 and §B.5.
//!
//! - CCCD (Law on Citizen Identification 2014, Art. 21): renewed at ages
//!   25, 40 and 60.
//! - Thẻ căn cước (Law on Identification 2023, Art. 21; issued from 1 July
//!   2024): renewed at 14, 25, 40 and 60.
//! - A card issued within 2 years before a milestone is valid until the
//!   next milestone.
//! - No milestone after 60: the card says "Không thời hạn" and the MRZ holds
//!   `991231`.
//!
//! Boundaries (is "within 2 years" inclusive?) and 29 February are not
//! settled by any public text, so [`expiry_candidates`] gives the law's
//! answer first and then the neighbours, and the reader tries them in order.
//! Two public implementations ignore the 2-year rule; this one does not.

use super::date::Date;

/// The day the Law on Identification 2023 took effect: cards issued from
/// then on are thẻ căn cước with the 14-year milestone.
pub const LAW_2023_EFFECTIVE: (u16, u8, u8) = (2024, 7, 1);

/// The MRZ expiry of a card without expiry.
pub const NO_EXPIRY: &str = "991231";

fn milestones(issued: Date) -> &'static [u16] {
    let (y, m, d) = LAW_2023_EFFECTIVE;
    if Date::new(y, m, d).is_some_and(|effective| issued >= effective) {
        &[14, 25, 40, 60]
    } else {
        &[25, 40, 60]
    }
}

/// The expiry the law gives (`YYMMDD`, or [`NO_EXPIRY`]).
pub fn legal_expiry(birth: Date, issued: Date) -> String {
    expiry_for(birth, issued, false)
}

/// `exclusive`: read "within 2 years before" as strictly less than two
/// years (the other reading of the boundary).
fn expiry_for(birth: Date, issued: Date, exclusive: bool) -> String {
    let ahead: Vec<u16> = milestones(issued)
        .iter()
        .copied()
        .filter(|&m| birth.add_years(m) > issued)
        .collect();
    match ahead.as_slice() {
        [] => NO_EXPIRY.to_owned(),
        [m1, rest @ ..] => {
            let m1_day = birth.add_years(*m1);
            let two_years_before = Date::new(
                m1_day.year().saturating_sub(2),
                m1_day.month(),
                m1_day.day(),
            )
            .unwrap_or_else(|| birth.add_years(m1.saturating_sub(2)));
            let within = if exclusive {
                issued > two_years_before
            } else {
                issued >= two_years_before
            };
            if within {
                rest.first()
                    .map_or_else(|| NO_EXPIRY.to_owned(), |m2| birth.add_years(*m2).yymmdd())
            } else {
                m1_day.yymmdd()
            }
        }
    }
}

/// Expiry dates to try for BAC, the most likely first, without repeats:
/// the law's answer; the other reading of the 2-year boundary; the
/// milestones before and after it; 1 March for a 29 February birthday in a
/// common year; and [`NO_EXPIRY`].
pub fn expiry_candidates(birth: Date, issued: Date) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    push(expiry_for(birth, issued, false));
    push(expiry_for(birth, issued, true));
    for &m in milestones(issued) {
        let day = birth.add_years(m);
        if day > issued {
            push(day.yymmdd());
            if birth.month() == 2 && birth.day() == 29 && day.day() == 28 {
                push(day.next_day().yymmdd());
            }
        }
    }
    push(NO_EXPIRY.to_owned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: u16, m: u8, day: u8) -> Date {
        Date::new(y, m, day).unwrap()
    }

    #[test]
    fn the_synthetic_cccd_runs_to_the_40th_birthday() {
        // icao-cccd.md §B.2: ID 003090000001, born 15 Jan 1990, MRZ expiry 300115.
        // Issued 1 Jun 2021 (age 31): the next milestone is 40.
        assert_eq!(legal_expiry(d(1990, 1, 15), d(2021, 6, 1)), "300115");
    }

    #[test]
    fn a_card_issued_within_two_years_of_a_milestone_runs_to_the_next() {
        // Born 10 Mar 1998: 25th birthday 10 Mar 2023. Issued 1 Jun 2021,
        // within 2 years before it: valid to 40.
        assert_eq!(legal_expiry(d(1998, 3, 10), d(2021, 6, 1)), "380310");
        // Issued 1 Jan 2021, more than 2 years before: valid to 25.
        assert_eq!(legal_expiry(d(1998, 3, 10), d(2021, 1, 1)), "230310");
    }

    #[test]
    fn a_card_issued_after_58_has_no_expiry() {
        // icao-cccd.md §B.2: born 20 Mar 1955, MRZ expiry 991231.
        assert_eq!(legal_expiry(d(1955, 3, 20), d(2021, 6, 1)), NO_EXPIRY);
        assert_eq!(
            legal_expiry(d(1962, 1, 1), d(2020, 6, 1)),
            NO_EXPIRY,
            "within 2 years of 60"
        );
        assert_eq!(
            legal_expiry(d(1962, 1, 1), d(2019, 6, 1)),
            "220101",
            "more than 2 years before 60"
        );
    }

    #[test]
    fn a_card_issued_under_the_2023_law_has_the_14_year_milestone() {
        // Born 1 Sep 2012, issued 15 Aug 2024 (age 11, more than 2 years before 14).
        assert_eq!(legal_expiry(d(2012, 9, 1), d(2024, 8, 15)), "260901");
        // The same child with a 2021 CCCD would run to 25.
        assert_eq!(legal_expiry(d(2012, 9, 1), d(2021, 8, 15)), "370901");
    }

    #[test]
    fn the_two_year_boundary_day_itself_gives_both_readings_as_candidates() {
        // Issued exactly 2 years before the 25th birthday.
        let birth = d(1998, 3, 10);
        let issued = d(2021, 3, 10);
        let c = expiry_candidates(birth, issued);
        assert_eq!(&c[..2], &["380310".to_owned(), "230310".to_owned()]);
        assert_eq!(c.last().map(String::as_str), Some(NO_EXPIRY));
    }

    #[test]
    fn a_29_february_birthday_tries_28_february_and_1_march() {
        let c = expiry_candidates(d(2000, 2, 29), d(2021, 6, 1));
        assert!(
            c.contains(&"250228".to_owned()) && c.contains(&"250301".to_owned()),
            "{c:?}"
        );
        assert!(c.contains(&"400229".to_owned()), "{c:?}");
    }

    #[test]
    fn candidates_never_repeat() {
        let c = expiry_candidates(d(1990, 1, 15), d(2021, 6, 1));
        let mut unique = c.clone();
        unique.dedup();
        assert_eq!(c, unique);
        assert_eq!(c[0], "300115");
    }
}
