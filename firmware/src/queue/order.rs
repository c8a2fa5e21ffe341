//! The waiting order: who is called next.
//!
//! Priority is weighed against waiting time rather than jumping the whole
//! queue (Novo SGA's `peso`; the complaints both ways in novosga#431, #281,
//! #299 — reference note kiosk-products-and-rules.md §2 "Fairness and
//! priority" and §5.1 item 8). A priority ticket sorts as if it had been
//! drawn [`PriorityPolicy::head_start_ms`] earlier. So it goes ahead of the
//! normal tickets drawn shortly before it, but never ahead of a normal
//! ticket that has waited longer than the head start: that is the
//! anti-starvation bound, and it is what the tests check.

use super::Lane;
use super::catalog::PriorityPolicy;
use crate::store::UnixMillis;

/// What the order needs of a waiting ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The ticket's row id (drawing order, the last tie-breaker).
    pub id: i64,
    /// Its lane.
    pub lane: Lane,
    /// When it was drawn.
    pub drawn_at: UnixMillis,
}

/// The sort key of a ticket: smaller is called first.
pub fn order_key(place: &Place, policy: &PriorityPolicy) -> (u64, u8, i64) {
    match place.lane {
        Lane::Priority => (
            place.drawn_at.0.saturating_sub(policy.head_start_ms),
            0,
            place.id,
        ),
        Lane::Normal => (place.drawn_at.0, 1, place.id),
    }
}

/// Sorts `places` into calling order.
pub fn sort(places: &mut [Place], policy: &PriorityPolicy) {
    places.sort_by_key(|p| order_key(p, policy));
}

/// How many of `waiting` are called before `new`.
pub fn ahead_of(new: &Place, waiting: &[Place], policy: &PriorityPolicy) -> u32 {
    let key = order_key(new, policy);
    let n = waiting
        .iter()
        .filter(|p| p.id != new.id && order_key(p, policy) < key)
        .count();
    u32::try_from(n).unwrap_or(u32::MAX)
}
