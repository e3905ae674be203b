//! Bank bookings (`/bankboekingen`): how a bank statement line pays invoices. Same shape as
//! a [`Kasboeking`](crate::models::Kasboeking); the line models live in that module.

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::kasboeking::bank_kas_model;
use super::{
    BankKasInkoopboekingRegel, BankKasVerkoopboekingRegel, BtwBoekingregel, GrootboekBoekingsRegel,
};
use crate::wire::{self, Reference};
use crate::{BankboekingId, DagboekId, InkoopboekingId, VerkoopboekingId};

bank_kas_model!(
    /// A bank booking (`BankboekingModel`) on a journal of soort
    /// [`Bank`](crate::models::DagboekSoort::Bank). `bedragOntvangen` and `bedragUitgegeven`
    /// may not both be non-zero (BOE-0027); the booking balances when
    /// `bedragOntvangen + Σ debet = bedragUitgegeven + Σ credit` over all lines (BOE-0039).
    Bankboeking,
    BankboekingId
);
