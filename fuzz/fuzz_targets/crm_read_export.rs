//! The CRM reader on any bytes: `read_export` on the text, and every record reader on any
//! JSON value the bytes parse to. Never a panic; a bad record is a rejection.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crm_model::read_export(text);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = crm_model::relation_from_value(&value);
        let _ = crm_model::project_from_value(&value);
        let _ = crm_model::sales_invoice_from_value(&value);
        let _ = crm_model::purchase_invoice_from_value(&value);
    }
});
