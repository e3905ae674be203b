//! The client's success-body decoding on any bytes, the way `Client::list` and
//! `Client::execute` decode (`snelstart_client::decoding`): a list page item by item, a record
//! strictly. Never a panic; every item of a page is either decoded or a problem at `[i]`; and
//! whatever decoded is written back in a form the client reads again and writes the same way
//! (the written JSON is stable after one round).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use snelstart_client::Method;
use snelstart_client::decoding::{decode, decode_page};
use snelstart_client::models::{
    Bankboeking, CompanyInfo, Dagboek, Grootboek, Grootboekmutatie, Kostenplaats, Relatie,
    RelatieCustomFields, Verkoopboeking, Verkoopfactuur,
};

/// Written once, read again, written again: the same text.
fn stable<T: DeserializeOwned + Serialize>(value: &T) {
    let once = serde_json::to_string(value).expect("a decoded model encodes");
    let again: T = decode(Method::Get, "fuzz", 200, once.as_bytes())
        .unwrap_or_else(|e| panic!("the client cannot read what it wrote: {once}: {e}"));
    let twice = serde_json::to_string(&again).expect("encodes");
    assert_eq!(once, twice, "not stable after one round");
}

fn page<T: DeserializeOwned + Serialize>(body: &[u8]) {
    let Ok((items, problems, count)) = decode_page::<T>(Method::Get, "fuzz", 200, body, 0) else {
        return;
    };
    assert_eq!(items.len() + problems.len(), count);
    for p in &problems {
        assert!(p.path.starts_with('['), "{p:?}");
    }
    for item in &items {
        stable(item);
    }
}

fn record<T: DeserializeOwned + Serialize>(body: &[u8]) {
    if let Ok(value) = decode::<T>(Method::Get, "fuzz", 200, body) {
        stable(&value);
    }
}

fuzz_target!(|data: &[u8]| {
    page::<Relatie>(data);
    page::<Verkoopfactuur>(data);
    page::<Grootboekmutatie>(data);
    page::<Grootboek>(data);
    page::<Kostenplaats>(data);
    page::<Dagboek>(data);
    page::<Bankboeking>(data);
    record::<Relatie>(data);
    record::<Verkoopboeking>(data);
    record::<CompanyInfo>(data);
    record::<RelatieCustomFields>(data);
});
