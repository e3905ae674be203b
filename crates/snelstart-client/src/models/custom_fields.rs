//! Custom fields of relations (`/relaties/{id}/customFields`).

use serde::{Deserialize, Serialize};

use crate::wire::{WireList, api_enum};

api_enum! {
    /// The type of a custom field (`CustomFieldDefinitionModel.type`).
    ///
    /// The vendor definition gives no integer values; the numbers assume declaration order.
    pub enum CustomFieldType {
        /// Free text.
        Text = ("Text", 0),
        /// A whole number.
        Integer = ("Integer", 1),
        /// An amount: at most 4 decimals within ±10¹¹ (REF-0012, REF-0013).
        Money = ("Money", 2),
        /// A number.
        Float = ("Float", 3),
        /// A date-time in the form `yyyy-MM-ddTHH:mm:ss` (REF-0008).
        DateTime = ("DateTime", 4),
        /// Yes/no.
        Boolean = ("Boolean", 5),
        /// One of a fixed set of values.
        Enum = ("Enum", 6),
        /// Binary content.
        ByteArray = ("ByteArray", 7),
    }
}

/// One property of a custom field definition (`CustomFieldDefinitionPropertyModel`), e.g. the
/// allowed values of an enum field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomFieldDefinitionProperty {
    /// The property name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The value, any JSON (the vendor types it as a bare object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

/// The definition of a custom field (`CustomFieldDefinitionModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomFieldDefinition {
    /// The field name, used to address it on update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The value type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub field_type: Option<CustomFieldType>,
    /// Extra properties of the definition.
    #[serde(default, skip_serializing_if = "WireList::is_absent")]
    pub properties: WireList<CustomFieldDefinitionProperty>,
}

/// A custom field with its value and definition (`CustomFieldModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomField {
    /// The value; its JSON type depends on the definition's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// The field definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<CustomFieldDefinition>,
}

/// The custom fields of a relation (`RelatieCustomFieldsModel`), as read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct RelatieCustomFields {
    /// The customer fields.
    #[serde(default, skip_serializing_if = "WireList::is_absent")]
    pub klant_custom_fields: WireList<CustomField>,
    /// The supplier fields.
    #[serde(default, skip_serializing_if = "WireList::is_absent")]
    pub leverancier_custom_fields: WireList<CustomField>,
}

/// A new value for one custom field (`UpdatedCustomFieldModel`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UpdatedCustomField {
    /// The field name; unknown or repeated names are refused (REF-0002, REF-0003).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The new value, as JSON of the field's type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
}

impl UpdatedCustomField {
    /// Sets field `name` to `value`.
    pub fn new(name: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        UpdatedCustomField {
            name: Some(name.into()),
            value: Some(value.into()),
        }
    }
}

/// The body of `PUT /relaties/{id}/customFields` (`RelatieUpdatedCustomFieldsModel`).
///
/// Only the fields of the relation's own kind may change (REF-0006).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
#[serde(rename_all = "camelCase")]
pub struct RelatieUpdatedCustomFields {
    /// New customer field values.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub klant_custom_fields: Vec<UpdatedCustomField>,
    /// New supplier field values.
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub leverancier_custom_fields: Vec<UpdatedCustomField>,
}
