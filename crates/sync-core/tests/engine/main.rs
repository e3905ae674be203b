//! The engine end to end against `snelstart-mock` over real HTTP, in one test binary (one link
//! of the whole stack instead of one per topic). Each module is one topic; run one topic with
//! `cargo test -p sync-core --test engine relations::`.

mod backup;
mod bookings;
mod continued;
mod readback;
mod reconcile;
mod relations;
mod slices;
mod support;
