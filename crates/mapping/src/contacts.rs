//! Choosing the one contact SnelStart keeps.
//!
//! A SnelStart relation has a single `contactpersoon` (a name on the address) and one e-mail
//! and phone for the whole relation; a CRM has any number of contacts. The contact kept is the
//! first by these rules, each only deciding when the ones before it tie:
//!
//! 1. a contact with a name (a nameless contact cannot fill `contactpersoon`);
//! 2. marked primary in the CRM;
//! 3. a billing/finance role (case-insensitive substring from
//!    [`ContactRules::finance_roles`], e.g. "Financiële administratie", "Billing");
//! 4. most recently changed (a contact without a change time counts as oldest);
//! 5. stable tie-break on content: the smallest `(id, name, e-mail, phone, role)`, compared as
//!    text, so the result never depends on the order the CRM listed the contacts in.
//!
//! The others are summarised in `memo` (when [`ContactRules::summarize_others_in_memo`]) in the
//! same order, so nothing disappears silently.

use std::cmp::Ordering;

use crm_model::Contact;

use crate::config::ContactRules;

/// Why the kept contact won.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeepReason {
    /// It was the only contact.
    OnlyContact,
    /// The others have no name.
    OnlyNamed,
    /// Marked primary (and the runner-up was not).
    Primary,
    /// Billing/finance role.
    FinanceRole,
    /// Most recently changed.
    MostRecentlyChanged,
    /// Everything else tied; decided by the stable content key.
    TieBreak,
}

/// The outcome of [`choose_contact`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContactChoice<'a> {
    /// The contact SnelStart keeps (`None` when there are no contacts).
    pub kept: Option<&'a Contact>,
    /// Why it won (`None` when there are no contacts).
    pub reason: Option<KeepReason>,
    /// The others, in rank order.
    pub others: Vec<&'a Contact>,
}

impl ContactChoice<'_> {
    /// The memo text listing the other contacts, or `None` when there are none or the rules
    /// say not to. Lists at most [`ContactRules::max_listed_in_memo`] and counts the rest.
    pub fn memo_summary(&self, rules: &ContactRules) -> Option<String> {
        if !rules.summarize_others_in_memo || self.others.is_empty() {
            return None;
        }
        let mut text = format!("Overige contactpersonen ({}):", self.others.len());
        for contact in self.others.iter().take(rules.max_listed_in_memo) {
            text.push_str("\n- ");
            text.push_str(if contact.name.trim().is_empty() {
                "(zonder naam)"
            } else {
                contact.name.trim()
            });
            if let Some(role) = contact
                .role
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
            {
                text.push_str(&format!(" ({role})"));
            }
            if let Some(email) = &contact.email {
                text.push_str(&format!(", {email}"));
            }
            if let Some(phone) = contact
                .phone
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
            {
                text.push_str(&format!(", {phone}"));
            }
        }
        let rest = self.others.len().saturating_sub(rules.max_listed_in_memo);
        if rest > 0 {
            text.push_str(&format!("\n- en nog {rest}"));
        }
        Some(text)
    }
}

/// Chooses the contact SnelStart keeps; see the [module docs](self) for the rules.
///
/// Deterministic: any permutation of `contacts` gives the same kept contact and the same
/// order of the others.
pub fn choose_contact<'a>(contacts: &'a [Contact], rules: &ContactRules) -> ContactChoice<'a> {
    let finance: Vec<String> = rules
        .finance_roles
        .iter()
        .map(|r| r.to_lowercase())
        .collect();
    let mut ranked: Vec<&Contact> = contacts.iter().collect();
    ranked.sort_by(|a, b| rank(a, b, &finance));
    let Some((&kept, others)) = ranked.split_first() else {
        return ContactChoice {
            kept: None,
            reason: None,
            others: Vec::new(),
        };
    };
    let reason = match others.first() {
        None => KeepReason::OnlyContact,
        Some(runner_up) => decided_by(kept, runner_up, &finance),
    };
    ContactChoice {
        kept: Some(kept),
        reason: Some(reason),
        others: others.to_vec(),
    }
}

fn has_name(c: &Contact) -> bool {
    !c.name.trim().is_empty()
}

fn is_finance(c: &Contact, finance: &[String]) -> bool {
    c.role.as_deref().is_some_and(|role| {
        let role = role.to_lowercase();
        finance.iter().any(|f| role.contains(f.as_str()))
    })
}

/// The content key of rule 5.
fn tie_key(c: &Contact) -> (bool, &str, &str, &str, &str, &str) {
    (
        c.id.is_some(),
        c.id.as_ref().map_or("", |id| id.as_str()),
        c.name.as_str(),
        c.email.as_ref().map_or("", |e| e.first().as_str()),
        c.phone.as_deref().unwrap_or(""),
        c.role.as_deref().unwrap_or(""),
    )
}

/// `Less` when `a` ranks before `b`.
fn rank(a: &Contact, b: &Contact, finance: &[String]) -> Ordering {
    has_name(b)
        .cmp(&has_name(a))
        .then_with(|| b.primary.cmp(&a.primary))
        .then_with(|| is_finance(b, finance).cmp(&is_finance(a, finance)))
        // `None < Some(_)`, so comparing b to a puts the most recent first and unknown last.
        .then_with(|| b.last_changed.cmp(&a.last_changed))
        .then_with(|| tie_key(a).cmp(&tie_key(b)))
}

fn decided_by(kept: &Contact, runner_up: &Contact, finance: &[String]) -> KeepReason {
    if has_name(kept) != has_name(runner_up) {
        KeepReason::OnlyNamed
    } else if kept.primary != runner_up.primary {
        KeepReason::Primary
    } else if is_finance(kept, finance) != is_finance(runner_up, finance) {
        KeepReason::FinanceRole
    } else if kept.last_changed != runner_up.last_changed {
        KeepReason::MostRecentlyChanged
    } else {
        KeepReason::TieBreak
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn contact(name: &str, role: Option<&str>, primary: bool, day: Option<u32>) -> Contact {
        let mut c = Contact::named(name);
        c.role = role.map(str::to_owned);
        c.primary = primary;
        c.last_changed = day.map(|d| Utc.with_ymd_and_hms(2024, 1, d, 0, 0, 0).unwrap());
        c
    }

    #[test]
    fn rules_apply_in_documented_order() {
        let rules = ContactRules::default();
        let recent = contact("Recent", None, false, Some(20));
        let finance = contact("Fien", Some("Financiële administratie"), false, Some(1));
        let primary = contact("Prim", Some("CEO"), true, None);
        let all = [recent.clone(), finance.clone(), primary.clone()];
        let choice = choose_contact(&all, &rules);
        assert_eq!(choice.kept, Some(&all[2]));
        assert_eq!(choice.reason, Some(KeepReason::Primary));
        assert_eq!(choice.others, vec![&all[1], &all[0]]);

        let two = [recent.clone(), finance.clone()];
        let choice = choose_contact(&two, &rules);
        assert_eq!(choice.kept.unwrap().name, "Fien");
        assert_eq!(choice.reason, Some(KeepReason::FinanceRole));

        let older = contact("Older", None, false, Some(2));
        let two = [older, recent];
        let choice = choose_contact(&two, &rules);
        assert_eq!(choice.kept.unwrap().name, "Recent");
        assert_eq!(choice.reason, Some(KeepReason::MostRecentlyChanged));

        let tie = [
            contact("B", None, false, None),
            contact("A", None, false, None),
        ];
        let choice = choose_contact(&tie, &rules);
        assert_eq!(choice.kept.unwrap().name, "A");
        assert_eq!(choice.reason, Some(KeepReason::TieBreak));
    }

    #[test]
    fn nameless_contacts_never_win_over_named_ones() {
        let all = [
            contact("", None, true, Some(3)),
            contact("Jan", None, false, None),
        ];
        let choice = choose_contact(&all, &ContactRules::default());
        assert_eq!(choice.kept.unwrap().name, "Jan");
        assert_eq!(choice.reason, Some(KeepReason::OnlyNamed));
    }

    #[test]
    fn memo_lists_others_and_counts_the_rest() {
        let mut rules = ContactRules {
            max_listed_in_memo: 1,
            ..ContactRules::default()
        };
        let mut b = contact("Bea", Some("Sales"), false, None);
        b.email = Some("bea@example.nl".parse().unwrap());
        b.phone = Some("010-1234567".into());
        let all = [
            contact("Aad", None, true, None),
            b,
            contact("Cor", None, false, None),
        ];
        let choice = choose_contact(&all, &rules);
        assert_eq!(
            choice.memo_summary(&rules).unwrap(),
            "Overige contactpersonen (2):\n- Bea (Sales), bea@example.nl, 010-1234567\n- en nog 1"
        );
        rules.summarize_others_in_memo = false;
        assert_eq!(choice.memo_summary(&rules), None);
    }

    #[test]
    fn no_contacts() {
        let choice = choose_contact(&[], &ContactRules::default());
        assert_eq!(choice.kept, None);
        assert_eq!(choice.memo_summary(&ContactRules::default()), None);
    }
}
